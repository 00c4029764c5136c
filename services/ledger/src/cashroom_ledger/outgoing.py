"""The ledger events a consumed event implies, written straight into outbox rows.

The contract's models (``cashroom_contracts.events.ledger``) describe these events; building one
per journal, line and answer, wrapping each in an ``Envelope`` and dumping it again cost the
consumer more than a quarter of its time per Clio event. On that path the ledger writes the
same JSON from its own journals instead: a ``Draft`` is an event's type and its payload as
plain data (dicts, strings, ints, UUIDs, dates, enums, which ``orjson`` writes as pydantic
does), and ``outbox_row`` writes the envelope around it. The bytes are the ones
``encode_event`` would write for the same envelope, key for key (a test compares them for
every kind of answer, over generated histories), so every consumer reads them with
``parse_event`` as before.

The rare events (exceptions, period locks, an account announced) are still built as the
contract's models and dumped by pydantic; their JSON is carried as it is (``orjson.Fragment``).
The cashier's commands keep using the models and ``new_event`` (``handlers.emit``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

from cashroom_chassis.outbox import trace_headers
from cashroom_contracts.envelope import EVENT_ID_NAMESPACE
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.money import Money
from cashroom_ledger.domain.journals import Entry, Journal, Line
from cashroom_ledger.domain.outcomes import Held, Outcome, Posted, Rejected
from cashroom_ledger.domain.publishing import ledger_events

SOURCE = "cashroom/ledger"

APPLIED = contract.PostingApplied.event_type
HELD = contract.PostingHeld.event_type
REJECTED = contract.PostingRejected.event_type
JOURNAL_POSTED = contract.JournalPosted.event_type
ANSWER_TYPES = frozenset((APPLIED, HELD, REJECTED))
"""The events that answer a consumed Clio event (applied, held or rejected)."""

OutboxRow = tuple[str, str, str, bytes, str]
"""``cashroom_chassis.outbox.OUTBOX_COLUMNS``: event id, topic, key (the firm), the encoded
envelope, the headers as JSON."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A ledger event to publish: its type, and its payload as data ``orjson`` writes in the
    contract's field order (or JSON already written, for the rare events)."""

    event_type: str
    data: dict[str, Any] | orjson.Fragment
    answers: uuid.UUID | None = None
    """For an applied, held or rejected answer, the event id of the source it answers."""


# --- payloads -------------------------------------------------------------------------------------


def drafts(outcomes: Iterable[Outcome]) -> list[Draft]:
    """What ``publishing.ledger_events`` publishes for ``outcomes``, in the same order: postings,
    holds and rejections written here, everything else through the contract's models."""
    out: list[Draft] = []
    for outcome in outcomes:
        match outcome:
            case Posted():
                out += [journal_posted(j) for j in outcome.journals]
                out.append(applied(outcome.source, [j.journal_id for j in outcome.journals]))
            case Held():
                out.append(held(outcome.source, outcome.reason_code, outcome.reason))
            case Rejected():
                out.append(rejected(outcome.source, outcome.reason_code, outcome.reason))
            case _:
                out += [from_model(event) for event in ledger_events([outcome])]
    return out


def from_model(event: contract.LedgerEvent) -> Draft:
    """A payload built as the contract's model, as a draft (its JSON written by pydantic)."""
    answers = event.source.event_id if isinstance(event, _ANSWER_MODELS) else None
    return Draft(event.event_type, orjson.Fragment(event.model_dump_json()), answers)


_ANSWER_MODELS = (contract.PostingApplied, contract.PostingHeld, contract.PostingRejected)


def applied(source: contract.PostingSource, journal_ids: list[uuid.UUID]) -> Draft:
    return Draft(APPLIED, {"source": _source(source), "journal_ids": journal_ids}, source.event_id)


def held(source: contract.PostingSource, reason_code: str, reason: str) -> Draft:
    data = {"source": _source(source), "reason_code": reason_code, "reason": reason}
    return Draft(HELD, data, source.event_id)


def rejected(source: contract.PostingSource, reason_code: str, reason: str) -> Draft:
    data = {"source": _source(source), "reason_code": reason_code, "reason": reason}
    return Draft(REJECTED, data, source.event_id)


