"""Events the clio-connector publishes on ``clio.events.v1``, in the cashier's words.

Each is derived from one Clio record (``source``) after the firm's sync settings were applied:
drafts never arrive here, transactions before the cut-off never arrive here, and a disbursement
with a vendor arrives as a payment from the bank account that paid it while one without a vendor
arrives as a linked outlay (a supplier invoice). Ids are Clio ids (integers) so that the cashier
can find the record in Clio. A new ``source.version`` for the same record is an edit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from cashroom_contracts.envelope import EventPayload, register
from cashroom_contracts.events.common import (
    AccountKind,
    ClioSource,
    Money,
    Part,
    VatAmount,
    VatTreatment,
)
from cashroom_contracts.topics import CLIO_EVENTS


class ClioEvent(EventPayload):
    topic = CLIO_EVENTS
    source: ClioSource


# --- Who and what: clients, matters, practice areas, bank accounts -----------------------------


@register
class PracticeAreaUpserted(ClioEvent):
    """A practice area (matter type) was created or changed in Clio."""

    event_type = "clio.practice_area.upserted"
    practice_area_id: int
    name: str
    code: str | None = None


class ClientKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


@register
class ClientUpserted(ClioEvent):
    """A client (a Clio contact that is a client of the firm) was created or changed."""

    event_type = "clio.client.upserted"
    client_id: int
    name: str = Field(min_length=1)
    kind: ClientKind
    email: str | None = None
    vat_number: str | None = None


class MatterStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


@register
class MatterUpserted(ClioEvent):
    """A matter was opened or changed. Required before anything posts to its ledger (SRA 8.1(a))."""

    event_type = "clio.matter.upserted"
    matter_id: int
    client_id: int
    reference: str = Field(min_length=1, description="Clio display number, e.g. 00042-O'Brien.")
    description: str
    status: MatterStatus
    matter_type: str = Field(description="Practice area name, or the firm's default matter type.")
    opened_on: date | None = None
    closed_on: date | None = None
    responsible_fee_earner: str | None = None


@register
class BankAccountUpserted(ClioEvent):
    """A bank account the firm keeps in Clio: an office (operating) or client (trust) account."""

    event_type = "clio.bank_account.upserted"
    bank_account_id: int
    name: str
    kind: AccountKind
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    is_default_client_account: bool = False
    account_number_last4: str | None = None


@register
class RecordDeletedInClio(ClioEvent):
    """A record the connector had synced no longer exists in Clio (found by a full sync)."""

    event_type = "clio.record.deleted"


# --- Bills -------------------------------------------------------------------------------------


class FeeLine(Part):
    """Professional fees for time (or a fixed fee) on a bill, after any discount."""

    line_id: int
    description: str
    net: Money = Field(description="Fee after the line and any grouped bill-level discount.")
    discount: Money = Field(description="Discount already taken off ``net``.")
    vat: VatAmount
    income_nominal: str | None = Field(
        default=None,
        description="The firm's fee-income nominal for this line (sync setting); none means the "
        "chart's fee-income account.",
    )


class RecoverableExpenseLine(Part):
    """An in-house cost recharged to the client (photocopying, travel): the firm's own supply."""

    line_id: int
    description: str
    net: Money
    vat: VatAmount
    income_nominal: str | None = Field(
        default=None,
        description="The firm's expense-recovery income nominal (sync setting); none means the "
        "chart's expense-recovery account.",
    )


class BilledDisbursementLine(Part):
    """A disbursement (outlay paid to a third party) recovered on the bill, at cost."""

    line_id: int
    activity_id: int | None = Field(description="The Clio expense entry billed here, if known.")
    description: str
    net: Money
    vat_treatment: VatTreatment
    vat: VatAmount


