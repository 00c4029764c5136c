"""Auto-matching statement lines to cashbook entries (legal-accounting §4.2), rules in order:

1. **Amount and reference**: the same signed amount, and the entry's reference (a cheque
   number, the matter reference the firm put in the remittance) appears in the line's
   reference or description; within ``reference_window_days`` (cheques clear late); nearest
   date first.
2. **Amount and date**: the same signed amount within ``date_window_days``; nearest date first,
   and at equal distance an entry dated on or before the bank line (money clears after it is
   recorded, not before).
3. **One line to several entries**: a lodgement of several receipts (or one bulk payment of
   several payments): 2 to ``max_group_size`` unmatched entries of the line's sign within the
   date window whose amounts sum to the line.
4. **Several lines to one entry**: the reverse.

Work is O(n log n) on amounts: entries are hashed by amount (and by reference key), each
bucket sorted by date; the subset-sum rules only search the few unmatched entries of one
sign within one line's date window (at most ``max_group_candidates`` of them, nearest first),
meeting in the middle on pair sums. Nothing is ever compared pairwise over everything.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from cashroom_reconciliation.domain.cashbook import CashbookEntry
from cashroom_reconciliation.domain.errors import MatchError
from cashroom_reconciliation.domain.matches import Match, MatchRule, MatchSet
from cashroom_reconciliation.domain.statement import StatementLine

_TOKEN = re.compile(r"[A-Z0-9]+")
_MIN_KEY = 4  # a whole reference shorter than this ("FEE", "CR") identifies nothing
_MIN_TOKEN = 5  # a single token counts as a reference when this long and holding a digit
_MAX_NGRAM = 3  # "INV 1234" in a narrative still meets "INV-1234" in the cashbook
_MAX_SOLUTIONS = 64


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


def reference_key(text: str) -> str:
    """A reference compared as the bank and the cashier would: letters and digits only."""
    return "".join(_TOKEN.findall(text.upper()))


def entry_reference_keys(reference: str) -> frozenset[str]:
    """The keys under which a cashbook entry's reference can be recognised in bank text."""
    tokens = _TOKEN.findall(reference.upper())
    keys = {t for t in tokens if len(t) >= _MIN_TOKEN and any(c.isdigit() for c in t)}
    whole = "".join(tokens)
    if len(whole) >= _MIN_KEY:
        keys.add(whole)
    return frozenset(keys)


def line_reference_keys(line: StatementLine) -> set[str]:
    """Every run of up to three adjacent tokens of the line's reference and description."""
    keys: set[str] = set()
    if line.reference:
        whole = reference_key(line.reference)
        if len(whole) >= _MIN_KEY:
            keys.add(whole)
    text = f"{line.reference or ''} {line.description}".upper()
    tokens = _TOKEN.findall(text)
    for size in range(1, _MAX_NGRAM + 1):
        for start in range(len(tokens) - size + 1):
            key = "".join(tokens[start : start + size])
            if len(key) >= _MIN_KEY:
                keys.add(key)
    return keys


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
        return sorted(
            (i for i in range(len(self.lines)) if not self.line_used[i]),
            key=lambda i: (self.line_day[i], self.lines[i].bank_id),
        )

    def entries_in_date_order(self) -> list[int]:
        return sorted(
            (j for j in range(len(self.entries)) if not self.entry_used[j]),
            key=lambda j: (self.entry_day[j], self.entries[j].entry_id),
        )


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
    sides = _Sides(
        [line for line in all_lines if not existing.is_line_matched(line.bank_id)],
        [entry for entry in all_entries if not existing.is_entry_matched(entry.entry_id)],
    )
    _match_by_reference(sides, policy)
    _match_by_date(sides, policy)
    _match_groups(sides, policy, one_line_to_many=True)
    _match_groups(sides, policy, one_line_to_many=False)
    new = tuple(sides.matches)
    return MatchingResult(
        match_set=existing.with_matches(new),
        new_matches=new,
        unmatched_lines=tuple(line for i, line in enumerate(sides.lines) if not sides.line_used[i]),
        unmatched_entries=tuple(
            entry for j, entry in enumerate(sides.entries) if not sides.entry_used[j]
        ),
    )


