"""The cashroom command against the real services, each its own process, and the Clio sandbox.

`cashroom sync` when the firm already has a sync running (a webhook's, the scheduled poll's,
another cashier's) says whose sync it follows, follows it to the end exactly as its own, and
does not start another. What a service refuses is one clear line and exit code 1."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from cashroom_chassis.auth import Role, issue_token
from cashroom_cli.client import Api
from cashroom_cli.demo import sandbox_connector_env
from cashroom_cli.flows import link_clio
from cashroom_cli.main import app
from cashroom_cli.stack import Stack, running_stack
from cashroom_cli.target import Target

FIRM = "cli-follow"


@dataclass
class Linked:
    api: Api
    sandbox: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def linked() -> Iterator[Linked]:
    """The four services and the sandbox's tiny firm, the firm set up in the ledger and Clio
    linked through OAuth, as `cashroom demo` leaves them."""
    probe = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    # No sync but the ones these tests (and Clio's webhooks) start.
    connector_env = sandbox_connector_env(probe, poll_seconds="3600")
    callback = connector_env["CLIO_REDIRECT_URI"]
    sandbox_args = ["--firm", "tiny", "--seed", "7", "--rate-limit", "off"]
    with running_stack(
        sandbox_args=[*sandbox_args, "--redirect-uri", callback],
        service_env={"connector": connector_env},
        ports=probe.ports,
        partitions=1,
    ) as stack:
        urls = {name: service.url for name, service in stack.services.items()}
        target = Target(firm_id=FIRM, urls=urls, signing_key=stack.auth_signing_key)
        with Api(target) as api:
            api.send(
                "ledger",
                "PUT",
                api.firm_path("/setup"),
                json={"jurisdiction": "ie", "firm_name": FIRM},
            )
            link_clio(api, Console(file=io.StringIO()), follow=True)
            env = {
                "CASHROOM_STACK_FILE": "/nonexistent/stack.json",
                "CASHROOM_FIRM": FIRM,
                "AUTH_SIGNING_KEY": stack.auth_signing_key,
                **{f"{name.upper()}_URL": url for name, url in urls.items()},
            }
            yield Linked(api, stack.url_of("sandbox"), env)


def start_sync_as(linked: Linked, subject: str, kind: str) -> dict[str, Any]:
    """A sync started by someone else (a cashier at another desk)."""
    token = issue_token(
        linked.env["AUTH_SIGNING_KEY"],
        firm_id=FIRM,
        role=Role.CASHIER,
        subject=subject,
        lifetime=timedelta(minutes=10),
    )
    answer = httpx.post(
        f"{linked.env['CONNECTOR_URL']}/firms/{FIRM}/syncs",
        json={"kind": kind},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    started: dict[str, Any] = answer.json()
    return started


def syncs(linked: Linked) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = linked.api.get(
        "connector", linked.api.firm_path("/syncs"), role=Role.VIEWER
    )
    return found


@pytest.fixture
def slow_clio(linked: Linked) -> Iterator[None]:
    """Every Clio request takes a while, so that a sync is still running when the CLI asks."""
    httpx.put(f"{linked.sandbox}/_control/faults", json={"latency_ms": 60}, timeout=10)
    yield
    httpx.put(f"{linked.sandbox}/_control/faults", json={"latency_ms": 0}, timeout=10)


def wait_until_no_sync_runs(linked: Linked) -> None:
    deadline = time.monotonic() + 120
    while any(s["status"] == "running" for s in syncs(linked)):
        assert time.monotonic() < deadline, "a sync is still running"
        time.sleep(0.5)


@pytest.mark.usefixtures("slow_clio")
def test_a_sync_already_running_is_followed_to_the_end_not_refused(linked: Linked) -> None:
    theirs = start_sync_as(linked, "aoife@firm", "incremental")
    before = {s["sync_id"] for s in syncs(linked)}

    result = CliRunner().invoke(app, ["sync"], env=linked.env)

    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    first = result.output.splitlines()[0]
    assert first.startswith("a sync started by aoife@firm at ")
    assert first.endswith(" UTC (incremental) is running; following it")
    assert "Sync incremental completed" in result.output
    # It followed that sync (no sync of its own) to its end, and returned only once the ledger
    # had answered every event it published.
    assert {s["sync_id"] for s in syncs(linked)} == before
    state = linked.api.get(
        "connector", linked.api.firm_path(f"/syncs/{theirs['sync_id']}"), role=Role.VIEWER
    )
    assert (state["status"], state["ledger_pending"]) == ("completed", 0)
    assert state["totals"]["records"] > 0


def test_a_sync_a_clio_webhook_started_is_followed(linked: Linked) -> None:
    """A change in Clio (a client receipt) makes Clio call the connector's webhook, which starts
    an incremental sync of what changed; the cashier's `cashroom sync` follows that one."""
    wait_until_no_sync_runs(linked)
    token = httpx.post(f"{linked.sandbox}/_control/tokens", json={}, timeout=10).json()
    matters = httpx.get(
        f"{linked.sandbox}/api/v4/matters.json",
        params={"fields": "id", "limit": 1},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()["data"]
    # Slow enough that the webhook's sync still runs when the CLI asks.
    httpx.put(f"{linked.sandbox}/_control/faults", json={"latency_ms": 2000}, timeout=10)
    try:
        answer = httpx.post(
            f"{linked.sandbox}/_control/trust/receipts",
            json={"matter_id": matters[0]["id"], "amount": "25.00"},
            timeout=30,
        )
        assert answer.status_code < 400, answer.text
        deadline = time.monotonic() + 60
        while not [
            s for s in syncs(linked) if (s["trigger"], s["status"]) == ("webhook", "running")
        ]:
            assert time.monotonic() < deadline, "Clio's webhook started no sync"
            time.sleep(0.05)
        before = {s["sync_id"] for s in syncs(linked)}

        result = CliRunner().invoke(app, ["sync"], env=linked.env)
    finally:
        httpx.put(f"{linked.sandbox}/_control/faults", json={"latency_ms": 0}, timeout=10)

    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("a sync started by a Clio webhook at ")
    assert first.endswith(" UTC (incremental) is running; following it")
    assert {s["sync_id"] for s in syncs(linked)} == before
    webhook = next(s for s in syncs(linked) if s["trigger"] == "webhook")
    assert (webhook["status"], webhook["ledger_pending"]) == ("completed", 0)


@pytest.mark.usefixtures("slow_clio")
def test_a_full_sync_asked_for_while_an_incremental_runs_is_run_after_it(linked: Linked) -> None:
    wait_until_no_sync_runs(linked)
    theirs = start_sync_as(linked, "aoife@firm", "incremental")

    result = CliRunner().invoke(app, ["sync", "--full"], env=linked.env)

    assert result.exit_code == 0, result.output
    assert "(incremental) is running; following it" in result.output
    assert "starting the full sync asked for" in result.output
    assert "Sync full completed" in result.output
    newest = syncs(linked)[0]  # most recent first
    assert newest["sync_id"] != theirs["sync_id"]
    assert (newest["kind"], newest["status"], newest["ledger_pending"]) == ("full", "completed", 0)


def test_a_refusal_that_is_not_a_running_sync_is_one_line(linked: Linked) -> None:
    wait_until_no_sync_runs(linked)
    linked.api.send(
        "connector",
        "PUT",
        linked.api.firm_path("/settings"),
        json={
            **linked.api.get("connector", linked.api.firm_path("/settings")),
            "allow_full_sync": False,
        },
    )
    try:
        result = CliRunner().invoke(app, ["sync", "--full"], env=linked.env)
    finally:
        settings = linked.api.get("connector", linked.api.firm_path("/settings"))
        linked.api.send(
            "connector",
            "PUT",
            linked.api.firm_path("/settings"),
            json={**settings, "allow_full_sync": True},
        )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "a full sync is not allowed by the firm's sync settings" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "firm", "expected"),
    [
        (["sync"], "no-such-firm", "link Clio first"),
        (
            ["report", "trial-balance"],
            "no-such-firm",
            "no events for firm 'no-such-firm' have reached the reporting service",
        ),
        (
            ["reconcile", "1", "--as-of", "2026-09-30"],
            "no-such-firm",
            "bank account 1 is not known for this firm",
        ),
        (["log", "--status", "misplaced"], FIRM, "status 'misplaced' is none of"),
        (["log", "--search", "\x00"], FIRM, "contains a NUL character (%00)"),
        (
            ["report", "audit-trail", "--from", "2026-01-01", "-p", "bogus=1"],
            FIRM,
            "unknown query parameter(s) bogus",
        ),
        (["report", "trial-balance", "-p", "as_of=someday"], FIRM, "as_of='someday' is not a date"),
        (["resolve", "999999999", "retry"], FIRM, "no sync-log line 999999999"),
        (
            ["resolve", "1", "choose_vat_treatment", "vat_treatment=half"],
            FIRM,
            "not a resolution",
        ),
        (
            ["settings", "set", "allow_full_sync=perhaps"],
            FIRM,
            "allow_full_sync: Input should be a valid boolean",
        ),
        (
            ["settings", "set", "no_such_setting=1"],
            FIRM,
            "no_such_setting: Extra inputs are not permitted",
        ),
    ],
)
def test_what_a_service_refuses_is_one_line(
    linked: Linked, args: list[str], firm: str, expected: str
) -> None:
    result = CliRunner().invoke(app, args, env={**linked.env, "CASHROOM_FIRM": firm})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert expected in result.output


