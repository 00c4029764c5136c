"""Events the reconciliation service publishes on ``reconciliation.events.v1``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from cashroom_contracts.envelope import EventPayload, register
from cashroom_contracts.events.common import AccountKind, Money
from cashroom_contracts.topics import RECONCILIATION_EVENTS


class ReconciliationEvent(EventPayload):
    topic = RECONCILIATION_EVENTS


@register
class StatementImported(ReconciliationEvent):
    """A bank statement was imported (new lines only; re-imported lines are not counted twice)."""

    event_type = "reconciliation.statement.imported"
    statement_id: uuid.UUID
    bank_account_id: int
    account_kind: AccountKind
    file_format: str = Field(description="camt053, ofx, mt940 or csv")
    period_start: date
    period_end: date
    opening_balance: Money | None = Field(
        description="As the bank states it; carried forward from the account's history where "
        "the format states none (OFX has no opening, a CSV may have neither)."
    )
    closing_balance: Money | None
    lines_new: int
    lines_already_known: int


@register
class ReconciliationSigned(ReconciliationEvent):
    """A reconciliation with no difference was signed; the period through ``as_of`` is locked."""

    event_type = "reconciliation.signed"
    reconciliation_id: uuid.UUID
    bank_account_id: int
    account_kind: AccountKind
    as_of: date
    statement_balance: Money
    unpresented_payments: Money
    outstanding_lodgements: Money
    adjusted_bank_balance: Money
    cashbook_balance: Money
    client_ledgers_total: Money | None = Field(
        default=None, description="The three-way figure, for client accounts."
    )
    signed_by: str
    signed_at: datetime


class BreachKind(StrEnum):
    LATE_RECONCILIATION = "late_reconciliation"
    THREE_WAY_DIFFERENCE = "three_way_difference"
    STATEMENT_CONTINUITY_BREAK = "statement_continuity_break"  # a gap or change between statements


@register
class BreachRaised(ReconciliationEvent):
    """A regulatory breach found by reconciliation (e.g. a client account not reconciled in time)."""

    event_type = "reconciliation.breach.raised"
    breach_id: uuid.UUID
    kind: BreachKind
    bank_account_id: int
    detected_on: date
    detail: str
    last_reconciled_on: date | None = None
