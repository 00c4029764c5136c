"""Is any client account late for its reconciliation? Checked for one firm (the API) or every
firm (the periodic task). A late account raises ``BreachRaised(late_reconciliation)`` once per
overdue period: the period is named by the date the reconciliation was due by, which moves only
when a new reconciliation is signed. An account is measured from its last signed reconciliation,
or, never reconciled, from its first movement (cashbook or bank); an account with no movement
has nothing to reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, union_all
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import UnitOfWork
from cashroom_chassis.outbox import add_to_outbox
from cashroom_contracts.envelope import deterministic_event_id, new_event
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.reconciliation import BreachKind, BreachRaised
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.db.tables import (
    bank_accounts,
    breaches,
    cashbook_entries,
    firm_settings,
    statement_lines,
)
from cashroom_reconciliation.domain import (
    default_jurisdiction_code,
    jurisdiction_of,
    late_reconciliation,
)
from cashroom_reconciliation.handlers.statements import SOURCE


@dataclass(frozen=True, slots=True)
class CadenceResult:
    accounts_checked: int
    breaches_raised: list[dict[str, object]]
    jurisdiction: str | None  # None: unknown (no setting, no currency to presume one from)


async def firm_jurisdiction(uow: UnitOfWork, firm_id: str) -> tuple[str | None, str]:
    """The firm's jurisdiction code and where it came from (``setting`` or ``currency``)."""
    session = uow.session
    chosen = await session.scalar(
        select(firm_settings.c.jurisdiction).where(firm_settings.c.firm_id == firm_id)
    )
    if chosen is not None:
        return str(chosen), "setting"
    currencies = (
        await session.scalars(
            select(bank_accounts.c.currency)
            .where(bank_accounts.c.firm_id == firm_id, bank_accounts.c.currency.is_not(None))
            .distinct()
        )
    ).all()
    codes = {default_jurisdiction_code(c) for c in currencies} - {None}
    if len(codes) == 1:
        return codes.pop(), "currency"
    return None, "unknown"


async def check_firm(uow: UnitOfWork, firm_id: str, *, today: date) -> CadenceResult:
    session = uow.session
    code, _ = await firm_jurisdiction(uow, firm_id)
    accounts = [
        row
        for row in await repository.bank_account_rows(session, firm_id)
        if row.kind == AccountKind.CLIENT.value
    ]
    if code is None:
        return CadenceResult(len(accounts), [], None)
    jurisdiction = jurisdiction_of(code)
    raised: list[dict[str, object]] = []
    for row in accounts:
        first_movement = await _first_movement(uow, firm_id, row.bank_account_id)
        if first_movement is None:
            continue
        late = late_reconciliation(
            bank_account_id=row.bank_account_id,
            account_kind=AccountKind.CLIENT,
            jurisdiction=jurisdiction,
            last_reconciled_on=await repository.locked_through(
                session, firm_id, row.bank_account_id
            ),
            opened_on=first_movement,
            today=today,
        )
        if late is None:
            continue
        breach_id = deterministic_event_id(firm_id, "breach", late.dedupe_key)
        inserted = await session.execute(
            insert(breaches)
            .values(
                breach_id=breach_id,
                firm_id=firm_id,
                bank_account_id=row.bank_account_id,
                kind=BreachKind.LATE_RECONCILIATION.value,
                detected_on=today,
                detail=late.detail,
                last_reconciled_on=late.last_reconciled_on,
                due_by=late.due_by,
                dedupe_key=late.dedupe_key,
            )
            .on_conflict_do_nothing(index_elements=[breaches.c.firm_id, breaches.c.dedupe_key])
            .returning(breaches.c.breach_id)
        )
        if inserted.first() is None:
            continue  # raised already for this overdue period
        await add_to_outbox(
            session,
            [
                new_event(
                    BreachRaised(
                        breach_id=breach_id,
                        kind=BreachKind.LATE_RECONCILIATION,
                        bank_account_id=row.bank_account_id,
                        detected_on=today,
                        detail=late.detail,
                        last_reconciled_on=late.last_reconciled_on,
                    ),
                    firm_id=firm_id,
                    source=SOURCE,
                    subject=f"bank-account/{row.bank_account_id}",
                    event_id=deterministic_event_id(
                        firm_id, BreachRaised.event_type, str(breach_id)
                    ),
                )
            ],
        )
        raised.append(
            {
                "breach_id": str(breach_id),
                "bank_account_id": row.bank_account_id,
                "due_by": late.due_by.isoformat(),
                "days_overdue": late.days_overdue,
                "detail": late.detail,
            }
        )
    return CadenceResult(len(accounts), raised, code)


async def firms_with_client_accounts(uow: UnitOfWork) -> list[str]:
    result = await uow.session.scalars(
        select(bank_accounts.c.firm_id)
        .where(bank_accounts.c.kind == AccountKind.CLIENT.value)
        .distinct()
        .order_by(bank_accounts.c.firm_id)
    )
    return list(result)


async def _first_movement(uow: UnitOfWork, firm_id: str, bank_account_id: int) -> date | None:
    earliest = union_all(
        select(func.min(cashbook_entries.c.posted_on).label("day")).where(
            cashbook_entries.c.firm_id == firm_id,
            cashbook_entries.c.bank_account_id == bank_account_id,
        ),
        select(func.min(statement_lines.c.booking_date).label("day")).where(
            statement_lines.c.firm_id == firm_id,
            statement_lines.c.bank_account_id == bank_account_id,
        ),
    ).subquery()
    value = await uow.session.scalar(select(func.min(earliest.c.day)))
    return value if isinstance(value, date) else None
