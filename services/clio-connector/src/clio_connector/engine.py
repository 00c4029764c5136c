"""One sync run: read Clio resource by resource, page by page, and commit each page with
everything it implies.

For each resource (in ``SYNC_ORDER``, so what a record refers to arrives first):

1. Where to start. A resource this run has begun carries on from the stored page link (the page
   after the last committed one). Otherwise a full sync, or a resource never read to the end,
   reads from the first page; an incremental one reads ``updated_since`` = the high-water mark
   less the overlap window.
2. Each page is one transaction: the records' snapshots (raw, content hash, what was published,
   what is held), a sync-log line per record, the events in the outbox, the page link, the
   progress and the heartbeat. A crash loses at most the page in flight; it is read again and,
   as nothing of it was committed, gives the same events with the same deterministic ids.
3. When the last page is committed the high-water mark moves to the latest ``updated_at`` read
   (never before); a resource read in full then finds the records that are gone from Clio by
   their absence (``RecordDeletedInClio`` for those the ledger has).

Bills need their line items. A bill read in full gets its lines from a bulk read of every line
item just before the bills (200 a request); a bill without lines there has none, unless it
changed after that read. An incremental read fetches the lines of each bill whose etag changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import Database
from clio_connector.clio.client import ClioClient, Page
from clio_connector.clio.errors import (
    ClioError,
    ClioNotFound,
    ClioRequestError,
    ClioUnauthorized,
    ClioUnavailable,
)
from clio_connector.connections import Connections, NotLinked
from clio_connector.db.tables import sync_cursors, sync_runs, webhook_deliveries
from clio_connector.domain.fields import (
    ACTIVITIES,
    ALLOCATIONS,
    BANK_ACCOUNTS,
    BANK_TRANSACTIONS,
    BILLS,
    LINE_ITEMS,
    SYNC_ORDER,
    ClioResource,
)
from clio_connector.domain.normalise import classify_activity, record_content_hash
from clio_connector.domain.records import RecordProblem
from clio_connector.domain.settings import KnownBankAccount, SyncSettings
from clio_connector.domain.sync_rules import (
    SyncFacts,
    bill_line_activity_ids,
    bills_needing_lines,
    clio_timestamp,
    expense_entry_ids,
    known_bank_account,
    nested_ids,
    normalise_record,
    read_from,
    reading_steps,
    resource_named,
    settings_fingerprint,
)
from clio_connector.runs import Run, Runs, RunStatus, SyncKind
from clio_connector.settings import Settings
from clio_connector.settings_store import SettingsStore
from clio_connector.store import (
    Snapshot,
    ToWrite,
    announce_sync_completed,
    drop_unseen_line_items,
    held_ids,
    line_items_of,
    load_snapshots,
    lock_firm_records,
    raw_records,
    recognised,
    store_line_items,
    unseen_snapshots,
    write_deletions,
    write_outcomes,
    write_recognised,
)

log = logging.getLogger(__name__)

_APPROVED = ("awaiting_payment", "paid")
_BULK_LINE_FIELDS = LINE_ITEMS.fields_param + ",bill{id}"
_COUNTERS = (
    "pages",
    "records",
    "imported",
    "updated",
    "unchanged",
    "skipped",
    "flagged",
    "deleted",
    "requests",
    "retries",
    "rate_limit_waits",
)


class SyncStopped(Exception):
    """The run is no longer ``running`` in the database (stopped elsewhere)."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Reading:
    """The state of one attempt at a run."""

    run: Run
    settings: SyncSettings
    clio: ClioClient
    bank_accounts: dict[int, KnownBankAccount]
    bills_in_full: bool
    base_stats: dict[str, Any]
    progress: dict[str, dict[str, Any]]
    settings_hash: str = ""
    deliveries_upto: int = 0  # webhook deliveries received before this attempt began
    # The latest updated_at among the line items this run read in bulk (set when bills are read)
    lines_read_until: datetime | None = None
    observed: dict[str, float] = field(default_factory=dict)

    def counters(self, resource: ClioResource) -> dict[str, Any]:
        entry = self.progress.setdefault(resource.path, {"status": "pending"})
        for name in _COUNTERS:
            entry.setdefault(name, 0)
        entry.setdefault("rate_limit_wait_seconds", 0.0)
        return entry

    def changed(self) -> bool:
        """Whether the run (any attempt at it) wrote anything but "unchanged" lines."""
        return any(
            entry.get(name, 0)
            for entry in self.progress.values()
            for name in ("imported", "updated", "skipped", "flagged", "deleted")
        )

    def stats(self) -> dict[str, Any]:
        """Clio request figures of the whole run (earlier attempts included)."""
        current = asdict(self.clio.stats)
        total = {k: self.base_stats.get(k, 0) + v for k, v in current.items()}
        records = total.get("records", 0)
        total["requests_per_1000_records"] = (
            round(total["requests"] * 1000 / records, 2) if records else None
        )
        return total

    def charge_requests(self, resource: ClioResource) -> None:
        """Add the requests, retries and waits since the last page to the resource's row."""
        current = asdict(self.clio.stats)
        entry = self.counters(resource)
        for name in ("requests", "retries", "rate_limit_waits", "rate_limit_wait_seconds"):
            delta = current[name] - self.observed.get(name, 0)
            entry[name] = entry.get(name, 0) + delta
            self.observed[name] = current[name]


