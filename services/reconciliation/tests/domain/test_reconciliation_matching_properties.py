"""Whatever the lines and entries, auto-matching keeps its invariants (property-based)."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    BankIdSource,
    CashbookEntry,
    StatementLine,
    auto_match,
)

START = date(2024, 1, 1)
# Few distinct amounts and days, so that collisions, groups and competition are common.
amounts = st.sampled_from([-5000, -2500, -1250, -100, 100, 250, 500, 750, 1000, 1250, 2500])
days = st.integers(min_value=0, max_value=20)
references = st.sampled_from(["", "M0042", "M0051", "CHQ 100234", "INV-7"])


@st.composite
def books(draw: st.DrawFn) -> tuple[list[StatementLine], list[CashbookEntry]]:
    line_rows = draw(st.lists(st.tuples(days, amounts, references), max_size=40))
    entry_rows = draw(st.lists(st.tuples(days, amounts, references), max_size=40))
    lines = [
        StatementLine(
            bank_id=f"L{n}",
            bank_id_source=BankIdSource.OFX_FITID,
            booking_date=START + timedelta(days=day),
            value_date=START + timedelta(days=day),
            amount=Money(amount_minor=minor, currency="EUR"),
            description=f"TRANSFER {reference}",
        )
        for n, (day, minor, reference) in enumerate(line_rows)
    ]
    entries = [
        CashbookEntry.of(
            f"E{n}", START + timedelta(days=day), Money(amount_minor=minor, currency="EUR"), ref
        )
        for n, (day, minor, ref) in enumerate(entry_rows)
    ]
    return lines, entries


@settings(max_examples=100, deadline=None)
@given(books())
def test_every_item_is_matched_at_most_once_and_every_match_balances(
    data: tuple[list[StatementLine], list[CashbookEntry]],
) -> None:
    lines, entries = data

    result = auto_match(lines, entries)

    matched_lines = [bank_id for m in result.new_matches for bank_id in m.line_ids]
    matched_entries = [entry_id for m in result.new_matches for entry_id in m.entry_ids]
    assert len(matched_lines) == len(set(matched_lines))
    assert len(matched_entries) == len(set(matched_entries))
    for match in result.new_matches:
        bank_side = sum(line.amount.amount_minor for line in match.statement_lines)
        book_side = sum(entry.amount.amount_minor for entry in match.cashbook_entries)
        assert bank_side == book_side
        assert len(match.statement_lines) == 1 or len(match.cashbook_entries) == 1
    # nothing is lost: every line and entry is either matched or reported unmatched
    assert sorted(matched_lines + [line.bank_id for line in result.unmatched_lines]) == sorted(
        line.bank_id for line in lines
    )
    assert sorted(matched_entries + [e.entry_id for e in result.unmatched_entries]) == sorted(
        entry.entry_id for entry in entries
    )


@settings(max_examples=40, deadline=None)
@given(books())
def test_matching_does_not_depend_on_the_order_of_the_input(
    data: tuple[list[StatementLine], list[CashbookEntry]],
) -> None:
    lines, entries = data

    forward = auto_match(lines, entries)
    backward = auto_match(list(reversed(lines)), list(reversed(entries)))

    assert {m.match_id for m in forward.new_matches} == {m.match_id for m in backward.new_matches}
