"""Helpers for the ledger's service tests: the running service, HTTP clients with a token for a
firm, producing Clio events to ``clio.events.v1``, and reading what the ledger staged for
``ledger.events.v1`` (its outbox: the same transaction as the postings)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import text

from cashroom_chassis.auth import Role, issue_token
from cashroom_chassis.db import Database
from cashroom_chassis.kafka import ensure_topics
from cashroom_chassis.testing import Infrastructure, eventually
from cashroom_contracts.envelope import Envelope, EventPayload, encode_event, new_event, parse_event
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.topics import CLIO_EVENTS, RECONCILIATION_EVENTS
from cashroom_ledger.app import build
from cashroom_ledger.settings import Settings

KEY = "ledger-test-key"
ANSWERS = (contract.PostingApplied, contract.PostingHeld, contract.PostingRejected)


@dataclass
class Service:
    app: FastAPI
    db: Database
    settings: Settings

    def client(
        self, firm: str, role: Role = Role.ADMIN, subject: str = "cashier"
    ) -> httpx.AsyncClient:
        token = issue_token(KEY, firm_id=firm, role=role, subject=subject)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://ledger",
            headers={"Authorization": f"Bearer {token}"},
        )


@contextlib.asynccontextmanager
async def running_service(infrastructure: Infrastructure) -> AsyncIterator[Service]:
    await ensure_topics(infrastructure.kafka_bootstrap_servers)
    unique = uuid.uuid4().hex[:8]
    settings = Settings(
        service_name=f"ledger_{unique}",
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        kafka_enable_idempotence=infrastructure.kafka_enable_idempotence,
        kafka_consumer_group=f"ledger-test-{unique}",
        kafka_max_batch=100,
        kafka_retry_backoff_seconds=0.05,
        outbox_poll_seconds=0.2,
        auth_signing_key=KEY,
    )
    await start_at_the_end(settings)
    app = build(settings)
    runtime = app.state.runtime
    await runtime.start()
    try:
        yield Service(app, runtime.db, settings)
    finally:
        await runtime.stop()


async def start_at_the_end(settings: Settings) -> None:
    """Commit the group's offsets at the end of the topics it consumes: other packages' tests
    share them, and their history (firms this ledger never set up) is none of these tests'
    business."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = []
        for topic in (CLIO_EVENTS, RECONCILIATION_EVENTS):
            found = consumer.partitions_for_topic(topic)
            if not found:
                await consumer._client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


def firm_id() -> str:
    return f"firm-{uuid.uuid4().hex[:10]}"


def envelopes(firm: str, *events: ClioEvent | EventPayload) -> list[Envelope[EventPayload]]:
    return [new_event(event, firm_id=firm, source="test/clio") for event in events]


async def produce(
    bootstrap: str, items: Sequence[Envelope[Any] | bytes], *, firm: str, topic: str = CLIO_EVENTS
) -> None:
    """Send events (or raw bytes) to a topic, keyed by the firm, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for item in items:
            value = item if isinstance(item, bytes) else encode_event(item)
            await producer.send_and_wait(topic, value=value, key=firm.encode())
    finally:
        await producer.stop()


async def send(service: Service, firm: str, items: Sequence[Envelope[Any] | bytes]) -> None:
    await produce(service.settings.kafka_bootstrap_servers, items, firm=firm)


async def send_reconciliation(service: Service, firm: str, items: Sequence[Envelope[Any]]) -> None:
    await produce(
        service.settings.kafka_bootstrap_servers, items, firm=firm, topic=RECONCILIATION_EVENTS
    )


async def staged(service: Service, firm: str) -> list[Envelope[EventPayload]]:
    """Every ledger event staged for the firm, in order."""
    async with service.db.transaction() as session:
        rows = await session.execute(
            text("SELECT payload FROM outbox WHERE key = :f ORDER BY id"), {"f": firm}
        )
        return [parse_event(bytes(row.payload)) for row in rows]


async def answers_to(
    service: Service, firm: str, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[contract.LedgerEvent]]:
    """Each consumed event's answers (applied, held, rejected), in the order they were staged."""
    found: dict[uuid.UUID, list[contract.LedgerEvent]] = {i: [] for i in event_ids}
    for envelope in await staged(service, firm):
        data = envelope.data
        if isinstance(data, ANSWERS) and data.source.event_id in found:
            found[data.source.event_id].append(data)
    return found


async def until_answered(
    service: Service, firm: str, sent: Sequence[Envelope[Any]], within: float = 60
) -> dict[uuid.UUID, list[contract.LedgerEvent]]:
    """Wait until the ledger has answered every event sent; their answers."""
    ids = [e.id for e in sent]

    async def all_answered() -> bool:
        answers = await answers_to(service, firm, ids)
        return all(answers.values())

    await eventually(all_answered, within=within)
    return await answers_to(service, firm, ids)


async def set_up(service: Service, firm: str, jurisdiction: str = "ew") -> None:
    async with service.client(firm) as client:
        response = await client.put(
            f"/firms/{firm}/setup", json={"jurisdiction": jurisdiction, "firm_name": "Byrne & Co"}
        )
    assert response.status_code == 201, response.text
