"""Disbursements, supplier invoices (linked outlays) and what the firm pays out of office money.

Disbursement paid from the office account, for a matter (a disbursement with a vendor)::

    DR unbilled disbursements, M office side   net        (purchases, or outside scope)
    DR VAT input                               VAT        (only when the firm is principal)
        CR office bank                         net + VAT

Supplier invoice for a matter — a *linked outlay*, owed now, paid later::

    DR unbilled disbursements, M office side   net
    DR VAT input                               VAT
        CR purchase ledger control             net + VAT

Supplier invoice for the firm itself (no matter)::

    DR the expense nominal (sundry overheads unless the cashier names one)   net
    DR VAT input                                                              VAT
        CR purchase ledger control                                            net + VAT

Supplier invoice paid::

    DR purchase ledger control / CR office bank

Office payment entered by the cashier (rent, insurance ...)::

    DR the nominal named / DR VAT input / CR office bank

VAT: only a standard-rated purchase carries VAT, and only then does the firm reclaim it (it acted
as principal). An agent's disbursement is outside the scope of VAT (tagged so, to prove no input
VAT was claimed), zero-rated and exempt purchases carry none. A disbursement whose VAT treatment
is under the cashier's review is held, bank movement and all: the reviewed version arrives as a
new version of the same Clio expense entry and posts in its place.
"""

from __future__ import annotations

from datetime import date

from cashroom_contracts.events.clio import (
    DisbursementPaid,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
)
from cashroom_contracts.events.common import AccountKind, VatAmount, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import CONTROLLED_ROLES, AccountRole
from cashroom_ledger.domain.decisions import (
    Decision,
    Facts,
    HoldReason,
    LedgerView,
    Post,
    PostingKey,
    RejectReason,
    SupplierInvoiceFacts,
    SupplierPaymentFacts,
    WaitFor,
)
from cashroom_ledger.domain.journals import JournalDraft, JournalKind, Line, VatTag, credit, debit
from cashroom_ledger.domain.posting_rules.common import (
    NO_EXCEPTIONS_ALLOWED,
    PURCHASE_TAGS,
    bank_account,
    firm_amount,
    hold,
    ready_matter,
    reject,
    rule,
    vat_amount,
)
from cashroom_ledger.domain.posting_rules.keys import purchase_invoice_key


@rule
def disbursement_paid(
    event: DisbursementPaid,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    what = f"disbursement {event.description!r} ({event.vendor})"
    net = firm_amount(view, event.net, what)
    vat = vat_amount(view, event.vat_treatment, event.vat, what)
    bank = bank_account(
        view, event.bank_account_id, AccountKind.OFFICE, net, f"{what}, paid from office,"
    )
    matter = ready_matter(view, event.matter_id)
    chart = view.chart
    lines = [
        debit(
            chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS),
            net,
            matter_id=matter.matter_id,
            ledger_side=AccountKind.OFFICE,
            vat_tag=PURCHASE_TAGS[event.vat_treatment],
        ),
        *_input_vat(view, vat),
        credit(bank.nominal_code, net + vat, bank_account_id=bank.bank_account_id),
    ]
    narrative = f"Disbursement paid to {event.vendor} — {matter.reference}: {event.description}"
    return Post(
        journals=(
            JournalDraft(JournalKind.DISBURSEMENT_PAID, event.paid_on, narrative, tuple(lines)),
        ),
        effective_on=event.paid_on,
        reversal_reason=f"disbursement {event.activity_id} changed in Clio",
    )


