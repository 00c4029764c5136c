"""Bank CSV exports, read through a per-account column mapping.

Columns are named by header text (case and surrounding spaces ignored) or by 0-based index.
Three sign conventions: one signed amount column; separate debit (paid out) and credit (paid
in) columns; or an amount column with a DR/CR indicator column. A running balance column, when
mapped, gives the opening and closing balances and is checked row by row. A CSV line has no
bank id, so it gets a hash of its normalised fields plus its occurrence among identical lines.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.parsing.values import (
    NumberFormat,
    check_currency,
    clean_text,
    content_id,
    decode_text,
    formatted_amount,
    formatted_date,
    money_from_decimal,
)
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    Statement,
    StatementLine,
)

Column = str | int


@dataclass(frozen=True, slots=True)
class SignedAmount:
    """One amount column, negative for money out (``negate`` if the bank shows debits positive)."""

    column: Column
    negate: bool = False


@dataclass(frozen=True, slots=True)
class DebitCreditColumns:
    """Separate columns for money out (debit, paid out) and money in (credit, paid in)."""

    debit: Column
    credit: Column


@dataclass(frozen=True, slots=True)
class AmountWithIndicator:
    """An unsigned amount plus a column saying DR or CR."""

    amount: Column
    indicator: Column
    debit_codes: frozenset[str] = frozenset({"DR", "D", "DEBIT", "DB"})
    credit_codes: frozenset[str] = frozenset({"CR", "C", "CREDIT"})


AmountConvention = SignedAmount | DebitCreditColumns | AmountWithIndicator


class RowOrder(StrEnum):
    OLDEST_FIRST = "oldest_first"
    NEWEST_FIRST = "newest_first"
    AUTO = "auto"  # newest first when the first row is dated after the last


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """How one bank's CSV export maps onto a statement (configured per bank account)."""

    account: AccountIdentification
    currency: str
    booking_date: Column
    amount: AmountConvention
    description: tuple[Column, ...]
    value_date: Column | None = None
    reference: Column | None = None
    counterparty: Column | None = None
    balance: Column | None = None
    currency_column: Column | None = None
    date_formats: tuple[str, ...] = ("%d/%m/%Y",)
    number_format: NumberFormat = field(default_factory=NumberFormat)
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_line: int = 1  # 1-based; lines above it (a bank's preamble) are skipped
    row_order: RowOrder = RowOrder.AUTO

    def __post_init__(self) -> None:
        if not self.description:
            raise ValueError("map at least one description column")
        if not self.date_formats:
            raise ValueError("give at least one date format")
        if self.header_line < 1:
            raise ValueError("header_line is 1-based")
        check_currency(self.currency, None)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    booking_date: date
    value_date: date
    amount: Money
    balance: Money | None
    description: str
    reference: str | None
    counterparty: str | None


class _Columns:
    """Resolves a mapping's columns against the header once."""

    def __init__(self, header: Sequence[str], header_line: int) -> None:
        self.names = {clean_text(name).casefold(): i for i, name in enumerate(header)}
        self.width = len(header)
        self.header_line = header_line

    def index(self, column: Column) -> int:
        if isinstance(column, int):
            if not 0 <= column < self.width:
                raise StatementError(
                    StatementErrorKind.MISSING_FIELD,
                    f"column {column} is mapped but the header has {self.width} columns",
                    f"line {self.header_line}",
                )
            return column
        found = self.names.get(clean_text(column).casefold())
        if found is None:
            raise StatementError(
                StatementErrorKind.MISSING_FIELD,
                f"the header has no column {column!r}",
                f"line {self.header_line}",
            )
        return found


