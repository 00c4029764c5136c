"""Sync runs and their cursors in the database.

At most one run per firm is ``running``: a partial unique index refuses a second one, whichever
process tries. A run that stops on an error is ``failed``, one stopped by a shutdown or found
with a stale heartbeat (its process died) is ``interrupted``; both keep their cursors, so the
next request of the same sync resumes it from its last committed page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import Database
from clio_connector.db.tables import sync_cursors, sync_log, sync_runs


class SyncKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


class SyncTrigger(StrEnum):
    MANUAL = "manual"
    WEBHOOK = "webhook"
    POLL = "poll"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class SyncAlreadyRunning(Exception):
    """The firm has a sync running; one at a time."""

    def __init__(self, firm_id: str, running: uuid.UUID | None) -> None:
        super().__init__(f"a sync is already running for firm {firm_id}")
        self.running = running


@dataclass(frozen=True)
class Run:
    id: uuid.UUID
    firm_id: str
    kind: SyncKind
    trigger: SyncTrigger
    resources: tuple[str, ...]
    status: RunStatus
    requested_by: str | None
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime
    resumes: int
    error: str | None
    progress: dict[str, Any]
    clio_stats: dict[str, Any]


def _run(row: Any) -> Run:
    return Run(
        id=row.id,
        firm_id=row.firm_id,
        kind=SyncKind(row.kind),
        trigger=SyncTrigger(row.trigger),
        resources=tuple(row.resources),
        status=RunStatus(row.status),
        requested_by=row.requested_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        resumes=row.resumes,
        error=row.error,
        progress=dict(row.progress or {}),
        clio_stats=dict(row.clio_stats or {}),
    )


@dataclass(frozen=True)
class Cursor:
    resource: str
    high_water_mark: datetime | None
    last_completed_at: datetime | None
    last_completed_run: uuid.UUID | None
    last_full_read_at: datetime | None
    run_id: uuid.UUID | None
    since: datetime | None
    next_url: str | None
    max_seen: datetime | None
    pages: int
    done: bool


class Runs:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def running(self, session: AsyncSession, firm_id: str) -> Run | None:
        row = (
            await session.execute(
                select(sync_runs).where(
                    sync_runs.c.firm_id == firm_id, sync_runs.c.status == RunStatus.RUNNING
                )
            )
        ).first()
        return _run(row) if row else None

    async def interrupt_stale(self, firm_id: str | None, *, now: datetime, stale: timedelta) -> int:
        """A running sync whose heartbeat stopped: its process died. Marked interrupted (the
        firm's, or every firm's when ``firm_id`` is None)."""
        conditions = [
            sync_runs.c.status == RunStatus.RUNNING,
            sync_runs.c.heartbeat_at < now - stale,
        ]
        if firm_id is not None:
            conditions.append(sync_runs.c.firm_id == firm_id)
        async with self._db.transaction() as session:
            result = await session.execute(
                update(sync_runs)
                .where(*conditions)
                .values(
                    status=RunStatus.INTERRUPTED,
                    error="the process running it stopped (no heartbeat)",
                    finished_at=now,
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def start(
        self,
        firm_id: str,
        *,
        kind: SyncKind,
        trigger: SyncTrigger,
        resources: Sequence[str],
        requested_by: str | None,
        now: datetime,
    ) -> tuple[Run, bool]:
        """Start a sync, or resume the firm's last one when it is the same sync (kind and
        resources) and it failed or was interrupted. Returns the run and whether it resumed.
        Raises ``SyncAlreadyRunning``."""
        try:
            async with self._db.transaction() as session:
                running = await self.running(session, firm_id)
                if running is not None:
                    raise SyncAlreadyRunning(firm_id, running.id)
                last = (
                    await session.execute(
                        select(sync_runs)
                        .where(sync_runs.c.firm_id == firm_id)
                        .order_by(sync_runs.c.started_at.desc())
                        .limit(1)
                        .with_for_update()
                    )
                ).first()
                if (
                    last is not None
                    and last.status in (RunStatus.FAILED, RunStatus.INTERRUPTED)
                    and last.kind == kind
                    and list(last.resources) == list(resources)
                ):
                    await session.execute(
                        update(sync_runs)
                        .where(sync_runs.c.id == last.id)
                        .values(
                            status=RunStatus.RUNNING,
                            heartbeat_at=now,
                            finished_at=None,
                            error=None,
                            resumes=sync_runs.c.resumes + 1,
                        )
                    )
                    run_id, resumed = last.id, True
                else:
                    run_id, resumed = uuid.uuid4(), False
                    await session.execute(
                        sync_runs.insert().values(
                            id=run_id,
                            firm_id=firm_id,
                            kind=kind,
                            trigger=trigger,
                            resources=list(resources),
                            status=RunStatus.RUNNING,
                            requested_by=requested_by,
                            started_at=now,
                            heartbeat_at=now,
                            progress={},
                            clio_stats={},
                        )
                    )
        except IntegrityError as error:  # another process started one in between
            raise SyncAlreadyRunning(firm_id, None) from error
        run = await self.get(firm_id, run_id)
        assert run is not None
        return run, resumed

    async def get(self, firm_id: str, run_id: uuid.UUID) -> Run | None:
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(sync_runs).where(
                        sync_runs.c.firm_id == firm_id, sync_runs.c.id == run_id
                    )
                )
            ).first()
        return _run(row) if row else None

    async def recent(self, firm_id: str, *, limit: int = 50, offset: int = 0) -> list[Run]:
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(sync_runs)
                    .where(sync_runs.c.firm_id == firm_id)
                    .order_by(sync_runs.c.started_at.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        return [_run(row) for row in rows]

    async def resumable(self) -> list[Run]:
        """Runs to carry on: interrupted ones that are their firm's latest run."""
        async with self._db.transaction() as session:
            latest = (
                select(
                    sync_runs.c.id,
                    func.row_number()
                    .over(partition_by=sync_runs.c.firm_id, order_by=sync_runs.c.started_at.desc())
                    .label("n"),
                    sync_runs.c.status,
                )
            ).subquery()
            ids = list(
                await session.scalars(
                    select(latest.c.id).where(
                        latest.c.n == 1, latest.c.status == RunStatus.INTERRUPTED
                    )
                )
            )
            rows = (await session.execute(select(sync_runs).where(sync_runs.c.id.in_(ids)))).all()
        return [_run(row) for row in rows]

    async def finish(
        self,
        run_id: uuid.UUID,
        status: RunStatus,
        *,
        now: datetime,
        error: str | None = None,
        progress: dict[str, Any] | None = None,
        clio_stats: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": now, "error": error}
        if progress is not None:
            values["progress"] = progress
        if clio_stats is not None:
            values["clio_stats"] = clio_stats
        async with self._db.transaction() as session:
            await session.execute(
                update(sync_runs)
                .where(sync_runs.c.id == run_id, sync_runs.c.status == RunStatus.RUNNING)
                .values(**values)
            )

    async def heartbeat(self, run_id: uuid.UUID, *, now: datetime) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(sync_runs)
                .where(sync_runs.c.id == run_id, sync_runs.c.status == RunStatus.RUNNING)
                .values(heartbeat_at=now)
            )

    async def ledger_pending(self, firm_id: str, run_id: uuid.UUID | None = None) -> int:
        """Lines whose event the ledger has not answered yet (one run's, or the firm's)."""
        async with self._db.transaction() as session:
            query = (
                select(func.count())
                .select_from(sync_log)
                .where(sync_log.c.firm_id == firm_id, sync_log.c.ledger_status == "pending")
            )
            if run_id is not None:
                query = query.where(sync_log.c.sync_id == run_id)
            return int(await session.scalar(query) or 0)

    # --- Cursors -------------------------------------------------------------------------------

    async def cursors(self, firm_id: str) -> dict[str, Cursor]:
        async with self._db.transaction() as session:
            rows = (
                await session.execute(select(sync_cursors).where(sync_cursors.c.firm_id == firm_id))
            ).all()
        return {
            row.resource: Cursor(
                resource=row.resource,
                high_water_mark=row.high_water_mark,
                last_completed_at=row.last_completed_at,
                last_completed_run=row.last_completed_run,
                last_full_read_at=row.last_full_read_at,
                run_id=row.run_id,
                since=row.since,
                next_url=row.next_url,
                max_seen=row.max_seen,
                pages=row.pages,
                done=row.done,
            )
            for row in rows
        }

    async def begin_read(
        self, firm_id: str, resource: str, *, run_id: uuid.UUID, since: datetime | None
    ) -> None:
        """A resource's read starts (from the first page) for this run."""
        values = {
            "run_id": run_id,
            "since": since,
            "next_url": None,
            "max_seen": None,
            "pages": 0,
            "done": False,
        }
        async with self._db.transaction() as session:
            statement = insert(sync_cursors).values(firm_id=firm_id, resource=resource, **values)
            await session.execute(
                statement.on_conflict_do_update(index_elements=["firm_id", "resource"], set_=values)
            )
