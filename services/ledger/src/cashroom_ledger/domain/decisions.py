"""What a posting rule decides, and what it may ask the ledger while deciding.

A rule turns one event (or manual entry) plus the state it needs into one decision:

* ``Post``: these journals are now the content of the posting key. The ledger reverses whatever
  was live for the key before (a new version is one reversal plus one repost, never a copy),
  checks the locks and the client columns, and applies it all or nothing. ``Post`` with no
  journals means "nothing is posted for this key any more" (a void, a reversed payment).
* ``Hold``: it cannot post *yet* (the matter has not arrived, the cashier is reviewing VAT). It
  waits, visibly, and is tried again when what it waits for arrives. Never dropped.
* ``Reject``: it will never post as it is (a zero amount, a currency the account does not hold).
  The connector's sync log shows the reason; a corrected version in Clio comes through as new.
* ``Refer``: it would break an accounts rule (a transfer beyond the bill, an overdrawn client
  ledger): it becomes an exception for the cashier, who fixes it at source or records a breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import ChartOfAccounts
from cashroom_ledger.domain.journals import JournalDraft
from cashroom_ledger.domain.reference import BankAccount, Client, Matter


@dataclass(frozen=True, slots=True, order=True)
class PostingKey:
    """The identity of what is posted: one live posting set per key (I-10).

    ``bill:5550012``, ``bill_payment:300771``, ``bank_transaction:88``, ``manual_office_payment:r-17``.
    """

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


class HoldReason(StrEnum):
    MATTER_UNKNOWN = "matter_unknown"  # the matter or its client has not arrived yet
    BANK_ACCOUNT_UNKNOWN = "bank_account_unknown"
    NO_OFFICE_ACCOUNT = "no_office_account"  # client-to-office with no office account to land in
    BILL_NOT_POSTED = "bill_not_posted"  # a payment for a bill the ledger has not posted
    PURCHASE_INVOICE_NOT_RECORDED = "purchase_invoice_not_recorded"
    VAT_UNDER_REVIEW = "vat_under_review"  # the cashier is choosing a disbursement's VAT treatment
    PERIOD_LOCKED = "period_locked"  # it would post on or before a locked date (I-13)


class RejectReason(StrEnum):
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    CURRENCY_MISMATCH = "currency_mismatch"
    WRONG_ACCOUNT_KIND = "wrong_account_kind"  # e.g. a client receipt into an office account
    BILL_DOES_NOT_ADD_UP = "bill_does_not_add_up"
    VAT_INCONSISTENT = "vat_inconsistent"
    MATTER_MISMATCH = "matter_mismatch"
    MATTER_REQUIRED = "matter_required"
    SAME_ACCOUNT = "same_account"
    ACCOUNT_NOT_ALLOWED = "account_not_allowed"  # a manual entry aimed at a controlled nominal
    UNKNOWN_ACCOUNT = "unknown_account"  # a manual entry naming a nominal not in the chart


@dataclass(frozen=True, slots=True)
class WaitFor:
    """Something a held posting waits for; when it happens the posting is tried again."""

    what: str  # matter, bank_account, office_account, bill, purchase_invoice, client_funds, unlock
    id: str = ""

    @classmethod
    def matter(cls, matter_id: int) -> WaitFor:
        return cls("matter", str(matter_id))

    @classmethod
    def bank_account(cls, bank_account_id: int) -> WaitFor:
        return cls("bank_account", str(bank_account_id))

    @classmethod
    def bill(cls, bill_id: int) -> WaitFor:
        return cls("bill", str(bill_id))

    @classmethod
    def client_funds(cls, matter_id: int) -> WaitFor:
        return cls("client_funds", str(matter_id))

    @classmethod
    def purchase_invoice(cls, key: PostingKey) -> WaitFor:
        return cls("purchase_invoice", str(key))


OFFICE_ACCOUNT = WaitFor("office_account")
UNLOCK = WaitFor("unlock")


# --- facts a posting establishes (removed again when it is reversed) --------------------------


@dataclass(frozen=True, slots=True)
class BillFacts:
    bill_id: int
    bill_number: str
    matter_id: int
    issued_on: date
    total: Money


@dataclass(frozen=True, slots=True)
class AllocationFacts:
    """A payment allocated to a bill, from office money or by a client-to-office transfer."""

    bill_id: int
    amount: Money


@dataclass(frozen=True, slots=True)
class SupplierInvoiceFacts:
    supplier: str
    matter_id: int | None
    gross: Money


@dataclass(frozen=True, slots=True)
class SupplierPaymentFacts:
    invoice: PostingKey
    amount: Money


@dataclass(frozen=True, slots=True)
class Facts:
    bill: BillFacts | None = None
    allocation: AllocationFacts | None = None
    supplier_invoice: SupplierInvoiceFacts | None = None
    supplier_payment: SupplierPaymentFacts | None = None


# --- the decisions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Post:
    journals: tuple[JournalDraft, ...]
    effective_on: date  # reversals of the previous content are dated no earlier than this
    reversal_reason: str
    facts: Facts = field(default_factory=Facts)
    paired: bool = False  # the journals are the two halves of one transfer: link them


@dataclass(frozen=True, slots=True)
class Hold:
    reason_code: HoldReason
    reason: str
    waiting_for: tuple[WaitFor, ...] = ()


@dataclass(frozen=True, slots=True)
class Reject:
    reason_code: RejectReason
    reason: str


@dataclass(frozen=True, slots=True)
class Refer:
    kind: ExceptionKind
    detail: str
    matter_id: int | None
    amount: Money | None
    raised_on: date
    waiting_for: tuple[WaitFor, ...] = ()


Decision = Post | Hold | Reject | Refer


# --- what the rules may ask ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedBill:
    facts: BillFacts
    allocations: Mapping[PostingKey, Money]

    def outstanding(self, on: date, *, excluding: PostingKey | None = None) -> Money:
        """What is left to pay on ``on``: nothing before the bill was issued (SRA 4.3, I-8)."""
        total = self.facts.total
        billed = total.amount_minor if self.facts.issued_on <= on else 0
        paid = sum(m.amount_minor for k, m in self.allocations.items() if k != excluding)
        # A new Money rather than ``with_amount``: pydantic's model_copy costs more than validating.
        return Money(amount_minor=billed - paid, currency=total.currency)


@dataclass(frozen=True, slots=True)
class PostedSupplierInvoice:
    key: PostingKey
    facts: SupplierInvoiceFacts
    payments: Mapping[PostingKey, Money]


class LedgerView(Protocol):
    """The state a posting rule may read. The ``Ledger`` aggregate is one."""

    @property
    def chart(self) -> ChartOfAccounts: ...

    def bank_account(self, bank_account_id: int) -> BankAccount | None: ...

    def default_office_account(self) -> BankAccount | None: ...

    def matter(self, matter_id: int) -> Matter | None: ...

    def client(self, client_id: int) -> Client | None: ...

    def posted_bill(self, bill_id: int) -> PostedBill | None: ...

    def supplier_invoice(self, key: PostingKey) -> PostedSupplierInvoice | None: ...
