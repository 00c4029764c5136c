"""``make bench`` (``python -m bench``): every benchmark, each beside the limit of the part it
runs on, measured in the same run, and their ratio.

    python -m bench                      # full sizes (tens of minutes)
    python -m bench --smoke              # tiny sizes, to check they still run
    python -m bench --only ledger,reconciliation
    python -m bench --only pipeline,clio_cost,freshness

Benchmarks: reconciliation, ledger, reporting, pipeline (with each service's peak memory),
clio_cost, freshness.

Writes ``bench/results/latest.json`` and prints a table to paste into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    benchmark: str
    figure: float
    unit: str
    limit: float | None
    limit_name: str
    ratio: float | None  # figure / limit where higher is better; limit / figure for times
    target: str
    met: bool | None
    details: dict[str, Any] = field(default_factory=dict)


def reconciliation(smoke: bool) -> list[Row]:
    """Auto-matching statement lines to cashbook entries; the limit is the least work any
    matcher must do on the same data: sort both sides and join them on amount in a dict."""
    from bench import bench_reconciliation_matching as rec

    n = 2_000 if smoke else 100_000
    result = rec.run(n)
    world = rec.generate(n)
    began = time.perf_counter()
    by_amount: dict[int, list[Any]] = {}
    for entry in sorted(world.entries, key=lambda e: e.amount.amount_minor):
        by_amount.setdefault(entry.amount.amount_minor, []).append(entry)
    joined = sum(
        1
        for line in sorted(world.lines, key=lambda row: row.amount.amount_minor)
        if by_amount.get(line.amount.amount_minor)
    )
    floor = time.perf_counter() - began
    seconds = float(result["match_seconds"])
    return [
        Row(
            benchmark=f"reconciliation: auto-match {n:,} lines × {n:,} entries",
            figure=seconds,
            unit="s",
            limit=round(floor, 3),
            limit_name="sort + hash join on amount (same data)",
            ratio=round(floor / seconds, 3) if seconds else None,
            target="< 5 s and ≥ 98% matched (100k)",
            met=None if smoke else bool(result["meets_target"]),
            details={**result, "exact_amount_joinable_lines": joined},
        )
    ]


def ledger(smoke: bool) -> list[Row]:
    """Journal lines posted per second through the ledger's real consumer path, against a raw
    COPY of the same lines into a table of the same shape."""
    from bench import bench_ledger

    events = 3_000 if smoke else 100_000
    result = bench_ledger.run(events)
    return [
        Row(
            benchmark=f"ledger: {events:,} Clio events posted through the consumer",
            figure=float(result["lines_per_s"]),
            unit="journal lines/s",
            limit=float(result["copy_lines_per_s"]),
            limit_name="COPY of the same lines (durable PostgreSQL)",
            ratio=float(result["ratio_to_copy"]),
            target="≥ 20,000 lines/s",
            met=None if smoke else result["lines_per_s"] >= 20_000,
            details=result,
        )
    ]


def reporting(smoke: bool) -> list[Row]:
    """p95 latency of each report from the maintained aggregates, against computing the same
    report by scanning the journal lines."""
    from bench import bench_reporting

    lines = 5_000 if smoke else 1_000_000
    result = bench_reporting.run(
        lines, samples=5 if smoke else 20, incremental=50 if smoke else 300
    )
    reports = result["reports"]
    worst_name, worst = max(
        (
            (name, float(figures["p95_ms"]))
            for name, figures in reports.items()
            if "p95_ms" in figures
        ),
        key=lambda item: item[1],
    )
    scans = result.get("full_scan_for_comparison", {})
    scan_p95 = max((float(f["p95_ms"]) for f in scans.values() if "p95_ms" in f), default=None)
    return [
        Row(
            benchmark=f"reporting: worst report p95 at {result.get('journal_lines', lines):,} lines ({worst_name})",
            figure=worst,
            unit="ms",
            limit=scan_p95,
            limit_name="the same reports by scanning journal lines (p95)",
            ratio=round(scan_p95 / worst, 2) if scan_p95 and worst else None,
            target="p95 < 100 ms per report at 1M lines",
            met=None if smoke else worst < 100,
            details=result,
        )
    ]


def pipeline(smoke: bool) -> list[Row]:
    """Full sync of a generated firm through the whole stack until the reports are current,
    against the slowest of: fetching the same pages with httpx alone, a broker round trip of the
    same number of events, a COPY of the same journal lines. Also each service's peak memory."""
    from bench import bench_pipeline

    result = bench_pipeline.run("tiny" if smoke else "medium", smoke=smoke)
    limits = result["limits"]
    slowest = {
        "fetch": "fetch_httpx",
        "broker": "broker_round_trip",
        "copy": "copy_journal_lines",
    }[result["slowest_limit"]]
    services = ("connector", "ledger", "reconciliation", "reporting")
    peaks = {name: mb for name, mb in result["peak_rss_mb"].items() if name in services}
    heaviest = max(peaks, key=lambda name: peaks[name]) if peaks else "none"
    return [
        Row(
            benchmark=f"pipeline: full sync of {result['records']:,} Clio records to reports current",
            figure=float(result["records_per_second"]),
            unit="records/s",
            limit=float(limits[slowest]["records_per_s"]),
            limit_name=f"slowest part alone on the same data ({slowest})",
            ratio=float(result["ratio"]),
            target="ratio ≥ 0.5 (indicative ≥ 5,000 records/s)",
            met=None if smoke else result["ratio"] >= 0.5,
            details={k: v for k, v in result.items() if k != "memory_samples"},
        ),
        Row(
            benchmark=f"memory: peak RSS of the heaviest service ({heaviest}) in that sync",
            figure=float(peaks.get(heaviest, 0.0)),
            unit="MB",
            limit=None,
            limit_name="",
            ratio=None,
            target="< 250 MB per service (1M-record sync)",
            met=None if smoke else all(mb < 250 for mb in peaks.values()),
            details={"peak_rss_mb": result["peak_rss_mb"], "firm": result["firm"]},
        ),
    ]


