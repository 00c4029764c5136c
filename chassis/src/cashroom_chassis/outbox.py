"""The transactional outbox: events are written in the same transaction as the state change that
implies them, and a relay publishes them to Kafka afterwards.

A crash after the commit and before publishing loses nothing (the rows are still unpublished);
a crash after publishing and before marking publishes again, and consumers drop the duplicate by
event id (inbox). One relay per service publishes at a time (a PostgreSQL advisory lock), in
outbox order, so each firm's events keep their order on the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import uuid
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from opentelemetry import propagate
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import Database
from cashroom_chassis.faults import crash_point
from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_contracts.envelope import Envelope, encode_event

log = logging.getLogger(__name__)


def trace_headers() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``), to travel with the event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


OUTBOX_COLUMNS = ("event_id", "topic", "key", "payload", "headers")
"""The columns ``outbox_rows`` fills, in order (for a ``COPY``)."""

_ADD_MANY = text(
    "INSERT INTO outbox (event_id, topic, key, payload, headers) "
    "SELECT e, t, k, p, CAST(h AS jsonb) FROM unnest(CAST(:event_ids AS uuid[]), "
    "CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:payloads AS bytea[]), "
    "CAST(:headers AS text[])) WITH ORDINALITY AS r(e, t, k, p, h, n) ORDER BY n"
)


def outbox_rows(events: Iterable[Envelope[Any]]) -> list[tuple[uuid.UUID, str, str, bytes, str]]:
    """The outbox rows for ``events``, in ``OUTBOX_COLUMNS`` order: the event id, its topic, the
    firm as the key (a firm's events keep their order), the encoded envelope, and the headers
    that travel with it (the current trace context and the event type) as JSON."""
    context = json.dumps(trace_headers())  # the same for every event staged together
    opening = context[:-1] + (", " if context != "{}" else "")
    return [
        (
            event.id,
            event.data.topic,
            event.firm_id,
            encode_event(event),
            f'{opening}"event_type": {_json_string(event.type)}}}',
        )
        for event in events
    ]


@functools.lru_cache(maxsize=256)
def _json_string(value: str) -> str:
    """``value`` as a JSON string (the few event types, each written once)."""
    return json.dumps(value)


async def add_to_outbox(session: AsyncSession, events: Iterable[Envelope[Any]]) -> int:
    """Stage events for publishing in the caller's transaction, in one statement, in order.
    Returns how many were staged."""
    rows = outbox_rows(events)
    if rows:
        columns = list(zip(*rows, strict=True))
        await session.execute(
            _ADD_MANY,
            {name: list(values) for name, values in zip(_PARAMETERS, columns, strict=True)},
        )
    return len(rows)


_PARAMETERS = ("event_ids", "topics", "keys", "payloads", "headers")
_MARK_PUBLISHED = text(
    "UPDATE outbox SET published_at = now() WHERE id = ANY(CAST(:ids AS bigint[]))"
)


async def send_in_batches(producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
    """Send outbox rows (``topic``, ``key``, ``payload``, ``headers``) and wait for every
    broker acknowledgement, or raise.

    The rows go as one record batch per partition (more when one fills), appended in outbox
    order, so each key's events keep their order. The partition of a key is the producer's
    default one (murmur2 of the key, as ``send`` would choose), worked out once per key and pass:
    a record at a time, ``send`` spent more than the rest of the pass on it."""
    partitions: dict[str, list[int]] = {}
    chosen: dict[tuple[str, bytes], int] = {}
    batches: dict[tuple[str, int], BatchBuilder] = {}
    sends: list[asyncio.Future[Any]] = []
    for row in rows:
        key = row.key.encode()
        partition = chosen.get((row.topic, key))
        if partition is None:
            if row.topic not in partitions:
                partitions[row.topic] = sorted(await producer.partitions_for(row.topic))
            every = partitions[row.topic]
            partition = chosen[(row.topic, key)] = _PARTITIONER(key, every, every)
        headers = [(name, str(value).encode()) for name, value in row.headers.items()]
        batch = batches.get((row.topic, partition))
        if batch is None:
            batch = batches[(row.topic, partition)] = producer.create_batch()
        if batch.append(key=key, value=row.payload, timestamp=None, headers=headers) is None:
            # Full: send it (the partition's batches queue in order) and start the next.
            sends.append(await producer.send_batch(batch, row.topic, partition=partition))
            batch = batches[(row.topic, partition)] = producer.create_batch()
            batch.append(key=key, value=row.payload, timestamp=None, headers=headers)
    for (topic, partition), batch in batches.items():
        sends.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*sends)


_PARTITIONER = DefaultPartitioner()


class OutboxRelay:
    """Publishes unpublished outbox rows in order, marks them sent, and sleeps until woken."""

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer | None = None,
        *,
        batch: int = 1000,
        poll_seconds: float = 0.5,
    ) -> None:
        self._db = db
        self.producer = producer  # may be bound later, before run()
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"outbox:{db.settings.db_schema}".encode())
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch`` rows and mark them. Returns how many were published."""
        async with self._db.unit_of_work() as uow:
            session = uow.session
            locked = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._lock_key}
            )
            if not locked:
                return 0  # another relay of this service is publishing
            rows = (
                await session.execute(
                    select(
                        OUTBOX.c.id,
                        OUTBOX.c.topic,
                        OUTBOX.c.key,
                        OUTBOX.c.payload,
                        OUTBOX.c.headers,
                    )
                    .where(OUTBOX.c.published_at.is_(None))
                    .order_by(OUTBOX.c.id)
                    .limit(self._batch)
                )
            ).all()
            if not rows:
                return 0
            crash_point("outbox.before_publish")
            if self.producer is None:
                raise RuntimeError("OutboxRelay has no producer bound")
            await send_in_batches(self.producer, rows)
            crash_point("outbox.after_publish_before_mark")
            await session.execute(_MARK_PUBLISHED, {"ids": [row.id for row in rows]})
            await uow.commit()
            return len(rows)

    async def run(self) -> None:
        """Publish until cancelled; a broker or database error is logged and retried."""
        while True:
            self._wake.clear()
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
                await asyncio.sleep(self._poll_seconds)
            if published < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)

    async def pending(self) -> int:
        async with self._db.transaction() as session:
            count = await session.scalar(
                select(func.count()).select_from(OUTBOX).where(OUTBOX.c.published_at.is_(None))
            )
            return int(count or 0)
