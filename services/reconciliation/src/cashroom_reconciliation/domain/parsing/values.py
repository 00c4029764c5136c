"""Reading amounts, dates and text out of statement files: Decimal from the text, never a float."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from cashroom_contracts.money import Money, minor_unit_exponent
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind

_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Plain decimal text as XML schemas and OFX write it: optional sign, digits, one separator.
_PLAIN_DECIMAL = re.compile(r"^[+-]?[0-9]{1,18}(?:[.,][0-9]{1,18})?$")
_MAX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much a single statement file may hold before it is refused unread."""

    max_bytes: int = 20 * 1024 * 1024
    max_lines: int = 200_000


def check_currency(code: str, location: str | None) -> str:
    code = code.strip().upper()
    if not _CURRENCY.match(code):
        raise StatementError(
            StatementErrorKind.MALFORMED, f"{code!r} is not an ISO 4217 currency code", location
        )
    return code


def money_from_decimal(value: Decimal, currency: str, location: str | None) -> Money:
    """Exact minor units, or a StatementError when the amount has more decimals than allowed."""
    scaled = value.scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise StatementError(
            StatementErrorKind.AMOUNT_PRECISION,
            f"amount {value} has more decimal places than {currency} allows "
            f"({minor_unit_exponent(currency)})",
            location,
        )
    return Money(amount_minor=int(scaled), currency=currency)


def plain_amount(text: str | None, currency: str, location: str) -> Money:
    """An amount written as plain decimal text (CAMT, OFX): ``1234.56``, ``-12,50``."""
    if text is None or not text.strip():
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the amount is empty", location)
    compact = text.strip()
    if not _PLAIN_DECIMAL.match(compact):
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT, f"{compact!r} is not a decimal amount", location
        )
    return money_from_decimal(Decimal(compact.replace(",", ".")), currency, location)


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """How a CSV export writes numbers: ``1,234.56`` (UK/IE) or ``1.234,56`` (much of the EU)."""

    decimal_separator: str = "."
    thousands_separator: str | None = ","

    def __post_init__(self) -> None:
        if self.decimal_separator not in {".", ","}:
            raise ValueError("the decimal separator must be '.' or ','")
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("the thousands and decimal separators must differ")
        if self.thousands_separator not in {None, ",", ".", " ", "'", "\u00a0", "\u202f"}:
            raise ValueError(f"unsupported thousands separator {self.thousands_separator!r}")

    def pattern(self) -> re.Pattern[str]:
        dec = re.escape(self.decimal_separator)
        fraction = f"(?:{dec}[0-9]+)?"
        if self.thousands_separator is None:
            return re.compile(f"^[0-9]+{fraction}$")
        thou = re.escape(self.thousands_separator)
        return re.compile(f"^(?:[0-9]{{1,3}}(?:{thou}[0-9]{{3}})+|[0-9]+){fraction}$")


_SYMBOLS = "£€$"


@functools.lru_cache(maxsize=32)
def _number_pattern(number_format: NumberFormat) -> re.Pattern[str]:
    return number_format.pattern()


def formatted_amount(text: str, number_format: NumberFormat, location: str) -> Decimal:
    """A human-formatted amount as banks export it to CSV.

    Accepts a leading ``-``/``+``, a trailing ``-``, parentheses for a negative, a currency
    symbol (£ € $) and the configured separators (thousands in groups of three only).
    Returns the signed Decimal; refuses anything else.
    """
    raw = text
    body = text.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    if body[:1] in "+-" and body:
        negative, body = negative ^ (body[0] == "-"), body[1:].strip()
    elif body.endswith("-"):
        negative, body = True, body[:-1].strip()
    if body[:1] and body[:1] in _SYMBOLS:
        body = body[1:].strip()
        if body[:1] in "+-" and body:
            negative, body = negative ^ (body[0] == "-"), body[1:].strip()
    elif body[-1:] and body[-1:] in _SYMBOLS:
        body = body[:-1].strip()
    if not _number_pattern(number_format).match(body):
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT, f"{raw.strip()!r} is not an amount", location
        )
    if number_format.thousands_separator is not None:
        body = body.replace(number_format.thousands_separator, "")
    body = body.replace(number_format.decimal_separator, ".")
    if len(body.replace(".", "")) > _MAX_DIGITS:
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT, f"{raw.strip()!r} is too long", location
        )
    try:
        value = Decimal(body)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT, f"{raw.strip()!r} is not an amount", location
        ) from exc
    return -value if negative else value


def iso_date(text: str | None, location: str) -> date:
    """``2024-01-05`` or an ISO date-time whose date part is taken as the bank wrote it."""
    if text is None or not text.strip():
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the date is empty", location)
    compact = text.strip()
    try:
        return date.fromisoformat(compact[:10])
    except ValueError as exc:
        raise StatementError(
            StatementErrorKind.BAD_DATE, f"{compact!r} is not a date (YYYY-MM-DD)", location
        ) from exc


def formatted_date(text: str, formats: tuple[str, ...], location: str) -> date:
    """A date in the first of ``formats`` (``strptime`` codes) that reads it."""
    compact = text.strip()
    for fmt in formats:
        try:
            return datetime.strptime(compact, fmt).date()  # noqa: DTZ007 - a calendar date only
        except ValueError:
            continue
    raise StatementError(
        StatementErrorKind.BAD_DATE,
        f"{compact!r} does not parse as a date ({' or '.join(formats)})",
        location,
    )


def content_id(fields: tuple[str, ...], occurrence: int) -> str:
    """A stable id for a line without a bank id: SHA-256 of its normalised fields + occurrence.

    Two genuinely identical lines in one file get occurrences 0 and 1 and stay two lines;
    re-importing the same file (or an overlapping one) gives the same ids.
    """
    digest = hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()
    return f"{digest[:24]}-{occurrence}"


def clean_text(text: str | None) -> str:
    """Whitespace collapsed to single spaces; ``None`` becomes empty."""
    return " ".join(text.split()) if text else ""


def line_of_offset(data: bytes | str, offset: int) -> int:
    """1-based line number of a byte or character offset."""
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    return data.count("\n", 0, offset) + 1


def decode_text(data: bytes, encoding: str, what: str) -> str:
    """Decode with the declared encoding; a bad byte is an error naming its line."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"byte {data[exc.start : exc.start + 1]!r} is not valid {encoding} in this {what}",
            f"line {line_of_offset(data, exc.start)}",
        ) from exc
    except LookupError as exc:
        raise StatementError(
            StatementErrorKind.UNSUPPORTED, f"unknown text encoding {encoding!r}"
        ) from exc
