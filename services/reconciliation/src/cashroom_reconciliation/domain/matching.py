"""Auto-matching statement lines to cashbook entries (legal-accounting §4.2), rules in order:

1. **Amount and reference**: the same signed amount, and the entry's reference (a cheque
   number, the matter reference the firm put in the remittance) appears in the line's
   reference or description as whole tokens; within ``reference_window_days`` (cheques clear
   late); nearest date first.
2. **Amount and date**: the same signed amount within ``date_window_days``; nearest date first,
   and at equal distance an entry dated on or before the bank line (money clears after it is
   recorded, not before).
3. **One line to several entries**: a lodgement of several receipts (or one bulk payment of
   several payments): 2 to ``max_group_size`` unmatched entries of the line's sign, recorded
   within ``date_window_days`` before it (a day of slack after), summing to the line.
4. **Several lines to one entry**: the reverse (a receipt paid in instalments).

Groups are found smallest first, in both directions, before any larger group is looked for.

Work is O(n log n) on amounts: lines and entries are bucketed by amount, each bucket in date
order, and rules 1 and 2 settle each bucket on its own. The group rules search only the
unmatched items of one sign inside one target's date window: pairs by one hash lookup per
candidate, larger groups among the nearest ``max_group_candidates`` by meeting in the middle
on pair sums. Nothing is ever compared pairwise over everything.
"""

from __future__ import annotations

import functools
import gc
import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cashroom_reconciliation.domain.cashbook import CashbookEntry
from cashroom_reconciliation.domain.errors import MatchError
from cashroom_reconciliation.domain.matches import Match, MatchRule, MatchSet
from cashroom_reconciliation.domain.statement import StatementLine

_TOKEN = re.compile(r"[A-Z0-9]+")
_NOT_TOKEN = re.compile(r"[^A-Z0-9]+")
_MIN_KEY = 4  # a whole reference shorter than this ("FEE", "CR") identifies nothing
_MIN_TOKEN = 5  # a single token counts as a reference when this long and holding a digit
_MAX_RUN = 6  # a reference split over up to six tokens ("INV 1234") still meets "INV-1234"
_SCAN_KEYS = 16  # up to this many entries of one amount are checked one by one, else indexed
_SLACK_DAYS = 1  # a group's members may be dated a day on the wrong side of the target
_MAX_SOLUTIONS = 64  # the best of the first 64 groups that fit is taken
_MAX_SHIFT = 8  # rule 2 moves at most this many pairs along to make room for a stranded line


@dataclass(frozen=True, slots=True)
class MatchingPolicy:
    date_window_days: int = 4
    reference_window_days: int = 190
    max_group_size: int = 4
    max_group_candidates: int = 24

    def __post_init__(self) -> None:
        if self.date_window_days < 0 or self.reference_window_days < self.date_window_days:
            raise ValueError("windows must be non-negative, the reference window the wider")
        if not 2 <= self.max_group_size <= 6:
            raise ValueError("max_group_size must be between 2 and 6")
        if self.max_group_candidates < self.max_group_size:
            raise ValueError("max_group_candidates must be at least max_group_size")


@dataclass(frozen=True, slots=True)
class MatchingResult:
    match_set: MatchSet  # the matches given plus the new ones
    new_matches: tuple[Match, ...]
    unmatched_lines: tuple[StatementLine, ...]
    unmatched_entries: tuple[CashbookEntry, ...]

    def count_by_rule(self) -> dict[MatchRule, int]:
        counts = dict.fromkeys(MatchRule, 0)
        for match in self.new_matches:
            counts[match.rule] += 1
        return counts


@functools.lru_cache(maxsize=65_536)
def entry_reference_keys(reference: str) -> frozenset[str]:
    """The keys under which a cashbook entry's reference can be recognised in bank text: the
    whole reference (letters and digits only), and each long token holding a digit (the
    cheque number in "CHQ 100234")."""
    tokens = _TOKEN.findall(reference.upper())
    keys = {t for t in tokens if len(t) >= _MIN_TOKEN and not t.isalpha()}
    whole = "".join(tokens)
    if len(whole) >= _MIN_KEY:
        keys.add(whole)
    return frozenset(keys)


