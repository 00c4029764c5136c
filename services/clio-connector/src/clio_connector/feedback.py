"""The ledger's answers to the connector's events (``ledger.events.v1``): for every Clio event it
consumed, the ledger publishes ``PostingApplied``, ``PostingHeld`` or ``PostingRejected`` with
``source.event_id`` = that event's id. The sync-log lines that published it are marked posted,
held or rejected (with the reason). A held posting that posts later is marked posted then; an
answer never goes back from posted or rejected to held.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from cashroom_chassis import statistics
from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.ledger import PostingApplied, PostingHeld, PostingRejected
from clio_connector.domain.sync_rules import LedgerStatus

ANSWERS = (PostingApplied.event_type, PostingHeld.event_type, PostingRejected.event_type)
"""The ledger's events the connector reads (journals and the rest are passed over unread)."""

EventKey = tuple[str, uuid.UUID]  # firm, the id of the event the ledger answered


@dataclass(frozen=True, slots=True)
class Answer:
    """The ledger's answer to one published event."""

    status: LedgerStatus
    code: str | None
    reason: str | None
    at: datetime


def answer_of(data: EventPayload, at: datetime) -> Answer | None:
    if isinstance(data, PostingApplied):
        return Answer(LedgerStatus.POSTED, None, None, at)
    if isinstance(data, PostingHeld):
        return Answer(LedgerStatus.HELD, data.reason_code, data.reason, at)
    if isinstance(data, PostingRejected):
        return Answer(LedgerStatus.REJECTED, data.reason_code, data.reason, at)
    return None  # journals, exceptions, accounts ...: not answers to the connector


def last_answers(answers: Iterable[tuple[EventKey, Answer]]) -> dict[EventKey, Answer]:
    """What a run of answers leaves on each event's lines, in the order they came: the last
    posted or rejected one if any (a later hold does not undo it), else the last hold (which
    applies only to lines still pending or held)."""
    final: dict[EventKey, Answer] = {}
    for key, answer in answers:
        kept = final.get(key)
        if answer.status is LedgerStatus.HELD and kept and kept.status is not LedgerStatus.HELD:
            continue
        final[key] = answer
    return final


_MARK = """
UPDATE sync_log AS l SET ledger_status = a.status, ledger_reason_code = a.code,
       ledger_reason = a.reason, ledger_at = a.at
  FROM unnest(CAST(:firm_id AS text[]), CAST(:event_id AS uuid[]), CAST(:status AS text[]),
              CAST(:code AS text[]), CAST(:reason AS text[]), CAST(:at AS timestamptz[]))
       AS a(firm_id, event_id, status, code, reason, at)
 WHERE l.firm_id = a.firm_id AND l.event_id = a.event_id
"""
MARK_ANSWERED = text(_MARK)
MARK_HELD = text(_MARK + " AND l.ledger_status IN ('pending', 'held')")


async def on_ledger_events(uow: UnitOfWork, events: Sequence[Envelope[EventPayload]]) -> None:
    """A batch of the ledger's events: the answers among them mark their events' log lines, in
    two statements (holds, which never overrule a posting or a rejection, and the rest)."""
    answers = []
    for event in events:
        answer = answer_of(event.data, event.time)
        source = getattr(event.data, "source", None)
        if answer is not None and source is not None and source.event_id is not None:
            answers.append(((event.firm_id, source.event_id), answer))
    final = last_answers(answers)
    if final:  # the marks join the log by event id: planned on current statistics
        await statistics.keep_current(uow.session, "sync_log")
    for statement, held in ((MARK_ANSWERED, False), (MARK_HELD, True)):
        chosen = sorted(
            (key, a) for key, a in final.items() if (a.status is LedgerStatus.HELD) is held
        )
        if not chosen:
            continue
        await uow.session.execute(
            statement,
            {
                "firm_id": [firm for (firm, _), _ in chosen],
                "event_id": [event_id for (_, event_id), _ in chosen],
                "status": [a.status.value for _, a in chosen],
                "code": [a.code for _, a in chosen],
                "reason": [a.reason for _, a in chosen],
                "at": [a.at for _, a in chosen],
            },
        )
