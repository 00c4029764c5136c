"""The benchmark runs end to end at a tiny size (the real figures: bench/bench_reporting.py)."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from cashroom_chassis.testing import Infrastructure

BENCH = Path(__file__).parents[3] / "bench" / "bench_reporting.py"


async def test_the_benchmark_measures_every_report_and_the_full_recomputation(
    infrastructure: Infrastructure,
) -> None:
    spec = importlib.util.spec_from_file_location("bench_reporting", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = await asyncio.to_thread(
        bench.run, 3000, infrastructure.database_url, samples=3, incremental=20
    )
    assert result["journal_lines"] >= 3000
    assert result["full_recomputation_s"] >= 0
    assert set(result["reports"]) >= {"trial-balance", "aged-debtors", "vat-return", "audit-trail"}
    assert all(r["p95_ms"] > 0 for r in result["reports"].values())
    assert result["incremental_handler"]["journals"] == 20
