"""What the API reads: balances as of a date (one index lookup per balance key), the matter ledger
card, journals by matter, account, date or source, exceptions, the breach register, locks and
their audit trail, held postings and the audit log. Each function reads one firm's rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.db import codec
from cashroom_ledger.db.store import FirmRecord, bank_account_of, chart_of
from cashroom_ledger.domain import ChartOfAccounts, Jurisdiction
from cashroom_ledger.domain.accounts import AccountRole
from cashroom_ledger.domain.journals import Journal
from cashroom_ledger.domain.reference import BankAccount


class NotFound(LookupError):
    """What was asked for does not exist for this firm."""


@dataclass(frozen=True)
class Firm:
    record: FirmRecord
    chart: ChartOfAccounts
    bank_accounts: list[BankAccount]
    locks: dict[int, date]

    @property
    def currency(self) -> str:
        return self.chart.currency

    def bank_account(self, bank_account_id: int) -> BankAccount:
        for bank in self.bank_accounts:
            if bank.bank_account_id == bank_account_id:
                return bank
        raise NotFound(f"the firm has no bank account {bank_account_id}")


async def firm(session: AsyncSession, firm_id: str) -> Firm | None:
    row = (
        (await session.execute(text("SELECT * FROM firms WHERE firm_id = :f"), {"f": firm_id}))
        .mappings()
        .first()
    )
    if row is None:
        return None
    record = FirmRecord(
        firm_id=row["firm_id"],
        firm_name=row["firm_name"],
        jurisdiction=Jurisdiction(row["jurisdiction"]),
        currency=row["currency"],
        standard_vat_rate_basis_points=row["standard_vat_rate_basis_points"],
        default_office_account_id=row["default_office_account_id"],
        books_locked_through=row["books_locked_through"],
    )
    accounts = (
        (await session.execute(text("SELECT * FROM accounts WHERE firm_id = :f"), {"f": firm_id}))
        .mappings()
        .all()
    )
    banks = (
        (
            await session.execute(
                text(
                    "SELECT * FROM bank_accounts WHERE firm_id = :f "
                    "ORDER BY arrived_at, bank_account_id"
                ),
                {"f": firm_id},
            )
        )
        .mappings()
        .all()
    )
    return Firm(
        record,
        chart_of(record, accounts),
        [bank_account_of(b) for b in banks],
        {b["bank_account_id"]: b["locked_through"] for b in banks if b["locked_through"]},
    )


# --- balances as of a date ------------------------------------------------------------------------

_AS_OF = """
SELECT DISTINCT ON (account_code, matter_id, ledger_side, bank_account_id)
       account_code, matter_id, ledger_side, bank_account_id, cumulative
  FROM balances
 WHERE firm_id = :f AND balance_date <= :d AND {where}
 ORDER BY account_code, matter_id, ledger_side, bank_account_id, balance_date DESC
"""


async def nominal_balances(session: AsyncSession, firm_id: str, as_of: date) -> dict[str, int]:
    """Every nominal's balance (debits less credits) at the end of ``as_of``."""
    rows = await session.execute(
        text(_AS_OF.format(where="matter_id = 0 AND ledger_side = '' AND bank_account_id = 0")),
        {"f": firm_id, "d": as_of},
    )
    return {row.account_code: row.cumulative for row in rows}


async def bank_balances(session: AsyncSession, firm: Firm, as_of: date) -> dict[int, int]:
    """Each bank account's cashbook balance (money in the bank positive) at the end of ``as_of``."""
    rows = await session.execute(
        text(_AS_OF.format(where="matter_id = 0 AND ledger_side = '' AND bank_account_id <> 0")),
        {"f": firm.record.firm_id, "d": as_of},
    )
    nominal_of = {b.bank_account_id: b.nominal_code for b in firm.bank_accounts}
    return {
        row.bank_account_id: row.cumulative
        for row in rows
        if nominal_of.get(row.bank_account_id) == row.account_code
    }


async def client_ledger_balances(
    session: AsyncSession, firm: Firm, as_of: date, bank_account_id: int
) -> dict[int, int]:
    """Money held for each matter in one client account at the end of ``as_of`` (credit balances
    of the client columns, shown positive); matters holding nothing are left out."""
    code = firm.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    rows = await session.execute(
        text(
            _AS_OF.format(
                where="account_code = :code AND ledger_side = 'client' AND matter_id <> 0 "
                "AND bank_account_id = :bank"
            )
        ),
        {"f": firm.record.firm_id, "d": as_of, "code": code, "bank": bank_account_id},
    )
    return {row.matter_id: -row.cumulative for row in rows if row.cumulative}