class LineText:
    """A statement line's reference and description as tokens (letters and digits, upper case).

    A key is found in it when it equals a run of up to ``_MAX_RUN`` adjacent tokens: "INV 20931"
    and "INV-20931" both hold "INV20931"; "M00421" does not hold "M0042".
    """

    __slots__ = ("_starts", "_text", "_tokens", "joined")

    def __init__(self, line: StatementLine) -> None:
        self._text = f"{line.reference or ''} {line.description}".upper()
        self.joined = _NOT_TOKEN.sub("", self._text)  # the tokens run together
        self._tokens: list[str] | None = None
        self._starts: dict[int, int] | None = None

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = _TOKEN.findall(self._text)
        return self._tokens

    def _token_at(self) -> dict[int, int]:
        """Offset in ``joined`` where each token starts (and where the last one ends) to the
        token's index."""
        if self._starts is None:
            offsets = itertools.accumulate(map(len, self.tokens), initial=0)
            self._starts = dict(zip(offsets, itertools.count(), strict=False))
        return self._starts

    def holds(self, key: str) -> bool:
        if key not in self.joined:
            return False
        if key in self.tokens:  # the usual case: the reference is one token
            return True
        token_at = self._token_at()
        found = self.joined.find(key)
        while found != -1:
            first, after = token_at.get(found), token_at.get(found + len(key))
            if first is not None and after is not None and after - first <= _MAX_RUN:
                return True
            found = self.joined.find(key, found + 1)
        return False

    def runs(self) -> set[str]:
        """Every run of up to ``_MAX_RUN`` adjacent tokens."""
        tokens = self.tokens
        return {
            "".join(tokens[start : start + size])
            for size in range(1, _MAX_RUN + 1)
            for start in range(len(tokens) - size + 1)
        }


class _Sides:
    """The unmatched lines and entries as flat arrays (amount in minor units, date ordinal)."""

    def __init__(self, lines: list[StatementLine], entries: list[CashbookEntry]) -> None:
        self.lines = lines
        self.entries = entries
        self.line_amount = [line.amount.amount_minor for line in lines]
        self.line_day = [line.booking_date.toordinal() for line in lines]
        self.entry_amount = [entry.amount.amount_minor for entry in entries]
        self.entry_day = [entry.posted_on.toordinal() for entry in entries]
        self.line_used = bytearray(len(lines))
        self.entry_used = bytearray(len(entries))
        self.matches: list[Match] = []
        line_key = [(day, line.bank_id) for day, line in zip(self.line_day, lines, strict=True)]
        entry_key = [
            (day, entry.entry_id) for day, entry in zip(self.entry_day, entries, strict=True)
        ]
        self.line_order = sorted(range(len(lines)), key=line_key.__getitem__)
        self.entry_order = sorted(range(len(entries)), key=entry_key.__getitem__)

    def record_pair(self, rule: MatchRule, i: int, j: int) -> None:
        self.matches.append(Match(rule, (self.lines[i],), (self.entries[j],)))
        self.line_used[i] = 1
        self.entry_used[j] = 1

    def record(self, rule: MatchRule, line_ix: Sequence[int], entry_ix: Sequence[int]) -> None:
        match = Match(
            rule,
            tuple(self.lines[i] for i in line_ix),
            tuple(self.entries[j] for j in entry_ix),
        )
        for i in line_ix:
            self.line_used[i] = 1
        for j in entry_ix:
            self.entry_used[j] = 1
        self.matches.append(match)

    def lines_in_date_order(self) -> list[int]:
        used = self.line_used
        return [i for i in self.line_order if not used[i]]

    def entries_in_date_order(self) -> list[int]:
        used = self.entry_used
        return [j for j in self.entry_order if not used[j]]

    def entries_by_amount(self) -> dict[int, list[int]]:
        """Unmatched entries by amount, each bucket in date order."""
        buckets: dict[int, list[int]] = {}
        amounts = self.entry_amount
        for j in self.entries_in_date_order():
            bucket = buckets.get(amounts[j])
            if bucket is None:
                buckets[amounts[j]] = [j]
            else:
                bucket.append(j)
        return buckets


