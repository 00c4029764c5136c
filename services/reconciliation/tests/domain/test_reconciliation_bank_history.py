"""The bank balance on a date, read from the imported statements (stated or carried balances)."""

from datetime import date

import pytest

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    AccountPosition,
    BankIdSource,
    FileFormat,
    ImportedStatement,
    NoStatementBalance,
    Statement,
    StatementLine,
    bank_balance_on,
    carried_balances,
    position_of,
)

ACCOUNT = AccountIdentification(number="12344321")


def eur(cents: int) -> Money:
    return Money(amount_minor=cents, currency="EUR")


def line(bank_id: str, day: date, cents: int) -> StatementLine:
    return StatementLine(bank_id, BankIdSource.OFX_FITID, day, day, eur(cents), "x")


MARCH = [line("a", date(2025, 3, 3), 100_000), line("b", date(2025, 3, 12), -30_000)]
APRIL = [line("c", date(2025, 4, 2), 25_000)]


def imported(
    sid: str, start: date, end: date, opening: int | None, closing: int | None, seq: int
) -> ImportedStatement:
    return ImportedStatement(
        sid,
        start,
        end,
        None if opening is None else eur(opening),
        None if closing is None else eur(closing),
        seq,
    )


def test_the_balance_is_the_opening_plus_the_lines_booked_through_the_day() -> None:
    march = imported("m", date(2025, 3, 1), date(2025, 3, 31), 5_000, 75_000, 0)

    assert bank_balance_on(date(2025, 2, 28), [march], MARCH)[0] == eur(5_000)
    assert bank_balance_on(date(2025, 3, 11), [march], MARCH)[0] == eur(5_000 + 100_000)
    assert bank_balance_on(date(2025, 3, 31), [march], MARCH)[0] == eur(5_000 + 100_000 - 30_000)


def test_a_statement_stating_only_its_closing_is_read_backwards() -> None:
    march = imported("m", date(2025, 3, 1), date(2025, 3, 31), None, 75_000, 0)

    assert bank_balance_on(date(2025, 3, 11), [march], MARCH)[0] == eur(75_000 + 30_000)


def test_of_two_statements_covering_the_day_the_one_ending_later_is_read() -> None:
    march = imported("m", date(2025, 3, 1), date(2025, 3, 31), 0, 70_000, 0)
    overlapping = imported("o", date(2025, 3, 20), date(2025, 4, 30), 70_000, 95_000, 1)

    balance, source = bank_balance_on(date(2025, 3, 25), [march, overlapping], MARCH + APRIL)

    assert (balance, source.statement_id) == (eur(70_000), "o")
    assert position_of([march, overlapping]) == AccountPosition(date(2025, 4, 30), eur(95_000))


def test_a_day_no_statement_covers_is_refused_with_what_is_covered() -> None:
    march = imported("m", date(2025, 3, 1), date(2025, 3, 31), 0, 70_000, 0)

    with pytest.raises(NoStatementBalance, match="statements cover 2025-03-01 to 2025-03-31"):
        bank_balance_on(date(2025, 4, 1), [march], MARCH)
    with pytest.raises(NoStatementBalance, match="no statement imported yet"):
        bank_balance_on(date(2025, 4, 1), [], [])


def test_balances_a_format_does_not_state_are_carried_from_the_history() -> None:
    ofx = Statement(
        FileFormat.OFX, ACCOUNT, "EUR", date(2025, 3, 1), date(2025, 3, 31), None, eur(75_000),
        tuple(MARCH),
    )  # fmt: skip
    csv = Statement(
        FileFormat.CSV, ACCOUNT, "EUR", date(2025, 4, 2), date(2025, 4, 2), None, None,
        tuple(APRIL),
    )  # fmt: skip

    assert carried_balances(ofx, None) == (eur(75_000 - 70_000), eur(75_000))
    after = AccountPosition(date(2025, 4, 2), eur(75_000 + 25_000))
    assert carried_balances(csv, after) == (eur(75_000), eur(100_000))
    assert carried_balances(csv, None) == (None, None)
