"""Client money received and paid out, for a matter, through a client bank account.

Received::

    DR client bank                                             amount
        CR client money control, M client side (that account)  amount

Paid (to a third party for the client, or back to the client)::

    DR client money control, M client side (that account)      amount
        CR client bank                                         amount

A payment that would leave the matter's client column for that account below zero on its date or
any later date is not posted: the ledger refers it as an overdrawn client ledger (SRA 5.3).
"""

from __future__ import annotations

from cashroom_contracts.events.clio import ClientMoneyPaid, ClientMoneyReceived
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_ledger.domain.accounts import AccountRole
from cashroom_ledger.domain.decisions import Decision, LedgerView, Post
from cashroom_ledger.domain.journals import JournalDraft, JournalKind, credit, debit
from cashroom_ledger.domain.posting_rules.common import (
    NO_EXCEPTIONS_ALLOWED,
    bank_account,
    firm_amount,
    ready_matter,
    rule,
)


@rule
def client_money_received(
    event: ClientMoneyReceived,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    amount = firm_amount(view, event.amount, f"client receipt {event.transaction_id}")
    bank = bank_account(view, event.bank_account_id, AccountKind.CLIENT, amount, "a client receipt")
    matter = ready_matter(view, event.matter_id)
    narrative = f"Client money received — {matter.reference}"
    if event.payer:
        narrative += f" from {event.payer}"
    if event.reference:
        narrative += f" ({event.reference})"
    lines = (
        debit(bank.nominal_code, amount, bank_account_id=bank.bank_account_id),
        credit(
            view.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL),
            amount,
            matter_id=matter.matter_id,
            ledger_side=AccountKind.CLIENT,
            bank_account_id=bank.bank_account_id,
        ),
    )
    return Post(
        journals=(JournalDraft(JournalKind.CLIENT_RECEIPT, event.received_on, narrative, lines),),
        effective_on=event.received_on,
        reversal_reason=f"client receipt {event.transaction_id} changed in Clio",
    )


@rule
def client_money_paid(
    event: ClientMoneyPaid,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    amount = firm_amount(view, event.amount, f"client payment {event.transaction_id}")
    bank = bank_account(view, event.bank_account_id, AccountKind.CLIENT, amount, "a client payment")
    matter = ready_matter(view, event.matter_id)
    narrative = f"Client money paid ({event.purpose.value}) — {matter.reference}"
    if event.payee:
        narrative += f" to {event.payee}"
    if event.reference:
        narrative += f" ({event.reference})"
    lines = (
        debit(
            view.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL),
            amount,
            matter_id=matter.matter_id,
            ledger_side=AccountKind.CLIENT,
            bank_account_id=bank.bank_account_id,
        ),
        credit(bank.nominal_code, amount, bank_account_id=bank.bank_account_id),
    )
    return Post(
        journals=(JournalDraft(JournalKind.CLIENT_PAYMENT, event.paid_on, narrative, lines),),
        effective_on=event.paid_on,
        reversal_reason=f"client payment {event.transaction_id} changed in Clio",
    )
