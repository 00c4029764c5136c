"""Freshness: how long a change made in Clio takes to reach the books and the reports.

    .venv/bin/python -m bench.bench_freshness                 # 100 changes on the small firm
    .venv/bin/python -m bench.bench_freshness --debounce 2.0  # the connector's old debounce
    .venv/bin/python -m bench.bench_freshness --smoke         # the tiny firm, 5 changes

1. Starts Cashroom as ``cashroom demo`` does (the whole stack against the Clio sandbox, the
   connector's polling off: webhooks alone bring changes), sets the firm up, links Clio (the
   connector subscribes to Clio's webhooks), runs the full sync and waits until the ledger
   has posted it, two first changes have reached the reports, and the reporting service has
   applied every event on the topics it reads (so nothing measured queues behind the backlog).
2. Then, one at a time, makes a change through the sandbox's control API that fires a Clio
   webhook: a disbursement paid to a vendor from the office account, on an open matter
   (``POST /_control/expense_entries``; the ledger posts it as DR matter office side, CR
   office bank). From just before that request it polls, every 50 ms, (i) the ledger for the
   journal of that Clio record (``GET /firms/{f}/journals?source_type=Activity&source_id=``)
   and (ii) the reporting service's matter ledger card for the day until a line names the
   change; the next change starts when both have seen it.
3. Reports p50 / p95 / max of both, and where the time went: from the change to the webhook
   sync starting (the debounce), to it ending (reading Clio, publishing), to the journal.

``run()`` returns the figures; ``--json`` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.bench_clio_cost import LinkedFirm, finished_sync, linked_firm, start_sync
from cashroom_chassis.auth import Role
from cashroom_contracts.topics import CLIO_EVENTS, LEDGER_EVENTS

POLL_SECONDS = 0.05  # how often the ledger and the report are asked
TARGET_P95_SECONDS = 2.0
GIVE_UP_SECONDS = 60.0
# The first changes wait behind the full sync's backlog in the ledger and reporting (minutes
# for the small firm); they are not counted.
WARM_UP_CHANGES = 2
WARM_UP_GIVE_UP_SECONDS = 1800.0


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the values at
    or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


async def _clio_choices(sandbox_url: str) -> tuple[list[int], int]:
    """Open matters, and a vendor Clio already has disbursements for."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as http:
        issued = await http.post("/_control/tokens", json={})
        issued.raise_for_status()
        http.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"
        matters = await http.get(
            "/api/v4/matters.json", params={"fields": "id,status", "limit": 200}
        )
        matters.raise_for_status()
        open_matters = [m["id"] for m in matters.json()["data"] if m["status"] == "Open"]
        url: str | None = "/api/v4/activities.json"
        params: dict[str, Any] | None = {"fields": "id,type,vendor{id}", "limit": 200}
        while url is not None:
            page = await http.get(url, params=params)
            page.raise_for_status()
            body = page.json()
            for activity in body["data"]:
                if activity.get("type") == "HardCostEntry" and activity.get("vendor"):
                    return open_matters, int(activity["vendor"]["id"])
            url, params = body.get("meta", {}).get("paging", {}).get("next"), None
    raise RuntimeError("the firm has no disbursement with a vendor to copy")


class Probe:
    """Watches the ledger and the reporting service for one change."""

    def __init__(self, firm: LinkedFirm, http: httpx.AsyncClient) -> None:
        self.firm = firm
        self.http = http
        self.viewer = firm.headers(Role.VIEWER)
        self.give_up = WARM_UP_GIVE_UP_SECONDS

    async def journal_posted(self, activity_id: int) -> bool:
        answer = await self.http.get(
            f"{self.firm.url('ledger')}/firms/{self.firm.firm_id}/journals",
            params={"source_type": "Activity", "source_id": str(activity_id)},
            headers=self.viewer,
        )
        return answer.status_code == 200 and bool(answer.json())

    async def report_shows(self, matter_id: int, day: date, marker: str) -> bool:
        answer = await self.http.get(
            f"{self.firm.url('reporting')}/firms/{self.firm.firm_id}/reports/matter-ledger/"
            f"{matter_id}",
            params={"from": day.isoformat(), "to": day.isoformat()},
            headers=self.viewer,
        )
        return answer.status_code == 200 and marker in answer.text

    async def until(self, check: Any, began: float) -> float:
        while True:
            if await check():
                return time.perf_counter() - began
            if time.perf_counter() - began > self.give_up:
                raise TimeoutError(f"not seen in {self.give_up:.0f}s")
            await asyncio.sleep(POLL_SECONDS)