def journal_posted(journal: Journal) -> Draft:
    """``contract.JournalPosted`` for ``journal`` (``publishing.journal_posted``)."""
    return Draft(
        JOURNAL_POSTED,
        {
            "journal_id": journal.journal_id,
            "posted_on": journal.posted_on,
            "kind": journal.kind.value,
            "narrative": journal.narrative,
            "source": _source(journal.source),
            "reverses_journal_id": journal.reverses,
            "reason": journal.reason,
            "entered_by": journal.entered_by,
            "lines": [_line(line) for line in journal.lines],
        },
    )


def _source(source: contract.PostingSource) -> dict[str, Any]:
    return {
        "system": source.system,
        "object_type": source.object_type,
        "object_id": source.object_id,
        "version": source.version,
        "event_id": source.event_id,
    }


def _line(line: Line) -> dict[str, Any]:
    amount = _money(line.amount)
    zero = {"amount_minor": 0, "currency": line.amount.currency}
    debit = line.entry is Entry.DEBIT
    return {
        "account_code": line.account_code,
        "debit": amount if debit else zero,
        "credit": zero if debit else amount,
        "matter_id": line.matter_id,
        "ledger_side": line.ledger_side,
        "bank_account_id": line.bank_account_id,
        "vat_code": line.vat_tag.value if line.vat_tag is not None else None,
        "narrative": line.narrative,
    }


def _money(money: Money) -> dict[str, Any]:
    return {"amount_minor": money.amount_minor, "currency": money.currency}


# --- envelopes and outbox rows --------------------------------------------------------------------


class Envelopes:
    """Writes the outbox rows of the events one consumed event caused: their ids derive from
    its id and the occasion (consumed, or handled at set-up after waiting for it), so a batch
    retried after a rollback stages the very same events."""

    def __init__(self) -> None:
        context = json.dumps(trace_headers())  # the same for every event staged together
        self._opening = context[:-1] + (", " if context != "{}" else "")
        self._headers: dict[str, str] = {}

    def rows(
        self,
        drafts: Sequence[Draft],
        *,
        firm_id: str,
        cause_id: uuid.UUID,
        correlation_id: uuid.UUID | None,
        occasion: str,
        now: datetime,
    ) -> list[OutboxRow]:
        if not drafts:
            return []
        time = _TIME.dump_python(now, mode="json")
        ids = derived_ids(f"{SOURCE}|{cause_id}|{occasion}|", len(drafts))
        out: list[OutboxRow] = []
        for event_id, draft in zip(ids, drafts, strict=True):
            envelope = {
                "id": event_id,
                "type": draft.event_type,
                "source": SOURCE,
                "subject": None,
                "time": time,
                "firm_id": firm_id,
                "schema_version": 1,
                "correlation_id": correlation_id,
                "causation_id": cause_id,
                "data": draft.data,
            }
            payload = orjson.dumps(envelope)
            out.append(
                (event_id, contract.LedgerEvent.topic, firm_id, payload, self._header(draft))
            )
        return out

    def _header(self, draft: Draft) -> str:
        found = self._headers.get(draft.event_type)
        if found is None:
            found = f'{self._opening}"event_type": {json.dumps(draft.event_type)}}}'
            self._headers[draft.event_type] = found
        return found


_TIME = TypeAdapter(datetime)


def derived_ids(prefix: str, count: int) -> list[str]:
    """``str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{prefix}{n}"))`` for n in ``range(count)``: the
    SHA-1 that ``uuid5`` takes, with the version and variant bits set as it sets them, written
    as text without a ``UUID`` object each."""
    ids = []
    for n in range(count):
        digest = hashlib.sha1(_NAMESPACE + f"{prefix}{n}".encode(), usedforsecurity=False)
        h = f"{(int.from_bytes(digest.digest()[:16]) & _KEEP) | _VERSION_5:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


_NAMESPACE = EVENT_ID_NAMESPACE.bytes
_KEEP = ~((0xF000 << 64) | (0xC000 << 48))  # the version and variant bits, cleared
_VERSION_5 = (0x5000 << 64) | (0x8000 << 48)  # version 5, RFC 4122 variant
