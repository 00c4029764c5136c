"""Webhooks: handshake, signatures, the control API firing them, retries, 410, expiry."""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clio_sandbox import SandboxSettings, sign
from clio_sandbox.testing import sandbox, token


class Receiver:
    """A connector-like webhook endpoint served in-process."""

    def __init__(self, echo: bool = True, statuses: list[int] | None = None) -> None:
        self.echo = echo
        self.statuses = statuses or []
        self.handshakes: list[dict[str, Any]] = []
        self.events: list[tuple[bytes, str]] = []
        self.app = Starlette(routes=[Route("/hooks", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        secret = request.headers.get("x-hook-secret")
        if secret is not None:
            self.handshakes.append({"secret": secret, "body": json.loads(body)})
            return Response(status_code=200, headers={"X-Hook-Secret": secret} if self.echo else {})
        self.events.append((body, request.headers["x-hook-signature"]))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)


async def _subscribe(
    client: httpx.AsyncClient,
    h: dict[str, str],
    model: str = "activity",
    fields: str = "id,etag,note,updated_at",
    **extra: Any,
) -> dict[str, Any]:
    resp = await client.post(
        "/api/v4/webhooks.json?fields=id,etag,status,shared_secret,expires_at,model,events",
        headers=h,
        json={
            "data": {
                "url": "http://127.0.0.1:8999/hooks",
                "model": model,
                "fields": fields,
                **extra,
            }
        },
    )
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


async def _settle(app: Any) -> None:
    await asyncio.sleep(0)
    await app.state.hooks.drain(5)


async def test_handshake_signature_and_control_api_firing() -> None:
    receiver = Receiver()
    async with sandbox(webhook_transport=httpx.ASGITransport(app=receiver.app)) as (client, app):
        h = await token(client)
        hook = await _subscribe(client, h)
        assert hook["status"] == "pending"
        await _settle(app)
        assert receiver.handshakes and receiver.handshakes[0]["secret"] == hook["shared_secret"]
        listed = (
            await client.get(f"/api/v4/webhooks/{hook['id']}?fields=id,status", headers=h)
        ).json()["data"]
        assert listed["status"] == "enabled"
        matter = (
            await client.get("/api/v4/matters?status=open&fields=id&limit=1", headers=h)
        ).json()["data"][0]
        created = await client.post(
            "/_control/time_entries",
            json={
                "matter_id": matter["id"],
                "hours": "1.5",
                "note": "Drafting",
                "date": "2026-10-02",
            },
        )
        assert created.status_code == 200
        await _settle(app)
        body, signature = receiver.events[-1]
        payload = json.loads(body)
        assert payload["meta"] == {"event": "created", "webhook_id": hook["id"]}
        assert (
            payload["data"]["id"] == created.json()["data"]["id"]
            and payload["data"]["note"] == "Drafting"
        )
        expected = hmac.new(hook["shared_secret"].encode(), body, "sha256").hexdigest()
        assert hmac.compare_digest(signature, expected) and signature == sign(
            hook["shared_secret"], body
        )
        assert not hmac.compare_digest(signature, sign("wrong-secret", body))
        assert not hmac.compare_digest(signature, sign(hook["shared_secret"], body + b" "))


async def test_update_filtering_first_update_always_fires_and_delete() -> None:
    receiver = Receiver()
    async with sandbox(webhook_transport=httpx.ASGITransport(app=receiver.app)) as (client, app):
        h = await token(client)
        hook = await _subscribe(client, h, fields="id,note")
        await _settle(app)
        act = (
            await client.get(
                "/api/v4/activities?status=unbilled&type=TimeEntry&fields=id,etag&limit=1",
                headers=h,
            )
        ).json()["data"][0]
        url = f"/api/v4/activities/{act['id']}"
        await client.patch(url, headers=h, json={"data": {"price": 99}})  # first update: fires
        await _settle(app)
        await client.patch(url, headers=h, json={"data": {"price": 98}})  # note unchanged: no event
        await _settle(app)
        await client.patch(url, headers=h, json={"data": {"note": "new note"}})  # fires
        await _settle(app)
        assert [json.loads(b)["meta"]["event"] for b, _ in receiver.events] == [
            "updated",
            "updated",
        ]
        assert (await client.delete(url, headers=h)).status_code == 204
        await _settle(app)
        last = json.loads(receiver.events[-1][0])
        assert last["meta"]["event"] == "deleted" and last["data"]["id"] == act["id"]
        assert (await client.get(url, headers=h)).status_code == 404
        assert hook["id"]


async def test_delayed_activation_retries_410_and_expiry() -> None:
    receiver = Receiver(echo=False, statuses=[500, 503, 200, 410])
    settings = SandboxSettings(rate_limit="off", webhook_retry_delays=[0.01, 0.01, 0.01])
    async with sandbox(
        settings=settings, webhook_transport=httpx.ASGITransport(app=receiver.app)
    ) as (client, app):
        h = await token(client)
        hook = await _subscribe(client, h, model="bill", fields="id,state")
        await _settle(app)
        assert (await client.get(f"/api/v4/webhooks/{hook['id']}?fields=status", headers=h)).json()[
            "data"
        ]["status"] == "pending"
        wrong = await client.put(
            f"/api/v4/webhooks/{hook['id']}/activate", headers={**h, "X-Hook-Secret": "nope"}
        )
        assert wrong.status_code == 422
        ok = await client.put(
            f"/api/v4/webhooks/{hook['id']}/activate.json?fields=status",
            headers={**h, "X-Hook-Secret": hook["shared_secret"]},
        )
        assert ok.json()["data"]["status"] == "enabled"
        bill = (await client.get("/api/v4/bills?state=draft&fields=id", headers=h)).json()["data"][
            0
        ]
        await client.post(f"/_control/bills/{bill['id']}/approve")
        await _settle(app)
        deliveries = (await client.get("/_control/webhooks/deliveries")).json()["data"]
        first = deliveries[0]
        assert [a.get("status") for a in first["attempts"]] == [500, 503, 200] and first[
            "delivered"
        ]
        await client.post(
            "/_control/webhooks/{}/fire".format(hook["id"]),
            json={"record_id": bill["id"], "event": "updated"},
        )
        await _settle(app)
        status = (
            await client.get(f"/api/v4/webhooks/{hook['id']}?fields=status", headers=h)
        ).json()["data"]["status"]
        assert status == "suspended"  # 410 disables the subscription


async def test_expiry_rules() -> None:
    receiver = Receiver()
    async with sandbox(webhook_transport=httpx.ASGITransport(app=receiver.app)) as (client, app):
        h = await token(client)
        too_far = await client.post(
            "/api/v4/webhooks",
            headers=h,
            json={
                "data": {
                    "url": "http://127.0.0.1:8999/hooks",
                    "model": "matter",
                    "fields": "id",
                    "expires_at": "2099-01-01T00:00:00Z",
                }
            },
        )
        assert too_far.status_code == 422
        hook = await _subscribe(client, h, model="activity", fields="id")
        await _settle(app)
        from clio_sandbox.timeutil import parse_ts

        state = app.state.sandbox
        lifetime = parse_ts(hook["expires_at"]).timestamp() - state.now()
        assert 3 * 86400 - 120 < lifetime <= 3 * 86400
        await client.post("/_control/clock/advance", json={"seconds": 3 * 86400 + 10})
        h = await token(client)
        matter = (await client.get("/api/v4/matters?fields=id&limit=1", headers=h)).json()["data"][
            0
        ]
        await client.post("/_control/time_entries", json={"matter_id": matter["id"], "hours": 1})
        await _settle(app)
        assert receiver.events == []  # expired hooks deliver nothing
