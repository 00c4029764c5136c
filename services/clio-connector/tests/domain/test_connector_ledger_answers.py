"""The ledger's answers to a batch of the connector's events: what each event's log lines end
up saying, whatever order the answers came in within the batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clio_connector.domain.sync_rules import LedgerStatus
from clio_connector.feedback import Answer, last_answers

FIRM = "firm-a"
FIRST, SECOND = uuid.UUID(int=1), uuid.UUID(int=2)


def answer(status: LedgerStatus, minute: int) -> Answer:
    code = "client_ledger_overdrawn" if status is LedgerStatus.HELD else None
    return Answer(status, code, None, datetime(2026, 12, 4, 9, minute, tzinfo=UTC))


def test_a_posting_after_a_hold_stands_and_a_hold_after_a_posting_does_not_undo_it() -> None:
    answers = [
        ((FIRM, FIRST), answer(LedgerStatus.HELD, 1)),
        ((FIRM, SECOND), answer(LedgerStatus.POSTED, 2)),
        ((FIRM, FIRST), answer(LedgerStatus.POSTED, 3)),
        ((FIRM, SECOND), answer(LedgerStatus.HELD, 4)),
    ]
    assert last_answers(answers) == {
        (FIRM, FIRST): answer(LedgerStatus.POSTED, 3),
        (FIRM, SECOND): answer(LedgerStatus.POSTED, 2),
    }


def test_the_last_hold_stands_when_nothing_posted_or_rejected_the_event() -> None:
    answers = [
        ((FIRM, FIRST), answer(LedgerStatus.HELD, 1)),
        ((FIRM, FIRST), answer(LedgerStatus.HELD, 5)),
        ((FIRM, SECOND), answer(LedgerStatus.REJECTED, 2)),
    ]
    assert last_answers(answers) == {
        (FIRM, FIRST): answer(LedgerStatus.HELD, 5),
        (FIRM, SECOND): answer(LedgerStatus.REJECTED, 2),
    }
