"""A cashier's actions on sync-log lines, and the events they release.

* ``choose_vat_treatment`` (a disbursement held for a VAT decision): publishes the disbursement
  with the chosen treatment, then releases what was held with it (the bill carrying it, that
  bill's payments). With "allow updating disbursements in Clio" on, the treatment is first
  written to the Clio expense entry with ``If-Match`` (its etag as last read): if Clio changed
  it since, nothing is written or published and the cashier syncs and decides again.
* ``mark_outlay_paid`` (a linked outlay, i.e. a supplier invoice): publishes
  ``PurchaseInvoicePaid`` from the chosen office account, once.
* ``retry`` (any open flag, after fixing the record in Clio): reads the record again and
  normalises it as a sync would.

Each action writes a ``resolved`` line that names the line it resolves; event ids are
deterministic, so a repeated request cannot publish twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import Database
from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_chassis.outbox import add_to_outbox
from cashroom_contracts.events.clio import ClioEvent, PurchaseInvoiceRecorded
from cashroom_contracts.events.common import VatTreatment
from cashroom_contracts.money import Money
from clio_connector.clio.errors import ClioNotFound, ClioPreconditionFailed, ClioRequestError
from clio_connector.connections import Connections
from clio_connector.db.tables import record_snapshots, sync_log
from clio_connector.domain.fields import ACTIVITIES, ALLOCATIONS, BILLS, LINE_ITEMS, SYNC_ORDER
from clio_connector.domain.normalise import classify_activity, facts_hash
from clio_connector.domain.outcomes import Change, Flagged, FlagReason, Publish, RecordRef
from clio_connector.domain.records import RecordProblem, canonical_json, loads_exact
from clio_connector.domain.settings import SyncSettings
from clio_connector.domain.sync_rules import (
    CorrectionRefused,
    LedgerStatus,
    LogEntry,
    LogStatus,
    SyncFacts,
    bill_line_activity_ids,
    correction_event_id,
    event_amount,
    normalise_record,
    outlay_paid,
    settings_fingerprint,
    with_vat_decision,
)
from clio_connector.domain.write_back import WriteBackRefused, disbursement_correction
from clio_connector.settings_store import SettingsStore
from clio_connector.store import (
    Snapshot,
    ToWrite,
    held_ids,
    line_items_of,
    load_snapshots,
    lock_firm_records,
    raw_records,
    store_line_items,
    write_deletions,
    write_outcomes,
)

_VAT_REASONS = (FlagReason.DISBURSEMENT_VAT_REVIEW.value, FlagReason.VAT_SETTING_CONFLICT.value)
_BY_TYPE = {r.object_type: r for r in SYNC_ORDER}


class ResolveError(Exception):
    """The action cannot be taken; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