def auto_match(
    lines: Iterable[StatementLine],
    entries: Iterable[CashbookEntry],
    *,
    existing: MatchSet | None = None,
    policy: MatchingPolicy | None = None,
) -> MatchingResult:
    """Match what is not yet matched, rule by rule; every match records the rule that made it.

    ``existing`` matches (earlier runs, manual matches) are kept and their lines and entries
    left alone.
    """
    policy = policy or MatchingPolicy()
    existing = existing or MatchSet()
    all_lines = list(lines)
    all_entries = list(entries)
    _check_inputs(all_lines, all_entries)
    # A run allocates one match object per pair and none of them can form a reference cycle,
    # yet each allocation burst makes the cyclic collector rescan the whole heap of lines and
    # entries; it is paused for the run (and resumed as it was found).
    collecting = gc.isenabled()
    gc.disable()
    try:
        sides = _Sides(
            [line for line in all_lines if not existing.is_line_matched(line.bank_id)],
            [entry for entry in all_entries if not existing.is_entry_matched(entry.entry_id)],
        )
        _match_one_to_one(sides, policy)
        _match_groups(sides, policy)
        new = tuple(sides.matches)
        return MatchingResult(
            match_set=existing.with_matches(new),
            new_matches=new,
            unmatched_lines=tuple(
                line for i, line in enumerate(sides.lines) if not sides.line_used[i]
            ),
            unmatched_entries=tuple(
                entry for j, entry in enumerate(sides.entries) if not sides.entry_used[j]
            ),
        )
    finally:
        if collecting:
            gc.enable()


def _check_inputs(lines: list[StatementLine], entries: list[CashbookEntry]) -> None:
    currencies = {line.amount.currency for line in lines} | {e.amount.currency for e in entries}
    if len(currencies) > 1:
        raise MatchError(f"cannot match across currencies ({', '.join(sorted(currencies))})")
    if len({line.bank_id for line in lines}) != len(lines):
        raise MatchError("two statement lines share a bank id; import (dedupe) them first")
    if len({entry.entry_id for entry in entries}) != len(entries):
        raise MatchError("two cashbook entries share an id")


def _match_one_to_one(sides: _Sides, policy: MatchingPolicy) -> None:
    """Rules 1 and 2. Both pair a line with an entry of the same amount, so each amount's
    bucket is settled on its own: first by reference, then by date."""
    lines_by_amount: dict[int, list[int]] = {}
    for i in sides.lines_in_date_order():
        bucket = lines_by_amount.get(sides.line_amount[i])
        if bucket is None:
            lines_by_amount[sides.line_amount[i]] = [i]
        else:
            bucket.append(i)
    entries_by_amount = sides.entries_by_amount()
    reference_window, date_window = policy.reference_window_days, policy.date_window_days
    line_day, entry_day, entries = sides.line_day, sides.entry_day, sides.entries
    for amount, line_ix in lines_by_amount.items():
        entry_ix = entries_by_amount.get(amount)
        if entry_ix is None:
            continue
        if len(line_ix) == 1 and len(entry_ix) == 1:  # by far the most common case
            i, j = line_ix[0], entry_ix[0]
            distance = abs(line_day[i] - entry_day[j])
            if distance <= reference_window and _line_refers_to(sides.lines[i], entries[j]):
                sides.record_pair(MatchRule.AMOUNT_AND_REFERENCE, i, j)
            elif distance <= date_window:
                sides.record_pair(MatchRule.AMOUNT_AND_DATE, i, j)
            continue
        _bucket_by_reference(sides, line_ix, entry_ix, reference_window)
        _bucket_by_date(sides, line_ix, entry_ix, date_window)


