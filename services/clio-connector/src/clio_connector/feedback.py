"""The ledger's answers to the connector's events (``ledger.events.v1``): for every Clio event it
consumed, the ledger publishes ``PostingApplied``, ``PostingHeld`` or ``PostingRejected`` with
``source.event_id`` = that event's id. The sync-log lines that published it are marked posted,
held or rejected (with the reason). A held posting that posts later is marked posted then; an
answer never goes back from posted or rejected to held.
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.ledger import PostingApplied, PostingHeld, PostingRejected
from clio_connector.db.tables import sync_log
from clio_connector.domain.sync_rules import LedgerStatus

log = logging.getLogger(__name__)


async def on_ledger_event(uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
    data = event.data
    if isinstance(data, PostingApplied):
        status, code, reason = LedgerStatus.POSTED, None, None
    elif isinstance(data, PostingHeld):
        status, code, reason = LedgerStatus.HELD, data.reason_code, data.reason
    elif isinstance(data, PostingRejected):
        status, code, reason = LedgerStatus.REJECTED, data.reason_code, data.reason
    else:
        return  # journals, exceptions, accounts ...: not answers to the connector
    if data.source.event_id is None:
        return
    statement = (
        update(sync_log)
        .where(sync_log.c.firm_id == event.firm_id, sync_log.c.event_id == data.source.event_id)
        .values(
            ledger_status=status.value,
            ledger_reason_code=code,
            ledger_reason=reason,
            ledger_at=event.time,
        )
    )
    if status is LedgerStatus.HELD:
        statement = statement.where(sync_log.c.ledger_status.in_(["pending", "held"]))
    result = await uow.session.execute(statement)
    if not result.rowcount:  # type: ignore[attr-defined]
        log.debug("ledger answer for an event this connector did not publish: %s", event.id)