async def matter_balances(
    session: AsyncSession, firm: Firm, matter_id: int, as_of: date
) -> tuple[int, dict[int, int]]:
    """A matter's office column (what the client owes the firm) and its client column in each
    client account (money held), at the end of ``as_of``."""
    rows = await session.execute(
        text(_AS_OF.format(where="matter_id = :m")),
        {"f": firm.record.firm_id, "d": as_of, "m": matter_id},
    )
    office = 0
    client: dict[int, int] = {}
    office_codes = {
        firm.chart.code_for(AccountRole.DEBTORS_CONTROL),
        firm.chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS),
    }
    client_code = firm.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    for row in rows:
        if row.ledger_side == AccountKind.OFFICE.value and row.account_code in office_codes:
            office += row.cumulative
        elif row.ledger_side == AccountKind.CLIENT.value and row.account_code == client_code:
            client[row.bank_account_id] = -row.cumulative
    return office, client


# --- the matter ledger card ---------------------------------------------------------------------


@dataclass
class CardRow:
    posted_on: date
    journal_id: uuid.UUID
    kind: str
    narrative: str
    source: str
    office_debit: int = 0
    office_credit: int = 0
    office_balance: int = 0
    client_debit: int = 0
    client_credit: int = 0
    client_balance: int = 0
    client_bank_account_id: int | None = None


@dataclass
class Card:
    matter: dict[str, Any]
    office_opening: int
    client_opening: int
    rows: list[CardRow] = field(default_factory=list)


async def ledger_card(
    session: AsyncSession, firm: Firm, matter_id: int, start: date | None, end: date | None
) -> Card:
    """The matter's ledger card: every journal that moved its office or client column, in date
    order, with running balances (office: owed to the firm, debit; client: held, credit)."""
    matter = (
        (
            await session.execute(
                text(
                    "SELECT m.matter_id, m.reference, m.description, m.client_id, c.name "
                    "AS client_name FROM matters m LEFT JOIN clients c ON c.firm_id = m.firm_id "
                    "AND c.client_id = m.client_id WHERE m.firm_id = :f AND m.matter_id = :m"
                ),
                {"f": firm.record.firm_id, "m": matter_id},
            )
        )
        .mappings()
        .first()
    )
    if matter is None:
        raise NotFound(f"the firm has no matter {matter_id}")
    office_opening, client_opening = 0, 0
    if start is not None:
        office_opening, held = await matter_balances(
            session, firm, matter_id, start - timedelta(days=1)
        )
        client_opening = sum(held.values())
    office_codes = {
        firm.chart.code_for(AccountRole.DEBTORS_CONTROL),
        firm.chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS),
    }
    client_code = firm.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    rows = await session.execute(
        text(
            "SELECT j.journal_id, j.seq, j.posted_on, j.kind, j.narrative, j.source_system, "
            "j.source_object_type, j.source_object_id, l.account_code, l.entry, l.amount_minor, "
            "l.ledger_side, l.bank_account_id FROM journal_lines l JOIN journals j "
            "ON j.firm_id = l.firm_id AND j.journal_id = l.journal_id "
            "WHERE l.firm_id = :f AND l.matter_id = :m "
            "AND (CAST(:start AS date) IS NULL OR l.posted_on >= :start) "
            "AND (CAST(:end AS date) IS NULL OR l.posted_on <= :end) "
            "ORDER BY l.posted_on, j.seq, l.line_no"
        ),
        {"f": firm.record.firm_id, "m": matter_id, "start": start, "end": end},
    )
    card = Card(dict(matter), office_opening, client_opening)
    office, client = office_opening, client_opening
    by_journal: dict[uuid.UUID, CardRow] = {}
    for row in rows:
        entry = by_journal.get(row.journal_id)
        if entry is None:
            entry = CardRow(
                row.posted_on,
                row.journal_id,
                row.kind,
                row.narrative,
                f"{row.source_system} {row.source_object_type} {row.source_object_id}",
            )
            by_journal[row.journal_id] = entry
            card.rows.append(entry)
        debit = row.entry == "debit"
        if row.ledger_side == AccountKind.OFFICE.value and row.account_code in office_codes:
            if debit:
                entry.office_debit += row.amount_minor
                office += row.amount_minor
            else:
                entry.office_credit += row.amount_minor
                office -= row.amount_minor
        elif row.ledger_side == AccountKind.CLIENT.value and row.account_code == client_code:
            entry.client_bank_account_id = row.bank_account_id
            if debit:
                entry.client_debit += row.amount_minor
                client -= row.amount_minor
            else:
                entry.client_credit += row.amount_minor
                client += row.amount_minor
        entry.office_balance, entry.client_balance = office, client
    return card


# --- journals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalFilter:
    matter_id: int | None = None
    account_code: str | None = None
    start: date | None = None
    end: date | None = None
    source_type: str | None = None
    source_id: str | None = None
    limit: int = 100
    offset: int = 0


