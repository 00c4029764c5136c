"""The reconciliation statement as of a date (legal-accounting §4.3), and the cadence check."""

from datetime import date

import pytest

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    BankError,
    BankIdSource,
    CashbookEntry,
    FileFormat,
    Jurisdiction,
    MatchSet,
    ReconciliationStatement,
    Statement,
    StatementLine,
    check_cadence,
    match_manually,
    prepare_reconciliation,
    statement_balance_on,
)


def gbp(text: str) -> Money:
    return Money.of(text, "GBP")


def bank(bank_id: str, day: date, amount: str) -> StatementLine:
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=BankIdSource.OFX_FITID,
        booking_date=day,
        value_date=day,
        amount=gbp(amount),
        description="",
    )


APRIL_28 = date(2024, 4, 28)
APRIL_30 = date(2024, 4, 30)
MAY_2 = date(2024, 5, 2)

RECEIPT = CashbookEntry.of("E1", APRIL_28, gbp("500.00"))
CHEQUE = CashbookEntry.of("E2", APRIL_28, gbp("-80.00"))
LATE_ENTRY = CashbookEntry.of("E3", MAY_2, gbp("40.00"))  # posted after the date
RECEIPT_LINE = bank("L1", MAY_2, "500.00")  # the receipt cleared after the date
CHEQUE_LINE = bank("L2", APRIL_30, "-80.00")  # the cheque cleared before it
CREDIT_LINE = bank("L3", APRIL_30, "40.00")  # banked on the 30th, in the cashbook on 2 May


def matched() -> MatchSet:
    matches, _ = match_manually(MatchSet(), [RECEIPT_LINE], [RECEIPT])
    matches, _ = match_manually(matches, [CHEQUE_LINE], [CHEQUE])
    matches, _ = match_manually(matches, [CREDIT_LINE], [LATE_ENTRY])
    return matches


def test_what_is_matched_after_the_date_is_still_outstanding_at_the_date() -> None:
    statement = prepare_reconciliation(
        account_kind=AccountKind.OFFICE,
        as_of=APRIL_30,
        statement_balance=gbp("1960.00"),
        cashbook_balance=gbp("2420.00"),
        entries=[RECEIPT, CHEQUE, LATE_ENTRY],
        lines=[RECEIPT_LINE, CHEQUE_LINE, CREDIT_LINE],
        matches=matched(),
    )

    assert [e.entry_id for e in statement.outstanding_entries] == ["E1"]  # cleared 2 May
    assert statement.outstanding_lodgements == gbp("500.00")
    assert statement.unpresented_payments == gbp("0.00")  # the cheque cleared on the 30th
    assert [line.bank_id for line in statement.unexplained_lines] == ["L3"]  # booked 2 May
    # 1,960.00 + 500.00 − 0.00 = 2,460.00; − 2,420.00 = 40.00 (the credit not yet in the book)
    assert statement.adjusted_bank_balance == gbp("2460.00")
    assert statement.difference == gbp("40.00")
    assert not statement.can_sign


def test_an_office_account_signs_two_ways() -> None:
    statement = prepare_reconciliation(
        account_kind=AccountKind.OFFICE,
        as_of=APRIL_30,
        statement_balance=gbp("1000.00"),
        cashbook_balance=gbp("1420.00"),
        entries=[RECEIPT, CHEQUE],
        lines=[],
        matches=MatchSet(),
    )

    # 1,000.00 + 500.00 lodgement − 80.00 unpresented = 1,420.00 = the cashbook
    assert statement.unpresented_payments == gbp("80.00")
    assert statement.adjusted_bank_balance == gbp("1420.00")
    assert statement.difference.is_zero()
    assert statement.client_ledgers_total is None and statement.three_way_difference is None
    assert statement.can_sign


def test_a_client_account_needs_the_client_ledgers_to_agree_too() -> None:
    def reconcile(client_ledgers_total: Money | None) -> ReconciliationStatement:
        return prepare_reconciliation(
            account_kind=AccountKind.CLIENT,
            as_of=APRIL_30,
            statement_balance=gbp("1000.00"),
            cashbook_balance=gbp("1420.00"),
            entries=[RECEIPT, CHEQUE],
            lines=[],
            matches=MatchSet(),
            client_ledgers_total=client_ledgers_total,
        )

    short = reconcile(gbp("1400.00"))
    agreed = reconcile(gbp("1420.00"))

    assert short.is_reconciled and short.three_way_difference == gbp("20.00")  # 1,420 − 1,400
    assert not short.can_sign
    assert agreed.can_sign
    with pytest.raises(ValueError, match="client ledgers total"):
        reconcile(None)


