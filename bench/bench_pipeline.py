"""The full-sync pipeline, end to end, beside the limits of its parts measured in the same run.

    .venv/bin/python -m bench.bench_pipeline --firm medium      # 152,898 Clio records
    .venv/bin/python -m bench.bench_pipeline --smoke            # the tiny firm, to check it runs
    .venv/bin/python -m bench.bench_pipeline --firm-dir /tmp/large/firm   # a firm written by
                                                   # `python -m clio_sandbox generate --firm large`

1. Starts the whole of Cashroom as ``cashroom demo`` does (``cashroom_cli.stack``): embedded
   PostgreSQL and broker, the Clio sandbox serving the generated firm with rate limiting off,
   and the four services, each its own process. PostgreSQL is durable (fsync on) unless
   ``--no-durable``; the connector's polling is off, so nothing but the full sync runs.
2. Sets the firm up in the ledger and the reporting service, links Clio through the real OAuth
   flow (the sandbox approves), applies the recommended settings.
3. Starts a full sync and times, from the request: (i) the sync done (every page read, every
   event published), (ii) the ledger has answered every event the sync published (the sync's
   ``ledger_pending`` is 0), (iii) the reports are current: for every partition of
   ``ledger.events.v1`` the reporting service's position (``GET /firms/{f}/reports``) has
   reached the broker's last offset. Records are what the sync read from Clio.
4. Meanwhile samples the resident memory of every process (the four services, the sandbox,
   PostgreSQL's processes, the broker) every half second; each single-process service's peak
   is also read from the kernel's high-water mark (``VmHWM``).
5. Then, on the same stack and the same data, the limits: (a) the same pages (same resources,
   fields, 200 a page, cursor paging) fetched with httpx alone and parsed; (b) as many events as
   the sync published, of the size of a real one, produced and consumed through the broker;
   (c) the journal lines the ledger posted, COPYed into a table of the same shape. Each limit
   is converted to Clio records per second by the run's own ratios (events per record, lines
   per record); the ratio is the pipeline's records per second over the slowest limit.

Prints a table; ``--json`` prints the figures as JSON as well. ``run()`` returns them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench.limits import broker_round_trip, copy_rows
from cashroom_chassis.auth import Role
from cashroom_chassis.embedded import SETTINGS_VARIABLE
from cashroom_cli.client import Api, ServiceError
from cashroom_cli.demo import sandbox_connector_env, set_up_firm
from cashroom_cli.flows import link_clio
from cashroom_cli.stack import SERVICES, Stack, running_stack
from cashroom_cli.target import Target
from cashroom_contracts.topics import CLIO_EVENTS, LEDGER_EVENTS
from clio_connector.domain.fields import LINE_ITEMS
from clio_connector.domain.sync_rules import reading_steps, resource_named
from clio_connector.engine import _BULK_LINE_FIELDS

FIRM_ID = "bench-pipeline"
SIZES = ("tiny", "small", "medium", "large")
POLL_SECONDS = 0.5
SAMPLE_SECONDS = 0.5
MB = 1024 * 1024


# --- Memory ------------------------------------------------------------------------------------


def classify(cmdline: list[str], name: str) -> str | None:
    """The part of the stack a process belongs to, from its command line (``None``: not ours)."""
    for spec in SERVICES:
        if spec.module in cmdline:
            return spec.name
    if "clio_sandbox" in cmdline:
        return "sandbox"
    if name.startswith("postgres") or any(Path(a).name == "postgres" for a in cmdline[:1]):
        return "postgres"
    if "broker" in cmdline and "--listener-url" in cmdline:
        return "broker"
    return None


@dataclass
class MemoryPeaks:
    """Peak resident memory per part of the stack: the largest sum, over one sample, of the RSS
    of the part's processes, and the largest single process (its kernel high-water mark where
    it can be read). PostgreSQL's sum counts its shared buffers once per process that touched
    them, so it is an upper bound; its largest single process is given beside it."""

    sum_bytes: dict[str, int] = field(default_factory=dict)
    largest_process_bytes: dict[str, int] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)
    samples: int = 0

    def add_sample(self, rows: Iterable[tuple[str, int, int]]) -> None:
        """``rows``: (part, pid, rss bytes or high-water mark) for every process seen now."""
        totals: dict[str, int] = {}
        pids: dict[str, set[int]] = {}
        for part, pid, rss in rows:
            totals[part] = totals.get(part, 0) + rss
            pids.setdefault(part, set()).add(pid)
            if rss > self.largest_process_bytes.get(part, 0):
                self.largest_process_bytes[part] = rss
        for part, total in totals.items():
            self.sum_bytes[part] = max(self.sum_bytes.get(part, 0), total)
            self.processes[part] = max(self.processes.get(part, 0), len(pids[part]))
        self.samples += 1

    def report_mb(self) -> dict[str, dict[str, float | int]]:
        return {
            part: {
                "peak_rss_mb": round(self.sum_bytes[part] / MB, 1),
                "largest_process_mb": round(self.largest_process_bytes.get(part, 0) / MB, 1),
                "processes": self.processes.get(part, 0),
            }
            for part in sorted(self.sum_bytes)
        }


def _high_water_mark(pid: int) -> int:
    """The kernel's peak resident set of ``pid`` (``VmHWM``), 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


