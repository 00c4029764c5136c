"""The ledger's use cases: what happens when an event arrives or a cashier asks for something.

Each use case takes the unit of work's ``Books``, calls the domain's ``Ledger``, writes what
changed and stages the ``ledger.events.v1`` events its outcomes imply in the outbox — all in the
caller's transaction, which the caller commits. The functions here are synchronous: they run
inside ``AsyncSession.run_sync`` (see ``db.connection``), where the books may still fetch what a
batch did not foresee.

The promise to the connector: for every Clio event consumed, exactly one ``PostingApplied``,
``PostingHeld`` or ``PostingRejected`` whose ``source.event_id`` is the consumed envelope's id,
in the same transaction as its effects. A posting that waited and later posts answers again
(``PostingApplied``) when it does.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_chassis.outbox import OUTBOX_COLUMNS
from cashroom_contracts.envelope import (
    Envelope,
    EventPayload,
    encode_event,
    new_event,
    parse_event,
)
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.events.ledger import ExceptionResolution, PostingSource
from cashroom_contracts.events.reconciliation import ReconciliationSigned
from cashroom_contracts.topics import CLIO_EVENTS, RECONCILIATION_EVENTS
from cashroom_ledger import outgoing
from cashroom_ledger.db import codec
from cashroom_ledger.db.books import Books
from cashroom_ledger.db.outbox import stage
from cashroom_ledger.db.store import StoredState
from cashroom_ledger.domain import (
    Account,
    AlreadyApplied,
    Jurisdiction,
    Ledger,
    LedgerError,
    ManualEntry,
    Outcome,
    ReferenceRecorded,
    Rejected,
    account_upserted,
    chart_template,
    ledger_events,
    new_account,
)

SOURCE = outgoing.SOURCE
FIRM_NOT_SET_UP = "firm_not_set_up"
Payloads = list[contract.LedgerEvent]
Drafts = list[outgoing.Draft]


class NotSetUp(LedgerError):
    """The firm's books do not exist yet."""


class Conflict(LedgerError):
    """The request contradicts what the books already say."""


# --- events from the bus --------------------------------------------------------------------------


def handle_batch(
    books: Books, envelopes: Sequence[Envelope[EventPayload]], *, occasion: str = "consumed"
) -> int:
    """A batch of consumed events, in order: prefetched per firm, decided one by one in memory,
    written at the end with the ledger events they imply (staged in the outbox: how many)."""
    books.open(e.firm_id for e in envelopes)
    clio: dict[str, list[ClioEvent]] = defaultdict(list)
    for envelope in envelopes:
        if isinstance(envelope.data, ClioEvent):
            clio[envelope.firm_id].append(envelope.data)
    for firm_id, events in clio.items():
        books.prefetch(firm_id, events)
    staged = outgoing.Envelopes()
    rows: list[outgoing.OutboxRow] = []
    for envelope in envelopes:
        rows += staged.rows(
            handle_event(books, envelope),
            firm_id=envelope.firm_id,
            cause_id=envelope.id,
            correlation_id=envelope.correlation_id,
            occasion=occasion,
            now=datetime.now(UTC),
        )
    books.flush()
    books.db.copy(OUTBOX.name, OUTBOX_COLUMNS, rows)
    return len(rows)


def handle_event(books: Books, envelope: Envelope[EventPayload]) -> Drafts:
    match envelope.data:
        case ClioEvent():
            return on_clio_event(books, envelope, envelope.data)
        case ReconciliationSigned():
            return on_reconciliation_signed(books, envelope, envelope.data)
        case _:
            return []  # statement imports, breaches found by reconciliation: not the ledger's


def on_clio_event(books: Books, envelope: Envelope[Any], event: ClioEvent) -> Drafts:
    """Post, hold, reject or refer one Clio event, and answer it exactly once."""
    state = books.state(envelope.firm_id)
    if state is None:
        books.hold_before_setup(envelope.firm_id, envelope.id, CLIO_EVENTS, encode_event(envelope))
        return [
            outgoing.held(
                clio_source(event, envelope.id),
                FIRM_NOT_SET_UP,
                f"the books of firm {envelope.firm_id} are not set up yet; the event is "
                "kept and posts when they are",
            )
        ]
    ledger = Ledger(envelope.firm_id, state=state)
    outcomes = ledger.handle(event, event_id=envelope.id)
    drafts = outgoing.drafts(outcomes)
    drafts += [outgoing.from_model(p) for p in _remember(ledger, state, outcomes)]
    if not any(d.answers is not None and d.answers == envelope.id for d in drafts):
        drafts.append(_answer_again(ledger, state, outcomes, clio_source(event, envelope.id)))
    return drafts


