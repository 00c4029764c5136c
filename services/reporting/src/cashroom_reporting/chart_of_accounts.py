"""How the firm's chart of accounts reaches the reporting service: the one place that depends on it.

The ledger owns the chart. The chart here is:

1. the accounts the ledger declared with ``ledger.account.upserted`` (code, name, type, role,
   bank account), or an administrator through ``PUT /firms/{firm}/chart-of-accounts`` (for a
   ledger that does not publish its chart yet); and
2. for any code used but not declared, the convention of the ledger's standard chart
   (``domain/chart.py``), with bank nominals recognised from the bank accounts their lines name.

A change to which nominals are debtors or purchase ledger control re-derives the sub-ledger items
from the journal lines (``recompute.items``), so ageing follows the chart at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import AccountUpserted
from cashroom_reporting.db import recompute
from cashroom_reporting.db.tables import bank_nominals, chart_accounts
from cashroom_reporting.domain.chart import (
    SINGLE_ROLES,
    Account,
    AccountRole,
    AccountType,
    Chart,
    check_declaration,
    resolve_chart,
    sub_ledger_codes,
)


async def declared_accounts(session: AsyncSession, firm_id: str) -> list[Account]:
    rows = await session.execute(
        chart_accounts.select()
        .where(chart_accounts.c.firm_id == firm_id)
        .order_by(chart_accounts.c.code)
    )
    return [
        Account(
            row.code,
            row.name,
            AccountType(row.type),
            AccountRole(row.role) if row.role else None,
            declared=True,
        )
        for row in rows
    ]


async def load_chart(session: AsyncSession, firm_id: str) -> Chart:
    declared = await declared_accounts(session, firm_id)
    used = await session.scalars(
        text("SELECT DISTINCT account_code FROM account_balances WHERE firm_id = :f"),
        {"f": firm_id},
    )
    links = await session.execute(
        text(
            "SELECT n.account_code, b.kind FROM bank_nominals n JOIN bank_accounts b "
            "ON b.firm_id = n.firm_id AND b.bank_account_id = n.bank_account_id "
            "WHERE n.firm_id = :f ORDER BY n.account_code, b.kind"
        ),
        {"f": firm_id},
    )
    return resolve_chart(
        declared, list(used), [(row.account_code, AccountKind(row.kind)) for row in links]
    )


async def tracked_codes(session: AsyncSession, firm_id: str) -> frozenset[str]:
    """The control nominals whose lines are kept item by item (bills, supplier invoices)."""
    return sub_ledger_codes(await declared_accounts(session, firm_id))


async def declare(
    session: AsyncSession,
    firm_id: str,
    accounts: Sequence[Account],
    *,
    recompute_items: bool = True,
) -> None:
    """Replace the declared chart (raises ``ChartDeclarationError`` with every problem)."""
    listed = check_declaration(accounts)
    session.info.get("reporting", {}).pop((firm_id, "tracked"), None)  # the handlers' cache
    before = await tracked_codes(session, firm_id)
    await session.execute(chart_accounts.delete().where(chart_accounts.c.firm_id == firm_id))
    if listed:
        await session.execute(
            chart_accounts.insert(),
            [
                {
                    "firm_id": firm_id,
                    "code": a.code,
                    "name": a.name,
                    "type": a.type.value,
                    "role": a.role.value if a.role else None,
                }
                for a in listed
            ],
        )
    after = await tracked_codes(session, firm_id)
    if recompute_items and after != before:
        await recompute.items(session, firm_id, sorted(after))


async def account_upserted(
    session: AsyncSession, firm_id: str, event: AccountUpserted, *, aggregates: bool
) -> None:
    """The ledger created, changed or retired a nominal. A single role it now holds is taken from
    whichever account held it before (the ledger moves roles; the latest word wins). During a
    rebuild (``aggregates`` false) the items are re-derived at the end, with everything else."""
    current = {a.code: a for a in await declared_accounts(session, firm_id)}
    role = AccountRole(event.role.value) if event.role else None
    if role in SINGLE_ROLES:
        for code, held in list(current.items()):
            if held.role is role and code != event.code:
                current[code] = Account(code, held.name, held.type, None, declared=True)
    if event.active:
        current[event.code] = Account(
            event.code, event.name, AccountType(event.type.value), role, declared=True
        )
    else:
        current.pop(event.code, None)
    await declare(session, firm_id, list(current.values()), recompute_items=aggregates)
    if event.bank_account_id is not None and event.active:
        await session.execute(
            insert(bank_nominals)
            .values(firm_id=firm_id, bank_account_id=event.bank_account_id, account_code=event.code)
            .on_conflict_do_nothing()
        )