def _line_refers_to(line: StatementLine, entry: CashbookEntry) -> bool:
    """``_refers_to`` for a single comparison, without building the line's token map unless
    a key is found in the text at all."""
    keys = entry_reference_keys(entry.reference)
    if not keys:
        return False
    text = LineText(line)
    joined = text.joined
    for key in keys:  # noqa: SIM110 - a loop is faster here
        if key in joined and text.holds(key):
            return True
    return False


def _refers_to(text: LineText, entry: CashbookEntry) -> bool:
    joined = text.joined
    for key in entry_reference_keys(entry.reference):  # noqa: SIM110 - a loop is faster here
        if key in joined and text.holds(key):  # the substring test first: it is cheap
            return True
    return False


def _bucket_by_reference(
    sides: _Sides, line_ix: list[int], entry_ix: list[int], window: int
) -> None:
    """Rule 1 within one amount: each line (in date order) takes the nearest entry whose
    reference it holds."""
    entries, entry_day, entry_used = sides.entries, sides.entry_day, sides.entry_used
    keyed: dict[str, list[int]] | None = None
    if len(entry_ix) > _SCAN_KEYS:  # a common amount: index its entries by reference key
        keyed = {}
        for j in entry_ix:
            for key in entry_reference_keys(entries[j].reference):
                keyed.setdefault(key, []).append(j)
    for i in line_ix:
        text = LineText(sides.lines[i])
        if keyed is None:
            candidates = [j for j in entry_ix if not entry_used[j] and _refers_to(text, entries[j])]
        else:
            candidates = [j for key in text.runs() for j in keyed.get(key, ()) if not entry_used[j]]
        day = sides.line_day[i]
        best: tuple[int, bool, int, str] | None = None
        best_j = -1
        for j in candidates:
            distance = abs(entry_day[j] - day)
            if distance > window:
                continue
            rank = (distance, entry_day[j] > day, entry_day[j], entries[j].entry_id)
            if best is None or rank < best:
                best, best_j = rank, j
        if best is not None:
            sides.record_pair(MatchRule.AMOUNT_AND_REFERENCE, i, best_j)


def _bucket_by_date(sides: _Sides, line_ix: list[int], entry_ix: list[int], window: int) -> None:
    """Rule 2 within one amount: the nearest pairs first; at equal distance the entry recorded
    before the line (money clears after it is recorded); then the earliest.

    Nearest-first can strand a line: entries on days 10 and 13 clearing on days 13 and 16 give
    day 13 to day 13, and day 16 has nothing within the window. So a line left over then looks
    for a short chain of re-pairings (an augmenting path, at most ``_MAX_SHIFT`` pairs long, all
    within the window) that frees an entry for it: more pairs, never fewer, and a pair is only
    moved when that makes room for one more."""
    line_day, entry_day = sides.line_day, sides.entry_day
    line_used, entry_used = sides.line_used, sides.entry_used
    free_entries = [j for j in entry_ix if not entry_used[j]]  # in date order
    days = [entry_day[j] for j in free_entries]
    pairs: list[tuple[int, bool, int, int, int, int]] = []
    reachable: dict[int, list[int]] = {}
    for rank_i, i in enumerate(line_ix):  # in date order
        if line_used[i]:
            continue
        day = line_day[i]
        near = range(bisect_left(days, day - window), bisect_right(days, day + window))
        for k in near:
            pairs.append((abs(days[k] - day), days[k] > day, rank_i, k, i, free_entries[k]))
        reachable[i] = sorted(
            (free_entries[k] for k in near), key=lambda j: (abs(entry_day[j] - day), entry_day[j])
        )
    pairs.sort()
    line_of_entry: dict[int, int] = {}
    entry_of_line: dict[int, int] = {}
    for *_rank, i, j in pairs:
        if i not in entry_of_line and j not in line_of_entry:
            entry_of_line[i], line_of_entry[j] = j, i
    if len(entry_of_line) < min(len(reachable), len(free_entries)):
        for i in reachable:
            if i not in entry_of_line:
                _augment(i, reachable, entry_of_line, line_of_entry, set(), _MAX_SHIFT)
    for i in sorted(entry_of_line, key=lambda i: (line_day[i], i)):
        sides.record_pair(MatchRule.AMOUNT_AND_DATE, i, entry_of_line[i])


