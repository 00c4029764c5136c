"""Is a statement for this bank account: currency, the pinned identification, Clio's last four
digits, and no other account's pinned identification."""

from datetime import date

import pytest

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    BankAccountOnFile,
    FileFormat,
    Statement,
    StatementError,
    StatementErrorKind,
    check_statement_is_for,
    last4_of,
)


def iban(bban: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in bban + "IE00")
    return f"IE{98 - int(digits) % 97:02d}{bban}"


CLIENT_IBAN, OFFICE_IBAN = iban("AIBK93115212344321"), iban("AIBK93115212341001")


def statement(account: str, currency: str = "EUR") -> Statement:
    zero = Money(amount_minor=0, currency=currency)
    return Statement(
        FileFormat.CAMT053, AccountIdentification(iban=account), currency,
        date(2025, 3, 1), date(2025, 3, 31), zero, zero, (),
    )  # fmt: skip


def client(**changes: object) -> BankAccountOnFile:
    values: dict[str, object] = {
        "bank_account_id": 7002,
        "kind": AccountKind.CLIENT,
        "currency": "EUR",
        "name": "Client Account",
        "number_last4": "4321",
    }
    values.update(changes)
    return BankAccountOnFile(**values)  # type: ignore[arg-type]


def refused(kind: StatementErrorKind, call: object) -> str:
    assert callable(call)
    with pytest.raises(StatementError) as caught:
        call()
    assert caught.value.kind is kind
    return caught.value.reason


def test_a_statement_ending_in_the_accounts_last_four_digits_is_accepted() -> None:
    check_statement_is_for(statement(CLIENT_IBAN), client())
    assert last4_of("****4321") == "4321"


def test_another_accounts_digits_another_currency_or_a_pinned_mismatch_are_refused() -> None:
    reason = refused(
        StatementErrorKind.WRONG_ACCOUNT,
        lambda: check_statement_is_for(statement(OFFICE_IBAN), client()),
    )
    assert "ends in 4321" in reason
    reason = refused(
        StatementErrorKind.MIXED_CURRENCIES,
        lambda: check_statement_is_for(statement(CLIENT_IBAN, "GBP"), client()),
    )
    assert "kept in EUR" in reason
    pinned = client(identification=AccountIdentification(iban=CLIENT_IBAN), number_last4=None)
    refused(
        StatementErrorKind.WRONG_ACCOUNT,
        lambda: check_statement_is_for(statement(OFFICE_IBAN), pinned),
    )


def test_a_statement_already_pinned_to_another_account_is_refused() -> None:
    office = BankAccountOnFile(
        7001, AccountKind.OFFICE, "EUR", "Office", AccountIdentification(iban=OFFICE_IBAN)
    )
    unpinned = client(number_last4=None)
    reason = refused(
        StatementErrorKind.WRONG_ACCOUNT,
        lambda: check_statement_is_for(statement(OFFICE_IBAN), unpinned, [office, unpinned]),
    )
    assert "bank account 7001 (Office)" in reason
