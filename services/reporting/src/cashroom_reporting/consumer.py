"""The chassis's consumer, plus two things reporting needs around each event:

- **positions**: the offset of each firm's last event per topic partition, and its time, recorded
  in the same transaction as the event's effects, so every report can say which events it
  reflects;
- **the rebuild gate**: while a firm's read models are being rebuilt, the live consumer leaves
  that firm's events to the rebuild (which reads every topic to its end before it lets go).
  The gate is the firm's row, share-locked before the inbox is touched; the rebuild holds it
  exclusively for its final catch-up, so no event falls between the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.consumer import Delivery, EventConsumer
from cashroom_chassis.db import UnitOfWork
from cashroom_reporting.db.tables import firms, positions


async def record_position(
    session: AsyncSession, firm_id: str, topic: str, partition: int, offset: int, event: Any
) -> None:
    statement = insert(positions).values(
        firm_id=firm_id, topic=topic, partition=partition, offset=offset, event_time=event.time
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["firm_id", "topic", "partition"],
            set_={
                "offset": text('GREATEST(positions."offset", EXCLUDED."offset")'),
                "event_time": text("GREATEST(positions.event_time, EXCLUDED.event_time)"),
            },
        )
    )


PositionKey = tuple[str, str, int]  # firm, topic, partition

_RECORD_POSITIONS = text("""
INSERT INTO positions AS p (firm_id, topic, partition, "offset", event_time)
SELECT * FROM unnest(CAST(:firm_id AS text[]), CAST(:topic AS text[]), CAST(:partition AS int[]),
                     CAST(:offset AS bigint[]), CAST(:event_time AS timestamptz[]))
ON CONFLICT (firm_id, topic, partition) DO UPDATE SET
    "offset" = GREATEST(p."offset", EXCLUDED."offset"),
    event_time = GREATEST(p.event_time, EXCLUDED.event_time)
""")


async def record_positions(
    session: AsyncSession, positions: dict[PositionKey, tuple[int, datetime]]
) -> None:
    """Several positions at once: (firm, topic, partition) → (last offset, latest event time)."""
    if not positions:
        return
    keys = sorted(positions)
    await session.execute(
        _RECORD_POSITIONS,
        {
            "firm_id": [firm for firm, _, _ in keys],
            "topic": [topic for _, topic, _ in keys],
            "partition": [partition for _, _, partition in keys],
            "offset": [positions[key][0] for key in keys],
            "event_time": [positions[key][1] for key in keys],
        },
    )


async def firm_is_rebuilding(session: AsyncSession, firm_id: str) -> bool:
    """Make sure the firm has its row, share-lock it for this transaction, and say whether a
    rebuild has the firm."""
    await session.execute(insert(firms).values(firm_id=firm_id).on_conflict_do_nothing())
    rebuilding = await session.scalar(
        text("SELECT rebuilding FROM firms WHERE firm_id = :f FOR SHARE"), {"f": firm_id}
    )
    return bool(rebuilding)


class ReportingConsumer(EventConsumer):
    """An ``EventConsumer`` whose every event also records its position, and which skips the
    events of a firm that is being rebuilt. Each unit of work takes the gates of its firms, then
    records the rest of its events in the inbox (one statement) and hands the first deliveries
    to the handler (the chassis's ``_apply_batch``), then records their positions (one
    statement)."""

    async def _apply_batch(self, uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
        rebuilding: set[str] = set()
        for firm in sorted({event.firm_id for _, event in deliveries}):
            if await firm_is_rebuilding(uow.session, firm):
                rebuilding.add(firm)  # the rebuild reads this firm's events from the topic itself
        kept = [(record, event) for record, event in deliveries if event.firm_id not in rebuilding]
        if not kept:
            return
        await super()._apply_batch(uow, kept)
        positions: dict[PositionKey, tuple[int, datetime]] = {}
        for record, event in kept:
            key = (event.firm_id, record.topic, record.partition)
            offset, time = positions.get(key, (record.offset, event.time))
            positions[key] = (max(offset, record.offset), max(time, event.time))
        await record_positions(uow.session, positions)