@rule
def purchase_invoice_recorded(
    event: PurchaseInvoiceRecorded,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    return supplier_invoice(
        view,
        invoiced_on=event.invoiced_on,
        supplier=event.supplier or "a supplier Clio does not name",
        matter_id=event.matter_id,
        account_code=None,
        net=event.net,
        vat_treatment=event.vat_treatment,
        vat=event.vat,
        description=event.description,
        reversal_reason=f"supplier invoice {event.invoice_id} changed in Clio",
    )


@rule
def purchase_invoice_paid(
    event: PurchaseInvoicePaid,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    return supplier_payment(
        view,
        invoice=purchase_invoice_key(event.invoice_id),
        paid_on=event.paid_on,
        amount=event.amount,
        bank_account_id=event.bank_account_id,
        reversal_reason=f"payment of supplier invoice {event.invoice_id} changed in Clio",
    )


def supplier_invoice(
    view: LedgerView,
    *,
    invoiced_on: date,
    supplier: str,
    matter_id: int | None,
    account_code: str | None,
    net: Money,
    vat_treatment: VatTreatment,
    vat: VatAmount,
    description: str,
    reversal_reason: str,
) -> Decision:
    what = f"the invoice from {supplier} ({description})"
    net = firm_amount(view, net, what)
    vat_money = vat_amount(view, vat_treatment, vat, what)
    chart = view.chart
    tag = PURCHASE_TAGS[vat_treatment]
    if matter_id is not None:
        matter = ready_matter(view, matter_id)
        cost = debit(
            chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS),
            net,
            matter_id=matter.matter_id,
            ledger_side=AccountKind.OFFICE,
            vat_tag=tag,
        )
        kind, narrative = (
            JournalKind.LINKED_OUTLAY,
            f"Linked outlay from {supplier} — {matter.reference}: {description}",
        )
    else:
        code = free_nominal(
            view, account_code or chart.code_for(AccountRole.SUNDRY_OVERHEADS), what
        )
        cost = debit(code, net, vat_tag=tag)
        kind, narrative = JournalKind.PURCHASE_INVOICE, f"Invoice from {supplier}: {description}"
    gross = net + vat_money
    lines = (
        cost,
        *_input_vat(view, vat_money),
        credit(chart.code_for(AccountRole.PURCHASE_LEDGER_CONTROL), gross, narrative=supplier),
    )
    return Post(
        journals=(JournalDraft(kind, invoiced_on, narrative, lines),),
        effective_on=invoiced_on,
        reversal_reason=reversal_reason,
        facts=Facts(supplier_invoice=SupplierInvoiceFacts(supplier, matter_id, gross)),
    )


def supplier_payment(
    view: LedgerView,
    *,
    invoice: PostingKey,
    paid_on: date,
    amount: Money,
    bank_account_id: int,
    reversal_reason: str,
) -> Decision:
    amount = firm_amount(view, amount, f"the payment of supplier invoice {invoice.id}")
    recorded = view.supplier_invoice(invoice)
    if recorded is None:
        raise hold(
            HoldReason.PURCHASE_INVOICE_NOT_RECORDED,
            f"supplier invoice {invoice.id} is paid but the ledger has not recorded the invoice (yet)",
            WaitFor.purchase_invoice(invoice),
        )
    supplier = recorded.facts.supplier
    bank = bank_account(
        view, bank_account_id, AccountKind.OFFICE, amount, f"the payment to {supplier}"
    )
    lines = (
        debit(view.chart.code_for(AccountRole.PURCHASE_LEDGER_CONTROL), amount, narrative=supplier),
        credit(bank.nominal_code, amount, bank_account_id=bank.bank_account_id),
    )
    narrative = f"Paid {supplier}, invoice {invoice.id}"
    return Post(
        journals=(JournalDraft(JournalKind.SUPPLIER_PAYMENT, paid_on, narrative, lines),),
        effective_on=paid_on,
        reversal_reason=reversal_reason,
        facts=Facts(supplier_payment=SupplierPaymentFacts(invoice, amount)),
    )


def office_payment(
    view: LedgerView,
    *,
    paid_on: date,
    bank_account_id: int,
    account_code: str,
    net: Money,
    vat_treatment: VatTreatment,
    vat: VatAmount,
    payee: str,
    description: str,
    reversal_reason: str,
) -> Decision:
    what = f"the payment to {payee} ({description})"
    net = firm_amount(view, net, what)
    vat_money = vat_amount(view, vat_treatment, vat, what)
    code = free_nominal(view, account_code, what)
    bank = bank_account(view, bank_account_id, AccountKind.OFFICE, net, what)
    lines = (
        debit(code, net, vat_tag=PURCHASE_TAGS[vat_treatment]),
        *_input_vat(view, vat_money),
        credit(bank.nominal_code, net + vat_money, bank_account_id=bank.bank_account_id),
    )
    narrative = f"Paid {payee}: {description}"
    return Post(
        journals=(JournalDraft(JournalKind.OFFICE_PAYMENT, paid_on, narrative, lines),),
        effective_on=paid_on,
        reversal_reason=reversal_reason,
    )


def free_nominal(view: LedgerView, code: str, what: str) -> str:
    """A nominal a cashier may post to freely: in the chart, and not a sub-ledger's control."""
    account = view.chart.get(code)
    if account is None:
        raise reject(
            RejectReason.UNKNOWN_ACCOUNT, f"{what} names nominal {code}, which is not in the chart"
        )
    if account.role is not None and account.role in CONTROLLED_ROLES:
        raise reject(
            RejectReason.ACCOUNT_NOT_ALLOWED,
            f"{what} names nominal {code} ({account.name}); only the posting rules write to the "
            f"{account.role.value} account",
        )
    return code


def _input_vat(view: LedgerView, vat: Money) -> tuple[Line, ...]:
    if vat.is_zero():
        return ()
    return (debit(view.chart.code_for(AccountRole.VAT_INPUT), vat, vat_tag=VatTag.INPUT_VAT),)
