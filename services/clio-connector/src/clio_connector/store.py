"""What the connector remembers of each Clio record, and how one normalised record is written:
its snapshot (raw state, content hash, what was published, what is held), its sync-log line and
its event in the outbox, all in the caller's transaction.

Writers take the firm's record lock (``lock_firm_records``, a transaction-scoped advisory
lock), so a sync page and a cashier's resolution of the same firm take turns.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    String,
    Table,
    TextClause,
    Uuid,
    and_,
    case,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_chassis.outbox import add_to_outbox
from cashroom_contracts.envelope import Envelope, deterministic_event_id, new_event
from cashroom_contracts.events.clio import (
    ClioEvent,
    ClioHolding,
    RecordDeletedInClio,
    SyncCompleted,
)
from clio_connector.db.tables import record_snapshots, sync_log
from clio_connector.domain.fields import LINE_ITEMS, ClioResource
from clio_connector.domain.normalise import record_deleted
from clio_connector.domain.outcomes import (
    EVENT_SOURCE,
    Flagged,
    Outcome,
    Publish,
    Published,
    RecordRef,
)
from clio_connector.domain.records import (
    canonical_and_hash,
    canonical_json,
    content_hash,
    loads_exact,
    project,
)
from clio_connector.domain.sync_rules import (
    LastOutcome,
    LedgerStatus,
    LogEntry,
    LogStatus,
    Worth,
    clio_timestamp,
    deletion_is_news,
    event_amount,
    log_entry,
    payload_of,
    published_worth,
)


@dataclass(frozen=True)
class Held:
    """An event waiting for a cashier's decision."""

    event_type: str
    event_id: uuid.UUID
    version: str
    facts_hash: str
    payload: dict[str, Any] | None  # None when loaded without payloads

    def event(self) -> ClioEvent:
        assert self.payload is not None, "load the snapshot with its payloads"
        return payload_of(self.event_type, self.payload)


@dataclass(frozen=True)
class Snapshot:
    object_type: str
    object_id: int
    raw: str | None  # None when loaded without payloads
    content_hash: str
    etag: str | None
    last_status: str | None
    last_reason: str | None
    settings_hash: str | None
    published: Published | None
    published_event_id: uuid.UUID | None
    published_payload: dict[str, Any] | None
    published_worth: Worth
    held: Held | None
    flag_line_id: int | None
    deleted_at: datetime | None

    def record(self) -> Any:
        assert self.raw is not None, "load the snapshot with its payloads"
        return loads_exact(self.raw)

    def last_outcome(self) -> LastOutcome | None:
        if self.last_status is None:
            return None
        return LastOutcome(
            self.last_status,
            self.last_reason,
            self.content_hash,
            self.held.event_id if self.held else None,
        )

    def published_event(self) -> ClioEvent | None:
        if self.published is None or self.published_payload is None:
            return None
        return payload_of(self.published.event_type, self.published_payload)


def _snapshot(row: Any) -> Snapshot:
    mapping = row._mapping
    published = (
        Published(row.published_event_type, row.published_version, row.published_facts_hash)
        if row.published_event_type is not None
        else None
    )
    held_payload = mapping.get("held_payload")
    held = (
        Held(
            row.held_event_type,
            row.held_event_id,
            row.held_version,
            row.held_facts_hash,
            dict(held_payload) if held_payload is not None else None,
        )
        if row.held_event_type is not None
        else None
    )
    published_payload = mapping.get("published_payload")
    return Snapshot(
        object_type=row.object_type,
        object_id=row.object_id,
        raw=mapping.get("raw"),
        content_hash=row.content_hash,
        etag=row.etag,
        last_status=row.last_status,
        last_reason=row.last_reason,
        settings_hash=row.settings_hash,
        published=published,
        published_event_id=row.published_event_id,
        published_payload=dict(published_payload) if published_payload else None,
        published_worth=(row.published_currency, row.published_amount),
        held=held,
        flag_line_id=row.flag_line_id,
        deleted_at=row.deleted_at,
    )


_PAYLOADS = ("raw", "published_payload", "held_payload")
_LIGHT = [c for c in record_snapshots.c if c.name not in _PAYLOADS]