class SyncEngine:
    def __init__(
        self,
        db: Database,
        connections: Connections,
        settings_store: SettingsStore,
        runs: Runs,
        settings: Settings,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._db = db
        self._connections = connections
        self._settings_store = settings_store
        self._runs = runs
        self._settings = settings
        self._now = now
        self._overlap = timedelta(seconds=settings.clio_sync_overlap_seconds)

    # --- A run, start to finish ------------------------------------------------------------

    async def run(self, run: Run) -> RunStatus:
        """Run (or resume) ``run`` to its end. Never raises for Clio's or the data's failures:
        they end the run ``failed`` with a clear error, resumable. A cancelled task leaves it
        ``interrupted``, resumable too."""
        heartbeat = asyncio.create_task(self._beat(run.id), name=f"sync-heartbeat-{run.id}")
        reading: _Reading | None = None
        try:
            settings = await self._settings_store.get(run.firm_id)
            async with self._connections.clio(run.firm_id) as clio:
                reading = await self._start(run, settings, clio)
                for step in await self._steps(reading):
                    await self._read(reading, step)
                await self._deletion_hints(reading)
            finished_at = self._now()
            await self._runs.finish(
                run.id,
                RunStatus.COMPLETED,
                now=finished_at,
                progress=reading.progress,
                clio_stats=reading.stats(),
            )
            await self._after_completion(run, finished_at, changed=reading.changed())
            log.info("sync %s of firm %s completed: %s", run.id, run.firm_id, reading.stats())
            return RunStatus.COMPLETED
        except asyncio.CancelledError:
            await asyncio.shield(
                self._stop(run, reading, RunStatus.INTERRUPTED, "stopped before it finished")
            )
            raise
        except Exception as error:
            message = _explain(error)
            if not isinstance(error, ClioError | NotLinked | SyncStopped):
                log.exception("sync %s of firm %s failed", run.id, run.firm_id)
            else:
                log.warning("sync %s of firm %s failed: %s", run.id, run.firm_id, message)
            await self._stop(run, reading, RunStatus.FAILED, message)
            return RunStatus.FAILED
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _stop(
        self, run: Run, reading: _Reading | None, status: RunStatus, message: str
    ) -> None:
        progress = reading.progress if reading else None
        stats = reading.stats() if reading else None
        if reading is not None:
            for entry in reading.progress.values():
                if entry.get("status") == "reading":
                    entry["status"] = status.value
                    entry["error"] = message
        await self._runs.finish(
            run.id, status, now=self._now(), error=message, progress=progress, clio_stats=stats
        )

    async def _beat(self, run_id: uuid.UUID) -> None:
        interval = max(self._settings.clio_sync_stale_seconds / 4, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._runs.heartbeat(run_id, now=self._now())
            except Exception:  # a missed beat is not a failed sync
                log.warning("sync %s: heartbeat not recorded", run_id, exc_info=True)

    async def _start(self, run: Run, settings: SyncSettings, clio: ClioClient) -> _Reading:
        bank_accounts = await self._settings_store.bank_accounts(run.firm_id)
        cursors = await self._runs.cursors(run.firm_id)
        bills = cursors.get(BILLS.path)
        if bills is not None and bills.run_id == run.id:
            bills_in_full = bills.since is None
        else:
            bills_in_full = (
                run.kind is SyncKind.FULL or bills is None or bills.high_water_mark is None
            )
        async with self._db.transaction() as session:
            deliveries_upto = await session.scalar(
                select(func.coalesce(func.max(webhook_deliveries.c.id), 0)).where(
                    webhook_deliveries.c.firm_id == run.firm_id
                )
            )
        return _Reading(
            settings_hash=settings_fingerprint(settings),
            deliveries_upto=int(deliveries_upto or 0),
            run=run,
            settings=settings,
            clio=clio,
            bank_accounts=bank_accounts,
            bills_in_full=bills_in_full,
            base_stats={k: v for k, v in run.clio_stats.items() if isinstance(v, int | float)},
            progress={k: dict(v) for k, v in run.progress.items()},
        )

    async def _steps(self, reading: _Reading) -> tuple[ClioResource, ...]:
        resources = [resource_named(path) for path in reading.run.resources]
        return reading_steps(resources, bills_read_in_full=reading.bills_in_full)

    async def _after_completion(self, run: Run, finished_at: datetime, *, changed: bool) -> None:
        """After a full sync, or one that wrote anything, what Clio holds goes on the bus
        (``clio.sync.completed``; a poll that found nothing new leaves the last one standing);
        the firm's first sync is marked done once every resource has been read to its end."""
        if run.kind is SyncKind.FULL or changed:
            async with self._db.transaction() as session:
                await announce_sync_completed(
                    session,
                    firm_id=run.firm_id,
                    sync_id=run.id,
                    kind=run.kind.value,
                    started_at=run.started_at,
                    finished_at=finished_at,
                )
        cursors = await self._runs.cursors(run.firm_id)
        if all(
            cursors.get(r.path) is not None and cursors[r.path].last_completed_at is not None
            for r in SYNC_ORDER
        ):
            await self._connections.mark_initial_sync_completed(run.firm_id)

    # --- A resource ----------------------------------------------------------------------------

    async def _read(self, reading: _Reading, resource: ClioResource) -> None:
        run = reading.run
        cursors = await self._runs.cursors(run.firm_id)
        cursor = cursors.get(resource.path)
        entry = reading.counters(resource)
        if resource is BILLS:
            lines = cursors.get(LINE_ITEMS.path)
            if lines is not None and lines.run_id == run.id and lines.done:
                reading.lines_read_until = lines.max_seen
        if cursor is not None and cursor.run_id == run.id:
            if cursor.done:
                entry["status"] = "done"
                return
            since = cursor.since
            resume_from = cursor.next_url if cursor.pages else None
        else:
            full = run.kind is SyncKind.FULL or resource is LINE_ITEMS
            since = read_from(
                cursor.high_water_mark if cursor else None, overlap=self._overlap, full=full
            )
            await self._runs.begin_read(run.firm_id, resource.path, run_id=run.id, since=since)
            resume_from = None
        entry.update(status="reading", since=since.isoformat() if since else None, error=None)
        reading.charge_requests(resource)  # requests made before this resource are not its
        while True:
            pages_read = 0
            try:
                async for page in reading.clio.pages(
                    resource,
                    fields=_BULK_LINE_FIELDS if resource is LINE_ITEMS else None,
                    updated_since=since,
                    resume_from=resume_from,
                    limit=self._settings.clio_page_limit,
                ):
                    await self._page(reading, resource, page, in_full=since is None)
                    pages_read += 1
            except ClioRequestError as error:
                if resume_from is None or pages_read:
                    raise
                # The stored page link was refused (an expired page token): read the resource
                # again from its first page. Records already read come back unchanged.
                log.warning(
                    "sync %s: %s page link refused (%s); reading %s again from the start",
                    run.id,
                    resource.path,
                    error,
                    resource.path,
                )
                await self._runs.begin_read(run.firm_id, resource.path, run_id=run.id, since=since)
                resume_from = None
                continue
            break
        entry["status"] = "done"

    async def _page(
        self, reading: _Reading, resource: ClioResource, page: Page, *, in_full: bool
    ) -> None:
        run = reading.run
        records = _unique(page.records)
        seen = max(
            (t for t in (clio_timestamp(r.get("updated_at")) for r in records) if t),
            default=None,
        )
        now = self._now()
        entry = reading.counters(resource)
        if resource is LINE_ITEMS:
            async with self._db.unit_of_work() as uow:
                await lock_firm_records(uow.session, run.firm_id)
                await store_line_items(
                    uow.session, run.firm_id, records, run_id=run.id, now=now, skip_unchanged=True
                )
                await self._advance(uow.session, reading, resource, page, seen, in_full, now)
                entry["pages"] += 1
                entry["records"] += len(records)
                await self._save_progress(uow.session, reading, resource, now)
                await uow.commit()
            return
        facts, fetched = await self._facts(reading, resource, records)
        async with self._db.unit_of_work() as uow:
            session = uow.session
            await lock_firm_records(session, run.firm_id)
            for bill_id, lines in fetched.items():
                await store_line_items(
                    session,
                    run.firm_id,
                    lines,
                    run_id=run.id,
                    now=now,
                    bill_id=bill_id,
                    replace=True,
                )
            snapshots = await load_snapshots(
                session, run.firm_id, resource.object_type, _ids(records)
            )
            items = []
            known: list[tuple[Snapshot, str | None]] = []
            for record in records:
                object_id = record.get("id")
                snapshot = snapshots.get(object_id) if isinstance(object_id, int) else None
                bill_lines = facts.line_items.get(object_id) if isinstance(object_id, int) else None
                etag = record.get("etag")
                if snapshot is not None and recognised(
                    snapshot,
                    content_hash=record_content_hash(resource, record, bill_lines),
                    etag=etag,
                    settings_hash=reading.settings_hash,
                ):
                    known.append((snapshot, etag if isinstance(etag, str) else None))
                    continue
                outcome = normalise_record(
                    resource,
                    record,
                    reading.settings,
                    firm_id=run.firm_id,
                    previous=snapshot.published if snapshot else None,
                    facts=facts,
                )
                items.append(ToWrite(record, outcome, raw=outcome.record.raw))
            written = await write_outcomes(
                session,
                firm_id=run.firm_id,
                sync_id=run.id,
                items=items,
                snapshots=snapshots,
                now=now,
                settings_hash=reading.settings_hash,
            )
            unchanged = await write_recognised(
                session, firm_id=run.firm_id, sync_id=run.id, recognised=known, now=now
            )
            if resource is BANK_ACCOUNTS:
                for record in records:
                    account = known_bank_account(record)
                    if account is not None:
                        reading.bank_accounts[account.bank_account_id] = account
            entry["pages"] += 1
            entry["records"] += len(records)
            for status, count in written.statuses.items():
                entry[status] = entry.get(status, 0) + count
            entry["unchanged"] += unchanged
            await self._advance(session, reading, resource, page, seen, in_full, now)
            await self._save_progress(session, reading, resource, now)
            await uow.commit()

    async def _facts(
        self, reading: _Reading, resource: ClioResource, records: Sequence[dict[str, Any]]
    ) -> tuple[SyncFacts, dict[int, list[Any]]]:
        """What the page's normalisers need, and the line items fetched for changed bills."""
        firm = reading.run.firm_id
        if resource in (ACTIVITIES, BANK_TRANSACTIONS):
            return SyncFacts(bank_accounts=reading.bank_accounts), {}
        if resource is ALLOCATIONS:
            async with self._db.transaction() as session:
                held = await held_ids(session, firm, BILLS.object_type, nested_ids(records, "bill"))
            return SyncFacts(bank_accounts=reading.bank_accounts, held_bill_ids=held), {}
        if resource is not BILLS:
            return SyncFacts(), {}
        approved_bills = [
            r for r in records if r.get("state") in _APPROVED and isinstance(r.get("id"), int)
        ]
        approved = [r["id"] for r in approved_bills]
        async with self._db.transaction() as session:
            stored = await line_items_of(session, firm, approved)
            known = await load_snapshots(session, firm, BILLS.object_type, approved)
        to_fetch = bills_needing_lines(
            approved_bills,
            stored=stored.keys(),
            known_etags={bill_id: snapshot.etag for bill_id, snapshot in known.items()},
            read_in_full=reading.bills_in_full,
            lines_read_until=reading.lines_read_until,
        )
        fetched: dict[int, list[Any]] = {}
        for bill_id in to_fetch:
            fetched[bill_id] = [
                line
                async for page in reading.clio.pages(
                    LINE_ITEMS,
                    filters={"bill_id": bill_id},
                    limit=self._settings.clio_page_limit,
                )
                for line in page.records
            ]
        lines = {**stored, **fetched}
        all_lines = [line for ls in lines.values() for line in ls]
        activity_ids = bill_line_activity_ids(all_lines)
        async with self._db.transaction() as session:
            activities = await raw_records(
                session, firm, ACTIVITIES.object_type, expense_entry_ids(all_lines)
            )
            held = await held_ids(session, firm, ACTIVITIES.object_type, activity_ids)
        kinds = {}
        for activity_id, activity in activities.items():
            with contextlib.suppress(RecordProblem):
                kinds[activity_id] = classify_activity(activity)
        facts = SyncFacts(
            bank_accounts=reading.bank_accounts,
            line_items=lines,
            expense_kinds=kinds,
            held_activity_ids=held,
        )
        return facts, fetched

    async def _advance(
        self,
        session: AsyncSession,
        reading: _Reading,
        resource: ClioResource,
        page: Page,
        seen: datetime | None,
        in_full: bool,
        now: datetime,
    ) -> None:
        """Store the page link; at the last page move the mark and find what is gone."""
        run = reading.run
        done = page.next_url is None
        values: dict[str, Any] = {
            "next_url": page.next_url,
            "pages": sync_cursors.c.pages + 1,
            "max_seen": func.greatest(sync_cursors.c.max_seen, seen),
            "done": done,
        }
        if done:
            values.update(
                high_water_mark=func.greatest(
                    sync_cursors.c.high_water_mark, sync_cursors.c.max_seen, seen
                ),
                last_completed_at=now,
                last_completed_run=run.id,
            )
            if in_full:
                values["last_full_read_at"] = now
        await session.execute(
            update(sync_cursors)
            .where(
                sync_cursors.c.firm_id == run.firm_id,
                sync_cursors.c.resource == resource.path,
                sync_cursors.c.run_id == run.id,
            )
            .values(**values)
        )
        if done and in_full:
            await self._gone(session, reading, resource, now)

    async def _gone(
        self, session: AsyncSession, reading: _Reading, resource: ClioResource, now: datetime
    ) -> None:
        """Every record of the resource was read: those not read are gone from Clio."""
        run = reading.run
        if resource is LINE_ITEMS:
            await drop_unseen_line_items(session, run.firm_id, run.id)
            return
        gone = await unseen_snapshots(session, run.firm_id, resource.object_type, run.id)
        if not gone:
            return
        await write_deletions(
            session,
            firm_id=run.firm_id,
            sync_id=run.id,
            resource=resource,
            gone=gone,
            now=now,
            detail="not in Clio any more (a full sync read every record)",
        )
        reading.counters(resource)["deleted"] += len(gone)
        if resource is BANK_ACCOUNTS:
            for snapshot in gone:
                reading.bank_accounts.pop(snapshot.object_id, None)

    async def _save_progress(
        self, session: AsyncSession, reading: _Reading, resource: ClioResource, now: datetime
    ) -> None:
        reading.charge_requests(resource)
        saved = await session.scalar(
            update(sync_runs)
            .where(sync_runs.c.id == reading.run.id, sync_runs.c.status == RunStatus.RUNNING)
            .values(progress=reading.progress, clio_stats=reading.stats(), heartbeat_at=now)
            .returning(sync_runs.c.id)
        )
        if saved is None:  # stopped elsewhere (found stale, say): this page is not ours to keep
            raise SyncStopped(f"sync {reading.run.id} is no longer running here")

    # --- Deletions Clio told us about (webhook ``deleted``) ----------------------------------

    async def _deletion_hints(self, reading: _Reading) -> None:
        """Records a ``deleted`` webhook named: confirmed gone by asking Clio for them. The
        deliveries received before this attempt began are marked processed."""
        run = reading.run
        models = {
            r.webhook_model: r
            for r in (resource_named(p) for p in run.resources)
            if r.webhook_model
        }
        if not models:
            return
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        webhook_deliveries.c.id,
                        webhook_deliveries.c.model,
                        webhook_deliveries.c.event,
                        webhook_deliveries.c.record_id,
                    ).where(
                        webhook_deliveries.c.firm_id == run.firm_id,
                        webhook_deliveries.c.verdict == "accepted",
                        webhook_deliveries.c.processed_at.is_(None),
                        webhook_deliveries.c.model.in_(list(models)),
                        webhook_deliveries.c.id <= reading.deliveries_upto,
                    )
                )
            ).all()
        deleted: dict[str, set[int]] = {}
        for row in rows:
            if row.event == "deleted" and row.record_id is not None:
                deleted.setdefault(row.model, set()).add(row.record_id)
        for model, record_ids in deleted.items():
            resource = models[model]
            for record_id in sorted(record_ids):
                await self._confirm_deleted(reading, resource, record_id)
        if rows:
            async with self._db.transaction() as session:
                await session.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_([row.id for row in rows]))
                    .values(processed_at=self._now())
                )

    async def _confirm_deleted(
        self, reading: _Reading, resource: ClioResource, record_id: int
    ) -> None:
        run = reading.run
        try:
            await reading.clio.get_record(resource, record_id, fields="id,etag")
            return  # still there: the incremental read had it
        except ClioNotFound:
            pass
        now = self._now()
        async with self._db.unit_of_work() as uow:
            await lock_firm_records(uow.session, run.firm_id)
            snapshots = await load_snapshots(
                uow.session, run.firm_id, resource.object_type, [record_id]
            )
            snapshot = snapshots.get(record_id)
            if snapshot is None or snapshot.deleted_at is not None:
                return
            await write_deletions(
                uow.session,
                firm_id=run.firm_id,
                sync_id=run.id,
                resource=resource,
                gone=[snapshot],
                now=now,
                detail="deleted in Clio (webhook), confirmed: Clio no longer has it",
            )
            reading.counters(resource)["deleted"] += 1
            await uow.commit()


def _unique(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page's records, each id once (the last copy wins)."""
    by_id: dict[object, int] = {}
    for index, record in enumerate(records):
        object_id = record.get("id")
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            by_id[object_id] = index
    keep = set(by_id.values())
    return [
        record
        for index, record in enumerate(records)
        if index in keep or not isinstance(record.get("id"), int)
    ]


def _ids(records: Sequence[Mapping[str, Any]]) -> list[int]:
    return [
        r["id"] for r in records if isinstance(r.get("id"), int) and not isinstance(r["id"], bool)
    ]


def _explain(error: BaseException) -> str:
    """The run's error, in words a cashier can act on."""
    if isinstance(error, ClioUnauthorized | NotLinked):
        return f"Clio refused the firm's access: {error}. Link Clio again, then sync."
    if isinstance(error, ClioUnavailable):
        return (
            f"Clio kept failing: {error}. Nothing is lost: syncing again resumes from the last "
            "page committed."
        )
    if isinstance(error, ClioError):
        return f"Clio refused a request: {error}. Syncing again resumes from the last page."
    return f"{type(error).__name__}: {error}. Syncing again resumes from the last page."
