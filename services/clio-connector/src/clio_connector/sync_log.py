"""Reading the sync log: lines filtered and searched, one line, and the summary (counts per
object type and status, money synced per event type, open flags by reason, the ledger's
answers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.sql import Select

from cashroom_chassis.db import Database
from clio_connector.db.tables import record_snapshots, sync_log
from clio_connector.domain.sync_rules import OBJECT_TYPES, LedgerStatus, LogStatus, resource_named

_SYNC_STATUSES = {s.value for s in LogStatus}
_LEDGER_STATUSES = {s.value for s in LedgerStatus}
_PUBLISHED = (LogStatus.IMPORTED, LogStatus.UPDATED, LogStatus.RESOLVED, LogStatus.DELETED)


class UnknownFilter(ValueError):
    pass


@dataclass(frozen=True)
class LogQuery:
    status: str | None = None
    object_type: str | None = None
    sync_id: uuid.UUID | None = None
    reason: str | None = None
    q: str | None = None
    open_flags_only: bool = False
    limit: int = 100
    offset: int = 0


def _object_type(value: str) -> str:
    """``Bill`` or ``bills`` (Clio's record name or the resource); anything else is refused
    (it would match no line, and an empty log would read as "nothing happened")."""
    if value in OBJECT_TYPES:
        return value
    try:
        return resource_named(value).object_type
    except ValueError:
        raise UnknownFilter(
            f"object_type {value!r} is not a Clio record type the connector reads: "
            f"{', '.join(sorted(OBJECT_TYPES))}"
        ) from None


def _open_flag() -> Any:
    return and_(
        record_snapshots.c.firm_id == sync_log.c.firm_id,
        record_snapshots.c.object_type == sync_log.c.object_type,
        record_snapshots.c.object_id == sync_log.c.object_id,
    )


def line_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "sync_id": str(row.sync_id) if row.sync_id else None,
        "logged_at": row.logged_at.isoformat(),
        "object_type": row.object_type,
        "object_id": row.object_id,
        "version": row.version,
        "status": row.status,
        "reason": row.reason,
        "detail": row.detail,
        "event_id": str(row.event_id) if row.event_id else None,
        "event_type": row.event_type,
        "amount": (
            {"amount_minor": row.amount_minor, "currency": row.currency}
            if row.amount_minor is not None
            else None
        ),
        "ledger": (
            {
                "status": row.ledger_status,
                "reason_code": row.ledger_reason_code,
                "reason": row.ledger_reason,
                "at": row.ledger_at.isoformat() if row.ledger_at else None,
            }
            if row.ledger_status
            else None
        ),
        "open_flag": bool(row.open_flag),
        "resolves_line_id": row.resolves_line_id,
        "resolution": row.resolution,
        "resolved_by": row.resolved_by,
    }


class SyncLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _select(self, firm_id: str) -> Select[Any]:
        open_flag = (record_snapshots.c.flag_line_id == sync_log.c.id).label("open_flag")
        return (
            select(sync_log, open_flag)
            .select_from(sync_log.outerjoin(record_snapshots, _open_flag()))
            .where(sync_log.c.firm_id == firm_id)
        )

    async def lines(self, firm_id: str, query: LogQuery) -> tuple[int, list[dict[str, Any]]]:
        statement = self._select(firm_id)
        if query.status is not None:
            if query.status in _SYNC_STATUSES:
                statement = statement.where(sync_log.c.status == query.status)
            elif query.status in _LEDGER_STATUSES:
                statement = statement.where(sync_log.c.ledger_status == query.status)
            else:
                raise UnknownFilter(
                    f"status {query.status!r} is none of "
                    f"{', '.join(sorted(_SYNC_STATUSES | _LEDGER_STATUSES))}"
                )
        if query.object_type is not None:
            statement = statement.where(sync_log.c.object_type == _object_type(query.object_type))
        if query.sync_id is not None:
            statement = statement.where(sync_log.c.sync_id == query.sync_id)
        if query.reason is not None:
            statement = statement.where(
                or_(
                    sync_log.c.reason == query.reason,
                    sync_log.c.ledger_reason_code == query.reason,
                )
            )
        if query.open_flags_only:
            statement = statement.where(record_snapshots.c.flag_line_id == sync_log.c.id)
        if query.q:
            pattern = f"%{query.q.strip()}%"
            statement = statement.where(
                or_(
                    cast(sync_log.c.object_id, String).like(pattern),
                    sync_log.c.detail.ilike(pattern),
                    sync_log.c.reason.ilike(pattern),
                    sync_log.c.event_type.ilike(pattern),
                    sync_log.c.ledger_reason.ilike(pattern),
                    cast(sync_log.c.event_id, String).like(pattern),
                )
            )
        async with self._db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(statement.subquery()))
            rows = (
                await session.execute(
                    statement.order_by(sync_log.c.id.desc()).limit(query.limit).offset(query.offset)
                )
            ).all()
        return int(total or 0), [line_json(row) for row in rows]

    async def line(self, firm_id: str, line_id: int) -> dict[str, Any] | None:
        async with self._db.transaction() as session:
            row = (
                await session.execute(self._select(firm_id).where(sync_log.c.id == line_id))
            ).first()
        return line_json(row) if row else None

    async def summary(self, firm_id: str, sync_id: uuid.UUID | None = None) -> dict[str, Any]:
        scope = [sync_log.c.firm_id == firm_id]
        if sync_id is not None:
            scope.append(sync_log.c.sync_id == sync_id)
        async with self._db.transaction() as session:
            by_type = (
                await session.execute(
                    select(sync_log.c.object_type, sync_log.c.status, func.count())
                    .where(*scope)
                    .group_by(sync_log.c.object_type, sync_log.c.status)
                )
            ).all()
            ledger = (
                await session.execute(
                    select(sync_log.c.ledger_status, func.count())
                    .where(*scope, sync_log.c.ledger_status.is_not(None))
                    .group_by(sync_log.c.ledger_status)
                )
            ).all()
            money = (
                await session.execute(
                    select(
                        sync_log.c.event_type,
                        sync_log.c.currency,
                        func.count(),
                        func.sum(sync_log.c.amount_minor),
                    )
                    .where(
                        *scope,
                        sync_log.c.status.in_([s.value for s in _PUBLISHED]),
                        sync_log.c.ledger_status.is_not(None),
                    )
                    .group_by(sync_log.c.event_type, sync_log.c.currency)
                    .order_by(sync_log.c.event_type)
                )
            ).all()
            flagged = (
                await session.execute(
                    select(sync_log.c.reason, func.count())
                    .select_from(
                        sync_log.join(
                            record_snapshots,
                            and_(_open_flag(), record_snapshots.c.flag_line_id == sync_log.c.id),
                        )
                    )
                    .where(*scope)
                    .group_by(sync_log.c.reason)
                )
            ).all()
            rejected = (
                await session.execute(
                    select(sync_log.c.ledger_reason_code, func.count())
                    .where(*scope, sync_log.c.ledger_status.in_(["rejected", "held"]))
                    .group_by(sync_log.c.ledger_reason_code)
                )
            ).all()
        counts: dict[str, dict[str, int]] = {}
        for object_type, status, count in by_type:
            counts.setdefault(object_type, {})[status] = count
        return {
            "firm_id": firm_id,
            "sync_id": str(sync_id) if sync_id else None,
            "by_object_type": counts,
            "ledger": {status.value: 0 for status in LedgerStatus}
            | {status: count for status, count in ledger},
            "money": [
                {
                    "event_type": event_type,
                    "count": count,
                    "total": {"amount_minor": int(total or 0), "currency": currency},
                }
                for event_type, currency, count, total in money
                if currency is not None
            ],
            "flagged": {
                "open": sum(count for _, count in flagged),
                "reasons": {reason: count for reason, count in flagged},
            },
            "ledger_reasons": {code: count for code, count in rejected if code},
        }
