"""Journal lines posted per second through the ledger's real consumer path.

A few firms' years of Clio activity, generated with a fixed seed: matters opened for clients,
money received on account into the client account, searches and fees paid out of it,
disbursements paid from the office account, bills with several fee lines, recoverable expenses
and billed disbursements, then each bill paid — from client money as far as the client holds it
(the client-to-office transfer, two journals) and the rest into the office account. The events go
to ``clio.events.v1`` (keyed by firm); the ledger's ``Runtime`` consumes them with its real
consumer (batches, inbox, books prefetched and flushed in bulk, ledger events to the outbox and
the relay) against a *durable* PostgreSQL (fsync on). The clock runs from the first event
consumed until the last journal line is committed.

In the same run, the same journal lines are COPYed into a table of the same shape: the most
PostgreSQL takes on this machine, the limit beside the figure. The ledger runs in its own
process(es), as the service does (``--processes`` of them share the consumer group, one per
partition at most); the peak RSS reported is each ledger process's, and the CPU time the
ledger processes spent from started to stopped (per event: steadier than the wall clock on a
shared machine). The events are generated and published as a stream, before the ledger starts.
Each firm's events share a partition (the key is the firm): with two or more processes, use
enough firms that the partitions get a fair share each.

``python -m bench.bench_ledger [events] [--firms N] [--batch N] [--processes N] [--partitions N]``
prints the figures as JSON. With ``LEDGER_BENCH_PROFILE=path`` each ledger process runs under cProfile and
writes its statistics to ``path.<pid>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy.orm import Session

from bench.limits import copy_rows
from cashroom_chassis.embedded import EmbeddedKafka, EmbeddedPostgres
from cashroom_chassis.kafka import ensure_topics
from cashroom_contracts.envelope import deterministic_event_id, encode_event, new_event
from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    BillApproved,
    BillContent,
    BilledDisbursementLine,
    BillPaymentReceived,
    ClientKind,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClientPaymentPurpose,
    ClientUpserted,
    ClioEvent,
    DisbursementPaid,
    FeeLine,
    MatterStatus,
    MatterUpserted,
    RecoverableExpenseLine,
)
from cashroom_contracts.events.common import AccountKind, ClioSource, VatAmount, VatTreatment
from cashroom_contracts.money import Money
from cashroom_contracts.topics import CLIO_EVENTS

SEED = 20250117
YEAR_START = date(2025, 1, 1)
CURRENCY = "EUR"
VAT_BP = 2300
SURNAMES = ("Ó Briain", "O'Connor", "Ní Dhonnchadha", "Murphy", "Kelly", "Byrne", "Walsh", "Ryan")


def _eur(minor: int) -> Money:
    return Money(amount_minor=minor, currency=CURRENCY)


def _vat(net: int) -> VatAmount:
    return VatAmount(rate_basis_points=VAT_BP, amount=_eur(net * VAT_BP // 10_000))


NO_VAT = VatAmount(rate_basis_points=0, amount=_eur(0))


@dataclass
class _Firm:
    """One generated firm's Clio ids and running state."""

    firm_id: str
    base: int  # Clio ids of this firm start here, so firms never share one
    rng: random.Random
    next_id: int = 0
    office_account: int = 0
    client_account: int = 0
    events: int = 0
    lines: int = 0  # journal lines its postings will make, counted as they are generated
    clients: list[int] = field(default_factory=list)

    def new_id(self) -> int:
        self.next_id += 1
        return self.base + self.next_id


def _source(object_type: str, object_id: int) -> ClioSource:
    return ClioSource(object_type=object_type, object_id=object_id, version="v1")


def firm_events(firm: _Firm, wanted: int) -> Iterator[ClioEvent]:
    """About ``wanted`` events of one firm, in the order Clio's records would arrive: reference
    data first, then each matter's money, bills and payments as the year goes by."""
    rng = firm.rng
    firm.office_account, firm.client_account = firm.new_id(), firm.new_id()
    yield BankAccountUpserted(
        source=_source("BankAccount", firm.office_account),
        bank_account_id=firm.office_account,
        name="Office current account",
        kind=AccountKind.OFFICE,
        currency=CURRENCY,
    )
    yield BankAccountUpserted(
        source=_source("BankAccount", firm.client_account),
        bank_account_id=firm.client_account,
        name="Client account",
        kind=AccountKind.CLIENT,
        currency=CURRENCY,
        is_default_client_account=True,
    )
    firm.events += 2
    while firm.events < wanted:
        yield from _matter_story(firm, rng)


