"""One file, one statement: consecutive statements in a file (a month of daily camt.053 ``Stmt``
or MT940 ``:20:`` blocks) become one statement when they are for one account and chain
(each opening is the previous closing). Anything else is refused, naming the part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    FileFormat,
    Statement,
    StatementLine,
)


@dataclass(frozen=True, slots=True)
class StatementPart:
    account: AccountIdentification
    currency: str
    period_start: date
    period_end: date
    opening_balance: Money
    closing_balance: Money
    lines: tuple[StatementLine, ...]
    pending_lines: tuple[StatementLine, ...]
    statement_number: str | None
    location: str


def merge_parts(file_format: FileFormat, parts: list[StatementPart]) -> Statement:
    first = parts[0]
    previous = first
    for part in parts[1:]:
        if not part.account.is_same_account(first.account):
            raise StatementError(
                StatementErrorKind.UNSUPPORTED,
                f"the file holds statements for more than one account "
                f"({first.account.describe()} and {part.account.describe()}); "
                "import each account's file separately",
                part.location,
            )
        if part.currency != first.currency:
            raise StatementError(
                StatementErrorKind.MIXED_CURRENCIES,
                f"a {part.currency} statement follows a {first.currency} one in the same file",
                part.location,
            )
        if part.opening_balance != previous.closing_balance:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"this statement opens at {part.opening_balance} but the one before it in the "
                f"file closed at {previous.closing_balance}",
                part.location,
            )
        previous = part
    last = parts[-1]
    numbers = [p.statement_number for p in parts if p.statement_number]
    number = None
    if numbers:
        number = numbers[0] if len(numbers) == 1 else f"{numbers[0]}..{numbers[-1]}"
    return Statement(
        file_format=file_format,
        account=first.account,
        currency=first.currency,
        period_start=min(p.period_start for p in parts),
        period_end=max(p.period_end for p in parts),
        opening_balance=first.opening_balance,
        closing_balance=last.closing_balance,
        lines=tuple(line for p in parts for line in p.lines),
        pending_lines=tuple(line for p in parts for line in p.pending_lines),
        statement_number=number,
    )