def clio_cost(smoke: bool) -> list[Row]:
    """Clio requests: per 1,000 records in a full sync (against the structural floor of the
    same firm's pages), for an incremental sync with nothing changed, and the share of the peak
    allowance (50/min) a long sync uses."""
    from bench import bench_clio_cost

    result = bench_clio_cost.run(smoke)
    full, quiet = result["full_sync"], result["incremental_nothing_changed"]
    rows = [
        Row(
            benchmark=f"Clio cost: requests per 1,000 records, full sync ({full['records']:,})",
            figure=float(full["requests_per_1000_records"]),
            unit="requests",
            limit=float(full["structural_floor_per_1000"]),
            limit_name="one request per page the firm's records need (same firm)",
            ratio=round(
                float(full["structural_floor_per_1000"]) / full["requests_per_1000_records"], 3
            ),
            target="≤ 5.2 (floor 5.0 at 200 a page)",
            met=None if smoke else bool(full["meets_target"]),
            details=full,
        ),
        Row(
            benchmark="Clio cost: most requests of one resource, incremental with nothing changed",
            figure=float(quiet["max_requests_of_a_resource"]),
            unit="requests",
            limit=1.0,
            limit_name="one empty page",
            ratio=round(1.0 / quiet["max_requests_of_a_resource"], 3)
            if quiet["max_requests_of_a_resource"]
            else None,
            target="≤ 1 per resource",
            met=None if smoke else bool(quiet["meets_target"]),
            details=quiet,
        ),
    ]
    peak = result.get("peak_allowance")
    if peak:
        rows.append(
            Row(
                benchmark=f"Clio cost: share of the allowance used at {peak['limit_per_window']}"
                f" per {peak['window_seconds']} s",
                figure=float(peak["share_of_allowance"]) * 100,
                unit="%",
                limit=100.0,
                limit_name="the allowance",
                ratio=round(float(peak["share_of_allowance"]), 3),
                target="≥ 95%",
                met=None if smoke else peak["share_of_allowance"] >= 0.95,
                details=peak,
            )
        )
    return rows


def freshness(smoke: bool) -> list[Row]:
    """A change made in Clio (webhook fired) until the journal is posted and the report shows
    it, over many changes."""
    from bench import bench_freshness

    result = bench_freshness.run(smoke)
    journal, report = result["to_journal_s"], result["to_report_s"]
    return [
        Row(
            benchmark=f"freshness: Clio change to report, p95 over {result['changes']} changes"
            f" (to journal p95 {journal['p95']:.2f} s; p50 {journal['p50']:.2f} / {report['p50']:.2f} s)",
            figure=float(report["p95"]),
            unit="s",
            limit=float(result["debounce_seconds"]),
            limit_name="the webhook debounce the connector waits",
            ratio=None,
            target="p95 < 2 s",
            met=None if smoke else bool(result["meets_target"]),
            details={k: v for k, v in result.items() if k != "per_change"},
        )
    ]


BENCHMARKS: dict[str, Callable[[bool], list[Row]]] = {
    "reconciliation": reconciliation,
    "ledger": ledger,
    "reporting": reporting,
    "pipeline": pipeline,
    "clio_cost": clio_cost,
    "freshness": freshness,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    random.seed(1)
    console = Console()
    rows: list[Row] = []
    for name in chosen:
        console.print(f"[bold]{name}[/bold] ...")
        began = time.perf_counter()
        rows.extend(BENCHMARKS[name](args.smoke))
        console.print(f"  done in {time.perf_counter() - began:.0f}s")
    table = Table(title="Cashroom benchmarks (figure, limit measured in the same run, ratio)")
    for column in ("benchmark", "figure", "limit", "ratio", "target", "met"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.benchmark,
            f"{row.figure:,.2f} {row.unit}",
            f"{row.limit:,.2f} ({row.limit_name})" if row.limit is not None else "—",
            f"{row.ratio}" if row.ratio is not None else "—",
            row.target,
            {True: "yes", False: "NO", None: "smoke"}[row.met],
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "machine": {
                    "python": platform.python_version(),
                    "cpus": _cpus(),
                    "platform": platform.platform(),
                },
                "smoke": args.smoke,
                "results": [asdict(r) for r in rows],
            },
            indent=2,
            default=str,
        )
    )
    console.print(f"wrote {args.out}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
