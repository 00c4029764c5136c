"""A minimal service built on the chassis, as the chassis tests' subject.

Its handler records each client-money receipt as an ``effects`` row (an effect that must happen
exactly once) and refuses receipts whose payer is ``always-fail``. Run as a process:

    python sample_service.py relay|consume   (settings from the environment)
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Uuid, func, select

from cashroom_chassis.consumer import EventConsumer
from cashroom_chassis.db import Database, UnitOfWork
from cashroom_chassis.kafka import create_producer
from cashroom_chassis.messaging_tables import add_messaging_tables
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.outbox import OutboxRelay
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.clio import ClientMoneyReceived

MIGRATIONS = Path(__file__).parent / "sample_migrations"


def sample_settings(
    infrastructure: Infrastructure, unique_name: str, **extra: Any
) -> ServiceSettings:
    """The sample service's settings against the tests' PostgreSQL and broker, in a schema of
    its own (``extra``: any other setting, e.g. ``auth_signing_key``)."""
    return ServiceSettings(
        service_name=f"sample_{unique_name}",
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        kafka_enable_idempotence=infrastructure.kafka_enable_idempotence,
        **extra,
    )


metadata = MetaData()
add_messaging_tables(metadata)
effects = Table(
    "effects",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("firm_id", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)


class HandlerRefused(Exception):
    pass


async def handle(uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
    data = event.data
    assert isinstance(data, ClientMoneyReceived)
    if data.payer == "always-fail":
        raise HandlerRefused("this handler refuses payer always-fail")
    await uow.session.execute(
        effects.insert().values(
            event_id=event.id, firm_id=event.firm_id, amount_minor=data.amount.amount_minor
        )
    )


async def migrate(settings: ServiceSettings) -> None:
    await upgrade(settings, MIGRATIONS)


async def effect_count(db: Database, firm_id: str) -> int:
    async with db.transaction() as session:
        value = await session.scalar(
            select(func.count()).select_from(effects).where(effects.c.firm_id == firm_id)
        )
    return int(value or 0)


async def run_relay(settings: ServiceSettings) -> None:
    db = Database(settings)
    producer = create_producer(settings)
    await producer.start()
    try:
        relay = OutboxRelay(db, producer, poll_seconds=0.1)
        while await relay.publish_pending():
            pass
    finally:
        await producer.stop()
        await db.dispose()


async def run_consumer(settings: ServiceSettings, topic: str, seconds: float) -> None:
    db = Database(settings)
    producer = create_producer(settings)
    broker = KafkaBroker(settings.kafka_bootstrap_servers, enable_idempotence=False)
    consumer = EventConsumer(
        db=db,
        dead_letter_producer=producer,
        topics=[topic],
        handler=handle,
        group_id=settings.consumer_group,
        max_batch=settings.kafka_max_batch,
        attempts=settings.kafka_handler_attempts,
        retry_backoff_seconds=0.01,
    )
    consumer.attach(broker)
    await producer.start()
    await broker.start()
    try:
        await asyncio.sleep(seconds)
    finally:
        await broker.stop()
        await producer.stop()
        await db.dispose()


if __name__ == "__main__":
    settings = ServiceSettings()
    if sys.argv[1] == "relay":
        asyncio.run(run_relay(settings))
    else:
        asyncio.run(run_consumer(settings, os.environ["TEST_TOPIC"], float(sys.argv[2])))
