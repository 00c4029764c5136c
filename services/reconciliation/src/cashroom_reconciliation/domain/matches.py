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
        if not self.statement_lines or not self.cashbook_entries:
            raise MatchError("a match needs at least one statement line and one cashbook entry")
        currencies = {line.amount.currency for line in self.statement_lines} | {
            entry.amount.currency for entry in self.cashbook_entries
        }
        if len(currencies) != 1:
            raise MatchError(f"a match cannot mix currencies ({', '.join(sorted(currencies))})")
        line_ids = [line.bank_id for line in self.statement_lines]
        entry_ids = [entry.entry_id for entry in self.cashbook_entries]
        if len(set(line_ids)) != len(line_ids) or len(set(entry_ids)) != len(entry_ids):
            raise MatchError("a match names the same line or entry twice")
        bank_side = sum(line.amount.amount_minor for line in self.statement_lines)
        book_side = sum(entry.amount.amount_minor for entry in self.cashbook_entries)
        if bank_side != book_side:
            currency = currencies.pop()
            raise MatchError(
                f"the statement lines sum to {Money(amount_minor=bank_side, currency=currency)} "
                f"but the cashbook entries to {Money(amount_minor=book_side, currency=currency)}"
            )
        key = "\x1f".join(sorted(line_ids)) + "\x1e" + "\x1f".join(sorted(entry_ids))
        object.__setattr__(self, "match_id", hashlib.sha256(key.encode()).hexdigest()[:32])

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
        if match.match_id in self._by_id:
            raise MatchError(f"match {match.match_id} is already recorded")
        for line_id in match.line_ids:
            if line_id in self._by_line:
                raise MatchError(
                    f"statement line {line_id} is already in match {self._by_line[line_id]}"
                )
        for entry_id in match.entry_ids:
            if entry_id in self._by_entry:
                raise MatchError(
                    f"cashbook entry {entry_id} is already in match {self._by_entry[entry_id]}"
                )
        self._by_id[match.match_id] = match
        for line_id in match.line_ids:
            self._by_line[line_id] = match.match_id
        for entry_id in match.entry_ids:
            self._by_entry[entry_id] = match.match_id

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
