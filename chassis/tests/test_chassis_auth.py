"""Every API but health needs a bearer token bound to one firm and a role; firm A's token never
reads firm B's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends
from pydantic import SecretStr
from sample_service import effects, migrate, sample_settings
from sqlalchemy import select

from cashroom_chassis.auth import InvalidToken, Principal, Role, issue_token, require, verify_token
from cashroom_chassis.runtime import Runtime, create_app
from cashroom_chassis.testing import Infrastructure

KEY = "test-signing-key"


def test_a_token_carries_its_firm_role_and_subject() -> None:
    token = issue_token(KEY, firm_id="firm-a", role=Role.CASHIER, subject="mary")
    assert verify_token(KEY, token) == Principal("firm-a", Role.CASHIER, "mary")


def test_a_token_signed_with_another_key_or_altered_is_refused() -> None:
    token = issue_token(KEY, firm_id="firm-a", role=Role.VIEWER, subject="x")
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token("another-key", token)
    prefix, body, signature = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    with pytest.raises(InvalidToken):
        verify_token(KEY, f"{prefix}.{forged_body}.{signature}")


def test_an_expired_token_is_refused() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    token = issue_token(
        KEY, firm_id="f", role=Role.ADMIN, subject="x", lifetime=timedelta(hours=1), now=issued
    )
    assert verify_token(KEY, token, now=issued + timedelta(minutes=59)).role is Role.ADMIN
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(KEY, token, now=issued + timedelta(hours=1))


def test_roles_include_the_ones_below() -> None:
    admin = Principal("f", Role.ADMIN, "a")
    viewer = Principal("f", Role.VIEWER, "v")
    assert admin.may(Role.CASHIER) and admin.may(Role.VIEWER)
    assert viewer.may(Role.VIEWER) and not viewer.may(Role.CASHIER)


@pytest.fixture
async def client(
    infrastructure: Infrastructure, unique_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = sample_settings(infrastructure, unique_name, auth_signing_key=SecretStr(KEY))
    await migrate(settings)
    runtime = Runtime(settings)
    app = create_app(runtime, title="sample")

    @app.get("/firms/{firm_id}/effects")
    async def list_effects(
        firm_id: str, principal: Annotated[Principal, Depends(require(Role.VIEWER))]
    ) -> list[dict[str, Any]]:
        async with runtime.db.transaction() as session:
            rows = await session.execute(select(effects).where(effects.c.firm_id == firm_id))
            return [{"amount_minor": r.amount_minor} for r in rows]

    @app.post("/firms/{firm_id}/effects")
    async def add_effect(
        firm_id: str, principal: Annotated[Principal, Depends(require(Role.CASHIER))]
    ) -> dict[str, str]:
        async with runtime.db.transaction() as session:
            await session.execute(
                effects.insert().values(event_id=uuid.uuid4(), firm_id=firm_id, amount_minor=1)
            )
        return {"status": "added"}

    async with runtime.db.transaction() as session:
        await session.execute(
            effects.insert().values(event_id=uuid.uuid4(), firm_id="firm-b", amount_minor=4200)
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c
    await runtime.db.dispose()


def _bearer(firm: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(KEY, firm_id=firm, role=role, subject='t')}"}


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200


async def test_no_token_or_a_bad_one_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/firms/firm-b/effects")).status_code == 401
    bad = await client.get("/firms/firm-b/effects", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "malformed token"}


async def test_firm_a_cannot_read_or_change_firm_b(client: httpx.AsyncClient) -> None:
    read = await client.get("/firms/firm-b/effects", headers=_bearer("firm-a", Role.ADMIN))
    assert read.status_code == 404
    assert "4200" not in read.text
    write = await client.post("/firms/firm-b/effects", headers=_bearer("firm-a", Role.ADMIN))
    assert write.status_code == 404
    own = await client.get("/firms/firm-b/effects", headers=_bearer("firm-b", Role.VIEWER))
    assert own.status_code == 200
    assert own.json() == [{"amount_minor": 4200}]  # firm A's attempt added nothing


async def test_a_viewer_cannot_change_anything(client: httpx.AsyncClient) -> None:
    response = await client.post("/firms/firm-b/effects", headers=_bearer("firm-b", Role.VIEWER))
    assert response.status_code == 403
    assert response.json() == {"detail": "this needs the cashier role"}
