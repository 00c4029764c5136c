"""The running parts of one service process: database, outbox relay, Kafka consumers and the
HTTP API, started and stopped together by the FastAPI lifespan.

A service's ``__main__`` builds its settings, its handlers and its routes, then calls
``serve(runtime, app)``. Health (``/health``) says the process is alive; readiness (``/ready``)
says the database answers and the consumers and relay are running.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from sqlalchemy import text

from cashroom_chassis import bad_values, migrations
from cashroom_chassis.consumer import BatchHandler, EventConsumer, EventHandler
from cashroom_chassis.db import Database
from cashroom_chassis.kafka import create_producer
from cashroom_chassis.nul_guard import RefuseNulCharacters
from cashroom_chassis.outbox import OutboxRelay
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.telemetry import instrument_app, setup_tracing

log = logging.getLogger(__name__)


class Runtime:
    """Everything one service process runs besides its routes."""

    def __init__(self, settings: ServiceSettings, *, migrations_dir: Path | None = None) -> None:
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.db = Database(settings)
        self.relay = OutboxRelay(
            self.db, batch=settings.outbox_batch, poll_seconds=settings.outbox_poll_seconds
        )
        self._producer: AIOKafkaProducer | None = None  # made in start(): it needs the loop
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            enable_idempotence=settings.kafka_enable_idempotence,
            client_id=f"{settings.service_name}-consumer",
            graceful_timeout=15.0,
            logger=logging.getLogger(f"{settings.service_name}.broker"),
        )
        self.consumers: list[EventConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    def consume(
        self,
        topics: Sequence[str],
        handler: EventHandler | None = None,
        *,
        batch_handler: BatchHandler | None = None,
        event_types: Collection[str] | None = None,
        group_id: str | None = None,
    ) -> EventConsumer:
        """Consume ``topics`` with one handler per event, or one per batch (``batch_handler``:
        a batch's first deliveries, in order, in one unit of work). With ``event_types``, events
        of other types are passed over unread."""
        consumer = EventConsumer(
            db=self.db,
            dead_letter_producer=self._producer,
            topics=topics,
            handler=handler,
            batch_handler=batch_handler,
            event_types=event_types,
            group_id=group_id or self.settings.consumer_group,
            max_batch=self.settings.kafka_max_batch,
            attempts=self.settings.kafka_handler_attempts,
            retry_backoff_seconds=self.settings.kafka_retry_backoff_seconds,
        )
        consumer.attach(self.broker)
        self.consumers.append(consumer)
        return consumer

    async def start(self) -> None:
        setup_tracing(self.settings.service_name, self.settings.otel_exporter_otlp_endpoint)
        if self.migrations_dir is not None:
            await migrations.upgrade(self.settings, self.migrations_dir)
        self._producer = create_producer(self.settings)
        await self._producer.start()
        self.relay.producer = self._producer
        for consumer in self.consumers:
            consumer.dead_letter_producer = self._producer
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.consumers:
            await self.broker.start()
        self.started = True

    async def stop(self) -> None:
        self.started = False
        if self.consumers:
            await self.broker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        await self.db.dispose()

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"started": self.started}
        try:
            async with self.db.transaction() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"error: {error}"
        checks["relay"] = "ok" if any(not t.done() for t in self._tasks) else "stopped"
        checks["consumers"] = [
            {
                "group": c.group_id,
                "topics": list(c.topics),
                "processed": c.processed,
                "dead_lettered": c.dead_lettered,
                "lag": sum(c.lag.values()),
            }
            for c in self.consumers
        ]
        return checks


def freeze_what_starting_made() -> None:
    """Put the objects made while starting (modules, the app, its routes, pools) out of the
    garbage collector's sight: they live as long as the process, and without this every full
    collection walks all of them again. A request that makes many objects (a report page of
    1,000 rows) sets off a full collection every few requests; in the reporting service each
    took ~70 ms (a tail of slow requests) and takes ~2 ms once the start-up objects are frozen.
    Called once the service has started; objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


def create_app(runtime: Runtime, *, title: str, version: str = "0.1.0") -> FastAPI:
    """A FastAPI app whose lifespan starts and stops the runtime, with health and readiness."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        freeze_what_starting_made()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.add_middleware(RefuseNulCharacters)
    bad_values.install(app)
    app.state.runtime = runtime
    app.state.auth_signing_key = runtime.settings.auth_signing_key.get_secret_value()

    @app.get("/health", tags=["operations"], summary="The process is alive")
    async def health() -> dict[str, str | int]:
        # The pid lets whoever started the process tell it from another one on the same port.
        return {"status": "ok", "service": runtime.settings.service_name, "pid": os.getpid()}

    @app.get("/ready", tags=["operations"], summary="Database reachable, consumers running")
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = checks["started"] and checks["database"] == "ok" and checks["relay"] == "ok"
        return JSONResponse({"ready": ok, **checks}, status_code=200 if ok else 503)

    instrument_app(app, runtime.db.engine)
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run the service until SIGINT/SIGTERM, then stop everything cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="info")
