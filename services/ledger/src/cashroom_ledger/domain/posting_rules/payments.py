"""Payments allocated to bills.

Paid into the office account::

    DR office bank                         amount
        CR debtors control, M office side  amount

Paid from client money — the client-to-office transfer, two journals linked and posted together
or not at all (legal-accounting.md §1.9)::

    client half:  DR client money control, M client side (that client account)   amount
                      CR client bank                                               amount
    office half:  DR office bank                                                   amount
                      CR debtors control, M office side                            amount

SRA 4.3 / I-8: the transfer must be for a bill already given (issued on or before the transfer),
no more than the bill's outstanding amount, and no more than the money held for the client in
that client account. Beyond the bill (or before it), the payment is referred to the cashier as a
``transfer_exceeds_bill`` exception; beyond the client's money, the ledger refers it as an
``overdrawn_client_ledger`` exception (it checks every client column a posting touches). Neither
posts a part: the transfer is for the specific sum or it waits for the cashier.

A payment reversed in Clio reverses its posting (both halves of a transfer).
"""

from __future__ import annotations

from cashroom_contracts.events.clio import BillPaymentReceived, BillPaymentReversed
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_ledger.domain.accounts import AccountRole
from cashroom_ledger.domain.decisions import (
    AllocationFacts,
    Decision,
    Facts,
    HoldReason,
    LedgerView,
    Post,
    Refer,
    RejectReason,
    WaitFor,
)
from cashroom_ledger.domain.journals import JournalDraft, JournalKind, credit, debit
from cashroom_ledger.domain.posting_rules.common import (
    NO_EXCEPTIONS_ALLOWED,
    Stop,
    bank_account,
    firm_amount,
    hold,
    office_account,
    ready_matter,
    reject,
    rule,
)
from cashroom_ledger.domain.posting_rules.keys import posting_key


@rule
def bill_payment_received(
    event: BillPaymentReceived,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    amount = firm_amount(view, event.amount, f"payment {event.payment_id}")
    bill = view.posted_bill(event.bill_id)
    if bill is None:
        raise hold(
            HoldReason.BILL_NOT_POSTED,
            f"payment {event.payment_id} is for bill {event.bill_id}, which the ledger has not "
            "posted (yet)",
            WaitFor.bill(event.bill_id),
        )
    number = bill.facts.bill_number
    if bill.facts.matter_id != event.matter_id:
        raise reject(
            RejectReason.MATTER_MISMATCH,
            f"payment {event.payment_id} names matter {event.matter_id}, but bill {number} is "
            f"for matter {bill.facts.matter_id}",
        )
    matter = ready_matter(view, event.matter_id)
    chart = view.chart
    m = matter.matter_id
    debtors = chart.code_for(AccountRole.DEBTORS_CONTROL)
    facts = Facts(allocation=AllocationFacts(bill.facts.bill_id, amount))
    reversal_reason = f"payment {event.payment_id} on bill {number} changed in Clio"

    if event.paid_from is AccountKind.OFFICE:
        office = bank_account(
            view, event.bank_account_id, AccountKind.OFFICE, amount, "a payment into office"
        )
        lines = (
            debit(office.nominal_code, amount, bank_account_id=office.bank_account_id),
            credit(debtors, amount, matter_id=m, ledger_side=AccountKind.OFFICE),
        )
        narrative = f"Payment received for bill {number} — {matter.reference}"
        journal = JournalDraft(
            JournalKind.BILL_PAYMENT_INTO_OFFICE, event.paid_on, narrative, lines
        )
        return Post((journal,), event.paid_on, reversal_reason, facts)

    what = f"the client-to-office transfer for bill {number}"
    client_bank = bank_account(view, event.bank_account_id, AccountKind.CLIENT, amount, what)
    office = office_account(view, event.office_bank_account_id, amount, what)
    outstanding = bill.outstanding(event.paid_on, excluding=posting_key(event))
    if outstanding < amount and ExceptionKind.TRANSFER_EXCEEDS_BILL not in allow:
        if bill.facts.issued_on > event.paid_on:
            detail = (
                f"{what} on {event.paid_on} was made before the bill was issued "
                f"({bill.facts.issued_on}); client money may pay costs only once the bill is given "
                "(SRA 4.3)"
            )
        else:
            detail = (
                f"{what} of {amount} is more than the {outstanding} outstanding on the bill on "
                f"{event.paid_on} (SRA 4.3)"
            )
        excess = amount - outstanding if outstanding.is_positive() else amount
        raise Stop(
            Refer(
                ExceptionKind.TRANSFER_EXCEEDS_BILL,
                detail,
                m,
                excess,
                event.paid_on,
                (WaitFor.bill(bill.facts.bill_id),),
            )
        )
    client_money_control = chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    client_half = JournalDraft(
        JournalKind.CLIENT_TO_OFFICE_CLIENT_HALF,
        event.paid_on,
        f"Client money to office for bill {number} — {matter.reference}",
        (
            debit(
                client_money_control,
                amount,
                matter_id=m,
                ledger_side=AccountKind.CLIENT,
                bank_account_id=client_bank.bank_account_id,
            ),
            credit(client_bank.nominal_code, amount, bank_account_id=client_bank.bank_account_id),
        ),
    )
    office_half = JournalDraft(
        JournalKind.CLIENT_TO_OFFICE_OFFICE_HALF,
        event.paid_on,
        f"Bill {number} paid from client money — {matter.reference}",
        (
            debit(office.nominal_code, amount, bank_account_id=office.bank_account_id),
            credit(debtors, amount, matter_id=m, ledger_side=AccountKind.OFFICE),
        ),
    )
    return Post((client_half, office_half), event.paid_on, reversal_reason, facts, paired=True)


@rule
def bill_payment_reversed(
    event: BillPaymentReversed,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    return Post(
        journals=(),
        effective_on=event.reversed_on,
        reversal_reason=f"payment {event.payment_id} on bill {event.bill_id} reversed in Clio",
    )
