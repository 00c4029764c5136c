"""Entries a cashier makes outside Clio, posted by the same rules and under the same invariants.

* ``OfficePaymentEntry``: the firm pays a bill of its own from an office account (rent,
  insurance, practising certificates) — DR the nominal named (+ VAT input) / CR office bank.
* ``BankTransferEntry``: money moved between the firm's bank accounts — the same rule as a
  transfer from Clio (office to office, client to client, office to client; client to office
  without a bill is referred).
* ``SupplierInvoiceEntry``: a supplier's invoice — for a matter it is a linked outlay on the
  matter's office side; otherwise a cost of the firm on the nominal named.
* ``SupplierInvoicePaymentEntry``: paying such an invoice from an office account.

Each entry has the cashier's id for it and a revision: a corrected entry is the same id with the
next revision, posted as one reversal plus one repost, like a new version from Clio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cashroom_contracts.events.common import VatAmount, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.decisions import Decision, LedgerView, PostingKey
from cashroom_ledger.domain.posting_rules.common import rule
from cashroom_ledger.domain.posting_rules.purchases import (
    office_payment,
    supplier_invoice,
    supplier_payment,
)
from cashroom_ledger.domain.posting_rules.transfers import bank_transfer


@dataclass(frozen=True, slots=True)
class OfficePaymentEntry:
    entry_id: str
    revision: int
    paid_on: date
    bank_account_id: int
    account_code: str
    net: Money
    payee: str
    description: str
    entered_by: str
    vat: Money | None = None
    vat_treatment: VatTreatment = VatTreatment.STANDARD


@dataclass(frozen=True, slots=True)
class BankTransferEntry:
    entry_id: str
    revision: int
    transferred_on: date
    from_bank_account_id: int
    to_bank_account_id: int
    amount: Money
    description: str
    entered_by: str
    matter_id: int | None = None
    to_matter_id: int | None = None


@dataclass(frozen=True, slots=True)
class SupplierInvoiceEntry:
    entry_id: str
    revision: int
    invoiced_on: date
    supplier: str
    net: Money
    description: str
    entered_by: str
    matter_id: int | None = None
    account_code: str | None = None
    vat: Money | None = None
    vat_treatment: VatTreatment = VatTreatment.STANDARD


@dataclass(frozen=True, slots=True)
class SupplierInvoicePaymentEntry:
    entry_id: str
    revision: int
    invoice_entry_id: str
    paid_on: date
    bank_account_id: int
    amount: Money
    entered_by: str


ManualEntry = (
    OfficePaymentEntry | BankTransferEntry | SupplierInvoiceEntry | SupplierInvoicePaymentEntry
)

OFFICE_PAYMENT = "manual_office_payment"
BANK_TRANSFER = "manual_bank_transfer"
SUPPLIER_INVOICE = "manual_supplier_invoice"
SUPPLIER_INVOICE_PAYMENT = "manual_supplier_invoice_payment"


def manual_key(entry: ManualEntry) -> PostingKey:
    match entry:
        case OfficePaymentEntry():
            return PostingKey(OFFICE_PAYMENT, entry.entry_id)
        case BankTransferEntry():
            return PostingKey(BANK_TRANSFER, entry.entry_id)
        case SupplierInvoiceEntry():
            return PostingKey(SUPPLIER_INVOICE, entry.entry_id)
        case SupplierInvoicePaymentEntry():
            return PostingKey(SUPPLIER_INVOICE_PAYMENT, entry.entry_id)


@rule
def decide_manual(
    entry: ManualEntry, view: LedgerView, allow: frozenset[ExceptionKind] = frozenset()
) -> Decision:
    reason = f"corrected by {entry.entered_by} (revision {entry.revision})"
    match entry:
        case OfficePaymentEntry():
            return office_payment(
                view,
                paid_on=entry.paid_on,
                bank_account_id=entry.bank_account_id,
                account_code=entry.account_code,
                net=entry.net,
                vat_treatment=entry.vat_treatment,
                vat=_vat(view, entry.vat, entry.net),
                payee=entry.payee,
                description=entry.description,
                reversal_reason=reason,
            )
        case BankTransferEntry():
            return bank_transfer(
                view,
                transferred_on=entry.transferred_on,
                from_bank_account_id=entry.from_bank_account_id,
                to_bank_account_id=entry.to_bank_account_id,
                amount=entry.amount,
                matter_id=entry.matter_id,
                to_matter_id=entry.to_matter_id,
                description=entry.description,
                allow=allow,
            )
        case SupplierInvoiceEntry():
            return supplier_invoice(
                view,
                invoiced_on=entry.invoiced_on,
                supplier=entry.supplier,
                matter_id=entry.matter_id,
                account_code=entry.account_code,
                net=entry.net,
                vat_treatment=entry.vat_treatment,
                vat=_vat(view, entry.vat, entry.net),
                description=entry.description,
                reversal_reason=reason,
            )
        case SupplierInvoicePaymentEntry():
            return supplier_payment(
                view,
                invoice=PostingKey(SUPPLIER_INVOICE, entry.invoice_entry_id),
                paid_on=entry.paid_on,
                amount=entry.amount,
                bank_account_id=entry.bank_account_id,
                reversal_reason=reason,
            )


def _vat(view: LedgerView, vat: Money | None, net: Money) -> VatAmount:
    amount = vat if vat is not None else net.with_amount(0)
    rate = view.chart.standard_vat_rate_basis_points if amount.amount_minor else 0
    return VatAmount(rate_basis_points=rate, amount=amount)
