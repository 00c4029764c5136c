"""The longer things the CLI does: link Clio, run a sync with live progress, gather status."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cashroom_chassis.auth import Role
from cashroom_cli.client import Api, ServiceError
from cashroom_cli.target import SERVICES


def link_clio(
    client: Api,
    console: Console,
    *,
    redirect_uri: str | None = None,
    follow: bool = False,
    wait_seconds: int = 600,
) -> dict[str, Any]:
    """Start the OAuth flow; the user (or, with ``follow``, this process) opens the authorize
    URL; Clio redirects to the connector's callback, which finishes the link."""
    body = {"redirect_uri": redirect_uri} if redirect_uri else {}
    started = client.send("connector", "POST", client.firm_path("/clio/link"), json=body)
    url = started["authorize_url"]
    if follow:
        # Clio's consent page, auto-approved: follow its redirect to the connector's callback.
        try:
            with httpx.Client(follow_redirects=True, timeout=30) as http:
                answer = http.get(url)
        except httpx.HTTPError as error:
            raise ServiceError(f"the Clio authorize step at {url} failed: {error}") from None
        if answer.status_code >= 400:
            raise ServiceError(
                f"the Clio authorize step failed ({answer.status_code}): {answer.text[:300]}"
            )
    else:
        console.print("Open this URL in a browser and approve Cashroom's access to Clio:")
        console.print(f"  [link={url}]{url}[/link]", soft_wrap=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        connection: dict[str, Any] = client.get("connector", client.firm_path("/clio/connection"))
        if connection.get("linked"):
            who = connection.get("clio_firm_name") or ""
            console.print(f"[green]Linked[/green] to Clio {who}".rstrip())
            return connection
        if time.monotonic() > deadline:
            raise ServiceError("Clio was not linked in time (the browser step was not completed)")
        time.sleep(1)


def run_sync(
    client: Api, console: Console, *, full: bool = False, wait: bool = True
) -> dict[str, Any]:
    """Sync the firm from Clio and follow it per resource until the ledger has answered every
    event it published. When the firm already has a sync running (a webhook's, the scheduled
    poll's, another cashier's), follow that one instead of failing; if a full sync was asked
    for and the running one is not full, start the full one after it.

    The state returned is the last sync followed; ``"followed": True`` when it was not this
    call's own."""
    kind = "full" if full else "incremental"
    for _attempt in range(20):
        try:
            started = client.send(
                "connector",
                "POST",
                client.firm_path("/syncs"),
                json={"kind": kind},
                role=Role.CASHIER,
            )
        except ServiceError as error:
            if error.status != 409:
                raise
            running = _running_sync(client, error)
            if running is None:
                raise
            if running.get("status") == "running":
                console.print(
                    f"a sync started by {_started_by(running)} ({running.get('kind')}) is "
                    "running; following it",
                    highlight=False,
                    soft_wrap=True,
                )
                state = _follow(client, console, running, wait=wait)
                if running.get("kind") == kind or not full:
                    state["followed"] = True
                    return state
                console.print(f"starting the {kind} sync asked for", highlight=False)
            continue  # it ended meanwhile: start ours
        state = _follow(client, console, started, wait=wait)
        state["followed"] = False
        return state
    raise ServiceError("the firm's syncs kept starting one after another: try again later")


def _running_sync(client: Api, refused: ServiceError) -> dict[str, Any] | None:
    """The sync the connector's 409 names as running (or, when it could not name it, the running
    one among the firm's recent syncs); None when the refusal was for another reason."""
    body = refused.body if isinstance(refused.body, dict) else {}
    if "already running" not in str(body.get("error", "")):
        return None
    sync_id = body.get("sync_id")
    if sync_id:
        found: dict[str, Any] = client.get(
            "connector", client.firm_path(f"/syncs/{sync_id}"), role=Role.VIEWER
        )
        return found
    recent: list[dict[str, Any]] = client.get(
        "connector", client.firm_path("/syncs"), role=Role.VIEWER, params={"limit": 5}
    )
    running = [r for r in recent if r.get("status") == "running"]
    # None running any more: it finished between our request and this one.
    return running[0] if running else {"status": "finished"}


def _started_by(run: dict[str, Any]) -> str:
    trigger = run.get("trigger")
    who = {
        "webhook": "a Clio webhook",
        "poll": "the scheduled poll",
    }.get(str(trigger), run.get("requested_by") or "someone")
    when = run.get("started_at")
    if when:
        try:
            at = datetime.fromisoformat(str(when)).astimezone(UTC)
            return f"{who} at {at:%Y-%m-%d %H:%M:%S} UTC"
        except ValueError:
            return f"{who} at {when}"
    return str(who)


def _follow(
    client: Api, console: Console, started: dict[str, Any], *, wait: bool
) -> dict[str, Any]:
    sync_id = started["sync_id"]
    kind = started.get("kind", "")
    path = client.firm_path(f"/syncs/{sync_id}")
    tasks: dict[str, TaskID] = {}
    began = time.monotonic()
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        ledger_task = progress.add_task("ledger posting", total=None, detail="")
        while True:
            state: dict[str, Any] = client.get("connector", path, role=Role.VIEWER)
            for resource, figures in (state.get("progress") or {}).items():
                records = int(figures.get("records", 0))
                if resource not in tasks:
                    tasks[resource] = progress.add_task(resource, total=None, detail="")
                done = figures.get("status") == "done" or state.get("status") != "running"
                progress.update(
                    tasks[resource],
                    completed=records,
                    total=records if done else None,
                    detail=_figures(figures),
                )
            pending = int(state.get("ledger_pending", 0))
            progress.update(ledger_task, detail=f"{pending} waiting for the ledger")
            finished = state.get("status") in {"completed", "failed", "interrupted"}
            if finished and (not wait or pending == 0 or state.get("status") != "completed"):
                progress.update(ledger_task, total=1, completed=1)
                break
            time.sleep(0.5)
    seconds = time.monotonic() - began
    if state.get("status") != "completed":
        raise ServiceError(
            f"sync {sync_id} {state.get('status')}: {state.get('error') or 'see the sync log'}"
        )
    records = int((state.get("totals") or {}).get("records", 0))
    console.print(
        f"[green]Sync {kind} completed[/green]: {records} Clio records in {seconds:.1f}s "
        f"({records / seconds if seconds else 0:.0f} records/s)"
    )
    state["wall_seconds"] = seconds
    return state


def _figures(figures: dict[str, Any]) -> str:
    keys = ("records", "imported", "updated", "unchanged", "skipped", "flagged", "errors")
    parts = [f"{k} {figures[k]}" for k in keys if figures.get(k)]
    waits = figures.get("rate_limit_waits")
    if waits:
        parts.append(f"rate-limit waits {waits}")
    return ", ".join(parts)


def stack_status(client: Api) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for service in SERVICES:
        try:
            url = client.target.url(service)
        except Exception as error:
            rows.append({"what": service, "state": "unknown", "detail": str(error)})
            continue
        try:
            ready = httpx.get(f"{url}/ready", timeout=5)
            body = ready.json()
            consumers = body.get("consumers", [])
            detail = "; ".join(
                f"{c['group']}: processed {c['processed']}, dead-lettered {c['dead_lettered']}"
                + (f", lag {c['lag']}" if "lag" in c else "")
                for c in consumers
            )
            rows.append(
                {
                    "what": service,
                    "state": "ready" if body.get("ready") else "not ready",
                    "detail": detail or url,
                }
            )
        except (httpx.HTTPError, ValueError) as error:
            rows.append({"what": service, "state": "down", "detail": f"{url}: {error}"})
    try:
        status = client.get("connector", client.firm_path("/status"), role=Role.VIEWER)
        for item in status.get("resources", []):
            rows.append(
                {
                    "what": f"Clio {item.get('object_type')}",
                    "state": f"last synced {item.get('last_synced_at') or 'never'}",
                    "detail": f"updates by {item.get('updates_by')}",
                }
            )
        rows.append(
            {
                "what": "ledger backlog",  # not the service's row: a count, not a state
                "state": f"{status.get('ledger_pending', 0)} synced records not yet posted",
                "detail": "",
            }
        )
    except ServiceError as error:
        rows.append({"what": "last sync", "state": "unknown", "detail": str(error)})
    return rows