def test_a_bank_error_adjusts_the_bank_side() -> None:
    statement = prepare_reconciliation(
        account_kind=AccountKind.OFFICE,
        as_of=APRIL_30,
        statement_balance=gbp("1025.00"),
        cashbook_balance=gbp("1420.00"),
        entries=[RECEIPT, CHEQUE],
        lines=[],
        matches=MatchSet(),
        bank_errors=[BankError("another customer's debit reversed in error", gbp("-25.00"))],
    )

    # 1,025.00 + 500.00 − 80.00 − 25.00 = 1,420.00
    assert statement.adjusted_bank_balance == gbp("1420.00")
    assert statement.difference.is_zero()


def test_the_statement_balance_on_a_day_inside_the_statement() -> None:
    statement = Statement(
        file_format=FileFormat.CAMT053,
        account=AccountIdentification(number="31926819"),
        currency="GBP",
        period_start=date(2024, 4, 1),
        period_end=date(2024, 4, 30),
        opening_balance=gbp("1000.00"),
        closing_balance=gbp("1420.00"),
        lines=(bank("A", date(2024, 4, 10), "500.00"), bank("B", date(2024, 4, 20), "-80.00")),
    )
    closing_only = Statement(
        file_format=FileFormat.OFX,
        account=statement.account,
        currency="GBP",
        period_start=statement.period_start,
        period_end=statement.period_end,
        opening_balance=None,
        closing_balance=gbp("1420.00"),
        lines=statement.lines,
    )

    assert statement_balance_on(statement, date(2024, 4, 15)) == gbp("1500.00")  # 1,000 + 500
    assert statement_balance_on(closing_only, date(2024, 4, 15)) == gbp("1500.00")  # 1,420 + 80
    assert statement_balance_on(statement, date(2024, 3, 31)) == gbp("1000.00")
    with pytest.raises(ValueError, match="does not give the balance on 2024-05-01"):
        statement_balance_on(statement, date(2024, 5, 1))


# --- cadence ---------------------------------------------------------------------------------


def test_england_and_wales_client_accounts_every_five_weeks() -> None:
    last = date(2024, 1, 31)

    on_time = check_cadence(
        account_kind=AccountKind.CLIENT,
        jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
        last_reconciled_on=last,
        opened_on=date(2020, 1, 1),
        today=date(2024, 3, 6),  # 31 Jan + 35 days
    )
    late = check_cadence(
        account_kind=AccountKind.CLIENT,
        jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
        last_reconciled_on=last,
        opened_on=date(2020, 1, 1),
        today=date(2024, 3, 8),
    )

    assert on_time.due_by == date(2024, 3, 6) and not on_time.breached
    assert late.breached and late.days_overdue == 2


def test_ireland_monthly_from_the_last_reconciliation() -> None:
    check = check_cadence(
        account_kind=AccountKind.CLIENT,
        jurisdiction=Jurisdiction.IRELAND,
        last_reconciled_on=date(2024, 1, 31),
        opened_on=date(2020, 1, 1),
        today=date(2024, 3, 1),
    )

    assert check.due_by == date(2024, 2, 29)  # one calendar month on, in a leap year
    assert check.breached and check.days_overdue == 1


def test_a_client_account_never_reconciled_is_measured_from_its_opening() -> None:
    check = check_cadence(
        account_kind=AccountKind.CLIENT,
        jurisdiction=Jurisdiction.UNITED_STATES,
        last_reconciled_on=None,
        opened_on=date(2024, 5, 15),
        today=date(2024, 6, 14),
    )

    assert (check.due_by, check.breached) == (date(2024, 6, 15), False)


def test_office_accounts_carry_no_breach() -> None:
    check = check_cadence(
        account_kind=AccountKind.OFFICE,
        jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
        last_reconciled_on=date(2020, 1, 1),
        opened_on=date(2019, 1, 1),
        today=date(2024, 6, 14),
    )

    assert not check.required and not check.breached and check.due_by is None
