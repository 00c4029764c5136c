"""One event in, the read models it changes updated, inside the caller's unit of work.

``handle`` is what the consumer calls. ``apply_event`` is the same with a switch: a rebuild
replays the facts with ``aggregates=False`` and then recomputes every aggregate in SQL
(``db/recompute.py``), which is much faster than moving them one journal at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
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
    exceptions,
    firms,
    journal_lines,
    matters,
    period_locks,
    purchase_invoices,
    reconciliations,
    source_links,
    statements,
    sync_comparison,
    work_entries,
)
from cashroom_reporting.domain import postings, sync
from cashroom_reporting.domain.audit import audit_entry

_BATCH = "reporting.journal_batch"


async def handle_batch(uow: UnitOfWork, events: Sequence[Envelope[EventPayload]]) -> None:
    """The live consumer's batch handler: the batch's first deliveries, in order, in one unit of
    work (``handle`` for each)."""
    for event in events:
        await handle(uow, event)


async def handle(uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
    """One event of the unit of work. What can wait is only checked and collected here, and
    written, for the whole unit of work, in a few statements just before it commits: journals
    with their aggregates (before any other event of the batch, which may read what they
    change), the Clio records' sync state with the sync totals, and the audit lines."""
    batch: EventBatch | None = uow.session.info.get(_BATCH)
    if batch is None:
        batch = uow.session.info[_BATCH] = EventBatch(aggregates=True)
        session = uow.session
        uow.before_commit(lambda: batch.flush(session))
    await _apply(uow.session, event, batch)


async def apply_event(
    session: AsyncSession, event: Envelope[EventPayload], *, aggregates: bool
) -> None:
    """One event applied at once (the rebuild's replay, each event in its own savepoint)."""
    batch = EventBatch(aggregates=aggregates)
    await _apply(session, event, batch)
    await batch.flush(session)


_APART_FROM_JOURNALS = (clio.ClioEvent, clio.SyncCompleted)
"""Events whose handling neither reads nor changes what the journals collected before them
write: Clio's (names, work in progress, bills, payments, deletions) and a sync's end. A link
from a Clio record to its bill or invoice (``_link``) moves the lines already stored; the
journals still collected are keyed by it when they are written, since ``_ItemFinder`` reads
the links then. A batch mixing Clio's topic and the ledger's is therefore written in a few
statements, not one flush per Clio event."""


class FactBatch:
    """The Clio records' own rows (clients, matters, bills, supplier invoices, work entries)
    collected during a unit of work: each key's latest values, written per table in one
    statement (``INSERT ... ON CONFLICT DO UPDATE``, as ``_upsert`` writes one). They can wait
    for the unit of work's end (or for an event that reads or changes one of them, which flushes
    first): the journals' item spans read a bill's or supplier invoice's date when they are
    derived, and ``writes.date_items`` dates the spans again when the record is written, so the
    order of the two flushes changes nothing."""

    def __init__(self) -> None:
        self._tables: dict[
            str, tuple[Any, tuple[str, ...], dict[tuple[Any, ...], dict[str, Any]]]
        ] = {}

    def add(self, table: Any, values: dict[str, Any], keys: list[str]) -> None:
        _, _, rows = self._tables.setdefault(table.name, (table, tuple(keys), {}))
        rows[tuple(values[k] for k in keys)] = values  # the latest wins, as upserts in turn

    async def flush(self, session: AsyncSession) -> None:
        tables, self._tables = self._tables, {}
        for table, keys, rows in tables.values():
            values = list(rows.values())
            for start in range(0, len(values), _FACT_ROWS_A_STATEMENT):
                chunk = values[start : start + _FACT_ROWS_A_STATEMENT]
                statement = insert(table).values(chunk)
                updates = {n: statement.excluded[n] for n in chunk[0] if n not in keys}
                await session.execute(
                    statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
                )
            await writes.date_items(session, table.name, values)


_FACT_ROWS_A_STATEMENT = 1_000


class EventBatch:
    """What a unit of work collects to write at its end: journals, Clio records' sync state,
    audit lines (in the order of their events)."""

    def __init__(self, *, aggregates: bool) -> None:
        self.aggregates = aggregates
        self.facts = FactBatch()
        self.journals = JournalBatch(aggregates=aggregates)
        self.records = RecordBatch(aggregates=aggregates)
        self.audit: list[dict[str, Any]] = []

    async def flush(self, session: AsyncSession) -> None:
        await self.facts.flush(session)
        await self.journals.flush(session)
        await self.records.flush(session)
        rows, self.audit = self.audit, []
        await writes.insert_rows(session, audit_log, rows)