class Resolutions:
    def __init__(
        self,
        db: Database,
        connections: Connections,
        settings_store: SettingsStore,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._db = db
        self._connections = connections
        self._settings_store = settings_store
        self._now = now

    # --- Shared ----------------------------------------------------------------------------

    async def _line(self, session: AsyncSession, firm_id: str, line_id: int) -> Any:
        row = (
            await session.execute(
                select(sync_log).where(sync_log.c.firm_id == firm_id, sync_log.c.id == line_id)
            )
        ).first()
        if row is None:
            raise ResolveError(404, f"no sync-log line {line_id}")
        return row

    async def _snapshot(self, session: AsyncSession, firm_id: str, line: Any) -> Snapshot:
        if line.object_id is None:
            raise ResolveError(
                409, "the record has no id in Clio: fix it there; the next sync reads it again"
            )
        snapshots = await load_snapshots(
            session, firm_id, line.object_type, [line.object_id], payloads=True
        )
        snapshot = snapshots.get(line.object_id)
        if snapshot is None:
            raise ResolveError(409, "the connector keeps no copy of this record")
        return snapshot

    def _open_flag(self, snapshot: Snapshot, line: Any) -> None:
        if snapshot.flag_line_id != line.id:
            raise ResolveError(
                409,
                "this line is not an open flag: it was resolved, or a later sync has a newer "
                "line for the record",
            )

    async def _facts(
        self,
        session: AsyncSession,
        firm_id: str,
        object_type: str,
        records: Sequence[dict[str, Any]],
        *,
        lines: dict[int, list[Any]] | None = None,
    ) -> SyncFacts:
        """What the normalisers need, from what the connector has stored."""
        bank_accounts = await self._settings_store.bank_accounts(firm_id)
        if object_type == ALLOCATIONS.object_type:
            bills = {
                r["bill"]["id"]
                for r in records
                if isinstance(r.get("bill"), dict) and isinstance(r["bill"].get("id"), int)
            }
            held = await held_ids(session, firm_id, BILLS.object_type, bills)
            return SyncFacts(bank_accounts=bank_accounts, held_bill_ids=held)
        if object_type != BILLS.object_type:
            return SyncFacts(bank_accounts=bank_accounts)
        bill_ids = [r["id"] for r in records]
        stored = await line_items_of(session, firm_id, bill_ids)
        all_lines = {**stored, **(lines or {})}
        activity_ids = bill_line_activity_ids(x for ls in all_lines.values() for x in ls)
        activities = await raw_records(session, firm_id, ACTIVITIES.object_type, activity_ids)
        kinds = {}
        for activity_id, activity in activities.items():
            with contextlib.suppress(RecordProblem):
                kinds[activity_id] = classify_activity(activity)
        held = await held_ids(session, firm_id, ACTIVITIES.object_type, activity_ids)
        return SyncFacts(
            bank_accounts=bank_accounts,
            line_items=all_lines,
            expense_kinds=kinds,
            held_activity_ids=held,
        )

    async def _renormalise(
        self,
        session: AsyncSession,
        firm_id: str,
        object_type: str,
        ids: Sequence[int],
        settings: SyncSettings,
        *,
        resolves: int,
        by: str | None,
    ) -> list[uuid.UUID]:
        """Records held with a released one, normalised again from their snapshots."""
        if not ids:
            return []
        snapshots = await load_snapshots(session, firm_id, object_type, ids, payloads=True)
        records = [snapshots[i].record() for i in ids if i in snapshots]
        facts = await self._facts(session, firm_id, object_type, records)
        resource = _BY_TYPE[object_type]
        items = [
            ToWrite(
                record,
                normalise_record(
                    resource,
                    record,
                    settings,
                    firm_id=firm_id,
                    previous=snapshots[record["id"]].published,
                    facts=facts,
                ),
                resolves_line_id=resolves,
                resolution={"action": "released_with", "line": resolves},
                resolved_by=by,
            )
            for record in records
        ]
        written = await write_outcomes(
            session,
            firm_id=firm_id,
            sync_id=None,
            items=items,
            snapshots=snapshots,
            now=self._now(),
            settings_hash=settings_fingerprint(settings),
        )
        return written.events

    async def _release_dependents(
        self,
        session: AsyncSession,
        firm_id: str,
        activity_id: int,
        settings: SyncSettings,
        *,
        resolves: int,
        by: str | None,
    ) -> list[uuid.UUID]:
        """Bills held because they carry this disbursement, then those bills' payments."""
        held = list(
            await session.scalars(
                select(record_snapshots.c.object_id).where(
                    record_snapshots.c.firm_id == firm_id,
                    record_snapshots.c.object_type == BILLS.object_type,
                    record_snapshots.c.held_event_id.is_not(None),
                )
            )
        )
        lines = await line_items_of(session, firm_id, held)
        held_bills = sorted(
            bill_id
            for bill_id, items in lines.items()
            if activity_id in bill_line_activity_ids(items)
        )
        events = await self._renormalise(
            session, firm_id, BILLS.object_type, held_bills, settings, resolves=resolves, by=by
        )
        if not held_bills:
            return events
        still_held = await held_ids(session, firm_id, BILLS.object_type, held_bills)
        released = [b for b in held_bills if b not in still_held]
        payments = [
            row.object_id
            for row in (
                await session.execute(
                    select(record_snapshots.c.object_id, record_snapshots.c.raw).where(
                        record_snapshots.c.firm_id == firm_id,
                        record_snapshots.c.object_type == ALLOCATIONS.object_type,
                        record_snapshots.c.held_event_id.is_not(None),
                    )
                )
            ).all()
            if _bill_of(row.raw) in released
        ]
        events += await self._renormalise(
            session, firm_id, ALLOCATIONS.object_type, payments, settings, resolves=resolves, by=by
        )
        return events

    async def _line_json(self, firm_id: str, line_ids: Sequence[int]) -> list[dict[str, Any]]:
        from clio_connector.sync_log import SyncLog

        log = SyncLog(self._db)
        found = [await log.line(firm_id, line_id) for line_id in line_ids]
        return [line for line in found if line is not None]

    async def _new_lines(self, firm_id: str, after: int) -> list[int]:
        async with self._db.transaction() as session:
            return list(
                await session.scalars(
                    select(sync_log.c.id)
                    .where(sync_log.c.firm_id == firm_id, sync_log.c.id > after)
                    .order_by(sync_log.c.id)
                )
            )

    async def _last_line_id(self, firm_id: str) -> int:
        async with self._db.transaction() as session:
            value = await session.scalar(
                select(sync_log.c.id)
                .where(sync_log.c.firm_id == firm_id)
                .order_by(sync_log.c.id.desc())
                .limit(1)
            )
        return int(value or 0)

    # --- Choose the VAT treatment of a disbursement -----------------------------------------

    async def choose_vat_treatment(
        self,
        firm_id: str,
        line_id: int,
        *,
        treatment: VatTreatment,
        rate_basis_points: int | None,
        vat_amount: Money | None,
        by: str | None,
    ) -> dict[str, Any]:
        async with self._db.transaction() as session:
            line = await self._line(session, firm_id, line_id)
            snapshot = await self._snapshot(session, firm_id, line)
            self._open_flag(snapshot, line)
            if line.reason not in _VAT_REASONS or snapshot.held is None:
                raise ResolveError(409, "this line is not a disbursement waiting for a VAT choice")
            held = snapshot.held
            try:
                corrected = with_vat_decision(
                    held.event(),
                    treatment,
                    rate_basis_points=rate_basis_points,
                    vat_amount=vat_amount,
                )
            except CorrectionRefused as error:
                raise ResolveError(422, str(error)) from error
        settings = await self._settings_store.get(firm_id)
        written_back: dict[str, Any] | None = None
        if settings.allow_updating_disbursements_in_clio:
            try:
                changes = disbursement_correction(settings, vat_treatment=treatment)
            except WriteBackRefused as error:
                raise ResolveError(422, str(error)) from error
            if not snapshot.etag:
                raise ResolveError(409, "the expense entry has no etag to write back over")
            try:
                async with self._connections.clio(firm_id) as clio:
                    written_back = await clio.patch_activity(
                        snapshot.object_id, changes, if_match=snapshot.etag
                    )
            except ClioPreconditionFailed as error:
                raise ResolveError(
                    409,
                    "the expense entry changed in Clio since it was read: sync, then choose "
                    "again (nothing was written or published)",
                ) from error
            except ClioRequestError as error:
                raise ResolveError(
                    409,
                    f"Clio refused the correction ({error.status}: {error.message}); nothing was"
                    " written or published: correct the entry in Clio, or turn write-back off and"
                    " resolve again",
                ) from error
        decision = f"vat:{treatment.value}:{corrected.vat.rate_basis_points}:"
        decision += str(corrected.vat.amount.amount_minor)
        first = await self._last_line_id(firm_id)
        now = self._now()
        async with self._db.unit_of_work() as uow:
            session = uow.session
            await lock_firm_records(session, firm_id)
            line = await self._line(session, firm_id, line_id)
            current = await self._snapshot(session, firm_id, line)
            self._open_flag(current, line)
            if current.held is None or current.held.event_id != held.event_id:
                raise ResolveError(409, "the held event changed meanwhile: look again")
            publish = Publish(
                RecordRef(line.object_type, line.object_id, held.version, current.content_hash),
                corrected,
                correction_event_id(firm_id, corrected, decision),
                firm_id,
                facts_hash(corrected),
                Change.UPDATED if current.published else Change.IMPORTED,
            )
            raw = written_back if written_back is not None else current.record()
            await write_outcomes(
                session,
                firm_id=firm_id,
                sync_id=None,
                items=[
                    ToWrite(
                        raw,
                        publish,
                        entry=LogEntry(
                            LogStatus.RESOLVED, line.reason, _vat_words(corrected), publish, None
                        ),
                        resolves_line_id=line.id,
                        resolution={
                            "action": "choose_vat_treatment",
                            "vat_treatment": treatment.value,
                            "vat": corrected.vat.model_dump(mode="json"),
                            "written_back_to_clio": written_back is not None,
                        },
                        resolved_by=by,
                    )
                ],
                snapshots={current.object_id: current},
                now=now,
                settings_hash=settings_fingerprint(settings),
            )
            # What the ledger now has corresponds to Clio's record as it stands: remember the
            # facts a sync would read from it, so the next sync finds nothing new.
            expected = await self._clio_facts(
                session, firm_id, raw, settings, fallback=held.facts_hash
            )
            await session.execute(
                update(record_snapshots)
                .where(
                    record_snapshots.c.firm_id == firm_id,
                    record_snapshots.c.object_type == line.object_type,
                    record_snapshots.c.object_id == line.object_id,
                )
                .values(
                    published_version=expected[0] or held.version,
                    published_facts_hash=expected[1],
                    raw=canonical_json(raw),
                )
            )
            await self._release_dependents(
                session, firm_id, line.object_id, settings, resolves=line.id, by=by
            )
            await uow.commit()
        return {
            "lines": await self._line_json(firm_id, await self._new_lines(firm_id, first)),
            "written_back_to_clio": written_back is not None,
        }

    async def _clio_facts(
        self,
        session: AsyncSession,
        firm_id: str,
        record: dict[str, Any],
        settings: SyncSettings,
        *,
        fallback: str,
    ) -> tuple[str | None, str]:
        """(version, facts hash) that normalising this Clio record would give."""
        facts = await self._facts(session, firm_id, ACTIVITIES.object_type, [record])
        outcome = normalise_record(
            ACTIVITIES, record, settings, firm_id=firm_id, previous=None, facts=facts
        )
        if isinstance(outcome, Publish):
            return outcome.record.version, outcome.facts_hash
        if isinstance(outcome, Flagged) and outcome.held is not None:
            return outcome.held.record.version, outcome.held.facts_hash
        return None, fallback

    # --- Mark a linked outlay paid ------------------------------------------------------------

    async def mark_outlay_paid(
        self,
        firm_id: str,
        line_id: int,
        *,
        bank_account_id: int,
        paid_on: date,
        amount: Money | None,
        by: str | None,
    ) -> dict[str, Any]:
        accounts = await self._settings_store.bank_accounts(firm_id)
        account = accounts.get(bank_account_id)
        if account is None:
            raise ResolveError(422, f"bank account {bank_account_id} has not been synced from Clio")
        now = self._now()
        async with self._db.unit_of_work() as uow:
            session = uow.session
            await lock_firm_records(session, firm_id)
            line = await self._line(session, firm_id, line_id)
            snapshot = await self._snapshot(session, firm_id, line)
            invoice = snapshot.published_event()
            if snapshot.held is not None:
                raise ResolveError(409, "decide the outlay's VAT treatment before paying it")
            if not isinstance(invoice, PurchaseInvoiceRecorded):
                raise ResolveError(409, "this line's record is not a linked outlay")
            try:
                paid = outlay_paid(invoice, paid_on=paid_on, bank_account=account, amount=amount)
            except CorrectionRefused as error:
                raise ResolveError(422, str(error)) from error
            event_id = correction_event_id(firm_id, paid, "paid")
            if await session.scalar(select(OUTBOX.c.id).where(OUTBOX.c.event_id == event_id)):
                raise ResolveError(409, "this linked outlay is already marked paid")
            publish = Publish(
                RecordRef(line.object_type, line.object_id, invoice.source.version, ""),
                paid,
                event_id,
                firm_id,
                facts_hash(paid),
                Change.UPDATED,
            )
            line_ids = await _write_line(
                session,
                firm_id,
                publish,
                now=now,
                reason=None,
                detail=f"paid {paid.amount} on {paid_on.isoformat()} from {account.name}",
                resolves=line.id,
                resolution={
                    "action": "mark_outlay_paid",
                    "bank_account_id": bank_account_id,
                    "paid_on": paid_on.isoformat(),
                    "amount": paid.amount.model_dump(),
                },
                by=by,
            )
            await uow.commit()
        return {"lines": await self._line_json(firm_id, line_ids), "written_back_to_clio": False}

    # --- Retry after fixing in Clio -----------------------------------------------------------

    async def retry(self, firm_id: str, line_id: int, *, by: str | None) -> dict[str, Any]:
        async with self._db.transaction() as session:
            line = await self._line(session, firm_id, line_id)
            snapshot = await self._snapshot(session, firm_id, line)
            self._open_flag(snapshot, line)
        resource = _BY_TYPE.get(line.object_type)
        if resource is None:
            raise ResolveError(409, f"{line.object_type} records are not read on their own")
        lines: dict[int, list[Any]] = {}
        record: dict[str, Any] | None
        try:
            async with self._connections.clio(firm_id) as clio:
                record = await clio.get_record(resource, line.object_id)
                if resource is BILLS:
                    lines[line.object_id] = [
                        item
                        async for page in clio.pages(
                            LINE_ITEMS, filters={"bill_id": line.object_id}
                        )
                        for item in page.records
                    ]
        except ClioNotFound:
            record = None
        settings = await self._settings_store.get(firm_id)
        first = await self._last_line_id(firm_id)
        now = self._now()
        async with self._db.unit_of_work() as uow:
            session = uow.session
            await lock_firm_records(session, firm_id)
            current = await self._snapshot(session, firm_id, line)
            self._open_flag(current, line)
            if record is None:
                await write_deletions(
                    session,
                    firm_id=firm_id,
                    sync_id=None,
                    resource=resource,
                    gone=[current],
                    now=now,
                    detail="retried: Clio no longer has the record",
                )
            else:
                for bill_id, items in lines.items():
                    await store_line_items(
                        session, firm_id, items, run_id=None, now=now, bill_id=bill_id, replace=True
                    )
                facts = await self._facts(session, firm_id, line.object_type, [record], lines=lines)
                outcome = normalise_record(
                    resource,
                    record,
                    settings,
                    firm_id=firm_id,
                    previous=current.published,
                    facts=facts,
                )
                await write_outcomes(
                    session,
                    firm_id=firm_id,
                    sync_id=None,
                    items=[
                        ToWrite(
                            record,
                            outcome,
                            resolves_line_id=line.id,
                            resolution={"action": "retry"},
                            resolved_by=by,
                        )
                    ],
                    snapshots={current.object_id: current},
                    now=now,
                    settings_hash=settings_fingerprint(settings),
                )
            await uow.commit()
        return {
            "lines": await self._line_json(firm_id, await self._new_lines(firm_id, first)),
            "written_back_to_clio": False,
        }


async def _write_line(
    session: AsyncSession,
    firm_id: str,
    publish: Publish,
    *,
    now: datetime,
    reason: str | None,
    detail: str,
    resolves: int,
    resolution: dict[str, Any],
    by: str | None,
) -> list[int]:
    """A resolution line with its event, leaving the record's snapshot as it is."""
    amount = event_amount(publish.payload)
    line_id = await session.scalar(
        sync_log.insert()
        .values(
            firm_id=firm_id,
            sync_id=None,
            logged_at=now,
            object_type=publish.record.object_type,
            object_id=publish.record.object_id,
            version=publish.record.version,
            status=LogStatus.RESOLVED.value,
            reason=reason,
            detail=detail,
            event_id=publish.event_id,
            event_type=publish.payload.event_type,
            amount_minor=amount.amount_minor if amount else None,
            currency=amount.currency if amount else None,
            ledger_status=LedgerStatus.PENDING.value,
            resolves_line_id=resolves,
            resolution=resolution,
            resolved_by=by,
        )
        .returning(sync_log.c.id)
    )
    await add_to_outbox(session, [publish.envelope(time=now)])
    return [int(line_id)] if line_id is not None else []


def _vat_words(event: ClioEvent) -> str:
    vat = getattr(event, "vat", None)
    treatment = getattr(event, "vat_treatment", None)
    if vat is None or treatment is None:
        return "VAT treatment chosen"
    return f"VAT treatment chosen: {treatment.value}, VAT {vat.amount}"


def _bill_of(raw: str) -> int | None:
    record = loads_exact(raw)
    bill = record.get("bill") if isinstance(record, dict) else None
    value = bill.get("id") if isinstance(bill, dict) else None
    return value if isinstance(value, int) else None
