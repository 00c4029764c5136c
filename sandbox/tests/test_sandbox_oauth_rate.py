"""OAuth flows, token expiry and rate limiting."""

from __future__ import annotations

import httpx

from clio_sandbox import SandboxSettings
from clio_sandbox.testing import CLIENT_ID, REDIRECT, SECRET, sandbox, token


async def _code(client: httpx.AsyncClient, state: str = "s1") -> str:
    resp = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": state,
        },
    )
    assert resp.status_code == 302
    location = httpx.URL(resp.headers["location"])
    assert location.params["state"] == state
    return location.params["code"]


async def test_authorization_code_refresh_and_deauthorize() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="off", token_expires_in=3600)) as (
        client,
        _,
    ):
        code = await _code(client)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "redirect_uri": REDIRECT,
        }
        resp = await client.post("/oauth/token", data=form)
        body = resp.json()
        assert (
            resp.status_code == 200
            and body["token_type"] == "bearer"
            and body["expires_in"] == 3600
        )
        reuse = await client.post("/oauth/token", data=form)
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
        h = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await client.get("/api/v4/users/who_am_i", headers=h)).status_code == 200
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        }
        r1 = await client.post("/oauth/token", data=refresh)
        r2 = await client.post("/oauth/token", data=refresh)  # refresh tokens are reusable
        assert r1.status_code == r2.status_code == 200 and "refresh_token" not in r1.json()
        h2 = {"Authorization": f"Bearer {r2.json()['access_token']}"}
        assert (await client.get("/api/v4/users/who_am_i", headers=h2)).status_code == 200
        out = await client.post("/oauth/deauthorize", headers=h2)
        assert out.status_code == 200
        for headers in (h, h2):
            denied = await client.get("/api/v4/users/who_am_i", headers=headers)
            assert denied.status_code == 401 and denied.json()["error"] == "invalid_token"
        assert (await client.post("/oauth/token", data=refresh)).status_code == 400


async def test_bad_token_requests() -> None:
    async with sandbox() as (client, _):
        code = await _code(client)
        base = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        }
        assert (
            await client.post(
                "/oauth/token", data={**base, "redirect_uri": "http://127.0.0.1:9/other"}
            )
        ).json()["error"] == "invalid_grant"
        assert (
            await client.post(
                "/oauth/token", data={**base, "client_secret": "nope", "redirect_uri": REDIRECT}
            )
        ).status_code == 401
        assert (await client.post("/oauth/token", json={**base, "redirect_uri": REDIRECT})).json()[
            "error"
        ] == "invalid_request"
        assert (
            await client.post(
                "/oauth/token", data={**base, "grant_type": "password", "redirect_uri": REDIRECT}
            )
        ).json()["error"] == "unsupported_grant_type"
        bad_redirect = await client.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": "https://evil.example/cb",
            },
        )
        assert bad_redirect.status_code == 400
        assert (await client.get("/api/v4/matters")).status_code == 401
        assert (
            await client.get("/api/v4/matters", headers={"Authorization": "Bearer nope"})
        ).status_code == 401


async def test_consent_page_and_access_denied() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="off", auto_approve=False)) as (
        client,
        _,
    ):
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "abc",
        }
        page = await client.get("/oauth/authorize", params=params)
        assert page.status_code == 200 and "Allow access" in page.text
        denied = await client.post("/oauth/authorize", data={**params, "decision": "deny"})
        location = httpx.URL(denied.headers["location"])
        assert location.params["error"] == "access_denied" and location.params["state"] == "abc"
        approved = await client.post("/oauth/authorize", data={**params, "decision": "approve"})
        assert "code" in httpx.URL(approved.headers["location"]).params


async def test_expired_token_gets_401() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="off", token_expires_in=60)) as (
        client,
        _,
    ):
        h = await token(client)
        assert (await client.get("/api/v4/matters", headers=h)).status_code == 200
        await client.post("/_control/clock/advance", json={"seconds": 61})
        expired = await client.get("/api/v4/matters", headers=h)
        assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


async def test_rate_limit_headers_and_429() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="peak")) as (client, _):
        h = await token(client)
        other = await token(client)
        for i in range(50):
            resp = await client.get("/api/v4/users/who_am_i", headers=h)
            assert resp.status_code == 200
            assert resp.headers["X-RateLimit-Limit"] == "50"
            assert resp.headers["X-RateLimit-Remaining"] == str(49 - i)
            assert int(resp.headers["X-RateLimit-Reset"]) > 0
        limited = await client.get("/api/v4/users/who_am_i", headers=h)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["error"]["type"] == "RateLimited"
        assert (
            await client.get("/api/v4/users/who_am_i", headers=other)
        ).status_code == 200  # per token
        await client.post(
            "/_control/clock/advance", json={"seconds": int(limited.headers["Retry-After"])}
        )
        assert (await client.get("/api/v4/users/who_am_i", headers=h)).status_code == 200


async def test_off_peak_and_off_modes() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="off-peak")) as (client, _):
        h = await token(client)
        resp = await client.get("/api/v4/users/who_am_i", headers=h)
        assert resp.headers["X-RateLimit-Limit"] == "300"
        await client.put("/_control/settings", json={"rate_limit": "off"})
        resp = await client.get("/api/v4/users/who_am_i", headers=h)
        assert "X-RateLimit-Limit" not in resp.headers


async def test_the_request_log_counts_requests_by_kind_and_status() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="peak", peak_limit=3)) as (client, _):
        h = await token(client)
        first = await client.get("/api/v4/activities.json?fields=id&limit=2", headers=h)
        following = first.json()["meta"]["paging"]["next"]
        await client.get(following, headers=h)
        await client.get("/api/v4/line_items?bill_id=1&fields=id", headers=h)
        await client.get("/api/v4/bills/12345", headers=h)  # the 4th: over the limit of 3
        await client.get("/api/v4/matters")  # no token

        log = (await client.get("/_control/requests?recent=2")).json()

        assert log["total"] == 5
        assert log["by_kind"] == {
            "GET activities": 1,
            "GET activities ?page_token": 1,
            "GET line_items ?bill_id": 1,
            "GET bills/{id}": 1,
            "GET matters": 1,
        }
        assert log["by_status"] == {"200": 3, "401": 1, "429": 1}
        assert [[kind, status] for _, kind, status in log["recent"]] == [
            ["GET bills/{id}", 429],
            ["GET matters", 401],
        ]
        assert (await client.delete("/_control/requests")).status_code == 200
        assert (await client.get("/_control/requests")).json()["total"] == 0


async def test_the_rate_window_can_be_shortened_for_quick_measurements() -> None:
    async with sandbox(settings=SandboxSettings(rate_limit="peak")) as (client, _):
        changed = await client.put(
            "/_control/settings", json={"peak_limit": 2, "rate_window_seconds": 5}
        )
        assert changed.status_code == 200
        h = await token(client)
        answers = [await client.get("/api/v4/users/who_am_i", headers=h) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert 1 <= int(answers[2].headers["Retry-After"]) <= 5
        refused = await client.put("/_control/settings", json={"rate_window_seconds": 0})
        assert refused.status_code == 422