async def _apply(session: AsyncSession, event: Envelope[EventPayload], batch: EventBatch) -> None:
    data = event.data
    firm = event.firm_id
    aggregates = batch.aggregates
    if isinstance(data, ledger.JournalPosted):
        postings.check_journal(data)
        batch.journals.add(event, data)
        batch.audit.append(_audit_row(event))
        return
    if isinstance(data, ledger.PostingApplied | ledger.PostingHeld | ledger.PostingRejected):
        # The ledger's answers touch only the Clio records' state, collected like the journals:
        # the journals around them stay in one flush (the ledger sends one answer per journal).
        if isinstance(data, ledger.PostingApplied):
            batch.records.outcome(firm, data.source, "posted", None)
        else:
            outcome = "held" if isinstance(data, ledger.PostingHeld) else "rejected"
            batch.records.outcome(firm, data.source, outcome, f"{data.reason_code}: {data.reason}")
        batch.audit.append(_audit_row(event))
        return
    if not isinstance(data, _APART_FROM_JOURNALS):
        await batch.facts.flush(session)
        await batch.journals.flush(session)
    match data:
        case ledger.AccountUpserted():
            await chart_of_accounts.account_upserted(session, firm, data, aggregates=aggregates)
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
            await _clio(session, firm, data, batch)
            batch.records.clio_event(firm, event, data)
        case clio.SyncCompleted():
            await batch.records.flush(session)  # what was received before it, compared
            await _sync_completed(session, firm, data)
    batch.audit.append(_audit_row(event))


# --- the journal -----------------------------------------------------------------------------


class JournalBatch:
    """Journals collected during a unit of work and written together: the facts (journals, lines,
    bank nominals) with executemany, the aggregates summed in memory per key and day
    and moved with one statement per table (``writes.move_*_in_bulk``). A journal already stored
    (the same journal in another event) is skipped, as is a repeat within the batch."""

    def __init__(self, *, aggregates: bool) -> None:
        self.aggregates = aggregates
        self._journals: list[tuple[Envelope[EventPayload], ledger.JournalPosted]] = []

    def add(self, event: Envelope[EventPayload], journal: ledger.JournalPosted) -> None:
        self._journals.append((event, journal))

    async def flush(self, session: AsyncSession) -> None:
        pending, self._journals = self._journals, []
        if not pending:
            return
        unique: dict[tuple[str, Any], tuple[Envelope[EventPayload], ledger.JournalPosted]] = {}
        for event, journal in pending:
            unique.setdefault((event.firm_id, journal.journal_id), (event, journal))
        stored = await _store_journals(session, list(unique.values()))
        new = [(event, journal) for key, (event, journal) in unique.items() if key in stored]
        if not new:
            return  # every journal was already here, with its effects
        known: dict[tuple[str, str], Any] = session.info.setdefault("reporting", {})
        for event, journal in new:
            firm = event.firm_id
            if (firm, "books") not in known:  # once per firm and transaction
                await session.execute(
                    text(
                        "INSERT INTO firms (firm_id, books_currency) VALUES (:f, :c) "
                        "ON CONFLICT (firm_id) DO UPDATE SET books_currency = "
                        "COALESCE(firms.books_currency, EXCLUDED.books_currency)"
                    ),
                    {"f": firm, "c": postings.line_currency(journal.lines[0])},
                )
                known[(firm, "books")] = True
            if self.aggregates and (firm, "tracked") not in known:
                known[(firm, "tracked")] = await chart_of_accounts.tracked_codes(session, firm)
        items = _ItemFinder(session, new)
        if self.aggregates:
            await items.prefetch(known)
        rows: list[dict[str, Any]] = []
        links: set[tuple[str, int, str]] = set()
        for event, journal in new:
            firm = event.firm_id
            tracked: frozenset[str] = known[(firm, "tracked")] if self.aggregates else frozenset()
            lines = []
            for number, line in enumerate(journal.lines, start=1):
                lines.append(
                    dict(
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
                        item_key=(
                            items.item_for(firm, journal, line)
                            if line.account_code in tracked
                            else None
                        ),
                    )
                )
            items.posted(firm, journal.journal_id, lines)
            rows.extend(lines)
            links.update((firm, b, c) for b, c in postings.bank_links(journal))
        await writes.insert_rows(session, journal_lines, rows)
        if links:
            await session.execute(
                insert(bank_nominals)
                .values(
                    [
                        {"firm_id": f, "bank_account_id": b, "account_code": c}
                        for f, b, c in sorted(links)
                    ]
                )
                .on_conflict_do_nothing()
            )
        if not self.aggregates:
            return
        accounts: dict[tuple[tuple[Any, ...], date], postings.Movement] = {}
        matter_lines: dict[tuple[tuple[Any, ...], date], postings.Movement] = {}
        vat: dict[tuple[tuple[Any, ...], date], postings.Movement] = {}
        for event, journal in new:
            day = journal.posted_on
            for total, moved in (
                (accounts, postings.account_movements(journal)),
                (matter_lines, postings.matter_movements(journal)),
                (vat, postings.vat_movements(journal)),
            ):
                for key, movement in moved.items():
                    where = ((event.firm_id, *key), day)
                    total[where] = total.get(where, postings.ZERO) + movement
        await writes.move_accounts_in_bulk(session, accounts)
        await writes.move_matters_in_bulk(session, matter_lines)
        first_days: dict[tuple[str, int], date] = {}
        for (firm, matter_id, *_), moved_on in matter_lines:
            matter = (str(firm), int(matter_id))
            first_days[matter] = min(moved_on, first_days.get(matter, moved_on))
        await writes.respan_matters(session, first_days)
        await writes.move_vat_in_bulk(session, vat)
        item_lines = [r for r in rows if r["item_key"] is not None]
        await writes.move_items_in_bulk(session, item_lines)
        await writes.respan_items(session, {(r["firm_id"], r["item_key"]) for r in item_lines})


