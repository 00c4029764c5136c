"""Bills of costs and credit notes.

Bill approved (or changed: the ledger reverses the previous version first)::

    DR debtors control, matter M office side   total (fees + VAT + recoveries + disbursements)
    DR discounts allowed                        bill-level discount, when not inside the fee lines
        CR fee income                           fee nets          (VAT tag: sales at their rate)
        CR expense recovery income              recharge nets     (sales at their rate)
        CR unbilled disbursements, M office     disbursement nets (sales, or outside scope)
        CR VAT output                           all VAT on the bill

A billed disbursement always comes *out of* unbilled disbursements on the matter's office side,
whichever way it went in: paid from the office account (``DisbursementPaid``) or owed to a
supplier as a linked outlay (``PurchaseInvoiceRecorded``) both put its net there. So the office
column does not change when the bill moves it ("no new value", legal-accounting.md §6 #4), and
the result is the same whatever order Clio's records arrive in: billed before the ledger has
seen it paid, the matter's unbilled disbursements are in credit until the payment or supplier
invoice arrives and clears it. A disbursement paid from *client* money went through the client
column and is not on a bill.

A bill with a disbursement whose VAT is under the cashier's review is held whole: its VAT output
is not known until the cashier decides, and half a bill is worse than a late one. The reviewed
version arrives as a new version of the bill and replaces the held one.

Bill voided: the bill's live posting is reversed, dated the void date.

Credit note (abatement): DR credit notes and abatements / CR debtors control, M office side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from cashroom_contracts.events.clio import (
    BillApproved,
    BillChanged,
    BillContent,
    BillVoided,
    CreditMemoIssued,
)
from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import AccountRole, AccountType, ChartOfAccounts
from cashroom_ledger.domain.decisions import (
    BillFacts,
    Decision,
    Facts,
    HoldReason,
    LedgerView,
    Post,
    RejectReason,
)
from cashroom_ledger.domain.journals import JournalDraft, JournalKind, Line, VatTag, credit, debit
from cashroom_ledger.domain.posting_rules.common import (
    NO_EXCEPTIONS_ALLOWED,
    SALE_TAGS,
    firm_amount,
    hold,
    money,
    ready_matter,
    reject,
    rule,
)


@rule
def bill_approved(
    event: BillApproved, view: LedgerView, allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED
) -> Decision:
    return _bill(event.bill, view, reversal_reason=f"bill {event.bill.bill_number} edited in Clio")


@rule
def bill_changed(
    event: BillChanged, view: LedgerView, allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED
) -> Decision:
    reason = (
        f"bill {event.bill.bill_number} changed in Clio (version {event.previous_version} "
        f"replaced by {event.source.version})"
    )
    return _bill(event.bill, view, reversal_reason=reason)


@rule
def bill_voided(
    event: BillVoided, view: LedgerView, allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED
) -> Decision:
    return Post(
        journals=(),
        effective_on=event.voided_on,
        reversal_reason=f"bill voided in Clio on {event.voided_on}",
    )


@rule
def credit_memo_issued(
    event: CreditMemoIssued,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    amount = firm_amount(view, event.amount, f"credit note {event.credit_memo_id}")
    if event.matter_id is None:
        raise reject(
            RejectReason.MATTER_REQUIRED,
            f"credit note {event.credit_memo_id} names no matter; a credit note reduces one "
            "matter's office column — allocate it to a matter in Clio",
        )
    matter = ready_matter(view, event.matter_id)
    if matter.client_id != event.client_id:
        raise reject(
            RejectReason.MATTER_MISMATCH,
            f"credit note {event.credit_memo_id} is for client {event.client_id}, but matter "
            f"{matter.reference} belongs to client {matter.client_id}",
        )
    chart = view.chart
    narrative = f"Credit note {event.credit_memo_id} — {matter.reference}"
    if event.description:
        narrative += f": {event.description}"
    lines = (
        debit(chart.code_for(AccountRole.CREDIT_NOTES), amount),
        credit(
            chart.code_for(AccountRole.DEBTORS_CONTROL),
            amount,
            matter_id=matter.matter_id,
            ledger_side=AccountKind.OFFICE,
        ),
    )
    return Post(
        journals=(JournalDraft(JournalKind.CREDIT_NOTE, event.issued_on, narrative, lines),),
        effective_on=event.issued_on,
        reversal_reason=f"credit note {event.credit_memo_id} changed in Clio",
    )


def _income_nominal(chart: ChartOfAccounts, what: str, named: str | None, role: AccountRole) -> str:
    """The nominal a bill line's income goes to: the one the firm named, else the role's."""
    if named is None:
        return chart.code_for(role)
    account = chart.get(named)
    if account is None:
        raise reject(
            RejectReason.UNKNOWN_ACCOUNT,
            f"{what} names income nominal {named}, which is not in the chart of accounts",
        )
    if account.type is not AccountType.INCOME:
        raise reject(
            RejectReason.UNKNOWN_ACCOUNT,
            f"{what} names nominal {named} ({account.name}) for income, but it is "
            f"{account.type.value}",
        )
    return named


def _bill(bill: BillContent, view: LedgerView, *, reversal_reason: str) -> Decision:
    chart = view.chart
    currency = chart.currency
    what = f"bill {bill.bill_number}"
    if bill.currency != currency:
        raise reject(
            RejectReason.CURRENCY_MISMATCH,
            f"{what} is in {bill.currency}; the firm's books are kept in {currency}",
        )
    for amount in _amounts(bill):
        if amount.currency != currency:
            raise reject(
                RejectReason.CURRENCY_MISMATCH,
                f"{what} mixes currencies: it is in {bill.currency} but has an amount in "
                f"{amount.currency}",
            )
    for line_amount in _line_amounts(bill):
        if line_amount.amount_minor < 0:
            raise reject(
                RejectReason.AMOUNT_NOT_POSITIVE,
                f"{what} has a negative line ({line_amount}); a reduction is a credit note",
            )
    if bill.bill_level_discount.amount_minor < 0:
        raise reject(RejectReason.AMOUNT_NOT_POSITIVE, f"{what} has a negative discount")

    # Keyed by (nominal code, role, VAT tag): the firm may name its own fee and expense-recovery
    # nominals in its sync settings; otherwise the chart's account for the role is used.
    income: dict[tuple[str, AccountRole, VatTag], int] = defaultdict(int)
    vat = 0
    for fee in bill.fees:
        _standard_only_if_rated(what, fee.vat.rate_basis_points, fee.vat.amount)
        tag = VatTag.SALES_STANDARD if fee.vat.rate_basis_points else VatTag.SALES_ZERO_RATED
        code = _income_nominal(chart, what, fee.income_nominal, AccountRole.FEE_INCOME)
        income[(code, AccountRole.FEE_INCOME, tag)] += fee.net.amount_minor
        vat += fee.vat.amount.amount_minor
    for expense in bill.recoverable_expenses:
        _standard_only_if_rated(what, expense.vat.rate_basis_points, expense.vat.amount)
        tag = VatTag.SALES_STANDARD if expense.vat.rate_basis_points else VatTag.SALES_ZERO_RATED
        role = AccountRole.EXPENSE_RECOVERY_INCOME
        code = _income_nominal(chart, what, expense.income_nominal, role)
        income[(code, role, tag)] += expense.net.amount_minor
        vat += expense.vat.amount.amount_minor
    under_review = []
    reviewed_nets = 0
    for disbursement in bill.disbursements:
        vat += disbursement.vat.amount.amount_minor
        if disbursement.vat_treatment is VatTreatment.UNDER_REVIEW:
            under_review.append(disbursement.description)
            reviewed_nets += disbursement.net.amount_minor
            continue
        if (
            disbursement.vat_treatment is not VatTreatment.STANDARD
            and not disbursement.vat.amount.is_zero()
        ):
            raise reject(
                RejectReason.VAT_INCONSISTENT,
                f"{what}: disbursement {disbursement.description!r} is "
                f"{disbursement.vat_treatment.value} but carries VAT of {disbursement.vat.amount}",
            )
        tag = SALE_TAGS[disbursement.vat_treatment]
        role = AccountRole.UNBILLED_DISBURSEMENTS
        income[(chart.code_for(role), role, tag)] += disbursement.net.amount_minor

    _check_totals(bill, what, nets=sum(income.values()) + reviewed_nets, vat=vat)
    if under_review:
        raise hold(
            HoldReason.VAT_UNDER_REVIEW,
            f"{what} bills disbursements whose VAT is under the cashier's review "
            f"({', '.join(under_review)}); it posts when the reviewed version arrives",
        )
    matter = ready_matter(view, bill.matter_id)
    if matter.client_id != bill.client_id:
        raise reject(
            RejectReason.MATTER_MISMATCH,
            f"{what} is for client {bill.client_id}, but matter {matter.reference} belongs to "
            f"client {matter.client_id}",
        )

    m, office = matter.matter_id, AccountKind.OFFICE
    gross = sum(income.values()) + vat
    discount = gross - bill.total.amount_minor
    lines: list[Line] = []
    if bill.total.is_positive():
        debtors = chart.code_for(AccountRole.DEBTORS_CONTROL)
        lines.append(debit(debtors, bill.total, matter_id=m, ledger_side=office, narrative=what))
    if discount:
        discounts = chart.code_for(AccountRole.DISCOUNTS_ALLOWED)
        lines.append(debit(discounts, money(discount, currency), narrative="bill-level discount"))
    for (code, role, tag), net in sorted(income.items()):
        if not net:
            continue
        amount = money(net, currency)
        if role is AccountRole.UNBILLED_DISBURSEMENTS:
            lines.append(credit(code, amount, matter_id=m, ledger_side=office, vat_tag=tag))
        else:
            lines.append(credit(code, amount, vat_tag=tag))
    if vat:
        vat_output = chart.code_for(AccountRole.VAT_OUTPUT)
        lines.append(credit(vat_output, money(vat, currency), vat_tag=VatTag.OUTPUT_VAT))
    narrative = f"Bill {bill.bill_number} — {matter.reference}"
    journals = (
        (JournalDraft(JournalKind.BILL, bill.issued_on, narrative, tuple(lines)),) if lines else ()
    )
    facts = BillFacts(bill.bill_id, bill.bill_number, matter.matter_id, bill.issued_on, bill.total)
    return Post(
        journals=journals,
        effective_on=bill.issued_on,
        reversal_reason=reversal_reason,
        facts=Facts(bill=facts),
    )


def _standard_only_if_rated(what: str, rate_basis_points: int, amount: Money) -> None:
    if amount.amount_minor and not rate_basis_points:
        raise reject(RejectReason.VAT_INCONSISTENT, f"{what} has VAT of {amount} at a 0% rate")


def _check_totals(bill: BillContent, what: str, *, nets: int, vat: int) -> None:
    """I-11: total = nets + VAT, less a bill-level discount not already inside the fee lines."""
    currency = bill.currency
    if bill.vat_total.amount_minor != vat:
        raise reject(
            RejectReason.BILL_DOES_NOT_ADD_UP,
            f"{what}: VAT total {bill.vat_total} is not the sum of its lines' VAT "
            f"{money(vat, currency)}",
        )
    gross = nets + vat
    discount = bill.bill_level_discount.amount_minor
    if bill.total.amount_minor == gross:
        return
    if discount and bill.total.amount_minor == gross - discount:
        if bill.total.amount_minor < 0:
            raise reject(RejectReason.AMOUNT_NOT_POSITIVE, f"{what}: the discount exceeds the bill")
        return
    raise reject(
        RejectReason.BILL_DOES_NOT_ADD_UP,
        f"{what}: total {bill.total} is not its lines' nets {money(nets, currency)} plus VAT "
        f"{money(vat, currency)}"
        + (
            f", with or without the bill-level discount {bill.bill_level_discount}"
            if discount
            else ""
        ),
    )


def _line_amounts(bill: BillContent) -> Iterable[Money]:
    for fee in bill.fees:
        yield from (fee.net, fee.vat.amount)
    for expense in bill.recoverable_expenses:
        yield from (expense.net, expense.vat.amount)
    for disbursement in bill.disbursements:
        yield from (disbursement.net, disbursement.vat.amount)


def _amounts(bill: BillContent) -> Iterable[Money]:
    yield from _line_amounts(bill)
    for fee in bill.fees:
        yield fee.discount
    yield from (bill.bill_level_discount, bill.vat_total, bill.total)
