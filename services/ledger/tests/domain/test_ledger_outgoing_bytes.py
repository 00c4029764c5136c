"""The outbox rows the consumer writes straight from the journals (``cashroom_ledger.outgoing``)
are, byte for byte, the rows the contract's models would give: each outcome's events built by
``publishing.ledger_events``, wrapped in an ``Envelope`` with the id derived from the consumed
event, and turned into rows by the chassis's ``outbox_rows``. Checked for every kind of answer
over generated histories (the properties' steps), the worked postings and awkward text."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_domain_builders import client_money_received, new_ledger, on, send
from test_ledger_properties import (
    REFERENCE,
    ApproveBill,
    History,
    Lock,
    PayClientMoney,
    ReceiveClientMoney,
    RecordBreach,
    Replay,
    Step,
    Unlock,
    steps,
)

from cashroom_chassis.outbox import outbox_rows
from cashroom_contracts.envelope import EVENT_ID_NAMESPACE, Envelope, parse_event
from cashroom_contracts.events import ledger as contract
from cashroom_ledger import outgoing
from cashroom_ledger.domain.ledger import Ledger
from cashroom_ledger.domain.outcomes import Outcome, Posted
from cashroom_ledger.domain.publishing import ledger_events

FIRM = "firm-Ó-1"
ANSWERS = (contract.PostingApplied, contract.PostingHeld, contract.PostingRejected)


def rows_the_old_way(
    events: list[contract.LedgerEvent],
    *,
    cause: uuid.UUID,
    correlation: uuid.UUID | None,
    occasion: str,
    now: datetime,
) -> list[tuple[Any, ...]]:
    """What the consumer wrote before: models, envelopes, the chassis's rows."""
    envelopes = [
        Envelope[Any](
            id=uuid.uuid5(EVENT_ID_NAMESPACE, f"cashroom/ledger|{cause}|{occasion}|{n}"),
            type=event.event_type,
            source="cashroom/ledger",
            subject=None,
            time=now,
            firm_id=FIRM,
            schema_version=event.schema_version,
            correlation_id=correlation,
            causation_id=cause,
            data=event,
        )
        for n, event in enumerate(events)
    ]
    return [(str(row[0]), *row[1:]) for row in outbox_rows(envelopes)]


def check_same_rows(outcomes: list[Outcome], n: int) -> None:
    """The rows of one call's outcomes, both ways, for a cause with and without a correlation
    id and at a time with and without microseconds."""
    old_events = ledger_events(outcomes)
    drafts = outgoing.drafts(outcomes)
    assert [d.event_type for d in drafts] == [e.event_type for e in old_events]
    expected_answers = [e.source.event_id if isinstance(e, ANSWERS) else None for e in old_events]
    assert [d.answers for d in drafts] == expected_answers
    cause = uuid.uuid5(EVENT_ID_NAMESPACE, f"cause {n}")
    correlation = None if n % 2 else uuid.uuid5(EVENT_ID_NAMESPACE, f"run {n}")
    occasion = "set-up" if n % 3 == 0 else "consumed"
    now = datetime(2026, 3, 4, 5, 6, 7, 0 if n % 2 else 123_400, tzinfo=UTC)
    new = outgoing.Envelopes().rows(
        drafts,
        firm_id=FIRM,
        cause_id=cause,
        correlation_id=correlation,
        occasion=occasion,
        now=now,
    )
    old = rows_the_old_way(
        old_events, cause=cause, correlation=correlation, occasion=occasion, now=now
    )
    assert new == old
    for row, event in zip(new, old_events, strict=True):
        parsed = parse_event(row[3])
        assert parsed.data == event
        assert (parsed.causation_id, parsed.correlation_id, parsed.time) == (
            cause,
            correlation,
            now,
        )


