"""Linking Clio: the authorize URL, the callback's state check, code exchange, refresh and
deauthorization, against an in-memory OAuth server."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clio_connector.clio.errors import ClioOAuthError, OAuthDeclined, OAuthStateMismatch
from clio_connector.clio.oauth import (
    TokenGrant,
    authorize_url,
    code_from_callback,
    deauthorize,
    exchange_code,
    parse_token_response,
    refresh_access_token,
)

BASE = "https://eu.app.clio.com"
REDIRECT = "https://cashroom.example/clio/callback"


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


class TestAuthorizing:
    def test_the_authorize_url_carries_the_app_the_redirect_and_the_state(self) -> None:
        url = authorize_url(BASE, client_id="app-key", redirect_uri=REDIRECT, state="s-123")
        parts = urlsplit(url)

        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "eu.app.clio.com",
            "/oauth/authorize",
        )
        assert parse_qs(parts.query) == {
            "response_type": ["code"],
            "client_id": ["app-key"],
            "redirect_uri": [REDIRECT],
            "state": ["s-123"],
            "redirect_on_decline": ["true"],
        }

    def test_a_state_is_required(self) -> None:
        with pytest.raises(ValueError, match="state"):
            authorize_url(BASE, client_id="app-key", redirect_uri=REDIRECT, state="")

    def test_the_callback_gives_the_code_when_the_state_matches(self) -> None:
        assert (
            code_from_callback({"code": "c-1", "state": "s-123"}, expected_state="s-123") == "c-1"
        )

    @pytest.mark.parametrize("params", [{"code": "c-1", "state": "forged"}, {"code": "c-1"}])
    def test_a_callback_with_another_or_no_state_is_refused(self, params: dict[str, str]) -> None:
        with pytest.raises(OAuthStateMismatch):
            code_from_callback(params, expected_state="s-123")

    def test_the_state_is_checked_before_anything_else(self) -> None:
        with pytest.raises(OAuthStateMismatch):
            code_from_callback({"error": "access_denied", "state": "x"}, expected_state="s-123")

    def test_a_declined_authorisation_says_so(self) -> None:
        with pytest.raises(OAuthDeclined):
            code_from_callback({"error": "access_denied", "state": "s-123"}, expected_state="s-123")

    def test_a_callback_without_a_code_is_an_error(self) -> None:
        with pytest.raises(ClioOAuthError, match="missing_code"):
            code_from_callback({"state": "s-123"}, expected_state="s-123")


class TestTokens:
    async def test_a_code_is_exchanged_for_tokens_with_a_form_post(self) -> None:
        seen: list[httpx.Request] = []

        def server(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200,
                json={
                    "token_type": "bearer",
                    "access_token": "at-1",
                    "expires_in": 2592000,
                    "refresh_token": "rt-1",
                },
            )

        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
            grant = await exchange_code(
                http,
                BASE,
                client_id="app-key",
                client_secret="secret",
                code="c-1",
                redirect_uri=REDIRECT,
            )

        [request] = seen
        assert str(request.url) == f"{BASE}/oauth/token"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert form(request) == {
            "grant_type": "authorization_code",
            "client_id": "app-key",
            "client_secret": "secret",
            "code": "c-1",
            "redirect_uri": REDIRECT,
        }
        assert grant == TokenGrant("at-1", "rt-1", 2592000, "bearer")
        issued = datetime(2026, 2, 1, tzinfo=UTC)
        assert grant.expires_at(issued) == datetime(2026, 3, 3, tzinfo=UTC)  # 30 days later

    async def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(self) -> None:
        def server(request: httpx.Request) -> httpx.Response:
            assert form(request) == {
                "grant_type": "refresh_token",
                "client_id": "app-key",
                "client_secret": "secret",
                "refresh_token": "rt-1",
            }
            return httpx.Response(200, json={"access_token": "at-2", "expires_in": 3600})

        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
            grant = await refresh_access_token(
                http, BASE, client_id="app-key", client_secret="secret", refresh_token="rt-1"
            )

        assert (grant.access_token, grant.refresh_token, grant.expires_in) == ("at-2", None, 3600)

    def test_a_refused_code_raises_the_oauth_error(self) -> None:
        body = b'{"error": "invalid_grant", "error_description": "code expired"}'
        with pytest.raises(ClioOAuthError) as refusal:
            parse_token_response(400, body)
        assert (refusal.value.status, refusal.value.error) == (400, "invalid_grant")
        assert refusal.value.description == "code expired"

    @pytest.mark.parametrize(
        "body",
        [
            b"<html>oops</html>",
            b'{"access_token": "", "expires_in": 3600}',
            b'{"access_token": "at", "expires_in": 0}',
            b'{"access_token": "at"}',
            b'{"access_token": "at", "expires_in": 60, "token_type": "mac"}',
        ],
    )
    def test_an_answer_without_a_usable_token_is_an_error(self, body: bytes) -> None:
        with pytest.raises(ClioOAuthError):
            parse_token_response(200, body)


class TestDeauthorizing:
    async def test_revokes_the_token_it_is_given(self) -> None:
        seen: list[httpx.Request] = []

        def server(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200)

        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
            assert await deauthorize(http, BASE, access_token="at-1") is True

        [request] = seen
        assert str(request.url) == f"{BASE}/oauth/deauthorize"
        assert request.headers["Authorization"] == "Bearer at-1"
        assert form(request) == {"token": "at-1"}

    async def test_a_token_already_revoked_means_the_link_is_already_gone(self) -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(401))
        async with httpx.AsyncClient(transport=transport) as http:
            assert await deauthorize(http, BASE, access_token="at-1") is False

    async def test_any_other_refusal_is_an_error(self) -> None:
        transport = httpx.MockTransport(
            lambda request: httpx.Response(503, json={"error": "temporarily_unavailable"})
        )
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(ClioOAuthError, match="temporarily_unavailable"):
                await deauthorize(http, BASE, access_token="at-1")