async def lock_firm_records(session: AsyncSession, firm_id: str) -> None:
    """Take the firm's record lock for this transaction: a sync page and a cashier's
    resolution never interleave their reads and writes of the same firm's snapshots."""
    key = zlib.crc32(f"connector-records:{firm_id}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def load_snapshots(
    session: AsyncSession,
    firm_id: str,
    object_type: str,
    ids: Iterable[int],
    *,
    payloads: bool = False,
) -> dict[int, Snapshot]:
    """The records' snapshots. Without ``payloads`` the raw record and the event payloads are
    left out: a sync page does not need them. Writers hold ``lock_firm_records``."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    columns = list(record_snapshots.c) if payloads else _LIGHT
    query = select(*columns).where(
        record_snapshots.c.firm_id == firm_id,
        record_snapshots.c.object_type == object_type,
        record_snapshots.c.object_id.in_(wanted),
    )
    rows = (await session.execute(query)).all()
    return {row.object_id: _snapshot(row) for row in rows}


async def raw_records(
    session: AsyncSession, firm_id: str, object_type: str, ids: Iterable[int]
) -> dict[int, Any]:
    """The last raw state of records (deleted ones left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(record_snapshots.c.object_id, record_snapshots.c.raw).where(
            record_snapshots.c.firm_id == firm_id,
            record_snapshots.c.object_type == object_type,
            record_snapshots.c.object_id.in_(wanted),
            record_snapshots.c.deleted_at.is_(None),
        )
    )
    return {row.object_id: loads_exact(row.raw) for row in rows}


async def held_ids(
    session: AsyncSession, firm_id: str, object_type: str, ids: Iterable[int]
) -> set[int]:
    """Which of these records have an event held for a cashier."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(record_snapshots.c.object_id).where(
            record_snapshots.c.firm_id == firm_id,
            record_snapshots.c.object_type == object_type,
            record_snapshots.c.object_id.in_(wanted),
            record_snapshots.c.held_event_id.is_not(None),
        )
    )
    return set(rows)


# --- Line items (kept per bill; no log lines of their own) ----------------------------------------


async def line_items_of(
    session: AsyncSession, firm_id: str, bill_ids: Iterable[int]
) -> dict[int, list[Any]]:
    wanted = sorted(set(bill_ids))
    found: dict[int, list[Any]] = {}
    if not wanted:
        return found
    rows = await session.execute(
        select(record_snapshots.c.parent_id, record_snapshots.c.raw)
        .where(
            record_snapshots.c.firm_id == firm_id,
            record_snapshots.c.object_type == LINE_ITEMS.object_type,
            record_snapshots.c.parent_id.in_(wanted),
        )
        .order_by(record_snapshots.c.parent_id, record_snapshots.c.object_id)
    )
    for row in rows:
        found.setdefault(row.parent_id, []).append(loads_exact(row.raw))
    return found


def _bill_of_line(line: Mapping[str, Any]) -> int | None:
    bill = line.get("bill")
    value = bill.get("id") if isinstance(bill, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def store_line_items(
    session: AsyncSession,
    firm_id: str,
    lines: Sequence[Any],
    *,
    run_id: uuid.UUID | None,
    now: datetime,
    bill_id: int | None = None,
    replace: bool = False,
    skip_unchanged: bool = False,
) -> int:
    """Keep line items (raw, by bill). With ``replace`` the bill's stored lines become exactly
    these (a line deleted in Clio goes); with ``skip_unchanged`` a line with the etag already
    stored is only marked seen. Returns how many were read."""
    read: dict[int, tuple[int, Mapping[str, Any]]] = {}  # line id -> (bill id, line)
    for line in lines:
        if not isinstance(line, Mapping):
            continue
        line_id = line.get("id")
        parent = bill_id if bill_id is not None else _bill_of_line(line)
        if isinstance(line_id, bool) or not isinstance(line_id, int) or parent is None:
            continue
        read[line_id] = (parent, line)
    if replace and bill_id is not None:
        await session.execute(
            delete(record_snapshots).where(
                record_snapshots.c.firm_id == firm_id,
                record_snapshots.c.object_type == LINE_ITEMS.object_type,
                record_snapshots.c.parent_id == bill_id,
                record_snapshots.c.object_id.not_in(list(read) or [-1]),
            )
        )
    changed = dict(read)
    if skip_unchanged and read:
        known = {
            row.object_id: row.etag
            for row in await session.execute(
                select(record_snapshots.c.object_id, record_snapshots.c.etag).where(
                    record_snapshots.c.firm_id == firm_id,
                    record_snapshots.c.object_type == LINE_ITEMS.object_type,
                    record_snapshots.c.object_id.in_(list(read)),
                )
            )
        }
        same = [
            line_id
            for line_id, (_, line) in read.items()
            if isinstance(line.get("etag"), str) and known.get(line_id) == line.get("etag")
        ]
        if same:
            await session.execute(
                update(record_snapshots)
                .where(
                    record_snapshots.c.firm_id == firm_id,
                    record_snapshots.c.object_type == LINE_ITEMS.object_type,
                    record_snapshots.c.object_id.in_(same),
                )
                .values(last_seen_run=run_id, last_seen_at=now)
            )
            for line_id in same:
                del changed[line_id]
    rows = [
        {
            "firm_id": firm_id,
            "object_type": LINE_ITEMS.object_type,
            "object_id": line_id,
            "parent_id": parent,
            **_raw_and_hash(line),
            "etag": line.get("etag") if isinstance(line.get("etag"), str) else None,
            "clio_updated_at": clio_timestamp(line.get("updated_at")),
            "first_seen_at": now,
            "last_seen_at": now,
            "last_seen_run": run_id,
        }
        for line_id, (parent, line) in changed.items()
    ]
    await _bulk_insert(
        session,
        record_snapshots,
        rows,
        on_conflict=_replace(
            (
                "parent_id",
                "raw",
                "content_hash",
                "etag",
                "clio_updated_at",
                "last_seen_at",
                "last_seen_run",
            )
        ),
    )
    return len(read)


def _raw_and_hash(line: Mapping[str, Any]) -> dict[str, str]:
    both = canonical_and_hash(line, LINE_ITEMS.fields)
    if both is None:
        return {
            "raw": canonical_json(line),
            "content_hash": content_hash(project(line, LINE_ITEMS.fields)),
        }
    return {"raw": both[0], "content_hash": both[1]}


async def drop_unseen_line_items(session: AsyncSession, firm_id: str, run_id: uuid.UUID) -> int:
    """After every line item was read: those not seen are gone from Clio."""
    result = await session.execute(
        delete(record_snapshots).where(
            record_snapshots.c.firm_id == firm_id,
            record_snapshots.c.object_type == LINE_ITEMS.object_type,
            record_snapshots.c.last_seen_run.is_distinct_from(run_id),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- Writing outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What writing a batch of outcomes did, for the sync's progress."""

    statuses: dict[str, int]
    events: list[uuid.UUID]


