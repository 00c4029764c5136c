"""Matches between statement lines and cashbook entries, and the invariants they keep.

- A match has at least one line on each side, one currency, and its two sides sum equal:
  ``Match`` refuses to exist otherwise.
- Each statement line and each cashbook entry is in at most one match: ``MatchSet`` refuses
  a match that reuses one.
- A match settled on or before a signed (locked) reconciliation date cannot be undone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.cashbook import CashbookEntry
from cashroom_reconciliation.domain.errors import MatchError
from cashroom_reconciliation.domain.statement import StatementLine


class MatchRule(StrEnum):
    """Which rule made a match (legal-accounting §4.2), in the order they are tried."""

    AMOUNT_AND_REFERENCE = "amount_and_reference"
    AMOUNT_AND_DATE = "amount_and_date"
    ONE_LINE_TO_MANY_ENTRIES = "one_line_to_many_entries"  # a lodgement of several receipts
    MANY_LINES_TO_ONE_ENTRY = "many_lines_to_one_entry"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Match:
    rule: MatchRule
    statement_lines: tuple[StatementLine, ...]
    cashbook_entries: tuple[CashbookEntry, ...]
    match_id: str = field(init=False)

    def __post_init__(self) -> None:
        lines, entries = self.statement_lines, self.cashbook_entries
        if len(lines) == 1 and len(entries) == 1:  # the usual match: checked in one go
            line_amount, entry_amount = lines[0].amount, entries[0].amount
            if (
                line_amount.amount_minor != entry_amount.amount_minor
                or line_amount.currency != entry_amount.currency
            ):
                self._refuse_unequal_sides()
            key = f"{lines[0].bank_id}\x1e{entries[0].entry_id}"
        else:
            if not lines or not entries:
                raise MatchError("a match needs at least one statement line and one cashbook entry")
            self._refuse_unequal_sides()
            line_ids = sorted(line.bank_id for line in lines)
            entry_ids = sorted(entry.entry_id for entry in entries)
            if len(set(line_ids)) != len(line_ids) or len(set(entry_ids)) != len(entry_ids):
                raise MatchError("a match names the same line or entry twice")
            key = "\x1f".join(line_ids) + "\x1e" + "\x1f".join(entry_ids)
        object.__setattr__(self, "match_id", hashlib.sha256(key.encode()).hexdigest()[:32])

    def _refuse_unequal_sides(self) -> None:
        """Raise unless both sides are in one currency and sum equal."""
        currency = self.statement_lines[0].amount.currency
        bank_side = book_side = 0
        amounts = [line.amount for line in self.statement_lines] + [
            entry.amount for entry in self.cashbook_entries
        ]
        for amount in amounts:
            if amount.currency != currency:
                raise MatchError(f"a match cannot mix currencies ({currency}, {amount.currency})")
        for line in self.statement_lines:
            bank_side += line.amount.amount_minor
        for entry in self.cashbook_entries:
            book_side += entry.amount.amount_minor
        if bank_side != book_side:
            raise MatchError(
                f"the statement lines sum to {Money(amount_minor=bank_side, currency=currency)} "
                f"but the cashbook entries to {Money(amount_minor=book_side, currency=currency)}"
            )

    @property
    def amount(self) -> Money:
        first = self.statement_lines[0].amount
        return first.with_amount(sum(line.amount.amount_minor for line in self.statement_lines))

    @property
    def settled_on(self) -> date:
        """The date the bank settled it: the latest of its statement lines' booking dates."""
        return max(line.booking_date for line in self.statement_lines)

    @property
    def line_ids(self) -> tuple[str, ...]:
        return tuple(line.bank_id for line in self.statement_lines)

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(entry.entry_id for entry in self.cashbook_entries)


class MatchSet:
    """All the matches of one bank account; each line and each entry in at most one."""

    __slots__ = ("_by_entry", "_by_id", "_by_line")

    def __init__(self, matches: Iterable[Match] = ()) -> None:
        self._by_id: dict[str, Match] = {}
        self._by_line: dict[str, str] = {}
        self._by_entry: dict[str, str] = {}
        for match in matches:
            self._add(match)

    def _add(self, match: Match) -> None:
        match_id = match.match_id
        if match_id in self._by_id:
            raise MatchError(f"match {match_id} is already recorded")
        by_line, by_entry = self._by_line, self._by_entry
        line_ids = [line.bank_id for line in match.statement_lines]
        entry_ids = [entry.entry_id for entry in match.cashbook_entries]
        for line_id in line_ids:
            if line_id in by_line:
                raise MatchError(f"statement line {line_id} is already in match {by_line[line_id]}")
        for entry_id in entry_ids:
            if entry_id in by_entry:
                raise MatchError(
                    f"cashbook entry {entry_id} is already in match {by_entry[entry_id]}"
                )
        self._by_id[match_id] = match
        for line_id in line_ids:
            by_line[line_id] = match_id
        for entry_id in entry_ids:
            by_entry[entry_id] = match_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Match]:
        return iter(self._by_id.values())

    @property
    def matches(self) -> tuple[Match, ...]:
        return tuple(self._by_id.values())

    def get(self, match_id: str) -> Match | None:
        return self._by_id.get(match_id)

    def match_of_line(self, bank_id: str) -> Match | None:
        match_id = self._by_line.get(bank_id)
        return None if match_id is None else self._by_id[match_id]

    def match_of_entry(self, entry_id: str) -> Match | None:
        match_id = self._by_entry.get(entry_id)
        return None if match_id is None else self._by_id[match_id]

    def is_line_matched(self, bank_id: str) -> bool:
        return bank_id in self._by_line

    def is_entry_matched(self, entry_id: str) -> bool:
        return entry_id in self._by_entry

    def with_matches(self, matches: Iterable[Match]) -> MatchSet:
        """A new set with ``matches`` added; refuses any that reuses a line or an entry."""
        result = MatchSet(self._by_id.values())
        for match in matches:
            result._add(match)
        return result

    def without(self, match_id: str) -> MatchSet:
        if match_id not in self._by_id:
            raise MatchError(f"there is no match {match_id}")
        return MatchSet(m for m in self._by_id.values() if m.match_id != match_id)


def match_manually(
    match_set: MatchSet,
    lines: Sequence[StatementLine],
    entries: Sequence[CashbookEntry],
    *,
    locked_through: date | None = None,
) -> tuple[MatchSet, Match]:
    """The cashier matches lines to entries by hand; the same invariants hold."""
    match = Match(MatchRule.MANUAL, tuple(lines), tuple(entries))
    if locked_through is not None and match.settled_on <= locked_through:
        raise MatchError(
            f"the lines are dated in a reconciled period (locked through {locked_through})"
        )
    return match_set.with_matches([match]), match


def unmatch(match_set: MatchSet, match_id: str, *, locked_through: date | None = None) -> MatchSet:
    """Undo a match, unless a signed reconciliation covers it (then it is locked)."""
    match = match_set.get(match_id)
    if match is None:
        raise MatchError(f"there is no match {match_id}")
    if locked_through is not None and match.settled_on <= locked_through:
        raise MatchError(
            f"match {match_id} settled on {match.settled_on}, in a reconciled period locked "
            f"through {locked_through}; correct it in the current period instead"
        )
    return match_set.without(match_id)
