"""The reconciliation statement of one bank account as of a date, and signing it.

The bank balance comes from the imported statements (``history.bank_balance_on``), the cashbook
from the mirror, the matches from this service; for a client account the third figure, the sum
of its client ledgers, from the ledger. Signing needs every difference to be zero, records who
and when, and publishes ``ReconciliationSigned`` (the ledger then locks the account's period
through that date). A signed date can only move forward; the ledger's audited unlock reopens it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from cashroom_chassis.db import UnitOfWork
from cashroom_chassis.outbox import add_to_outbox
from cashroom_contracts.envelope import deterministic_event_id, new_event
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.reconciliation import ReconciliationSigned
from cashroom_contracts.money import Money
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.db.tables import reconciliations
from cashroom_reconciliation.domain import (
    BankAccountOnFile,
    CancellingPair,
    ImportedStatement,
    MatchSet,
    NoStatementBalance,
    ReconciliationStatement,
    StatementLine,
    bank_balance_on,
    pair_cancelling_items,
    prepare_reconciliation,
)
from cashroom_reconciliation.handlers.errors import Conflict, Unavailable
from cashroom_reconciliation.handlers.statements import SOURCE, load_account
from cashroom_reconciliation.ledger_client import LedgerUnavailable

ClientLedgersTotal = Callable[[str, int, date], Awaitable[Money]]
"""(firm, client bank account, as of) → Σ client ledgers held in it (the ledger's figure)."""


@dataclass(frozen=True, slots=True)
class ReconciliationView:
    account: BankAccountOnFile
    statement: ReconciliationStatement
    read_from: ImportedStatement  # the imported statement the bank balance was read from
    cancelling: tuple[CancellingPair, ...]  # bank items that cancel (a charge and its refund)
    unexplained: tuple[StatementLine, ...]  # every other bank line no entry explains
    three_way_unavailable: str | None = None  # why the ledger's figure is missing, if it is


@dataclass(frozen=True, slots=True)
class Signed:
    reconciliation_id: uuid.UUID
    signed_by: str
    signed_at: datetime
    view: ReconciliationView


async def prepare(
    uow: UnitOfWork,
    firm_id: str,
    bank_account_id: int,
    as_of: date,
    client_ledgers_total: ClientLedgersTotal,
    *,
    require_three_way: bool = True,
) -> ReconciliationView:
    """The statement as of ``as_of``. For a client account the ledger's figure is needed to
    sign; to look (``require_three_way=False``) the two-way figures are shown without it when
    the ledger does not answer, and the statement cannot be signed."""
    session = uow.session
    account = await load_account(uow, firm_id, bank_account_id)
    history = await repository.statement_history(session, firm_id, bank_account_id)
    lines = await repository.load_lines(session, firm_id, bank_account_id)
    try:
        statement_balance, read_from = bank_balance_on(as_of, history, lines)
    except NoStatementBalance as error:
        raise Conflict(str(error)) from None
    stored = await repository.load_entries(session, firm_id, bank_account_id, posted_through=as_of)
    in_view = {s.entry.entry_id for s in stored}
    cashbook_balance = Money.zero(account.currency)
    for s in stored:
        cashbook_balance = cashbook_balance + s.entry.amount
    # An entry and its reversal, both dated by now, cancel: neither is outstanding.
    live = [s.entry for s in stored if s.contra_entry_id not in in_view]
    matches = MatchSet(
        m.match for m in await repository.load_matches(session, firm_id, bank_account_id)
    )
    ledgers_total = None
    unavailable = None
    if account.kind is AccountKind.CLIENT:
        try:
            ledgers_total = await client_ledgers_total(firm_id, bank_account_id, as_of)
            if ledgers_total.currency != account.currency:
                raise LedgerUnavailable(
                    f"the ledger gave the client ledgers in {ledgers_total.currency}; the "
                    f"account is kept in {account.currency}"
                )
        except LedgerUnavailable as error:
            unavailable = (
                f"the three-way figure (the sum of client ledgers) is unavailable: {error}"
            )
            if require_three_way:
                raise Unavailable(unavailable) from None
            ledgers_total = None
    figures = prepare_reconciliation(
        # Without the ledger's figure a client account is shown two ways, and cannot be signed.
        account_kind=account.kind if unavailable is None else AccountKind.OFFICE,
        as_of=as_of,
        statement_balance=statement_balance,
        cashbook_balance=cashbook_balance,
        entries=live,
        lines=lines,
        matches=matches,
        client_ledgers_total=ledgers_total,
    )
    if unavailable is not None:
        figures = replace(figures, account_kind=AccountKind.CLIENT)  # can_sign: False
    items = pair_cancelling_items(figures.unexplained_lines)
    return ReconciliationView(
        account=account,
        statement=figures,
        read_from=read_from,
        cancelling=items.cancelling,
        unexplained=items.unexplained,
        three_way_unavailable=unavailable,
    )


async def sign(
    uow: UnitOfWork,
    firm_id: str,
    bank_account_id: int,
    as_of: date,
    client_ledgers_total: ClientLedgersTotal,
    *,
    by: str,
    now: datetime,
    figures_json: Callable[[ReconciliationView], dict[str, object]],
) -> Signed:
    session = uow.session
    await load_account(uow, firm_id, bank_account_id)
    await repository.lock_account(session, firm_id, bank_account_id)
    signed_through = await repository.locked_through(session, firm_id, bank_account_id)
    if signed_through is not None and as_of <= signed_through:
        raise Conflict(
            f"bank account {bank_account_id} is already reconciled and locked through "
            f"{signed_through}; sign a later date (the ledger's audited unlock reopens a period)"
        )
    view = await prepare(uow, firm_id, bank_account_id, as_of, client_ledgers_total)
    figures = view.statement
    if not figures.can_sign:
        reasons = []
        if not figures.difference.is_zero():
            reasons.append(
                f"the adjusted bank balance differs from the cashbook by {figures.difference}"
            )
        if figures.three_way_difference is not None and not figures.three_way_difference.is_zero():
            reasons.append(
                f"the cashbook differs from the sum of client ledgers by "
                f"{figures.three_way_difference}"
            )
        raise Conflict(
            "the reconciliation cannot be signed: " + "; ".join(reasons),
            figures=figures_json(view),
        )
    reconciliation_id = uuid.uuid4()
    currency = view.account.currency
    await session.execute(
        reconciliations.insert().values(
            reconciliation_id=reconciliation_id,
            firm_id=firm_id,
            bank_account_id=bank_account_id,
            account_kind=view.account.kind.value,
            as_of=as_of,
            currency=currency,
            statement_balance_minor=figures.statement_balance.amount_minor,
            outstanding_lodgements_minor=figures.outstanding_lodgements.amount_minor,
            unpresented_payments_minor=figures.unpresented_payments.amount_minor,
            adjusted_bank_balance_minor=figures.adjusted_bank_balance.amount_minor,
            cashbook_balance_minor=figures.cashbook_balance.amount_minor,
            client_ledgers_total_minor=(
                None
                if figures.client_ledgers_total is None
                else figures.client_ledgers_total.amount_minor
            ),
            statement_id=uuid.UUID(view.read_from.statement_id),
            signed_by=by,
            signed_at=now,
        )
    )
    await add_to_outbox(
        session,
        [
            new_event(
                ReconciliationSigned(
                    reconciliation_id=reconciliation_id,
                    bank_account_id=bank_account_id,
                    account_kind=view.account.kind,
                    as_of=as_of,
                    statement_balance=figures.statement_balance,
                    unpresented_payments=figures.unpresented_payments,
                    outstanding_lodgements=figures.outstanding_lodgements,
                    adjusted_bank_balance=figures.adjusted_bank_balance,
                    cashbook_balance=figures.cashbook_balance,
                    client_ledgers_total=figures.client_ledgers_total,
                    signed_by=by,
                    signed_at=now,
                ),
                firm_id=firm_id,
                source=SOURCE,
                subject=f"bank-account/{bank_account_id}/reconciliation/{as_of.isoformat()}",
                event_id=deterministic_event_id(
                    firm_id, ReconciliationSigned.event_type, str(reconciliation_id)
                ),
            )
        ],
    )
    return Signed(reconciliation_id, by, now, view)
