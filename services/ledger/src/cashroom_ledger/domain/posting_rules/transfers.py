"""Money moved between the firm's own bank accounts (from Clio, or entered by the cashier).

Office to office::

    DR receiving office bank / CR paying office bank

Client to client — between two client accounts for one matter, or from one matter's client
column to another's (an inter-client transfer), in one account or across two::

    DR client money control, paying matter, paying account
        CR client money control, receiving matter, receiving account
    and, when the accounts differ: DR receiving client bank / CR paying client bank

Office to client (e.g. the firm replacing a shortfall, or paying interest to the client) — two
linked halves; the office half sits on the matter's office column until the cashier reclassifies
it (to interest paid, or to the person who caused the shortfall)::

    office half:  DR debtors control, M office side / CR office bank
    client half:  DR client bank / CR client money control, M client side

Client to office *without* a bill is never posted on its own: SRA 4.3 lets client money pay the
firm only against a bill. It is referred as ``transfer_exceeds_bill``; recorded as a breach, it
posts as the client-to-office pair (DR client side / CR client bank; DR office bank / CR office
side). A bill payment from client money arrives as ``BillPaymentReceived`` instead.
"""

from __future__ import annotations

from datetime import date

from cashroom_contracts.events.clio import BankTransferMade
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import AccountRole
from cashroom_ledger.domain.decisions import (
    Decision,
    HoldReason,
    LedgerView,
    Post,
    Refer,
    RejectReason,
    WaitFor,
)
from cashroom_ledger.domain.journals import JournalDraft, JournalKind, Line, credit, debit
from cashroom_ledger.domain.posting_rules.common import (
    NO_EXCEPTIONS_ALLOWED,
    Stop,
    firm_amount,
    hold,
    ready_matter,
    reject,
    rule,
)
from cashroom_ledger.domain.reference import BankAccount


@rule
def bank_transfer_made(
    event: BankTransferMade,
    view: LedgerView,
    allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED,
) -> Decision:
    return bank_transfer(
        view,
        transferred_on=event.transferred_on,
        from_bank_account_id=event.from_bank_account_id,
        to_bank_account_id=event.to_bank_account_id,
        amount=event.amount,
        matter_id=event.matter_id,
        to_matter_id=event.to_matter_id,
        description=event.description or f"transfer {event.transfer_id}",
        allow=allow,
    )