@dataclass(frozen=True)
class ToWrite:
    """One record's outcome, with the raw record it came from."""

    record: Any
    outcome: Outcome
    entry: LogEntry | None = None  # computed from the outcome unless given
    resolves_line_id: int | None = None
    resolution: Mapping[str, Any] | None = None
    resolved_by: str | None = None
    raw: str | None = None  # canonical_json(record) when the caller has it


async def _unused_event_ids(
    session: AsyncSession, publishes: Sequence[Publish]
) -> dict[uuid.UUID, uuid.UUID]:
    """Deterministic ids that were already used (a record that went A → B → A without an etag
    gets A's version again) map to a new, still deterministic, id."""
    ids = [p.event_id for p in publishes]
    if not ids:
        return {}
    taken = set(await session.scalars(select(OUTBOX.c.event_id).where(OUTBOX.c.event_id.in_(ids))))
    remap: dict[uuid.UUID, uuid.UUID] = {}
    for publish in publishes:
        if publish.event_id in taken:
            new_id = publish.event_id
            while new_id in taken:
                new_id = uuid.uuid5(new_id, "published-again")
            remap[publish.event_id] = new_id
    return remap


def _with_id(publish: Publish, event_id: uuid.UUID) -> Publish:
    return Publish(
        publish.record,
        publish.payload,
        event_id,
        publish.firm_id,
        publish.facts_hash,
        publish.change,
        publish.payload_json,
    )


