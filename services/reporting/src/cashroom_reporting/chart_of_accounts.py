"""How the firm's chart of accounts reaches the reporting service: the one place that depends on it.

The ledger owns the chart and publishes no event for it yet. Until it does, the chart here is:

1. the accounts an administrator declared through ``PUT /firms/{firm}/chart-of-accounts``
   (the ledger's chart, copied: code, name, type, role), kept across rebuilds; and
2. for any code used but not declared, the convention of the ledger's standard chart
   (``domain/chart.py``), with bank nominals recognised from the bank accounts their lines name.

When the ledger publishes ``ledger.account.upserted`` (see the README for the contract), its
handler calls ``upsert_account`` below and the declaring endpoint can go; nothing else changes.
A change to which nominals are debtors or purchase ledger control re-derives the sub-ledger items
from the journal lines (``recompute.items``), so ageing follows the chart at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_contracts.events.common import AccountKind
from cashroom_reporting.db import recompute
from cashroom_reporting.db.tables import chart_accounts
from cashroom_reporting.domain.chart import (
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


async def declare(session: AsyncSession, firm_id: str, accounts: Sequence[Account]) -> None:
    """Replace the declared chart (raises ``ChartDeclarationError`` with every problem)."""
    listed = check_declaration(accounts)
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
    if await tracked_codes(session, firm_id) != before:
        await recompute.items(session, firm_id, sorted(await tracked_codes(session, firm_id)))


async def upsert_account(session: AsyncSession, firm_id: str, account: Account) -> None:
    """One account from the ledger (the future ``ledger.account.upserted`` handler)."""
    current = {a.code: a for a in await declared_accounts(session, firm_id)}
    current[account.code] = account
    await declare(session, firm_id, list(current.values()))