def _matter_story(firm: _Firm, rng: random.Random) -> Iterator[ClioEvent]:
    """One matter: opened, money on account, outlays, one to three bills, each paid."""
    if not firm.clients or rng.random() < 0.4:
        client_id = firm.new_id()
        firm.clients.append(client_id)
        yield ClientUpserted(
            source=_source("Contact", client_id),
            client_id=client_id,
            name=f"{rng.choice(SURNAMES)} {client_id}",
            kind=ClientKind.PERSON,
        )
        firm.events += 1
    client_id = rng.choice(firm.clients)
    matter_id = firm.new_id()
    day = rng.randrange(0, 200)
    yield MatterUpserted(
        source=_source("Matter", matter_id),
        matter_id=matter_id,
        client_id=client_id,
        reference=f"{matter_id:08d}-{rng.choice(SURNAMES)}",
        description="Purchase of a house",
        status=MatterStatus.OPEN,
        matter_type="Conveyancing",
    )
    firm.events += 1
    held = 0
    for _ in range(rng.randint(1, 2)):  # money on account into the client account
        amount = rng.randrange(50_000, 500_000)
        held += amount
        transaction_id = firm.new_id()
        yield ClientMoneyReceived(
            source=_source("BankTransaction", transaction_id),
            transaction_id=transaction_id,
            matter_id=matter_id,
            bank_account_id=firm.client_account,
            received_on=_on(day),
            amount=_eur(amount),
            payer=f"Client {client_id}",
        )
        firm.events, firm.lines = firm.events + 1, firm.lines + 2
        day += rng.randrange(1, 5)
    if rng.random() < 0.5:  # a search fee paid out of client money
        amount = rng.randrange(5_000, min(held, 30_000))
        held -= amount
        transaction_id = firm.new_id()
        yield ClientMoneyPaid(
            source=_source("BankTransaction", transaction_id),
            transaction_id=transaction_id,
            matter_id=matter_id,
            bank_account_id=firm.client_account,
            paid_on=_on(day),
            amount=_eur(amount),
            purpose=ClientPaymentPurpose.DISBURSEMENT,
            payee="Property Registration Authority",
        )
        firm.events, firm.lines = firm.events + 1, firm.lines + 2
        day += rng.randrange(1, 5)
    outlays: list[tuple[int, int]] = []
    for _ in range(rng.randint(0, 2)):  # court and registry fees paid from the office account
        activity_id, net = firm.new_id(), rng.randrange(2_000, 40_000)
        outlays.append((activity_id, net))
        yield DisbursementPaid(
            source=_source("Activity", activity_id),
            activity_id=activity_id,
            matter_id=matter_id,
            paid_on=_on(day),
            description="Court fee",
            vendor="Courts Service",
            net=_eur(net),
            vat_treatment=VatTreatment.OUTSIDE_SCOPE,
            vat=NO_VAT,
            bank_account_id=firm.office_account,
        )
        firm.events, firm.lines = firm.events + 1, firm.lines + 2
        day += rng.randrange(1, 5)
    for n in range(rng.randint(1, 3)):
        bill, lines = _bill(firm, rng, matter_id, client_id, _on(day), outlays if n == 0 else [])
        yield BillApproved(source=_source("Bill", bill.bill_id), bill=bill)
        firm.events, firm.lines = firm.events + 1, firm.lines + lines
        day += rng.randrange(3, 20)
        owed = bill.total.amount_minor
        from_client = min(owed, held)
        if from_client > 0:  # client-to-office transfer, limited to what the client holds
            held -= from_client
            owed -= from_client
            yield _payment(firm, bill, matter_id, _on(day), from_client, AccountKind.CLIENT)
            firm.events, firm.lines = firm.events + 1, firm.lines + 4
            day += rng.randrange(1, 10)
        if owed > 0:
            yield _payment(firm, bill, matter_id, _on(day), owed, AccountKind.OFFICE)
            firm.events, firm.lines = firm.events + 1, firm.lines + 2
            day += rng.randrange(1, 10)