def recording(ledger: Ledger) -> list[list[Outcome]]:
    """Every call's outcomes, as the ledger returns them; each Clio event gets an event id, as
    a consumed one has (its answers carry it)."""
    calls: list[list[Outcome]] = []
    ids = itertools.count()

    def record(method: Callable[..., list[Outcome]], *args: Any, **kwargs: Any) -> list[Outcome]:
        outcomes = method(*args, **kwargs)
        calls.append(list(outcomes))
        return outcomes

    handle = ledger.handle

    def handled(event: Any, event_id: uuid.UUID | None = None) -> list[Outcome]:
        event_id = event_id or uuid.uuid5(EVENT_ID_NAMESPACE, f"event {next(ids)}")
        return record(handle, event, event_id=event_id)

    ledger.handle = handled  # type: ignore[method-assign]
    for name in ("resolve_exception", "lock_period", "unlock_period"):
        method = getattr(ledger, name)
        setattr(ledger, name, lambda *a, _m=method, **k: record(_m, *a, **k))
    return calls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(steps, min_size=1, max_size=30))
def test_the_rows_are_the_models_rows_over_any_history(
    reference_first: bool, history_steps: list[Step]
) -> None:
    history = History()
    calls = recording(history.ledger)
    if reference_first:
        for event in REFERENCE:
            history.send(event)
    for step in history_steps:
        history.step(step)
    for event in REFERENCE:
        history.send(event)
    for n, outcomes in enumerate(calls):
        check_same_rows(outcomes, n)


def test_every_kind_of_event_is_met_by_the_histories() -> None:
    """The kinds the histories above produce, seen in one long history (so the check above is
    not only about postings)."""
    history = History()
    calls = recording(history.ledger)
    for event in REFERENCE:
        history.send(event)
    every_kind: list[Step] = [
        ReceiveClientMoney(10, 200, 1, 50_000),
        ApproveBill(10, 3, 20_000, 5_000),
        ReceiveClientMoney(10, 200, 2, 0),  # rejected
        PayClientMoney(11, 201, 2, 10_000),  # overdraws: held, exception raised
        RecordBreach(0),  # resolved: exception resolved, journal posted
        Replay(0),
        Lock(12),
        Unlock(),
    ]
    for step in every_kind:
        history.step(step)
    kinds = {event.event_type for outcomes in calls for event in ledger_events(outcomes)}
    assert kinds >= {
        "ledger.journal.posted",
        "ledger.posting.applied",
        "ledger.posting.held",
        "ledger.posting.rejected",
        "ledger.exception.raised",
        "ledger.exception.resolved",
        "ledger.period.locked",
        "ledger.period.unlocked",
    }
    for n, outcomes in enumerate(calls):
        check_same_rows(outcomes, n)


awkward = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40
) | st.sampled_from(['Ó\'Briain "Tír" \\ /', "line\nbreak\ttab\x00\x08\x0c\x1f\x7f", "\u2028€"])


@settings(max_examples=80, deadline=None)
@given(awkward, awkward, awkward)
def test_awkward_text_is_written_as_pydantic_writes_it(
    narrative: str, reason: str, version: str
) -> None:
    ledger = new_ledger()
    outcomes = send(ledger, client_money_received(1, "12.34", day=on(1)))
    posted = next(o for o in outcomes if isinstance(o, Posted))
    source = posted.source.model_copy(update={"version": version})
    journals = tuple(
        dataclasses.replace(
            j,
            narrative=narrative,
            reason=reason,
            lines=tuple(dataclasses.replace(line, narrative=narrative) for line in j.lines),
        )
        for j in posted.journals
    )
    check_same_rows([dataclasses.replace(posted, source=source, journals=journals)], 1)
    check_same_rows([dataclasses.replace(posted, source=source, journals=journals)], 2)
    held = contract.PostingHeld(source=source, reason_code="matter_unknown", reason=reason)
    draft = outgoing.held(source, "matter_unknown", reason)
    [row] = outgoing.Envelopes().rows(
        [draft],
        firm_id=FIRM,
        cause_id=uuid.UUID(int=7),
        correlation_id=None,
        occasion="consumed",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    [old] = rows_the_old_way(
        [held],
        cause=uuid.UUID(int=7),
        correlation=None,
        occasion="consumed",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert row == old


@given(st.text(max_size=60), st.integers(1, 40))
def test_the_derived_ids_are_uuid5s(prefix: str, count: int) -> None:
    expected = [str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{prefix}{n}")) for n in range(count)]
    assert outgoing.derived_ids(prefix, count) == expected