def on_reconciliation_signed(
    books: Books, envelope: Envelope[Any], signed: ReconciliationSigned
) -> Drafts:
    """A signed reconciliation locks its bank account through ``as_of``."""
    state = books.state(envelope.firm_id)
    if state is None:
        books.hold_before_setup(
            envelope.firm_id, envelope.id, RECONCILIATION_EVENTS, encode_event(envelope)
        )
        return []
    bank = signed.bank_account_id
    current = state.lock_by_bank().get(bank)
    detail = {
        "reconciliation_id": str(signed.reconciliation_id),
        "bank_account_id": bank,
        "as_of": signed.as_of.isoformat(),
    }
    if state.bank_account(bank) is None:
        state.audit(
            signed.signed_by,
            "reconciliation_lock_not_applied",
            {**detail, "why": "the bank account is not known to the ledger"},
        )
        return []
    if current is not None and current >= signed.as_of:
        return []  # already locked through that date or later
    ledger = Ledger(envelope.firm_id, state=state)
    reason = f"reconciliation {signed.reconciliation_id} signed as of {signed.as_of}"
    outcomes = ledger.lock_period(
        signed.as_of, by=signed.signed_by, reason=reason, bank_account_id=bank
    )
    state.audit(signed.signed_by, "period_locked_by_reconciliation", detail)
    drafts = outgoing.drafts(outcomes)
    return drafts + [outgoing.from_model(p) for p in _remember(ledger, state, outcomes)]


def publish(ledger: Ledger, state: StoredState, outcomes: list[Outcome]) -> Payloads:
    """The ledger events for ``outcomes``; a new bank account's nominal is announced too, and a
    rejection is remembered so that a replay of the same version is answered the same way."""
    return list(ledger_events(outcomes)) + _remember(ledger, state, outcomes)


def _remember(ledger: Ledger, state: StoredState, outcomes: list[Outcome]) -> Payloads:
    """What ``outcomes`` imply besides their own events: a new bank account's nominal is
    announced (returned), and a rejection is remembered (so that a replay of the same version
    is answered the same way)."""
    payloads: Payloads = []
    for outcome in outcomes:
        if isinstance(outcome, ReferenceRecorded) and outcome.what == "bank_account":
            bank = state.bank_account(outcome.id)
            if bank is not None:
                account = ledger.chart.account(bank.nominal_code)
                payloads.append(account_upserted(ledger.chart, account, bank.bank_account_id))
        if isinstance(outcome, Rejected):
            version = outcome.source.version or ""
            state.record_rejection(outcome.key, version, outcome.reason_code, outcome.reason)
    return payloads


def _answer_again(
    ledger: Ledger, state: StoredState, outcomes: list[Outcome], source: PostingSource
) -> outgoing.Draft:
    """The answer to an event that changed nothing: reference data, work in progress, or a
    version of a posting the ledger has seen before (answered as it stands)."""
    for outcome in outcomes:
        if not isinstance(outcome, AlreadyApplied):
            continue
        key, version = outcome.key, outcome.source.version or ""
        pending = ledger.pending_for(key)
        if pending is not None and pending.submission.version == version:
            return outgoing.held(source, pending.reason_code, pending.reason)
        if ledger.live_version(key) == version:
            return outgoing.applied(source, [j.journal_id for j in ledger.live_journals(key)])
        rejected = state.rejection(key, version)
        if rejected is not None:
            return outgoing.rejected(source, rejected[0], rejected[1])
    return outgoing.applied(source, [])


def clio_source(event: ClioEvent, event_id: uuid.UUID) -> PostingSource:
    return PostingSource(
        system="clio",
        object_type=event.source.object_type,
        object_id=str(event.source.object_id),
        version=event.source.version,
        event_id=event_id,
    )


def emit(
    books: Books, firm_id: str, payloads: Sequence[contract.LedgerEvent]
) -> list[Envelope[Any]]:
    """Stage the events a cashier's command implies in the outbox (same transaction)."""
    envelopes = wrap(firm_id, payloads)
    stage(books.db, envelopes)
    return envelopes


def wrap(firm_id: str, payloads: Sequence[contract.LedgerEvent]) -> list[Envelope[Any]]:
    """Envelopes for the outbox of a cashier's command (the consumed events' are written by
    ``outgoing``)."""
    return [new_event(payload, firm_id=firm_id, source=SOURCE) for payload in payloads]


# --- the cashier's commands -----------------------------------------------------------------------


def books_of(books: Books, firm_id: str) -> tuple[Ledger, StoredState]:
    state = books.state(firm_id)
    if state is None:
        raise NotSetUp(
            f"the books of firm {firm_id} are not set up: PUT /firms/{firm_id}/setup first"
        )
    return Ledger(firm_id, state=state), state


