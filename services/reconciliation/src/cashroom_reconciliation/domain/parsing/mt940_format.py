"""SWIFT MT940 customer statements, read with the ``mt-940`` package.

A first pass here maps every tag to its line number and checks the structure the library
tolerates silently (an unknown tag, a statement with no closing balance, a file cut short);
the library then reads the tags (dates with the entry-date year boundary, debit/credit marks
including the reversals RC and RD, ``:86:`` narratives). The line's bank id is the ``:61:``
bank reference (after ``//``) with its value date and amount, as the reference is only unique
per day at some banks; a line without a bank reference gets a content hash.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import mt940

from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.parsing.merge import StatementPart, merge_parts
from cashroom_reconciliation.domain.parsing.values import (
    check_currency,
    clean_text,
    content_id,
    money_from_decimal,
)
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    Statement,
    StatementLine,
    iban_checksum_ok,
    looks_like_iban,
)

_TAG = re.compile(r"^:(?P<tag>[0-9]{2}[A-Z]?|NS):(?P<value>.*)$")
_KNOWN_TAGS = {
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60F", "60M", "61", "62F",
    "62M", "64", "65", "86", "90C", "90D", "NS",
}  # fmt: skip
_STATEMENT_LINE = re.compile(r"^\d{6}(\d{4}|\s{4})?R?[DC][A-Z]?[\n ]?[\d,]{1,15}")
_BALANCE = re.compile(r"^[CD]\d{6}[A-Z]{3}[\d,]{1,15}$")
_NOT_A_REFERENCE = {"", "NONREF", "NOTPROVIDED"}


@dataclass(frozen=True, slots=True)
class _Tag:
    tag: str
    line: int
    value: str


def parse_mt940(data: bytes) -> Statement:
    tags = _tags(_decode(data))
    blocks = _blocks(tags)
    try:
        parsed = mt940.parse_statements(io.StringIO(_canonical(tags)), options=mt940.Options.all())
    except Exception as exc:  # the library raises RuntimeError (and others) on a bad tag
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"MT940 tag not readable: {_reason(exc)}",
            _where(exc, blocks),
        ) from exc
    if len(parsed) != len(blocks):
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"found {len(blocks)} statements (:20:) but read {len(parsed)}",
        )
    return merge_parts(FileFormat.MT940, [_part(b, p) for b, p in zip(blocks, parsed, strict=True)])


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _tags(text: str) -> list[_Tag]:
    tags: list[_Tag] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        match = _TAG.match(line)
        if match:
            tag = match.group("tag")
            if tag not in _KNOWN_TAGS:
                raise StatementError(
                    StatementErrorKind.MALFORMED, f"unknown MT940 tag :{tag}:", f"line {number}"
                )
            tags.append(_Tag(tag, number, match.group("value")))
        elif line.startswith("{"):
            # SWIFT envelope: {1:...}{2:...}{4: and the tags follow; -} closes it.
            rest = line.split("{4:", 1)[1] if "{4:" in line else ""
            if rest.strip():
                raise StatementError(
                    StatementErrorKind.MALFORMED,
                    "the SWIFT envelope must end its line after {4: (tags go on their own lines)",
                    f"line {number}",
                )
        elif line.startswith("-}"):
            continue
        elif tags and line:
            last = tags[-1]
            tags[-1] = _Tag(last.tag, last.line, f"{last.value}\n{line}")
        elif not tags and line:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"expected an MT940 tag such as :20:, found {line[:40]!r}",
                f"line {number}",
            )
    return tags


def _canonical(tags: list[_Tag]) -> str:
    """The tags alone, for the library: no SWIFT envelope, and no statement-level ``:86:``
    (one after a balance rather than after a ``:61:``), which it would glue onto the last line."""
    kept: list[str] = []
    previous = ""
    for tag in tags:
        if tag.tag != "86" or previous == "61":
            kept.append(f":{tag.tag}:{tag.value}")
        previous = tag.tag
    return "\n".join(kept) + "\n"


def _blocks(tags: list[_Tag]) -> list[list[_Tag]]:
    if not tags:
        raise StatementError(StatementErrorKind.MALFORMED, "the file holds no MT940 tags")
    blocks: list[list[_Tag]] = []
    for tag in tags:
        if tag.tag == "20":
            blocks.append([])
        elif not blocks:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"tag :{tag.tag}: comes before the first :20:",
                f"line {tag.line}",
            )
        blocks[-1].append(tag)
    for index, block in enumerate(blocks):
        present = {t.tag for t in block}
        last_line = block[-1].line
        for needed, what in (("25", "account (:25:)"), ("60", "opening balance (:60F:/:60M:)")):
            if not any(t.startswith(needed) for t in present):
                raise StatementError(
                    StatementErrorKind.MISSING_FIELD,
                    f"the statement starting at line {block[0].line} has no {what}",
                    f"line {block[0].line}",
                )
        if not any(t.startswith("62") for t in present):
            cut_short = index == len(blocks) - 1
            raise StatementError(
                StatementErrorKind.TRUNCATED if cut_short else StatementErrorKind.MISSING_FIELD,
                "no closing balance (:62F:/:62M:)"
                + (": the file is cut short" if cut_short else ""),
                f"line {last_line}",
            )
        for tag in block:
            _check_tag(tag)
    return blocks


def _check_tag(tag: _Tag) -> None:
    """What the library would misread or fail on without a line number: the shape of a
    statement line or balance, and that its dates exist."""
    first_line = tag.value.splitlines()[0] if tag.value else ""
    if tag.tag == "61":
        if not _STATEMENT_LINE.match(tag.value):
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"statement line {first_line!r} does not read as date, debit/credit mark and "
                "amount",
                f"line {tag.line}",
            )
        _check_yymmdd(first_line[:6], tag)
    elif tag.tag[:2] in {"60", "62", "64", "65"}:
        if not _BALANCE.match(first_line):
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"balance {first_line!r} does not read as mark, date, currency and amount",
                f"line {tag.line}",
            )
        _check_yymmdd(first_line[1:7], tag)


def _check_yymmdd(text: str, tag: _Tag) -> None:
    try:
        date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise StatementError(
            StatementErrorKind.BAD_DATE, f"{text!r} is not a date (YYMMDD)", f"line {tag.line}"
        ) from exc


def _reason(exc: BaseException) -> str:
    first = exc.args[0] if exc.args else exc
    return str(first).splitlines()[0][:200]


def _where(exc: BaseException, blocks: list[list[_Tag]]) -> str | None:
    texts = [a for a in exc.args if isinstance(a, str)]
    for block in blocks:
        for tag in block:
            if any(t.strip() and t.strip() in tag.value for t in texts):
                return f"line {tag.line}"
    return None


def _account(tag: _Tag) -> AccountIdentification:
    value = tag.value.strip()
    parts = [p.strip() for p in value.split("/") if p.strip()]
    if not parts:
        raise StatementError(StatementErrorKind.MISSING_FIELD, ":25: is empty", f"line {tag.line}")
    last = parts[-1]
    bank_code = parts[0] if len(parts) > 1 else None
    try:
        if looks_like_iban(last):
            if not iban_checksum_ok(last):
                raise StatementError(
                    StatementErrorKind.MALFORMED, f"{last!r} is not a valid IBAN (check digits)"
                )
            return AccountIdentification(iban=last, bank_code=bank_code)
        return AccountIdentification(number=last, bank_code=bank_code)
    except StatementError as exc:
        raise StatementError(exc.kind, exc.reason, f"line {tag.line}") from exc


def _plain_date(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _balance(data: dict[str, Any], keys: tuple[str, ...], tag: _Tag) -> tuple[Decimal, str, date]:
    for key in keys:
        balance = data.get(key)
        if balance is not None and balance.amount is not None and balance.date is not None:
            amount = balance.amount.amount
            if not isinstance(amount, Decimal):
                break
            currency = check_currency(str(balance.amount.currency), f"line {tag.line}")
            return amount, currency, _plain_date(balance.date)
    raise StatementError(StatementErrorKind.MALFORMED, "balance not readable", f"line {tag.line}")


def _part(block: list[_Tag], parsed: Any) -> StatementPart:
    def first(prefix: str) -> _Tag:
        return next(t for t in block if t.tag.startswith(prefix))

    data: dict[str, Any] = parsed.data
    opening_tag, closing_tag = first("60"), first("62")
    opening_amount, currency, opening_date = _balance(
        data, ("final_opening_balance", "intermediate_opening_balance"), opening_tag
    )
    closing_amount, closing_currency, closing_date = _balance(
        data, ("final_closing_balance", "intermediate_closing_balance"), closing_tag
    )
    if closing_currency != currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"closing balance in {closing_currency}, opening in {currency}",
            f"line {closing_tag.line}",
        )
    statement_lines = [t for t in block if t.tag == "61"]
    transactions = list(parsed)
    if len(transactions) != len(statement_lines):
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"{len(statement_lines)} statement lines (:61:) but {len(transactions)} read",
            f"line {block[0].line}",
        )
    occurrences: dict[tuple[str, ...], int] = {}
    lines = tuple(
        _line(tag, tx.data, currency, occurrences)
        for tag, tx in zip(statement_lines, transactions, strict=True)
    )
    number = data.get("statement_number")
    sequence = data.get("sequence_number")
    return StatementPart(
        account=_account(first("25")),
        currency=currency,
        # The opening balance is dated the day it was struck, like camt's PRCD: the period
        # starts the day after, unless the statement opens and closes on one day.
        period_start=opening_date + timedelta(days=1)
        if opening_date < closing_date
        else closing_date,
        period_end=closing_date,
        opening_balance=money_from_decimal(opening_amount, currency, f"line {opening_tag.line}"),
        closing_balance=money_from_decimal(closing_amount, currency, f"line {closing_tag.line}"),
        lines=lines,
        pending_lines=(),
        statement_number=f"{number}/{sequence}" if number and sequence else number,
        location=f"line {block[0].line}",
    )


def _line(
    tag: _Tag, data: dict[str, Any], currency: str, occurrences: dict[tuple[str, ...], int]
) -> StatementLine:
    where = f"line {tag.line}"
    amount_model = data.get("amount")
    amount = getattr(amount_model, "amount", None)
    if not isinstance(amount, Decimal):
        raise StatementError(StatementErrorKind.BAD_AMOUNT, "the amount is not readable", where)
    line_currency = str(data.get("currency") or currency)
    if line_currency != currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"the line is in {line_currency}, the statement in {currency}",
            where,
        )
    money = money_from_decimal(amount, currency, where)
    value_date = _plain_date(data["date"])
    entry = data.get("entry_date")
    booking_date = _plain_date(entry) if entry is not None else value_date
    bank_reference = str(data.get("bank_reference") or "").strip()
    customer_reference = str(data.get("customer_reference") or "").strip()
    details = clean_text(str(data.get("transaction_details") or ""))
    extra = clean_text(str(data.get("extra_details") or ""))
    description = details or extra
    reference = customer_reference if customer_reference.upper() not in _NOT_A_REFERENCE else None
    if bank_reference.upper() not in _NOT_A_REFERENCE:
        bank_id = f"{bank_reference}/{value_date:%Y%m%d}/{money.amount_minor}"
        source = BankIdSource.MT940_BANK_REFERENCE
    else:
        fields = (
            currency,
            booking_date.isoformat(),
            value_date.isoformat(),
            str(money.amount_minor),
            description,
            reference or "",
        )
        occurrence = occurrences.get(fields, 0)
        occurrences[fields] = occurrence + 1
        bank_id, source = content_id(fields, occurrence), BankIdSource.CONTENT_HASH
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=source,
        booking_date=booking_date,
        value_date=value_date,
        amount=money,
        description=description,
        reference=reference,
        counterparty=None,
        location=where,
    )
