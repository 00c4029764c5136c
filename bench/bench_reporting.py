"""Benchmark of the reporting service's read models.

    .venv/bin/python bench/bench_reporting.py --lines 1000000

1. Generates a synthetic law firm's journal (client receipts and payments, disbursements, bills
   with VAT, client-to-office transfers, office receipts, linked outlays, supplier payments,
   overheads) of about ``lines`` journal lines over three years, with matters, clients, bills,
   supplier invoices and unbilled work.
2. Loads the facts with COPY and times the **full recomputation** of every aggregate from the
   journal-lines table (``db/recompute.py``: what a rebuild does after replaying the events).
3. Times the **incremental path** the live consumer takes: journals applied one by one through
   the real handler.
4. Times every report **over the HTTP API** (in process, rendered), several as-of dates each,
   and reports p50/p95: JSON as a frontend asks for it (a page of 500 rows per listing, totals
   over every row), and CSV with every row for the two longest listings; and, for comparison,
   the trial balance and the client ledger listing computed by scanning the journal lines
   instead of reading the aggregates.

Prints one JSON document. ``DATABASE_URL`` is used if set, else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from cashroom_chassis.auth import Role, issue_token
from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.runtime import freeze_what_starting_made
from cashroom_contracts.envelope import Envelope, EventPayload, new_event
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import JournalLine, JournalPosted, PostingSource
from cashroom_contracts.money import Money
from cashroom_reporting import api, chart_of_accounts
from cashroom_reporting.app import MIGRATIONS
from cashroom_reporting.db import recompute
from cashroom_reporting.handlers import handle
from cashroom_reporting.rebuild import RebuildResult
from cashroom_reporting.settings import Settings

FIRM = "bench-firm"
KEY = "bench-key"
START = date(2022, 1, 1)
DAYS = 3 * 365
CLIENT_BANK, OFFICE_BANK = 11, 10


class Firm:
    """A deterministic synthetic journal, written as rows for COPY."""

    def __init__(self, lines: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.target = lines
        self.matters = max(lines // 50, 10)
        self.journals: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.links: list[tuple[Any, ...]] = []
        self.bills: list[tuple[Any, ...]] = []
        self.invoices: list[tuple[Any, ...]] = []
        self.audit: list[tuple[Any, ...]] = []
        self.active = [False] * (self.matters + 1)
        self.open_at_end: list[int] = []
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _journal(
        self, day: date, kind: str, source: tuple[str, str], rows: list[tuple[Any, ...]]
    ) -> None:
        journal_id = uuid.UUID(int=self._id())
        when = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        self.journals.append(
            (
                FIRM,
                journal_id,
                day,
                kind,
                kind,
                "clio",
                source[0],
                source[1],
                "v1",
                uuid.uuid4(),
                when,
            )
        )
        for n, (code, debit, credit, matter, side, bank, vat) in enumerate(rows, start=1):
            self.lines.append(
                (FIRM, journal_id, n, day, code, "GBP", debit, credit, matter, side, bank, vat)
            )
        self.audit.append(
            (
                FIRM,
                when,
                uuid.uuid4(),
                "ledger.journal.posted",
                "Clio sync",
                "post",
                "journal",
                str(journal_id),
                kind,
            )
        )

    def generate(self) -> None:
        """Matters open at random through the three years and run for one to ten months; while
        open they take receipts, payments, disbursements, bills (which recover the unbilled
        disbursements), transfers and office receipts against named bills, linked outlays and
        supplier payments; when they close, every bill is paid, client money is returned and
        the last disbursements are billed, as a real matter ends. Matters still open at the end
        keep their balances, and firm overheads run throughout."""
        rng = self.rng
        per_matter = max(self.target // self.matters, 8)
        for m in range(1, self.matters + 1):
            if len(self.lines) >= self.target:
                self.matters = m - 1
                break
            opened = rng.randrange(DAYS - 20)
            length = rng.randrange(30, 300)
            closes = opened + length
            self._matter(m, opened, min(closes, DAYS - 1), per_matter, closed=closes < DAYS)
            if rng.random() < 0.1:  # the firm's own overheads
                cost = rng.randrange(5_000, 500_000)
                nominal = rng.choice(["6000", "6100", "6200", "6400", "6500"])
                self._journal(
                    START + timedelta(days=rng.randrange(DAYS)),
                    "office_payment",
                    ("Manual", str(self._id())),
                    [
                        (nominal, cost, 0, None, None, None, "purchases_exempt"),
                        ("1000", 0, cost, None, None, OFFICE_BANK, None),
                    ],
                )
        self.open_at_end = [m for m in range(1, self.matters + 1) if self.active[m]]

    def _matter(self, m: int, opened: int, closes: int, lines: int, *, closed: bool) -> None:
        rng = self.rng
        held = 0
        unbilled = 0
        open_bills: dict[int, int] = {}
        budget = len(self.lines) + lines

        def day() -> date:
            return START + timedelta(days=rng.randrange(opened, closes + 1))

        def pay_bill(bill_id: int, amount: int, when: date, from_client: bool) -> None:
            allocation = self._id()
            self.links.append((FIRM, "Allocation", str(allocation), f"bill:{bill_id}"))
            open_bills[bill_id] -= amount
            if from_client:
                self._journal(
                    when,
                    "client_to_office_client_half",
                    ("Allocation", str(allocation)),
                    [
                        ("2100", amount, 0, m, "client", None, None),
                        ("1100", 0, amount, None, None, CLIENT_BANK, None),
                    ],
                )
                self._journal(
                    when,
                    "client_to_office_office_half",
                    ("Allocation", str(allocation)),
                    [
                        ("1000", amount, 0, None, None, OFFICE_BANK, None),
                        ("1200", 0, amount, m, "office", None, None),
                    ],
                )
            else:
                self._journal(
                    when,
                    "bill_payment_into_office",
                    ("Allocation", str(allocation)),
                    [
                        ("1000", amount, 0, None, None, OFFICE_BANK, None),
                        ("1200", 0, amount, m, "office", None, None),
                    ],
                )

        def bill(when: date, fees: int) -> None:
            nonlocal unbilled
            bill_id = self._id()
            vat = fees // 5
            total = fees + vat + unbilled
            rows = [
                ("1200", total, 0, m, "office", None, None),
                ("4000", 0, fees, None, None, None, "sales_standard"),
                ("2200", 0, vat, None, None, None, "output_vat"),
            ]
            if unbilled:
                rows.append(("1210", 0, unbilled, m, "office", None, "outside_scope"))
            self.bills.append(
                (
                    FIRM,
                    bill_id,
                    f"INV-{bill_id}",
                    m,
                    m // 2 + 1,
                    when,
                    None,
                    "GBP",
                    fees,
                    vat,
                    unbilled,
                    total,
                    None,
                )
            )
            self.links.append((FIRM, "Bill", str(bill_id), f"bill:{bill_id}"))
            self._journal(when, "bill", ("Bill", str(bill_id)), rows)
            unbilled = 0
            open_bills[bill_id] = total

        while len(self.lines) < budget:
            pick = rng.random()
            amount = rng.randrange(5_000, 300_000)
            when = day()
            if pick < 0.3 or held == 0:
                held += amount
                self._journal(
                    when,
                    "client_receipt",
                    ("BankTransaction", str(self._id())),
                    [
                        ("1100", amount, 0, None, None, CLIENT_BANK, None),
                        ("2100", 0, amount, m, "client", None, None),
                    ],
                )
            elif pick < 0.42:
                pay = rng.randrange(1, held + 1)
                held -= pay
                self._journal(
                    when,
                    "client_payment",
                    ("BankTransaction", str(self._id())),
                    [
                        ("2100", pay, 0, m, "client", None, None),
                        ("1100", 0, pay, None, None, CLIENT_BANK, None),
                    ],
                )
            elif pick < 0.55:
                unbilled += amount
                self._journal(
                    when,
                    "disbursement_paid",
                    ("Activity", str(self._id())),
                    [
                        ("1210", amount, 0, m, "office", None, "outside_scope"),
                        ("1000", 0, amount, None, None, OFFICE_BANK, None),
                    ],
                )
            elif pick < 0.72:
                bill(when, amount)
            elif pick < 0.85 and open_bills:
                bill_id = rng.choice(sorted(open_bills))
                due = open_bills[bill_id]
                if due > 0 and held > 0 and rng.random() < 0.5:
                    paid = min(due, held)
                    held -= paid
                    pay_bill(bill_id, paid, when, True)
                elif due > 0:
                    pay_bill(bill_id, due, when, False)
            else:
                invoice = self._id()
                vat = amount // 5
                self.invoices.append(
                    (
                        FIRM,
                        invoice,
                        f"Supplier {invoice % 97}",
                        m,
                        when,
                        "Counsel",
                        "GBP",
                        amount,
                        vat,
                        "standard",
                    )
                )
                self.links.append((FIRM, "Activity", str(invoice), f"invoice:{invoice}"))
                unbilled += amount
                self._journal(
                    when,
                    "linked_outlay",
                    ("Activity", str(invoice)),
                    [
                        ("1210", amount, 0, m, "office", None, "purchases_standard"),
                        ("2210", vat, 0, None, None, None, "input_vat"),
                        ("2000", 0, amount + vat, None, None, None, None),
                    ],
                )
                if closed or rng.random() < 0.7:
                    payment = self._id()
                    self.links.append((FIRM, "SupplierPayment", str(payment), f"invoice:{invoice}"))
                    self._journal(
                        min(
                            when + timedelta(days=rng.randrange(5, 60)),
                            START + timedelta(days=DAYS - 1),
                        ),
                        "supplier_payment",
                        ("SupplierPayment", str(payment)),
                        [
                            ("2000", amount + vat, 0, None, None, None, None),
                            ("1000", 0, amount + vat, None, None, OFFICE_BANK, None),
                        ],
                    )
        if closed:  # the matter ends: bill what is left, collect every bill, return the rest
            end = START + timedelta(days=closes)
            if unbilled:
                bill(end, 10_000)
            for bill_id, due in sorted(open_bills.items()):
                if due > 0:
                    pay_bill(bill_id, due, end, False)
            if held:
                self._journal(
                    end,
                    "client_payment",
                    ("BankTransaction", str(self._id())),
                    [
                        ("2100", held, 0, m, "client", None, None),
                        ("1100", 0, held, None, None, CLIENT_BANK, None),
                    ],
                )
        self.active[m] = not closed

    def names(self) -> Iterator[tuple[str, list[tuple[Any, ...]], list[str]]]:
        clients = [
            (FIRM, c, f"Client {c}", "person", None) for c in range(1, self.matters // 2 + 2)
        ]
        matters = [
            (
                FIRM,
                m,
                m // 2 + 1,
                f"{m:05d}-M",
                f"Matter {m}",
                "open",
                "General",
                START,
                None,
                f"FE{m % 12}",
            )
            for m in range(1, self.matters + 1)
        ]
        work = [
            (
                FIRM,
                10_000_000 + m,
                m,
                "time",
                START + timedelta(days=DAYS - (m % 200)),
                "Work",
                "GBP",
                10_000 + m,
                False,
                f"FE{m % 12}",
            )
            for m in range(1, self.matters + 1)
        ]
        yield "clients", clients, ["firm_id", "client_id", "name", "kind", "email"]
        yield (
            "matters",
            matters,
            [
                "firm_id",
                "matter_id",
                "client_id",
                "reference",
                "description",
                "status",
                "matter_type",
                "opened_on",
                "closed_on",
                "fee_earner",
            ],
        )
        yield (
            "work_entries",
            work,
            [
                "firm_id",
                "activity_id",
                "matter_id",
                "kind",
                "recorded_on",
                "description",
                "currency",
                "value",
                "billed",
                "fee_earner",
            ],
        )
        yield (
            "bank_accounts",
            [
                (FIRM, OFFICE_BANK, "Office", "office", "GBP", False),
                (FIRM, CLIENT_BANK, "Client", "client", "GBP", True),
            ],
            ["firm_id", "bank_account_id", "name", "kind", "currency", "is_default_client_account"],
        )
        yield (
            "bank_nominals",
            [(FIRM, OFFICE_BANK, "1000"), (FIRM, CLIENT_BANK, "1100")],
            ["firm_id", "bank_account_id", "account_code"],
        )


JOURNAL_COLUMNS = [
    "firm_id",
    "journal_id",
    "posted_on",
    "kind",
    "narrative",
    "source_system",
    "source_type",
    "source_id",
    "source_version",
    "event_id",
    "event_time",
]
LINE_COLUMNS = [
    "firm_id",
    "journal_id",
    "line_no",
    "posted_on",
    "account_code",
    "currency",
    "debit",
    "credit",
    "matter_id",
    "side",
    "bank_account_id",
    "vat_code",
]


async def _copy(
    db: Database, schema: str, table: str, rows: list[tuple[Any, ...]], columns: list[str]
) -> None:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for start in range(0, len(rows), 200_000):
            await driver.copy_records_to_table(
                table, records=rows[start : start + 200_000], columns=columns, schema_name=schema
            )
        await connection.commit()


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "n": len(ordered),
    }


async def measure(
    lines: int,
    database_url: str,
    *,
    samples: int = 20,
    incremental: int = 300,
    batch: int = 100,
    reports: bool = True,
) -> dict[str, Any]:
    schema = f"bench_reporting_{uuid.uuid4().hex[:8]}"
    settings = Settings(service_name=schema, database_url=database_url, auth_signing_key=KEY)
    await upgrade(settings, MIGRATIONS)
    db = Database(settings)
    result: dict[str, Any] = {"lines_requested": lines}
    try:
        firm = Firm(lines)
        began = time.perf_counter()
        firm.generate()
        result["generate_s"] = round(time.perf_counter() - began, 2)
        result["journals"] = len(firm.journals)
        result["journal_lines"] = len(firm.lines)
        result["matters"] = firm.matters
        began = time.perf_counter()
        await _copy(db, schema, "journals", firm.journals, JOURNAL_COLUMNS)
        await _copy(db, schema, "journal_lines", firm.lines, LINE_COLUMNS)
        await _copy(
            db,
            schema,
            "source_links",
            firm.links,
            ["firm_id", "object_type", "object_id", "item_key"],
        )
        await _copy(
            db,
            schema,
            "bills",
            firm.bills,
            [
                "firm_id",
                "bill_id",
                "bill_number",
                "matter_id",
                "client_id",
                "issued_on",
                "due_on",
                "currency",
                "fees",
                "vat",
                "disbursements",
                "total",
                "voided_on",
            ],
        )
        await _copy(
            db,
            schema,
            "purchase_invoices",
            firm.invoices,
            [
                "firm_id",
                "invoice_id",
                "supplier",
                "matter_id",
                "invoiced_on",
                "description",
                "currency",
                "net",
                "vat",
                "vat_treatment",
            ],
        )
        await _copy(
            db,
            schema,
            "audit_log",
            firm.audit,
            [
                "firm_id",
                "occurred_at",
                "event_id",
                "event_type",
                "actor",
                "action",
                "entity_type",
                "entity_id",
                "summary",
            ],
        )
        for table, rows, columns in firm.names():
            await _copy(db, schema, table, rows, columns)
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO firms (firm_id, name, books_currency) VALUES (:f, 'Bench & Co', 'GBP')"
                ),
                {"f": FIRM},
            )
            await session.execute(
                text("INSERT INTO positions VALUES (:f, 'ledger.events.v1', 0, :o, now())"),
                {"f": FIRM, "o": len(firm.journals)},
            )
        result["load_facts_s"] = round(time.perf_counter() - began, 2)
        del firm

        began = time.perf_counter()
        async with db.transaction() as session:
            tracked = await chart_of_accounts.tracked_codes(session, FIRM)
            await recompute.everything(session, FIRM, sorted(tracked))
        result["full_recomputation_s"] = round(time.perf_counter() - began, 2)
        # The steady state a firm's tables are in: vacuumed and analyzed. Without the VACUUM,
        # autovacuum works through the freshly loaded tables while the reports are timed (p95s
        # of single requests at 100-110 ms in two runs, the p50s at 40-50 ms).
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM (ANALYZE)"))
        async with db.transaction() as session:
            for table in (
                "account_daily",
                "account_monthly",
                "matter_daily",
                "ledger_items",
                "matter_balances",
            ):
                count = await session.scalar(text(f"SELECT COUNT(*) FROM {table}"))
                result[f"rows_{table}"] = int(count or 0)

        if reports:
            result["reports"] = await _report_latencies(db, settings, samples)
            result["full_scan_for_comparison"] = await _scan_latencies(
                db, samples=max(3, samples // 4)
            )
        result["incremental_handler"] = await _incremental(db, incremental, 7, batch)
        result["incremental_handler_backdated"] = await _incremental(db, incremental, DAYS, batch)
    finally:
        async with db.transaction() as session:
            await session.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await db.dispose()
    return result


def _dates(n: int) -> list[date]:
    rng = random.Random(3)
    return [START + timedelta(days=rng.randrange(90, DAYS)) for _ in range(n)]


async def _report_latencies(db: Database, settings: Settings, samples: int) -> dict[str, Any]:
    app = FastAPI()
    app.state.auth_signing_key = KEY

    async def no_rebuild(firm_id: str) -> RebuildResult:
        return RebuildResult(firm_id)

    api.install(app, db, settings, no_rebuild)
    freeze_what_starting_made()  # as the service does once it has started
    headers = {
        "Authorization": f"Bearer {issue_token(KEY, firm_id=FIRM, role=Role.VIEWER, subject='bench')}"
    }
    end = START + timedelta(days=DAYS)
    plans: dict[str, Any] = {
        "trial-balance": lambda d: ("trial-balance", {"as_of": d}),
        "profit-and-loss": lambda d: ("profit-and-loss", {"from": d - timedelta(days=90), "to": d}),
        "balance-sheet": lambda d: ("balance-sheet", {"as_of": d}),
        "client-ledger-balances": lambda d: ("client-ledger-balances", {"as_of": d}),
        "client-ledger-balances (today)": lambda d: ("client-ledger-balances", {"as_of": end}),
        "matter-ledger": lambda d: (f"matter-ledger/{d.toordinal() % 50 + 1}", {"to": d}),
        "aged-debtors": lambda d: ("aged-debtors", {"as_of": d}),
        "aged-debtors (today)": lambda d: ("aged-debtors", {"as_of": end}),
        "aged-creditors": lambda d: ("aged-creditors", {"as_of": d}),
        "unbilled": lambda d: ("unbilled", {"as_of": d}),
        "vat-return": lambda d: ("vat-return", {"from": d - timedelta(days=90), "to": d}),
        "dormant-balances": lambda d: ("dormant-balances", {"as_of": d, "older_than_days": 365}),
        "breach-register": lambda d: ("breach-register", {"as_of": d}),
        "sync-summary": lambda d: ("sync-summary", {}),
        "audit-trail": lambda d: (
            "audit-trail",
            {"from": d - timedelta(days=30), "to": d, "limit": 500},
        ),
        "trial-balance pdf": lambda d: ("trial-balance", {"as_of": d, "format": "pdf"}),
        "client-ledger-balances csv, every row": lambda d: (
            "client-ledger-balances",
            {"as_of": d, "format": "csv"},
        ),
        "aged-debtors csv, every row": lambda d: ("aged-debtors", {"as_of": d, "format": "csv"}),
    }
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as http:
        for name, plan in plans.items():
            timings = []
            for day in _dates(samples + 2):
                path, params = plan(day)
                began = time.perf_counter()
                response = await http.get(
                    f"/firms/{FIRM}/reports/{path}", params={k: str(v) for k, v in params.items()}
                )
                timings.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            out[name] = _percentiles(timings[2:])  # the first two warm the caches
            out[name]["bytes"] = len(response.content)
    return out


async def _scan_latencies(db: Database, samples: int) -> dict[str, Any]:
    queries = {
        "trial balance by scanning journal_lines": (
            "SELECT account_code, SUM(debit), SUM(credit) FROM journal_lines "
            "WHERE firm_id = :f AND posted_on <= :d GROUP BY account_code"
        ),
        "client ledger listing by scanning journal_lines": (
            "SELECT matter_id, side, account_code, SUM(debit), SUM(credit), MAX(posted_on) "
            "FROM journal_lines WHERE firm_id = :f AND matter_id IS NOT NULL AND posted_on <= :d "
            "GROUP BY matter_id, side, account_code"
        ),
    }
    out: dict[str, Any] = {}
    for name, sql in queries.items():
        timings = []
        for day in _dates(samples + 1):
            began = time.perf_counter()
            async with db.transaction() as session:
                await session.execute(text(sql), {"f": FIRM, "d": day})
            timings.append(time.perf_counter() - began)
        out[name] = _percentiles(timings[1:])
    return out


async def _incremental(db: Database, journals: int, spread_days: int, batch: int) -> dict[str, Any]:
    """Bills applied through the real handler, in batches of ``batch`` events (one unit of work
    each, as the consumer hands them over; it takes up to 500), dated within the last
    ``spread_days`` days: a back-dated journal also moves the cumulative sums of every later day
    of its nominals and matter, so the older the date the more rows it touches."""
    rng = random.Random(11 + spread_days)
    events: list[Envelope[EventPayload]] = []
    for n in range(journals):
        day = START + timedelta(days=DAYS - 1 - rng.randrange(spread_days))
        m = rng.randint(1, 50)
        amount = rng.randrange(1000, 100000)
        payload = JournalPosted(
            journal_id=uuid.uuid4(),
            posted_on=day,
            kind="bill",
            narrative="bench bill",
            source=PostingSource(
                system="clio", object_type="Bill", object_id=f"b{spread_days}-{n}"
            ),
            lines=[
                JournalLine(
                    account_code="1200",
                    debit=Money(amount_minor=amount + amount // 5, currency="GBP"),
                    credit=Money.zero("GBP"),
                    matter_id=m,
                    ledger_side=AccountKind.OFFICE,
                ),
                JournalLine(
                    account_code="4000",
                    debit=Money.zero("GBP"),
                    credit=Money(amount_minor=amount, currency="GBP"),
                    vat_code="sales_standard",
                ),
                JournalLine(
                    account_code="2200",
                    debit=Money.zero("GBP"),
                    credit=Money(amount_minor=amount // 5, currency="GBP"),
                    vat_code="output_vat",
                ),
            ],
        )
        events.append(new_event(payload, firm_id=FIRM, source="bench"))
    began = time.perf_counter()
    for start in range(0, len(events), batch):  # the consumer's batches: one transaction each
        async with db.unit_of_work() as uow:
            for event in events[start : start + batch]:
                await handle(uow, event)
            await uow.commit()
    elapsed = time.perf_counter() - began
    return {
        "dated_within_last_days": spread_days,
        "journals": journals,
        "batch": batch,
        "seconds": round(elapsed, 2),
        "journals_per_s": round(journals / elapsed, 1),
    }


def run(
    lines: int,
    database_url: str | None = None,
    *,
    samples: int = 20,
    incremental: int = 300,
    batch: int = 100,
    reports: bool = True,
) -> dict[str, Any]:
    """Measure at ``lines`` journal lines; an embedded PostgreSQL unless ``database_url``."""
    options: dict[str, Any] = dict(
        samples=samples, incremental=incremental, batch=batch, reports=reports
    )
    if database_url is not None:
        return asyncio.run(measure(lines, database_url, **options))
    from cashroom_chassis.embedded import EmbeddedPostgres

    with EmbeddedPostgres() as postgres:
        return asyncio.run(measure(lines, postgres.url, **options))


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--journals", type=int, default=300, help="journals through the incremental handler"
    )
    parser.add_argument("--batch", type=int, default=100, help="events per unit of work")
    parser.add_argument(
        "--no-reports", action="store_true", help="time the incremental handler only"
    )
    args = parser.parse_args()
    result = run(
        args.lines,
        os.environ.get("DATABASE_URL"),
        samples=args.samples,
        incremental=args.journals,
        batch=args.batch,
        reports=not args.no_reports,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
