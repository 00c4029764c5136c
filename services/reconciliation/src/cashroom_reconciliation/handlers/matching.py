"""Matching the account's statement lines to its cashbook: automatically (rule by rule, each
match recording its rule), by hand, and undone by hand. Nothing settled in a period a signed
reconciliation covers is matched or unmatched (the domain refuses it; the auto-matcher is not
shown those lines)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from cashroom_chassis.db import UnitOfWork
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.domain import (
    MatchError,
    MatchRule,
    MatchSet,
    auto_match,
    match_manually,
    unmatch,
)
from cashroom_reconciliation.handlers.errors import Conflict, Invalid, NotFound
from cashroom_reconciliation.handlers.statements import load_account


@dataclass(frozen=True, slots=True)
class AutoMatchResult:
    by_rule: dict[MatchRule, int]
    lines_unmatched: int
    entries_unmatched: int

    @property
    def matched(self) -> int:
        return sum(self.by_rule.values())


async def run_auto_match(
    uow: UnitOfWork, firm_id: str, bank_account_id: int, *, by: str
) -> AutoMatchResult:
    session = uow.session
    await load_account(uow, firm_id, bank_account_id)
    await repository.lock_account(session, firm_id, bank_account_id)
    lock = await repository.locked_through(session, firm_id, bank_account_id)
    lines = await repository.load_lines(
        session, firm_id, bank_account_id, unmatched_only=True, booked_after=lock
    )
    entries = [
        stored.entry
        for stored in await repository.load_entries(
            session, firm_id, bank_account_id, unmatched_only=True
        )
        if stored.contra_entry_id is None  # an entry and its reversal cancel: nothing to match
    ]
    result = auto_match(lines, entries)
    await repository.insert_matches(
        session, firm_id, bank_account_id, result.new_matches, made_by=f"auto ({by})"
    )
    counts = result.count_by_rule()
    counts.pop(MatchRule.MANUAL, None)
    return AutoMatchResult(
        by_rule=counts,
        lines_unmatched=len(result.unmatched_lines),
        entries_unmatched=len(result.unmatched_entries),
    )


async def match_by_hand(
    uow: UnitOfWork,
    firm_id: str,
    bank_account_id: int,
    *,
    line_ids: Sequence[str],
    entry_ids: Sequence[str],
    by: str,
) -> tuple[uuid.UUID, repository.StoredMatch]:
    session = uow.session
    await load_account(uow, firm_id, bank_account_id)
    await repository.lock_account(session, firm_id, bank_account_id)
    if len(set(line_ids)) != len(line_ids) or len(set(entry_ids)) != len(entry_ids):
        raise Invalid("a match names the same statement line or cashbook entry twice")
    lines = {
        line.bank_id: line
        for line in await repository.load_lines(
            session, firm_id, bank_account_id, bank_ids=line_ids
        )
    }
    stored = {
        s.entry.entry_id: s
        for s in await repository.load_entries(
            session, firm_id, bank_account_id, entry_ids=entry_ids
        )
    }
    missing = [f"statement line {i}" for i in line_ids if i not in lines] + [
        f"cashbook entry {i}" for i in entry_ids if i not in stored
    ]
    if missing:
        raise NotFound(f"not on bank account {bank_account_id}: {', '.join(missing)}")
    cancelled = [i for i in entry_ids if stored[i].contra_entry_id is not None]
    if cancelled:
        raise Conflict(
            f"cashbook entries {', '.join(cancelled)} are cancelled by their reversal; "
            "there is nothing to match"
        )
    taken = [
        f"{what} {item} is already in match {m.match_id}"
        for m in await repository.load_matches(session, firm_id, bank_account_id)
        for what, mine, wanted in (
            ("statement line", m.match.line_ids, line_ids),
            ("cashbook entry", m.match.entry_ids, entry_ids),
        )
        for item in mine
        if item in wanted
    ]
    if taken:
        raise Conflict("; ".join(taken) + " (unmatch it first)")
    try:
        _, match = match_manually(
            MatchSet(),
            [lines[i] for i in line_ids],
            [stored[i].entry for i in entry_ids],
            locked_through=await repository.locked_through(session, firm_id, bank_account_id),
        )
    except MatchError as error:
        raise Conflict(str(error)) from None
    [match_id] = await repository.insert_matches(
        session, firm_id, bank_account_id, [match], made_by=by
    )
    [saved] = await repository.load_matches(session, firm_id, bank_account_id, match_ids=[match_id])
    return match_id, saved


async def unmatch_by_hand(
    uow: UnitOfWork, firm_id: str, bank_account_id: int, match_id: uuid.UUID, *, by: str
) -> None:
    session = uow.session
    await load_account(uow, firm_id, bank_account_id)
    await repository.lock_account(session, firm_id, bank_account_id)
    found = await repository.load_matches(session, firm_id, bank_account_id, match_ids=[match_id])
    if not found:
        raise NotFound(f"there is no live match {match_id} on bank account {bank_account_id}")
    [stored] = found
    try:
        unmatch(
            MatchSet([stored.match]),
            stored.match.match_id,
            locked_through=await repository.locked_through(session, firm_id, bank_account_id),
        )
    except MatchError as error:
        raise Conflict(str(error)) from None
    await repository.undo_match(session, firm_id, match_id, by=by, reason="unmatched by hand")
