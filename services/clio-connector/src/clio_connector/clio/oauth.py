"""Clio's OAuth 2.0 authorization-code flow, as small pieces.

Building the URLs and form bodies and reading the answers are pure functions; the three async
functions only send what those build. Codes are single-use, so nothing here retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx

from clio_connector.clio.errors import ClioOAuthError, OAuthDeclined, OAuthStateMismatch
from clio_connector.domain.records import loads_exact


def _root(base_url: str) -> str:
    return base_url.rstrip("/")


def authorize_url(
    base_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    redirect_on_decline: bool = True,
) -> str:
    """Where to send the cashier to authorise Cashroom in Clio. ``state`` is an unguessable
    value kept server-side; the callback must bring it back unchanged."""
    if not state:
        raise ValueError("state must not be empty: it is the callback's CSRF check")
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if redirect_on_decline:
        query["redirect_on_decline"] = "true"
    return f"{_root(base_url)}/oauth/authorize?{urlencode(query)}"


def code_from_callback(params: Mapping[str, str], *, expected_state: str) -> str:
    """The authorization code from Clio's redirect, after checking ``state``.

    Raises ``OAuthStateMismatch`` for a missing or different state (checked first, so a forged
    callback learns nothing), ``OAuthDeclined`` when the user said no, ``ClioOAuthError`` for
    any other error or a missing code.
    """
    if not expected_state or params.get("state") != expected_state:
        raise OAuthStateMismatch("the callback's state does not match the one sent to Clio")
    error = params.get("error")
    if error == "access_denied":
        raise OAuthDeclined("the user declined to authorise Cashroom in Clio")
    if error:
        raise ClioOAuthError(400, error, params.get("error_description"))
    code = params.get("code")
    if not code:
        raise ClioOAuthError(400, "missing_code", "the callback carries no authorization code")
    return code


@dataclass(frozen=True)
class FormPost:
    """A form-encoded POST to Clio's OAuth endpoints."""

    url: str
    form: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def code_exchange(
    base_url: str, *, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> FormPost:
    return FormPost(
        f"{_root(base_url)}/oauth/token",
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        },
    )


def token_refresh(
    base_url: str, *, client_id: str, client_secret: str, refresh_token: str
) -> FormPost:
    return FormPost(
        f"{_root(base_url)}/oauth/token",
        {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        },
    )


def deauthorization(base_url: str, *, access_token: str) -> FormPost:
    return FormPost(
        f"{_root(base_url)}/oauth/deauthorize",
        {"token": access_token},
        {"Authorization": f"Bearer {access_token}"},
    )


@dataclass(frozen=True)
class TokenGrant:
    """Tokens from ``/oauth/token``. ``refresh_token`` is None when Clio did not send a new one
    (a refresh usually does not): keep the one already stored."""

    access_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str

    def expires_at(self, issued_at: datetime) -> datetime:
        return issued_at + timedelta(seconds=self.expires_in)


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        data = loads_exact(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _oauth_error(status: int, body: bytes) -> ClioOAuthError:
    """The OAuth shape ``{"error", "error_description"}`` or Clio's ``{"error": {"type",
    "message"}}``; anything else is reported by its status."""
    data = _json_object(body) or {}
    error = data.get("error")
    description = data.get("error_description")
    if isinstance(error, dict):
        description = error.get("message")
        error = error.get("type")
    return ClioOAuthError(
        status,
        error if isinstance(error, str) else "http_error",
        description if isinstance(description, str) else None,
    )


def parse_token_response(status: int, body: bytes) -> TokenGrant:
    """Clio's answer from ``/oauth/token`` as a grant, or ``ClioOAuthError``."""
    data = _json_object(body)
    if status != 200 or data is None or "error" in data:
        if status == 200 and data is None:
            raise ClioOAuthError(status, "invalid_response", "the answer is not a JSON object")
        raise _oauth_error(status, body)
    access_token = data.get("access_token")
    expires_in = data.get("expires_in")
    refresh_token = data.get("refresh_token")
    if not isinstance(access_token, str) or not access_token:
        raise ClioOAuthError(status, "invalid_response", "no access_token in the answer")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise ClioOAuthError(status, "invalid_response", f"expires_in is {expires_in!r}")
    token_type = data.get("token_type")
    if isinstance(token_type, str) and token_type.lower() != "bearer":
        raise ClioOAuthError(status, "invalid_response", f"token_type {token_type!r}")
    return TokenGrant(
        access_token=access_token,
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_in=expires_in,
        token_type="bearer",
    )


async def _post(http: httpx.AsyncClient, post: FormPost) -> httpx.Response:
    return await http.post(post.url, data=post.form, headers=post.headers)


async def exchange_code(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
) -> TokenGrant:
    """Trade the callback's code for tokens (``grant_type=authorization_code``)."""
    post = code_exchange(
        base_url,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
    )
    response = await _post(http, post)
    return parse_token_response(response.status_code, response.content)


async def refresh_access_token(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> TokenGrant:
    """A new access token from the stored refresh token (``grant_type=refresh_token``)."""
    post = token_refresh(
        base_url, client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
    )
    response = await _post(http, post)
    return parse_token_response(response.status_code, response.content)


async def deauthorize(http: httpx.AsyncClient, base_url: str, *, access_token: str) -> bool:
    """Revoke Cashroom's access. True when Clio revoked it now, False when the token was already
    invalid (revoked in Clio, or expired): either way the connection is gone."""
    response = await _post(http, deauthorization(base_url, access_token=access_token))
    if response.status_code in (200, 204):
        return True
    if response.status_code == 401:
        return False
    raise _oauth_error(response.status_code, response.content)