def _augment(
    i: int,
    reachable: dict[int, list[int]],
    entry_of_line: dict[int, int],
    line_of_entry: dict[int, int],
    seen: set[int],
    depth: int,
) -> bool:
    """Give line ``i`` an entry, moving at most ``depth`` existing pairs (Kuhn's step)."""
    if depth == 0:
        return False
    for j in reachable[i]:
        if j in seen:
            continue
        seen.add(j)
        holder = line_of_entry.get(j)
        if holder is None or _augment(
            holder, reachable, entry_of_line, line_of_entry, seen, depth - 1
        ):
            entry_of_line[i], line_of_entry[j] = j, i
            return True
    return False


def _match_groups(sides: _Sides, policy: MatchingPolicy) -> None:
    """Rules 3 and 4, smallest groups first: every pair (one line to two entries, then two
    lines to one entry) before any group of three, and so on. The small, likely groups take
    their members first, and the costlier searches look through a thinner pool."""
    lodgements = _GroupSearch(sides, policy, one_line_to_many=True)
    splits = _GroupSearch(sides, policy, one_line_to_many=False)
    for size in range(2, policy.max_group_size + 1):
        lodgements.match_groups_of(size)
        splits.match_groups_of(size)


class _GroupSearch:
    """One direction of the group rules: each target (a line for rule 3, an entry for rule 4)
    against the unmatched other side of its sign within its date window. A line's entries
    are recorded on or before it (lodged after they were received), with a day of slack
    either way for a late posting."""

    def __init__(self, sides: _Sides, policy: MatchingPolicy, *, one_line_to_many: bool) -> None:
        self.sides = sides
        self.policy = policy
        self.one_line_to_many = one_line_to_many
        if one_line_to_many:
            targets, self.target_amount, target_day, self.target_used = (
                sides.lines_in_date_order(),
                sides.line_amount,
                sides.line_day,
                sides.line_used,
            )
            self.pool, pool_amount, pool_day, self.pool_used = (
                sides.entries_in_date_order(),
                sides.entry_amount,
                sides.entry_day,
                sides.entry_used,
            )
            before, after = policy.date_window_days, _SLACK_DAYS
            self.rule = MatchRule.ONE_LINE_TO_MANY_ENTRIES
        else:
            targets, self.target_amount, target_day, self.target_used = (
                sides.entries_in_date_order(),
                sides.entry_amount,
                sides.entry_day,
                sides.entry_used,
            )
            self.pool, pool_amount, pool_day, self.pool_used = (
                sides.lines_in_date_order(),
                sides.line_amount,
                sides.line_day,
                sides.line_used,
            )
            before, after = _SLACK_DAYS, policy.date_window_days
            self.rule = MatchRule.MANY_LINES_TO_ONE_ENTRY
        # The pool split by sign, each in date order, as flat arrays for the window scans.
        self.pools: dict[int, list[int]] = {1: [], -1: []}
        for k in self.pool:
            if pool_amount[k]:
                self.pools[1 if pool_amount[k] > 0 else -1].append(k)
        # Each target's candidates, found once: (distance, position in its signed pool,
        # magnitude), nearest first; members taken by other groups drop out as passes go.
        self.candidates_of: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
        for sign, signed_pool in self.pools.items():
            days = [pool_day[k] for k in signed_pool]
            magnitudes = [pool_amount[k] * sign for k in signed_pool]
            for t in targets:
                amount = self.target_amount[t]
                if amount * sign <= 0:
                    continue
                goal = amount * sign
                day = target_day[t]
                lo = bisect_left(days, day - before)
                hi = bisect_right(days, day + after)
                if hi - lo < 2:
                    continue
                found = [
                    (abs(days[p] - day), p, magnitudes[p])
                    for p in range(lo, hi)
                    if magnitudes[p] < goal
                ]
                if len(found) >= 2:
                    found.sort()
                    self.candidates_of[t] = (sign, found)

    def match_groups_of(self, size: int) -> None:
        # a pair costs one hash lookup per candidate, so pairs search the whole window;
        # larger groups search the nearest ``max_group_candidates``
        cap = None if size == 2 else self.policy.max_group_candidates
        pool_used, target_used = self.pool_used, self.target_used
        for t, (sign, found) in self.candidates_of.items():
            if target_used[t]:
                continue
            pool = self.pools[sign]
            free = [c for c in found if not pool_used[pool[c[1]]]][:cap]
            if len(free) < size:
                continue
            goal = abs(self.target_amount[t])
            group = _pair_with_sum(goal, free) if size == 2 else _subset_with_sum(goal, free, size)
            if group is None:
                continue
            members = [pool[free[c][1]] for c in group]
            if self.one_line_to_many:
                self.sides.record(self.rule, (t,), members)
            else:
                self.sides.record(self.rule, members, (t,))


