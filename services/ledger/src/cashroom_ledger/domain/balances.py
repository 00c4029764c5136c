"""Balances kept up to date as journals post, answerable as of any date without reading history.

The structure
-------------
Every line moves one or two *balance keys*:

* its exact key ``(account, matter, side, bank account)`` — a matter's office column on debtors
  control, a matter's client column on client money control for one client bank account, a bank
  account's cashbook on its nominal;
* the nominal's roll-up key ``(account, -, -, -)`` when the line is tagged, so a trial balance
  reads one key per nominal however many matters hang off it.

Each key has a *dated series*: the dates on which it moved, each with the cumulative balance at
the end of that date (debits positive). A posting dated ``d`` adds its amount to the entry for
``d`` (creating it from the balance of the day before if needed) and to every later entry. The
balance as of any date is the entry for the last date on or before it: a binary search, never a
scan of history. A back-dated posting is checked against every later date (I-4) by projecting
the series forward with the change applied, before anything is written.

How the database mirrors it
---------------------------
One table, written in the same transaction as the journal lines::

    ledger.balances(
        firm_id, account_code, matter_id, ledger_side, bank_account_id,  -- the key; '-' is 0/''
        balance_date, movement, cumulative,
        PRIMARY KEY (firm_id, account_code, matter_id, ledger_side, bank_account_id, balance_date))

Posting a line dated ``d`` for key ``k``::

    INSERT INTO balances (k..., d, movement, cumulative)
      VALUES (k..., d, :delta, COALESCE((SELECT cumulative FROM balances WHERE k... AND
              balance_date < d ORDER BY balance_date DESC LIMIT 1), 0) + :delta)
      ON CONFLICT (k..., d) DO UPDATE SET movement = movement + :delta,
                                          cumulative = cumulative + :delta;
    UPDATE balances SET cumulative = cumulative + :delta WHERE k... AND balance_date > d;

Balance as of ``d``: ``SELECT cumulative ... WHERE k... AND balance_date <= d ORDER BY
balance_date DESC LIMIT 1`` (the primary key is the index). The lowest client balance from ``d``
on (I-4 for a back-dated payment): ``SELECT max(cumulative) ... WHERE k... AND balance_date >=
d`` (client columns are credit balances, so their worst point is the highest debit-signed value),
taken ``FOR UPDATE`` so two postings to one client column serialise. A trial balance as of ``d``
reads the roll-up keys only.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain.journals import Journal, Line


@dataclass(frozen=True, slots=True)
class BalanceKey:
    """What a balance is of. Only ``account_code`` set: the nominal as a whole."""

    account_code: str
    matter_id: int | None = None
    ledger_side: AccountKind | None = None
    bank_account_id: int | None = None

    def __lt__(self, other: BalanceKey) -> bool:
        return self._order() < other._order()

    def _order(self) -> tuple[str, int, str, int]:
        side = self.ledger_side.value if self.ledger_side is not None else ""
        matter = self.matter_id if self.matter_id is not None else -1
        bank = self.bank_account_id if self.bank_account_id is not None else -1
        return (self.account_code, matter, side, bank)

    @property
    def is_roll_up(self) -> bool:
        return self.matter_id is None and self.ledger_side is None and self.bank_account_id is None

    @classmethod
    def of_line(cls, line: Line) -> BalanceKey:
        return cls(line.account_code, line.matter_id, line.ledger_side, line.bank_account_id)


class DatedSeries:
    """Cumulative balance (debit positive, minor units) at the end of each date it moved."""

    __slots__ = ("_cumulative", "_dates")

    def __init__(self) -> None:
        self._dates: list[date] = []
        self._cumulative: list[int] = []

    @classmethod
    def of(cls, points: Iterable[tuple[date, int]]) -> DatedSeries:
        """A series from ``(date, cumulative balance)`` points (e.g. a range read from the
        database: the last point before the range, then every point in it)."""
        series = cls()
        for on, cumulative in sorted(points):
            series._dates.append(on)
            series._cumulative.append(cumulative)
        return series

    def add(self, on: date, delta: int) -> None:
        at = bisect_left(self._dates, on)
        if at == len(self._dates) or self._dates[at] != on:
            before = self._cumulative[at - 1] if at else 0
            self._dates.insert(at, on)
            self._cumulative.insert(at, before)
        for i in range(at, len(self._cumulative)):
            self._cumulative[i] += delta

    def as_of(self, on: date | None = None) -> int:
        """The balance at the end of ``on`` (of the last date it moved, if ``on`` is None)."""
        if on is None:
            return self._cumulative[-1] if self._cumulative else 0
        at = bisect_right(self._dates, on)
        return self._cumulative[at - 1] if at else 0

    def points(self) -> Iterator[tuple[date, int]]:
        return zip(self._dates, self._cumulative, strict=True)

    def projected(self, changes: Mapping[date, int]) -> Iterator[tuple[date, int, int]]:
        """``(date, balance now, balance with changes)`` at every date from the first change on
        where either moves: what the series would say if ``changes`` were posted."""
        if not changes:
            return
        change_dates = sorted(changes)
        start = bisect_left(self._dates, change_dates[0])
        points = sorted(set(self._dates[start:]) | set(change_dates))
        added = 0
        pending = iter(change_dates)
        next_change = next(pending, None)
        for point in points:
            while next_change is not None and next_change <= point:
                added += changes[next_change]
                next_change = next(pending, None)
            now = self.as_of(point)
            yield point, now, now + added

    def __len__(self) -> int:
        return len(self._dates)


class Balances:
    """Every balance key's dated series."""

    def __init__(self) -> None:
        self._series: dict[BalanceKey, DatedSeries] = {}

    def post(self, journal: Journal) -> None:
        for line in journal.lines:
            for key in keys_of(line):
                self._series.setdefault(key, DatedSeries()).add(
                    journal.posted_on, line.signed_minor
                )

    def as_of(self, key: BalanceKey, on: date | None = None) -> int:
        series = self._series.get(key)
        return series.as_of(on) if series is not None else 0

    def series(self, key: BalanceKey) -> DatedSeries:
        return self._series.get(key) or DatedSeries()

    def __contains__(self, key: BalanceKey) -> bool:
        return key in self._series

    def keys(self) -> Iterable[BalanceKey]:
        return self._series.keys()

    def codes_used(self) -> set[str]:
        return {key.account_code for key in self._series}


def keys_of(line: Line) -> tuple[BalanceKey, ...]:
    """The balances ``line`` moves: its exact key and, for a sub-ledger line, the nominal's."""
    return _keys(line.account_code, line.matter_id, line.ledger_side, line.bank_account_id)


@lru_cache(maxsize=1 << 16)
def _keys(
    account_code: str, matter_id: int | None, side: AccountKind | None, bank_account_id: int | None
) -> tuple[BalanceKey, ...]:
    """The keys are immutable and the same for every line on the same columns: made once (the
    books move the same few thousand columns over and over; building two keys per line was a
    noticeable share of the consumer's time)."""
    exact = BalanceKey(account_code, matter_id, side, bank_account_id)
    if exact.is_roll_up:
        return (exact,)
    return exact, BalanceKey(account_code)
