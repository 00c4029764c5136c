"""Composition root of the connector service: settings, runtime (database, outbox relay, the
ledger-feedback consumer), Clio connections, the sync engine and its runner, webhooks and the
HTTP routes, wired in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from cashroom_chassis.runtime import Runtime, create_app
from cashroom_contracts.topics import LEDGER_EVENTS
from clio_connector import api
from clio_connector.connections import ClioAccess, Connections
from clio_connector.crypto import TokenCipher
from clio_connector.engine import SyncEngine
from clio_connector.feedback import ANSWERS, on_ledger_events
from clio_connector.ledger_client import LedgerClient
from clio_connector.resolutions import Resolutions
from clio_connector.runner import SyncRunner
from clio_connector.runs import Runs
from clio_connector.settings import Settings
from clio_connector.settings_store import SettingsStore
from clio_connector.sync_log import SyncLog
from clio_connector.webhooks import Webhooks

MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: Settings | None = None,
    *,
    clio: ClioAccess | None = None,
    ledger_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The service. ``clio`` and ``ledger_transport`` are how it reaches Clio and the ledger
    (defaults: the network and real time)."""
    settings = settings or Settings()
    cipher = TokenCipher(settings.token_encryption_key.get_secret_value())  # or refuse to start
    runtime = Runtime(settings, migrations_dir=MIGRATIONS)
    db = runtime.db
    connections = Connections(db, settings, cipher, clio or ClioAccess())
    settings_store = SettingsStore(db, LedgerClient(settings, ledger_transport), connections)
    runs = Runs(db)
    engine = SyncEngine(db, connections, settings_store, runs, settings)
    runner = SyncRunner(engine, runs, connections, settings)
    webhooks = Webhooks(db, connections, cipher, settings, runner.hint)
    runner.renew_webhooks = webhooks.renew
    runner.webhooks_active = webhooks.active
    runtime.consume([LEDGER_EVENTS], batch_handler=on_ledger_events, event_types=ANSWERS)

    app = create_app(runtime, title="Cashroom connector")
    chassis_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with chassis_lifespan(app):
            runner.start()
            try:
                yield
            finally:
                await runner.stop()

    app.router.lifespan_context = lifespan
    api.install(
        app,
        api.Services(
            connections=connections,
            settings_store=settings_store,
            runs=runs,
            runner=runner,
            sync_log=SyncLog(db),
            resolutions=Resolutions(db, connections, settings_store),
            webhooks=webhooks,
        ),
    )
    return app