class BillContent(Part):
    """What an approved bill of costs charges. Totals tie: total = Σ nets + Σ VAT."""

    bill_id: int
    bill_number: str
    matter_id: int
    client_id: int
    issued_on: date
    due_on: date | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    fees: list[FeeLine]
    recoverable_expenses: list[RecoverableExpenseLine]
    disbursements: list[BilledDisbursementLine]
    bill_level_discount: Money = Field(
        description="Discount Clio shows on the bill as a whole (already inside the fee lines "
        "when the firm groups fee lines for discounts; otherwise posted as its own line)."
    )
    vat_total: Money
    total: Money


@register
class BillApproved(ClioEvent):
    """A bill was approved in Clio (awaiting payment or later): post fees, VAT and recoveries."""

    event_type = "clio.bill.approved"
    bill: BillContent


@register
class BillChanged(ClioEvent):
    """An approved bill was edited in Clio: reverse what was posted for it, post this instead."""

    event_type = "clio.bill.changed"
    bill: BillContent
    previous_version: str


@register
class BillVoided(ClioEvent):
    """An approved bill was voided (or deleted) in Clio: reverse its posting."""

    event_type = "clio.bill.voided"
    bill_id: int
    matter_id: int
    voided_on: date


# --- Money moving: bill payments, client money, transfers ------------------------------------


@register
class BillPaymentReceived(ClioEvent):
    """A payment allocated to a bill.

    From an office account: the client paid the firm (DR office bank, CR matter office side).
    From a client account: a client-to-office transfer for this bill — the client half
    (DR matter client side, CR client bank) and the office half (DR office bank, CR matter office
    side), legal only up to the bill's outstanding amount and the money held for the client.
    """

    event_type = "clio.bill_payment.received"
    payment_id: int = Field(description="Clio allocation id: the idempotency key.")
    bill_id: int
    matter_id: int
    paid_on: date
    amount: Money
    paid_from: AccountKind
    bank_account_id: int = Field(
        description="From client money: the client (trust) account the money left. From office: "
        "the office account it was paid into (the only account Clio names)."
    )
    office_bank_account_id: int | None = Field(
        default=None,
        description="For a payment from client money: the office account it was transferred to.",
    )


@register
class BillPaymentReversed(ClioEvent):
    """A bill payment (allocation) was voided in Clio: reverse its posting."""

    event_type = "clio.bill_payment.reversed"
    payment_id: int
    bill_id: int
    matter_id: int
    reversed_on: date


@register
class ClientMoneyReceived(ClioEvent):
    """Money received into a client (trust) account for a matter: a client receipt."""

    event_type = "clio.client_money.received"
    transaction_id: int
    matter_id: int
    bank_account_id: int
    received_on: date
    amount: Money
    payer: str | None = None
    reference: str | None = None


class ClientPaymentPurpose(StrEnum):
    DISBURSEMENT = "disbursement"  # paid to a third party for the client (DR client side)
    REFUND = "refund"  # returned to the client
    OTHER = "other"


@register
class ClientMoneyPaid(ClioEvent):
    """Money paid out of a client (trust) account for a matter."""

    event_type = "clio.client_money.paid"
    transaction_id: int
    matter_id: int
    bank_account_id: int
    paid_on: date
    amount: Money
    purpose: ClientPaymentPurpose
    payee: str | None = None
    reference: str | None = None


@register
class BankTransferMade(ClioEvent):
    """Money moved between two of the firm's bank accounts (e.g. client to client, office to
    office). A client-to-office transfer for a bill arrives as ``BillPaymentReceived`` instead."""

    event_type = "clio.bank_transfer.made"
    transfer_id: int
    from_bank_account_id: int
    to_bank_account_id: int
    transferred_on: date
    amount: Money
    matter_id: int | None = Field(
        default=None, description="The matter whose client money moved, for client accounts."
    )
    to_matter_id: int | None = Field(
        default=None, description="The receiving matter for a client-to-client transfer."
    )
    description: str | None = None


# --- Disbursements, linked outlays, purchase invoices -----------------------------------------