async def one_change(
    probe: Probe, *, matter_id: int, vendor_id: int, number: int, tag: str
) -> dict[str, Any]:
    """A disbursement paid to a vendor, made in Clio; seconds to the journal and the report."""
    marker = f"freshness {tag} #{number}"
    wall = time.time()
    began = time.perf_counter()
    made = await probe.http.post(
        f"{probe.firm.sandbox_url}/_control/expense_entries",
        json={
            "matter_id": matter_id,
            "type": "HardCostEntry",
            "price": str(Decimal(1000 + number) / 100),
            "vendor_id": vendor_id,
            "tax_setting": "no_tax",
            "note": marker,
        },
    )
    made.raise_for_status()
    record = made.json()["data"]
    activity_id, day = int(record["id"]), date.fromisoformat(str(record["date"]))
    journal, report = await asyncio.gather(
        probe.until(lambda: probe.journal_posted(activity_id), began),
        probe.until(lambda: probe.report_shows(matter_id, day, marker), began),
    )
    return {
        "activity_id": activity_id,
        "matter_id": matter_id,
        "made_at": wall,
        "journal_s": journal,
        "report_s": report,
    }


def _webhook_syncs(firm: LinkedFirm) -> list[tuple[float, float]]:
    """(started, finished) of the firm's webhook syncs, Unix seconds."""
    runs: list[dict[str, Any]] = firm.api.get(
        "connector", firm.api.firm_path("/syncs"), role=Role.VIEWER, params={"limit": 500}
    )
    spans = []
    for run in runs:
        if run.get("trigger") != "webhook" or not run.get("finished_at"):
            continue
        spans.append(
            (
                datetime.fromisoformat(run["started_at"]).timestamp(),
                datetime.fromisoformat(run["finished_at"]).timestamp(),
            )
        )
    return sorted(spans)


def breakdown(changes: Sequence[dict[str, Any]], syncs: Sequence[tuple[float, float]]) -> None:
    """Adds to each change the webhook sync that first started after it: seconds from the
    change to its start and to its end."""
    for change in changes:
        after = [s for s in syncs if s[0] >= change["made_at"]]
        if after:
            change["sync_started_s"] = after[0][0] - change["made_at"]
            change["sync_finished_s"] = after[0][1] - change["made_at"]


