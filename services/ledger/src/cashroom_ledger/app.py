"""Composition root of the ledger service: settings, runtime (database, outbox relay, the
consumer of Clio and reconciliation events) and HTTP routes, wired in one place."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cashroom_chassis.consumer import EventConsumer
from cashroom_chassis.runtime import Runtime, create_app
from cashroom_contracts.topics import CLIO_EVENTS, RECONCILIATION_EVENTS
from cashroom_ledger import api
from cashroom_ledger.consumer import LEDGER_INPUTS, handle_envelopes
from cashroom_ledger.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_runtime(settings: Settings) -> Runtime:
    """The runtime with the ledger's consumer attached (the relay comes with the runtime)."""
    runtime = Runtime(settings, migrations_dir=MIGRATIONS)
    consumer = EventConsumer(
        db=runtime.db,
        dead_letter_producer=None,  # bound by the runtime when it starts
        topics=(CLIO_EVENTS, RECONCILIATION_EVENTS),
        batch_handler=handle_envelopes,
        event_types=LEDGER_INPUTS,
        group_id=settings.consumer_group,
        max_batch=settings.kafka_max_batch,
        attempts=settings.kafka_handler_attempts,
        retry_backoff_seconds=settings.kafka_retry_backoff_seconds,
    )
    consumer.attach(runtime.broker)
    runtime.consumers.append(consumer)
    return runtime


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    app = create_app(runtime, title="Cashroom ledger")
    api.install(app, runtime.db)
    return app
