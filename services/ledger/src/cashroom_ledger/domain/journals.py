"""Journals and their lines: immutable, balanced per currency, reversed rather than edited.

A line is one debit or one credit on a nominal, for a positive amount. Lines on the control
accounts carry the sub-ledger they belong to:

* a line on debtors control or unbilled disbursements carries the matter and ``ledger_side =
  office``: it is a movement in that matter's office column;
* a line on client money control carries the matter, ``ledger_side = client`` and the client bank
  account that holds the money: it is a movement in that matter's client column *for that bank
  account* (a client's money in two client accounts is two balances, each never below zero);
* a line on a bank nominal carries the bank account: it is a cashbook entry.

VAT tags say which box of the VAT return a line feeds (UK boxes; Ireland's VAT3 maps T1 to
output VAT and T2 to input VAT).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import PostingSource
from cashroom_contracts.money import Money


class Entry(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Entry:
        return Entry.CREDIT if self is Entry.DEBIT else Entry.DEBIT


class VatTag(StrEnum):
    """Which figure of the VAT return a line feeds."""

    SALES_STANDARD = "sales_standard"  # box 6: net sales at the standard rate
    SALES_ZERO_RATED = "sales_zero_rated"  # box 6
    SALES_EXEMPT = "sales_exempt"  # box 6
    OUTPUT_VAT = "output_vat"  # box 1
    PURCHASES_STANDARD = "purchases_standard"  # box 7
    PURCHASES_ZERO_RATED = "purchases_zero_rated"  # box 7
    PURCHASES_EXEMPT = "purchases_exempt"  # box 7
    INPUT_VAT = "input_vat"  # box 4
    OUTSIDE_SCOPE = "outside_scope"  # a disbursement paid as the client's agent: no box


class JournalKind(StrEnum):
    BILL = "bill"
    CREDIT_NOTE = "credit_note"
    BILL_PAYMENT_INTO_OFFICE = "bill_payment_into_office"
    CLIENT_TO_OFFICE_CLIENT_HALF = "client_to_office_client_half"
    CLIENT_TO_OFFICE_OFFICE_HALF = "client_to_office_office_half"
    OFFICE_TO_CLIENT_OFFICE_HALF = "office_to_client_office_half"
    OFFICE_TO_CLIENT_CLIENT_HALF = "office_to_client_client_half"
    CLIENT_RECEIPT = "client_receipt"
    CLIENT_PAYMENT = "client_payment"
    CLIENT_TO_CLIENT = "client_to_client"
    OFFICE_TRANSFER = "office_transfer"
    DISBURSEMENT_PAID = "disbursement_paid"
    LINKED_OUTLAY = "linked_outlay"
    PURCHASE_INVOICE = "purchase_invoice"
    SUPPLIER_PAYMENT = "supplier_payment"
    OFFICE_PAYMENT = "office_payment"
    REVERSAL = "reversal"


class UnbalancedJournal(ValueError):
    """Debits and credits differ in some currency (invariant I-1)."""


@dataclass(frozen=True, slots=True)
class Line:
    account_code: str
    entry: Entry
    amount: Money
    matter_id: int | None = None
    ledger_side: AccountKind | None = None
    bank_account_id: int | None = None
    vat_tag: VatTag | None = None
    narrative: str | None = None

    def __post_init__(self) -> None:
        if not self.amount.is_positive():
            raise ValueError(f"a journal line needs a positive amount, not {self.amount}")

    @property
    def signed_minor(self) -> int:
        """Debit positive, credit negative, in minor units."""
        return self.amount.amount_minor if self.entry is Entry.DEBIT else -self.amount.amount_minor

    def reversed(self) -> Line:
        return replace(self, entry=self.entry.opposite)


def debit(
    account_code: str,
    amount: Money,
    *,
    matter_id: int | None = None,
    ledger_side: AccountKind | None = None,
    bank_account_id: int | None = None,
    vat_tag: VatTag | None = None,
    narrative: str | None = None,
) -> Line:
    return Line(
        account_code,
        Entry.DEBIT,
        amount,
        matter_id,
        ledger_side,
        bank_account_id,
        vat_tag,
        narrative,
    )


def credit(
    account_code: str,
    amount: Money,
    *,
    matter_id: int | None = None,
    ledger_side: AccountKind | None = None,
    bank_account_id: int | None = None,
    vat_tag: VatTag | None = None,
    narrative: str | None = None,
) -> Line:
    return Line(
        account_code,
        Entry.CREDIT,
        amount,
        matter_id,
        ledger_side,
        bank_account_id,
        vat_tag,
        narrative,
    )


def imbalance(lines: tuple[Line, ...] | list[Line]) -> dict[str, int]:
    """Debits less credits per currency, for the currencies where they differ (I-1)."""
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.amount.currency] += line.signed_minor
    return {currency: total for currency, total in totals.items() if total != 0}


@dataclass(frozen=True, slots=True)
class JournalDraft:
    """A journal a posting rule wants, before the ledger gives it an id and its source."""

    kind: JournalKind
    posted_on: date
    narrative: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Journal:
    """A posted journal. Immutable: a correction is a reversal (``reverses``) plus a new journal.

    ``linked_journal_id`` joins the two halves of a client-to-office (or office-to-client)
    transfer, which post together or not at all.
    """

    journal_id: uuid.UUID
    kind: JournalKind
    posted_on: date
    narrative: str
    source: PostingSource
    lines: tuple[Line, ...]
    reverses: uuid.UUID | None = None
    reason: str | None = None
    linked_journal_id: uuid.UUID | None = None
    entered_by: str | None = None

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise UnbalancedJournal(f"journal {self.journal_id} needs at least two lines")
        off = imbalance(self.lines)
        if off:
            detail = ", ".join(
                f"{Money(amount_minor=v, currency=c)} more debit than credit"
                for c, v in off.items()
            )
            raise UnbalancedJournal(
                f"journal {self.journal_id} ({self.narrative}) does not balance: {detail}"
            )

    def reversal(
        self,
        *,
        journal_id: uuid.UUID,
        on: date,
        source: PostingSource,
        reason: str,
        entered_by: str | None = None,
    ) -> Journal:
        """The journal that undoes this one, dated ``on``, saying why."""
        return Journal(
            journal_id=journal_id,
            kind=JournalKind.REVERSAL,
            posted_on=on,
            narrative=f"Reversal of: {self.narrative}",
            source=source,
            lines=tuple(line.reversed() for line in self.lines),
            reverses=self.journal_id,
            reason=reason,
            entered_by=entered_by,
        )