async def _topic_ends(bootstrap: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        wanted: list[TopicPartition] = []
        for topic in topics:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            wanted.extend(TopicPartition(topic, p) for p in sorted(partitions))
        ends = await consumer.end_offsets(wanted)
        return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
    finally:
        await consumer.stop()


async def reports_settled(probe: Probe, *, within: float = WARM_UP_GIVE_UP_SECONDS) -> None:
    """Wait until the reporting service has applied every event on the topics it reads (the
    stack serves one firm, so the topics' ends are that firm's last events): the full sync's
    backlog is gone and the changes measured queue behind nothing."""
    firm = probe.firm
    deadline = time.perf_counter() + within
    while True:
        ends = await _topic_ends(firm.stack.kafka_bootstrap_servers, (CLIO_EVENTS, LEDGER_EVENTS))
        index = await probe.http.get(
            f"{firm.url('reporting')}/firms/{firm.firm_id}/reports", headers=probe.viewer
        )
        index.raise_for_status()
        applied = {
            (p["topic"], int(p["partition"])): int(p["offset"])
            for p in index.json()["consistent_with"]["positions"]
        }
        if all(applied.get(key, -1) >= end - 1 for key, end in ends.items() if end > 0):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the reports did not catch up in {within:.0f}s")
        await asyncio.sleep(1.0)


async def measure(firm: LinkedFirm, changes: int, *, tag: str) -> list[dict[str, Any]]:
    matters, vendor = await _clio_choices(firm.sandbox_url)
    async with httpx.AsyncClient(timeout=30) as http:
        probe = Probe(firm, http)
        results = []
        for number in range(WARM_UP_CHANGES + changes):
            probe.give_up = WARM_UP_GIVE_UP_SECONDS if number < WARM_UP_CHANGES else GIVE_UP_SECONDS
            result = await one_change(
                probe,
                matter_id=matters[number % len(matters)],
                vendor_id=vendor,
                number=number,
                tag=tag,
            )
            if number == WARM_UP_CHANGES - 1:
                await reports_settled(probe)
            if number >= WARM_UP_CHANGES:
                results.append(result)
        return results


def run(
    smoke: bool = False, *, changes: int | None = None, debounce: float | None = None
) -> dict[str, Any]:
    """``changes`` one after another (100; the smoke run 5) on the small firm (smoke: tiny),
    with the connector's webhook debounce as configured (or ``debounce`` seconds, the longest
    wait then the same)."""
    count = changes or (5 if smoke else 100)
    size = "tiny" if smoke else "small"
    env: dict[str, str] = {}
    if debounce is not None:
        env["CLIO_WEBHOOK_DEBOUNCE_SECONDS"] = str(debounce)
        env["CLIO_WEBHOOK_MAX_WAIT_SECONDS"] = str(debounce)
    with linked_firm(firm=size, firm_id="bench-freshness", connector_env=env) as firm:
        sync = finished_sync(firm, start_sync(firm, "full"))
        load_before = os.getloadavg()
        began = time.perf_counter()
        results = asyncio.run(measure(firm, count, tag=secrets.token_hex(3)))
        seconds = time.perf_counter() - began
        breakdown(results, _webhook_syncs(firm))
        load_after = os.getloadavg()
    journal = summary([r["journal_s"] for r in results])
    report = summary([r["report_s"] for r in results])
    started = [r["sync_started_s"] for r in results if "sync_started_s" in r]
    finished = [r["sync_finished_s"] for r in results if "sync_finished_s" in r]
    return {
        "firm": size,
        "records_synced": int(sync["clio"]["records"]),
        "changes": len(results),
        "debounce_seconds": debounce,
        "poll_seconds": POLL_SECONDS,
        "to_journal_s": journal,
        "to_report_s": report,
        "to_webhook_sync_start_s": summary(started) if started else None,
        "to_webhook_sync_end_s": summary(finished) if finished else None,
        "target_p95_s": TARGET_P95_SECONDS,
        "meets_target": journal["p95"] < TARGET_P95_SECONDS and report["p95"] < TARGET_P95_SECONDS,
        "slowest_to_report": sorted(results, key=lambda r: -float(r["report_s"]))[:3],
        "seconds": round(seconds, 1),
        "load_before": load_before,
        "load_after": load_after,
        "per_change": results,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--changes", type=int)
    parser.add_argument(
        "--debounce", type=float, help="the connector's webhook debounce and longest wait (s)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.smoke, changes=args.changes, debounce=args.debounce)
    print(
        f"firm {result['firm']}, {result['changes']} changes one at a time, debounce "
        f"{result['debounce_seconds'] if result['debounce_seconds'] is not None else 'default'}"
    )
    for name in ("to_webhook_sync_start_s", "to_webhook_sync_end_s", "to_journal_s", "to_report_s"):
        print(f"  {name}: {result[name]}")
    print(
        f"target p95 < {TARGET_P95_SECONDS} s: {'met' if result['meets_target'] else 'missed'}; "
        f"load {result['load_before']} → {result['load_after']}"
    )
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "per_change"}, indent=2))


if __name__ == "__main__":
    main()
