"""How the pipeline benchmark reads its figures: when the reports count as current, which part
of the stack a process belongs to, peak memory per part, and the ratio to the slowest limit.
The end-to-end run on the tiny firm is the slow test at the bottom."""

from __future__ import annotations

import pytest

from bench.bench_pipeline import (
    MemoryPeaks,
    classify,
    cpu_by_phase,
    ratio_to_slowest,
    reports_current,
    summarise_stacks,
)

LEDGER = "ledger.events.v1"
MB = 1024 * 1024


class TestReportsCurrent:
    def test_current_when_the_last_event_of_every_non_empty_partition_is_applied(self) -> None:
        # Partition 1 holds offsets 0..1317: its last event is 1317. Partitions 0 and 2 are empty.
        positions = [
            {"topic": "clio.events.v1", "partition": 1, "offset": 40},
            {"topic": LEDGER, "partition": 1, "offset": 1317},
        ]
        assert reports_current(positions, {0: 0, 1: 1318, 2: 0}, LEDGER)

    def test_not_current_while_one_event_is_left(self) -> None:
        positions = [{"topic": LEDGER, "partition": 1, "offset": 1316}]
        assert not reports_current(positions, {1: 1318}, LEDGER)

    def test_a_partition_with_events_but_no_position_is_not_current(self) -> None:
        positions = [{"topic": LEDGER, "partition": 1, "offset": 9}]
        assert not reports_current(positions, {0: 5, 1: 10}, LEDGER)

    def test_a_position_on_another_topic_does_not_count(self) -> None:
        positions = [{"topic": "clio.events.v1", "partition": 1, "offset": 99}]
        assert not reports_current(positions, {1: 10}, LEDGER)

    def test_an_empty_topic_is_current(self) -> None:
        assert reports_current([], {0: 0, 1: 0}, LEDGER)


class TestClassify:
    @pytest.mark.parametrize(
        ("cmdline", "name", "part"),
        [
            (["/w/.venv/bin/python", "-m", "clio_connector"], "python", "connector"),
            (["/w/.venv/bin/python", "-m", "cashroom_ledger"], "python", "ledger"),
            (["/w/.venv/bin/python", "-m", "cashroom_reconciliation"], "python", "reconciliation"),
            (["/w/.venv/bin/python", "-m", "cashroom_reporting"], "python", "reporting"),
            (["python", "-m", "clio_sandbox", "--port", "1"], "python", "sandbox"),
            (["/opt/pg/bin/postgres", "-D", "/tmp/x"], "postgres", "postgres"),
            (["postgres: checkpointer "], "postgres", "postgres"),
            (["/b/tansu", "broker", "--listener-url", "tcp://127.0.0.1:1"], "tansu", "broker"),
            (["/usr/bin/sleep", "5"], "sleep", None),
        ],
    )
    def test_part_of_the_stack(self, cmdline: list[str], name: str, part: str | None) -> None:
        assert classify(cmdline, name) == part


class TestMemoryPeaks:
    def test_a_part_peaks_at_its_largest_sum_over_one_sample(self) -> None:
        peaks = MemoryPeaks()
        # PostgreSQL: two processes of 30 + 50 MB, then three of 20 + 20 + 20 MB.
        peaks.add_sample([("postgres", 1, 30 * MB), ("postgres", 2, 50 * MB)])
        peaks.add_sample(
            [("postgres", 1, 20 * MB), ("postgres", 2, 20 * MB), ("postgres", 3, 20 * MB)]
        )
        report = peaks.report_mb()["postgres"]
        assert report["peak_rss_mb"] == 80.0  # 30 + 50 > 20 + 20 + 20
        assert report["largest_process_mb"] == 50.0
        assert report["processes"] == 3

    def test_parts_are_kept_apart(self) -> None:
        peaks = MemoryPeaks()
        peaks.add_sample([("ledger", 10, 100 * MB), ("reporting", 11, 140 * MB)])
        peaks.add_sample([("ledger", 10, 120 * MB)])
        report = peaks.report_mb()
        assert report["ledger"]["peak_rss_mb"] == 120.0
        assert report["reporting"]["peak_rss_mb"] == 140.0
        assert peaks.samples == 2


