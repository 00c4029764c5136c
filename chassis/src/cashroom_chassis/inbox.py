"""The inbox: a consumer records each event id in the same transaction as its effects, so an event
delivered twice has its effects once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.messaging_tables import INBOX

_RECORD_MANY = text(
    "INSERT INTO inbox (event_id, topic) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:topics AS text[])) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


async def first_delivery(session: AsyncSession, event_id: uuid.UUID, topic: str) -> bool:
    """Record ``event_id``; True the first time, False for a duplicate (which must do nothing)."""
    result = await session.execute(
        insert(INBOX)
        .values(event_id=event_id, topic=topic)
        .on_conflict_do_nothing(index_elements=[INBOX.c.event_id])
        .returning(INBOX.c.event_id)
    )
    return result.first() is not None


async def first_deliveries(
    session: AsyncSession, deliveries: Sequence[tuple[uuid.UUID, str]]
) -> set[uuid.UUID]:
    """Record many ``(event_id, topic)`` in one statement; the ids seen for the first time.

    An id twice in ``deliveries`` is returned once: the caller handles it once. As with
    ``first_delivery``, a concurrent transaction recording the same id makes this one wait for
    it, then treat the id as a duplicate."""
    if not deliveries:
        return set()
    result = await session.execute(
        _RECORD_MANY,
        {"ids": [d[0] for d in deliveries], "topics": [d[1] for d in deliveries]},
    )
    return {row[0] for row in result}
