"""What the reports are built from: rows read from the read models, as plain values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cashroom_reporting.domain.postings import Movement
from cashroom_reporting.domain.sync import Comparison


@dataclass(frozen=True, slots=True)
class Header:
    """Who the report is for and which events it reflects."""

    firm_id: str
    firm_name: str
    currency: str


@dataclass(frozen=True, slots=True)
class MatterInfo:
    matter_id: int
    reference: str
    description: str
    client_id: int | None
    client_name: str
    fee_earner: str | None
    status: str | None
    opened_on: date | None


def unknown_matter(matter_id: int) -> MatterInfo:
    """A matter whose details have not arrived from Clio (its lines still count)."""
    return MatterInfo(
        matter_id, f"matter {matter_id}", "(details not yet synced)", None, "", None, None, None
    )


@dataclass(frozen=True, slots=True)
class MatterBalance:
    """One matter column on one nominal, as of a date."""

    matter_id: int
    side: str  # office or client
    account_code: str
    movement: Movement  # cumulative debits and credits
    last_movement_on: date


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An item of a control account open on the report date (a bill, a supplier invoice)."""

    item_key: str
    account_code: str
    matter_id: int | None
    opened_on: date
    movement: Movement  # cumulative debits and credits as of the report date
    dated: date | None = None
    """The bill's (supplier invoice's) own date when it is known, for ageing."""


@dataclass(frozen=True, slots=True)
class BillInfo:
    bill_id: int
    bill_number: str
    issued_on: date
    due_on: date | None
    fees: int
    vat: int
    disbursements: int
    total: int
    voided_on: date | None


@dataclass(frozen=True, slots=True)
class InvoiceInfo:
    invoice_id: int
    supplier: str
    matter_id: int | None
    invoiced_on: date
    description: str
    net: int
    vat: int


@dataclass(frozen=True, slots=True)
class UnbilledWork:
    matter_id: int
    kind: str  # time, recoverable_expense, disbursement
    value: int
    entries: int
    oldest: date
    fee_earner: str | None


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A line of the journal, for a ledger card or a nominal ledger."""

    posted_on: date
    journal_id: str
    kind: str
    narrative: str
    account_code: str
    side: str | None
    movement: Movement
    entered_by: str | None


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    exception_id: str
    kind: str
    matter_id: int | None
    raised_on: date
    amount: int | None
    detail: str
    resolution: str | None
    resolved_by: str | None
    resolution_reason: str | None
    resolved_on: date | None


@dataclass(frozen=True, slots=True)
class BreachInfo:
    breach_id: str
    kind: str
    bank_account_id: int
    detected_on: date
    detail: str
    last_reconciled_on: date | None


@dataclass(frozen=True, slots=True)
class BankAccountInfo:
    bank_account_id: int
    name: str
    kind: str
    currency: str
    last_reconciled_on: date | None


@dataclass(frozen=True, slots=True)
class SyncRow:
    object_type: str
    currency: str
    records: int
    versions: int
    amount: int
    deleted: int
    posted: int
    held: int
    rejected: int
    last_synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class SyncCompared:
    """The firm's last completed sync and, per object type and currency, what Clio holds beside
    what the reports had received when it ended."""

    sync_id: uuid.UUID
    kind: str
    finished_at: datetime
    rows: Sequence[Comparison]


@dataclass(frozen=True, slots=True)
class AuditRow:
    occurred_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    summary: str
    reason: str | None
    source_ref: str | None
    event_id: str
