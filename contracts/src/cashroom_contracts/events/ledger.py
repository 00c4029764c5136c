"""Events the ledger publishes on ``ledger.events.v1``."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import Field

from cashroom_contracts.envelope import EventPayload, register
from cashroom_contracts.events.common import AccountKind, Money, Part
from cashroom_contracts.topics import LEDGER_EVENTS


class LedgerEvent(EventPayload):
    topic = LEDGER_EVENTS


class PostingSource(Part):
    """Where a journal came from: a Clio record (and its version), a manual entry, or a resolution."""

    system: str = Field(description="clio, manual, reconciliation ...")
    object_type: str
    object_id: str
    version: str | None = None
    event_id: uuid.UUID | None = Field(default=None, description="The event that caused it.")


class JournalLine(Part):
    """One side of a journal. Exactly one of debit and credit is positive."""

    account_code: str = Field(description="Nominal code in the firm's chart of accounts.")
    debit: Money
    credit: Money
    matter_id: int | None = Field(default=None, description="Set on client-ledger lines.")
    ledger_side: AccountKind | None = Field(
        default=None, description="Office or client column of the matter's ledger card."
    )
    bank_account_id: int | None = Field(
        default=None,
        description="The bank account: set on bank nominal lines, and on client-column lines "
        "(which client account holds the matter's money).",
    )
    vat_code: str | None = Field(
        default=None, description="VAT tag for the return: output_standard, input_standard ..."
    )
    narrative: str | None = None


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class AccountRole(StrEnum):
    """What a nominal is for, where the rules and reports need to know (most have none)."""

    OFFICE_BANK = "office_bank"
    CLIENT_BANK = "client_bank"
    DEBTORS_CONTROL = "debtors_control"  # office side of client ledgers: billed, unpaid
    UNBILLED_DISBURSEMENTS = "unbilled_disbursements"  # office side: paid out, not yet billed
    CLIENT_MONEY_CONTROL = "client_money_control"  # client side of client ledgers
    VAT_OUTPUT = "vat_output"
    VAT_INPUT = "vat_input"
    FEE_INCOME = "fee_income"
    EXPENSE_RECOVERY_INCOME = "expense_recovery_income"
    PURCHASE_LEDGER_CONTROL = "purchase_ledger_control"
    CLIENT_SUSPENSE = "client_suspense"
    CREDIT_NOTES = "credit_notes"
    DISCOUNTS_ALLOWED = "discounts_allowed"
    SUNDRY_OVERHEADS = "sundry_overheads"
    CAPITAL = "capital"
    RETAINED_EARNINGS = "retained_earnings"


@register
class AccountUpserted(LedgerEvent):
    """A nominal in the firm's chart of accounts was created or changed (reports need its type
    and role to place it in the P&L, the balance sheet and the tie-outs)."""

    event_type = "ledger.account.upserted"
    code: str
    name: str
    type: AccountType
    role: AccountRole | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    bank_account_id: int | None = Field(
        default=None, description="The Clio bank account this bank nominal stands for."
    )
    active: bool = True


@register
class JournalPosted(LedgerEvent):
    """A balanced journal was posted. A reversal names the journal it reverses."""

    event_type = "ledger.journal.posted"
    journal_id: uuid.UUID
    posted_on: date = Field(description="The accounting date of the journal.")
    kind: str = Field(description="bill, bill_reversal, client_receipt, client_to_office ...")
    narrative: str
    source: PostingSource
    reverses_journal_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, description="Why, for reversals and manual entries.")
    entered_by: str | None = None
    lines: list[JournalLine] = Field(min_length=2)


class PostingOutcome(StrEnum):
    HELD = "held"  # waiting: e.g. for the matter to arrive, or for a cashier's decision
    REJECTED = "rejected"  # will not post as it is: e.g. a zero amount, a currency mismatch


@register
class PostingHeld(LedgerEvent):
    """An event could not post yet; it is kept and retried or resolved, never dropped."""

    event_type = "ledger.posting.held"
    source: PostingSource
    reason_code: str = Field(description="matter_unknown, client_ledger_overdrawn, ...")
    reason: str


@register
class PostingRejected(LedgerEvent):
    """An event will not post as it is; the connector's sync log shows why."""

    event_type = "ledger.posting.rejected"
    source: PostingSource
    reason_code: str
    reason: str


@register
class PostingApplied(LedgerEvent):
    """An event's postings were made (one or more journals), or it needed none."""

    event_type = "ledger.posting.applied"
    source: PostingSource
    journal_ids: list[uuid.UUID]


class ExceptionKind(StrEnum):
    OVERDRAWN_CLIENT_LEDGER = "overdrawn_client_ledger"
    OFFICE_CREDIT_BALANCE = "office_credit_balance"
    TRANSFER_EXCEEDS_BILL = "transfer_exceeds_bill"


@register
class ExceptionRaised(LedgerEvent):
    """Something a cashier must look at (e.g. a posting that would overdraw a client ledger)."""

    event_type = "ledger.exception.raised"
    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    raised_on: date
    amount: Money | None = None
    detail: str
    source: PostingSource | None = None


class ExceptionResolution(StrEnum):
    FIXED_AT_SOURCE = "fixed_at_source"
    RECORDED_AS_BREACH = "recorded_as_breach"


@register
class ExceptionResolved(LedgerEvent):
    """A cashier resolved an exception; a breach enters the breach register."""

    event_type = "ledger.exception.resolved"
    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    resolution: ExceptionResolution
    resolved_by: str
    reason: str


@register
class PeriodLocked(LedgerEvent):
    """No posting may be dated on or before ``locked_through`` for the bank account (or all)."""

    event_type = "ledger.period.locked"
    locked_through: date
    bank_account_id: int | None = None
    by: str
    reason: str


@register
class PeriodUnlocked(LedgerEvent):
    """A lock was lifted (audited: who and why)."""

    event_type = "ledger.period.unlocked"
    locked_through: date | None = Field(description="The new lock date, or none at all.")
    bank_account_id: int | None = None
    by: str
    reason: str
