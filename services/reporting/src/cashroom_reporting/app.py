"""Composition root of the reporting service: settings, runtime (database, consumers) and HTTP
routes, wired in one place."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cashroom_chassis.runtime import Runtime, create_app
from cashroom_reporting import api
from cashroom_reporting.consumer import ReportingConsumer
from cashroom_reporting.handlers import handle_batch
from cashroom_reporting.rebuild import RebuildResult, rebuild_firm
from cashroom_reporting.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, migrations_dir=MIGRATIONS)
    consumer = ReportingConsumer(
        db=runtime.db,
        dead_letter_producer=None,  # bound by the runtime when it starts
        topics=settings.topics,
        batch_handler=handle_batch,
        group_id=settings.consumer_group,
        max_batch=settings.kafka_max_batch,
        attempts=settings.kafka_handler_attempts,
        retry_backoff_seconds=settings.kafka_retry_backoff_seconds,
    )
    consumer.attach(runtime.broker)
    runtime.consumers.append(consumer)
    app = create_app(runtime, title="Cashroom reporting")

    async def rebuild(firm_id: str) -> RebuildResult:
        return await rebuild_firm(runtime.db, settings, firm_id, topics=settings.topics)

    api.install(app, runtime.db, settings, rebuild)
    return app
