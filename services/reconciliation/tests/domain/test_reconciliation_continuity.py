"""Importing statements into an account's history: new lines only, and breaks reported."""

from datetime import date

import pytest

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    AccountPosition,
    BankIdSource,
    BreakKind,
    FileFormat,
    Statement,
    StatementError,
    StatementErrorKind,
    StatementLine,
    plan_import,
)

ACCOUNT = AccountIdentification(iban="IE29AIBK93115212345678")


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def line(bank_id: str, day: int, amount: str, month: int = 3) -> StatementLine:
    booked = date(2024, month, day)
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=BankIdSource.CAMT_ACCOUNT_SERVICER_REF,
        booking_date=booked,
        value_date=booked,
        amount=eur(amount),
        description=f"line {bank_id}",
    )


def statement(
    start: date,
    end: date,
    opening: str | None,
    closing: str | None,
    *lines: StatementLine,
    file_format: FileFormat = FileFormat.CAMT053,
) -> Statement:
    return Statement(
        file_format=file_format,
        account=ACCOUNT,
        currency="EUR",
        period_start=start,
        period_end=end,
        opening_balance=eur(opening) if opening is not None else None,
        closing_balance=eur(closing) if closing is not None else None,
        lines=lines,
    )


A = line("A", 4, "1000.00")
B = line("B", 12, "-250.00")
C = line("C", 18, "40.00")
D = line("D", 25, "-15.00")
# 1–20 March: 5,000.00 + 1,000.00 − 250.00 + 40.00 = 5,790.00
MARCH_FIRST = statement(date(2024, 3, 1), date(2024, 3, 20), "5000.00", "5790.00", A, B, C)
AFTER_MARCH_FIRST = AccountPosition(date(2024, 3, 20), eur("5790.00"))


def known(*lines: StatementLine) -> dict[str, StatementLine]:
    return {item.bank_id: item for item in lines}


def test_a_first_import_takes_every_line_and_the_closing_balance() -> None:
    plan = plan_import(MARCH_FIRST, previous=None, known={})

    assert [item.bank_id for item in plan.new_lines] == ["A", "B", "C"]
    assert plan.known_lines == ()
    assert plan.is_continuous
    assert plan.position_after == AFTER_MARCH_FIRST


