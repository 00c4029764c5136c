"""Auto-matching, rule by rule: each match records the rule that made it."""

from datetime import date, timedelta

import pytest

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    BankIdSource,
    CashbookEntry,
    MatchError,
    MatchingPolicy,
    MatchRule,
    MatchSet,
    StatementLine,
    auto_match,
)
from cashroom_reconciliation.domain.matches import Match

START = date(2024, 3, 1)


def on(day: int) -> date:
    return START + timedelta(days=day - 1)


def bank(
    bank_id: str, day: int, amount: str, text: str = "", reference: str | None = None
) -> StatementLine:
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=BankIdSource.OFX_FITID,
        booking_date=on(day),
        value_date=on(day),
        amount=Money.of(amount, "EUR"),
        description=text,
        reference=reference,
    )


def book(entry_id: str, day: int, amount: str, reference: str = "") -> CashbookEntry:
    return CashbookEntry.of(entry_id, on(day), Money.of(amount, "EUR"), reference)


def pairs(matches: tuple[Match, ...]) -> set[tuple[tuple[str, ...], tuple[str, ...], MatchRule]]:
    return {(m.line_ids, tuple(sorted(m.entry_ids)), m.rule) for m in matches}


# --- rule 1: amount and reference ----------------------------------------------------------


def test_amount_and_reference_wins_over_a_nearer_entry_of_the_same_amount() -> None:
    # The receipt for matter M0042 was recorded 20 days before the money arrived; another
    # receipt of the same amount, without that reference, is dated the same day as the line.
    line = bank("L1", 25, "1500.00", "LODGEMENT O'BRIEN M0042")
    referenced = book("E-ref", 5, "1500.00", "M0042")
    same_amount = book("E-other", 25, "1500.00", "M0077")

    result = auto_match([line], [referenced, same_amount])

    assert pairs(result.new_matches) == {(("L1",), ("E-ref",), MatchRule.AMOUNT_AND_REFERENCE)}
    assert [e.entry_id for e in result.unmatched_entries] == ["E-other"]


def test_a_cheque_presented_six_weeks_late_matches_on_its_number() -> None:
    line = bank("L1", 50, "-740.25", "HM Land Registry", reference="100234")
    cheque = book("E1", 8, "-740.25", "CHQ 100234")

    result = auto_match([line], [cheque])

    assert pairs(result.new_matches) == {(("L1",), ("E1",), MatchRule.AMOUNT_AND_REFERENCE)}


def test_a_reference_split_by_the_bank_still_matches() -> None:
    line = bank("L1", 10, "-89.99", "SMITH JONES INV 20931 SEARCH")
    invoice = book("E1", 3, "-89.99", "INV-20931")

    result = auto_match([line], [invoice])

    assert pairs(result.new_matches) == {(("L1",), ("E1",), MatchRule.AMOUNT_AND_REFERENCE)}


def test_a_reference_inside_a_longer_token_is_not_that_reference() -> None:
    # M00421 is another matter than M0042: only whole tokens (or runs of them) count.
    line = bank("L1", 30, "1500.00", "LODGEMENT M00421")
    entry = book("E1", 2, "1500.00", "M0042")

    result = auto_match([line], [entry])

    assert result.new_matches == ()  # 28 days apart: no reference, outside the date window


def test_a_common_amount_is_searched_by_reference_through_its_index() -> None:
    # Twenty receipts of 500.00 (more than are scanned one by one), one of them for M0777.
    entries = [book(f"E{n:02d}", 1 + n, "500.00", f"M{n:04d}") for n in range(20)]
    entries.append(book("E-777", 3, "500.00", "M0777"))
    line = bank("L1", 60, "500.00", "PAYMENT ON ACCOUNT M0777 THANK YOU")

    result = auto_match([line], entries)

    assert pairs(result.new_matches) == {(("L1",), ("E-777",), MatchRule.AMOUNT_AND_REFERENCE)}


def test_a_reference_in_the_text_but_a_different_amount_is_no_match() -> None:
    line = bank("L1", 10, "-90.00", "INV 20931")
    invoice = book("E1", 10, "-89.99", "INV-20931")

    result = auto_match([line], [invoice])

    assert result.new_matches == ()


def test_a_reference_match_beyond_the_reference_window_is_not_made() -> None:
    line = bank("L1", 200, "-740.25", reference="100234")
    cheque = book("E1", 1, "-740.25", "CHQ 100234")

    result = auto_match([line], [cheque], policy=MatchingPolicy(reference_window_days=190))

    assert result.new_matches == ()  # 199 days apart


# --- rule 2: amount and date ---------------------------------------------------------------


def test_same_amount_within_the_window_matches_the_nearest_date() -> None:
    line = bank("L1", 10, "250.00", "GIRO")
    near = book("E-near", 8, "250.00")  # two days earlier
    far = book("E-far", 13, "250.00")  # three days later

    result = auto_match([line], [near, far])

    assert pairs(result.new_matches) == {(("L1",), ("E-near",), MatchRule.AMOUNT_AND_DATE)}


