"""Reading and writing the tables as domain objects. Every function takes the caller's session
(the caller owns the transaction) and the firm, and never reads another firm's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, String, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_reconciliation.db.tables import (
    bank_accounts,
    cashbook_entries,
    match_entries,
    match_lines,
    matches,
    reconciliations,
    statement_lines,
    statements,
)
from cashroom_reconciliation.domain import (
    AccountIdentification,
    BankAccountOnFile,
    BankIdSource,
    CashbookEntry,
    ImportedStatement,
    Match,
    MatchRule,
    StatementLine,
)


def among(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """``column = ANY(:array)``: one parameter however many values (an IN list of 100,000 bank
    ids would pass PostgreSQL's limit of 65,535 parameters)."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(String)))  # type: ignore[no-any-return]


def money(amount_minor: int, currency: str) -> Money:
    return Money(amount_minor=amount_minor, currency=currency)


def optional_money(amount_minor: int | None, currency: str) -> Money | None:
    return None if amount_minor is None else money(amount_minor, currency)


# --- bank accounts ------------------------------------------------------------------------------


async def lock_account(session: AsyncSession, firm_id: str, bank_account_id: int) -> None:
    """Serialise imports, matching and signing on one account (until the transaction ends)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"reconciliation:{firm_id}:{bank_account_id}"},
    )


async def bank_account_row(
    session: AsyncSession, firm_id: str, bank_account_id: int
) -> Row[Any] | None:
    result = await session.execute(
        select(bank_accounts).where(
            bank_accounts.c.firm_id == firm_id, bank_accounts.c.bank_account_id == bank_account_id
        )
    )
    return result.first()


async def bank_account_rows(session: AsyncSession, firm_id: str) -> list[Row[Any]]:
    result = await session.execute(
        select(bank_accounts)
        .where(bank_accounts.c.firm_id == firm_id)
        .order_by(bank_accounts.c.bank_account_id)
    )
    return list(result)


def identification_of(row: Row[Any]) -> AccountIdentification | None:
    if row.iban is None and row.account_number is None:
        return None
    return AccountIdentification(iban=row.iban, number=row.account_number, bank_code=row.bank_code)


def on_file(row: Row[Any]) -> BankAccountOnFile | None:
    """The account as the domain needs it, or None while its kind or currency is unknown."""
    if row.kind is None or row.currency is None:
        return None
    return BankAccountOnFile(
        bank_account_id=row.bank_account_id,
        kind=AccountKind(row.kind),
        currency=row.currency,
        name=row.name,
        identification=identification_of(row),
        number_last4=row.account_number_last4,
    )


async def upsert_bank_account(
    session: AsyncSession, firm_id: str, bank_account_id: int, **values: Any
) -> None:
    """Insert the account or set the given columns (None values leave a column as it is)."""
    given = {k: v for k, v in values.items() if v is not None}
    statement = insert(bank_accounts).values(
        firm_id=firm_id, bank_account_id=bank_account_id, **given
    )
    if given:
        statement = statement.on_conflict_do_update(
            index_elements=[bank_accounts.c.firm_id, bank_accounts.c.bank_account_id], set_=given
        )
    else:
        statement = statement.on_conflict_do_nothing()
    await session.execute(statement)


async def bank_nominals(session: AsyncSession, firm_id: str) -> dict[str, int]:
    result = await session.execute(
        select(bank_accounts.c.nominal_code, bank_accounts.c.bank_account_id).where(
            bank_accounts.c.firm_id == firm_id, bank_accounts.c.nominal_code.is_not(None)
        )
    )
    return {code: account for code, account in result}


# --- statement lines ----------------------------------------------------------------------------


def line_of(row: Row[Any]) -> StatementLine:
    return StatementLine(
        bank_id=row.bank_id,
        bank_id_source=BankIdSource(row.bank_id_source),
        booking_date=row.booking_date,
        value_date=row.value_date,
        amount=money(row.amount_minor, row.currency),
        description=row.description,
        reference=row.reference,
        counterparty=row.counterparty,
        location=row.location,
    )


async def load_lines(
    session: AsyncSession,
    firm_id: str,
    bank_account_id: int,
    *,
    bank_ids: Iterable[str] | None = None,
    unmatched_only: bool = False,
    booked_after: date | None = None,
    booked_through: date | None = None,
) -> list[StatementLine]:
    query = select(statement_lines).where(
        statement_lines.c.firm_id == firm_id,
        statement_lines.c.bank_account_id == bank_account_id,
    )
    if bank_ids is not None:
        query = query.where(among(statement_lines.c.bank_id, bank_ids))
    if booked_after is not None:
        query = query.where(statement_lines.c.booking_date > booked_after)
    if booked_through is not None:
        query = query.where(statement_lines.c.booking_date <= booked_through)
    if unmatched_only:
        query = query.outerjoin(
            match_lines,
            and_(
                match_lines.c.firm_id == statement_lines.c.firm_id,
                match_lines.c.bank_account_id == statement_lines.c.bank_account_id,
                match_lines.c.bank_id == statement_lines.c.bank_id,
            ),
        ).where(match_lines.c.bank_id.is_(None))
    query = query.order_by(statement_lines.c.booking_date, statement_lines.c.line_pk)
    return [line_of(row) for row in await session.execute(query)]


# --- cashbook -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry: CashbookEntry
    contra_entry_id: str | None
    journal_kind: str


def entry_of(row: Row[Any]) -> StoredEntry:
    return StoredEntry(
        entry=CashbookEntry.of(
            row.entry_id, row.posted_on, money(row.amount_minor, row.currency), row.reference
        ),
        contra_entry_id=row.contra_entry_id,
        journal_kind=row.journal_kind,
    )


async def load_entries(
    session: AsyncSession,
    firm_id: str,
    bank_account_id: int,
    *,
    entry_ids: Iterable[str] | None = None,
    unmatched_only: bool = False,
    posted_from: date | None = None,
    posted_through: date | None = None,
) -> list[StoredEntry]:
    query = select(cashbook_entries).where(
        cashbook_entries.c.firm_id == firm_id,
        cashbook_entries.c.bank_account_id == bank_account_id,
    )
    if entry_ids is not None:
        query = query.where(among(cashbook_entries.c.entry_id, entry_ids))
    if posted_from is not None:
        query = query.where(cashbook_entries.c.posted_on >= posted_from)
    if posted_through is not None:
        query = query.where(cashbook_entries.c.posted_on <= posted_through)
    if unmatched_only:
        query = query.outerjoin(
            match_entries,
            and_(
                match_entries.c.firm_id == cashbook_entries.c.firm_id,
                match_entries.c.entry_id == cashbook_entries.c.entry_id,
            ),
        ).where(match_entries.c.entry_id.is_(None))
    query = query.order_by(cashbook_entries.c.posted_on, cashbook_entries.c.entry_id)
    return [entry_of(row) for row in await session.execute(query)]


# --- statements ---------------------------------------------------------------------------------


async def statement_history(
    session: AsyncSession, firm_id: str, bank_account_id: int
) -> list[ImportedStatement]:
    result = await session.execute(
        select(statements)
        .where(statements.c.firm_id == firm_id, statements.c.bank_account_id == bank_account_id)
        .order_by(statements.c.imported_at, statements.c.statement_id)
    )
    return [
        ImportedStatement(
            statement_id=str(row.statement_id),
            period_start=row.period_start,
            period_end=row.period_end,
            opening_balance=optional_money(row.opening_minor, row.currency),
            closing_balance=optional_money(row.closing_minor, row.currency),
            sequence=sequence,
        )
        for sequence, row in enumerate(result)
    ]


# --- matches ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredMatch:
    match_id: uuid.UUID
    match: Match
    made_by: str
    made_at: datetime


async def load_matches(
    session: AsyncSession,
    firm_id: str,
    bank_account_id: int,
    *,
    match_ids: Sequence[uuid.UUID] | None = None,
) -> list[StoredMatch]:
    """Live matches of the account, with their lines and entries."""
    query = select(matches).where(
        matches.c.firm_id == firm_id,
        matches.c.bank_account_id == bank_account_id,
        matches.c.unmatched_at.is_(None),
    )
    if match_ids is not None:
        query = query.where(matches.c.match_id.in_(list(match_ids)))
    rows = list(await session.execute(query.order_by(matches.c.made_at, matches.c.match_id)))
    if not rows:
        return []
    line_ids = {bank_id for row in rows for bank_id in row.line_ids}
    entry_ids = {entry_id for row in rows for entry_id in row.entry_ids}
    lines = {
        line.bank_id: line
        for line in await load_lines(session, firm_id, bank_account_id, bank_ids=line_ids)
    }
    entries = {
        stored.entry.entry_id: stored.entry
        for stored in await load_entries(session, firm_id, bank_account_id, entry_ids=entry_ids)
    }
    return [
        StoredMatch(
            match_id=row.match_id,
            match=Match(
                MatchRule(row.rule),
                tuple(lines[bank_id] for bank_id in row.line_ids),
                tuple(entries[entry_id] for entry_id in row.entry_ids),
            ),
            made_by=row.made_by,
            made_at=row.made_at,
        )
        for row in rows
    ]


async def insert_matches(
    session: AsyncSession,
    firm_id: str,
    bank_account_id: int,
    new_matches: Sequence[Match],
    made_by: str,
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in new_matches]
    if not new_matches:
        return ids
    await session.execute(
        matches.insert(),
        [
            {
                "match_id": match_id,
                "firm_id": firm_id,
                "bank_account_id": bank_account_id,
                "rule": match.rule.value,
                "amount_minor": match.amount.amount_minor,
                "currency": match.amount.currency,
                "settled_on": match.settled_on,
                "line_ids": list(match.line_ids),
                "entry_ids": list(match.entry_ids),
                "made_by": made_by,
            }
            for match_id, match in zip(ids, new_matches, strict=True)
        ],
    )
    await session.execute(
        match_lines.insert(),
        [
            {
                "match_id": match_id,
                "firm_id": firm_id,
                "bank_account_id": bank_account_id,
                "bank_id": bank_id,
            }
            for match_id, match in zip(ids, new_matches, strict=True)
            for bank_id in match.line_ids
        ],
    )
    await session.execute(
        match_entries.insert(),
        [
            {"match_id": match_id, "firm_id": firm_id, "entry_id": entry_id}
            for match_id, match in zip(ids, new_matches, strict=True)
            for entry_id in match.entry_ids
        ],
    )
    return ids


async def undo_match(
    session: AsyncSession, firm_id: str, match_id: uuid.UUID, *, by: str, reason: str
) -> None:
    """Keep the match's record (who made it, who undid it, why); free its lines and entries."""
    await session.execute(
        matches.update()
        .where(matches.c.firm_id == firm_id, matches.c.match_id == match_id)
        .values(unmatched_at=func.now(), unmatched_by=by, unmatch_reason=reason)
    )
    await session.execute(match_lines.delete().where(match_lines.c.match_id == match_id))
    await session.execute(match_entries.delete().where(match_entries.c.match_id == match_id))


async def match_of_entry(
    session: AsyncSession, firm_id: str, entry_id: str
) -> tuple[uuid.UUID, date] | None:
    result = await session.execute(
        select(matches.c.match_id, matches.c.settled_on)
        .join(match_entries, match_entries.c.match_id == matches.c.match_id)
        .where(match_entries.c.firm_id == firm_id, match_entries.c.entry_id == entry_id)
    )
    row = result.first()
    return None if row is None else (row.match_id, row.settled_on)


# --- reconciliations ----------------------------------------------------------------------------


async def locked_through(session: AsyncSession, firm_id: str, bank_account_id: int) -> date | None:
    """The latest signed reconciliation still in force (not reopened by a ledger unlock)."""
    value = await session.scalar(
        select(func.max(reconciliations.c.as_of)).where(
            reconciliations.c.firm_id == firm_id,
            reconciliations.c.bank_account_id == bank_account_id,
            reconciliations.c.reopened_at.is_(None),
        )
    )
    return value if isinstance(value, date) else None