def test_reimporting_the_same_statement_adds_nothing_and_breaks_nothing() -> None:
    plan = plan_import(MARCH_FIRST, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    assert plan.new_lines == ()
    assert [item.bank_id for item in plan.known_lines] == ["A", "B", "C"]
    assert plan.is_continuous
    assert plan.position_after == AFTER_MARCH_FIRST


def test_an_overlapping_statement_imports_only_its_new_lines() -> None:
    # 15–31 March opens at the 15 March balance: 5,000.00 + 1,000.00 − 250.00 = 5,750.00;
    # it repeats C (18 March, already imported) and adds D: closes at 5,750 + 40 − 15 = 5,775.
    overlapping = statement(date(2024, 3, 15), date(2024, 3, 31), "5750.00", "5775.00", C, D)

    plan = plan_import(overlapping, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    assert [item.bank_id for item in plan.new_lines] == ["D"]
    assert [item.bank_id for item in plan.known_lines] == ["C"]
    assert plan.is_continuous  # 5,750.00 + 40.00 already imported = 5,790.00, the last closing
    assert plan.position_after == AccountPosition(date(2024, 3, 31), eur("5775.00"))


def test_a_missing_statement_between_is_an_opening_break() -> None:
    # April opens at 6,000.00 but March closed at 5,790.00: something happened in between.
    april = statement(date(2024, 4, 1), date(2024, 4, 30), "6000.00", "6000.00")

    plan = plan_import(april, previous=AFTER_MARCH_FIRST, known={})

    (found,) = plan.breaks
    assert found.kind is BreakKind.OPENING_NOT_PREVIOUS_CLOSING
    assert (found.expected, found.found) == (eur("5790.00"), eur("6000.00"))
    assert not plan.is_continuous


def test_lines_that_do_not_sum_to_the_balances_are_a_break() -> None:
    # 5,790.00 + 100.00 would close at 5,890.00; the bank says 5,900.00.
    broken = statement(
        date(2024, 3, 21), date(2024, 3, 31), "5790.00", "5900.00", line("E", 22, "100.00")
    )

    plan = plan_import(broken, previous=AFTER_MARCH_FIRST, known={})

    (found,) = plan.breaks
    assert found.kind is BreakKind.LINES_DO_NOT_SUM
    assert (found.expected, found.found) == (eur("110.00"), eur("100.00"))


def test_a_closing_only_statement_chains_by_its_new_lines() -> None:
    # OFX: no opening; it repeats C and adds D: 5,790.00 − 15.00 = 5,775.00.
    ofx = statement(
        date(2024, 3, 15), date(2024, 3, 31), None, "5775.00", C, D, file_format=FileFormat.OFX
    )

    plan = plan_import(ofx, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    assert plan.is_continuous
    assert [item.bank_id for item in plan.new_lines] == ["D"]


def test_a_closing_only_statement_that_does_not_chain_is_a_break() -> None:
    ofx = statement(
        date(2024, 3, 21), date(2024, 3, 31), None, "5700.00", D, file_format=FileFormat.OFX
    )

    plan = plan_import(ofx, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    (found,) = plan.breaks
    assert found.kind is BreakKind.CLOSING_NOT_PREVIOUS_PLUS_LINES
    assert (found.expected, found.found) == (eur("5775.00"), eur("5700.00"))  # 5,790 − 15


def test_a_statement_without_balances_carries_the_balance_forward() -> None:
    csv = statement(date(2024, 3, 21), date(2024, 3, 31), None, None, D, file_format=FileFormat.CSV)

    plan = plan_import(csv, previous=AFTER_MARCH_FIRST, known={})

    assert plan.is_continuous
    assert plan.position_after == AccountPosition(date(2024, 3, 31), eur("5775.00"))


def test_a_first_import_without_balances_leaves_the_position_unknown() -> None:
    csv = statement(date(2024, 3, 21), date(2024, 3, 31), None, None, D, file_format=FileFormat.CSV)

    assert plan_import(csv, previous=None, known={}).position_after is None


def test_a_known_bank_id_with_another_amount_is_reported_not_overwritten() -> None:
    changed_c = line("C", 18, "45.00")
    overlapping = statement(
        date(2024, 3, 15), date(2024, 3, 31), "5750.00", "5780.00", changed_c, D
    )

    plan = plan_import(overlapping, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    kinds = [item.kind for item in plan.breaks]
    assert BreakKind.LINE_CHANGED in kinds
    changed = next(item for item in plan.breaks if item.kind is BreakKind.LINE_CHANGED)
    assert (changed.bank_id, changed.expected, changed.found) == ("C", eur("40.00"), eur("45.00"))


def test_new_lines_in_a_period_before_the_history_are_out_of_sequence() -> None:
    february = statement(
        date(2024, 2, 1), date(2024, 2, 29), "4000.00", "5000.00", line("F", 10, "1000.00", month=2)
    )

    plan = plan_import(february, previous=AFTER_MARCH_FIRST, known=known(A, B, C))

    assert [item.kind for item in plan.breaks] == [BreakKind.OUT_OF_SEQUENCE]
    assert plan.position_after == AFTER_MARCH_FIRST  # the history's end does not move back


def test_a_statement_in_another_currency_than_the_history_is_refused() -> None:
    with pytest.raises(StatementError) as caught:
        plan_import(
            MARCH_FIRST,
            previous=AccountPosition(date(2024, 2, 29), Money.of("5000.00", "GBP")),
            known={},
        )
    assert caught.value.kind is StatementErrorKind.MIXED_CURRENCIES