def _check_inputs(lines: list[StatementLine], entries: list[CashbookEntry]) -> None:
    currencies = {line.amount.currency for line in lines} | {e.amount.currency for e in entries}
    if len(currencies) > 1:
        raise MatchError(f"cannot match across currencies ({', '.join(sorted(currencies))})")
    if len({line.bank_id for line in lines}) != len(lines):
        raise MatchError("two statement lines share a bank id; import (dedupe) them first")
    if len({entry.entry_id for entry in entries}) != len(entries):
        raise MatchError("two cashbook entries share an id")


def _match_by_reference(sides: _Sides, policy: MatchingPolicy) -> None:
    index: dict[int, dict[str, list[int]]] = {}
    for j, entry in enumerate(sides.entries):
        keys = entry_reference_keys(entry.reference)
        if keys:
            by_key = index.setdefault(sides.entry_amount[j], {})
            for key in keys:
                by_key.setdefault(key, []).append(j)
    if not index:
        return
    window = policy.reference_window_days
    for i in sides.lines_in_date_order():
        keyed = index.get(sides.line_amount[i])
        if keyed is None:
            continue
        day = sides.line_day[i]
        best: tuple[int, bool, int, str] | None = None
        best_j = -1
        for key in line_reference_keys(sides.lines[i]):
            for j in keyed.get(key, ()):
                if sides.entry_used[j]:
                    continue
                distance = abs(sides.entry_day[j] - day)
                if distance > window:
                    continue
                rank = (
                    distance,
                    sides.entry_day[j] > day,
                    sides.entry_day[j],
                    sides.entries[j].entry_id,
                )
                if best is None or rank < best:
                    best, best_j = rank, j
        if best is not None:
            sides.record(MatchRule.AMOUNT_AND_REFERENCE, (i,), (best_j,))


def _match_by_date(sides: _Sides, policy: MatchingPolicy) -> None:
    window = policy.date_window_days
    lines_by_amount: dict[int, list[int]] = {}
    for i in range(len(sides.lines)):
        if not sides.line_used[i]:
            lines_by_amount.setdefault(sides.line_amount[i], []).append(i)
    entries_by_amount: dict[int, list[int]] = {}
    for j in range(len(sides.entries)):
        if not sides.entry_used[j] and sides.entry_amount[j] in lines_by_amount:
            entries_by_amount.setdefault(sides.entry_amount[j], []).append(j)
    line_day, entry_day = sides.line_day, sides.entry_day
    for amount, entry_ix in entries_by_amount.items():
        line_ix = lines_by_amount[amount]
        if len(line_ix) == 1 and len(entry_ix) == 1:
            i, j = line_ix[0], entry_ix[0]
            if abs(line_day[i] - entry_day[j]) <= window:
                sides.record(MatchRule.AMOUNT_AND_DATE, (i,), (j,))
            continue
        entry_ix.sort(key=lambda j: (entry_day[j], sides.entries[j].entry_id))
        days = [entry_day[j] for j in entry_ix]
        pairs: list[tuple[int, bool, int, int, str, str, int, int]] = []
        for i in line_ix:
            day = line_day[i]
            for k in range(bisect_left(days, day - window), bisect_right(days, day + window)):
                j = entry_ix[k]
                pairs.append(
                    (
                        abs(days[k] - day),
                        days[k] > day,
                        day,
                        days[k],
                        sides.lines[i].bank_id,
                        sides.entries[j].entry_id,
                        i,
                        j,
                    )
                )
        pairs.sort()
        for *_rank, i, j in pairs:
            if not sides.line_used[i] and not sides.entry_used[j]:
                sides.record(MatchRule.AMOUNT_AND_DATE, (i,), (j,))


