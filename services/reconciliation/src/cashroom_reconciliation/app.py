"""Composition root of the reconciliation service: settings, runtime (database, outbox relay,
consumers), the ledger client, the periodic cadence check and HTTP routes, wired in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from cashroom_chassis.db import Database
from cashroom_chassis.runtime import Runtime, create_app
from cashroom_reconciliation import api
from cashroom_reconciliation.handlers import cadence
from cashroom_reconciliation.handlers.events import HANDLED, handle_event
from cashroom_reconciliation.ledger_client import LedgerClient
from cashroom_reconciliation.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)


def build(settings: Settings | None = None, *, ledger: LedgerClient | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, migrations_dir=MIGRATIONS)
    runtime.consume([settings.ledger_topic, settings.clio_topic], handle_event, event_types=HANDLED)
    ledger = ledger or LedgerClient(
        settings.ledger_url,
        settings.auth_signing_key.get_secret_value(),
        timeout_seconds=settings.ledger_timeout_seconds,
    )
    app = create_app(runtime, title="Cashroom reconciliation")
    app.state.ledger = ledger
    api.install(app, runtime.db, settings, ledger.client_ledgers_total)

    runtime_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime_lifespan(app):
            checking = None
            if settings.cadence_check_interval_seconds > 0:
                checking = asyncio.create_task(
                    check_cadence_periodically(runtime.db, settings.cadence_check_interval_seconds),
                    name="cadence-check",
                )
            try:
                yield
            finally:
                if checking is not None:
                    checking.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await checking
                await ledger.close()

    app.router.lifespan_context = lifespan
    return app


async def check_cadence_periodically(db: Database, interval_seconds: float) -> None:
    """Every firm's client accounts, checked for a late reconciliation, forever."""
    while True:
        try:
            await check_every_firm(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cadence check failed; trying again at the next interval")
        await asyncio.sleep(interval_seconds)


async def check_every_firm(db: Database) -> int:
    today = datetime.now(UTC).date()
    raised = 0
    async with db.unit_of_work() as uow:
        firms = await cadence.firms_with_client_accounts(uow)
    for firm_id in firms:
        async with db.unit_of_work() as uow:
            result = await cadence.check_firm(uow, firm_id, today=today)
            await uow.commit()
        raised += len(result.breaches_raised)
    return raised