async def write_outcomes(
    session: AsyncSession,
    *,
    firm_id: str,
    sync_id: uuid.UUID | None,
    items: Sequence[ToWrite],
    snapshots: Mapping[int, Snapshot],
    now: datetime,
    settings_hash: str | None = None,
) -> Written:
    """Write each record's log line, event (to the outbox) and snapshot.

    ``snapshots`` are the records' current snapshots, loaded ``FOR UPDATE`` by the caller;
    ``settings_hash`` names the settings the outcomes were normalised with.
    """
    entries = [item.entry or log_entry(item.outcome, _last(item, snapshots)) for item in items]
    publishes = [e.published for e in entries if e.published is not None]
    remap = await _unused_event_ids(session, publishes)
    entries = [
        LogEntry(
            e.status,
            e.reason,
            e.detail,
            _with_id(e.published, remap[e.published.event_id]),
            e.held,
        )
        if e.published is not None and e.published.event_id in remap
        else e
        for e in entries
    ]

    line_rows = []
    envelopes: list[Envelope[ClioEvent]] = []
    for item, entry in zip(items, entries, strict=True):
        ref = item.outcome.record
        event = entry.published or entry.held
        amount = event_amount(event.payload) if event is not None else None
        published = entry.published
        line_rows.append(
            {
                "firm_id": firm_id,
                "sync_id": sync_id,
                "logged_at": now,
                "object_type": ref.object_type,
                "object_id": ref.object_id,
                "version": ref.version,
                "content_hash": ref.content_hash,
                "status": entry.status.value,
                "reason": entry.reason,
                "detail": entry.detail,
                "event_id": event.event_id if event is not None else None,
                "event_type": event.payload.event_type if event is not None else None,
                "amount_minor": amount.amount_minor if amount is not None else None,
                "currency": amount.currency if amount is not None else None,
                "ledger_status": LedgerStatus.PENDING.value if published is not None else None,
                "resolves_line_id": item.resolves_line_id,
                "resolution": dict(item.resolution) if item.resolution is not None else None,
                "resolved_by": item.resolved_by,
            }
        )
        if published is not None:
            envelopes.append(published.envelope(time=now, correlation_id=sync_id))
    line_ids = await _bulk_insert(session, sync_log, line_rows, returning_ids=True)
    if envelopes:
        await add_to_outbox(session, envelopes)

    snapshot_rows = []
    for item, entry, line_id in zip(items, entries, line_ids, strict=True):
        ref = item.outcome.record
        if ref.object_id is None or not isinstance(item.record, Mapping):
            continue  # a record with no id has only its log line
        previous = snapshots.get(ref.object_id)
        snapshot_rows.append(
            _snapshot_row(firm_id, sync_id, item, entry, line_id, previous, ref, now)
            | {"settings_hash": settings_hash}
        )
    await _upsert_snapshots(session, snapshot_rows)
    statuses: dict[str, int] = {}
    for row in line_rows:
        status = str(row["status"])
        statuses[status] = statuses.get(status, 0) + 1
    return Written(statuses, [e.id for e in envelopes])


_KEY = ("firm_id", "object_type", "object_id")
_PUBLISHED = (
    "published_event_type",
    "published_version",
    "published_facts_hash",
    "published_event_id",
    "published_payload",
    "published_currency",
    "published_amount",
)


async def _upsert_snapshots(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace snapshots. A row without a new publication (no event id) keeps what
    was published before; the first time a record was seen is kept."""
    if not rows:
        return
    updates = []
    for name in rows[0]:
        if name in _KEY or name == "first_seen_at":
            continue
        if name in _PUBLISHED:
            updates.append(
                f'"{name}" = CASE WHEN EXCLUDED.published_event_id IS NULL '
                f'THEN record_snapshots."{name}" ELSE EXCLUDED."{name}" END'
            )
        else:
            updates.append(f'"{name}" = EXCLUDED."{name}"')
    on_conflict = f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {', '.join(updates)}"
    await _bulk_insert(session, record_snapshots, rows, on_conflict=on_conflict)


def _replace(names: Sequence[str]) -> str:
    """An upsert of snapshots that replaces ``names`` of a record already kept."""
    updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in names)
    return f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"


async def _bulk_insert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` (each with the same columns) in one statement: one array per column,
    ``unnest``-ed in the rows' order. With ``returning_ids`` the new ids, in the rows' order
    (the identity is drawn row by row in that order)."""
    if not rows:
        return []
    columns = tuple(rows[0])
    statement = _insert_statement(table, columns, on_conflict, returning_ids)
    values: dict[str, list[Any]] = {name: [] for name in columns}
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"rows for {table.name} name different columns")
        for name in columns:
            values[name].append(row[name])
    for name in columns:
        if isinstance(table.c[name].type, JSONB):
            values[name] = [None if v is None else json.dumps(v) for v in values[name]]
    result = await session.execute(statement, values)
    return sorted(result.scalars()) if returning_ids else []


