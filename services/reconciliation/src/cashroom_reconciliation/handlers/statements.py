"""Import a bank statement file into one bank account: parse it whole, check it is for that
account and currency, keep the lines the account has not seen (by bank id), check it chains onto
the account's history, and record it, in one transaction. A file that cannot be read is refused
with the line and the reason and nothing is stored; a continuity break is imported, reported and
raised as a breach, never absorbed.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import UnitOfWork
from cashroom_chassis.outbox import add_to_outbox
from cashroom_contracts.envelope import deterministic_event_id, new_event
from cashroom_contracts.events.reconciliation import (
    BreachKind,
    BreachRaised,
    StatementImported,
)
from cashroom_contracts.money import Money
from cashroom_reconciliation.csv_mapping import (
    BadCsvMapping,
    CsvMappingJson,
    mapping_from_json,
    to_domain,
)
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.db.tables import bank_accounts, breaches, statement_lines, statements
from cashroom_reconciliation.domain import (
    BankAccountOnFile,
    ContinuityBreak,
    FileFormat,
    ParseLimits,
    Statement,
    StatementError,
    StatementErrorKind,
    carried_balances,
    check_statement_is_for,
    parse_statement,
    plan_import,
    position_of,
)
from cashroom_reconciliation.handlers.errors import Conflict, NotFound

SOURCE = "cashroom/reconciliation"


@dataclass(frozen=True, slots=True)
class StatementFile:
    data: bytes
    file_name: str | None
    declared_format: str | None  # camt053 | ofx | mt940 | csv, or None to detect
    csv_mapping: CsvMappingJson | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    statement_id: uuid.UUID
    file_format: FileFormat
    lines_new: int
    lines_already_known: int
    lines_pending: int
    period_start: date
    period_end: date
    opening_balance: Money | None
    closing_balance: Money | None
    breaks: tuple[ContinuityBreak, ...]
    already_imported: bool  # the very same file was imported before: nothing changed


async def load_account(uow: UnitOfWork, firm_id: str, bank_account_id: int) -> BankAccountOnFile:
    row = await repository.bank_account_row(uow.session, firm_id, bank_account_id)
    if row is None:
        raise NotFound(f"bank account {bank_account_id} is not known for this firm")
    account = repository.on_file(row)
    if account is None:
        raise Conflict(
            f"bank account {bank_account_id} is known only from a journal line so far; its kind "
            "and currency arrive with the ledger's bank nominal or Clio's bank account"
        )
    return account


async def import_statement(
    uow: UnitOfWork,
    firm_id: str,
    bank_account_id: int,
    upload: StatementFile,
    *,
    by: str,
    today: date,
    limits: ParseLimits,
) -> ImportResult:
    session = uow.session
    account = await load_account(uow, firm_id, bank_account_id)
    await repository.lock_account(session, firm_id, bank_account_id)
    row = await repository.bank_account_row(session, firm_id, bank_account_id)
    assert row is not None
    statement = _parse(upload, account, row.csv_mapping, limits)
    others = [
        other
        for other_row in await repository.bank_account_rows(session, firm_id)
        if (other := repository.on_file(other_row)) is not None
    ]
    check_statement_is_for(statement, account, others)

    digest = hashlib.sha256(upload.data).hexdigest()
    earlier = (
        await session.execute(
            select(statements).where(
                statements.c.firm_id == firm_id,
                statements.c.bank_account_id == bank_account_id,
                statements.c.file_sha256 == digest,
            )
        )
    ).first()
    if earlier is not None:
        return ImportResult(
            statement_id=earlier.statement_id,
            file_format=FileFormat(earlier.file_format),
            lines_new=0,
            lines_already_known=earlier.lines_total,
            lines_pending=earlier.lines_pending,
            period_start=earlier.period_start,
            period_end=earlier.period_end,
            opening_balance=repository.optional_money(earlier.opening_minor, earlier.currency),
            closing_balance=repository.optional_money(earlier.closing_minor, earlier.currency),
            breaks=(),
            already_imported=True,
        )

    history = await repository.statement_history(session, firm_id, bank_account_id)
    known = {
        line.bank_id: line
        for line in await repository.load_lines(
            session, firm_id, bank_account_id, bank_ids=[line.bank_id for line in statement.lines]
        )
    }
    plan = plan_import(statement, position_of(history), known)
    opening, closing = carried_balances(statement, plan.position_after)
    statement_id = uuid.uuid4()
    await session.execute(
        statements.insert().values(
            statement_id=statement_id,
            firm_id=firm_id,
            bank_account_id=bank_account_id,
            file_format=statement.file_format.value,
            file_name=(upload.file_name or "")[:300] or None,
            file_sha256=digest,
            statement_number=statement.statement_number,
            currency=statement.currency,
            period_start=statement.period_start,
            period_end=statement.period_end,
            opening_stated_minor=_minor(statement.opening_balance),
            closing_stated_minor=_minor(statement.closing_balance),
            opening_minor=_minor(opening),
            closing_minor=_minor(closing),
            account_iban=statement.account.iban,
            account_number=statement.account.number,
            account_bank_code=statement.account.bank_code,
            lines_total=len(statement.lines),
            lines_new=len(plan.new_lines),
            lines_already_known=len(plan.known_lines),
            lines_pending=len(statement.pending_lines),
            breaks=[break_json(b) for b in plan.breaks],
            imported_by=by,
        )
    )
    if plan.new_lines:
        await session.execute(
            statement_lines.insert(),
            [
                {
                    "firm_id": firm_id,
                    "bank_account_id": bank_account_id,
                    "bank_id": line.bank_id,
                    "bank_id_source": line.bank_id_source.value,
                    "booking_date": line.booking_date,
                    "value_date": line.value_date,
                    "amount_minor": line.amount.amount_minor,
                    "currency": line.amount.currency,
                    "description": line.description,
                    "reference": line.reference,
                    "counterparty": line.counterparty,
                    "location": line.location,
                    "statement_id": statement_id,
                }
                for line in plan.new_lines
            ],
        )
    await _remember_account(uow, firm_id, account, statement, upload)

    events: list[Any] = [
        new_event(
            StatementImported(
                statement_id=statement_id,
                bank_account_id=bank_account_id,
                account_kind=account.kind,
                file_format=statement.file_format.value,
                period_start=statement.period_start,
                period_end=statement.period_end,
                opening_balance=opening,
                closing_balance=closing,
                lines_new=len(plan.new_lines),
                lines_already_known=len(plan.known_lines),
            ),
            firm_id=firm_id,
            source=SOURCE,
            subject=f"bank-account/{bank_account_id}/statement/{statement_id}",
            event_id=deterministic_event_id(
                firm_id, StatementImported.event_type, str(statement_id)
            ),
        )
    ]
    if plan.breaks:
        breach = await _continuity_breach(
            uow, firm_id, bank_account_id, statement, plan.breaks, digest, today
        )
        if breach is not None:
            events.append(breach)
    await add_to_outbox(session, events)
    return ImportResult(
        statement_id=statement_id,
        file_format=statement.file_format,
        lines_new=len(plan.new_lines),
        lines_already_known=len(plan.known_lines),
        lines_pending=len(statement.pending_lines),
        period_start=statement.period_start,
        period_end=statement.period_end,
        opening_balance=opening,
        closing_balance=closing,
        breaks=plan.breaks,
        already_imported=False,
    )


def _parse(
    upload: StatementFile,
    account: BankAccountOnFile,
    stored_mapping: Any,
    limits: ParseLimits,
) -> Statement:
    declared = upload.declared_format
    if declared is not None and declared not in {f.value for f in FileFormat}:
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            f"format {declared!r} is not one of camt053, ofx, mt940, csv",
        )
    mapping_json = upload.csv_mapping
    if mapping_json is None and stored_mapping is not None:
        mapping_json = mapping_from_json(stored_mapping)
    mapping = None
    if mapping_json is not None:
        try:
            mapping = to_domain(
                mapping_json,
                default_account=account.identification,
                default_currency=account.currency,
            )
        except BadCsvMapping:
            if upload.csv_mapping is not None or declared == FileFormat.CSV.value:
                raise
            mapping = None  # a stored mapping that no longer fits; only a CSV file needs it
    statement = parse_statement(upload.data, csv_mapping=mapping, limits=limits)
    if declared is not None and statement.file_format.value != declared:
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            f"the file was sent as {declared} but it is {statement.file_format.value}",
        )
    return statement


async def _remember_account(
    uow: UnitOfWork,
    firm_id: str,
    account: BankAccountOnFile,
    statement: Statement,
    upload: StatementFile,
) -> None:
    """Pin the account identification the first statement states; keep a CSV mapping that
    worked for the next file of that bank."""
    values: dict[str, Any] = {}
    if account.identification is None:
        values.update(
            iban=statement.account.iban,
            account_number=statement.account.number,
            bank_code=statement.account.bank_code,
        )
    if statement.file_format is FileFormat.CSV and upload.csv_mapping is not None:
        values["csv_mapping"] = upload.csv_mapping.model_dump(mode="json")
    if values:
        await uow.session.execute(
            bank_accounts.update()
            .where(
                bank_accounts.c.firm_id == firm_id,
                bank_accounts.c.bank_account_id == account.bank_account_id,
            )
            .values(**values)
        )


async def _continuity_breach(
    uow: UnitOfWork,
    firm_id: str,
    bank_account_id: int,
    statement: Statement,
    found: tuple[ContinuityBreak, ...],
    digest: str,
    today: date,
) -> Any:
    dedupe_key = f"statement_continuity_break:{bank_account_id}:{digest}"
    breach_id = deterministic_event_id(firm_id, "breach", dedupe_key)
    last_reconciled = await repository.locked_through(uow.session, firm_id, bank_account_id)
    detail = (
        f"statement {statement.period_start} to {statement.period_end} for bank account "
        f"{bank_account_id} does not chain onto the account's history: "
        + "; ".join(f"{b.kind.value}: {b.detail}" for b in found)
    )
    inserted = await uow.session.execute(
        insert(breaches)
        .values(
            breach_id=breach_id,
            firm_id=firm_id,
            bank_account_id=bank_account_id,
            kind=BreachKind.STATEMENT_CONTINUITY_BREAK.value,
            detected_on=today,
            detail=detail,
            last_reconciled_on=last_reconciled,
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(index_elements=[breaches.c.firm_id, breaches.c.dedupe_key])
        .returning(breaches.c.breach_id)
    )
    if inserted.first() is None:
        return None
    return new_event(
        BreachRaised(
            breach_id=breach_id,
            kind=BreachKind.STATEMENT_CONTINUITY_BREAK,
            bank_account_id=bank_account_id,
            detected_on=today,
            detail=detail,
            last_reconciled_on=last_reconciled,
        ),
        firm_id=firm_id,
        source=SOURCE,
        subject=f"bank-account/{bank_account_id}",
        event_id=deterministic_event_id(firm_id, BreachRaised.event_type, str(breach_id)),
    )


def _minor(amount: Money | None) -> int | None:
    return None if amount is None else amount.amount_minor


def break_json(found: ContinuityBreak) -> dict[str, Any]:
    return {
        "kind": found.kind.value,
        "detail": found.detail,
        "expected": None if found.expected is None else found.expected.model_dump(),
        "found": None if found.found is None else found.found.model_dump(),
        "bank_id": found.bank_id,
    }