def test_a_payment_that_would_overdraw_a_client_ledger_is_resolved_as_a_breach(
    linked: Linked,
) -> None:
    """Clio pays 100.00 out of the client account for a matter that holds no client money. The
    ledger holds the payment as an overdrawn-client-ledger exception (SRA 5.3) instead of
    posting it; the cashier finds it with `cashroom exceptions list` and records it as a breach
    with `cashroom exceptions resolve`, naming it by the first characters of its id. The
    payment then posts as it happened: the client ledger shows -100.00."""
    wait_until_no_sync_runs(linked)
    assert CliRunner().invoke(app, ["sync"], env=linked.env).exit_code == 0
    token = httpx.post(f"{linked.sandbox}/_control/tokens", json={}, timeout=10).json()
    matters = httpx.get(
        f"{linked.sandbox}/api/v4/matters.json",
        params={"fields": "id", "limit": 50},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()["data"]
    empty = next(
        m["id"]
        for m in matters
        if not linked.api.get(
            "ledger", linked.api.firm_path(f"/matters/{m['id']}/balances"), role=Role.VIEWER
        )["client_by_account"]
    )
    paid = httpx.post(
        f"{linked.sandbox}/_control/trust/payments",
        json={"matter_id": empty, "amount": "100.00", "allow_overdraw": True},
        timeout=30,
    )
    assert paid.status_code < 400, paid.text
    wait_until_no_sync_runs(linked)
    assert CliRunner().invoke(app, ["sync"], env=linked.env).exit_code == 0

    listed = CliRunner().invoke(app, ["exceptions", "list", "--format", "json"], env=linked.env)
    assert listed.exit_code == 0, listed.output
    held = [e for e in json.loads(listed.output) if e["matter_id"] == empty]
    assert [(e["kind"], e["amount"], e["open"]) for e in held] == [
        ("overdrawn_client_ledger", {"amount_minor": 10_000, "currency": "EUR"}, True)
    ]
    prefix = held[0]["exception_id"][:8]

    resolved = CliRunner().invoke(
        app,
        ["exceptions", "resolve", prefix, "--as", "breach", "--reason", "paid in error; reported"],
        env=linked.env,
    )

    assert resolved.exit_code == 0, resolved.output
    after = linked.api.get("ledger", linked.api.firm_path("/exceptions"), params={"open": False})
    mine = next(e for e in after if e["exception_id"] == held[0]["exception_id"])
    assert (mine["open"], mine["resolution"], mine["resolution_reason"]) == (
        False,
        "recorded_as_breach",
        "paid in error; reported",
    )
    balances = linked.api.get(
        "ledger", linked.api.firm_path(f"/matters/{empty}/balances"), role=Role.VIEWER
    )
    assert balances["client"] == {"amount_minor": -10_000, "currency": "EUR"}
    again = CliRunner().invoke(
        app, ["exceptions", "resolve", prefix, "--as", "breach", "--reason", "x"], env=linked.env
    )
    assert again.exit_code == 1
    assert f"no open exception '{prefix}'" in again.output
