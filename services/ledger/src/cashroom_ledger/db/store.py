"""``StoredState``: one firm's books in the database, seen through one unit of work.

It implements the domain's ``LedgerState``, so the very same ``Ledger`` code (rules, locks, the
client-column check, holds and wakes) runs over it. Nothing is read until asked for, and then
only that: a matter, a posting key's live content, a client column's series from a date on. A
batch of events is served by ``prefetch`` (a dozen bulk queries for everything the batch names),
so per event the work is in memory; whatever the prefetch did not foresee (a posting woken by
another, a back-dated check earlier than expected) is fetched on demand. Every change is kept
in memory and written by ``flush`` in bulk (``COPY`` for journals and lines, ``executemany``
upserts, two set-based statements for the dated balances) in the same transaction.

Writers of one firm are serialised by a transaction-level advisory lock on the firm (consumer
batches, API commands), so what was read stays true until commit.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cashroom_chassis import statistics
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.db import codec
from cashroom_ledger.db.connection import Connection
from cashroom_ledger.db.tables import JOURNAL_LINE_COLUMNS
from cashroom_ledger.domain.accounts import (
    Account,
    AccountRole,
    AccountType,
    ChartOfAccounts,
    Jurisdiction,
)
from cashroom_ledger.domain.balances import BalanceKey, DatedSeries, keys_of
from cashroom_ledger.domain.decisions import (
    BillFacts,
    PostingKey,
    SupplierInvoiceFacts,
    WaitFor,
)
from cashroom_ledger.domain.journals import Journal
from cashroom_ledger.domain.outcomes import Breach, ExceptionRecord, PeriodLockChanged
from cashroom_ledger.domain.reference import BankAccount, Client, Matter
from cashroom_ledger.domain.state import LivePosting, PendingPosting

KeyPairs = tuple[list[str], list[str]]

LIVE_COLUMNS = ("firm_id", "key_kind", "key_id", "version", "journal_ids", "facts")
SEEN_COLUMNS = (
    "firm_id",
    "key_kind",
    "key_id",
    "version",
    "rejected_reason_code",
    "rejected_reason",
)
SOURCE_KEY_COLUMNS = ("firm_id", "object_type", "object_id", "key_kind", "key_id")
BILL_COLUMNS = (
    "firm_id",
    "bill_id",
    "bill_number",
    "matter_id",
    "issued_on",
    "total_minor",
    "currency",
)
ALLOCATION_COLUMNS = ("firm_id", "bill_id", "key_kind", "key_id", "amount_minor", "currency")


def _pairs(keys: Iterable[PostingKey]) -> KeyPairs:
    kinds, ids = [], []
    for key in keys:
        kinds.append(key.kind)
        ids.append(key.id)
    return kinds, ids


def _balance_key(code: str, matter: int, side: str, bank: int) -> BalanceKey:
    return BalanceKey(code, matter or None, AccountKind(side) if side else None, bank or None)


def _balance_columns(key: BalanceKey) -> tuple[str, int, str, int]:
    side = key.ledger_side.value if key.ledger_side is not None else ""
    return key.account_code, key.matter_id or 0, side, key.bank_account_id or 0


@dataclass
class FirmRecord:
    """A firm's row: who it is and what holds for its books as a whole."""

    firm_id: str
    firm_name: str
    jurisdiction: Jurisdiction
    currency: str
    standard_vat_rate_basis_points: int
    default_office_account_id: int | None
    books_locked_through: date | None


def chart_of(firm: FirmRecord, rows: Sequence[Mapping[Any, Any]]) -> ChartOfAccounts:
    accounts = tuple(
        Account(
            row["code"],
            row["name"],
            AccountType(row["type"]),
            AccountRole(row["role"]) if row["role"] else None,
        )
        for row in sorted(rows, key=lambda r: int(r["position"]))
    )
    return ChartOfAccounts(
        firm.jurisdiction, firm.currency, firm.standard_vat_rate_basis_points, accounts
    )


def bank_account_of(row: Mapping[Any, Any]) -> BankAccount:
    return BankAccount(
        row["bank_account_id"],
        row["name"],
        AccountKind(row["kind"]),
        row["currency"],
        row["nominal_code"],
    )


_LIVE_JOURNALS = """
SELECT j.journal_id, j.kind, j.posted_on, j.narrative, j.source_system, j.source_object_type,
       j.source_object_id, j.source_version, j.source_event_id, j.reverses, j.reason,
       j.linked_journal_id, j.entered_by, j.key_kind, j.key_id, j.seq
  FROM journals j
 WHERE j.firm_id = $1 AND {where}
 ORDER BY j.seq
"""
_LINES_OF = """
SELECT journal_id, line_no, account_code, entry, amount_minor, currency, matter_id, ledger_side,
       bank_account_id, vat_tag, narrative
  FROM journal_lines
 WHERE firm_id = $1 AND journal_id = ANY($2::uuid[])
"""
_SERIES = """
SELECT w.i, b.balance_date, b.cumulative
  FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::date[])
       WITH ORDINALITY AS w(code, matter, side, bank, since, i)
  JOIN LATERAL (
       (SELECT balance_date, cumulative FROM balances
         WHERE firm_id = $1 AND account_code = w.code AND matter_id = w.matter
           AND ledger_side = w.side AND bank_account_id = w.bank AND balance_date < w.since
         ORDER BY balance_date DESC LIMIT 1)
       UNION ALL
       (SELECT balance_date, cumulative FROM balances
         WHERE firm_id = $1 AND account_code = w.code AND matter_id = w.matter
           AND ledger_side = w.side AND bank_account_id = w.bank AND balance_date >= w.since)
  ) b ON true
"""
# One statement per flush. The changes arrive as ranges: for a key, from a changed ``day`` up to
# its next changed day (``until``), every balance row moves by ``shift`` (the sum of the batch's
# changes to that key through ``day``), and the row of ``day`` itself also by ``own`` (that day's
# changes). A day with no row yet gets one, inserted with its final figures: the balance of the
# last row before it plus ``shift``. The UPDATE then moves the rows that were there before the
# statement (it does not see the rows its own WITH inserts), each range finding its rows by the
# primary key: a nested loop of index range scans, which ``OFFSET 0`` keeps the planner from
# flattening into a hash join of the whole firm's balances (chosen on young statistics, and
# quadratic in the dates of a busy account such as the bank nominal's).
_WRITE_BALANCES = """
WITH d AS MATERIALIZED (
  SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::date[],
                       $7::date[], $8::bigint[], $9::bigint[])
         AS d(code, matter, side, bank, day, until, shift, own)
), new_days AS (
  INSERT INTO balances (firm_id, account_code, matter_id, ledger_side, bank_account_id,
                        balance_date, movement, cumulative)
  SELECT CAST($1 AS varchar), d.code, d.matter, d.side, d.bank, d.day, d.own,
         d.shift + COALESCE((SELECT b.cumulative FROM balances b
                              WHERE b.firm_id = $1 AND b.account_code = d.code
                                AND b.matter_id = d.matter AND b.ledger_side = d.side
                                AND b.bank_account_id = d.bank AND b.balance_date < d.day
                              ORDER BY b.balance_date DESC LIMIT 1), 0)
    FROM d
  ON CONFLICT DO NOTHING
)
UPDATE balances b
   SET cumulative = b.cumulative + m.shift,
       movement = b.movement + m.own
  FROM (SELECT x.account_code, x.matter_id, x.ledger_side, x.bank_account_id, x.balance_date,
               d.shift, CASE WHEN x.balance_date = d.day THEN d.own ELSE 0 END AS own
          FROM d
         CROSS JOIN LATERAL (
               SELECT r.account_code, r.matter_id, r.ledger_side, r.bank_account_id,
                      r.balance_date
                 FROM balances r
                WHERE r.firm_id = $1 AND r.account_code = d.code AND r.matter_id = d.matter
                  AND r.ledger_side = d.side AND r.bank_account_id = d.bank
                  AND r.balance_date >= d.day AND r.balance_date < d.until
               OFFSET 0) x) m
 WHERE b.firm_id = $1 AND b.account_code = m.account_code AND b.matter_id = m.matter_id
   AND b.ledger_side = m.ledger_side AND b.bank_account_id = m.bank_account_id
   AND b.balance_date = m.balance_date
"""


