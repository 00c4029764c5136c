"""`cashroom demo` (what `make run` runs): the main job, start to finish, on this machine.

1. Start PostgreSQL and the broker (embedded), the Clio sandbox serving a generated demo firm
   (unless ``CLIO_BASE_URL`` and the OAuth client are set: then the real Clio), and the four
   services, each its own process.
2. Set the firm up in the ledger (chart of accounts for its jurisdiction).
3. Link Clio through the real OAuth flow (the sandbox auto-approves; with real Clio the browser
   step is printed as a URL to open).
4. Apply the recommended sync settings, run a full sync with live progress, wait until the
   ledger has posted everything.
5. Import the bank statements generated for the firm's office and client accounts, auto-match
   and reconcile them.
6. Print the trial balance, the client ledger balances with the three-way tie-out, the breach
   register, the sync summary compared with what Clio holds and the sync log summary; keep
   everything running until Ctrl-C.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from cashroom_chassis.auth import Role
from cashroom_cli.client import Api, ServiceError
from cashroom_cli.flows import link_clio, run_sync
from cashroom_cli.output import Format, cell, emit, is_report, render_report
from cashroom_cli.stack import Stack, running_stack
from cashroom_cli.target import Target

SANDBOX_CLIENT_ID = "cashroom-sandbox"
SANDBOX_CLIENT_SECRET = "cashroom-sandbox-secret"


def run_demo(
    console: Console, *, size: str, jurisdiction: str, seed: int, keep_running: bool
) -> None:
    real_clio = os.environ.get("CLIO_BASE_URL")
    firm_id = os.environ.get("CASHROOM_FIRM", "demo-firm")
    began = time.monotonic()
    stop_on_signals()
    console.rule("[bold]Cashroom demo")
    console.print(
        "Starting PostgreSQL, the broker, "
        + ("" if real_clio else "the Clio sandbox, ")
        + "and the four services ..."
    )

    connector_env: dict[str, str] = {
        "TOKEN_ENCRYPTION_KEY": os.environ.get("TOKEN_ENCRYPTION_KEY")
        or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CLIO_POLL_SECONDS": os.environ.get("CLIO_POLL_SECONDS", "10"),
    }
    sandbox_args: list[str] | None = None
    # Ports are chosen first, so each process can be told where the others will be.
    probe = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    connector_url = probe.url_of("connector")
    callback = f"{connector_url}/clio/oauth/callback"
    if real_clio:
        for name in ("CLIO_CLIENT_ID", "CLIO_CLIENT_SECRET"):
            if not os.environ.get(name):
                raise ValueError(f"CLIO_BASE_URL is set, so {name} must be set too")
        connector_env.update(
            CLIO_BASE_URL=real_clio,
            CLIO_CLIENT_ID=os.environ["CLIO_CLIENT_ID"],
            CLIO_CLIENT_SECRET=os.environ["CLIO_CLIENT_SECRET"],
            CLIO_REDIRECT_URI=os.environ.get("CLIO_REDIRECT_URI", callback),
        )
    else:
        sandbox_args = [
            "--firm",
            size,
            "--seed",
            str(seed),
            "--jurisdiction",
            jurisdiction,
            "--rate-limit",
            os.environ.get("SANDBOX_RATE_LIMIT", "off"),
            "--redirect-uri",
            callback,
        ]
        # The demo's own key and poll interval (from the environment) win over the defaults.
        connector_env = {
            **sandbox_connector_env(probe, poll_seconds=connector_env["CLIO_POLL_SECONDS"]),
            **connector_env,
        }
    connector_env["CONNECTOR_PUBLIC_URL"] = connector_url

    with (
        running_stack(
            sandbox_args=sandbox_args, service_env={"connector": connector_env}, ports=probe.ports
        ) as stack,
        contextlib.ExitStack() as while_running,
    ):
        ready = time.monotonic() - began
        target = Target(
            firm_id=firm_id,
            urls={spec: service.url for spec, service in stack.services.items()},
            signing_key=stack.auth_signing_key,
            extra={
                "sandbox_url": stack.url_of("sandbox") if sandbox_args else "",
                "kafka_bootstrap_servers": stack.kafka_bootstrap_servers,
            },
        )
        stack_file = target.save()
        console.print(f"Ready in {ready:.1f}s. The CLI in another terminal uses {stack_file}.")
        while_running.enter_context(_forgotten_when_stopped(stack_file))
        with Api(target) as client:
            firm_name = _firm_name(stack) if sandbox_args else firm_id
            _set_up_firm(client, console, jurisdiction=jurisdiction, firm_name=firm_name)
            console.rule("Link Clio")
            link_clio(client, console, follow=sandbox_args is not None)
            _apply_recommended_settings(client, console)
            console.rule("Full sync")
            sync_state = run_sync(client, console, full=True, wait=True)
            _wait_for_reports(client, console)
            if sandbox_args:
                console.rule("Bank statements and reconciliation")
                statements = while_running.enter_context(
                    tempfile.TemporaryDirectory(prefix="cashroom-statements-")
                )
                _reconcile_from_sandbox(client, console, stack, Path(statements))
            console.rule("Reports")
            _print_report(client, console, "trial-balance")
            _print_report(
                client,
                console,
                "client-ledger-balances",
                columns=(
                    "matter_ref",
                    "client_name",
                    "client_balance",
                    "office_balance",
                    "unbilled_disbursements",
                ),
            )
            _print_report(
                client,
                console,
                "breach-register",
                columns=(
                    "client_name",
                    "matter_ref",
                    "client_balance",
                    "shortfall",
                    "raised_on",
                    "kind",
                    "amount",
                    "status",
                    "resolved_by",
                    "detected_on",
                ),
            )
            _print_report(
                client,
                console,
                "sync-summary",
                columns=(
                    "object_type",
                    "currency",
                    "records",
                    "amount",
                    "posted",
                    "flagged",
                    "rejected",
                    "in_clio",
                    "skipped",
                    "awaiting_review",
                    "published",
                    "received",
                    "record_difference",
                    "amount_difference",
                ),
            )
            summary = client.get(
                "connector", client.firm_path("/sync-log/summary"), role=Role.VIEWER
            )
            emit(
                summary,
                Format.TABLE,
                title="Sync log summary (flagged lines and why)",
                console=console,
            )
        total = time.monotonic() - began
        records = int((sync_state.get("totals") or {}).get("records", 0))
        console.print(
            f"[bold green]Done[/bold green] in {total:.1f}s: {records} Clio records synced in "
            f"{sync_state.get('wall_seconds', 0):.1f}s."
        )
        _print_urls(console, stack)
        if not keep_running:
            return
        console.print("Cashroom keeps running. Press Ctrl-C to stop everything.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print(f"Stopping ... (the logs stay in {stack.log_dir})")


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM both stop everything in order: the services first, then the
    broker and PostgreSQL, whose scratch folders go with them. A shell that starts the demo in
    the background leaves SIGINT ignored; it is taken back here, so ``kill -INT`` works too.
    A second signal while stopping is ignored: stopping is already under way."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


@contextlib.contextmanager
def _forgotten_when_stopped(stack_file: Path) -> Iterator[None]:
    """The stack file names this demo's services while they run, and is removed when they stop
    (unless another demo has written its own since), so no command talks to dead ports."""
    written = stack_file.read_text()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if stack_file.read_text() == written:
                stack_file.unlink()


def _firm_name(stack: Stack) -> str:
    meta = httpx.get(f"{stack.url_of('sandbox')}/_control/firm", timeout=10).json()
    return str(meta["meta"]["firm_name"])


def sandbox_connector_env(probe: Stack, *, poll_seconds: str) -> dict[str, str]:
    """The connector's environment for the Clio sandbox a stack with ``probe``'s ports starts:
    a fresh token encryption key, the sandbox's OAuth client and the callback on the connector.
    ``poll_seconds`` "0" leaves reading Clio to the syncs that are asked for."""
    connector_url = probe.url_of("connector")
    return {
        "TOKEN_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CLIO_POLL_SECONDS": poll_seconds,
        "CLIO_BASE_URL": probe.url_of("sandbox"),
        "CLIO_CLIENT_ID": SANDBOX_CLIENT_ID,
        "CLIO_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "CLIO_REDIRECT_URI": f"{connector_url}/clio/oauth/callback",
        "CONNECTOR_PUBLIC_URL": connector_url,
    }


def set_up_firm(client: Api, *, jurisdiction: str, firm_name: str) -> None:
    """The firm in the ledger (its jurisdiction's chart of accounts) and its name in the reports."""
    client.send(
        "ledger",
        "PUT",
        client.firm_path("/setup"),
        json={"jurisdiction": jurisdiction, "firm_name": firm_name},
    )
    client.send("reporting", "PUT", client.firm_path("/profile"), json={"name": firm_name})


def _set_up_firm(client: Api, console: Console, *, jurisdiction: str, firm_name: str) -> None:
    set_up_firm(client, jurisdiction=jurisdiction, firm_name=firm_name)
    console.print(
        f"Firm [bold]{firm_name}[/bold] set up ({jurisdiction.upper()} chart of accounts)."
    )


def _apply_recommended_settings(client: Api, console: Console) -> None:
    current: dict[str, Any] = client.get("connector", client.firm_path("/settings"))
    client.send("connector", "PUT", client.firm_path("/settings"), json=current)
    console.print("Recommended sync settings applied.")


def _wait_for_reports(client: Api, console: Console, *, timeout: float = 900) -> None:
    """Until the reporting service's trial balance equals the ledger's, nominal by nominal (the
    read models have caught up with every journal the ledger posted), and the sync's end has
    reached it (the sync summary compares with what Clio holds)."""
    began = time.monotonic()
    with console.status("Waiting for the reports to catch up with the ledger ...") as status:
        while True:
            ledger = client.get("ledger", client.firm_path("/balances"), role=Role.VIEWER)
            wanted = {
                a["code"]: int(a["balance"]["amount_minor"])
                for a in ledger["accounts"]
                if int(a["balance"]["amount_minor"])
            }
            report = client.get(
                "reporting",
                client.firm_path("/reports/trial-balance"),
                role=Role.VIEWER,
                params={"page_size": 10_000},
            )
            rows = report["sections"][0]["rows"] if report.get("sections") else []
            shown = {
                r["code"]: int(r.get("debit") or 0) - int(r.get("credit") or 0)
                for r in rows
                if int(r.get("debit") or 0) - int(r.get("credit") or 0)
            }
            summary = client.get(
                "reporting", client.firm_path("/reports/sync-summary"), role=Role.VIEWER
            )
            compared = "compared_at" in (summary.get("figures") or {})  # the sync's end arrived
            if shown == wanted and compared:
                console.print(
                    f"Reports are current: the reporting service's trial balance equals the "
                    f"ledger's on all {len(wanted)} nominals "
                    f"({time.monotonic() - began:.1f}s after the sync)."
                )
                return
            missing = sum(1 for code, amount in wanted.items() if shown.get(code) != amount)
            status.update(f"Waiting for the reports: {missing} nominal(s) still catching up ...")
            if time.monotonic() - began > timeout:
                raise ServiceError(
                    f"the reports did not catch up with the ledger in {timeout:.0f}s "
                    f"({missing} nominals differ)"
                )
            time.sleep(1.0)


def _reconcile_from_sandbox(client: Api, console: Console, stack: Stack, folder: Path) -> None:
    """Import every statement the sandbox's bank wrote (into ``folder``, kept while the demo
    runs and removed when it stops), then reconcile each account as of its last statement: one
    line per account, the three-way figure for client accounts."""
    sandbox = stack.url_of("sandbox")
    answer = httpx.post(f"{sandbox}/_control/statements", json={"dir": str(folder)}, timeout=120)
    if answer.status_code >= 400:
        raise ServiceError(f"the sandbox could not write statements: {answer.text[:300]}")
    console.print(
        f"The bank's statements are in {folder} while Cashroom runs "
        "(`cashroom bank import` takes them)."
    )
    last: dict[int, dict[str, Any]] = {}
    for item in answer.json()["statements"]:
        path = Path(item["path"])
        with path.open("rb") as handle:
            imported = client.send(
                "reconciliation",
                "POST",
                client.firm_path(f"/bank-accounts/{item['bank_account_id']}/statements"),
                files={"file": (path.name, handle)},
                role=Role.CASHIER,
            )
        breaks = len(imported.get("breaks") or [])
        console.print(
            f"Imported {path.name}: {imported.get('lines_new', 0)} new lines, "
            f"{imported.get('lines_already_known', 0)} already known"
            + (f", [red]{breaks} continuity break(s)[/red]" if breaks else "")
        )
        account = int(item["bank_account_id"])
        if account not in last or item["as_of"] > last[account]["as_of"]:
            last[account] = item
    rows = []
    for account, item in sorted(last.items()):
        base = client.firm_path(f"/bank-accounts/{account}")
        matched = client.send("reconciliation", "POST", f"{base}/auto-match", role=Role.CASHIER)
        figures = client.get(
            "reconciliation",
            f"{base}/reconciliation",
            params={"as_of": item["as_of"]},
            role=Role.VIEWER,
        )
        console.print(
            f"{figures.get('name', item['name'])} ({account}): auto-matched "
            f"{(matched or {}).get('matched', 0)}, {(matched or {}).get('lines_unmatched', 0)} "
            f"statement lines unmatched, unexplained {cell(figures.get('unexplained_total'))}"
        )
        rows.append(
            {
                "account": f"{account} {figures.get('account_kind')}",
                "as of": item["as_of"],
                "adjusted bank": figures.get("adjusted_bank_balance"),
                "cashbook": figures.get("cashbook_balance"),
                "client ledgers": figures.get("client_ledgers_total"),
                "difference": figures.get("difference"),
                "3-way diff.": figures.get("three_way_difference"),
            }
        )
    emit(
        rows,
        Format.TABLE,
        title="Bank reconciliations (client accounts three ways)",
        console=console,
    )


def _print_report(
    client: Api, console: Console, name: str, *, columns: tuple[str, ...] | None = None
) -> None:
    data = client.get("reporting", client.firm_path(f"/reports/{name}"), role=Role.VIEWER)
    if is_report(data):
        render_report(data, console, max_rows=20, columns_only=columns)
    else:
        emit(data, Format.TABLE, title=name, console=console)


def _print_urls(console: Console, stack: Stack) -> None:
    table = Table(title="Cashroom is running")
    table.add_column("what")
    table.add_column("URL")
    for name, service in stack.services.items():
        table.add_row(f"{name} API (OpenAPI: /docs)", service.url)
    if stack.sandbox is not None:
        table.add_row("Clio sandbox", stack.url_of("sandbox"))
    table.add_row("AsyncAPI (events)", str(Path("docs/asyncapi.yaml").resolve()))
    table.add_row("logs", str(stack.log_dir))
    console.print(table)