def _match_groups(sides: _Sides, policy: MatchingPolicy, *, one_line_to_many: bool) -> None:
    """Rule 3 (one line, several entries) or, with ``one_line_to_many=False``, rule 4."""
    if one_line_to_many:
        targets, target_amount, target_day = (
            sides.lines_in_date_order(),
            sides.line_amount,
            sides.line_day,
        )
        pool, pool_amount, pool_day, pool_used = (
            sides.entries_in_date_order(),
            sides.entry_amount,
            sides.entry_day,
            sides.entry_used,
        )
        target_used = sides.line_used
        rule = MatchRule.ONE_LINE_TO_MANY_ENTRIES
    else:
        targets, target_amount, target_day = (
            sides.entries_in_date_order(),
            sides.entry_amount,
            sides.entry_day,
        )
        pool, pool_amount, pool_day, pool_used = (
            sides.lines_in_date_order(),
            sides.line_amount,
            sides.line_day,
            sides.line_used,
        )
        target_used = sides.entry_used
        rule = MatchRule.MANY_LINES_TO_ONE_ENTRY
    if not targets or len(pool) < 2:
        return
    days = [pool_day[k] for k in pool]
    window = policy.date_window_days
    for t in targets:
        if target_used[t]:
            continue
        amount = target_amount[t]
        if amount == 0:
            continue
        sign = 1 if amount > 0 else -1
        goal = amount * sign
        day = target_day[t]
        candidates: list[tuple[int, int, int]] = []  # (distance, position in pool, magnitude)
        for position in range(bisect_left(days, day - window), bisect_right(days, day + window)):
            k = pool[position]
            if pool_used[k]:
                continue
            magnitude = pool_amount[k] * sign
            if 0 < magnitude < goal:
                candidates.append((abs(days[position] - day), position, magnitude))
        if len(candidates) < 2:
            continue
        candidates.sort()
        candidates = candidates[: policy.max_group_candidates]
        group = _subset_with_sum(goal, candidates, policy.max_group_size)
        if group is None:
            continue
        members = [pool[candidates[c][1]] for c in group]
        if one_line_to_many:
            sides.record(rule, (t,), members)
        else:
            sides.record(rule, members, (t,))


def _subset_with_sum(
    goal: int, candidates: list[tuple[int, int, int]], max_size: int
) -> tuple[int, ...] | None:
    """The smallest group (2..max_size) of candidates whose magnitudes sum to ``goal``;
    among groups of that size, the one nearest in date (then the earliest in the pool).

    Meet in the middle: sums of the right half's combinations are hashed, the left half's
    combinations look their complement up, so a group of four costs the pairs, not the quads.
    """
    magnitudes = [c[2] for c in candidates]
    distances = [c[0] for c in candidates]
    n = len(candidates)
    for size in range(2, min(max_size, n) + 1):
        left_size = size // 2
        right_size = size - left_size
        right_sums: dict[int, list[tuple[int, ...]]] = {}
        for combo in combinations(range(n), right_size):
            total = sum(magnitudes[k] for k in combo)
            if total < goal:
                right_sums.setdefault(total, []).append(combo)
        best: tuple[int, int, tuple[int, ...]] | None = None
        found = 0
        for left in combinations(range(n), left_size):
            remainder = goal - sum(magnitudes[k] for k in left)
            for right in right_sums.get(remainder, ()):
                if left[-1] >= right[0]:
                    continue  # each group counted once: the left half holds the lowest positions
                group = left + right
                rank = (sum(distances[k] for k in group), max(distances[k] for k in group), group)
                if best is None or rank < best:
                    best = rank
                found += 1
                if found >= _MAX_SOLUTIONS:
                    break
            if found >= _MAX_SOLUTIONS:
                break
        if best is not None:
            return best[2]
    return None
