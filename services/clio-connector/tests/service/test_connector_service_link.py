"""Linking Clio: the OAuth authorization-code flow against the sandbox (which approves at once),
a state that works once and not after it expires, tokens encrypted at rest and refreshed when
Clio refuses them, one connection per firm, and unlinking (Clio revokes the grant)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from connector_service_harness import CLIENT_ID, REDIRECT, Connector, Service, firm_of
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from cashroom_chassis.auth import Role
from clio_connector.app import build
from clio_connector.crypto import MissingEncryptionKey
from clio_connector.db.tables import clio_connections, oauth_states
from clio_connector.settings import Settings
from clio_sandbox.testing import tiny_firm


@pytest.fixture
async def c(connector_service: Service) -> AsyncIterator[Connector]:
    async with firm_of(connector_service, tiny_firm()) as connector:
        yield connector


async def test_linking_stores_who_authorised_and_the_tokens_encrypted(c: Connector) -> None:
    # Given the link request's authorize URL names our app, callback and a state
    started = await c.api.post(f"/firms/{c.firm_id}/clio/link", json={})
    url = started.json()["authorize_url"]
    clio = f"http://{c.sandbox.base_url.host}"
    assert url.startswith(f"{clio}/oauth/authorize?")
    assert f"client_id={CLIENT_ID}" in url and f"state={started.json()['state']}" in url

    # When the firm's user approves in Clio and Clio redirects back
    linked = await c.link()

    # Then the connection names the firm and the user Clio says authorised
    owner = c.record("users", c.firm.meta.owner_user_id)
    assert linked["clio_firm_name"] == c.firm.meta.firm_name
    assert linked["clio_user"] == {
        "id": owner["id"],
        "name": owner["name"],
        "email": owner["email"],
    }
    shown = (await c.api.get(f"/firms/{c.firm_id}/clio/connection")).json()
    assert shown["linked"] is True and shown["clio_base_url"] == clio

    # And the tokens are stored only encrypted, under the service's key
    async with c.runtime.db.transaction() as session:
        row = (
            await session.execute(
                select(clio_connections).where(clio_connections.c.firm_id == c.firm_id)
            )
        ).one()
    sandbox_tokens = c.sandbox_app.state.sandbox.tokens
    [access] = [t for t in sandbox_tokens if not sandbox_tokens[t].revoked]
    assert access.encode() not in row.access_token
    key = c.settings.token_encryption_key.get_secret_value()
    assert Fernet(key.encode()).decrypt(row.access_token).decode() == access


async def test_a_state_is_single_use_expires_and_cannot_be_made_up(c: Connector) -> None:
    params = await c.authorize()
    first = await c.api.get("/clio/oauth/callback", params=params)
    assert first.status_code == 200

    replayed = await c.api.get("/clio/oauth/callback", params=params)
    assert replayed.status_code == 400
    assert "already been used" in replayed.json()["error"]

    forged = await c.api.get("/clio/oauth/callback", params={**params, "state": "made-up-state"})
    assert forged.status_code == 400 and "unknown state" in forged.json()["error"]

    late = await c.authorize()
    async with c.runtime.db.transaction() as session:
        await session.execute(
            update(oauth_states)
            .where(oauth_states.c.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await c.api.get("/clio/oauth/callback", params=late)
    assert expired.status_code == 400 and "expired" in expired.json()["error"]

    declined_state = (await c.api.post(f"/firms/{c.firm_id}/clio/link", json={})).json()
    declined = await c.api.get(
        "/clio/oauth/callback",
        params={"error": "access_denied", "state": declined_state["state"]},
        headers={"Accept": "text/html"},
    )
    assert declined.status_code == 400
    assert "declined" in declined.text and declined.headers["content-type"].startswith("text/html")


async def test_unlinking_revokes_the_grant_in_clio_and_forgets_the_tokens(c: Connector) -> None:
    await c.link()
    hooks_before = len(list(c.firm.store.iter("webhooks")))
    assert hooks_before == 4

    unlinked = await c.api.delete(f"/firms/{c.firm_id}/clio/link")

    assert unlinked.json() == {"unlinked": True, "revoked_in_clio": True}
    state = c.sandbox_app.state.sandbox
    assert all(token.revoked or token.grant.revoked for token in state.tokens.values())
    assert list(c.firm.store.iter("webhooks")) == []
    assert (await c.api.get(f"/firms/{c.firm_id}/clio/connection")).json()["linked"] is False
    refused = await c.api.post(f"/firms/{c.firm_id}/syncs", json={"kind": "full"})
    assert refused.status_code == 409 and refused.json()["error"] == "link Clio first"


async def test_only_the_firms_admin_links_and_only_for_that_firm(c: Connector) -> None:
    async with c.as_role(Role.CASHIER) as cashier:
        refused = await cashier.post(f"/firms/{c.firm_id}/clio/link", json={})
        assert refused.status_code == 403
    async with c.as_role(Role.ADMIN, firm_id="another-firm") as other:
        hidden = await other.get(f"/firms/{c.firm_id}/clio/connection")
        assert hidden.status_code == 404


def test_the_service_refuses_to_start_without_a_token_encryption_key() -> None:
    with pytest.raises(MissingEncryptionKey, match="TOKEN_ENCRYPTION_KEY is not set"):
        build(Settings(token_encryption_key="", clio_redirect_uri=REDIRECT))
    with pytest.raises(MissingEncryptionKey, match="not a Fernet key"):
        build(Settings(token_encryption_key="too-short"))