class TestRatio:
    def test_pipeline_over_the_slowest_limit(self) -> None:
        # 6,000 records/s against limits of 12,000, 30,000 and 90,000 records/s: 6,000 / 12,000.
        limits = {"fetch": 12_000.0, "broker": 30_000.0, "copy": 90_000.0}
        assert ratio_to_slowest(6_000.0, limits) == 0.5

    def test_a_limit_of_nothing_gives_no_ratio(self) -> None:
        assert ratio_to_slowest(6_000.0, {"fetch": 0.0, "copy": 1.0}) == 0.0


class TestCpuByPhase:
    def test_each_phase_counts_from_the_previous_milestone(self) -> None:
        start = {"connector": 10.0, "reporting": 5.0}
        marks = {
            "sync_done": {"connector": 30.0, "reporting": 9.0},
            "ledger_posted": {"connector": 31.0, "reporting": 19.0},
            "reports_current": {"connector": 31.6, "reporting": 49.0, "postgres": 4.0},
        }
        phases = cpu_by_phase(
            start, marks, {"sync_done": 20.0, "ledger_posted": 30.0, "reports_current": 60.0}
        )
        # Sync: 20 s wall; connector 30 - 10 = 20, reporting 9 - 5 = 4; (20 + 4) / (2 × 20).
        assert phases["sync_done"] == {
            "connector": 20.0,
            "reporting": 4.0,
            "wall_seconds": 20.0,
            "stack_share_of_2_cores": 0.6,
        }
        # Ledger: 10 s wall; 1 + 10 = 11 of 20 core-seconds.
        assert phases["ledger_posted"]["stack_share_of_2_cores"] == 0.55
        # Reports: 30 s wall; connector 0.6, reporting 30, postgres first seen: 4 - 0;
        # (0.6 + 4 + 30) / 60 = 0.5767.
        assert phases["reports_current"] == {
            "connector": 0.6,
            "postgres": 4.0,
            "reporting": 30.0,
            "wall_seconds": 30.0,
            "stack_share_of_2_cores": 0.58,
        }

    def test_a_milestone_not_reached_has_no_phase(self) -> None:
        phases = cpu_by_phase({}, {"sync_done": {"ledger": 1.0}}, {"sync_done": 2.0})
        assert list(phases) == ["sync_done"]


class TestProfileSummary:
    def test_cpu_seconds_self_and_our_own_code_on_the_stack(self) -> None:
        stacks = [
            "main (asyncio/base_events.py);handle (cashroom_ledger/consumer.py);flush (sqlalchemy/x.py) 30",
            "main (asyncio/base_events.py);handle (cashroom_ledger/consumer.py) 10",
            "main (asyncio/base_events.py);select (selectors.py) 10",
            "not a stack line",
        ]
        summary = summarise_stacks(stacks, rate=25)
        # 30 + 10 + 10 = 50 samples at 25 a second: 2.0 s.
        assert summary["cpu_seconds_sampled"] == 2.0
        # flush ran in 30 of 50 samples (60%), handle itself in 10 (20%), select in 10 (20%).
        assert summary["self_percent"] == [
            ("flush (sqlalchemy/x.py)", 60.0),
            ("handle (cashroom_ledger/consumer.py)", 20.0),
            ("select (selectors.py)", 20.0),
        ]
        # The ledger's handler was on the stack in 30 + 10 of 50 samples.
        assert summary["ours_inclusive_percent"] == [("handle (cashroom_ledger/consumer.py)", 80.0)]


@pytest.mark.slow
def test_the_tiny_firm_goes_through_the_whole_pipeline() -> None:
    """About two minutes: the stack, the sync, the reports current, the three limits."""
    from bench.bench_pipeline import run

    result = run(smoke=True)
    assert result["records"] > 0
    assert result["seconds_to_sync_done"] <= result["seconds_to_ledger_posted"]
    assert result["seconds_to_ledger_posted"] <= result["seconds_to_reports_current"]
    assert result["limits"]["fetch_httpx"]["records"] == result["records"]
    assert result["limits"]["copy_journal_lines"]["rows"] == result["journal_lines"] > 0
    assert result["limits"]["broker_round_trip"]["messages"] == result["clio_events_published"]
    assert set(result["peak_rss_mb"]) >= {"connector", "ledger", "reconciliation", "reporting"}