@cache
def _insert_statement(
    table: Table, columns: tuple[str, ...], on_conflict: str, returning_ids: bool
) -> TextClause:
    arrays = ", ".join(f"CAST(:{name} AS {_array_type(table.c[name])})" for name in columns)
    selected = ", ".join(
        f'CAST(r."{name}" AS jsonb)' if isinstance(table.c[name].type, JSONB) else f'r."{name}"'
        for name in columns
    )
    names = ", ".join(f'"{name}"' for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({names}) SELECT {selected} "
        f"FROM unnest({arrays}) WITH ORDINALITY AS r({names}, n) ORDER BY n {on_conflict}"
        + (" RETURNING id" if returning_ids else "")
    )
    return text(sql)


def _array_type(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, JSONB | String):  # JSON travels as text (Text is a String)
        return "text[]"
    if isinstance(kind, BigInteger):
        return "bigint[]"
    if isinstance(kind, DateTime):
        return "timestamptz[]"
    if isinstance(kind, Uuid):
        return "uuid[]"
    raise TypeError(f"no array type for {column.name} ({kind})")


async def write_recognised(
    session: AsyncSession,
    *,
    firm_id: str,
    sync_id: uuid.UUID | None,
    recognised: Sequence[tuple[Snapshot, str | None]],
    now: datetime,
) -> int:
    """Records read again with the same content (hash), etag and settings: an ``unchanged``
    line each (the reason of a skip kept), without normalising them again."""
    if not recognised:
        return 0
    await _bulk_insert(
        session,
        sync_log,
        [
            {
                "firm_id": firm_id,
                "sync_id": sync_id,
                "logged_at": now,
                "object_type": snapshot.object_type,
                "object_id": snapshot.object_id,
                "version": etag or snapshot.content_hash,
                "content_hash": snapshot.content_hash,
                "status": LogStatus.UNCHANGED.value,
                "reason": snapshot.last_reason,
                "detail": "same content as last read (content hash)",
            }
            for snapshot, etag in recognised
        ],
    )
    first = recognised[0][0]
    await session.execute(
        update(record_snapshots)
        .where(
            record_snapshots.c.firm_id == firm_id,
            record_snapshots.c.object_type == first.object_type,
            record_snapshots.c.object_id.in_([snapshot.object_id for snapshot, _ in recognised]),
        )
        .values(last_seen_run=sync_id, last_seen_at=now, last_status=LogStatus.UNCHANGED.value)
    )
    return len(recognised)


_RECOGNISABLE = frozenset(
    {
        LogStatus.IMPORTED.value,
        LogStatus.UPDATED.value,
        LogStatus.UNCHANGED.value,
        LogStatus.SKIPPED.value,
        LogStatus.RESOLVED.value,
    }
)


def recognised(
    snapshot: Snapshot | None, *, content_hash: str, etag: object, settings_hash: str
) -> bool:
    """Nothing to normalise: the same content and etag as last read, under the same settings,
    and nothing held or flagged for it."""
    return (
        snapshot is not None
        and snapshot.deleted_at is None
        and snapshot.held is None
        and snapshot.flag_line_id is None
        and snapshot.last_status in _RECOGNISABLE
        and snapshot.settings_hash == settings_hash
        and snapshot.content_hash == content_hash
        and snapshot.etag == (etag if isinstance(etag, str) else None)
    )


def _last(item: ToWrite, snapshots: Mapping[int, Snapshot]) -> LastOutcome | None:
    object_id = item.outcome.record.object_id
    snapshot = snapshots.get(object_id) if object_id is not None else None
    return snapshot.last_outcome() if snapshot is not None else None


