"""Matching and unmatching by hand keeps the same invariants as auto-matching."""

from datetime import date

import pytest

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    BankIdSource,
    CashbookEntry,
    EntryKind,
    Match,
    MatchError,
    MatchRule,
    MatchSet,
    StatementLine,
    match_manually,
    unmatch,
)


def bank(bank_id: str, day: int, amount: str, currency: str = "GBP") -> StatementLine:
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=BankIdSource.OFX_FITID,
        booking_date=date(2024, 4, day),
        value_date=date(2024, 4, day),
        amount=Money.of(amount, currency),
        description="",
    )


def book(entry_id: str, day: int, amount: str, currency: str = "GBP") -> CashbookEntry:
    return CashbookEntry.of(entry_id, date(2024, 4, day), Money.of(amount, currency), "")


LINE = bank("L1", 10, "300.00")
RECEIPT_A = book("E1", 8, "120.00")
RECEIPT_B = book("E2", 9, "180.00")


def test_a_manual_match_of_one_line_to_two_receipts() -> None:
    match_set, match = match_manually(MatchSet(), [LINE], [RECEIPT_A, RECEIPT_B])

    assert match.rule is MatchRule.MANUAL
    assert match.amount == Money.of("300.00", "GBP")  # 120.00 + 180.00
    assert match_set.match_of_entry("E2") == match
    assert match_set.is_line_matched("L1")


def test_sides_that_do_not_sum_equal_are_refused() -> None:
    with pytest.raises(MatchError) as caught:
        match_manually(MatchSet(), [LINE], [RECEIPT_A])

    assert str(caught.value) == (
        "the statement lines sum to 300.00 GBP but the cashbook entries to 120.00 GBP"
    )


def test_an_entry_already_matched_cannot_be_matched_again() -> None:
    match_set, first = match_manually(MatchSet(), [LINE], [RECEIPT_A, RECEIPT_B])
    other_line = bank("L2", 11, "120.00")

    with pytest.raises(MatchError) as caught:
        match_manually(match_set, [other_line], [RECEIPT_A])

    assert str(caught.value) == f"cashbook entry E1 is already in match {first.match_id}"
    assert len(match_set) == 1  # the set given is unchanged


def test_a_line_already_matched_cannot_be_matched_again() -> None:
    match_set, _ = match_manually(MatchSet(), [bank("L1", 10, "120.00")], [RECEIPT_A])

    with pytest.raises(MatchError, match="statement line L1 is already in match"):
        match_manually(match_set, [bank("L1", 10, "120.00")], [book("E9", 10, "120.00")])


def test_unmatch_frees_the_items_for_another_match() -> None:
    match_set, match = match_manually(MatchSet(), [LINE], [RECEIPT_A, RECEIPT_B])

    freed = unmatch(match_set, match.match_id)
    rematched, _ = match_manually(freed, [bank("L2", 11, "120.00")], [RECEIPT_A])

    assert len(freed) == 0
    assert rematched.match_of_entry("E1") is not None
    assert rematched.match_of_entry("E2") is None
    assert match_set.match_of_entry("E1") == match  # the original set is unchanged


def test_a_match_in_a_locked_period_cannot_be_undone() -> None:
    match_set, match = match_manually(MatchSet(), [LINE], [RECEIPT_A, RECEIPT_B])

    with pytest.raises(MatchError, match="locked through 2024-04-30"):
        unmatch(match_set, match.match_id, locked_through=date(2024, 4, 30))
    assert len(unmatch(match_set, match.match_id, locked_through=date(2024, 4, 9))) == 0


def test_a_manual_match_into_a_locked_period_is_refused() -> None:
    with pytest.raises(MatchError, match="reconciled period"):
        match_manually(MatchSet(), [LINE], [RECEIPT_A, RECEIPT_B], locked_through=date(2024, 4, 10))


def test_unmatching_an_unknown_match_is_an_error() -> None:
    with pytest.raises(MatchError, match="there is no match nope"):
        unmatch(MatchSet(), "nope")


def test_a_match_needs_both_sides_one_currency_and_no_repeats() -> None:
    with pytest.raises(MatchError, match="at least one statement line and one cashbook entry"):
        Match(MatchRule.MANUAL, (LINE,), ())
    with pytest.raises(MatchError, match="cannot mix currencies"):
        Match(MatchRule.MANUAL, (bank("L3", 1, "5.00", "EUR"),), (book("E3", 1, "5.00"),))
    with pytest.raises(MatchError, match="same line or entry twice"):
        Match(
            MatchRule.MANUAL,
            (bank("L4", 1, "10.00"),),
            (book("E4", 1, "5.00"), book("E4", 1, "5.00")),
        )


def test_the_match_id_depends_on_its_members_not_their_order() -> None:
    one = Match(MatchRule.MANUAL, (LINE,), (RECEIPT_A, RECEIPT_B))
    other = Match(MatchRule.ONE_LINE_TO_MANY_ENTRIES, (LINE,), (RECEIPT_B, RECEIPT_A))

    assert one.match_id == other.match_id


def test_a_cashbook_entry_sign_must_agree_with_its_kind() -> None:
    with pytest.raises(ValueError, match="must be a positive amount"):
        CashbookEntry("E1", date(2024, 4, 1), Money.of("-5.00", "GBP"), "", EntryKind.RECEIPT)
    with pytest.raises(ValueError, match="must be a negative amount"):
        CashbookEntry("E2", date(2024, 4, 1), Money.of("5.00", "GBP"), "", EntryKind.PAYMENT)