def parse_csv(data: bytes, mapping: CsvMapping, max_lines: int) -> Statement:
    text = decode_text(data, mapping.encoding, "CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
    header: list[str] | None = None
    rows: list[_Row] = []
    columns: _Columns | None = None
    try:
        for record in reader:
            line = reader.line_num
            if line > max_lines:
                raise StatementError(
                    StatementErrorKind.OVERSIZED, f"more than {max_lines} lines", f"line {line}"
                )
            if header is None:
                if line >= mapping.header_line and any(cell.strip() for cell in record):
                    header = record
                    columns = _Columns(header, line)
                continue
            if not any(cell.strip() for cell in record):
                continue
            assert columns is not None
            if len(record) != columns.width:
                raise StatementError(
                    StatementErrorKind.MALFORMED,
                    f"{len(record)} fields where the header has {columns.width}",
                    f"line {line}",
                )
            rows.append(_row(record, line, mapping, columns))
    except csv.Error as exc:
        raise StatementError(
            StatementErrorKind.MALFORMED, f"not readable as CSV: {exc}", f"line {reader.line_num}"
        ) from exc
    if header is None:
        raise StatementError(StatementErrorKind.MALFORMED, "the file has no header line")
    if not rows:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the file has no transactions")
    ordered = _chronological(rows, mapping.row_order)
    opening, closing = _balances(ordered)
    lines = _lines(ordered, mapping.currency)
    return Statement(
        file_format=FileFormat.CSV,
        account=mapping.account,
        currency=mapping.currency,
        period_start=min(r.booking_date for r in rows),
        period_end=max(r.booking_date for r in rows),
        opening_balance=opening,
        closing_balance=closing,
        lines=lines,
    )


def _cell(record: Sequence[str], columns: _Columns, column: Column | None) -> str:
    return "" if column is None else record[columns.index(column)].strip()


def _row(
    record: Sequence[str],
    line: int,
    mapping: CsvMapping,
    columns: _Columns,
) -> _Row:
    where = f"line {line}"
    currency = mapping.currency
    if mapping.currency_column is not None:
        found = check_currency(_cell(record, columns, mapping.currency_column), where)
        if found != currency:
            raise StatementError(
                StatementErrorKind.MIXED_CURRENCIES,
                f"the line is in {found}, the account in {currency}",
                where,
            )
    booking_text = _cell(record, columns, mapping.booking_date)
    if not booking_text:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the date is empty", where)
    booking = formatted_date(booking_text, mapping.date_formats, where)
    value_text = _cell(record, columns, mapping.value_date)
    value = formatted_date(value_text, mapping.date_formats, where) if value_text else booking
    amount = money_from_decimal(_signed_amount(record, mapping, columns, where), currency, where)
    balance_text = _cell(record, columns, mapping.balance)
    balance = None
    if mapping.balance is not None:
        if not balance_text:
            raise StatementError(StatementErrorKind.MISSING_FIELD, "the balance is empty", where)
        balance = money_from_decimal(_number(balance_text, mapping, where), currency, where)
    description = clean_text(" ".join(_cell(record, columns, c) for c in mapping.description))
    return _Row(
        line=line,
        booking_date=booking,
        value_date=value,
        amount=amount,
        balance=balance,
        description=description,
        reference=_cell(record, columns, mapping.reference) or None,
        counterparty=clean_text(_cell(record, columns, mapping.counterparty)) or None,
    )


def _number(text: str, mapping: CsvMapping, where: str) -> Decimal:
    return formatted_amount(text, mapping.number_format, where)


def _signed_amount(
    record: Sequence[str], mapping: CsvMapping, columns: _Columns, where: str
) -> Decimal:
    convention = mapping.amount
    if isinstance(convention, SignedAmount):
        text = _cell(record, columns, convention.column)
        if not text:
            raise StatementError(StatementErrorKind.MISSING_FIELD, "the amount is empty", where)
        value = _number(text, mapping, where)
        return -value if convention.negate else value
    if isinstance(convention, DebitCreditColumns):
        debit_text = _cell(record, columns, convention.debit)
        credit_text = _cell(record, columns, convention.credit)
        debit = _number(debit_text, mapping, where) if debit_text else Decimal(0)
        credit = _number(credit_text, mapping, where) if credit_text else Decimal(0)
        if debit < 0 or credit < 0:
            raise StatementError(
                StatementErrorKind.BAD_AMOUNT,
                "a debit or credit column holds a negative amount; map a signed amount instead",
                where,
            )
        if debit and credit:
            raise StatementError(
                StatementErrorKind.BAD_AMOUNT, "both the debit and the credit are filled", where
            )
        if not debit_text and not credit_text:
            raise StatementError(
                StatementErrorKind.MISSING_FIELD, "neither a debit nor a credit amount", where
            )
        return credit - debit
    text = _cell(record, columns, convention.amount)
    if not text:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the amount is empty", where)
    value = _number(text, mapping, where)
    if value < 0:
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT, "the amount is negative beside a DR/CR indicator", where
        )
    indicator = _cell(record, columns, convention.indicator).upper()
    if indicator in {c.upper() for c in convention.debit_codes}:
        return -value
    if indicator in {c.upper() for c in convention.credit_codes}:
        return value
    raise StatementError(
        StatementErrorKind.MALFORMED, f"indicator {indicator!r} is neither debit nor credit", where
    )


def _chronological(rows: list[_Row], order: RowOrder) -> list[_Row]:
    newest_first = order is RowOrder.NEWEST_FIRST or (
        order is RowOrder.AUTO and rows[0].booking_date > rows[-1].booking_date
    )
    ordered = list(reversed(rows)) if newest_first else list(rows)
    for earlier, later in itertools.pairwise(ordered):
        if later.booking_date < earlier.booking_date:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"dated {later.booking_date} among lines dated {earlier.booking_date} and after: "
                "the rows are not in date order",
                f"line {later.line}",
            )
    return ordered


def _balances(rows: list[_Row]) -> tuple[Money | None, Money | None]:
    if rows[0].balance is None:
        return None, None
    previous: Money | None = None
    for row in rows:
        assert row.balance is not None
        if previous is not None and previous + row.amount != row.balance:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"running balance {row.balance} is not the previous balance {previous} "
                f"plus this line's {row.amount}",
                f"line {row.line}",
            )
        previous = row.balance
    first, last = rows[0], rows[-1]
    assert first.balance is not None and last.balance is not None
    return first.balance - first.amount, last.balance


def _lines(rows: list[_Row], currency: str) -> tuple[StatementLine, ...]:
    occurrences: dict[tuple[str, ...], int] = {}
    lines: list[StatementLine] = []
    for row in rows:
        fields = (
            currency,
            row.booking_date.isoformat(),
            row.value_date.isoformat(),
            str(row.amount.amount_minor),
            row.description,
            row.reference or "",
            row.counterparty or "",
        )
        occurrence = occurrences.get(fields, 0)
        occurrences[fields] = occurrence + 1
        lines.append(
            StatementLine(
                bank_id=content_id(fields, occurrence),
                bank_id_source=BankIdSource.CONTENT_HASH,
                booking_date=row.booking_date,
                value_date=row.value_date,
                amount=row.amount,
                description=row.description,
                reference=row.reference,
                counterparty=row.counterparty,
                location=f"line {row.line}",
            )
        )
    return tuple(lines)
