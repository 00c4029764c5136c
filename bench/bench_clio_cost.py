"""What a sync costs in Clio API requests, measured on the whole stack against the sandbox.

    .venv/bin/python -m bench.bench_clio_cost                  # the small firm, 3 windows at peak
    .venv/bin/python -m bench.bench_clio_cost --firm medium --peak-windows 0   # cost only
    .venv/bin/python -m bench.bench_clio_cost --smoke          # the tiny firm, short windows

1. Starts Cashroom as ``cashroom demo`` does (``cashroom_cli.stack``): embedded PostgreSQL and
   broker, the Clio sandbox serving the generated firm (rate limiting off at first), the four
   services. The connector's polling is off, so only the syncs started here read Clio.
2. Sets the firm up, links Clio through the real OAuth flow, applies the recommended settings.
3. **Full sync**: requests per 1,000 records (the sync's own count and the sandbox's request
   log, by kind), beside two floors: 5.0 (every page a full 200) and the structural floor of
   one request per started page of 200 of each resource (each resource ends on a page of its
   own).
4. **Incremental sync with nothing changed in Clio**: requests per resource read.
5. **The allowance at Clio's peak limit** (the sandbox at 50 requests a minute per token): full
   syncs back to back for a few whole rate windows; the share of each whole window's allowance
   the connector used (answered requests / limit), 429s and waits beside it.

``run()`` returns the figures; ``--json`` prints them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from cashroom_chassis.auth import Role
from cashroom_cli.client import Api, ServiceError
from cashroom_cli.demo import sandbox_connector_env, set_up_firm
from cashroom_cli.flows import link_clio
from cashroom_cli.stack import Stack, running_stack
from cashroom_cli.target import Target

PAGE = 200  # records per page, Clio's maximum
TARGET_PER_1000 = 5.2
TARGET_SHARE = 0.95
POLL_SECONDS = 0.05


# --- The stack with a linked firm ----------------------------------------------------------------


@dataclass
class LinkedFirm:
    """The stack running, the firm set up in the ledger and reporting, Clio linked."""

    stack: Stack
    target: Target
    api: Api
    sandbox_url: str

    @property
    def firm_id(self) -> str:
        return self.target.firm_id

    def url(self, service: str) -> str:
        return self.target.url(service)

    def headers(self, role: Role = Role.VIEWER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.target.bearer(role)}"}

    def control(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.sandbox_url}/_control{path}", json=body, timeout=60)
        if answer.status_code >= 300:
            raise RuntimeError(f"sandbox {method} {path}: {answer.status_code} {answer.text}")
        return answer.json()


@contextlib.contextmanager
def linked_firm(
    *,
    firm: str,
    seed: int = 1,
    jurisdiction: str = "ie",
    firm_id: str = "bench-clio",
    connector_env: dict[str, str] | None = None,
) -> Iterator[LinkedFirm]:
    """The whole stack (as ``cashroom demo`` starts it) serving a generated firm, linked. A
    ``medium`` or ``large`` firm is written to disk first and served from a SQLite file (the
    stack gives the sandbox two minutes to start, less than generating one takes)."""
    probe = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    # Nothing reads Clio but the syncs the benchmark starts.
    env = {**sandbox_connector_env(probe, poll_seconds="0"), **(connector_env or {})}
    callback = env["CLIO_REDIRECT_URI"]
    sandbox_args = ["--rate-limit", "off", "--redirect-uri", callback]
    scratch = Path(tempfile.mkdtemp(prefix="cashroom-bench-clio-"))
    if firm in ("medium", "large"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "clio_sandbox",
                "generate",
                "--firm",
                firm,
                "--seed",
                str(seed),
                "--jurisdiction",
                jurisdiction,
                "--no-oracle",
                "--out",
                str(scratch / "firm"),
            ],
            check=True,
        )
        sandbox_args += ["--firm-dir", str(scratch / "firm"), "--db", str(scratch / "firm.db")]
    else:
        sandbox_args += ["--firm", firm, "--seed", str(seed), "--jurisdiction", jurisdiction]
    with running_stack(
        sandbox_args=sandbox_args, service_env={"connector": env}, ports=probe.ports
    ) as stack:
        sandbox_url = stack.url_of("sandbox")
        target = Target(
            firm_id=firm_id,
            urls={name: service.url for name, service in stack.services.items()},
            signing_key=stack.auth_signing_key,
        )
        with Api(target) as api:
            meta = httpx.get(f"{sandbox_url}/_control/firm", timeout=30).json()["meta"]
            set_up_firm(api, jurisdiction=jurisdiction, firm_name=str(meta["firm_name"]))
            link_clio(api, Console(quiet=True), follow=True, wait_seconds=120)
            settings = api.get("connector", api.firm_path("/settings"))
            api.send("connector", "PUT", api.firm_path("/settings"), json=settings)
            yield LinkedFirm(stack, target, api, sandbox_url)
    shutil.rmtree(scratch, ignore_errors=True)


def start_sync(firm: LinkedFirm, kind: str, *, within: float = 600) -> str:
    """Start a sync (waiting out one already running); its id."""
    deadline = time.monotonic() + within
    while True:
        try:
            started = firm.api.send(
                "connector",
                "POST",
                firm.api.firm_path("/syncs"),
                json={"kind": kind},
                role=Role.CASHIER,
            )
            return str(started["sync_id"])
        except ServiceError as error:
            if error.status != 409 or time.monotonic() > deadline:
                raise
            time.sleep(POLL_SECONDS)


def sync_state(firm: LinkedFirm, sync_id: str) -> dict[str, Any]:
    state: dict[str, Any] = firm.api.get(
        "connector", firm.api.firm_path(f"/syncs/{sync_id}"), role=Role.VIEWER
    )
    return state


def finished_sync(firm: LinkedFirm, sync_id: str, *, within: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        state = sync_state(firm, sync_id)
        if state["status"] != "running":
            if state["status"] != "completed":
                raise RuntimeError(f"sync {sync_id} {state['status']}: {state.get('error')}")
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"sync {sync_id} still running after {within:.0f}s")
        time.sleep(POLL_SECONDS * 4)


def requests_log(firm: LinkedFirm, *, recent: int = 0) -> dict[str, Any]:
    log: dict[str, Any] = firm.control("GET", f"/requests?recent={recent}")
    return log


# --- The figures ---------------------------------------------------------------------------------


def structural_floor(records_per_resource: dict[str, int], page: int = PAGE) -> int:
    """The fewest list requests that read every record: one per started page of each resource
    (a resource with no records still takes one request to learn that)."""
    return sum(max(1, math.ceil(n / page)) for n in records_per_resource.values())


def window_shares(
    log: Sequence[Sequence[Any]], *, start: float, end: float, window: int, limit: int
) -> list[dict[str, Any]]:
    """Per whole rate window inside ``[start, end]`` (the sandbox's windows begin at multiples
    of ``window`` seconds of its clock): requests answered (not 429), requests refused, and the
    share of the limit used. ``log`` rows are ``[at, kind, status]``."""
    first = math.ceil(start / window) * window
    rows = []
    begin = first
    while begin + window <= end:
        inside = [row for row in log if begin <= float(row[0]) < begin + window]
        answered = sum(1 for row in inside if int(row[2]) != 429)
        rows.append(
            {
                "window_start": begin,
                "answered": answered,
                "refused_429": len(inside) - answered,
                "share": answered / limit,
            }
        )
        begin += window
    return rows


def full_sync_cost(firm: LinkedFirm) -> dict[str, Any]:
    firm.control("DELETE", "/requests")
    began = time.perf_counter()
    state = finished_sync(firm, start_sync(firm, "full"))
    seconds = time.perf_counter() - began
    log = requests_log(firm)
    clio = state["clio"]
    per_resource = {path: int(p.get("records", 0)) for path, p in state["progress"].items()}
    records, requests = int(clio["records"]), int(clio["requests"])
    floor = structural_floor(per_resource)
    return {
        "records": records,
        "requests": requests,
        "requests_per_1000_records": round(requests * 1000 / records, 3),
        "floor_full_pages_per_1000": round(1000 / PAGE, 3),
        "structural_floor_requests": floor,
        "structural_floor_per_1000": round(floor * 1000 / records, 3),
        "target_per_1000": TARGET_PER_1000,
        "meets_target": requests * 1000 / records <= TARGET_PER_1000,
        "records_per_resource": per_resource,
        "requests_per_resource": {
            path: int(p.get("requests", 0)) for path, p in state["progress"].items()
        },
        "sandbox_requests_by_kind": log["by_kind"],
        "sandbox_requests_total": log["total"],
        "seconds": round(seconds, 1),
    }


def incremental_cost(firm: LinkedFirm) -> dict[str, Any]:
    firm.control("DELETE", "/requests")
    state = finished_sync(firm, start_sync(firm, "incremental"))
    log = requests_log(firm)
    per_resource = {path: int(p.get("requests", 0)) for path, p in state["progress"].items()}
    resources = len(per_resource)
    requests = int(state["clio"]["requests"])
    return {
        "resources": resources,
        "requests": requests,
        "requests_per_resource": round(requests / resources, 3) if resources else None,
        "max_requests_of_a_resource": max(per_resource.values(), default=0),
        "records_read": int(state["clio"]["records"]),
        "by_resource": per_resource,
        "sandbox_requests_by_kind": log["by_kind"],
        "target_per_resource": 1,
        "meets_target": max(per_resource.values(), default=0) <= 1,
    }


def sandbox_clock_offset(firm: LinkedFirm) -> float:
    """The sandbox's clock less this machine's (the sandbox moves its clock forward when the
    generated firm's books end after today)."""
    before = time.time()
    now = datetime.fromisoformat(str(firm.control("GET", "/firm")["now"])).timestamp()
    after = time.time()
    return now - (before + after) / 2


def allowance_at_peak(
    firm: LinkedFirm, *, windows: int, limit: int = 50, window: int = 60
) -> dict[str, Any]:
    """Full syncs back to back, rate limited to ``limit`` requests per ``window`` seconds, until
    ``windows`` whole windows have passed; the share of each whole window's allowance used."""
    firm.control(
        "PUT",
        "/settings",
        {"rate_limit": "peak", "peak_limit": limit, "rate_window_seconds": window},
    )
    firm.control("DELETE", "/requests")
    offset = sandbox_clock_offset(firm)
    start = time.time() + offset
    first_boundary = math.ceil(start / window) * window
    end = first_boundary + windows * window
    syncs: list[dict[str, Any]] = []
    sync_id = start_sync(firm, "full")
    while time.time() + offset < end + 0.5:
        state = sync_state(firm, sync_id)
        if state["status"] != "running":
            if state["status"] != "completed":
                raise RuntimeError(f"sync {sync_id} {state['status']}: {state.get('error')}")
            syncs.append(state["clio"])
            sync_id = start_sync(firm, "full")
            continue
        time.sleep(POLL_SECONDS)
    running = sync_state(firm, sync_id)
    log = requests_log(firm, recent=100_000)["recent"]
    firm.control("PUT", "/settings", {"rate_limit": "off", "rate_window_seconds": 60})
    shares = window_shares(log, start=start, end=end, window=window, limit=limit)
    answered = sum(w["answered"] for w in shares)
    share = answered / (limit * len(shares)) if shares else 0.0
    waits = [s.get("rate_limit_waits", 0) for s in [*syncs, running["clio"]]]
    return {
        "limit_per_window": limit,
        "window_seconds": window,
        "whole_windows": len(shares),
        "requests_answered_in_them": answered,
        "share_of_allowance": round(share, 4),
        "requests_per_minute": round(answered / (len(shares) * window) * 60, 2) if shares else 0,
        "refused_429": sum(w["refused_429"] for w in shares),
        "windows": shares,
        "syncs_completed": len(syncs),
        "rate_limit_waits": sum(waits),
        "target_share": TARGET_SHARE,
        "meets_target": share >= TARGET_SHARE,
    }


def run(
    smoke: bool = False,
    *,
    firm: str | None = None,
    peak_windows: int | None = None,
) -> dict[str, Any]:
    """The request cost of a full sync, of an incremental one with nothing changed, and the
    share of the peak allowance a long sync uses. ``smoke``: the tiny firm, 2 windows of 5 s
    at 10 requests each."""
    size = firm or ("tiny" if smoke else "small")
    windows = peak_windows if peak_windows is not None else (2 if smoke else 3)
    limit, window = (10, 5) if smoke else (50, 60)
    with linked_firm(firm=size) as linked:
        result: dict[str, Any] = {"firm": size, "load_before": os.getloadavg()}
        result["full_sync"] = full_sync_cost(linked)
        result["incremental_nothing_changed"] = incremental_cost(linked)
        if windows > 0:
            result["peak_allowance"] = allowance_at_peak(
                linked, windows=windows, limit=limit, window=window
            )
        result["load_after"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--firm", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--peak-windows", type=int, help="whole rate windows at peak (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.smoke, firm=args.firm, peak_windows=args.peak_windows)
    full, incremental = result["full_sync"], result["incremental_nothing_changed"]
    print(
        f"firm {result['firm']}: full sync {full['requests']} requests for {full['records']:,} "
        f"records = {full['requests_per_1000_records']} per 1,000 (target ≤ {TARGET_PER_1000}; "
        f"structural floor {full['structural_floor_requests']} = "
        f"{full['structural_floor_per_1000']} per 1,000; all-full-pages floor 5.0)"
    )
    print(f"  by kind: {full['sandbox_requests_by_kind']}")
    print(
        f"incremental, nothing changed: {incremental['requests']} requests for "
        f"{incremental['resources']} resources (max {incremental['max_requests_of_a_resource']} "
        "per resource; target ≤ 1)"
    )
    peak = result.get("peak_allowance")
    if peak:
        print(
            f"at {peak['limit_per_window']}/{peak['window_seconds']}s: "
            f"{peak['share_of_allowance']:.1%} of the allowance over {peak['whole_windows']} "
            f"whole windows ({[w['answered'] for w in peak['windows']]}), "
            f"{peak['refused_429']} refused (429), {peak['syncs_completed']} syncs completed "
            f"(target ≥ {TARGET_SHARE:.0%})"
        )
    print(f"load average before {result['load_before']}, after {result['load_after']}")
    if args.json:
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
