"""Rebuild one firm's read models from the events: drop them, read every topic from its
beginning, replay the firm's events, recompute the aggregates.

1. The firm is marked as rebuilding (its reports answer 503 meanwhile; the live consumer leaves
   its events alone, see ``consumer.py``).
2. Its read models are deleted (configuration stays: the firm profile, the declared chart).
3. Every partition of the topics is read from the beginning, without a consumer group, and the
   firm's events are applied (facts only) in batches; an event id seen twice is applied once,
   and each id goes into the inbox so the live consumer will not apply it again.
4. The aggregates are recomputed from the facts in SQL.
5. Holding the firm's row exclusively (the live consumer waits), the reader catches up with the
   end of every partition, then the firm is released.

An event that cannot be applied (it was dead-lettered when it first came) is skipped and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import Database
from cashroom_chassis.inbox import first_delivery
from cashroom_chassis.settings import ServiceSettings
from cashroom_contracts.envelope import ContractViolation, Envelope, EventPayload, parse_event
from cashroom_contracts.topics import ALL_TOPICS
from cashroom_reporting import chart_of_accounts
from cashroom_reporting.consumer import record_position
from cashroom_reporting.db import recompute
from cashroom_reporting.db.tables import READ_MODEL_TABLES, firms, replay_seen
from cashroom_reporting.handlers import apply_event

log = logging.getLogger(__name__)


@dataclass
class RebuildResult:
    firm_id: str
    events_applied: int = 0
    events_skipped: int = 0
    """Events of the firm that could not be applied (bad bytes or a failing handler)."""
    records_read: int = 0


class Replay:
    def __init__(
        self, db: Database, settings: ServiceSettings, firm_id: str, topics: Sequence[str]
    ) -> None:
        self.db = db
        self.settings = settings
        self.firm_id = firm_id
        self.topics = tuple(topics)
        self.result = RebuildResult(firm_id)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{settings.service_name}-rebuild",
            max_poll_records=2000,
        )
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.topics()  # fetch the cluster's metadata
        for topic in self.topics:
            found = self.consumer.partitions_for_topic(topic) or set()
            self.partitions += [TopicPartition(topic, p) for p in sorted(found)]
        self.consumer.assign(self.partitions)
        if self.partitions:
            await self.consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def _at_end(self) -> bool:
        ends = await self.consumer.end_offsets(self.partitions)
        for partition in self.partitions:
            if await self.consumer.position(partition) < ends[partition]:
                return False
        return True

    async def read_to_end(self, session: AsyncSession | None) -> None:
        """Apply the firm's events until every partition is read to its end and a poll brings
        nothing more; in ``session`` if given, else a transaction per batch."""
        quiet = 0
        while quiet < 2:
            batch = await self.consumer.getmany(timeout_ms=300, max_records=2000)
            records = [r for partition in sorted(batch) for r in batch[partition]]
            if records:
                quiet = 0
                await self._apply_batch(session, records)
            elif await self._at_end():
                quiet += 1

    async def _apply_batch(
        self, session: AsyncSession | None, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> None:
        self.result.records_read += len(records)
        mine: list[tuple[ConsumerRecord[Any, Any], Envelope[EventPayload]]] = []
        for record in records:
            if record.key is not None and record.key != self.firm_id.encode():
                continue
            try:
                event = parse_event(record.value or b"")
            except ContractViolation:
                continue  # not an event at all: it went to the dead-letter topic
            if event.firm_id == self.firm_id:
                mine.append((record, event))
        if not mine:
            return
        if session is not None:
            for record, event in mine:
                self._count(await self._apply_one(session, record, event, savepoint=True))
            return
        try:
            outcomes = []
            async with self.db.transaction() as batch_session:
                for record, event in mine:
                    outcomes.append(
                        await self._apply_one(batch_session, record, event, savepoint=False)
                    )
            for outcome in outcomes:
                self._count(outcome)
            return
        except Exception as error:
            log.info("rebuild of %s: batch failed (%s); one event at a time", self.firm_id, error)
        for record, event in mine:
            async with self.db.transaction() as one:
                outcome = await self._apply_one(one, record, event, savepoint=True)
            self._count(outcome)

    def _count(self, outcome: bool | None) -> None:
        if outcome is True:
            self.result.events_applied += 1
        elif outcome is False:
            self.result.events_skipped += 1

    async def _apply_one(
        self,
        session: AsyncSession,
        record: ConsumerRecord[Any, Any],
        event: Envelope[EventPayload],
        *,
        savepoint: bool,
    ) -> bool | None:
        """True: applied; False: could not be applied (skipped); None: a duplicate."""
        seen = await session.execute(
            insert(replay_seen)
            .values(firm_id=self.firm_id, event_id=event.id)
            .on_conflict_do_nothing()
            .returning(replay_seen.c.event_id)
        )
        if seen.first() is None:
            return None
        await first_delivery(session, event.id, record.topic)  # the live consumer will skip it
        await record_position(
            session, self.firm_id, record.topic, record.partition, record.offset, event
        )
        if not savepoint:
            await apply_event(session, event, aggregates=False)
            return True
        try:
            async with session.begin_nested():
                await apply_event(session, event, aggregates=False)
        except Exception as error:
            log.warning(
                "rebuild of %s: %s %s skipped: %r", self.firm_id, event.type, event.id, error
            )
            return False
        return True


async def rebuild_firm(
    db: Database,
    settings: ServiceSettings,
    firm_id: str,
    *,
    topics: Sequence[str] = ALL_TOPICS,
) -> RebuildResult:
    async with db.transaction() as session:
        await session.execute(insert(firms).values(firm_id=firm_id).on_conflict_do_nothing())
        await session.execute(
            text(
                "UPDATE firms SET rebuilding = true, rebuild_started_at = now(), "
                "rebuild_finished_at = NULL, rebuild_error = NULL, books_currency = NULL "
                "WHERE firm_id = :f"
            ),
            {"f": firm_id},
        )
    replay = Replay(db, settings, firm_id, topics)
    try:
        async with db.transaction() as session:
            for table in (*READ_MODEL_TABLES, replay_seen):
                await session.execute(table.delete().where(table.c.firm_id == firm_id))
        await replay.start()
        await replay.read_to_end(None)
        async with db.transaction() as session:
            await session.execute(
                text("SELECT 1 FROM firms WHERE firm_id = :f FOR UPDATE"), {"f": firm_id}
            )
            await replay.read_to_end(session)
            tracked = await chart_of_accounts.tracked_codes(session, firm_id)
            await recompute.everything(session, firm_id, sorted(tracked))
            await session.execute(replay_seen.delete().where(replay_seen.c.firm_id == firm_id))
            await session.execute(
                text(
                    "UPDATE firms SET rebuilding = false, rebuild_finished_at = now(), "
                    "rebuild_events = :n WHERE firm_id = :f"
                ),
                {"f": firm_id, "n": replay.result.events_applied},
            )
    except BaseException as error:
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE firms SET rebuild_error = :e WHERE firm_id = :f"),
                {"f": firm_id, "e": f"{type(error).__name__}: {error}"},
            )
        raise
    finally:
        await replay.stop()
    return replay.result