def test_at_equal_distance_the_entry_recorded_before_the_bank_line_is_preferred() -> None:
    # Money clears after it is recorded. Lines on days 4 and 6, entries on days 1 and 5:
    # the line on day 4 takes the entry of day 1 (3 days before), the line on day 6 the entry of
    # day 5; nearest-first alone would give day 5 to day 4 and leave day 6 without a match.
    lines = [bank("L4", 4, "100.00"), bank("L6", 6, "100.00")]
    entries = [book("E1", 1, "100.00"), book("E5", 5, "100.00")]

    result = auto_match(lines, entries)

    assert pairs(result.new_matches) == {
        (("L6",), ("E5",), MatchRule.AMOUNT_AND_DATE),
        (("L4",), ("E1",), MatchRule.AMOUNT_AND_DATE),
    }


def test_a_line_nearest_first_would_strand_takes_an_entry_by_moving_a_pair_along() -> None:
    # Two 10.00 fees recorded on days 10 and 13 clear three days later, on days 13 and 16.
    # Nearest-first gives day 13's line the day-13 entry (0 days) and leaves day 16's line
    # with only day 10 (6 days: outside the window). Moving day 13's line onto day 10 (3 days)
    # makes room: both lines are matched, each within the window.
    lines = [bank("L13", 13, "10.00"), bank("L16", 16, "10.00")]
    entries = [book("E10", 10, "10.00"), book("E13", 13, "10.00")]

    result = auto_match(lines, entries)

    assert pairs(result.new_matches) == {
        (("L13",), ("E10",), MatchRule.AMOUNT_AND_DATE),
        (("L16",), ("E13",), MatchRule.AMOUNT_AND_DATE),
    }


def test_pairs_are_only_moved_to_make_room_for_one_more() -> None:
    # The line on day 20 can reach no entry at all: nothing is moved, nearest-first stands.
    lines = [bank("L13", 13, "10.00"), bank("L20", 20, "10.00")]
    entries = [book("E10", 10, "10.00"), book("E13", 13, "10.00")]

    result = auto_match(lines, entries)

    assert pairs(result.new_matches) == {(("L13",), ("E13",), MatchRule.AMOUNT_AND_DATE)}
    assert [line.bank_id for line in result.unmatched_lines] == ["L20"]


def test_same_amount_outside_the_window_is_left_for_the_cashier() -> None:
    line = bank("L1", 20, "250.00")
    entry = book("E1", 10, "250.00")

    result = auto_match([line], [entry], policy=MatchingPolicy(date_window_days=4))

    assert result.new_matches == ()
    assert [item.bank_id for item in result.unmatched_lines] == ["L1"]


def test_an_entry_is_used_once_even_when_two_lines_want_it() -> None:
    lines = [bank("L1", 10, "99.00"), bank("L2", 11, "99.00")]
    entry = book("E1", 10, "99.00")

    result = auto_match(lines, [entry])

    assert pairs(result.new_matches) == {(("L1",), ("E1",), MatchRule.AMOUNT_AND_DATE)}
    assert [item.bank_id for item in result.unmatched_lines] == ["L2"]


def test_the_sign_matters_a_payment_never_matches_a_receipt() -> None:
    result = auto_match([bank("L1", 10, "-99.00")], [book("E1", 10, "99.00")])

    assert result.new_matches == ()


# --- rule 3: one line, several entries ------------------------------------------------------


def test_a_lodgement_of_three_receipts_matches_them_all() -> None:
    # Three cheques received on 4 and 5 March were lodged together on 6 March:
    # 1,000.00 + 850.00 + 125.50 = 1,975.50. A fourth receipt of 300.00 is not in it.
    line = bank("L1", 6, "1975.50", "LODGEMENT")
    receipts = [
        book("E1", 4, "1000.00", "M0051"),
        book("E2", 4, "850.00", "M0063"),
        book("E3", 5, "125.50", "M0070"),
        book("E4", 5, "300.00", "M0071"),
    ]

    result = auto_match([line], receipts)

    assert pairs(result.new_matches) == {
        (("L1",), ("E1", "E2", "E3"), MatchRule.ONE_LINE_TO_MANY_ENTRIES)
    }
    (match,) = result.new_matches
    assert match.amount == Money.of("1975.50", "EUR")
    assert [e.entry_id for e in result.unmatched_entries] == ["E4"]


def test_one_bulk_payment_matches_several_payments() -> None:
    # A bulk transfer of 3 supplier payments: 120.00 + 80.00 + 45.00 = 245.00 out.
    line = bank("L1", 9, "-245.00", "BULK PAYMENT 0309")
    payments = [book("E1", 8, "-120.00"), book("E2", 8, "-80.00"), book("E3", 8, "-45.00")]

    result = auto_match([line], payments)

    assert pairs(result.new_matches) == {
        (("L1",), ("E1", "E2", "E3"), MatchRule.ONE_LINE_TO_MANY_ENTRIES)
    }


