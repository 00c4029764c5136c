"""Fixtures for the reporting tests: a migrated schema of its own, the scenario applied through
the handlers, and an HTTP client on the report routes with a token for the firm."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from cashroom_chassis.auth import Role, issue_token
from cashroom_chassis.db import Database
from cashroom_chassis.testing import Infrastructure
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_reporting import api
from cashroom_reporting.consumer import record_position
from cashroom_reporting.handlers import handle
from cashroom_reporting.rebuild import RebuildResult
from cashroom_reporting.settings import Settings

KEY = "reporting-test-key"


def make_settings(infrastructure: Infrastructure, unique_name: str, **extra: Any) -> Settings:
    return Settings(
        service_name=f"reporting_{unique_name}",
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        kafka_enable_idempotence=infrastructure.kafka_enable_idempotence,
        auth_signing_key=KEY,
        ledger_topic=f"test.{unique_name}.ledger",
        reconciliation_topic=f"test.{unique_name}.reconciliation",
        clio_topic=f"test.{unique_name}.clio",
        **extra,
    )


async def apply_all(
    db: Database, events: list[Envelope[EventPayload]], topic: str = "test"
) -> None:
    """Apply events as the consumer would (one unit of work each), recording positions."""
    for offset, event in enumerate(events):
        async with db.unit_of_work() as uow:
            await handle(uow, event)
            await record_position(uow.session, event.firm_id, topic, 0, offset, event)
            await uow.commit()


def token(firm: str, role: Role = Role.VIEWER) -> str:
    return issue_token(KEY, firm_id=firm, role=role, subject="test")


def api_app(db: Database, settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.auth_signing_key = KEY

    async def no_rebuild(firm_id: str) -> RebuildResult:
        return RebuildResult(firm_id)

    api.install(app, db, settings, no_rebuild)
    return app


def client_for(app: FastAPI, firm: str, role: Role = Role.VIEWER) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://reporting",
        headers={"Authorization": f"Bearer {token(firm, role)}"},
    )