_JOURNAL_COLUMNS = {
    "firm_id": "text",
    "journal_id": "uuid",
    "posted_on": "date",
    "kind": "text",
    "narrative": "text",
    "source_system": "text",
    "source_type": "text",
    "source_id": "text",
    "source_version": "text",
    "reverses_journal_id": "uuid",
    "reason": "text",
    "entered_by": "text",
    "event_id": "uuid",
    "event_time": "timestamptz",
}
_STORE_JOURNALS = text(
    f"INSERT INTO journals ({', '.join(_JOURNAL_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _JOURNAL_COLUMNS.items())
    + ") ON CONFLICT (firm_id, journal_id) DO NOTHING RETURNING firm_id, journal_id"
)


async def _store_journals(
    session: AsyncSession, batch: list[tuple[Envelope[EventPayload], ledger.JournalPosted]]
) -> set[tuple[str, Any]]:
    """Insert the journals not stored yet (one statement); the (firm, journal) pairs that were
    new."""
    columns: dict[str, list[Any]] = {name: [] for name in _JOURNAL_COLUMNS}
    for event, journal in batch:
        values = (
            event.firm_id,
            journal.journal_id,
            journal.posted_on,
            journal.kind,
            journal.narrative,
            journal.source.system,
            journal.source.object_type,
            journal.source.object_id,
            journal.source.version,
            journal.reverses_journal_id,
            journal.reason,
            journal.entered_by,
            event.id,
            event.time,
        )
        for name, value in zip(_JOURNAL_COLUMNS, values, strict=True):
            columns[name].append(value)
    inserted = await session.execute(_STORE_JOURNALS, columns)
    return {(row.firm_id, row.journal_id) for row in inserted}


