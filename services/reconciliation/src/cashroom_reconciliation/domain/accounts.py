"""The firm's bank accounts as this service knows them, and whether a statement is for one.

Clio tells us an account's last four digits, the ledger its currency and kind (office or
client); neither gives the full IBAN or number. The first statement imported for an account
pins the account identification it states; every later statement must name the same account.
Before anything is pinned, a statement must end with the account's last four digits (when Clio
gave them), and must not name an account already pinned to another of the firm's accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cashroom_contracts.events.common import AccountKind
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    Statement,
    compact_account_text,
    ensure_statement_for_account,
)


@dataclass(frozen=True, slots=True)
class BankAccountOnFile:
    bank_account_id: int
    kind: AccountKind
    currency: str
    name: str | None = None
    identification: AccountIdentification | None = None  # pinned by the first statement
    number_last4: str | None = None  # from Clio ("****4321" → "4321")

    def describe(self) -> str:
        return f"bank account {self.bank_account_id}" + (f" ({self.name})" if self.name else "")


def last4_of(account_number: str | None) -> str | None:
    """The last four digits of a masked account number as Clio shows it (``****4321``)."""
    if not account_number:
        return None
    digits = "".join(ch for ch in account_number if ch.isalnum())
    return digits[-4:].upper() if len(digits) >= 4 else None


def check_statement_is_for(
    statement: Statement, account: BankAccountOnFile, others: Iterable[BankAccountOnFile] = ()
) -> None:
    """Refuse a statement in another currency, or for another account than ``account``."""
    if statement.currency != account.currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"the statement is in {statement.currency}; {account.describe()} is kept in "
            f"{account.currency}",
        )
    if account.identification is not None:
        ensure_statement_for_account(statement, account.identification)
        return
    for other in others:
        if (
            other.bank_account_id != account.bank_account_id
            and other.identification is not None
            and other.identification.is_same_account(statement.account)
        ):
            raise StatementError(
                StatementErrorKind.WRONG_ACCOUNT,
                f"the statement is for account {statement.account.describe()}, which is "
                f"{other.describe()}, not {account.describe()}",
            )
    if account.number_last4 is not None:
        stated = [
            compact_account_text(text)
            for text in (statement.account.iban, statement.account.number)
            if text
        ]
        if not any(text.endswith(account.number_last4) for text in stated):
            raise StatementError(
                StatementErrorKind.WRONG_ACCOUNT,
                f"the statement is for account {statement.account.describe()}, but "
                f"{account.describe()} ends in {account.number_last4}",
            )
