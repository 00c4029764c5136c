"""A bank statement as every format becomes it: one account, one currency, a period, balances
and lines, each line keeping the bank's own id so that re-importing never duplicates it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind


class FileFormat(StrEnum):
    CAMT053 = "camt053"
    OFX = "ofx"
    MT940 = "mt940"
    CSV = "csv"


class BankIdSource(StrEnum):
    """Where a line's ``bank_id`` came from."""

    OFX_FITID = "ofx_fitid"
    CAMT_ACCOUNT_SERVICER_REF = "camt_acct_svcr_ref"
    CAMT_ENTRY_REF = "camt_ntry_ref"
    CAMT_END_TO_END_ID = "camt_end_to_end_id"
    MT940_BANK_REFERENCE = "mt940_bank_reference"
    CONTENT_HASH = "content_hash"  # a stable hash of the normalised line plus its occurrence


_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def compact_account_text(text: str) -> str:
    """An account number or IBAN without spaces, dashes or dots, upper-cased."""
    return re.sub(r"[\s\-.]", "", text).upper()


def looks_like_iban(text: str) -> bool:
    return bool(_IBAN.match(compact_account_text(text)))


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check: move the first four characters to the end, letters to numbers."""
    compact = compact_account_text(iban)
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


@dataclass(frozen=True, slots=True)
class AccountIdentification:
    """The account a statement is for, as the file names it.

    ``iban`` when the file gives one (CAMT ``Acct/Id/IBAN``, an IBAN in MT940 ``:25:`` or OFX
    ``ACCTID``); ``number`` for a domestic account number (OFX ``ACCTID``, MT940 ``:25:`` after the
    bank code, CSV as configured); ``bank_code`` for a BIC, sort code or OFX ``BANKID``.
    """

    iban: str | None = None
    number: str | None = None
    bank_code: str | None = None

    def __post_init__(self) -> None:
        if self.iban is None and self.number is None:
            raise StatementError(
                StatementErrorKind.MISSING_FIELD, "the statement names no account (IBAN or number)"
            )
        if self.iban is not None and not iban_checksum_ok(self.iban):
            raise StatementError(
                StatementErrorKind.MALFORMED, f"{self.iban!r} is not a valid IBAN (check digits)"
            )

    def describe(self) -> str:
        parts = [p for p in (self.iban, self.bank_code, self.number) if p]
        return " / ".join(parts)

    def is_same_account(self, other: AccountIdentification) -> bool:
        """Same IBAN; or same account number; or one side's IBAN ends with the other's number."""
        mine = _identifiers(self)
        theirs = _identifiers(other)
        if self.iban and other.iban:
            return compact_account_text(self.iban) == compact_account_text(other.iban)
        if mine["number"] and theirs["number"] and mine["number"] == theirs["number"]:
            return True
        for iban, number in ((mine["iban"], theirs["number"]), (theirs["iban"], mine["number"])):
            if iban and number and len(number) >= 6 and iban.endswith(number):
                return True
        return False


def _identifiers(account: AccountIdentification) -> dict[str, str]:
    return {
        "iban": compact_account_text(account.iban) if account.iban else "",
        "number": compact_account_text(account.number) if account.number else "",
    }


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One transaction on a statement, signed from the account holder's side (+ money in).

    ``location`` says where in the file the line was read (``line 14``, ``Stmt[1]/Ntry[3]``),
    so that a cashier can find it in the bank's own document.
    """

    bank_id: str
    bank_id_source: BankIdSource
    booking_date: date
    value_date: date
    amount: Money
    description: str
    reference: str | None = None
    counterparty: str | None = None
    location: str = ""

    def __post_init__(self) -> None:
        if not self.bank_id:
            raise StatementError(
                StatementErrorKind.MISSING_FIELD, "a statement line has no bank id", self.location
            )


@dataclass(frozen=True, slots=True)
class Statement:
    """A bank statement for one account in one currency.

    ``opening_balance`` and ``closing_balance`` are the bank's stated balances, ``None`` where
    the format does not state them (OFX states only the closing ``LEDGERBAL``; a CSV export
    without a running balance states neither). Pending entries (CAMT ``Sts`` PDNG) are kept
    apart in ``pending_lines``: visible, never reconciled, not part of the balances.
    """

    file_format: FileFormat
    account: AccountIdentification
    currency: str
    period_start: date
    period_end: date
    opening_balance: Money | None
    closing_balance: Money | None
    lines: tuple[StatementLine, ...]
    pending_lines: tuple[StatementLine, ...] = ()
    statement_number: str | None = None
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"the period ends ({self.period_end}) before it starts ({self.period_start})",
            )
        for balance in (self.opening_balance, self.closing_balance):
            if balance is not None and balance.currency != self.currency:
                raise StatementError(
                    StatementErrorKind.MIXED_CURRENCIES,
                    f"a balance is in {balance.currency}, the statement in {self.currency}",
                )
        seen: dict[str, StatementLine] = {}
        for line in (*self.lines, *self.pending_lines):
            if line.amount.currency != self.currency:
                raise StatementError(
                    StatementErrorKind.MIXED_CURRENCIES,
                    f"the line is in {line.amount.currency}, the statement in {self.currency}",
                    line.location,
                )
            earlier = seen.get(line.bank_id)
            if earlier is not None:
                raise StatementError(
                    StatementErrorKind.DUPLICATE_LINE_ID,
                    f"bank id {line.bank_id!r} is used twice in one statement "
                    f"(also at {earlier.location})",
                    line.location,
                )
            seen[line.bank_id] = line
        object.__setattr__(self, "_ids", frozenset(seen))

    def lines_total(self) -> Money:
        return total(self.lines, self.currency)

    def has_line(self, bank_id: str) -> bool:
        return bank_id in self._ids


def total(lines: Iterable[StatementLine], currency: str) -> Money:
    """Σ of the lines' signed amounts (zero in ``currency`` when there are none)."""
    minor = 0
    for line in lines:
        if line.amount.currency != currency:
            raise StatementError(
                StatementErrorKind.MIXED_CURRENCIES,
                f"the line is in {line.amount.currency}, not {currency}",
                line.location,
            )
        minor += line.amount.amount_minor
    return Money(amount_minor=minor, currency=currency)


def ensure_statement_for_account(statement: Statement, account: AccountIdentification) -> None:
    """Refuse a statement for another account than the one it is being imported into."""
    if not statement.account.is_same_account(account):
        raise StatementError(
            StatementErrorKind.WRONG_ACCOUNT,
            f"the statement is for account {statement.account.describe()}, "
            f"not {account.describe()}",
        )