def test_the_smallest_group_is_preferred_then_the_nearest_in_date() -> None:
    # 500.00 can be 200 + 300 (2 entries) or 100 + 150 + 250 (3): the pair wins. Two pairs
    # make 500.00: 200 + 300 on days 8/9 and 260 + 240 on day 2; the nearer one wins.
    line = bank("L1", 9, "500.00")
    receipts = [
        book("E1", 8, "200.00"),
        book("E2", 9, "300.00"),
        book("E3", 7, "100.00"),
        book("E4", 7, "150.00"),
        book("E5", 7, "250.00"),
        book("E6", 5, "260.00"),
        book("E7", 5, "240.00"),
    ]

    result = auto_match([line], receipts, policy=MatchingPolicy(date_window_days=4))

    assert pairs(result.new_matches) == {
        (("L1",), ("E1", "E2"), MatchRule.ONE_LINE_TO_MANY_ENTRIES)
    }


def test_a_group_larger_than_allowed_is_not_searched() -> None:
    line = bank("L1", 5, "500.00")
    receipts = [book(f"E{i}", 5, "100.00") for i in range(5)]

    result = auto_match([line], receipts, policy=MatchingPolicy(max_group_size=4))

    assert result.new_matches == ()


# --- rule 4: several lines, one entry --------------------------------------------------------


def test_two_bank_lines_for_one_cashbook_entry() -> None:
    # The firm recorded one 2,000.00 receipt; the client paid it in two transfers.
    lines = [bank("L1", 3, "1200.00"), bank("L2", 4, "800.00")]
    entry = book("E1", 3, "2000.00", "M0090")

    result = auto_match(lines, [entry])

    assert pairs(result.new_matches) == {(("L1", "L2"), ("E1",), MatchRule.MANY_LINES_TO_ONE_ENTRY)}


# --- order of the rules and what is already matched ----------------------------------------


def test_rules_run_in_order_and_each_match_names_its_rule() -> None:
    lines = [
        bank("R1", 20, "700.00", "M1001 completion"),
        bank("R2", 21, "55.00"),
        bank("R3", 22, "95.00"),
        bank("R4", 23, "30.00"),
        bank("R5", 23, "20.00"),
    ]
    entries = [
        book("E1", 2, "700.00", "M1001"),  # rule 1 (18 days away: only the reference finds it)
        book("E2", 19, "55.00"),  # rule 2
        book("E3", 21, "60.00"),  # rule 3 with E4: 60 + 35 = 95
        book("E4", 22, "35.00"),
        book("E5", 23, "50.00"),  # rule 4: R4 + R5 = 30 + 20
    ]

    result = auto_match(lines, entries)

    assert pairs(result.new_matches) == {
        (("R1",), ("E1",), MatchRule.AMOUNT_AND_REFERENCE),
        (("R2",), ("E2",), MatchRule.AMOUNT_AND_DATE),
        (("R3",), ("E3", "E4"), MatchRule.ONE_LINE_TO_MANY_ENTRIES),
        (("R4", "R5"), ("E5",), MatchRule.MANY_LINES_TO_ONE_ENTRY),
    }
    assert result.count_by_rule() == {
        MatchRule.AMOUNT_AND_REFERENCE: 1,
        MatchRule.AMOUNT_AND_DATE: 1,
        MatchRule.ONE_LINE_TO_MANY_ENTRIES: 1,
        MatchRule.MANY_LINES_TO_ONE_ENTRY: 1,
        MatchRule.MANUAL: 0,
    }


def test_existing_matches_are_kept_and_their_items_left_alone() -> None:
    line = bank("L1", 10, "99.00")
    entry = book("E1", 10, "99.00")
    other_entry = book("E2", 11, "99.00")
    manual = Match(MatchRule.MANUAL, (line,), (other_entry,))

    result = auto_match([line], [entry, other_entry], existing=MatchSet([manual]))

    assert result.new_matches == ()
    assert result.match_set.match_of_line("L1") == manual
    assert [e.entry_id for e in result.unmatched_entries] == ["E1"]


def test_lines_and_entries_in_different_currencies_are_refused() -> None:
    gbp_entry = CashbookEntry.of("E1", on(1), Money.of("10.00", "GBP"))

    with pytest.raises(MatchError, match="across currencies"):
        auto_match([bank("L1", 1, "10.00")], [gbp_entry])


def test_duplicate_bank_ids_must_be_deduplicated_first() -> None:
    with pytest.raises(MatchError, match="share a bank id"):
        auto_match([bank("L1", 1, "10.00"), bank("L1", 2, "11.00")], [])