def _snapshot_row(
    firm_id: str,
    sync_id: uuid.UUID | None,
    item: ToWrite,
    entry: LogEntry,
    line_id: int,
    previous: Snapshot | None,
    ref: RecordRef,
    now: datetime,
) -> dict[str, Any]:
    record = item.record
    outcome = item.outcome
    etag = record.get("etag")
    row: dict[str, Any] = {
        "firm_id": firm_id,
        "object_type": ref.object_type,
        "object_id": ref.object_id,
        "parent_id": None,
        "raw": item.raw if item.raw is not None else canonical_json(record),
        "content_hash": ref.content_hash,
        "etag": etag if isinstance(etag, str) else None,
        "clio_updated_at": clio_timestamp(record.get("updated_at")),
        "first_seen_at": now,
        "last_seen_at": now,
        "last_seen_run": sync_id,
        "deleted_at": None,
        "last_status": entry.status.value,
        "last_reason": entry.reason,
    }
    # What the ledger has: a new event replaces it; without one the stored one stays (SQL).
    published = entry.published
    before: Worth = previous.published_worth if previous is not None else (None, None)
    currency, amount = published_worth(published.payload, before) if published else (None, None)
    row.update(
        published_event_type=published.payload.event_type if published else None,
        published_version=published.record.version if published else None,
        published_facts_hash=published.facts_hash if published else None,
        published_event_id=published.event_id if published else None,
        published_payload=published.payload_dump() if published else None,
        published_currency=currency,
        published_amount=amount,
    )
    # What waits for a cashier: a flag with an event holds it; anything else (a flag without
    # one, a skip, a publication, the published facts again) releases it.
    held: Held | None = None
    flag_line: int | None = None
    if isinstance(outcome, Flagged):
        if outcome.held is not None:
            held = Held(
                outcome.held.payload.event_type,
                outcome.held.event_id,
                outcome.held.record.version,
                outcome.held.facts_hash,
                outcome.held.payload_dump(),
            )
        flag_line = (
            previous.flag_line_id
            if entry.status is LogStatus.UNCHANGED and previous and previous.flag_line_id
            else line_id
        )
    row.update(_held_columns(held), flag_line_id=flag_line)
    return row


def _held_columns(held: Held | None) -> dict[str, Any]:
    return {
        "held_event_type": held.event_type if held else None,
        "held_event_id": held.event_id if held else None,
        "held_version": held.version if held else None,
        "held_facts_hash": held.facts_hash if held else None,
        "held_payload": held.payload if held else None,
    }


async def mark_deleted(
    session: AsyncSession,
    *,
    firm_id: str,
    object_type: str,
    object_id: int,
    published: Publish | None,
    now: datetime,
) -> None:
    """A record gone from Clio: no longer held or flagged; what was published is now its
    deletion (so it is not announced twice)."""
    values: dict[str, Any] = {
        "deleted_at": now,
        "last_status": LogStatus.DELETED.value,
        "last_reason": None,
        "flag_line_id": None,
        **_held_columns(None),
    }
    if published is not None:
        values.update(
            published_event_type=published.payload.event_type,
            published_version=published.record.version,
            published_facts_hash=published.facts_hash,
            published_event_id=published.event_id,
            published_payload=published.payload.model_dump(mode="json"),
            # A deletion is worth nothing, in the currency the record had (published_worth).
            published_amount=case((record_snapshots.c.published_amount.is_(None), None), else_=0),
        )
    await session.execute(
        update(record_snapshots)
        .where(
            and_(
                record_snapshots.c.firm_id == firm_id,
                record_snapshots.c.object_type == object_type,
                record_snapshots.c.object_id == object_id,
            )
        )
        .values(**values)
    )