def bank_transfer(
    view: LedgerView,
    *,
    transferred_on: date,
    from_bank_account_id: int,
    to_bank_account_id: int,
    amount: Money,
    matter_id: int | None,
    to_matter_id: int | None,
    description: str,
    allow: frozenset[ExceptionKind],
) -> Decision:
    amount = firm_amount(view, amount, f"the transfer ({description})")
    receiving_matter_id = to_matter_id if to_matter_id is not None else matter_id
    if from_bank_account_id == to_bank_account_id and receiving_matter_id == matter_id:
        raise reject(
            RejectReason.SAME_ACCOUNT,
            f"the transfer ({description}) is from bank account {from_bank_account_id} to itself "
            "for the same matter: nothing moves",
        )
    paying = _known(view, from_bank_account_id, amount, description)
    receiving = _known(view, to_bank_account_id, amount, description)
    chart = view.chart
    client_money_control = chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    reason = f"transfer ({description}) changed"
    on = transferred_on

    if paying.kind is AccountKind.OFFICE and receiving.kind is AccountKind.OFFICE:
        lines: tuple[Line, ...] = (
            debit(receiving.nominal_code, amount, bank_account_id=receiving.bank_account_id),
            credit(paying.nominal_code, amount, bank_account_id=paying.bank_account_id),
        )
        narrative = f"Transfer {paying.name} to {receiving.name}: {description}"
        return Post((JournalDraft(JournalKind.OFFICE_TRANSFER, on, narrative, lines),), on, reason)

    if paying.kind is AccountKind.CLIENT and receiving.kind is AccountKind.CLIENT:
        if matter_id is None:
            raise _matter_required(description, "whose client money moves")
        assert receiving_matter_id is not None
        source = ready_matter(view, matter_id)
        target = ready_matter(view, receiving_matter_id)
        client_lines = [
            debit(
                client_money_control,
                amount,
                matter_id=source.matter_id,
                ledger_side=AccountKind.CLIENT,
                bank_account_id=paying.bank_account_id,
            ),
            credit(
                client_money_control,
                amount,
                matter_id=target.matter_id,
                ledger_side=AccountKind.CLIENT,
                bank_account_id=receiving.bank_account_id,
            ),
        ]
        if paying.bank_account_id != receiving.bank_account_id:
            client_lines += [
                debit(receiving.nominal_code, amount, bank_account_id=receiving.bank_account_id),
                credit(paying.nominal_code, amount, bank_account_id=paying.bank_account_id),
            ]
        narrative = f"Client to client: {source.reference} ({paying.name}) to {target.reference} ({receiving.name}): {description}"
        return Post(
            (JournalDraft(JournalKind.CLIENT_TO_CLIENT, on, narrative, tuple(client_lines)),),
            on,
            reason,
        )

    debtors = chart.code_for(AccountRole.DEBTORS_CONTROL)
    if paying.kind is AccountKind.OFFICE:  # office to client
        if receiving_matter_id is None:
            raise _matter_required(description, "that receives the money")
        matter = ready_matter(view, receiving_matter_id)
        office_half = JournalDraft(
            JournalKind.OFFICE_TO_CLIENT_OFFICE_HALF,
            on,
            f"Office money paid into client account for {matter.reference}: {description}",
            (
                debit(debtors, amount, matter_id=matter.matter_id, ledger_side=AccountKind.OFFICE),
                credit(paying.nominal_code, amount, bank_account_id=paying.bank_account_id),
            ),
        )
        client_half = JournalDraft(
            JournalKind.OFFICE_TO_CLIENT_CLIENT_HALF,
            on,
            f"Office money received for {matter.reference}: {description}",
            (
                debit(receiving.nominal_code, amount, bank_account_id=receiving.bank_account_id),
                credit(
                    client_money_control,
                    amount,
                    matter_id=matter.matter_id,
                    ledger_side=AccountKind.CLIENT,
                    bank_account_id=receiving.bank_account_id,
                ),
            ),
        )
        return Post((office_half, client_half), on, reason, paired=True)

    # client to office, not against a bill
    if matter_id is None:
        raise _matter_required(description, "whose client money moves")
    matter = ready_matter(view, matter_id)
    if ExceptionKind.TRANSFER_EXCEEDS_BILL not in allow:
        raise Stop(
            Refer(
                ExceptionKind.TRANSFER_EXCEEDS_BILL,
                f"a client-to-office transfer of {amount} for {matter.reference} on {on} is not "
                "linked to a bill; client money may pay the firm only against a bill given to "
                "the client (SRA 4.3)",
                matter.matter_id,
                amount,
                on,
            )
        )
    client_half = JournalDraft(
        JournalKind.CLIENT_TO_OFFICE_CLIENT_HALF,
        on,
        f"Client money to office (no bill) — {matter.reference}: {description}",
        (
            debit(
                client_money_control,
                amount,
                matter_id=matter.matter_id,
                ledger_side=AccountKind.CLIENT,
                bank_account_id=paying.bank_account_id,
            ),
            credit(paying.nominal_code, amount, bank_account_id=paying.bank_account_id),
        ),
    )
    office_half = JournalDraft(
        JournalKind.CLIENT_TO_OFFICE_OFFICE_HALF,
        on,
        f"Received from client money (no bill) — {matter.reference}: {description}",
        (
            debit(receiving.nominal_code, amount, bank_account_id=receiving.bank_account_id),
            credit(debtors, amount, matter_id=matter.matter_id, ledger_side=AccountKind.OFFICE),
        ),
    )
    return Post((client_half, office_half), on, reason, paired=True)


def _known(view: LedgerView, bank_account_id: int, amount: Money, description: str) -> BankAccount:
    bank = view.bank_account(bank_account_id)
    if bank is None:
        raise hold(
            HoldReason.BANK_ACCOUNT_UNKNOWN,
            f"bank account {bank_account_id} has not arrived from Clio yet",
            WaitFor.bank_account(bank_account_id),
        )
    if bank.currency != amount.currency:
        raise reject(
            RejectReason.CURRENCY_MISMATCH,
            f"the transfer ({description}) is in {amount.currency} but {bank.label} holds "
            f"{bank.currency}",
        )
    return bank


def _matter_required(description: str, which: str) -> Stop:
    return reject(
        RejectReason.MATTER_REQUIRED,
        f"the transfer ({description}) moves client money but names no matter {which}",
    )
