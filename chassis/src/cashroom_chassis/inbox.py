"""The inbox: a consumer records each event id in the same transaction as its effects, so an event
delivered twice has its effects once."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.messaging_tables import INBOX


async def first_delivery(session: AsyncSession, event_id: uuid.UUID, topic: str) -> bool:
    """Record ``event_id``; True the first time, False for a duplicate (which must do nothing)."""
    result = await session.execute(
        insert(INBOX)
        .values(event_id=event_id, topic=topic)
        .on_conflict_do_nothing(index_elements=[INBOX.c.event_id])
        .returning(INBOX.c.event_id)
    )
    return result.first() is not None