def keep_statistics_current(db: Connection, table: str, *, at_least: int = 1000) -> bool:
    """ANALYZE ``table`` when it has outgrown its statistics (``cashroom_chassis.statistics``).
    ``_WRITE_BALANCES`` is planned on them: a young table's (a few rows, or none) made the
    planner scan all the firm's balances once per range moved, seconds a flush where it takes
    milliseconds. Returns whether it analyzed."""
    rows = db.fetch(statistics.GROWTH_SQL, table)
    if not rows:
        return False
    live, estimated = int(rows[0]["n_live_tup"]), float(rows[0]["reltuples"])
    if not statistics.outgrown(live, estimated, at_least=at_least):
        return False
    db.execute(f"ANALYZE {table}")
    return True


class StoredState:
    """``LedgerState`` over the ledger's tables, for one firm, within one transaction."""

    def __init__(
        self,
        firm: FirmRecord,
        db: Connection,
        chart: ChartOfAccounts,
        bank_accounts: Sequence[BankAccount],
        bank_locks: Mapping[int, date],
        *,
        anything_held: bool,
    ) -> None:
        self.firm = firm
        self.firm_id = firm.firm_id
        self._db = db
        self._chart = chart
        self._stored_chart = chart
        self._firm_dirty = False
        self._banks: dict[int, BankAccount] = {b.bank_account_id: b for b in bank_accounts}
        self._bank_locks: dict[int, date] = dict(bank_locks)
        self._dirty_banks: set[int] = set()
        self._dirty_bank_locks: set[int] = set()
        self._clients: dict[int, Client | None] = {}
        self._dirty_clients: set[int] = set()
        self._matters: dict[int, Matter | None] = {}
        self._dirty_matters: set[int] = set()
        self._client_matters_loaded: set[int] = set()
        self._practice_areas: dict[int, str] = {}
        # journals and balances
        self._new_journals: list[tuple[PostingKey, int, Journal]] = []
        self._positions: dict[tuple[PostingKey, str], int] = defaultdict(int)
        self._series: dict[BalanceKey, tuple[DatedSeries, date]] = {}
        self._deltas: dict[BalanceKey, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        # posting keys
        self._live: dict[PostingKey, LivePosting | None] = {}
        self._live_stored: set[PostingKey] = set()  # keys with a live_postings row
        self._dirty_live: set[PostingKey] = set()
        self._seen: dict[tuple[PostingKey, str], bool] = {}
        self._new_seen: set[tuple[PostingKey, str]] = set()
        self._rejections: dict[tuple[PostingKey, str], tuple[str, str]] = {}
        self._dirty_rejections: set[tuple[PostingKey, str]] = set()
        self._source_keys: dict[tuple[str, str], PostingKey | None] = {}
        self._source_keys_stored: set[tuple[str, str]] = set()
        self._dirty_source_keys: set[tuple[str, str]] = set()
        # pending
        self._anything_held = anything_held
        self._pending: dict[PostingKey, PendingPosting | None] = {}
        self._dirty_pending: set[PostingKey] = set()
        self._waits: dict[WaitFor, set[PostingKey]] = {}
        # exceptions, breaches, locks
        self._exceptions: dict[uuid.UUID, ExceptionRecord | None] = {}
        self._dirty_exceptions: set[uuid.UUID] = set()
        self._exceptions_in_db: int | None = None
        self._new_exceptions = 0
        self._office_credit: dict[int, uuid.UUID | None] = {}
        self._new_breaches: list[Breach] = []
        self._new_lock_changes: list[PeriodLockChanged] = []
        # facts
        self._bills: dict[int, BillFacts | None] = {}
        self._bills_stored: set[int] = set()
        self._dirty_bills: set[int] = set()
        self._allocations: dict[int, dict[PostingKey, Money]] = {}
        self._allocations_stored: set[tuple[int, PostingKey]] = set()
        self._dirty_allocations: set[tuple[int, PostingKey]] = set()
        self._invoices: dict[PostingKey, SupplierInvoiceFacts | None] = {}
        self._dirty_invoices: set[PostingKey] = set()
        self._invoice_payments: dict[PostingKey, dict[PostingKey, Money]] = {}
        self._dirty_invoice_payments: set[tuple[PostingKey, PostingKey]] = set()
        self._audit: list[tuple[str, str, str]] = []

    # === LedgerState: the chart and reference data ===============================================

    @property
    def chart(self) -> ChartOfAccounts:
        return self._chart

    def set_chart(self, chart: ChartOfAccounts) -> None:
        self._chart = chart

    def client(self, client_id: int) -> Client | None:
        if client_id not in self._clients:
            self.load_clients([client_id])
        return self._clients[client_id]

    def put_client(self, client: Client) -> None:
        self._clients[client.client_id] = client
        self._dirty_clients.add(client.client_id)

    def matter(self, matter_id: int) -> Matter | None:
        if matter_id not in self._matters:
            self.load_matters([matter_id])
        return self._matters[matter_id]

    def put_matter(self, matter: Matter) -> None:
        self._matters[matter.matter_id] = matter
        self._dirty_matters.add(matter.matter_id)

    def matters_of_client(self, client_id: int) -> Collection[int]:
        if client_id not in self._client_matters_loaded:
            self.load_matters_of_clients([client_id])
        return {
            m
            for m, matter in self._matters.items()
            if matter is not None and matter.client_id == client_id
        }

    def bank_account(self, bank_account_id: int) -> BankAccount | None:
        return self._banks.get(bank_account_id)

    def bank_accounts(self) -> list[BankAccount]:
        return list(self._banks.values())

    def put_bank_account(self, bank: BankAccount) -> None:
        self._banks[bank.bank_account_id] = bank
        self._dirty_banks.add(bank.bank_account_id)

    def default_office_account_id(self) -> int | None:
        return self.firm.default_office_account_id

    def set_default_office_account_id(self, bank_account_id: int) -> None:
        self.firm.default_office_account_id = bank_account_id
        self._firm_dirty = True

    def put_practice_area(self, practice_area_id: int, name: str) -> None:
        self._practice_areas[practice_area_id] = name

    # === journals and balances ===================================================================

    def record_journal(self, key: PostingKey, journal: Journal) -> None:
        version = journal.source.version or ""
        position = self._positions[(key, version)]
        self._positions[(key, version)] = position + 1
        self._new_journals.append((key, position, journal))
        on = journal.posted_on
        for line in journal.lines:
            signed = line.signed_minor
            for balance_key in keys_of(line):
                self._deltas[balance_key][on] += signed
                cached = self._series.get(balance_key)
                if cached is not None:
                    cached[0].add(on, signed)

    def series_from(self, key: BalanceKey, on: date) -> DatedSeries:
        cached = self._series.get(key)
        if cached is None or cached[1] > on:
            self.load_series({key: on})
            cached = self._series[key]
        return cached[0]

    def has_balance(self, key: BalanceKey) -> bool:
        if key in self._deltas:
            return True
        code, matter, side, bank = _balance_columns(key)
        return bool(
            self._db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM balances WHERE firm_id = $1 AND account_code = $2 "
                "AND matter_id = $3 AND ledger_side = $4 AND bank_account_id = $5)",
                self.firm_id,
                code,
                matter,
                side,
                bank,
            )
        )

    def codes_used(self) -> set[str]:
        rows = self._db.fetch(
            "SELECT DISTINCT account_code FROM balances WHERE firm_id = $1", self.firm_id
        )
        return {row["account_code"] for row in rows} | {key.account_code for key in self._deltas}

    # === posting keys ============================================================================

    def live(self, key: PostingKey) -> LivePosting | None:
        if key not in self._live:
            self.load_live([key])
        return self._live[key]

    def set_live(self, key: PostingKey, live: LivePosting | None) -> None:
        self._live[key] = live
        self._dirty_live.add(key)

    def seen(self, key: PostingKey, version: str) -> bool:
        if (key, version) not in self._seen:
            self.load_seen([(key, version)])
        return self._seen[(key, version)]

    def mark_seen(self, key: PostingKey, version: str) -> None:
        self._seen[(key, version)] = True
        self._new_seen.add((key, version))

    def key_of_source(self, object_type: str, object_id: str) -> PostingKey | None:
        if (object_type, object_id) not in self._source_keys:
            self.load_source_keys([(object_type, object_id)])
        return self._source_keys[(object_type, object_id)]

    def set_key_of_source(self, object_type: str, object_id: str, key: PostingKey) -> None:
        self._source_keys[(object_type, object_id)] = key
        self._dirty_source_keys.add((object_type, object_id))

    # === pending =================================================================================

    def pending(self, key: PostingKey) -> PendingPosting | None:
        if key not in self._pending:
            if not self._anything_held:
                return None
            self.load_pending([key])
        return self._pending[key]

    def add_pending(self, pending: PendingPosting) -> None:
        key = pending.submission.key
        self._pending[key] = pending
        self._dirty_pending.add(key)
        for wait in pending.waiting_for:
            if wait in self._waits:
                self._waits[wait].add(key)

    def remove_pending(self, key: PostingKey) -> PendingPosting:
        pending = self.pending(key)
        if pending is None:
            raise KeyError(f"{key} is not pending")
        self._pending[key] = None
        self._dirty_pending.add(key)
        for wait in pending.waiting_for:
            if wait in self._waits:
                self._waits[wait].discard(key)
        return pending

    def waiting_for(self, wait: WaitFor) -> list[PostingKey]:
        if wait not in self._waits:
            self.load_waits([wait])
        return sorted(self._waits[wait])

    # === exceptions and breaches =================================================================

    def exception(self, exception_id: uuid.UUID) -> ExceptionRecord | None:
        if exception_id not in self._exceptions:
            self.load_exceptions([exception_id])
        return self._exceptions[exception_id]

    def put_exception(self, record: ExceptionRecord) -> None:
        if self.exception(record.exception_id) is None:
            self._new_exceptions += 1
        self._exceptions[record.exception_id] = record
        self._dirty_exceptions.add(record.exception_id)

    def exception_count(self) -> int:
        if self._exceptions_in_db is None:
            self._exceptions_in_db = int(
                self._db.fetchval(
                    "SELECT count(*) FROM exceptions WHERE firm_id = $1", self.firm_id
                )
            )
        return self._exceptions_in_db + self._new_exceptions

    def office_credit(self, matter_id: int) -> uuid.UUID | None:
        if matter_id not in self._office_credit:
            self.load_office_credit([matter_id])
        return self._office_credit[matter_id]

    def set_office_credit(self, matter_id: int, exception_id: uuid.UUID | None) -> None:
        # The exceptions table is the record of it: an open office-credit exception of the matter.
        self._office_credit[matter_id] = exception_id

    def add_breach(self, breach: Breach) -> None:
        self._new_breaches.append(breach)

    # === locks ===================================================================================

    def lock_all(self) -> date | None:
        return self.firm.books_locked_through

    def lock_by_bank(self) -> Mapping[int, date]:
        return self._bank_locks

    def set_lock(self, bank_account_id: int | None, locked_through: date | None) -> None:
        if bank_account_id is None:
            self.firm.books_locked_through = locked_through
            self._firm_dirty = True
            return
        if locked_through is None:
            self._bank_locks.pop(bank_account_id, None)
        else:
            self._bank_locks[bank_account_id] = locked_through
        self._dirty_bank_locks.add(bank_account_id)

    def add_lock_change(self, change: PeriodLockChanged) -> None:
        self._new_lock_changes.append(change)

    # === facts ===================================================================================

    def bill(self, bill_id: int) -> BillFacts | None:
        if bill_id not in self._bills:
            self.load_bills([bill_id])
        return self._bills[bill_id]

    def set_bill(self, facts: BillFacts) -> None:
        self.bill(facts.bill_id)  # known, so that the flush knows insert from update
        self._bills[facts.bill_id] = facts
        self._dirty_bills.add(facts.bill_id)

    def drop_bill(self, bill_id: int) -> None:
        self.bill(bill_id)
        self._bills[bill_id] = None
        self._dirty_bills.add(bill_id)

    def allocations(self, bill_id: int) -> Mapping[PostingKey, Money]:
        if bill_id not in self._allocations:
            self.load_bills([bill_id])
        return self._allocations[bill_id]

    def set_allocation(self, bill_id: int, key: PostingKey, amount: Money) -> None:
        self.allocations(bill_id)
        self._allocations[bill_id][key] = amount
        self._dirty_allocations.add((bill_id, key))

    def drop_allocation(self, bill_id: int, key: PostingKey) -> None:
        self.allocations(bill_id)
        self._allocations[bill_id].pop(key, None)
        self._dirty_allocations.add((bill_id, key))

    def supplier_invoice(self, key: PostingKey) -> SupplierInvoiceFacts | None:
        if key not in self._invoices:
            self.load_invoices([key])
        return self._invoices[key]

    def set_supplier_invoice(self, key: PostingKey, facts: SupplierInvoiceFacts) -> None:
        self._invoices[key] = facts
        self._dirty_invoices.add(key)

    def drop_supplier_invoice(self, key: PostingKey) -> None:
        self._invoices[key] = None
        self._dirty_invoices.add(key)

    def invoice_payments(self, invoice: PostingKey) -> Mapping[PostingKey, Money]:
        if invoice not in self._invoice_payments:
            self.load_invoices([invoice])
        return self._invoice_payments[invoice]

    def set_invoice_payment(self, invoice: PostingKey, key: PostingKey, amount: Money) -> None:
        self.invoice_payments(invoice)
        self._invoice_payments[invoice][key] = amount
        self._dirty_invoice_payments.add((invoice, key))

    def drop_invoice_payment(self, invoice: PostingKey, key: PostingKey) -> None:
        self.invoice_payments(invoice)
        self._invoice_payments[invoice].pop(key, None)
        self._dirty_invoice_payments.add((invoice, key))

    # === history: written out first, then read back ==============================================

    def journals(self) -> Sequence[Journal]:
        self.flush()
        return self._journals_where("true")

    def journal(self, journal_id: uuid.UUID) -> Journal | None:
        self.flush()
        found = self._journals_where("j.journal_id = $2", journal_id)
        return found[0] if found else None

    def journals_for(self, key: PostingKey) -> Sequence[Journal]:
        self.flush()
        return self._journals_where("j.key_kind = $2 AND j.key_id = $3", key.kind, key.id)

    def balance_keys(self) -> list[BalanceKey]:
        self.flush()
        rows = self._db.fetch(
            "SELECT DISTINCT account_code, matter_id, ledger_side, bank_account_id FROM balances "
            "WHERE firm_id = $1",
            self.firm_id,
        )
        return sorted(
            _balance_key(r["account_code"], r["matter_id"], r["ledger_side"], r["bank_account_id"])
            for r in rows
        )

    def client_columns(self, bank_account_id: int) -> list[int]:
        self.flush()
        rows = self._db.fetch(
            "SELECT DISTINCT matter_id FROM balances WHERE firm_id = $1 AND ledger_side = 'client' "
            "AND bank_account_id = $2 AND matter_id <> 0 ORDER BY matter_id",
            self.firm_id,
            bank_account_id,
        )
        return [r["matter_id"] for r in rows]

    def all_pending(self) -> list[PendingPosting]:
        self.flush()
        rows = self._db.fetch(
            f"SELECT {codec.HELD_COLUMNS} FROM held_postings WHERE firm_id = $1 "
            "ORDER BY key_kind, key_id",
            self.firm_id,
        )
        return [codec.pending_of(row) for row in rows]

    def exceptions(self) -> list[ExceptionRecord]:
        self.flush()
        rows = self._db.fetch(
            f"SELECT {codec.EXCEPTION_COLUMNS} FROM exceptions WHERE firm_id = $1 ORDER BY seq",
            self.firm_id,
        )
        return [codec.exception_of(row) for row in rows]

    def breaches(self) -> Sequence[Breach]:
        self.flush()
        rows = self._db.fetch(
            "SELECT exception_id, kind, matter_id, amount_minor, currency, detail, recorded_by, "
            "reason, journal_ids FROM breaches WHERE firm_id = $1 ORDER BY seq",
            self.firm_id,
        )
        return [
            Breach(
                exception_id=codec.uid(r["exception_id"]),
                kind=ExceptionKind(r["kind"]),
                matter_id=r["matter_id"],
                amount=codec.maybe_money(r["amount_minor"], r["currency"]),
                detail=r["detail"],
                recorded_by=r["recorded_by"],
                reason=r["reason"],
                journal_ids=tuple(codec.uid(j) for j in r["journal_ids"]),
            )
            for r in rows
        ]

    def lock_history(self) -> Sequence[PeriodLockChanged]:
        self.flush()
        rows = self._db.fetch(
            "SELECT locked_through, bank_account_id, changed_by, reason, locked "
            "FROM period_lock_changes WHERE firm_id = $1 ORDER BY seq",
            self.firm_id,
        )
        return [
            PeriodLockChanged(
                r["locked_through"], r["bank_account_id"], r["changed_by"], r["reason"], r["locked"]
            )
            for r in rows
        ]

    def _journals_where(self, where: str, *args: Any) -> list[Journal]:
        rows = self._db.fetch(_LIVE_JOURNALS.format(where=where), self.firm_id, *args)
        if not rows:
            return []
        lines = self._db.fetch(_LINES_OF, self.firm_id, [r["journal_id"] for r in rows])
        return codec.journals_of(rows, lines)

    # === the service's own records ===============================================================

    def record_rejection(self, key: PostingKey, version: str, code: str, reason: str) -> None:
        """Remember why a version was rejected, to answer a replay of it the same way."""
        self._rejections[(key, version)] = (code, reason)
        self._dirty_rejections.add((key, version))

    def rejection(self, key: PostingKey, version: str) -> tuple[str, str] | None:
        if (key, version) not in self._seen:
            self.load_seen([(key, version)])
        return self._rejections.get((key, version))

    def audit(self, actor: str, action: str, detail: Mapping[Any, Any]) -> None:
        """An audit-log row, written with the changes it explains."""
        self._audit.append((actor, action, json.dumps(detail, default=str, sort_keys=True)))

    # === loading (each is one round trip for many things) ========================================

    def load_clients(self, client_ids: Iterable[int]) -> None:
        wanted = [c for c in set(client_ids) if c not in self._clients]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT client_id, name FROM clients WHERE firm_id = $1 AND client_id = ANY($2)",
            self.firm_id,
            wanted,
        )
        for row in rows:
            self._clients[row["client_id"]] = Client(row["client_id"], row["name"])
        for client_id in wanted:
            self._clients.setdefault(client_id, None)

    def load_matters(self, matter_ids: Iterable[int]) -> None:
        """Matters and their clients, in one query."""
        wanted = [m for m in set(matter_ids) if m not in self._matters]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT m.matter_id, m.client_id, m.reference, m.description, c.name AS client_name "
            "FROM matters m LEFT JOIN clients c ON c.firm_id = m.firm_id "
            "AND c.client_id = m.client_id WHERE m.firm_id = $1 AND m.matter_id = ANY($2)",
            self.firm_id,
            wanted,
        )
        self._take_matters(rows)
        for matter_id in wanted:
            self._matters.setdefault(matter_id, None)

    def load_matters_of_clients(self, client_ids: Iterable[int]) -> None:
        wanted = [c for c in set(client_ids) if c not in self._client_matters_loaded]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT m.matter_id, m.client_id, m.reference, m.description, c.name AS client_name "
            "FROM matters m LEFT JOIN clients c ON c.firm_id = m.firm_id "
            "AND c.client_id = m.client_id WHERE m.firm_id = $1 AND m.client_id = ANY($2)",
            self.firm_id,
            wanted,
        )
        self._take_matters(rows)
        self._client_matters_loaded.update(wanted)

    def _take_matters(self, rows: Sequence[Mapping[Any, Any]]) -> None:
        for row in rows:
            if row["matter_id"] not in self._matters:
                self._matters[row["matter_id"]] = Matter(
                    row["matter_id"], row["client_id"], row["reference"], row["description"]
                )
            client_id = row["client_id"]
            if client_id not in self._clients:
                name = row["client_name"]
                self._clients[client_id] = Client(client_id, name) if name is not None else None

    def load_series(self, wanted: Mapping[BalanceKey, date]) -> None:
        """Each key's series from its date on (with the point before it, for "as of")."""
        keys = [k for k in wanted if k not in self._series or self._series[k][1] > wanted[k]]
        if not keys:
            return
        columns = [_balance_columns(k) for k in keys]
        rows = self._db.fetch(
            _SERIES,
            self.firm_id,
            [c[0] for c in columns],
            [c[1] for c in columns],
            [c[2] for c in columns],
            [c[3] for c in columns],
            [wanted[k] for k in keys],
        )
        points: dict[int, list[tuple[date, int]]] = defaultdict(list)
        for row in rows:
            points[row["i"]].append((row["balance_date"], row["cumulative"]))
        for i, key in enumerate(keys, start=1):
            series = DatedSeries.of(points.get(i, []))
            for on, delta in self._deltas.get(key, {}).items():
                series.add(on, delta)
            self._series[key] = (series, wanted[key])

    def load_live(self, keys: Iterable[PostingKey]) -> None:
        wanted = [k for k in set(keys) if k not in self._live]
        if not wanted:
            return
        kinds, ids = _pairs(wanted)
        rows = self._db.fetch(
            "SELECT l.key_kind, l.key_id, l.version, l.journal_ids, l.facts "
            "FROM unnest($2::text[], $3::text[]) AS w(kind, id), LATERAL (SELECT * FROM "
            "live_postings l WHERE l.firm_id = $1 AND l.key_kind = w.kind AND l.key_id = w.id OFFSET 0) l",
            self.firm_id,
            kinds,
            ids,
        )
        journal_ids = [j for row in rows for j in row["journal_ids"]]
        journals: dict[uuid.UUID, Journal] = {}
        if journal_ids:
            found = self._journals_where("j.journal_id = ANY($2::uuid[])", journal_ids)
            journals = {j.journal_id: j for j in found}
        for row in rows:
            key = codec.key(row["key_kind"], row["key_id"])
            self._live_stored.add(key)
            self._live[key] = LivePosting(
                row["version"],
                tuple(journals[codec.uid(j)] for j in row["journal_ids"]),
                codec.facts_of(codec.loads(row["facts"])),
            )
        for key in wanted:
            self._live.setdefault(key, None)

    def load_seen(self, pairs: Iterable[tuple[PostingKey, str]]) -> None:
        wanted = [p for p in set(pairs) if p not in self._seen]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT s.key_kind, s.key_id, s.version, s.rejected_reason_code, s.rejected_reason "
            "FROM unnest($2::text[], $3::text[], $4::text[]) AS w(kind, id, version), LATERAL "
            "(SELECT * FROM seen_versions s WHERE s.firm_id = $1 AND s.key_kind = w.kind "
            "AND s.key_id = w.id AND s.version = w.version OFFSET 0) s",
            self.firm_id,
            [k.kind for k, _ in wanted],
            [k.id for k, _ in wanted],
            [v for _, v in wanted],
        )
        for row in rows:
            pair = (codec.key(row["key_kind"], row["key_id"]), row["version"])
            self._seen[pair] = True
            if row["rejected_reason_code"] is not None:
                self._rejections.setdefault(
                    pair, (row["rejected_reason_code"], row["rejected_reason"] or "")
                )
        for pair in wanted:
            self._seen.setdefault(pair, False)

    def load_source_keys(self, sources: Iterable[tuple[str, str]]) -> None:
        wanted = [s for s in set(sources) if s not in self._source_keys]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT s.object_type, s.object_id, s.key_kind, s.key_id "
            "FROM unnest($2::text[], $3::text[]) AS w(object_type, object_id), LATERAL "
            "(SELECT * FROM source_keys s WHERE s.firm_id = $1 AND s.object_type = w.object_type "
            "AND s.object_id = w.object_id OFFSET 0) s",
            self.firm_id,
            [t for t, _ in wanted],
            [i for _, i in wanted],
        )
        for row in rows:
            source = (row["object_type"], row["object_id"])
            self._source_keys_stored.add(source)
            self._source_keys[source] = codec.key(row["key_kind"], row["key_id"])
        for source in wanted:
            self._source_keys.setdefault(source, None)

    def load_pending(self, keys: Iterable[PostingKey], waits: Iterable[WaitFor] = ()) -> None:
        """The held postings of ``keys``, and every one that waits for one of ``waits`` (whose
        lists of waiting keys are then known)."""
        wanted_keys = [k for k in set(keys) if k not in self._pending]
        wanted_waits = [w for w in set(waits) if w not in self._waits]
        if (wanted_keys or wanted_waits) and self._anything_held:
            kinds, ids = _pairs(wanted_keys)
            rows = self._db.fetch(
                f"SELECT h.* FROM unnest($2::text[], $3::text[]) AS w(kind, id), LATERAL "
                f"(SELECT {codec.HELD_COLUMNS} FROM held_postings WHERE firm_id = $1 AND "
                "key_kind = w.kind AND key_id = w.id OFFSET 0) h "
                f"UNION ALL SELECT {codec.HELD_COLUMNS} FROM held_postings WHERE firm_id = $1 "
                "AND waiting_for && $4::text[]",
                self.firm_id,
                kinds,
                ids,
                [codec.wait_text(w) for w in wanted_waits],
            )
            for row in rows:
                key = codec.key(row["key_kind"], row["key_id"])
                if key not in self._pending:
                    self._pending[key] = codec.pending_of(row)
        for key in wanted_keys:
            self._pending.setdefault(key, None)
        if wanted_waits:
            index: dict[WaitFor, set[PostingKey]] = {w: set() for w in wanted_waits}
            for key, pending in self._pending.items():
                if pending is not None:
                    for wait in pending.waiting_for:
                        if wait in index:
                            index[wait].add(key)
            self._waits.update(index)

    def load_waits(self, waits: Iterable[WaitFor]) -> None:
        self.load_pending((), waits)

    def load_exceptions(self, exception_ids: Iterable[uuid.UUID]) -> None:
        wanted = [e for e in set(exception_ids) if e not in self._exceptions]
        if not wanted:
            return
        rows = self._db.fetch(
            f"SELECT {codec.EXCEPTION_COLUMNS} FROM exceptions WHERE firm_id = $1 "
            "AND exception_id = ANY($2::uuid[])",
            self.firm_id,
            wanted,
        )
        for row in rows:
            record = codec.exception_of(row)
            self._exceptions[record.exception_id] = record
        for exception_id in wanted:
            self._exceptions.setdefault(exception_id, None)

    def load_office_credit(self, matter_ids: Iterable[int]) -> None:
        wanted = [m for m in set(matter_ids) if m not in self._office_credit]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT matter_id, exception_id FROM exceptions WHERE firm_id = $1 "
            "AND matter_id = ANY($2) AND kind = $3 AND resolution IS NULL",
            self.firm_id,
            wanted,
            ExceptionKind.OFFICE_CREDIT_BALANCE.value,
        )
        for row in rows:
            self._office_credit[row["matter_id"]] = codec.uid(row["exception_id"])
        for matter_id in wanted:
            self._office_credit.setdefault(matter_id, None)

    def load_bills(self, bill_ids: Iterable[int]) -> None:
        """Bills and what has been allocated to them (two queries)."""
        wanted = [b for b in set(bill_ids) if b not in self._bills or b not in self._allocations]
        if not wanted:
            return
        rows = self._db.fetch(
            "SELECT bill_id, bill_number, matter_id, issued_on, total_minor, currency FROM bills "
            "WHERE firm_id = $1 AND bill_id = ANY($2)",
            self.firm_id,
            wanted,
        )
        for row in rows:
            self._bills_stored.add(row["bill_id"])
            if row["bill_id"] not in self._bills:
                self._bills[row["bill_id"]] = BillFacts(
                    row["bill_id"],
                    row["bill_number"],
                    row["matter_id"],
                    row["issued_on"],
                    codec.money(row["total_minor"], row["currency"]),
                )
        allocations = self._db.fetch(
            "SELECT bill_id, key_kind, key_id, amount_minor, currency FROM bill_allocations "
            "WHERE firm_id = $1 AND bill_id = ANY($2)",
            self.firm_id,
            wanted,
        )
        fresh = [b for b in wanted if b not in self._allocations]
        for bill_id in fresh:
            self._allocations[bill_id] = {}
        for row in allocations:
            if row["bill_id"] in fresh:
                key = codec.key(row["key_kind"], row["key_id"])
                amount = codec.money(row["amount_minor"], row["currency"])
                self._allocations[row["bill_id"]][key] = amount
                self._allocations_stored.add((row["bill_id"], key))
        for bill_id in wanted:
            self._bills.setdefault(bill_id, None)

    def load_invoices(self, invoices: Iterable[PostingKey]) -> None:
        """Supplier invoices and their payments (two queries)."""
        wanted = [
            k for k in set(invoices) if k not in self._invoices or k not in self._invoice_payments
        ]
        if not wanted:
            return
        kinds, ids = _pairs(wanted)
        rows = self._db.fetch(
            "SELECT i.key_kind, i.key_id, i.supplier, i.matter_id, i.gross_minor, i.currency "
            "FROM unnest($2::text[], $3::text[]) AS w(kind, id), LATERAL (SELECT * FROM "
            "supplier_invoices i WHERE i.firm_id = $1 AND i.key_kind = w.kind "
            "AND i.key_id = w.id OFFSET 0) i",
            self.firm_id,
            kinds,
            ids,
        )
        for row in rows:
            key = codec.key(row["key_kind"], row["key_id"])
            if key not in self._invoices:
                self._invoices[key] = SupplierInvoiceFacts(
                    row["supplier"],
                    row["matter_id"],
                    codec.money(row["gross_minor"], row["currency"]),
                )
        payments = self._db.fetch(
            "SELECT p.invoice_key_kind, p.invoice_key_id, p.key_kind, p.key_id, p.amount_minor, "
            "p.currency FROM unnest($2::text[], $3::text[]) AS w(kind, id), LATERAL (SELECT * "
            "FROM supplier_invoice_payments p WHERE p.firm_id = $1 AND p.invoice_key_kind = w.kind "
            "AND p.invoice_key_id = w.id OFFSET 0) p",
            self.firm_id,
            kinds,
            ids,
        )
        fresh = [k for k in wanted if k not in self._invoice_payments]
        for key in fresh:
            self._invoice_payments[key] = {}
        for row in payments:
            invoice = codec.key(row["invoice_key_kind"], row["invoice_key_id"])
            if invoice in fresh:
                self._invoice_payments[invoice][codec.key(row["key_kind"], row["key_id"])] = (
                    codec.money(row["amount_minor"], row["currency"])
                )
        for key in wanted:
            self._invoices.setdefault(key, None)

    # === writing it all out ======================================================================

    def flush(self) -> None:
        """Write every change since the last flush, in bulk, in the open transaction."""
        db, firm = self._db, self.firm_id
        if self._firm_dirty:
            db.execute(
                "UPDATE firms SET default_office_account_id = $2, books_locked_through = $3 "
                "WHERE firm_id = $1",
                firm,
                self.firm.default_office_account_id,
                self.firm.books_locked_through,
            )
            self._firm_dirty = False
        self._flush_chart()
        self._flush_reference()
        self._flush_journals()
        self._flush_balances()
        self._flush_postings()
        self._flush_pending()
        self._flush_exceptions()
        self._flush_facts()
        if self._audit:
            db.executemany(
                "INSERT INTO audit_log (firm_id, actor, action, detail) "
                "VALUES ($1, $2, $3, $4::jsonb)",
                [(firm, *entry) for entry in self._audit],
            )
            self._audit.clear()

    def _flush_chart(self) -> None:
        if self._chart is self._stored_chart:
            return
        before = {a.code: (n, a) for n, a in enumerate(self._stored_chart.accounts)}
        after = {a.code: (n, a) for n, a in enumerate(self._chart.accounts)}
        changed = [
            (self.firm_id, code, n, a.name, a.type.value, a.role.value if a.role else None)
            for code, (n, a) in after.items()
            if before.get(code) != (n, a)
        ]
        self._db.executemany(
            "INSERT INTO accounts (firm_id, code, position, name, type, role) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (firm_id, code) DO UPDATE SET "
            "position = EXCLUDED.position, name = EXCLUDED.name, type = EXCLUDED.type, "
            "role = EXCLUDED.role",
            changed,
        )
        removed = [code for code in before if code not in after]
        if removed:
            self._db.execute(
                "DELETE FROM accounts WHERE firm_id = $1 AND code = ANY($2)", self.firm_id, removed
            )
        self._stored_chart = self._chart

    def _flush_reference(self) -> None:
        db, firm = self._db, self.firm_id
        clients = [self._clients[c] for c in sorted(self._dirty_clients)]
        db.executemany(
            "INSERT INTO clients (firm_id, client_id, name) VALUES ($1, $2, $3) "
            "ON CONFLICT (firm_id, client_id) DO UPDATE SET name = EXCLUDED.name",
            [(firm, c.client_id, c.name) for c in clients if c is not None],
        )
        matters = [self._matters[m] for m in sorted(self._dirty_matters)]
        db.executemany(
            "INSERT INTO matters (firm_id, matter_id, client_id, reference, description) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (firm_id, matter_id) DO UPDATE SET "
            "client_id = EXCLUDED.client_id, reference = EXCLUDED.reference, "
            "description = EXCLUDED.description",
            [
                (firm, m.matter_id, m.client_id, m.reference, m.description)
                for m in matters
                if m is not None
            ],
        )
        db.executemany(
            "INSERT INTO practice_areas (firm_id, practice_area_id, name) VALUES ($1, $2, $3) "
            "ON CONFLICT (firm_id, practice_area_id) DO UPDATE SET name = EXCLUDED.name",
            [(firm, pid, name) for pid, name in sorted(self._practice_areas.items())],
        )
        db.executemany(
            "INSERT INTO bank_accounts (firm_id, bank_account_id, name, kind, currency, "
            "nominal_code, locked_through) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (firm_id, bank_account_id) DO UPDATE SET name = EXCLUDED.name, "
            "currency = EXCLUDED.currency",
            [
                (
                    firm,
                    b.bank_account_id,
                    b.name,
                    b.kind.value,
                    b.currency,
                    b.nominal_code,
                    self._bank_locks.get(b.bank_account_id),
                )
                for b in (self._banks[i] for i in sorted(self._dirty_banks))
            ],
        )
        db.executemany(
            "UPDATE bank_accounts SET locked_through = $3 WHERE firm_id = $1 "
            "AND bank_account_id = $2",
            [(firm, b, self._bank_locks.get(b)) for b in sorted(self._dirty_bank_locks)],
        )
        self._dirty_clients.clear()
        self._dirty_matters.clear()
        self._practice_areas.clear()
        self._dirty_banks.clear()
        self._dirty_bank_locks.clear()

    def _flush_journals(self) -> None:
        if not self._new_journals:
            return
        firm = self.firm_id
        journal_rows = []
        line_rows: list[tuple[Any, ...]] = []
        for key, position, journal in self._new_journals:
            version = journal.source.version or ""
            journal_rows.append(codec.journal_row(firm, key, version, position, journal))
            line_rows += codec.line_rows(firm, journal)
        self._db.copy("journals", codec.JOURNAL_COLUMNS, journal_rows)
        self._db.copy("journal_lines", JOURNAL_LINE_COLUMNS, line_rows)
        self._new_journals.clear()

    def _flush_balances(self) -> None:
        """Each key's changes become ranges: from a changed date up to the next one, every row
        moves by the sum of the changes so far (so each row is updated once, whatever the
        number of back-dated changes before it); a new date's row is inserted with its final
        figures (see ``_WRITE_BALANCES``)."""
        ranges: list[tuple[str, int, str, int, date, date, int, int]] = []
        for key, by_date in self._deltas.items():
            columns = _balance_columns(key)
            days = sorted(by_date)  # a date whose changes cancel out still has its row
            shift = 0
            for n, on in enumerate(days):
                shift += by_date[on]
                until = days[n + 1] if n + 1 < len(days) else date.max
                ranges.append((*columns, on, until, shift, by_date[on]))
        self._deltas.clear()
        if not ranges:
            return
        columns_of = list(zip(*ranges, strict=True))
        keep_statistics_current(self._db, "balances")
        self._db.execute(_WRITE_BALANCES, self.firm_id, *(list(c) for c in columns_of))

    def _flush_postings(self) -> None:
        """New rows by ``COPY`` (most of a sync: a new key, a new version, a new source);
        changed and removed ones one by one."""
        db, firm = self._db, self.firm_id
        new_live: list[tuple[Any, ...]] = []
        changed_live: list[tuple[Any, ...]] = []
        gone_live: list[tuple[Any, ...]] = []
        for key in self._dirty_live:
            live = self._live[key]
            if live is None:
                if key in self._live_stored:
                    gone_live.append((firm, key.kind, key.id))
                continue
            row = (
                firm,
                key.kind,
                key.id,
                live.version,
                [j.journal_id for j in live.journals],
                codec.facts_json(live.facts),
            )
            (changed_live if key in self._live_stored else new_live).append(row)
        db.copy("live_postings", LIVE_COLUMNS, new_live)
        db.executemany(
            "UPDATE live_postings SET version = $4, journal_ids = $5, facts = $6::jsonb "
            "WHERE firm_id = $1 AND key_kind = $2 AND key_id = $3",
            changed_live,
        )
        db.executemany(
            "DELETE FROM live_postings WHERE firm_id = $1 AND key_kind = $2 AND key_id = $3",
            gone_live,
        )
        for key in self._dirty_live:
            if self._live[key] is None:
                self._live_stored.discard(key)
            else:
                self._live_stored.add(key)
        db.copy(
            "seen_versions",
            SEEN_COLUMNS,
            [
                (
                    firm,
                    key.kind,
                    key.id,
                    version,
                    *self._rejections.get((key, version), (None, None)),
                )
                for key, version in self._new_seen
            ],
        )
        db.executemany(
            "UPDATE seen_versions SET rejected_reason_code = $5, rejected_reason = $6 "
            "WHERE firm_id = $1 AND key_kind = $2 AND key_id = $3 AND version = $4",
            [
                (firm, key.kind, key.id, version, *self._rejections[(key, version)])
                for key, version in self._dirty_rejections - self._new_seen
            ],
        )
        new_sources: list[tuple[Any, ...]] = []
        changed_sources: list[tuple[Any, ...]] = []
        for source in self._dirty_source_keys:
            mapped = self._source_keys[source]
            if mapped is None:
                continue
            mapping = (firm, *source, mapped.kind, mapped.id)
            stored = source in self._source_keys_stored
            (changed_sources if stored else new_sources).append(mapping)
        db.copy("source_keys", SOURCE_KEY_COLUMNS, new_sources)
        db.executemany(
            "UPDATE source_keys SET key_kind = $4, key_id = $5 "
            "WHERE firm_id = $1 AND object_type = $2 AND object_id = $3",
            changed_sources,
        )
        self._source_keys_stored |= {s for s in self._dirty_source_keys if self._source_keys[s]}
        self._dirty_live.clear()
        self._new_seen.clear()
        self._dirty_rejections.clear()
        self._dirty_source_keys.clear()

    def _flush_pending(self) -> None:
        db, firm = self._db, self.firm_id
        upserts, deletes = [], []
        for key in self._dirty_pending:
            pending = self._pending[key]
            if pending is None:
                deletes.append((firm, key.kind, key.id))
            else:
                upserts.append(codec.pending_row(firm, pending))
        db.executemany(
            "DELETE FROM held_postings WHERE firm_id = $1 AND key_kind = $2 AND key_id = $3",
            deletes,
        )
        db.executemany(
            f"INSERT INTO held_postings (firm_id, {codec.HELD_COLUMNS}) VALUES ($1, $2, $3, $4, "
            "$5::jsonb, $6, $7::jsonb, $8, $9, $10, $11, $12, $13) "
            "ON CONFLICT (firm_id, key_kind, key_id) DO UPDATE SET version = EXCLUDED.version, "
            "source = EXCLUDED.source, subject_type = EXCLUDED.subject_type, "
            "subject = EXCLUDED.subject, entered_by = EXCLUDED.entered_by, "
            "reason_code = EXCLUDED.reason_code, reason = EXCLUDED.reason, "
            "waiting_for = EXCLUDED.waiting_for, allow = EXCLUDED.allow, "
            "exception_id = EXCLUDED.exception_id",
            upserts,
        )
        self._dirty_pending.clear()

    def _flush_exceptions(self) -> None:
        db, firm = self._db, self.firm_id
        records = [self._exceptions[e] for e in self._dirty_exceptions]
        db.executemany(
            f"INSERT INTO exceptions (firm_id, {codec.EXCEPTION_COLUMNS}) VALUES ($1, $2, $3, $4, "
            "$5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, $15) "
            "ON CONFLICT (firm_id, exception_id) DO UPDATE SET resolution = EXCLUDED.resolution, "
            "resolved_by = EXCLUDED.resolved_by, resolution_reason = EXCLUDED.resolution_reason, "
            "resolved_at = CASE WHEN EXCLUDED.resolution IS NULL THEN NULL ELSE now() END",
            [codec.exception_row(firm, r) for r in records if r is not None],
        )
        db.executemany(
            "INSERT INTO breaches (firm_id, exception_id, kind, matter_id, amount_minor, currency, "
            "detail, recorded_by, reason, journal_ids) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [
                (
                    firm,
                    b.exception_id,
                    b.kind.value,
                    b.matter_id,
                    b.amount.amount_minor if b.amount is not None else None,
                    b.amount.currency if b.amount is not None else None,
                    b.detail,
                    b.recorded_by,
                    b.reason,
                    list(b.journal_ids),
                )
                for b in self._new_breaches
            ],
        )
        db.executemany(
            "INSERT INTO period_lock_changes (firm_id, bank_account_id, locked_through, locked, "
            "changed_by, reason) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (firm, c.bank_account_id, c.locked_through, c.locked, c.by, c.reason)
                for c in self._new_lock_changes
            ],
        )
        if self._new_exceptions and self._exceptions_in_db is not None:
            self._exceptions_in_db += self._new_exceptions
        self._new_exceptions = 0
        self._dirty_exceptions.clear()
        self._new_breaches.clear()
        self._new_lock_changes.clear()

    def _flush_facts(self) -> None:
        db, firm = self._db, self.firm_id
        new_bills: list[tuple[Any, ...]] = []
        changed_bills: list[tuple[Any, ...]] = []
        gone_bills: list[tuple[Any, ...]] = []
        for bill_id in self._dirty_bills:
            facts = self._bills[bill_id]
            if facts is None:
                if bill_id in self._bills_stored:
                    gone_bills.append((firm, bill_id))
                continue
            row = (
                firm,
                facts.bill_id,
                facts.bill_number,
                facts.matter_id,
                facts.issued_on,
                facts.total.amount_minor,
                facts.total.currency,
            )
            (changed_bills if bill_id in self._bills_stored else new_bills).append(row)
        db.executemany("DELETE FROM bills WHERE firm_id = $1 AND bill_id = $2", gone_bills)
        db.copy("bills", BILL_COLUMNS, new_bills)
        db.executemany(
            "UPDATE bills SET bill_number = $3, matter_id = $4, issued_on = $5, "
            "total_minor = $6, currency = $7 WHERE firm_id = $1 AND bill_id = $2",
            changed_bills,
        )
        for bill_id in self._dirty_bills:
            if self._bills[bill_id] is None:
                self._bills_stored.discard(bill_id)
            else:
                self._bills_stored.add(bill_id)
        new_allocations: list[tuple[Any, ...]] = []
        changed_allocations: list[tuple[Any, ...]] = []
        gone_allocations: list[tuple[Any, ...]] = []
        for bill_id, key in self._dirty_allocations:
            amount = self._allocations[bill_id].get(key)
            stored = (bill_id, key) in self._allocations_stored
            if amount is None:
                if stored:
                    gone_allocations.append((firm, bill_id, key.kind, key.id))
                continue
            allocation = (firm, bill_id, key.kind, key.id, amount.amount_minor, amount.currency)
            (changed_allocations if stored else new_allocations).append(allocation)
        db.executemany(
            "DELETE FROM bill_allocations WHERE firm_id = $1 AND bill_id = $2 AND key_kind = $3 "
            "AND key_id = $4",
            gone_allocations,
        )
        db.copy("bill_allocations", ALLOCATION_COLUMNS, new_allocations)
        db.executemany(
            "UPDATE bill_allocations SET amount_minor = $5, currency = $6 WHERE firm_id = $1 "
            "AND bill_id = $2 AND key_kind = $3 AND key_id = $4",
            changed_allocations,
        )
        for bill_id, key in self._dirty_allocations:
            if key in self._allocations[bill_id]:
                self._allocations_stored.add((bill_id, key))
            else:
                self._allocations_stored.discard((bill_id, key))
        invoices = [(k, self._invoices[k]) for k in self._dirty_invoices]
        db.executemany(
            "DELETE FROM supplier_invoices WHERE firm_id = $1 AND key_kind = $2 AND key_id = $3",
            [(firm, k.kind, k.id) for k, facts in invoices if facts is None],
        )
        db.executemany(
            "INSERT INTO supplier_invoices (firm_id, key_kind, key_id, supplier, matter_id, "
            "gross_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (firm_id, "
            "key_kind, key_id) DO UPDATE SET supplier = EXCLUDED.supplier, "
            "matter_id = EXCLUDED.matter_id, gross_minor = EXCLUDED.gross_minor, "
            "currency = EXCLUDED.currency",
            [
                (
                    firm,
                    k.kind,
                    k.id,
                    f.supplier,
                    f.matter_id,
                    f.gross.amount_minor,
                    f.gross.currency,
                )
                for k, f in invoices
                if f is not None
            ],
        )
        paid, unpaid = [], []
        for invoice, key in self._dirty_invoice_payments:
            amount = self._invoice_payments[invoice].get(key)
            if amount is None:
                unpaid.append((firm, invoice.kind, invoice.id, key.kind, key.id))
            else:
                paid.append(
                    (
                        firm,
                        invoice.kind,
                        invoice.id,
                        key.kind,
                        key.id,
                        amount.amount_minor,
                        amount.currency,
                    )
                )
        db.executemany(
            "DELETE FROM supplier_invoice_payments WHERE firm_id = $1 AND invoice_key_kind = $2 "
            "AND invoice_key_id = $3 AND key_kind = $4 AND key_id = $5",
            unpaid,
        )
        db.executemany(
            "INSERT INTO supplier_invoice_payments (firm_id, invoice_key_kind, invoice_key_id, "
            "key_kind, key_id, amount_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (firm_id, invoice_key_kind, invoice_key_id, key_kind, key_id) DO UPDATE "
            "SET amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency",
            paid,
        )
        self._dirty_bills.clear()
        self._dirty_allocations.clear()
        self._dirty_invoices.clear()
        self._dirty_invoice_payments.clear()