async def journals(
    session: AsyncSession, firm_id: str, where: JournalFilter
) -> list[tuple[Journal, dict[str, Any]]]:
    """Journals in posting order, each with its posting key and when it was recorded."""
    conditions = ["j.firm_id = :f"]
    values: dict[str, Any] = {"f": firm_id, "limit": where.limit, "offset": where.offset}
    if where.matter_id is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM journal_lines l WHERE l.firm_id = j.firm_id "
            "AND l.journal_id = j.journal_id AND l.matter_id = :matter)"
        )
        values["matter"] = where.matter_id
    if where.account_code is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM journal_lines l WHERE l.firm_id = j.firm_id "
            "AND l.journal_id = j.journal_id AND l.account_code = :code)"
        )
        values["code"] = where.account_code
    if where.start is not None:
        conditions.append("j.posted_on >= :start")
        values["start"] = where.start
    if where.end is not None:
        conditions.append("j.posted_on <= :end")
        values["end"] = where.end
    if where.source_type is not None:
        conditions.append("j.source_object_type = :source_type")
        values["source_type"] = where.source_type
    if where.source_id is not None:
        conditions.append("j.source_object_id = :source_id")
        values["source_id"] = where.source_id
    rows = (
        (
            await session.execute(
                text(
                    "SELECT j.* FROM journals j WHERE "
                    + " AND ".join(conditions)
                    + " ORDER BY j.seq LIMIT :limit OFFSET :offset"
                ),
                values,
            )
        )
        .mappings()
        .all()
    )
    return await _with_lines(session, firm_id, rows)


async def journal(
    session: AsyncSession, firm_id: str, journal_id: uuid.UUID
) -> tuple[Journal, dict[str, Any]]:
    rows = (
        (
            await session.execute(
                text("SELECT * FROM journals WHERE firm_id = :f AND journal_id = :j"),
                {"f": firm_id, "j": journal_id},
            )
        )
        .mappings()
        .all()
    )
    found = await _with_lines(session, firm_id, rows)
    if not found:
        raise NotFound(f"the firm has no journal {journal_id}")
    return found[0]


async def _with_lines(
    session: AsyncSession, firm_id: str, rows: Any
) -> list[tuple[Journal, dict[str, Any]]]:
    if not rows:
        return []
    lines = (
        (
            await session.execute(
                text(
                    "SELECT * FROM journal_lines WHERE firm_id = :f "
                    "AND journal_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"f": firm_id, "ids": [r["journal_id"] for r in rows]},
            )
        )
        .mappings()
        .all()
    )
    built = codec.journals_of(rows, lines)
    return [
        (
            journal,
            {
                "posting_key": f"{row['key_kind']}:{row['key_id']}",
                "recorded_at": row["recorded_at"],
            },
        )
        for journal, row in zip(built, rows, strict=True)
    ]


# --- exceptions, breaches, locks, held postings, the audit log ----------------------------------


async def exceptions(
    session: AsyncSession, firm_id: str, *, open_only: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the firm's exceptions, oldest first, and how many there are in all."""
    where = "WHERE firm_id = :f AND (NOT :open OR resolution IS NULL)"
    params = {"f": firm_id, "open": open_only}
    rows = await session.execute(
        text(
            f"SELECT {codec.EXCEPTION_COLUMNS}, raised_at, resolved_at FROM exceptions {where} "
            "ORDER BY seq LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    total = await session.scalar(text(f"SELECT count(*) FROM exceptions {where}"), params)
    return [dict(row) for row in rows.mappings()], int(total or 0)


async def exception(
    session: AsyncSession, firm_id: str, exception_id: uuid.UUID
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    f"SELECT {codec.EXCEPTION_COLUMNS}, raised_at, resolved_at FROM exceptions "
                    "WHERE firm_id = :f AND exception_id = :e"
                ),
                {"f": firm_id, "e": exception_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def breaches(session: AsyncSession, firm_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT * FROM breaches WHERE firm_id = :f ORDER BY seq"), {"f": firm_id}
    )
    return [dict(row) for row in rows.mappings()]


async def lock_history(session: AsyncSession, firm_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT * FROM period_lock_changes WHERE firm_id = :f ORDER BY seq"),
        {"f": firm_id},
    )
    return [dict(row) for row in rows.mappings()]


async def held_postings(
    session: AsyncSession, firm_id: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the postings that wait, longest waiting first, and how many wait in all."""
    rows = await session.execute(
        text(
            f"SELECT {codec.HELD_COLUMNS}, held_since FROM held_postings WHERE firm_id = :f "
            "ORDER BY held_since, key_kind, key_id LIMIT :limit OFFSET :offset"
        ),
        {"f": firm_id, "limit": limit, "offset": offset},
    )
    total = await session.scalar(
        text("SELECT count(*) FROM held_postings WHERE firm_id = :f"), {"f": firm_id}
    )
    return [dict(row) for row in rows.mappings()], int(total or 0)


async def events_before_setup(session: AsyncSession, firm_id: str) -> int:
    count = await session.scalar(
        text("SELECT count(*) FROM events_before_setup WHERE firm_id = :f"), {"f": firm_id}
    )
    return int(count or 0)


async def audit_log(
    session: AsyncSession, firm_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT seq, at, actor, action, detail FROM audit_log WHERE firm_id = :f "
            "ORDER BY seq LIMIT :limit OFFSET :offset"
        ),
        {"f": firm_id, "limit": limit, "offset": offset},
    )
    return [dict(row) for row in rows.mappings()]
