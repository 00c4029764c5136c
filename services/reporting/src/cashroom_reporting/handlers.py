"""One event in, the read models it changes updated, inside the caller's unit of work.

``handle`` is what the consumer calls. ``apply_event`` is the same with a switch: a rebuild
replays the facts with ``aggregates=False`` and then recomputes every aggregate in SQL
(``db/recompute.py``), which is much faster than moving them one journal at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events import clio, ledger, reconciliation
from cashroom_contracts.events.common import ClioSource
from cashroom_reporting import chart_of_accounts
from cashroom_reporting.db import writes
from cashroom_reporting.db.tables import (
    audit_log,
    bank_accounts,
    bank_nominals,
    bills,
    breaches,
    clients,
    clio_records,
    exceptions,
    firms,
    journal_lines,
    journals,
    matters,
    period_locks,
    purchase_invoices,
    reconciliations,
    source_links,
    statements,
    sync_totals,
    work_entries,
)
from cashroom_reporting.domain import postings, sync
from cashroom_reporting.domain.audit import audit_entry


async def handle(uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
    await apply_event(uow.session, event, aggregates=True)


async def apply_event(
    session: AsyncSession, event: Envelope[EventPayload], *, aggregates: bool
) -> None:
    data = event.data
    firm = event.firm_id
    match data:
        case ledger.AccountUpserted():
            await chart_of_accounts.account_upserted(session, firm, data, aggregates=aggregates)
        case ledger.JournalPosted():
            await _journal(session, firm, event, data, aggregates)
        case ledger.PostingApplied():
            await _outcome(session, firm, event, data.source, "posted", None, aggregates)
        case ledger.PostingHeld() | ledger.PostingRejected():
            outcome = "held" if isinstance(data, ledger.PostingHeld) else "rejected"
            reason = f"{data.reason_code}: {data.reason}"
            await _outcome(session, firm, event, data.source, outcome, reason, aggregates)
        case ledger.ExceptionRaised():
            await _upsert(
                session,
                exceptions,
                dict(
                    firm_id=firm,
                    exception_id=data.exception_id,
                    kind=data.kind.value,
                    matter_id=data.matter_id,
                    raised_on=data.raised_on,
                    amount=data.amount.amount_minor if data.amount else None,
                    currency=data.amount.currency if data.amount else None,
                    detail=data.detail,
                ),
                ["firm_id", "exception_id"],
            )
        case ledger.ExceptionResolved():
            await _resolve_exception(session, firm, event, data)
        case ledger.PeriodLocked() | ledger.PeriodUnlocked():
            await _upsert(
                session,
                period_locks,
                dict(
                    firm_id=firm,
                    bank_account_id=data.bank_account_id or 0,
                    locked_through=data.locked_through,
                    by=data.by,
                    reason=data.reason,
                ),
                ["firm_id", "bank_account_id"],
            )
        case reconciliation.StatementImported():
            await _upsert(
                session,
                statements,
                dict(
                    firm_id=firm,
                    statement_id=data.statement_id,
                    bank_account_id=data.bank_account_id,
                    period_start=data.period_start,
                    period_end=data.period_end,
                    currency=next(
                        (b.currency for b in (data.opening_balance, data.closing_balance) if b),
                        None,
                    ),
                    opening_balance=(
                        data.opening_balance.amount_minor if data.opening_balance else None
                    ),
                    closing_balance=(
                        data.closing_balance.amount_minor if data.closing_balance else None
                    ),
                    lines_new=data.lines_new,
                ),
                ["firm_id", "statement_id"],
            )
        case reconciliation.ReconciliationSigned():
            await _upsert(
                session,
                reconciliations,
                dict(
                    firm_id=firm,
                    reconciliation_id=data.reconciliation_id,
                    bank_account_id=data.bank_account_id,
                    account_kind=data.account_kind.value,
                    as_of=data.as_of,
                    currency=data.statement_balance.currency,
                    statement_balance=data.statement_balance.amount_minor,
                    adjusted_bank_balance=data.adjusted_bank_balance.amount_minor,
                    cashbook_balance=data.cashbook_balance.amount_minor,
                    client_ledgers_total=(
                        data.client_ledgers_total.amount_minor
                        if data.client_ledgers_total
                        else None
                    ),
                    signed_by=data.signed_by,
                    signed_at=data.signed_at,
                ),
                ["firm_id", "reconciliation_id"],
            )
        case reconciliation.BreachRaised():
            await _upsert(
                session,
                breaches,
                dict(
                    firm_id=firm,
                    breach_id=data.breach_id,
                    kind=data.kind.value,
                    bank_account_id=data.bank_account_id,
                    detected_on=data.detected_on,
                    detail=data.detail,
                    last_reconciled_on=data.last_reconciled_on,
                ),
                ["firm_id", "breach_id"],
            )
        case clio.ClioEvent():
            await _clio(session, firm, event, data, aggregates)
    await _audit(session, event)


# --- the journal -----------------------------------------------------------------------------


async def _journal(
    session: AsyncSession,
    firm: str,
    event: Envelope[EventPayload],
    journal: ledger.JournalPosted,
    aggregates: bool,
) -> None:
    postings.check_journal(journal)
    inserted = await session.execute(
        insert(journals)
        .values(
            firm_id=firm,
            journal_id=journal.journal_id,
            posted_on=journal.posted_on,
            kind=journal.kind,
            narrative=journal.narrative,
            source_system=journal.source.system,
            source_type=journal.source.object_type,
            source_id=journal.source.object_id,
            source_version=journal.source.version,
            reverses_journal_id=journal.reverses_journal_id,
            reason=journal.reason,
            entered_by=journal.entered_by,
            event_id=event.id,
            event_time=event.time,
        )
        .on_conflict_do_nothing(index_elements=["firm_id", "journal_id"])
        .returning(journals.c.journal_id)
    )
    if inserted.first() is None:
        return  # the same journal in another event: its effects are already here
    known: dict[tuple[str, str], Any] = session.info.setdefault("reporting", {})
    if (firm, "books") not in known:  # once per firm and transaction (a consumer's batch)
        await session.execute(
            text(
                "INSERT INTO firms (firm_id, books_currency) VALUES (:f, :c) ON CONFLICT (firm_id) "
                "DO UPDATE SET books_currency = "
                "COALESCE(firms.books_currency, EXCLUDED.books_currency)"
            ),
            {"f": firm, "c": postings.line_currency(journal.lines[0])},
        )
        known[(firm, "books")] = True
    tracked: frozenset[str] = frozenset()
    if aggregates:
        if (firm, "tracked") not in known:
            known[(firm, "tracked")] = await chart_of_accounts.tracked_codes(session, firm)
        tracked = known[(firm, "tracked")]
    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for number, line in enumerate(journal.lines, start=1):
        item_key = (
            await _item_for(session, firm, journal, line) if line.account_code in tracked else None
        )
        row = dict(
            firm_id=firm,
            journal_id=journal.journal_id,
            line_no=number,
            posted_on=journal.posted_on,
            account_code=line.account_code,
            currency=postings.line_currency(line),
            debit=line.debit.amount_minor,
            credit=line.credit.amount_minor,
            matter_id=line.matter_id,
            side=line.ledger_side.value if line.ledger_side else None,
            bank_account_id=line.bank_account_id,
            vat_code=line.vat_code,
            narrative=line.narrative,
            item_key=item_key,
        )
        rows.append(row)
        if item_key is not None:
            items.append({**row, "day": journal.posted_on})
    await session.execute(journal_lines.insert(), rows)
    links = postings.bank_links(journal)
    if links:
        await session.execute(
            insert(bank_nominals)
            .values([{"firm_id": firm, "bank_account_id": b, "account_code": c} for b, c in links])
            .on_conflict_do_nothing()
        )
    if not aggregates:
        return
    day = journal.posted_on
    await writes.move_accounts(session, firm, day, postings.account_movements(journal))
    await writes.move_matters(session, firm, day, postings.matter_movements(journal))
    await writes.move_vat(session, firm, day, postings.vat_movements(journal))
    await writes.move_items(session, items)


async def _item_for(
    session: AsyncSession, firm: str, journal: ledger.JournalPosted, line: ledger.JournalLine
) -> str:
    """The sub-ledger item of a control line (mirrors ``recompute.items``)."""
    if journal.reverses_journal_id is not None:
        original = await session.execute(
            text(
                "SELECT item_key FROM journal_lines WHERE firm_id = :f AND journal_id = :j "
                "AND account_code = :code AND matter_id IS NOT DISTINCT FROM CAST(:m AS bigint) "
                "ORDER BY item_key IS NULL, line_no LIMIT 1"
            ),
            {
                "f": firm,
                "j": journal.reverses_journal_id,
                "code": line.account_code,
                "m": line.matter_id,
            },
        )
        found = original.first()
        if found is not None and found.item_key is not None:
            return str(found.item_key)
    source = journal.source
    if source.system == "clio":
        linked = await session.scalar(
            select(source_links.c.item_key).where(
                source_links.c.firm_id == firm,
                source_links.c.object_type == source.object_type,
                source_links.c.object_id == source.object_id,
            )
        )
        if linked is not None:
            return str(linked)
    return postings.source_key(source.system, source.object_type, source.object_id)


# --- Clio: names, bills, invoices, work, and the sync summary ---------------------------------


async def _clio(
    session: AsyncSession,
    firm: str,
    event: Envelope[EventPayload],
    data: clio.ClioEvent,
    aggregates: bool,
) -> None:
    match data:
        case clio.ClientUpserted():
            await _upsert(
                session,
                clients,
                dict(
                    firm_id=firm,
                    client_id=data.client_id,
                    name=data.name,
                    kind=data.kind.value,
                    email=data.email,
                ),
                ["firm_id", "client_id"],
            )
        case clio.MatterUpserted():
            await _upsert(
                session,
                matters,
                dict(
                    firm_id=firm,
                    matter_id=data.matter_id,
                    client_id=data.client_id,
                    reference=data.reference,
                    description=data.description,
                    status=data.status.value,
                    matter_type=data.matter_type,
                    opened_on=data.opened_on,
                    closed_on=data.closed_on,
                    fee_earner=data.responsible_fee_earner,
                ),
                ["firm_id", "matter_id"],
            )
        case clio.BankAccountUpserted():
            await _upsert(
                session,
                bank_accounts,
                dict(
                    firm_id=firm,
                    bank_account_id=data.bank_account_id,
                    name=data.name,
                    kind=data.kind.value,
                    currency=data.currency,
                    is_default_client_account=data.is_default_client_account,
                ),
                ["firm_id", "bank_account_id"],
            )
        case clio.BillApproved() | clio.BillChanged():
            bill = data.bill
            await _upsert(
                session,
                bills,
                dict(
                    firm_id=firm,
                    bill_id=bill.bill_id,
                    bill_number=bill.bill_number,
                    matter_id=bill.matter_id,
                    client_id=bill.client_id,
                    issued_on=bill.issued_on,
                    due_on=bill.due_on,
                    currency=bill.currency,
                    fees=sum(f.net.amount_minor for f in bill.fees)
                    + sum(e.net.amount_minor for e in bill.recoverable_expenses),
                    vat=bill.vat_total.amount_minor,
                    disbursements=sum(d.net.amount_minor for d in bill.disbursements),
                    total=bill.total.amount_minor,
                    voided_on=None,
                ),
                ["firm_id", "bill_id"],
            )
            await _link(session, firm, data.source, f"bill:{bill.bill_id}", aggregates)
        case clio.BillVoided():
            await session.execute(
                bills.update()
                .where(bills.c.firm_id == firm, bills.c.bill_id == data.bill_id)
                .values(voided_on=data.voided_on)
            )
            await _link(session, firm, data.source, f"bill:{data.bill_id}", aggregates)
        case clio.BillPaymentReceived() | clio.BillPaymentReversed():
            await _link(session, firm, data.source, f"bill:{data.bill_id}", aggregates)
        case clio.PurchaseInvoiceRecorded():
            await _upsert(
                session,
                purchase_invoices,
                dict(
                    firm_id=firm,
                    invoice_id=data.invoice_id,
                    supplier=data.supplier or "",
                    matter_id=data.matter_id,
                    invoiced_on=data.invoiced_on,
                    description=data.description,
                    currency=data.net.currency,
                    net=data.net.amount_minor,
                    vat=data.vat.amount.amount_minor,
                    vat_treatment=data.vat_treatment.value,
                ),
                ["firm_id", "invoice_id"],
            )
            await _link(session, firm, data.source, f"invoice:{data.invoice_id}", aggregates)
        case clio.PurchaseInvoicePaid():
            await _link(session, firm, data.source, f"invoice:{data.invoice_id}", aggregates)
        case clio.WorkRecorded():
            await _upsert(
                session,
                work_entries,
                dict(
                    firm_id=firm,
                    activity_id=data.activity_id,
                    matter_id=data.matter_id,
                    kind=data.kind.value,
                    recorded_on=data.recorded_on,
                    description=data.description,
                    currency=data.value.currency,
                    value=data.value.amount_minor,
                    billed=data.billed,
                    fee_earner=data.fee_earner,
                ),
                ["firm_id", "activity_id"],
            )
    await _sync_record(session, firm, event, data, aggregates)


async def _link(
    session: AsyncSession, firm: str, source: ClioSource, item_key: str, aggregates: bool
) -> None:
    """Lines posted from this Clio record belong to ``item_key`` (first link wins: a record's
    bill or invoice does not change)."""
    object_id = str(source.object_id)
    created = await session.execute(
        insert(source_links)
        .values(
            firm_id=firm, object_type=source.object_type, object_id=object_id, item_key=item_key
        )
        .on_conflict_do_nothing()
        .returning(source_links.c.item_key)
    )
    if created.first() is None:
        return
    old = postings.source_key("clio", source.object_type, object_id)
    await writes.rekey_items(session, firm, old, item_key, aggregates=aggregates)


async def _record(session: AsyncSession, firm: str, object_type: str, object_id: str) -> Any:
    return (
        await session.execute(
            select(clio_records)
            .where(
                clio_records.c.firm_id == firm,
                clio_records.c.object_type == object_type,
                clio_records.c.object_id == object_id,
            )
            .with_for_update()
        )
    ).first()


def _state(row: Any) -> sync.RecordState | None:
    if row is None:
        return None
    return sync.RecordState(
        row.object_type,
        row.synced,
        row.versions,
        row.currency,
        row.amount,
        row.deleted,
        row.outcome,
    )


async def _save_record(
    session: AsyncSession,
    firm: str,
    object_id: str,
    before: sync.RecordState | None,
    after: sync.RecordState,
    event: Envelope[EventPayload],
    extra: dict[str, Any],
    aggregates: bool,
) -> None:
    values = dict(
        synced=after.synced,
        versions=after.versions,
        currency=after.currency,
        amount=after.amount,
        deleted=after.deleted,
        outcome=after.outcome,
        **extra,
    )
    await _upsert(
        session,
        clio_records,
        dict(firm_id=firm, object_type=after.object_type, object_id=object_id, **values),
        ["firm_id", "object_type", "object_id"],
    )
    if not aggregates:
        return
    deltas = sync.changes(before, after)
    counted = sync.contribution(after)
    synced_at = extra.get("last_synced_at")
    if counted is not None and synced_at is not None:
        deltas.setdefault(counted[0], sync.Totals())  # the time moves even if no count does
    for group, delta in deltas.items():
        at = synced_at if counted is not None and group == counted[0] else None
        await _move_sync_totals(session, firm, *group, delta, at)


async def _move_sync_totals(
    session: AsyncSession,
    firm: str,
    object_type: str,
    currency: str,
    delta: sync.Totals,
    synced_at: Any,
) -> None:
    statement = insert(sync_totals).values(
        firm_id=firm,
        object_type=object_type,
        currency=currency,
        records=delta.records,
        versions=delta.versions,
        amount=delta.amount,
        deleted=delta.deleted,
        posted=delta.posted,
        held=delta.held,
        rejected=delta.rejected,
        last_synced_at=synced_at,
    )
    current = sync_totals.c
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["firm_id", "object_type", "currency"],
            set_={
                name: getattr(current, name) + getattr(excluded, name)
                for name in ("records", "versions", "amount", "deleted", "posted", "held")
            }
            | {
                "rejected": current.rejected + excluded.rejected,
                "last_synced_at": text(
                    "GREATEST(sync_totals.last_synced_at, EXCLUDED.last_synced_at)"
                ),
            },
        )
    )


async def _sync_record(
    session: AsyncSession,
    firm: str,
    event: Envelope[EventPayload],
    data: clio.ClioEvent,
    aggregates: bool,
) -> None:
    object_type, object_id = data.source.object_type, str(data.source.object_id)
    row = await _record(session, firm, object_type, object_id)
    before = _state(row)
    new_version = row is None or not row.synced or row.version != data.source.version
    after = sync.after_clio_event(before, object_type, data, new_version)
    extra = dict(
        event_type=event.type,
        version=data.source.version,
        last_synced_at=max(event.time, row.last_synced_at)
        if row and row.last_synced_at
        else event.time,
    )
    await _save_record(session, firm, object_id, before, after, event, extra, aggregates)


async def _outcome(
    session: AsyncSession,
    firm: str,
    event: Envelope[EventPayload],
    source: ledger.PostingSource,
    outcome: str,
    reason: str | None,
    aggregates: bool,
) -> None:
    if source.system != "clio":
        return
    row = await _record(session, firm, source.object_type, source.object_id)
    before = _state(row)
    after = sync.after_outcome(before, source.object_type, outcome)
    extra: dict[str, Any] = dict(outcome_reason=reason)
    await _save_record(session, firm, source.object_id, before, after, event, extra, aggregates)


# --- exceptions ------------------------------------------------------------------------------


async def _resolve_exception(
    session: AsyncSession,
    firm: str,
    event: Envelope[EventPayload],
    data: ledger.ExceptionResolved,
) -> None:
    resolution = dict(
        resolution=data.resolution.value,
        resolved_by=data.resolved_by,
        resolution_reason=data.reason,
        resolved_on=event.time.date(),
    )
    updated = await session.execute(
        exceptions.update()
        .where(exceptions.c.firm_id == firm, exceptions.c.exception_id == data.exception_id)
        .values(**resolution)
        .returning(exceptions.c.exception_id)
    )
    if updated.first() is None:  # resolved before reporting saw it raised: keep what we know
        await _upsert(
            session,
            exceptions,
            dict(
                firm_id=firm,
                exception_id=data.exception_id,
                kind=data.kind.value,
                matter_id=data.matter_id,
                raised_on=event.time.date(),
                detail="(raised before the reporting service's history begins)",
                **resolution,
            ),
            ["firm_id", "exception_id"],
        )


# --- helpers ---------------------------------------------------------------------------------


async def _upsert(
    session: AsyncSession, table: Any, values: dict[str, Any], keys: list[str]
) -> None:
    statement = insert(table).values(**values)
    updates = {name: statement.excluded[name] for name in values if name not in keys}
    if updates:
        await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))
    else:
        await session.execute(statement.on_conflict_do_nothing(index_elements=keys))


async def _audit(session: AsyncSession, event: Envelope[EventPayload]) -> None:
    entry = audit_entry(event)
    await session.execute(
        audit_log.insert().values(
            firm_id=event.firm_id,
            occurred_at=entry.occurred_at,
            event_id=event.id,
            event_type=event.type,
            actor=entry.actor,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            reason=entry.reason,
            source_ref=entry.source_ref,
            summary=entry.summary,
        )
    )


async def ensure_firm(session: AsyncSession, firm_id: str) -> None:
    await session.execute(insert(firms).values(firm_id=firm_id).on_conflict_do_nothing())
