"""Consuming events with money-safe settings, written once for every service.

- Offsets are committed only after the handler's transaction commits (``AckPolicy.MANUAL`` and
  an explicit ack; never FastStream's default ack-first / auto-commit), so a crash re-delivers
  and the inbox turns the re-delivery into a no-op.
- ``auto_offset_reset="earliest"``: a new consumer group reads history, it does not skip it.
- A batch of events is handled in one transaction (fast), its event ids recorded in the inbox
  in one statement. If that fails, each event is retried on its own a bounded number of times;
  one that still fails goes to the dead-letter topic with its error, and the partition keeps
  flowing.
- A service hands the consumer either a handler of one event (called once per first delivery)
  or a batch handler (called once per unit of work with the batch's first deliveries, in order;
  on the one-by-one retry path with a batch of one).
- Bytes that break the contract go to the dead-letter topic with the validation error at once.
- An infrastructure failure (database or broker unreachable) is not the event's fault: nothing
  is dead-lettered, the batch is rewound and tried again after a pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import propagate, trace
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from cashroom_chassis.db import Database, UnitOfWork
from cashroom_chassis.faults import crash_point
from cashroom_chassis.inbox import first_deliveries, first_delivery
from cashroom_contracts.envelope import ContractViolation, Envelope, EventPayload, parse_event
from cashroom_contracts.topics import dead_letter_topic

log = logging.getLogger(__name__)
tracer = trace.get_tracer("cashroom.consumer")

EventHandler = Callable[[UnitOfWork, Envelope[EventPayload]], Awaitable[None]]
"""Apply one event's effects inside the given unit of work. Never commit: the chassis does."""

BatchHandler = Callable[[UnitOfWork, Sequence[Envelope[EventPayload]]], Awaitable[None]]
"""Apply several events' effects, in order, inside the given unit of work. Never commit."""

Delivery = tuple[ConsumerRecord[Any, Any], Envelope[EventPayload]]


class InfrastructureError(Exception):
    """The database or broker could not be reached; the event is not at fault."""