class MemoryWatch:
    """Samples the stack's processes (the descendants of this one) on a thread."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        self.peaks = MemoryPeaks()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-watch", daemon=True)
        self._known: dict[int, tuple[psutil.Process, str | None]] = {}

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> None:
        rows: list[tuple[str, int, int]] = []
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children(recursive=True):
                part = self._part_of(child)
                if part is None:
                    continue
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                # A Python service is one process: its high-water mark is its true peak, which a
                # sample every half second could miss.
                peak = _high_water_mark(child.pid) if part not in {"postgres"} else 0
                rows.append((part, child.pid, max(rss, peak)))
        self.peaks.add_sample(rows)

    def _part_of(self, process: psutil.Process) -> str | None:
        known = self._known.get(process.pid)
        if known is not None and known[0] == process:  # same pid, same creation time
            return known[1]
        try:
            part = classify(process.cmdline(), process.name())
        except psutil.Error:
            return None
        self._known[process.pid] = (process, part)
        return part


def cpu_seconds_by_part() -> dict[str, float]:
    """CPU time (user + system) each part of the stack has used so far, over its live processes."""
    totals: dict[str, float] = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            try:
                part = classify(child.cmdline(), child.name())
                times = child.cpu_times()
            except psutil.Error:
                continue
            if part is not None:
                totals[part] = totals.get(part, 0.0) + times.user + times.system
    return totals


class Profiler:
    """py-spy sampling each service while the pipeline runs (``--profile DIR``): what it spends
    its CPU on, as collapsed stacks in ``DIR/<service>.txt`` and a summary of each."""

    RATE = 25  # samples a second: little added load on two cores

    def __init__(self, folder: Path, py_spy: str) -> None:
        self.folder = folder
        self._py_spy = py_spy
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, stack: Stack) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, service in stack.services.items():
            self._running[name] = subprocess.Popen(
                [
                    self._py_spy,
                    "record",
                    "--pid",
                    str(service.process.pid),
                    "--rate",
                    str(self.RATE),
                    "--nonblocking",
                    "--gil",  # on-CPU Python only, not a loop waiting in epoll
                    "--format",
                    "raw",
                    "--function",
                    "--output",
                    str(self.folder / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> dict[str, dict[str, Any]]:
        for process in self._running.values():
            process.send_signal(signal.SIGINT)
        summaries: dict[str, dict[str, Any]] = {}
        for name, process in self._running.items():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                continue
            path = self.folder / f"{name}.txt"
            if path.exists():
                summaries[name] = summarise_stacks(path.read_text().splitlines(), rate=self.RATE)
        self._running.clear()
        return summaries


def summarise_stacks(lines: Iterable[str], *, rate: int, top: int = 12) -> dict[str, Any]:
    """Collapsed stacks (``outer;...;inner count``) → CPU seconds sampled, the functions that
    were running (self) and the functions of our own code that were on the stack (inclusive)."""
    total = 0
    leaf: dict[str, int] = {}
    ours: dict[str, int] = {}
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        for frame in set(frames):
            if any(package in frame for package in OUR_PACKAGES):
                ours[frame] = ours.get(frame, 0) + count

    def share(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:top]
        return [(frame, round(100 * n / total, 1)) for frame, n in ranked]

    return {
        "cpu_seconds_sampled": round(total / rate, 1),
        "self_percent": share(leaf),
        "ours_inclusive_percent": share(ours),
    }


OUR_PACKAGES = (
    "clio_connector",
    "cashroom_ledger",
    "cashroom_reporting",
    "cashroom_reconciliation",
    "cashroom_chassis",
    "cashroom_contracts",
)


# --- When the reports are current --------------------------------------------------------------


def reports_current(
    positions: Iterable[Mapping[str, Any]], end_offsets: Mapping[int, int], topic: str
) -> bool:
    """Whether the reporting service has applied the last event of every non-empty partition
    of ``topic``: its position there (the offset of the firm's last event it applied) is the
    broker's end offset less one. With one firm on the topic, that is every event."""
    applied = {int(p["partition"]): int(p["offset"]) for p in positions if p.get("topic") == topic}
    return all(
        applied.get(partition, -1) >= end - 1 for partition, end in end_offsets.items() if end > 0
    )


def ratio_to_slowest(records_per_s: float, limits_records_per_s: Mapping[str, float]) -> float:
    """The pipeline's records per second over the slowest of its parts' limits."""
    slowest = min(limits_records_per_s.values())
    return records_per_s / slowest if slowest else 0.0


def cpu_by_phase(
    start: Mapping[str, float],
    marks: Mapping[str, Mapping[str, float]],
    at_seconds: Mapping[str, float],
) -> dict[str, dict[str, float]]:
    """CPU seconds each part used in each phase (from the previous milestone to this one), and
    the whole stack's share of two cores over the phase's wall time."""
    phases: dict[str, dict[str, float]] = {}
    before, since = dict(start), 0.0
    for milestone in ("sync_done", "ledger_posted", "reports_current"):
        now = marks.get(milestone)
        if now is None:
            continue
        used = {part: round(now[part] - before.get(part, 0.0), 1) for part in sorted(now)}
        wall = at_seconds[milestone] - since
        used["wall_seconds"] = round(wall, 1)
        used["stack_share_of_2_cores"] = (
            round(sum(v for k, v in used.items() if k != "wall_seconds") / (2 * wall), 2)
            if wall > 0
            else 0.0
        )
        phases[milestone] = used
        before, since = dict(now), at_seconds[milestone]
    return phases


async def _end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[int, int]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
    wanted = [TopicPartition(topic, p) for p in sorted(partitions)]
    offsets = await consumer.end_offsets(wanted)
    return {tp.partition: int(offset) for tp, offset in offsets.items()}


@dataclass
class Timeline:
    sync_id: str = ""
    sync_done_s: float | None = None
    ledger_posted_s: float | None = None
    reports_current_s: float | None = None
    final_state: dict[str, Any] = field(default_factory=dict)
    ledger_end_offsets: dict[int, int] = field(default_factory=dict)
    # CPU seconds used so far by each part of the stack, at each milestone.
    cpu_at: dict[str, dict[str, float]] = field(default_factory=dict)
    clio_end_offsets: dict[int, int] = field(default_factory=dict)


async def _follow_sync(
    target: Target, bootstrap: str, began: float, sync_id: str, *, give_up_after: float
) -> Timeline:
    """Poll the sync, then the ledger's answers, then the reports, until all three are done."""
    timeline = Timeline(sync_id=sync_id)
    viewer = {"Authorization": f"Bearer {target.bearer(Role.VIEWER)}"}
    connector, reporting = target.url("connector"), target.url("reporting")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        async with httpx.AsyncClient(timeout=60, headers=viewer) as http:
            while True:
                now = time.perf_counter() - began
                if now > give_up_after:
                    raise TimeoutError(
                        f"the pipeline was not done in {give_up_after:.0f}s: {timeline}"
                    )
                if timeline.ledger_posted_s is None:
                    answer = await http.get(f"{connector}/firms/{FIRM_ID}/syncs/{sync_id}")
                    answer.raise_for_status()
                    state: dict[str, Any] = answer.json()
                    timeline.final_state = state
                    status = state.get("status")
                    if status in {"failed", "interrupted"}:
                        raise RuntimeError(f"sync {sync_id} {status}: {state.get('error')}")
                    if status == "completed":
                        if timeline.sync_done_s is None:
                            timeline.sync_done_s = now
                            timeline.cpu_at["sync_done"] = cpu_seconds_by_part()
                        if int(state.get("ledger_pending", 0)) == 0:
                            timeline.ledger_posted_s = now
                            timeline.cpu_at["ledger_posted"] = cpu_seconds_by_part()
                if timeline.ledger_posted_s is not None:
                    ends = await _end_offsets(consumer, LEDGER_EVENTS)
                    index = await http.get(f"{reporting}/firms/{FIRM_ID}/reports")
                    index.raise_for_status()
                    positions = index.json()["consistent_with"]["positions"]
                    if os.environ.get("BENCH_PIPELINE_DEBUG"):
                        print(f"{now:.1f}s ends {ends} positions {positions}", flush=True)
                    if reports_current(positions, ends, LEDGER_EVENTS):
                        timeline.reports_current_s = time.perf_counter() - began
                        timeline.cpu_at["reports_current"] = cpu_seconds_by_part()
                        timeline.ledger_end_offsets = ends
                        timeline.clio_end_offsets = await _end_offsets(consumer, CLIO_EVENTS)
                        return timeline
                await asyncio.sleep(POLL_SECONDS)
    finally:
        await consumer.stop()


# --- The limits --------------------------------------------------------------------------------


async def raw_fetch(sandbox_url: str, resource_paths: list[str]) -> dict[str, float]:
    """Every page of the resources the sync read, as the connector reads them (same fields,
    ``order=id(asc)``, 200 a page, following ``meta.paging.next``), with httpx alone, each page
    parsed: how fast the sandbox serves the firm."""
    async with httpx.AsyncClient(timeout=60) as http:
        issued = await http.post(f"{sandbox_url}/_control/tokens", json={})
        issued.raise_for_status()
        http.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"
        steps = reading_steps([resource_named(p) for p in resource_paths], bills_read_in_full=True)
        records = pages = 0
        started = time.perf_counter()
        for resource in steps:
            fields = _BULK_LINE_FIELDS if resource is LINE_ITEMS else resource.fields_param
            url: str | None = f"{sandbox_url}/api/v4/{resource.path}"
            params: dict[str, str] | None = {"fields": fields, "order": "id(asc)", "limit": "200"}
            while url is not None:
                answer = await http.get(url, params=params)
                answer.raise_for_status()
                body = answer.json()
                records += len(body["data"])
                pages += 1
                url, params = (body.get("meta") or {}).get("paging", {}).get("next") or None, None
        elapsed = time.perf_counter() - started
    return {
        "records": records,
        "pages": pages,
        "seconds": round(elapsed, 2),
        "records_per_s": records / elapsed if elapsed else 0.0,
    }


async def typical_event(bootstrap: str, topic: str, *, sample: int = 2000) -> bytes:
    """A Clio event of the median size among the first ``sample`` the connector published."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-pipeline-sample-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < sample and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=sample)
            if not batch and values:
                break
            values.extend(r.value for records in batch.values() for r in records if r.value)
    finally:
        await consumer.stop()
    if not values:
        raise RuntimeError(f"no events on {topic} to take a typical one from")
    values.sort(key=len)
    return values[len(values) // 2]


async def copy_journal_lines(dsn: str, firm_id: str) -> dict[str, float]:
    """The journal lines the ledger posted for the firm, COPYed into a table of the same shape
    (indexes included), in one transaction."""
    connection = await asyncpg.connect(dsn, server_settings={"search_path": "ledger"})
    try:
        table = f"bench_pipeline_lines_{uuid.uuid4().hex[:8]}"
        await connection.execute(f"CREATE TABLE {table} (LIKE journal_lines INCLUDING ALL)")
        rows = await connection.fetch("SELECT * FROM journal_lines WHERE firm_id = $1", firm_id)
        if not rows:
            raise RuntimeError("the ledger posted no journal lines")
        columns = list(rows[0].keys())
        records = [tuple(r) for r in rows]
        del rows
        result = await copy_rows(dsn, table=f"ledger.{table}", columns=columns, rows=records)
        await connection.execute(f"DROP TABLE {table}")
        return result
    finally:
        await connection.close()


def _plain_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


# --- The run -----------------------------------------------------------------------------------


def _sandbox_args(firm: str, firm_dir: Path | None, seed: int, jurisdiction: str) -> list[str]:
    args = ["--rate-limit", "off", "--jurisdiction", jurisdiction]
    if firm_dir is not None:
        # A large firm is served from a SQLite file, not memory.
        db = Path(tempfile.mkdtemp(prefix="cashroom-bench-sandbox-")) / "firm.db"
        return [*args, "--firm-dir", str(firm_dir), "--db", str(db)]
    return [*args, "--firm", firm, "--seed", str(seed)]


def _start_full_sync(client: Api, *, timeout: float = 600) -> tuple[str, float]:
    """Start a full sync (waiting out one already running); its id and the time it started."""
    deadline = time.monotonic() + timeout
    while True:
        began = time.perf_counter()
        try:
            started = client.send(
                "connector",
                "POST",
                client.firm_path("/syncs"),
                json={"kind": "full"},
                role=Role.CASHIER,
            )
            return str(started["sync_id"]), began
        except ServiceError as error:
            if error.status != 409 or time.monotonic() > deadline:
                raise
            time.sleep(1)


def run(
    firm: str = "medium",
    smoke: bool = False,
    *,
    firm_dir: Path | None = None,
    seed: int = 1,
    jurisdiction: str = "ie",
    durable: bool = True,
    profile: Path | None = None,
    statements: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    """The full-sync pipeline on a generated firm (``tiny`` with ``smoke``) and its limits.
    With ``profile`` (a folder), py-spy samples each service during the pipeline; with
    ``statements``, PostgreSQL's ``pg_stat_statements`` names the statements that took most of
    the database's time during it (the top ``statements``, per schema)."""
    console = console or Console(stderr=True)
    if statements:
        os.environ[SETTINGS_VARIABLE] = (
            os.environ.get(SETTINGS_VARIABLE, "")
            + " shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all"
        )
    profiler: Profiler | None = None
    if profile is not None:
        py_spy = shutil.which("py-spy") or str(Path.home() / ".local/bin/py-spy")
        if not Path(py_spy).exists():
            raise RuntimeError("--profile needs py-spy on PATH (`uv tool install py-spy`)")
        profiler = Profiler(profile, py_spy)
    if smoke:
        firm = "tiny"
    if firm not in SIZES:
        raise ValueError(f"firm must be one of {', '.join(SIZES)}, not {firm!r}")
    began_all = time.perf_counter()
    probe = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    connector_env = sandbox_connector_env(probe, poll_seconds="0")  # nothing but the full sync
    callback = connector_env["CLIO_REDIRECT_URI"]
    sandbox_args = [
        *_sandbox_args(firm, firm_dir, seed, jurisdiction),
        "--redirect-uri",
        callback,
    ]
    what = str(firm_dir) if firm_dir else f"the {firm} firm"
    console.print(f"Starting the stack and the Clio sandbox serving {what} ...")
    with (
        MemoryWatch() as watch,
        running_stack(
            durable=durable, service_env={"connector": connector_env}, ports=probe.ports
        ) as stack,
    ):
        # The sandbox generates (or loads) the firm before it answers: minutes for a large one.
        sandbox_url = stack.start_sandbox(sandbox_args, timeout=3600)
        ready_s = time.perf_counter() - began_all
        firm_meta = httpx.get(f"{sandbox_url}/_control/firm", timeout=60).json()
        target = Target(
            firm_id=FIRM_ID,
            urls={name: service.url for name, service in stack.services.items()},
            signing_key=stack.auth_signing_key,
        )
        console.print(f"Ready in {ready_s:.0f}s; sandbox counts {firm_meta.get('counts')}")
        with Api(target) as client:
            name = str(firm_meta["meta"]["firm_name"])
            set_up_firm(client, jurisdiction=jurisdiction, firm_name=name)
            link_clio(client, console, follow=True)
            settings = client.get("connector", client.firm_path("/settings"))
            client.send("connector", "PUT", client.firm_path("/settings"), json=settings)
            console.print("Full sync ...")
            if profiler is not None:
                profiler.start(stack)
            if statements:
                asyncio.run(_reset_statements(stack.database_url))
            cpu_at_start = cpu_seconds_by_part()
            sync_id, began = _start_full_sync(client)
        timeline = asyncio.run(
            _follow_sync(
                target, stack.kafka_bootstrap_servers, began, sync_id, give_up_after=4 * 3600
            )
        )
        watch.sample()
        watch.stop()  # the limits below are not the pipeline's memory
        profiles = profiler.stop() if profiler is not None else {}
        top = asyncio.run(_top_statements(stack.database_url, statements)) if statements else []
        console.print(
            f"Sync done {timeline.sync_done_s:.1f}s, ledger posted {timeline.ledger_posted_s:.1f}s,"
            f" reports current {timeline.reports_current_s:.1f}s. Measuring the limits ..."
        )
        limits = asyncio.run(_limits(stack, sandbox_url, timeline))
    result = _figures(firm, firm_dir, durable, ready_s, timeline, limits, watch.peaks)
    # What `cashroom demo` does up to its reports (stack, set-up, OAuth link, sync, reports
    # current), from this process's start of the stack: the demo's wall time less its
    # reconciliation and printing.
    result["seconds_from_start_to_reports_current"] = round(
        began - began_all + (timeline.reports_current_s or 0.0), 1
    )
    result["cpu_seconds"] = cpu_by_phase(
        cpu_at_start,
        timeline.cpu_at,
        {
            "sync_done": timeline.sync_done_s or 0.0,
            "ledger_posted": timeline.ledger_posted_s or 0.0,
            "reports_current": timeline.reports_current_s or 0.0,
        },
    )
    if profiles:
        result["profiles"] = profiles
    if top:
        result["postgres_statements"] = top
    return result


async def _reset_statements(database_url: str) -> None:
    connection = await asyncpg.connect(_plain_dsn(database_url))
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()


async def _top_statements(database_url: str, limit: int) -> list[dict[str, Any]]:
    """The statements that took most of PostgreSQL's time since the reset (every service's):
    calls, total and mean milliseconds, share of all statements' time, rows."""
    connection = await asyncpg.connect(_plain_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT calls, total_exec_time, rows, "
            "regexp_replace(query, '\\s+', ' ', 'g') AS query "
            "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
            limit,
        )
        total = await connection.fetchval("SELECT sum(total_exec_time) FROM pg_stat_statements")
    finally:
        await connection.close()
    return [
        {
            "calls": row["calls"],
            "total_ms": round(row["total_exec_time"]),
            "share": round(row["total_exec_time"] / total, 3) if total else 0.0,
            "mean_ms": round(row["total_exec_time"] / max(row["calls"], 1), 3),
            "rows": row["rows"],
            "query": row["query"][:300],
        }
        for row in rows
    ]


async def _limits(stack: Stack, sandbox_url: str, timeline: Timeline) -> dict[str, Any]:
    state = timeline.final_state
    dsn = _plain_dsn(stack.database_url)
    connection = await asyncpg.connect(dsn, server_settings={"search_path": "ledger"})
    try:
        lines = int(
            await connection.fetchval(
                "SELECT count(*) FROM journal_lines WHERE firm_id = $1", FIRM_ID
            )
        )
    finally:
        await connection.close()
    fetch = await raw_fetch(sandbox_url, list(state.get("resources") or []))
    published = sum(timeline.clio_end_offsets.values())
    payload = await typical_event(stack.kafka_bootstrap_servers, CLIO_EVENTS)
    broker = await broker_round_trip(
        stack.kafka_bootstrap_servers,
        messages=published,
        payload=payload,
        topic=f"bench.pipeline.{uuid.uuid4().hex[:8]}",
    )
    copy = await copy_journal_lines(dsn, FIRM_ID)
    return {
        "journal_lines": lines,
        "clio_events_published": published,
        "ledger_events": sum(timeline.ledger_end_offsets.values()),
        "event_bytes": len(payload),
        "fetch": fetch,
        "broker": broker,
        "copy": copy,
    }


def _figures(
    firm: str,
    firm_dir: Path | None,
    durable: bool,
    ready_s: float,
    timeline: Timeline,
    limits: dict[str, Any],
    peaks: MemoryPeaks,
) -> dict[str, Any]:
    state = timeline.final_state
    totals = state.get("totals") or {}
    records = int(totals.get("records", 0))
    seconds = float(timeline.reports_current_s or 0.0)
    per_s = records / seconds if seconds else 0.0
    events, lines = int(limits["clio_events_published"]), int(limits["journal_lines"])
    fetch, broker, copy = limits["fetch"], limits["broker"], limits["copy"]
    in_records = {
        "fetch": float(fetch["records_per_s"]),
        # events/s × records per event
        "broker": float(broker["round_trip_per_s"]) * records / events if events else 0.0,
        # lines/s × records per line
        "copy": float(copy["rows_per_s"]) * records / lines if lines else 0.0,
    }
    memory = peaks.report_mb()
    services = [s.name for s in SERVICES]
    return {
        "firm": str(firm_dir) if firm_dir else firm,
        "durable_postgres": durable,
        "stack_ready_seconds": round(ready_s, 1),
        "records": records,
        "pages": int(totals.get("pages", 0)),
        "clio_events_published": events,
        "journal_lines": lines,
        "ledger_events": int(limits["ledger_events"]),
        "seconds_to_sync_done": round(timeline.sync_done_s or 0.0, 2),
        "seconds_to_ledger_posted": round(timeline.ledger_posted_s or 0.0, 2),
        "seconds_to_reports_current": round(seconds, 2),
        "records_per_second": round(per_s),
        "records_per_second_to_sync_done": (
            round(records / timeline.sync_done_s) if timeline.sync_done_s else 0
        ),
        "limits": {
            "fetch_httpx": {**fetch, "records_per_s": round(in_records["fetch"])},
            "broker_round_trip": {
                **{k: round(v) for k, v in broker.items()},
                "event_bytes": limits["event_bytes"],
                "records_per_s": round(in_records["broker"]),
            },
            "copy_journal_lines": {
                "rows": int(copy["rows"]),
                "rows_per_s": round(copy["rows_per_s"]),
                "seconds": round(copy["seconds"], 2),
                "records_per_s": round(in_records["copy"]),
            },
        },
        "slowest_limit": min(in_records, key=lambda k: in_records[k]),
        "ratio": round(ratio_to_slowest(per_s, in_records), 3),
        "peak_rss_mb": {part: memory[part]["peak_rss_mb"] for part in memory},
        "memory": memory,
        "services_under_250_mb": all(
            memory.get(s, {}).get("peak_rss_mb", 0) < 250 for s in services
        ),
        "memory_samples": peaks.samples,
        "sync": {
            "sync_id": timeline.sync_id,
            "totals": totals,
            "clio": state.get("clio"),
            "seconds": state.get("seconds"),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


# --- Output ------------------------------------------------------------------------------------


def print_table(result: Mapping[str, Any], console: Console) -> None:
    records = result["records"]
    table = Table(title=f"Full-sync pipeline: {result['firm']} ({records:,} Clio records)")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_column("records/s", justify="right")
    for label, key in (
        ("sync done (read + published)", "seconds_to_sync_done"),
        ("ledger posted everything", "seconds_to_ledger_posted"),
        ("reports current", "seconds_to_reports_current"),
    ):
        seconds = float(result[key])
        table.add_row(label, f"{seconds:,.1f} s", f"{records / seconds:,.0f}" if seconds else "—")
    limits = result["limits"]
    fetch, broker, copy = (
        limits["fetch_httpx"],
        limits["broker_round_trip"],
        limits["copy_journal_lines"],
    )
    table.add_row(
        "limit (a): same pages with httpx alone",
        f"{fetch['records']:,} records in {fetch['seconds']:,.1f} s",
        f"{fetch['records_per_s']:,}",
    )
    table.add_row(
        "limit (b): broker produce + consume",
        f"{broker['messages']:,} events at {broker['round_trip_per_s']:,}/s",
        f"{broker['records_per_s']:,}",
    )
    table.add_row(
        "limit (c): COPY of the journal lines",
        f"{copy['rows']:,} lines at {copy['rows_per_s']:,}/s",
        f"{copy['records_per_s']:,}",
    )
    table.add_row(
        "ratio: pipeline / slowest limit",
        f"{result['ratio']} (slowest: {result['slowest_limit']})",
        "target ≥ 0.5",
    )
    console.print(table)
    memory = Table(title="Peak resident memory during the sync (MB; target < 250 per service)")
    for column in ("part", "peak RSS (sum of its processes)", "largest process", "processes"):
        memory.add_column(column)
    for part, figures in result["memory"].items():
        memory.add_row(
            part,
            f"{figures['peak_rss_mb']:,.1f}",
            f"{figures['largest_process_mb']:,.1f}",
            str(figures["processes"]),
        )
    console.print(memory)
    phases = result.get("cpu_seconds", {})
    cpu = Table(title="CPU seconds per part of the stack, phase by phase")
    cpu.add_column("part")
    for phase in phases:
        cpu.add_column(f"to {phase.replace('_', ' ')}", justify="right")
    parts = sorted({p for used in phases.values() for p in used} - {"wall_seconds"})
    parts.sort(key=lambda p: p == "stack_share_of_2_cores")
    for part in ["wall_seconds", *parts]:
        cpu.add_row(part, *(f"{used.get(part, 0):,.2f}" for used in phases.values()))
    console.print(cpu)
    if result.get("postgres_statements"):
        top = Table(title="PostgreSQL's time by statement during the pipeline")
        for column in ("calls", "total ms", "share", "mean ms", "statement"):
            top.add_column(column, overflow="fold")
        for row in result["postgres_statements"]:
            top.add_row(
                f"{row['calls']:,}",
                f"{row['total_ms']:,}",
                f"{row['share']:.1%}",
                f"{row['mean_ms']:,.2f}",
                row["query"][:160],
            )
        console.print(top)
    for name, summary in result.get("profiles", {}).items():
        console.print(f"[bold]{name}[/bold]: {summary['cpu_seconds_sampled']} CPU s sampled")
        for frame, percent in summary["self_percent"]:
            console.print(f"   self {percent:5.1f}%  {frame}")
        for frame, percent in summary["ours_inclusive_percent"]:
            console.print(f"   incl {percent:5.1f}%  {frame}")
    console.print(
        f"stack ready {result['stack_ready_seconds']} s; from the stack's start to reports "
        f"current {result.get('seconds_from_start_to_reports_current')} s; "
        f"load average {result['load_average']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--firm", default="medium", choices=SIZES)
    parser.add_argument("--firm-dir", type=Path, help="serve a firm written by `generate`")
    parser.add_argument("--smoke", action="store_true", help="the tiny firm")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jurisdiction", default="ie", choices=["ie", "ew"])
    parser.add_argument("--no-durable", action="store_true", help="PostgreSQL with fsync off")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--profile", type=Path, help="py-spy each service into this folder")
    parser.add_argument(
        "--statements", type=int, default=0, metavar="N", help="the N costliest SQL statements"
    )
    args = parser.parse_args()
    console = Console(width=150)
    result = run(
        args.firm,
        args.smoke,
        firm_dir=args.firm_dir,
        seed=args.seed,
        jurisdiction=args.jurisdiction,
        durable=not args.no_durable,
        profile=args.profile,
        statements=args.statements,
        console=console,
    )
    print_table(result, console)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