def _bill(
    firm: _Firm,
    rng: random.Random,
    matter_id: int,
    client_id: int,
    issued_on: date,
    outlays: list[tuple[int, int]],
) -> tuple[BillContent, int]:
    """A bill with 2-4 fee lines, maybe a recoverable expense, and the outlays so far; and how
    many journal lines it posts (debtors, one income line per nominal, billed disbursements,
    VAT)."""
    bill_id = firm.new_id()
    fees = []
    for n in range(rng.randint(2, 4)):
        net = rng.randrange(10_000, 150_000)
        fees.append(
            FeeLine(
                line_id=bill_id * 10 + n,
                description="Professional fees",
                net=_eur(net),
                discount=_eur(0),
                vat=_vat(net),
            )
        )
    expenses = []
    if rng.random() < 0.5:
        net = rng.randrange(500, 5_000)
        expenses.append(
            RecoverableExpenseLine(
                line_id=bill_id * 10 + 8, description="Photocopying", net=_eur(net), vat=_vat(net)
            )
        )
    disbursements = [
        BilledDisbursementLine(
            line_id=bill_id * 10 + 9,
            activity_id=activity_id,
            description="Court fee",
            net=_eur(net),
            vat_treatment=VatTreatment.OUTSIDE_SCOPE,
            vat=NO_VAT,
        )
        for activity_id, net in outlays
    ]
    items: list[FeeLine | RecoverableExpenseLine | BilledDisbursementLine] = [
        *fees,
        *expenses,
        *disbursements,
    ]
    vat = sum(i.vat.amount.amount_minor for i in items)
    nets = sum(i.net.amount_minor for i in items)
    bill = BillContent(
        bill_id=bill_id,
        bill_number=f"INV-{bill_id}",
        matter_id=matter_id,
        client_id=client_id,
        issued_on=issued_on,
        currency=CURRENCY,
        fees=fees,
        recoverable_expenses=expenses,
        disbursements=disbursements,
        bill_level_discount=_eur(0),
        vat_total=_eur(vat),
        total=_eur(nets + vat),
    )
    lines = 1 + 1 + (1 if expenses else 0) + (1 if disbursements else 0) + 1
    return bill, lines


def _payment(
    firm: _Firm, bill: BillContent, matter_id: int, paid_on: date, amount: int, kind: AccountKind
) -> BillPaymentReceived:
    payment_id = firm.new_id()
    return BillPaymentReceived(
        source=_source("BillPayment", payment_id),
        payment_id=payment_id,
        bill_id=bill.bill_id,
        matter_id=matter_id,
        paid_on=paid_on,
        amount=_eur(amount),
        paid_from=kind,
        bank_account_id=firm.client_account if kind is AccountKind.CLIENT else firm.office_account,
        office_bank_account_id=firm.office_account if kind is AccountKind.CLIENT else None,
    )


def _on(day: int) -> date:
    return YEAR_START + timedelta(days=day)