def _pair_with_sum(goal: int, candidates: list[tuple[int, int, int]]) -> tuple[int, ...] | None:
    """Two candidates whose magnitudes sum to ``goal``, the nearest in date; one pass, hashed."""
    seen: dict[int, list[int]] = {}
    best: tuple[int, int, tuple[int, ...]] | None = None
    found = 0
    for second, (distance, _position, magnitude) in enumerate(candidates):
        for first in seen.get(goal - magnitude, ()):
            rank = (candidates[first][0] + distance, distance, (first, second))
            if best is None or rank < best:
                best = rank
            found += 1
        if found >= _MAX_SOLUTIONS:
            break
        seen.setdefault(magnitude, []).append(second)
    return None if best is None else best[2]


def _subset_with_sum(
    goal: int, candidates: list[tuple[int, int, int]], size: int
) -> tuple[int, ...] | None:
    """``size`` candidates whose magnitudes sum to ``goal``: of those found, the nearest in date
    (least total distance, then least greatest distance, then earliest); ``None`` if none.

    Meet in the middle: the sums of all pairs are hashed once; the first ``size - 2`` members
    are chosen depth-first in ascending magnitude (pruned when the rest cannot reach the goal,
    or must overshoot it) and the last two are looked up as a pair sum.
    """
    order = sorted(range(len(candidates)), key=lambda c: candidates[c][2])
    magnitudes = [candidates[c][2] for c in order]
    n = len(order)
    largest = magnitudes[-1]
    pairs: dict[int, list[tuple[int, int]]] = {}
    for first in range(n - 1):
        low = magnitudes[first]
        if low * 2 > goal:
            break
        for second in range(first + 1, n):
            total = low + magnitudes[second]
            if total > goal:
                break
            pairs.setdefault(total, []).append((first, second))
    solutions: list[tuple[int, ...]] = []

    def search(start: int, left: int, remainder: int, chosen: tuple[int, ...]) -> None:
        if left == 2:
            for first, second in pairs.get(remainder, ()):
                if first >= start:
                    solutions.append((*chosen, first, second))
                    if len(solutions) >= _MAX_SOLUTIONS:
                        return
            return
        for position in range(start, n - left + 1):
            magnitude = magnitudes[position]
            if magnitude * left > remainder:
                break  # every later one is at least as large: the rest would overshoot
            if magnitude + largest * (left - 1) < remainder:
                continue  # too small even with the largest for the rest
            search(position + 1, left - 1, remainder - magnitude, (*chosen, position))
            if len(solutions) >= _MAX_SOLUTIONS:
                return

    search(0, size, goal, ())
    if not solutions:
        return None
    best: tuple[int, int, tuple[int, ...]] | None = None
    for solution in solutions:
        members = tuple(sorted(order[p] for p in solution))
        distances = [candidates[m][0] for m in members]
        rank = (sum(distances), max(distances), members)
        if best is None or rank < best:
            best = rank
    assert best is not None
    return best[2]
