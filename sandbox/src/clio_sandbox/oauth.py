"""OAuth 2.0 authorization code flow, as Clio Manage does it.

``GET /oauth/authorize`` (consent page, or immediate approval with ``auto_approve``; ``state``
echoed; a declined consent redirects with ``error=access_denied``), ``POST /oauth/token``
(form-encoded; ``authorization_code`` and ``refresh_token`` grants), ``POST /oauth/deauthorize``.
Authorization codes are single-use and live 10 minutes; refresh tokens do not expire and can be
reused until the grant is revoked.
"""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .settings import OAuthClient
from .state import AuthCode, SandboxState

__all__ = ["authorize", "deauthorize", "token"]

CODE_TTL = 600


def _client(state: SandboxState, client_id: str | None) -> OAuthClient | None:
    return next((c for c in state.settings.oauth_clients if c.client_id == client_id), None)


def _redirect_ok(state: SandboxState, client: OAuthClient, uri: str | None) -> bool:
    if not uri:
        return False
    if uri in client.redirect_uris:
        return True
    if state.settings.allow_loopback_redirects:
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    return False


def _with_query(uri: str, params: dict[str, str]) -> str:
    sep = "&" if urlsplit(uri).query else "?"
    return f"{uri}{sep}{urlencode(params)}"


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def authorize(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
    client = _client(state, params.get("client_id"))
    redirect_uri = params.get("redirect_uri")
    if client is None:
        return HTMLResponse("<h1>Invalid client_id</h1>", status_code=400)
    if not _redirect_ok(state, client, redirect_uri):
        return HTMLResponse("<h1>The redirect_uri does not match the application</h1>", 400)
    assert redirect_uri is not None
    extra = {"state": params["state"]} if params.get("state") is not None else {}
    if params.get("response_type") != "code":
        return RedirectResponse(
            _with_query(redirect_uri, {"error": "unsupported_response_type", **extra}), 302
        )
    decision = params.get("decision")
    if request.method == "GET" and not state.settings.auto_approve:
        return HTMLResponse(_consent_page(client, params))
    if request.method == "GET" or decision == "approve":
        user_id = state.firm.meta.owner_user_id
        code = AuthCode(
            code=secrets.token_urlsafe(24),
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            user_id=user_id,
            expires_at=state.now() + CODE_TTL,
        )
        state.codes[code.code] = code
        return RedirectResponse(_with_query(redirect_uri, {"code": code.code, **extra}), 302)
    return RedirectResponse(_with_query(redirect_uri, {"error": "access_denied", **extra}), 302)


def _consent_page(client: OAuthClient, params: dict[str, Any]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in params.items()
        if k != "decision"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Authorize application</title>"
        "</head><body><h1>Clio sandbox</h1>"
        f"<p><b>{html.escape(client.name)}</b> would like to access your Clio account.</p>"
        f"<form method='post' action='/oauth/authorize'>{hidden}"
        "<button name='decision' value='approve'>Allow access</button> "
        "<button name='decision' value='deny'>Deny</button></form></body></html>"
    )


async def token(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in ctype and "multipart/form-data" not in ctype:
        return _oauth_error(400, "invalid_request", "The token request must be form-encoded")
    form = {k: str(v) for k, v in (await request.form()).items()}
    client = _client(state, form.get("client_id"))
    if client is None or not secrets.compare_digest(
        form.get("client_secret", ""), client.client_secret
    ):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        code = state.codes.get(form.get("code", ""))
        if (
            code is None
            or code.used
            or code.expires_at <= state.now()
            or code.client_id != client.client_id
            or code.redirect_uri != form.get("redirect_uri")
        ):
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid")
        code.used = True
        grant = state.new_grant(client.client_id, code.user_id)
        access = state.issue_token(grant)
        return _token_response(state, access.token, grant.refresh_token)
    if grant_type == "refresh_token":
        found = state.grants.get(form.get("refresh_token", ""))
        if found is None or found.revoked or found.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid")
        refresh: str | None = None
        if state.settings.rotate_refresh_tokens:
            del state.grants[found.refresh_token]
            found.refresh_token = secrets.token_urlsafe(32)
            state.grants[found.refresh_token] = found
            refresh = found.refresh_token
        access = state.issue_token(found)
        return _token_response(state, access.token, refresh)
    return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")


def _token_response(state: SandboxState, access: str, refresh: str | None) -> JSONResponse:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": access,
        "expires_in": state.settings.token_expires_in,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def deauthorize(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    header = request.headers.get("authorization", "")
    value = header.partition(" ")[2].strip()
    if not value:
        try:
            form = await request.form()
            value = str(form.get("token", ""))
        except Exception:
            value = ""
    access = state.valid_token(value)
    if access is None:
        return _oauth_error(
            401,
            "invalid_token",
            "The access token provided is expired, revoked,"
            " malformed or invalid for other reasons.",
        )
    access.grant.revoked = True
    for tok in state.tokens.values():
        if tok.grant is access.grant:
            tok.revoked = True
    return JSONResponse({})