def generate(
    events: int, firms: int, *, seed: int = SEED, run: str = ""
) -> tuple[list[_Firm], Iterator[tuple[bytes, bytes]]]:
    """The firms, and ``events`` envelopes (encoded, with their Kafka key) for them, interleaved
    as their syncs would be, each firm's own events in order. Generated as they are consumed:
    nothing of the whole history is held in memory."""
    rng = random.Random(seed)
    books = [
        _Firm(f"bench-{run}-{n}", base=(n + 1) * 100_000_000, rng=random.Random(rng.random()))
        for n in range(firms)
    ]

    def stream() -> Iterator[tuple[bytes, bytes]]:
        live = [(firm, firm_events(firm, events // firms)) for firm in books]
        while live:
            for entry in list(live):
                firm, events_of_firm = entry
                event = next(events_of_firm, None)
                if event is None:
                    live.remove(entry)
                    continue
                event_id = deterministic_event_id(
                    firm.firm_id, event.event_type, event.source.object_id, event.source.version
                )
                envelope = new_event(
                    event, firm_id=firm.firm_id, source="bench/clio", event_id=event_id
                )
                yield encode_event(envelope), firm.firm_id.encode()

    return books, stream()


async def publish(bootstrap: str, messages: Iterator[tuple[bytes, bytes]]) -> int:
    """Produce every message to ``clio.events.v1`` (acks=all); how many."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for value, key in messages:
            pending.append(await producer.send(CLIO_EVENTS, value=value, key=key))
            sent += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _consumer_process(
    settings: dict[str, Any], stop: Any, report: Any, progress: Any
) -> None:  # pragma: no cover - runs in a child process
    """One ledger process: the real runtime (consumer, outbox relay), tuned as the service's
    ``__main__`` tunes it, until told to stop; then its peak RSS and what it consumed. Meanwhile
    ``progress`` says how many events its consumer has committed (read every 10 ms)."""
    from cashroom_ledger.app import build_runtime
    from cashroom_ledger.process import tune_garbage_collection
    from cashroom_ledger.settings import Settings

    async def serve() -> None:
        runtime = build_runtime(Settings(**settings))
        tune_garbage_collection()
        await runtime.start()
        cpu_from = time.process_time()

        async def report_progress() -> None:
            while True:
                progress.value = sum(c.processed for c in runtime.consumers)
                await asyncio.sleep(0.01)

        reporting = asyncio.create_task(report_progress())
        try:
            await asyncio.to_thread(stop.wait)
        finally:
            reporting.cancel()
            cpu = time.process_time() - cpu_from
            consumed = sum(c.processed for c in runtime.consumers)
            await runtime.stop()
        report.put(
            {"peak_rss_mb": round(peak_rss_mb(), 1), "consumed": consumed, "cpu_seconds": cpu}
        )

    profile_to = os.environ.get("LEDGER_BENCH_PROFILE")
    if not profile_to:
        asyncio.run(serve())
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, serve())
    profiler.dump_stats(f"{profile_to}.{os.getpid()}")


async def run_async(
    events: int = 100_000,
    *,
    firms: int = 3,
    batch: int = 2000,
    partitions: int = 3,
    processes: int = 1,
) -> dict[str, Any]:
    from cashroom_chassis import migrations
    from cashroom_chassis.db import Database
    from cashroom_ledger.app import MIGRATIONS
    from cashroom_ledger.db.books import Books
    from cashroom_ledger.domain import Jurisdiction
    from cashroom_ledger.handlers import set_up_firm
    from cashroom_ledger.settings import Settings

    run = uuid.uuid4().hex[:6]
    with EmbeddedPostgres(durable=True) as postgres, EmbeddedKafka() as kafka:
        await ensure_topics(kafka.bootstrap_servers, partitions=partitions)
        settings: dict[str, Any] = {
            "database_url": postgres.url,
            "kafka_bootstrap_servers": kafka.bootstrap_servers,
            "kafka_max_batch": batch,
            "outbox_batch": 5000,
            "kafka_consumer_group": f"ledger-bench-{run}",
            "auth_signing_key": "bench",
        }
        await migrations.upgrade(Settings(**settings), MIGRATIONS)
        books, messages = generate(events, firms, run=run)
        db = Database(Settings(**settings))
        for firm in books:

            def set_up(session: Session, firm_id: str = firm.firm_id) -> None:
                set_up_firm(Books(session), firm_id, Jurisdiction.IRELAND, firm_id, by="bench")

            async with db.unit_of_work() as uow:
                await uow.session.run_sync(set_up)
                await uow.commit()
        await db.dispose()
        sent = await publish(kafka.bootstrap_servers, messages)
        expected_lines = sum(f.lines for f in books)
        firm_ids = [f.firm_id for f in books]

        context = multiprocessing.get_context("spawn")
        stop, report = context.Event(), context.Queue()
        progress = [context.Value("q", 0, lock=False) for _ in range(processes)]
        workers = [
            context.Process(target=_consumer_process, args=(settings, stop, report, done))
            for done in progress
        ]
        connection = await asyncpg.connect(
            postgres.plain_url, server_settings={"search_path": "ledger"}
        )
        count = "SELECT count(*) FROM journal_lines WHERE firm_id = ANY($1::text[])"
        postmaster = _postmaster_pid(postgres)
        postgres_cpu_from = _group_cpu_seconds(postmaster)
        for worker in workers:
            worker.start()
        started: float | None = None
        counting = True  # until the first line, and to confirm the last
        try:
            # The first line is seen by counting the run's lines (cheap while there are few).
            # Then the consumers' own count of committed events says when all are in: counting
            # lines every 50 ms scanned all of them each time, PostgreSQL's time taken from the
            # ledger's (tens of ms a count at 100,000 events). The last line is confirmed by
            # counting once.
            while True:
                if counting:
                    posted = await connection.fetchval(count, firm_ids)
                    now = time.perf_counter()
                    if started is None and posted:
                        started, counting = now, False
                    if posted >= expected_lines:
                        break
                elif sum(done.value for done in progress) >= sent:
                    now = time.perf_counter()
                    if await connection.fetchval(count, firm_ids) >= expected_lines:
                        break
                    counting = True  # an event counted twice (redelivered): count lines
                await asyncio.sleep(0.05 if counting else 0.01)
            elapsed = now - (started or now)
        finally:
            stop.set()
            reports = [report.get(timeout=120) for _ in workers]
            for worker in workers:
                worker.join(timeout=60)
        postgres_cpu = _group_cpu_seconds(postmaster) - postgres_cpu_from
        copy = await _copy_same_lines(postgres.plain_url, connection, firm_ids)
        await connection.close()
    lines_per_s = expected_lines / elapsed if elapsed else 0.0
    return {
        "events": sent,
        "firms": firms,
        "journal_lines": expected_lines,
        "kafka_max_batch": batch,
        "processes": processes,
        "partitions": partitions,
        "seconds": round(elapsed, 2),
        "lines_per_s": round(lines_per_s),
        "events_per_s": round(sent / elapsed) if elapsed else 0,
        "copy_lines_per_s": round(copy["rows_per_s"]),
        "ratio_to_copy": round(lines_per_s / copy["rows_per_s"], 3),
        "peak_rss_mb_per_process": [r["peak_rss_mb"] for r in reports],
        "consumed": sum(r["consumed"] for r in reports),
        # CPU of the ledger process(es) from started to stopped (consuming, posting, relaying):
        # steadier than the wall-clock figure on a machine shared with other work.
        "ledger_cpu_seconds": round(sum(r["cpu_seconds"] for r in reports), 2),
        "ledger_cpu_us_per_event": round(sum(r["cpu_seconds"] for r in reports) / sent * 1e6),
        # PostgreSQL's CPU over the same span (every process of the server).
        "postgres_cpu_us_per_event": round(postgres_cpu / sent * 1e6),
    }


def _postmaster_pid(postgres: EmbeddedPostgres) -> int:
    assert postgres.data_dir is not None
    return int((postgres.data_dir / "postmaster.pid").read_text().split()[0])


def _group_cpu_seconds(leader: int) -> float:
    """CPU time (user + system) of the processes in ``leader``'s process group, with the children
    the leader has reaped (PostgreSQL's backends that ended)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        # After the name: state, ppid, pgrp, ... utime (12th), stime, cutime, cstime.
        if int(fields[2]) != leader:
            continue
        total += int(fields[11]) + int(fields[12])
        if int(entry) == leader:
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


async def _copy_same_lines(
    dsn: str, connection: asyncpg.Connection, firm_ids: list[str]
) -> dict[str, float]:
    """COPY the lines the ledger posted into a table of the same shape (indexes included)."""
    await connection.execute("CREATE TABLE bench_journal_lines (LIKE journal_lines INCLUDING ALL)")
    rows = await connection.fetch(
        "SELECT * FROM journal_lines WHERE firm_id = ANY($1::text[])", firm_ids
    )
    columns = list(rows[0].keys())
    records = [tuple(r) for r in rows]
    del rows
    return await copy_rows(dsn, table="ledger.bench_journal_lines", columns=columns, rows=records)


def run(events: int = 100_000, **options: Any) -> dict[str, Any]:
    """Post ``events`` generated Clio events through the ledger's consumer path; the figures."""
    return asyncio.run(run_async(events, **options))


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(prog="python -m bench.bench_ledger")
    arguments.add_argument("events", type=int, nargs="?", default=100_000)
    arguments.add_argument("--firms", type=int, default=3)
    arguments.add_argument("--batch", type=int, default=2000, help="KAFKA_MAX_BATCH")
    arguments.add_argument("--processes", type=int, default=1, help="ledger consumer processes")
    arguments.add_argument("--partitions", type=int, default=3, help="of clio.events.v1")
    options = arguments.parse_args()
    print(
        json.dumps(
            run(
                options.events,
                firms=options.firms,
                batch=options.batch,
                processes=options.processes,
                partitions=options.partitions,
            ),
            indent=2,
        )
    )
