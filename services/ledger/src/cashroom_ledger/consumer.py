"""Consuming ``clio.events.v1`` and ``reconciliation.events.v1`` a batch at a time.

The chassis's ``EventConsumer`` hands a batch to one unit of work and calls a handler per event
inside it, after recording the event in the inbox (one statement per event). The ledger needs
the batch as a whole: to prefetch what all its events name in a dozen queries, decide each event
in memory, and write the postings in bulk at the end. ``LedgerConsumer`` therefore replaces the
batch path only:

1. the batch's event ids go into the inbox in one statement; only first deliveries go on (an id
   twice in the same batch counts once);
2. ``handle_envelopes`` runs them through the books and stages the ledger events in the outbox;
3. one commit; the chassis acknowledges the offsets after it.

If the batch fails, the chassis's own path takes over unchanged: each event alone, retried, then
dead-lettered — through ``handle``, which is ``handle_envelopes`` with a batch of one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry import propagate, trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.consumer import EventConsumer, is_infrastructure_failure
from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import ContractViolation, Envelope, EventPayload, parse_event
from cashroom_ledger.db.books import Books
from cashroom_ledger.handlers import handle_batch

log = logging.getLogger(__name__)
tracer = trace.get_tracer("cashroom.ledger.consumer")


async def handle_envelopes(uow: UnitOfWork, envelopes: Sequence[Envelope[EventPayload]]) -> None:
    """Apply events in the unit of work: the books in one pass, the ledger events they imply
    staged in the outbox."""
    if not envelopes:
        return
    await uow.session.run_sync(lambda session: handle_batch(Books(session), envelopes))


async def handle(uow: UnitOfWork, envelope: Envelope[EventPayload]) -> None:
    """The chassis-shaped handler (one event; the inbox is the chassis's)."""
    await handle_envelopes(uow, [envelope])


async def first_deliveries(
    session: AsyncSession, deliveries: Sequence[tuple[uuid.UUID, str]]
) -> set[uuid.UUID]:
    """Record the event ids in the inbox in one statement; the ids seen for the first time."""
    result = await session.execute(
        text(
            "INSERT INTO inbox (event_id, topic) SELECT * FROM unnest("
            "CAST(:ids AS uuid[]), CAST(:topics AS text[])) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        ),
        {"ids": [d[0] for d in deliveries], "topics": [d[1] for d in deliveries]},
    )
    return {row[0] for row in result}


class LedgerConsumer(EventConsumer):
    """The chassis's consumer with a batch path that hands the whole batch to the books."""

    async def handle_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        valid: list[tuple[ConsumerRecord[Any, Any], Envelope[EventPayload]]] = []
        for record in records:
            try:
                valid.append((record, parse_event(record.value or b"")))
            except ContractViolation as violation:
                await self._dead_letter(record, violation.detail, attempts=0)
        if not valid:
            return
        try:
            await self._handle_batch(valid)
            self.processed += len(valid)
            return
        except Exception as error:
            if is_infrastructure_failure(error):
                raise
            log.info("%s: batch failed (%s); handling events one by one", self.group_id, error)
        for record, event in valid:
            await self._handle_one(record, event)

    async def _handle_batch(
        self, valid: Sequence[tuple[ConsumerRecord[Any, Any], Envelope[EventPayload]]]
    ) -> None:
        links = [
            trace.Link(span_context)
            for record, _ in valid
            if (span_context := _span_context(record)) is not None
        ]
        with tracer.start_as_current_span(
            "ledger batch process",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.batch.message_count": len(valid),
                "messaging.consumer.group.name": self.group_id,
            },
        ):
            async with self._db.unit_of_work() as uow:
                fresh = await first_deliveries(
                    uow.session, [(event.id, record.topic) for record, event in valid]
                )
                envelopes = []
                for _, event in valid:
                    if event.id in fresh:
                        fresh.discard(event.id)  # the same id twice in a batch counts once
                        envelopes.append(event)
                await handle_envelopes(uow, envelopes)
                await uow.commit()


def _span_context(record: ConsumerRecord[Any, Any]) -> trace.SpanContext | None:
    if not record.headers:
        return None
    carrier = {k: v.decode(errors="replace") for k, v in record.headers}
    if "traceparent" not in carrier:
        return None
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return context if context.is_valid else None