def set_up_firm(
    books: Books, firm_id: str, jurisdiction: Jurisdiction, firm_name: str, *, by: str
) -> tuple[bool, list[Envelope[Any]]]:
    """Create the firm's chart from its jurisdiction's template, announce every nominal, and
    handle the events that arrived before. Again with the same jurisdiction: nothing changes
    (the name is updated); with another: ``Conflict``."""
    state = books.state(firm_id)
    if state is not None:
        if state.chart.jurisdiction is not jurisdiction:
            raise Conflict(
                f"firm {firm_id} is already set up for {state.chart.jurisdiction.value}; its "
                f"books cannot change to {jurisdiction.value}"
            )
        if state.firm.firm_name != firm_name:
            books.rename(firm_id, firm_name)
            state.audit(by, "firm_renamed", {"firm_name": firm_name})
            books.flush()
        return False, []
    chart = chart_template(jurisdiction)
    state = books.set_up(firm_id, firm_name, chart)
    state.audit(by, "firm_set_up", {"jurisdiction": jurisdiction.value, "firm_name": firm_name})
    books.flush()
    out = emit(books, firm_id, [account_upserted(chart, account) for account in chart])
    waiting = [parse_event(raw) for raw in books.take_events_before_setup(firm_id)]
    if waiting:
        handle_batch(books, waiting, occasion="set-up")
    return True, out


def add_account(
    books: Books, firm_id: str, *, code: str, name: str, type: str | None, by: str
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    account = new_account(code, name, type)
    ledger.add_account(account)
    state.audit(by, "account_added", {"code": code, "name": account.name, "type": account.type})
    return _account_changed(books, ledger, account)


def change_account(
    books: Books, firm_id: str, code: str, *, name: str | None, type: str | None, by: str
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    ledger.change_account(code, name=name, type=type)
    account = ledger.chart.account(code)
    state.audit(by, "account_changed", {"code": code, "name": name, "type": type})
    return _account_changed(books, ledger, account)


def remove_account(books: Books, firm_id: str, code: str, *, by: str) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    account = ledger.chart.get(code)
    ledger.remove_account(code)
    state.audit(by, "account_removed", {"code": code})
    if account is None:  # the domain refuses that already; kept for the type checker
        return []
    gone = account_upserted(ledger.chart, account).model_copy(update={"active": False})
    books.flush()
    return emit(books, firm_id, [gone])


def _account_changed(books: Books, ledger: Ledger, account: Account) -> list[Envelope[Any]]:
    bank = next((b for b in ledger.bank_accounts() if b.nominal_code == account.code), None)
    payload = account_upserted(
        ledger.chart, account, bank.bank_account_id if bank is not None else None
    )
    books.flush()
    return emit(books, ledger.firm_id, [payload])


def set_default_office_account(
    books: Books, firm_id: str, bank_account_id: int, *, by: str
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    outcomes = ledger.set_default_office_account(bank_account_id)
    state.audit(by, "default_office_account_set", {"bank_account_id": bank_account_id})
    return _done(books, ledger, state, outcomes)


def enter_manual(
    books: Books, firm_id: str, entry: ManualEntry
) -> tuple[list[Outcome], list[Envelope[Any]]]:
    ledger, state = books_of(books, firm_id)
    outcomes = ledger.enter(entry)
    subject_type, subject = codec.subject_json(entry)
    state.audit(
        entry.entered_by, "manual_entry", {"type": subject_type, "entry": json.loads(subject)}
    )
    return outcomes, _done(books, ledger, state, outcomes)


def resolve_exception(
    books: Books,
    firm_id: str,
    exception_id: uuid.UUID,
    resolution: ExceptionResolution,
    *,
    by: str,
    reason: str,
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    outcomes = ledger.resolve_exception(exception_id, resolution, by=by, reason=reason)
    state.audit(
        by,
        "exception_resolved",
        {"exception_id": str(exception_id), "resolution": resolution.value, "reason": reason},
    )
    return _done(books, ledger, state, outcomes)


def lock_period(
    books: Books,
    firm_id: str,
    locked_through: date,
    *,
    bank_account_id: int | None,
    by: str,
    reason: str,
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    outcomes = ledger.lock_period(
        locked_through, by=by, reason=reason, bank_account_id=bank_account_id
    )
    state.audit(
        by,
        "period_locked",
        {"locked_through": locked_through, "bank_account_id": bank_account_id, "reason": reason},
    )
    return _done(books, ledger, state, outcomes)


def unlock_period(
    books: Books,
    firm_id: str,
    locked_through: date | None,
    *,
    bank_account_id: int | None,
    by: str,
    reason: str,
) -> list[Envelope[Any]]:
    ledger, state = books_of(books, firm_id)
    outcomes = ledger.unlock_period(
        locked_through=locked_through, by=by, reason=reason, bank_account_id=bank_account_id
    )
    state.audit(
        by,
        "period_unlocked",
        {"locked_through": locked_through, "bank_account_id": bank_account_id, "reason": reason},
    )
    return _done(books, ledger, state, outcomes)


def _done(
    books: Books, ledger: Ledger, state: StoredState, outcomes: list[Outcome]
) -> list[Envelope[Any]]:
    payloads = publish(ledger, state, outcomes)
    books.flush()
    return emit(books, ledger.firm_id, payloads)
