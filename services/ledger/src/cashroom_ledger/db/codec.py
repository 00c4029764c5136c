"""Domain values to and from what the tables hold: posting keys as (kind, id), money as minor
units beside a currency, waits as ``what:id`` text, facts, sources and the events a held posting
keeps as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from cashroom_contracts.envelope import registered_payloads
from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind, ExceptionResolution, PostingSource
from cashroom_contracts.money import Money
from cashroom_ledger.domain.decisions import Facts, PostingKey, WaitFor
from cashroom_ledger.domain.journals import Entry, Journal, JournalKind, Line, VatTag
from cashroom_ledger.domain.manual import (
    BankTransferEntry,
    ManualEntry,
    OfficePaymentEntry,
    SupplierInvoiceEntry,
    SupplierInvoicePaymentEntry,
)
from cashroom_ledger.domain.outcomes import ExceptionRecord
from cashroom_ledger.domain.state import PendingPosting, Submission

_FACTS = TypeAdapter(Facts)
_MANUAL: dict[str, TypeAdapter[Any]] = {
    cls.__name__: TypeAdapter(cls)
    for cls in (
        OfficePaymentEntry,
        BankTransferEntry,
        SupplierInvoiceEntry,
        SupplierInvoicePaymentEntry,
    )
}
MANUAL_PREFIX = "manual:"


def key(kind: str, key_id: str) -> PostingKey:
    return PostingKey(kind, key_id)


def money(amount_minor: int, currency: str) -> Money:
    return Money(amount_minor=amount_minor, currency=currency)


def maybe_money(amount_minor: int | None, currency: str | None) -> Money | None:
    if amount_minor is None or currency is None:
        return None
    return money(amount_minor, currency)


def wait_text(wait: WaitFor) -> str:
    return f"{wait.what}:{wait.id}"


def wait_of(text: str) -> WaitFor:
    what, _, wait_id = text.partition(":")
    return WaitFor(what, wait_id)


def uid(value: Any) -> uuid.UUID:
    """asyncpg's UUID as the standard library's (they compare equal; this one pickles)."""
    return value if type(value) is uuid.UUID else uuid.UUID(str(value))


def maybe_uid(value: Any) -> uuid.UUID | None:
    return None if value is None else uid(value)


# --- JSON columns ------------------------------------------------------------------------------


def facts_json(facts: Facts) -> str:
    return _FACTS.dump_json(facts).decode()


def facts_of(value: Any) -> Facts:
    return _FACTS.validate_python(value)


def source_json(source: PostingSource) -> str:
    return source.model_dump_json()


def source_of(value: Any) -> PostingSource:
    return PostingSource.model_validate(value)


def subject_json(subject: ClioEvent | ManualEntry) -> tuple[str, str]:
    """(subject type, JSON): a Clio event by its event type, a manual entry by its class."""
    if isinstance(subject, ClioEvent):
        return subject.event_type, subject.model_dump_json()
    name = type(subject).__name__
    return MANUAL_PREFIX + name, _MANUAL[name].dump_json(subject).decode()


def subject_of(subject_type: str, value: Any) -> ClioEvent | ManualEntry:
    if subject_type.startswith(MANUAL_PREFIX):
        entry: ManualEntry = _MANUAL[subject_type[len(MANUAL_PREFIX) :]].validate_python(value)
        return entry
    payload = registered_payloads()[subject_type].model_validate(value)
    assert isinstance(payload, ClioEvent)
    return payload


def pending_row(firm_id: str, pending: PendingPosting) -> tuple[Any, ...]:
    """A held_postings row (without held_since)."""
    submission = pending.submission
    subject_type, subject = subject_json(submission.subject)
    return (
        firm_id,
        submission.key.kind,
        submission.key.id,
        submission.version,
        source_json(submission.source),
        subject_type,
        subject,
        submission.entered_by,
        pending.reason_code,
        pending.reason,
        [wait_text(w) for w in pending.waiting_for],
        sorted(kind.value for kind in pending.allow),
        pending.exception_id,
    )


HELD_COLUMNS = (
    "key_kind, key_id, version, source, subject_type, subject, entered_by, reason_code, reason, "
    "waiting_for, allow, exception_id"
)


def pending_of(row: Mapping[Any, Any]) -> PendingPosting:
    submission = Submission(
        key=key(row["key_kind"], row["key_id"]),
        version=row["version"],
        source=source_of(row["source"]),
        subject=subject_of(row["subject_type"], row["subject"]),
        entered_by=row["entered_by"],
    )
    return PendingPosting(
        submission=submission,
        reason_code=row["reason_code"],
        reason=row["reason"],
        waiting_for=tuple(wait_of(w) for w in row["waiting_for"]),
        allow=frozenset(ExceptionKind(a) for a in row["allow"]),
        exception_id=maybe_uid(row["exception_id"]),
    )


# --- exceptions -----------------------------------------------------------------------------------

EXCEPTION_COLUMNS = (
    "exception_id, kind, matter_id, raised_on, amount_minor, currency, detail, source, key_kind, "
    "key_id, blocking, resolution, resolved_by, resolution_reason"
)


def exception_row(firm_id: str, record: ExceptionRecord) -> tuple[Any, ...]:
    return (
        firm_id,
        record.exception_id,
        record.kind.value,
        record.matter_id,
        record.raised_on,
        record.amount.amount_minor if record.amount is not None else None,
        record.amount.currency if record.amount is not None else None,
        record.detail,
        source_json(record.source) if record.source is not None else None,
        record.key.kind if record.key is not None else None,
        record.key.id if record.key is not None else None,
        record.blocking,
        record.resolution.value if record.resolution is not None else None,
        record.resolved_by,
        record.resolution_reason,
    )


def exception_of(row: Mapping[Any, Any]) -> ExceptionRecord:
    return ExceptionRecord(
        exception_id=uid(row["exception_id"]),
        kind=ExceptionKind(row["kind"]),
        matter_id=row["matter_id"],
        raised_on=row["raised_on"],
        amount=maybe_money(row["amount_minor"], row["currency"]),
        detail=row["detail"],
        source=source_of(row["source"]) if row["source"] is not None else None,
        key=key(row["key_kind"], row["key_id"]) if row["key_kind"] is not None else None,
        blocking=row["blocking"],
        resolution=ExceptionResolution(row["resolution"]) if row["resolution"] else None,
        resolved_by=row["resolved_by"],
        resolution_reason=row["resolution_reason"],
    )


# --- journals -----------------------------------------------------------------------------------

JOURNAL_COLUMNS = (
    "firm_id",
    "journal_id",
    "key_kind",
    "key_id",
    "key_version",
    "position",
    "kind",
    "posted_on",
    "narrative",
    "source_system",
    "source_object_type",
    "source_object_id",
    "source_version",
    "source_event_id",
    "reverses",
    "reason",
    "linked_journal_id",
    "entered_by",
)


def journal_row(
    firm_id: str, posting: PostingKey, version: str, position: int, journal: Journal
) -> tuple[Any, ...]:
    source = journal.source
    return (
        firm_id,
        journal.journal_id,
        posting.kind,
        posting.id,
        version,
        position,
        journal.kind.value,
        journal.posted_on,
        journal.narrative,
        source.system,
        source.object_type,
        source.object_id,
        source.version,
        source.event_id,
        journal.reverses,
        journal.reason,
        journal.linked_journal_id,
        journal.entered_by,
    )


def line_rows(firm_id: str, journal: Journal) -> list[tuple[Any, ...]]:
    """journal_lines rows, in ``tables.JOURNAL_LINE_COLUMNS`` order."""
    return [
        (
            firm_id,
            journal.journal_id,
            number,
            journal.posted_on,
            line.account_code,
            line.entry.value,
            line.amount.amount_minor,
            line.amount.currency,
            line.matter_id,
            line.ledger_side.value if line.ledger_side is not None else None,
            line.bank_account_id,
            line.vat_tag.value if line.vat_tag is not None else None,
            line.narrative,
        )
        for number, line in enumerate(journal.lines)
    ]


def journals_of(
    journal_rows: Sequence[Mapping[Any, Any]], lines: Sequence[Mapping[Any, Any]]
) -> list[Journal]:
    """Journals from their rows and their lines' rows (lines in any order)."""
    by_journal: dict[uuid.UUID, list[Mapping[Any, Any]]] = {}
    for line in lines:
        by_journal.setdefault(uid(line["journal_id"]), []).append(line)
    journals = []
    for row in journal_rows:
        journal_id = uid(row["journal_id"])
        rows = sorted(by_journal.get(journal_id, []), key=lambda r: int(r["line_no"]))
        journals.append(
            Journal(
                journal_id=journal_id,
                kind=JournalKind(row["kind"]),
                posted_on=row["posted_on"],
                narrative=row["narrative"],
                source=PostingSource(
                    system=row["source_system"],
                    object_type=row["source_object_type"],
                    object_id=row["source_object_id"],
                    version=row["source_version"],
                    event_id=maybe_uid(row["source_event_id"]),
                ),
                lines=tuple(_line(r) for r in rows),
                reverses=maybe_uid(row["reverses"]),
                reason=row["reason"],
                linked_journal_id=maybe_uid(row["linked_journal_id"]),
                entered_by=row["entered_by"],
            )
        )
    return journals


def _line(row: Mapping[Any, Any]) -> Line:
    return Line(
        account_code=row["account_code"],
        entry=Entry(row["entry"]),
        amount=money(row["amount_minor"], row["currency"]),
        matter_id=row["matter_id"],
        ledger_side=AccountKind(row["ledger_side"]) if row["ledger_side"] else None,
        bank_account_id=row["bank_account_id"],
        vat_tag=VatTag(row["vat_tag"]) if row["vat_tag"] else None,
        narrative=row["narrative"],
    )


def day(value: Any) -> date:
    assert isinstance(value, date)
    return value


def loads(value: Any) -> Any:
    """A JSON column as Python (asyncpg hands jsonb back already decoded, text as str)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
