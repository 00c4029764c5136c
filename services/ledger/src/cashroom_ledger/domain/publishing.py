"""Outcomes as ``ledger.events.v1`` payloads: what the service writes to its outbox in the same
transaction as the postings. Pure mapping; the service wraps each payload in an envelope."""

from __future__ import annotations

from collections.abc import Iterable

from cashroom_contracts.events import ledger as contract
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import Account, ChartOfAccounts
from cashroom_ledger.domain.journals import Entry, Journal, Line
from cashroom_ledger.domain.outcomes import (
    ExceptionRaised,
    ExceptionResolved,
    Held,
    Outcome,
    PeriodLockChanged,
    Posted,
    Rejected,
)


def ledger_events(outcomes: Iterable[Outcome]) -> list[contract.LedgerEvent]:
    """The events to publish for ``outcomes``, in order. Replays, reference data and work in
    progress publish nothing."""
    events: list[contract.LedgerEvent] = []
    for outcome in outcomes:
        match outcome:
            case Posted():
                events += [journal_posted(j) for j in outcome.journals]
                events.append(
                    contract.PostingApplied(
                        source=outcome.source, journal_ids=[j.journal_id for j in outcome.journals]
                    )
                )
            case Held():
                events.append(
                    contract.PostingHeld(
                        source=outcome.source,
                        reason_code=outcome.reason_code,
                        reason=outcome.reason,
                    )
                )
            case Rejected():
                events.append(
                    contract.PostingRejected(
                        source=outcome.source,
                        reason_code=outcome.reason_code,
                        reason=outcome.reason,
                    )
                )
            case ExceptionRaised():
                record = outcome.record
                if record.blocking and record.source is not None:
                    # The sync log shows the posting as held, with the exception as the reason.
                    events.append(
                        contract.PostingHeld(
                            source=record.source,
                            reason_code=record.kind.value,
                            reason=record.detail,
                        )
                    )
                events.append(
                    contract.ExceptionRaised(
                        exception_id=record.exception_id,
                        kind=record.kind,
                        matter_id=record.matter_id,
                        raised_on=record.raised_on,
                        amount=record.amount,
                        detail=record.detail,
                        source=record.source,
                    )
                )
            case ExceptionResolved():
                record = outcome.record
                assert record.resolution is not None and record.resolved_by is not None
                events.append(
                    contract.ExceptionResolved(
                        exception_id=record.exception_id,
                        kind=record.kind,
                        matter_id=record.matter_id,
                        resolution=record.resolution,
                        resolved_by=record.resolved_by,
                        reason=record.resolution_reason or "",
                    )
                )
            case PeriodLockChanged():
                if outcome.locked:
                    assert outcome.locked_through is not None
                    events.append(
                        contract.PeriodLocked(
                            locked_through=outcome.locked_through,
                            bank_account_id=outcome.bank_account_id,
                            by=outcome.by,
                            reason=outcome.reason,
                        )
                    )
                else:
                    events.append(
                        contract.PeriodUnlocked(
                            locked_through=outcome.locked_through,
                            bank_account_id=outcome.bank_account_id,
                            by=outcome.by,
                            reason=outcome.reason,
                        )
                    )
            case _:
                pass
    return events


def journal_posted(journal: Journal) -> contract.JournalPosted:
    return contract.JournalPosted(
        journal_id=journal.journal_id,
        posted_on=journal.posted_on,
        kind=journal.kind.value,
        narrative=journal.narrative,
        source=journal.source,
        reverses_journal_id=journal.reverses,
        reason=journal.reason,
        entered_by=journal.entered_by,
        lines=[_line(line) for line in journal.lines],
    )


def account_upserted(
    chart: ChartOfAccounts, account: Account, bank_account_id: int | None = None
) -> contract.AccountUpserted:
    """A nominal for the reports. Roles the contract does not know yet publish as none."""
    known = {role.value for role in contract.AccountRole}
    role = (
        contract.AccountRole(account.role.value)
        if account.role and account.role.value in known
        else None
    )
    return contract.AccountUpserted(
        code=account.code,
        name=account.name,
        type=account.type,
        role=role,
        currency=chart.currency,
        bank_account_id=bank_account_id,
    )


_ZEROS: dict[str, Money] = {}


def _zero(currency: str) -> Money:
    """Zero in ``currency`` (Money is immutable: one value serves every line)."""
    zero = _ZEROS.get(currency)
    if zero is None:
        zero = _ZEROS[currency] = Money.zero(currency)
    return zero


def _line(line: Line) -> contract.JournalLine:
    zero = _zero(line.amount.currency)
    return contract.JournalLine(
        account_code=line.account_code,
        debit=line.amount if line.entry is Entry.DEBIT else zero,
        credit=line.amount if line.entry is Entry.CREDIT else zero,
        matter_id=line.matter_id,
        ledger_side=line.ledger_side,
        bank_account_id=line.bank_account_id,
        vat_code=line.vat_tag.value if line.vat_tag is not None else None,
        narrative=line.narrative,
    )