@register
class DisbursementPaid(ClioEvent):
    """A disbursement with a vendor, paid from an office bank account and allocated to the matter
    (DR matter office side as an unbilled disbursement, CR office bank)."""

    event_type = "clio.disbursement.paid"
    activity_id: int
    matter_id: int
    paid_on: date
    description: str
    vendor: str
    net: Money
    vat_treatment: VatTreatment
    vat: VatAmount
    bank_account_id: int


@register
class PurchaseInvoiceRecorded(ClioEvent):
    """A supplier invoice. With a matter it is a *linked outlay*: a disbursement without a vendor
    payment yet, owed to the supplier (purchase ledger) and recoverable from the client."""

    event_type = "clio.purchase_invoice.recorded"
    invoice_id: int = Field(description="The Clio expense entry id the invoice stands for.")
    matter_id: int | None
    supplier: str | None = Field(description="None where Clio names no vendor.")
    invoiced_on: date
    description: str
    net: Money
    vat_treatment: VatTreatment
    vat: VatAmount


@register
class PurchaseInvoicePaid(ClioEvent):
    """A supplier invoice (e.g. a linked outlay) was paid from an office bank account."""

    event_type = "clio.purchase_invoice.paid"
    invoice_id: int
    paid_on: date
    amount: Money
    bank_account_id: int


@register
class CreditMemoIssued(ClioEvent):
    """A credit note (abatement) for a client, reducing what the matter owes the firm."""

    event_type = "clio.credit_memo.issued"
    credit_memo_id: int
    client_id: int
    matter_id: int | None
    issued_on: date
    amount: Money
    description: str | None = None


# --- Work in progress (not posted; reported) --------------------------------------------------


class WorkKind(StrEnum):
    TIME = "time"
    RECOVERABLE_EXPENSE = "recoverable_expense"
    DISBURSEMENT = "disbursement"


@register
class WorkRecorded(ClioEvent):
    """A time or expense entry recorded in Clio: work in progress until it is billed."""

    event_type = "clio.work.recorded"
    activity_id: int
    matter_id: int
    kind: WorkKind
    recorded_on: date
    description: str
    value: Money
    billed: bool
    fee_earner: str | None = None


# --- The sync itself --------------------------------------------------------------------------


class ClioHolding(Part):
    """What the connector knows Clio holds of one object type (and, for records that carry
    money, one currency) as of the end of a sync: the last version of every record it read.

    ``published`` and ``published_amount`` are the records whose latest event (not a deletion)
    reached this topic and what those events say they are worth, a void or a reversal counting
    nothing; ``published_deleted`` are those whose latest event is their deletion. A reader that
    has applied every event before this one holds exactly these figures."""

    object_type: str = Field(description="Clio resource, as in ClioSource.object_type.")
    currency: str | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="Currency of the published amounts; None for records without money.",
    )
    in_clio: int = Field(ge=0, description="Records present in Clio when last read.")
    deleted_in_clio: int = Field(ge=0, description="Records read before and gone from Clio since.")
    skipped: int = Field(ge=0, description="Present, deliberately not imported (settings, drafts).")
    awaiting_review: int = Field(ge=0, description="Present, flagged and waiting for a cashier.")
    published: int = Field(ge=0, description="Records whose latest event is not a deletion.")
    published_deleted: int = Field(ge=0, description="Records whose latest event is a deletion.")
    published_amount: int = Field(
        description="Sum of the published records' worth in minor units (0 without currency)."
    )


@register
class SyncCompleted(EventPayload):
    """A sync of the firm's Clio account finished: what the connector holds of Clio afterwards,
    per object type and currency, so that a reader can compare what it has with what Clio has.
    Published after every completed sync, after the sync's own events (same key, same order)."""

    topic = CLIO_EVENTS
    event_type = "clio.sync.completed"
    sync_id: uuid.UUID
    kind: str = Field(description="full | incremental")
    started_at: datetime
    finished_at: datetime
    holdings: list[ClioHolding]