async def write_deletions(
    session: AsyncSession,
    *,
    firm_id: str,
    sync_id: uuid.UUID | None,
    resource: ClioResource,
    gone: Sequence[Snapshot],
    now: datetime,
    detail: str,
) -> list[uuid.UUID]:
    """Records gone from Clio: a ``deleted`` line each, and ``RecordDeletedInClio`` for those
    the ledger has something of. Returns the events' ids."""
    publishes: dict[int, Publish] = {}
    for snapshot in gone:
        published = snapshot.published
        if published is not None and deletion_is_news(published.event_type):
            publishes[snapshot.object_id] = record_deleted(
                resource, snapshot.object_id, firm_id=firm_id, last_version=published.version
            )
    remap = await _unused_event_ids(session, list(publishes.values()))
    publishes = {
        key: _with_id(p, remap[p.event_id]) if p.event_id in remap else p
        for key, p in publishes.items()
    }
    rows = []
    for snapshot in gone:
        publish = publishes.get(snapshot.object_id)
        rows.append(
            {
                "firm_id": firm_id,
                "sync_id": sync_id,
                "logged_at": now,
                "object_type": snapshot.object_type,
                "object_id": snapshot.object_id,
                "version": snapshot.published.version if snapshot.published else snapshot.etag,
                "content_hash": snapshot.content_hash,
                "status": LogStatus.DELETED.value,
                "reason": "gone_from_clio",
                "detail": detail,
                "event_id": publish.event_id if publish else None,
                "event_type": publish.payload.event_type if publish else None,
                "ledger_status": LedgerStatus.PENDING.value if publish else None,
            }
        )
        await mark_deleted(
            session,
            firm_id=firm_id,
            object_type=snapshot.object_type,
            object_id=snapshot.object_id,
            published=publish,
            now=now,
        )
    await _bulk_insert(session, sync_log, rows)
    envelopes = [p.envelope(time=now, correlation_id=sync_id) for p in publishes.values()]
    if envelopes:
        await add_to_outbox(session, envelopes)
    return [e.id for e in envelopes]


async def unseen_snapshots(
    session: AsyncSession, firm_id: str, object_type: str, run_id: uuid.UUID
) -> list[Snapshot]:
    """Records of a type not read by this run (and not already known to be gone)."""
    rows = (
        await session.execute(
            select(record_snapshots)
            .where(
                record_snapshots.c.firm_id == firm_id,
                record_snapshots.c.object_type == object_type,
                record_snapshots.c.deleted_at.is_(None),
                record_snapshots.c.last_seen_run.is_distinct_from(run_id),
            )
            .order_by(record_snapshots.c.object_id)
        )
    ).all()
    return [_snapshot(row) for row in rows]


# --- What Clio holds, for clio.sync.completed -----------------------------------------------

_DELETION = RecordDeletedInClio.event_type
_HOLDINGS = text(
    "SELECT object_type, published_currency AS currency, "
    "count(*) FILTER (WHERE deleted_at IS NULL) AS in_clio, "
    "count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted_in_clio, "
    "count(*) FILTER (WHERE deleted_at IS NULL AND last_status = :skipped) AS skipped, "
    "count(*) FILTER (WHERE deleted_at IS NULL AND flag_line_id IS NOT NULL) "
    "AS awaiting_review, "
    "count(*) FILTER (WHERE published_event_type <> :deletion) AS published, "
    "count(*) FILTER (WHERE published_event_type = :deletion) AS published_deleted, "
    "coalesce(sum(published_amount) FILTER (WHERE published_event_type <> :deletion), 0) "
    "AS published_amount "
    "FROM record_snapshots WHERE firm_id = :firm_id "
    "GROUP BY object_type, published_currency "
    "ORDER BY object_type, published_currency NULLS FIRST"
)


async def clio_holdings(session: AsyncSession, firm_id: str) -> list[ClioHolding]:
    """What the connector holds of the firm's Clio records, per object type and currency of
    their published worth (one GROUP BY over the snapshots)."""
    rows = await session.execute(
        _HOLDINGS,
        {"firm_id": firm_id, "skipped": LogStatus.SKIPPED.value, "deletion": _DELETION},
    )
    return [ClioHolding.model_validate(dict(row._mapping)) for row in rows]


async def announce_sync_completed(
    session: AsyncSession,
    *,
    firm_id: str,
    sync_id: uuid.UUID,
    kind: str,
    started_at: datetime,
    finished_at: datetime,
) -> Envelope[SyncCompleted]:
    """Stage ``clio.sync.completed`` with what Clio holds now, behind every event of the firm
    already staged (the firm's record lock is taken first, so no page or resolution of the firm
    is half-written)."""
    await lock_firm_records(session, firm_id)
    payload = SyncCompleted(
        sync_id=sync_id,
        kind=kind,
        started_at=started_at,
        finished_at=finished_at,
        holdings=await clio_holdings(session, firm_id),
    )
    envelope = new_event(
        payload,
        firm_id=firm_id,
        source=EVENT_SOURCE,
        subject=f"clio/sync/{sync_id}",
        event_id=deterministic_event_id(firm_id, payload.event_type, sync_id),
        time=finished_at,
        correlation_id=sync_id,
    )
    await add_to_outbox(session, [envelope])
    return envelope