class _ItemFinder:
    """The sub-ledger item of each control line (mirrors ``recompute.items``): a reversal's
    lines take the item of the reversed journal's matching line, a Clio record's lines the bill
    or invoice it is linked to, anything else its journal's source. What the batch needs from
    the database is read in two queries; journals earlier in the batch are looked up in memory."""

    def __init__(
        self,
        session: AsyncSession,
        batch: list[tuple[Envelope[EventPayload], ledger.JournalPosted]],
    ) -> None:
        self._session = session
        self._batch = batch
        self._lines: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        self._links: dict[tuple[str, str, str], str] = {}

    async def prefetch(self, known: dict[tuple[str, str], Any]) -> None:
        reversed_ids: dict[str, set[Any]] = {}
        sources: dict[str, set[tuple[str, str]]] = {}
        for event, journal in self._batch:
            firm = event.firm_id
            if not any(line.account_code in known[(firm, "tracked")] for line in journal.lines):
                continue
            if journal.reverses_journal_id is not None:
                reversed_ids.setdefault(firm, set()).add(journal.reverses_journal_id)
            if journal.source.system == "clio":
                sources.setdefault(firm, set()).add(
                    (journal.source.object_type, journal.source.object_id)
                )
        for firm, ids in reversed_ids.items():
            found = await self._session.execute(
                text(
                    "SELECT journal_id, line_no, account_code, matter_id, item_key "
                    "FROM journal_lines WHERE firm_id = :f AND journal_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"f": firm, "ids": sorted(ids)},
            )
            for row in found:
                self._lines.setdefault((firm, row.journal_id), []).append(row._asdict())
        for firm, pairs in sources.items():
            found = await self._session.execute(
                text(
                    "SELECT l.object_type, l.object_id, l.item_key FROM source_links l "
                    "JOIN unnest(CAST(:types AS text[]), CAST(:ids AS text[])) AS s(t, i) "
                    "ON l.object_type = s.t AND l.object_id = s.i WHERE l.firm_id = :f"
                ),
                {"f": firm, "types": [t for t, _ in pairs], "ids": [i for _, i in pairs]},
            )
            for row in found:
                self._links[(firm, row.object_type, row.object_id)] = str(row.item_key)

    def posted(self, firm: str, journal_id: Any, lines: list[dict[str, Any]]) -> None:
        """Lines of a journal of this batch, for a reversal later in it."""
        self._lines[(firm, journal_id)] = lines

    def item_for(self, firm: str, journal: ledger.JournalPosted, line: ledger.JournalLine) -> str:
        if journal.reverses_journal_id is not None:
            matching = sorted(
                (
                    original
                    for original in self._lines.get((firm, journal.reverses_journal_id), [])
                    if original["account_code"] == line.account_code
                    and original["matter_id"] == line.matter_id
                ),
                key=lambda original: (original["item_key"] is None, original["line_no"]),
            )
            if matching and matching[0]["item_key"] is not None:
                return str(matching[0]["item_key"])
        source = journal.source
        if source.system == "clio":
            linked = self._links.get((firm, source.object_type, source.object_id))
            if linked is not None:
                return linked
        return postings.source_key(source.system, source.object_type, source.object_id)


# --- Clio: names, bills, invoices, work, and the sync summary ---------------------------------


async def _clio(session: AsyncSession, firm: str, data: clio.ClioEvent, batch: EventBatch) -> None:
    """The Clio record's own row (a client, a bill ...: collected, ``FactBatch``) and its link to
    a sub-ledger item."""
    aggregates, facts = batch.aggregates, batch.facts
    match data:
        case clio.ClientUpserted():
            facts.add(
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
            facts.add(
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
            facts.add(
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
            await facts.flush(session)  # the bill's row as its approval left it
            await session.execute(
                bills.update()
                .where(bills.c.firm_id == firm, bills.c.bill_id == data.bill_id)
                .values(voided_on=data.voided_on)
            )
            await _link(session, firm, data.source, f"bill:{data.bill_id}", aggregates)
        case clio.BillPaymentReceived() | clio.BillPaymentReversed():
            await _link(session, firm, data.source, f"bill:{data.bill_id}", aggregates)
        case clio.PurchaseInvoiceRecorded():
            facts.add(
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
            facts.add(
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


# --- the sync compared with what Clio holds ----------------------------------------------------

_RECEIVED = text(
    "SELECT object_type, COALESCE(currency, '') AS currency, "
    "COUNT(*) FILTER (WHERE NOT deleted) AS records, COUNT(*) FILTER (WHERE deleted) AS deleted, "
    "COALESCE(SUM(amount) FILTER (WHERE NOT deleted), 0) AS amount "
    "FROM clio_records WHERE firm_id = :f AND synced "
    "GROUP BY object_type, COALESCE(currency, '')"
)


async def _sync_completed(session: AsyncSession, firm: str, data: clio.SyncCompleted) -> None:
    """The firm's comparison replaced: what Clio holds (the event) beside what the reports
    have received up to this event (``clio_records``, the same terms as the sync totals: one
    GROUP BY over the firm's records, once per sync)."""
    received = {
        (row.object_type, row.currency): sync.Received(row.records, row.deleted, row.amount)
        for row in await session.execute(_RECEIVED, {"f": firm})
    }
    sync_of = {
        "sync_id": data.sync_id,
        "sync_kind": data.kind,
        "sync_finished_at": data.finished_at,
    }
    rows = [
        {"firm_id": firm, **dataclasses.asdict(c), **sync_of}
        for c in sync.compare(data.holdings, received)
    ]
    await session.execute(text("DELETE FROM sync_comparison WHERE firm_id = :f"), {"f": firm})
    await writes.insert_rows(session, sync_comparison, rows)


# --- the Clio records' sync state and the sync totals ----------------------------------------

RecordKey = tuple[str, str, str]  # firm, Clio object type, Clio id


@dataclass(frozen=True, slots=True)
class _Synced:
    """A Clio event about the record arrived."""

    key: RecordKey
    event_type: str
    time: datetime
    payload: clio.ClioEvent


@dataclass(frozen=True, slots=True)
class _Answered:
    """The ledger posted, held or rejected the record."""

    key: RecordKey
    outcome: str
    reason: str | None


_RECORD_COLUMNS = {
    "firm_id": "text",
    "object_type": "text",
    "object_id": "text",
    "synced": "boolean",
    "event_type": "text",
    "version": "text",
    "versions": "integer",
    "currency": "text",
    "amount": "bigint",
    "deleted": "boolean",
    "outcome": "text",
    "outcome_reason": "text",
    "last_synced_at": "timestamptz",
}
_RECORD_KEY = ("firm_id", "object_type", "object_id")
_KEYS = (
    "unnest(CAST(:firm_id AS text[]), CAST(:object_type AS text[]), CAST(:object_id AS text[])) "
    "AS k(firm_id, object_type, object_id)"
)
_READ_RECORDS = text(
    f"SELECT r.* FROM clio_records AS r JOIN {_KEYS} ON r.firm_id = k.firm_id "
    "AND r.object_type = k.object_type AND r.object_id = k.object_id "
    "ORDER BY r.firm_id, r.object_type, r.object_id FOR UPDATE OF r"
)
_SAVE_RECORDS = text(
    f"INSERT INTO clio_records ({', '.join(_RECORD_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _RECORD_COLUMNS.items())
    + ") ON CONFLICT (firm_id, object_type, object_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _RECORD_COLUMNS if name not in _RECORD_KEY)
)
_TOTALS = ("records", "versions", "amount", "deleted", "posted", "held", "rejected")
_MOVE_SYNC_TOTALS = text(
    "INSERT INTO sync_totals AS t (firm_id, object_type, currency, "
    + ", ".join(_TOTALS)
    + ", last_synced_at) SELECT * FROM unnest(CAST(:firm_id AS text[]), "
    "CAST(:object_type AS text[]), CAST(:currency AS text[]), "
    + ", ".join(f"CAST(:{name} AS bigint[])" for name in _TOTALS)
    + ", CAST(:last_synced_at AS timestamptz[])) "
    "ON CONFLICT (firm_id, object_type, currency) DO UPDATE SET "
    + ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in _TOTALS)
    + ", last_synced_at = GREATEST(t.last_synced_at, EXCLUDED.last_synced_at)"
)


class RecordBatch:
    """The Clio records' sync state (clio_records) and the sync totals, moved by the Clio events
    and the ledger's answers of a unit of work: the records read in one statement, the changes
    applied to them in memory in the order of their events (``domain.sync``), the records written
    in one statement and the totals, summed per object type and currency, in one more. The same
    rows as applying the events one at a time."""

    def __init__(self, *, aggregates: bool) -> None:
        self.aggregates = aggregates
        self._changes: list[_Synced | _Answered] = []

    def clio_event(self, firm: str, event: Envelope[EventPayload], data: clio.ClioEvent) -> None:
        key = (firm, data.source.object_type, str(data.source.object_id))
        self._changes.append(_Synced(key, event.type, event.time, data))

    def outcome(
        self, firm: str, source: ledger.PostingSource, outcome: str, reason: str | None
    ) -> None:
        if source.system == "clio":
            self._changes.append(
                _Answered((firm, source.object_type, source.object_id), outcome, reason)
            )

    async def flush(self, session: AsyncSession) -> None:
        changes, self._changes = self._changes, []
        if not changes:
            return
        keys = sorted({change.key for change in changes})
        found = await session.execute(
            _READ_RECORDS,
            {name: [key[n] for key in keys] for n, name in enumerate(_RECORD_KEY)},
        )
        rows: dict[RecordKey, dict[str, Any]] = {
            (row.firm_id, row.object_type, row.object_id): dict(row._mapping) for row in found
        }
        totals: dict[tuple[str, str, str], tuple[sync.Totals, datetime | None]] = {}
        for change in changes:
            row = rows.get(change.key)
            before = _state(row)
            synced_at: datetime | None = None
            extra: dict[str, Any]
            if isinstance(change, _Synced):
                version = change.payload.source.version
                new_version = row is None or not row["synced"] or row["version"] != version
                after = sync.after_clio_event(before, change.key[1], change.payload, new_version)
                last = row["last_synced_at"] if row is not None else None
                synced_at = change.time if last is None else max(change.time, last)
                extra = dict(
                    event_type=change.event_type, version=version, last_synced_at=synced_at
                )
            else:
                after = sync.after_outcome(before, change.key[1], change.outcome)
                extra = dict(outcome_reason=change.reason)
            rows[change.key] = (row or _new_record(change.key)) | _record_values(after) | extra
            if self.aggregates:
                _count(totals, change.key[0], before, after, synced_at)
        await session.execute(
            _SAVE_RECORDS,
            {name: [rows[key][name] for key in keys] for name in _RECORD_COLUMNS},
        )
        await _move_sync_totals(session, totals)


def _new_record(key: RecordKey) -> dict[str, Any]:
    firm, object_type, object_id = key
    return dict(
        firm_id=firm,
        object_type=object_type,
        object_id=object_id,
        event_type=None,
        version=None,
        outcome_reason=None,
        last_synced_at=None,
    )


def _record_values(state: sync.RecordState) -> dict[str, Any]:
    return dict(
        synced=state.synced,
        versions=state.versions,
        currency=state.currency,
        amount=state.amount,
        deleted=state.deleted,
        outcome=state.outcome,
    )


def _state(row: dict[str, Any] | None) -> sync.RecordState | None:
    if row is None:
        return None
    return sync.RecordState(
        row["object_type"],
        row["synced"],
        row["versions"],
        row["currency"],
        row["amount"],
        row["deleted"],
        row["outcome"],
    )


def _count(
    totals: dict[tuple[str, str, str], tuple[sync.Totals, datetime | None]],
    firm: str,
    before: sync.RecordState | None,
    after: sync.RecordState,
    synced_at: datetime | None,
) -> None:
    """Add one change of a record to the totals of the groups it moves (and its sync time to
    the group it now counts in, even if no count moves)."""
    deltas = sync.changes(before, after)
    counted = sync.contribution(after)
    if counted is not None and synced_at is not None:
        deltas.setdefault(counted[0], sync.Totals())
    for group, delta in deltas.items():
        at = synced_at if counted is not None and group == counted[0] else None
        total, latest = totals.get((firm, *group), (sync.Totals(), None))
        if at is not None:
            latest = at if latest is None else max(latest, at)
        totals[(firm, *group)] = (total + delta, latest)


async def _move_sync_totals(
    session: AsyncSession, totals: dict[tuple[str, str, str], tuple[sync.Totals, datetime | None]]
) -> None:
    if not totals:
        return
    groups = sorted(totals)
    columns: dict[str, list[Any]] = {
        "firm_id": [firm for firm, _, _ in groups],
        "object_type": [object_type for _, object_type, _ in groups],
        "currency": [currency for _, _, currency in groups],
        "last_synced_at": [totals[group][1] for group in groups],
    }
    for name in _TOTALS:
        columns[name] = [getattr(totals[group][0], name) for group in groups]
    await session.execute(_MOVE_SYNC_TOTALS, columns)


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


def _audit_row(event: Envelope[EventPayload]) -> dict[str, Any]:
    entry = audit_entry(event)
    return dict(
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


async def ensure_firm(session: AsyncSession, firm_id: str) -> None:
    await session.execute(insert(firms).values(firm_id=firm_id).on_conflict_do_nothing())