def is_infrastructure_failure(error: BaseException) -> bool:
    if isinstance(error, InfrastructureError | OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


async def _raw_bytes(message: Any) -> Any:
    """Decoder that leaves decoding to us: bad bytes must reach the dead-letter logic, not crash."""
    return None


def _unwanted(record: ConsumerRecord[Any, Any], wanted: frozenset[bytes]) -> bool:
    for name, value in record.headers or ():
        if name == "event_type":
            return value not in wanted
    return False


class EventConsumer:
    """Subscribes a handler to topics on a FastStream broker, with the guarantees above."""

    def __init__(
        self,
        *,
        db: Database,
        dead_letter_producer: AIOKafkaProducer | None,
        topics: Sequence[str],
        handler: EventHandler | None = None,
        batch_handler: BatchHandler | None = None,
        event_types: Collection[str] | None = None,
        group_id: str,
        max_batch: int = 500,
        attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        infrastructure_pause_seconds: float = 2.0,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("EventConsumer takes exactly one of handler and batch_handler")
        self._db = db
        self.dead_letter_producer = dead_letter_producer  # may be bound later, before start
        self.topics = tuple(topics)
        self._handler = handler
        self._batch_handler = batch_handler
        # The types the handler acts on (None: every type). A record whose ``event_type``
        # header names another is passed over unparsed: no inbox row, no handler, its offset
        # committed with the batch's. One without the header is parsed as usual.
        self._wanted = (
            frozenset(t.encode() for t in event_types) if event_types is not None else None
        )
        self.passed_over = 0
        self.group_id = group_id
        self._max_batch = max_batch
        self._attempts = attempts
        self._backoff = retry_backoff_seconds
        self._pause = infrastructure_pause_seconds
        self.processed = 0
        self.dead_lettered = 0
        self.lag: dict[tuple[str, int], int] = {}

    def attach(self, broker: KafkaBroker) -> None:
        subscriber = broker.subscriber(
            *self.topics,
            group_id=self.group_id,
            batch=True,
            max_records=self._max_batch,
            batch_timeout_ms=50,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_bytes,
            max_workers=1,
            title=f"{self.group_id}: {', '.join(self.topics)}",
        )
        subscriber(self.on_batch)

    async def on_batch(self, body: Any, message: KafkaMessage) -> None:
        raw = message.raw_message
        records: tuple[ConsumerRecord[Any, Any], ...] = raw if isinstance(raw, tuple) else (raw,)
        try:
            await self.handle_records(records)
        except Exception as error:
            log.error(
                "%s: batch of %d not handled (%s); rewinding to retry after %.1fs",
                self.group_id,
                len(records),
                error,
                self._pause,
                exc_info=not is_infrastructure_failure(error),
            )
            await message.nack()
            await asyncio.sleep(self._pause)
            return
        crash_point("consumer.after_commit_before_ack")
        await message.ack()
        crash_point("consumer.after_ack")
        self._note_lag(message.consumer, records)

    def _note_lag(self, consumer: Any, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Per partition of the batch, the events on the broker beyond the last one handled:
        the high-water mark the broker sent with the fetch, less the next offset to read. It is
        the lag as of the group's latest batch (an idle group has none to catch up)."""
        last: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            last[key] = max(last.get(key, -1), record.offset)
        for (topic, partition), offset in last.items():
            high_water = consumer.highwater(TopicPartition(topic, partition))
            if high_water is not None:
                self.lag[(topic, partition)] = max(0, high_water - (offset + 1))

    async def handle_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle a batch: one transaction for all, else one at a time, else dead letters."""
        valid: list[Delivery] = []
        for record in records:
            if self._wanted is not None and _unwanted(record, self._wanted):
                self.passed_over += 1
                continue
            try:
                valid.append((record, parse_event(record.value or b"")))
            except ContractViolation as violation:
                await self._dead_letter(record, violation.detail, attempts=0)
        if not valid:
            return
        try:
            async with self._db.unit_of_work() as uow:
                await self._apply_batch(uow, valid)
                await uow.commit()
            self.processed += len(valid)
            return
        except Exception as error:
            if is_infrastructure_failure(error):
                raise
            if len(valid) > 1:
                log.info("%s: batch failed (%s); handling events one by one", self.group_id, error)
        for record, event in valid:
            await self._handle_one(record, event)

    async def _handle_one(
        self, record: ConsumerRecord[Any, Any], event: Envelope[EventPayload]
    ) -> None:
        last_error: Exception | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._db.unit_of_work() as uow:
                    await self._apply_batch(uow, [(record, event)])
                    await uow.commit()
                self.processed += 1
                return
            except Exception as error:
                if is_infrastructure_failure(error):
                    raise
                last_error = error
                log.warning(
                    "%s: %s %s failed (attempt %d/%d): %r",
                    self.group_id,
                    event.type,
                    event.id,
                    attempt,
                    self._attempts,
                    error,
                )
                if attempt < self._attempts:
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        await self._dead_letter(
            record, f"{type(last_error).__name__}: {last_error}", self._attempts
        )

    async def _apply_batch(self, uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
        """The deliveries' effects in ``uow``: their ids recorded in the inbox in one statement,
        then the handler for the first deliveries (an id twice in a batch counts once).

        A subclass that overrides ``_apply`` (the older per-event hook, which records its one
        event in the inbox itself) keeps being called once per event."""
        if type(self)._apply is not EventConsumer._apply:
            for record, event in deliveries:
                await self._apply(uow, record, event)
            return
        fresh = await first_deliveries(
            uow.session, [(event.id, record.topic) for record, event in deliveries]
        )
        todo: list[Delivery] = []
        for record, event in deliveries:
            if event.id in fresh:
                fresh.discard(event.id)
                todo.append((record, event))
        if not todo:
            return
        if self._batch_handler is not None:
            with self._batch_span(todo):
                await self._batch_handler(uow, [event for _, event in todo])
            return
        for record, event in todo:
            with self._span(record, event):
                await self._handle(uow, event)

    async def _apply(
        self, uow: UnitOfWork, record: ConsumerRecord[Any, Any], event: Envelope[EventPayload]
    ) -> None:
        """One event, its inbox record included (the per-event hook kept for subclasses)."""
        with self._span(record, event):
            if await first_delivery(uow.session, event.id, record.topic):
                await self._handle(uow, event)

    async def _handle(self, uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
        if self._handler is not None:
            await self._handler(uow, event)
        elif self._batch_handler is not None:
            await self._batch_handler(uow, [event])

    def _span(
        self, record: ConsumerRecord[Any, Any], event: Envelope[EventPayload]
    ) -> AbstractContextManager[trace.Span]:
        """The event's processing span, continuing the trace that staged it."""
        return tracer.start_as_current_span(
            f"{record.topic} process",
            context=propagate.extract(_headers(record)),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group_id,
                "messaging.message.id": str(event.id),
                "cashroom.event_type": event.type,
                "cashroom.firm_id": event.firm_id,
            },
        )

    def _batch_span(self, deliveries: Sequence[Delivery]) -> AbstractContextManager[trace.Span]:
        """One span for a batch handler's call, linked to the trace of each of its events."""
        if len(deliveries) == 1:
            record, event = deliveries[0]
            return self._span(record, event)
        links = [
            trace.Link(context)
            for record, _ in deliveries
            if (context := _span_context(record)) is not None
        ]
        return tracer.start_as_current_span(
            f"{self.group_id} batch process",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.batch.message_count": len(deliveries),
                "messaging.consumer.group.name": self.group_id,
            },
        )

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], error: str, attempts: int
    ) -> None:
        headers = [
            *[(k, v) for k, v in (record.headers or ())],
            ("x-dlq-error", error[:4000].encode()),
            ("x-dlq-attempts", str(attempts).encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-consumer-group", self.group_id.encode()),
            ("x-dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        log.error(
            "%s: dead-lettering %s[%d]@%d: %s",
            self.group_id,
            record.topic,
            record.partition,
            record.offset,
            error,
        )
        if self.dead_letter_producer is None:
            raise RuntimeError("EventConsumer has no dead-letter producer bound")
        await self.dead_letter_producer.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        self.dead_lettered += 1


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


def _span_context(record: ConsumerRecord[Any, Any]) -> trace.SpanContext | None:
    if not record.headers:
        return None
    carrier = _headers(record)
    if "traceparent" not in carrier:
        return None
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return context if context.is_valid else None
