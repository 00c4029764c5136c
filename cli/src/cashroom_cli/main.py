"""The ``cashroom`` command: what a cashier or an ops engineer does, from the terminal."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import quote

import click
import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer's own click

from cashroom_chassis.auth import Role, issue_token
from cashroom_cli.client import Api, ServiceError
from cashroom_cli.output import Format, emit, is_report, money_value, render_report
from cashroom_cli.target import SERVICES, TargetError, load_target

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Cashroom: legal accounting from Clio. `cashroom demo` starts everything on this machine.",
)
console = Console()
err = Console(stderr=True)

DEMO_SIZES = ("tiny", "small", "medium", "large")
DEMO_JURISDICTIONS = ("ie", "ew")

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv")]


def _fail(message: str) -> NoReturn:
    # One line: a service's detail may hold newlines (a validation error), and soft_wrap keeps
    # rich from breaking it at the terminal's (or a pipe's assumed 80) columns.
    line = " ".join(message.split())
    err.print(f"[red]cashroom:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Every failure a user can cause or meet is one clear line and exit code 1, never a
    traceback (``CASHROOM_DEBUG=1`` shows the traceback of an unexpected one)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (ServiceError, TargetError, ValueError, OSError, httpx.HTTPError) as error:
            _fail(str(error) or type(error).__name__)
        except (
            typer.Exit,
            typer.Abort,
            click.ClickException,
            click.exceptions.Exit,
            click.Abort,
            KeyboardInterrupt,
        ):
            raise
        except Exception as error:
            if os.environ.get("CASHROOM_DEBUG"):
                raise
            _fail(f"unexpected {type(error).__name__}: {error} (CASHROOM_DEBUG=1 shows where)")

    return wrapper


def _iso_date(label: str, value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{label} {value!r} is not a date (YYYY-MM-DD)") from None
    return value


def api() -> Api:
    return Api(load_target())


@app.command()
@handles_errors
def demo(
    firm: Annotated[str, typer.Option(help="Size of the generated Clio firm.")] = "small",
    jurisdiction: Annotated[
        str, typer.Option(help="ie (EUR, VAT 23%) or ew (GBP, VAT 20%)")
    ] = "ie",
    seed: Annotated[int, typer.Option(help="Seed of the generated firm.")] = 1,
    keep_running: Annotated[bool, typer.Option(help="Keep the services up until Ctrl-C.")] = True,
) -> None:
    """The main job on this machine: start PostgreSQL, the broker, the Clio sandbox and the four
    services; link the firm through OAuth; sync it; reconcile its bank accounts; print the
    reports; keep everything running until Ctrl-C."""
    from cashroom_cli.demo import run_demo

    if firm not in DEMO_SIZES:
        raise ValueError(f"no {firm!r} demo firm; choose one of: {', '.join(DEMO_SIZES)}")
    if jurisdiction not in DEMO_JURISDICTIONS:
        raise ValueError(f"jurisdiction {jurisdiction!r} is not ie or ew")
    run_demo(console, size=firm, jurisdiction=jurisdiction, seed=seed, keep_running=keep_running)


@app.command()
def token(
    firm: Annotated[
        str | None,
        typer.Option(help="The firm the token may act for (default: the running demo's)."),
    ] = None,
    role: Annotated[Role, typer.Option(help="What it may do.")] = Role.CASHIER,
    subject: Annotated[
        str, typer.Option(help="Who uses it (recorded in the audit trail).")
    ] = "cli",
    hours: Annotated[int, typer.Option(min=1, max=24 * 90)] = 12,
    signing_key: Annotated[
        str, typer.Option(envvar="AUTH_SIGNING_KEY", help="The services' key.")
    ] = "",
) -> None:
    """Issue an API bearer token for one firm and role: signed with AUTH_SIGNING_KEY, else with
    the running `cashroom demo`'s key (from its stack file)."""
    try:
        running = load_target()
    except TargetError as error:
        err.print(f"cashroom token: {error}")
        raise typer.Exit(2) from None
    signing_key = signing_key or running.signing_key
    firm = firm or running.firm_id
    if not signing_key or not firm:
        err.print(
            "cashroom token: set AUTH_SIGNING_KEY (the key the services verify tokens with) and "
            "--firm, or start `cashroom demo`"
        )
        raise typer.Exit(2)
    print(
        issue_token(
            signing_key, firm_id=firm, role=role, subject=subject, lifetime=timedelta(hours=hours)
        )
    )


dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: events that failed, and why.")
app.add_typer(dlq_app, name="dlq")
KafkaOption = Annotated[
    str | None,
    typer.Option(
        "--kafka",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka bootstrap servers (default: the running `cashroom demo`'s broker).",
    ),
]


def _broker(kafka: str | None) -> str:
    """The broker named on the command line or in KAFKA_BOOTSTRAP_SERVERS, else the one the
    running `cashroom demo` wrote to its stack file."""
    if kafka:
        return kafka
    known = load_target().extra.get("kafka_bootstrap_servers")
    if not known:
        raise TargetError(
            "no broker: start `cashroom demo`, or give --kafka (or KAFKA_BOOTSTRAP_SERVERS)"
        )
    return known


def _quiet_kafka_client() -> None:
    """The Kafka client logs each failed connection attempt; the command says it once."""
    import logging

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # A consumer that could not start is reported unclosed when collected, on asyncio's logger.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def _broker_unreachable(kafka: str, error: Exception) -> ServiceError:
    return ServiceError(f"the broker at {kafka} did not answer: {error}")


@dlq_app.command("list")
@handles_errors
def dlq_list(
    topic: Annotated[str, typer.Argument(help="e.g. clio.events.v1 (its .dlq twin is read)")],
    kafka: KafkaOption = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """List the dead letters of a topic with their errors."""
    import asyncio

    from aiokafka.errors import KafkaError

    from cashroom_chassis.dead_letters import list_dead_letters

    kafka = _broker(kafka)
    _quiet_kafka_client()
    try:
        letters = asyncio.run(list_dead_letters(kafka, topic, limit=limit))
    except KafkaError as error:
        raise _broker_unreachable(kafka, error) from None
    table = Table(title=f"{len(letters)} dead letter(s) of {topic}")
    for column in ("offset", "firm", "failed at", "attempts", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            letter.key or "",
            letter.failed_at,
            str(letter.attempts),
            letter.error,
        )
    console.print(table)


@dlq_app.command("replay")
@handles_errors
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="e.g. clio.events.v1")],
    offsets: Annotated[list[str], typer.Argument(help="PARTITION:OFFSET of each letter to replay")],
    kafka: KafkaOption = None,
) -> None:
    """Send dead letters back to their original topic (after fixing their cause)."""
    import asyncio

    from aiokafka.errors import KafkaError

    from cashroom_chassis.dead_letters import list_dead_letters, replay

    kafka = _broker(kafka)
    _quiet_kafka_client()
    try:
        letters = asyncio.run(list_dead_letters(kafka, topic, limit=100_000))
        wanted = set(offsets)
        chosen = [d for d in letters if f"{d.partition}:{d.offset}" in wanted]
        missing = wanted - {f"{d.partition}:{d.offset}" for d in chosen}
        if missing:
            raise ValueError(f"no dead letter of {topic} at {', '.join(sorted(missing))}")
        console.print(f"replayed {asyncio.run(replay(kafka, chosen))} event(s)")
    except KafkaError as error:
        raise _broker_unreachable(kafka, error) from None


# --- Clio: link, settings, sync, sync log ------------------------------------------------------


@app.command()
@handles_errors
def link(
    redirect_uri: Annotated[
        str | None, typer.Option(help="Override the OAuth callback URL.")
    ] = None,
    follow: Annotated[
        bool, typer.Option(help="Follow the authorize URL here (sandbox auto-approve).")
    ] = False,
    wait: Annotated[int, typer.Option(help="Seconds to wait for the browser step.")] = 600,
) -> None:
    """Link the firm's Clio account (OAuth 2.0). Prints the URL to open in a browser."""
    from cashroom_cli.flows import link_clio

    link_clio(api(), console, redirect_uri=redirect_uri, follow=follow, wait_seconds=wait)


settings_app = typer.Typer(no_args_is_help=True, help="The firm's Clio sync settings.")
app.add_typer(settings_app, name="settings")


@settings_app.command("show")
@handles_errors
def settings_show(fmt: FormatOption = Format.TABLE) -> None:
    """Show the sync settings."""
    with api() as client:
        emit(client.get("connector", client.firm_path("/settings")), fmt, title="Sync settings")


def _name_values(pairs: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a mapping (names stripped, values as written)."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected NAME=VALUE, got {pair!r}")
        found[name.strip()] = value
    return found


@settings_app.command("set")
@handles_errors
def settings_set(
    values: Annotated[
        list[str], typer.Argument(help="NAME=VALUE pairs, e.g. allow_full_sync=true")
    ],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Change sync settings (validated by the connector against the ledger's chart)."""
    changes = {name: _setting_value(raw.strip()) for name, raw in _name_values(values).items()}
    with api() as client:
        current = client.get("connector", client.firm_path("/settings"))
        updated = client.send(
            "connector", "PUT", client.firm_path("/settings"), json={**current, **changes}
        )
        emit(updated, fmt, title="Sync settings")


def _setting_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    if lowered in {"null", "none", ""}:
        return None
    if raw.isdigit():
        return int(raw)
    return raw


@app.command()
@handles_errors
def sync(
    full: Annotated[bool, typer.Option("--full", help="Re-read everything (if allowed).")] = False,
    wait: Annotated[bool, typer.Option(help="Wait until the ledger has posted it all.")] = True,
) -> None:
    """Sync latest changes from Clio, with live progress per resource; returns when the ledger
    has posted (or held, or rejected) everything that was synced. If a sync is already running
    for the firm (a Clio webhook's, the poll's, another cashier's), follows that one instead."""
    from cashroom_cli.flows import run_sync

    run_sync(api(), console, full=full, wait=wait)


@app.command()
@handles_errors
def log(
    status: Annotated[
        str | None,
        typer.Option(
            help="What the sync did: imported, updated, unchanged, skipped, flagged, deleted, "
            "resolved; or what the ledger answered: pending, posted, held, rejected"
        ),
    ] = None,
    object_type: Annotated[str | None, typer.Option(help="Clio resource, e.g. Bill")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Text to look for")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000)] = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """The sync log: what happened to each Clio record, and why."""
    with api() as client:
        data = client.get(
            "connector",
            client.firm_path("/sync-log"),
            params={"status": status, "object_type": object_type, "q": search, "limit": limit},
        )
        emit(data, fmt, title="Sync log")


RESOLUTIONS = ("choose_vat_treatment", "mark_outlay_paid", "retry")
MONEY_OPTIONS = ("vat_amount", "amount")


@app.command()
@handles_errors
def resolve(
    line: Annotated[int, typer.Argument(help="The sync-log line to resolve")],
    action: Annotated[str, typer.Argument(help="choose_vat_treatment, mark_outlay_paid or retry")],
    options: Annotated[
        list[str] | None, typer.Argument(help="NAME=VALUE, e.g. vat_treatment=outside_scope")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Resolve a flagged sync-log line; the corrected posting flows on to the ledger.

    \b
    choose_vat_treatment vat_treatment=outside_scope|exempt|zero_rated|standard
        [vat_rate_basis_points=2300]  (standard needs the rate: 2300 = 23%, 2000 = 20%)
        [vat_amount="12.34 EUR"]      (the VAT on the supplier's invoice, if not the rate's)
    mark_outlay_paid bank_account_id=ID paid_on=YYYY-MM-DD [amount="123.45 EUR"]
    retry                             (post it again after fixing it in Clio)

    A posting the ledger holds (an overdrawn client ledger) is an exception, not a flag:
    `cashroom exceptions` lists and resolves those."""
    if action not in RESOLUTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of: {', '.join(RESOLUTIONS)}")
    body: dict[str, Any] = {"action": action}
    for name, raw in _name_values(options or []).items():
        body[name] = money_value(name, raw) if name in MONEY_OPTIONS else _setting_value(raw)
    with api() as client:
        emit(
            client.send(
                "connector",
                "POST",
                client.firm_path(f"/sync-log/{line}/resolve"),
                json=body,
                role=Role.CASHIER,
            ),
            fmt,
            title=f"Line {line}",
        )


# --- Ledger exceptions -----------------------------------------------------------------------

exceptions_app = typer.Typer(
    no_args_is_help=True,
    help="The ledger's exceptions: postings it holds (a client ledger they would overdraw, a "
    "transfer beyond a bill) and states it reports, and their resolution.",
)
app.add_typer(exceptions_app, name="exceptions")

EXCEPTION_RESOLUTIONS = {"breach": "recorded_as_breach", "fixed": "fixed_at_source"}
EXCEPTION_COLUMNS = (
    "exception_id",
    "kind",
    "matter_id",
    "raised_on",
    "amount",
    "detail",
    "blocking",
    "open",
    "resolution",
    "resolved_by",
    "resolution_reason",
)


@exceptions_app.command("list")
@handles_errors
def exceptions_list(
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 1000,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """The ledger's exceptions, open ones only unless --all."""
    with api() as client:
        found = client.get(
            "ledger",
            client.firm_path("/exceptions"),
            role=Role.VIEWER,
            params={"open": not all_, "limit": limit},
        )
    rows = [{column: row.get(column) for column in EXCEPTION_COLUMNS} for row in found]
    emit(rows, fmt, title=f"{len(rows)} {'' if all_ else 'open '}exception(s)")


MIN_ID_PREFIX = 4
UUID_CHARACTERS = "0123456789abcdef-"


@exceptions_app.command("resolve")
@handles_errors
def exceptions_resolve(
    exception: Annotated[str, typer.Argument(help="The exception's id, or its first characters")],
    how: Annotated[
        str,
        typer.Option(
            "--as",
            help="breach: post it as it happened and enter it in the breach register; "
            "fixed: it was corrected at source (in Clio), try the posting again",
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Resolve an open exception, with the reason (SRA 5.3: a cashier decides, and says why)."""
    resolution = EXCEPTION_RESOLUTIONS.get(how)
    if resolution is None:
        raise ValueError(f"--as {how!r}: choose breach or fixed")
    if not reason.strip():
        raise ValueError("--reason: say why (it is kept in the audit trail)")
    wanted = exception.strip().lower()
    if len(wanted.replace("-", "")) < MIN_ID_PREFIX or set(wanted) - set(UUID_CHARACTERS):
        # An empty or one-letter prefix would name whichever exception happens to be alone.
        raise ValueError(
            f"{exception!r} is not an exception id: give it, or at least its first "
            f"{MIN_ID_PREFIX} characters (`cashroom exceptions list`)"
        )
    with api() as client:
        open_ones = client.get(
            "ledger",
            client.firm_path("/exceptions"),
            role=Role.VIEWER,
            params={"open": True, "limit": 5000},
        )
        matches = [e for e in open_ones if str(e["exception_id"]).startswith(wanted)]
        if not matches:
            raise ValueError(f"no open exception {exception!r} (`cashroom exceptions list`)")
        if len(matches) > 1:
            raise ValueError(
                f"{exception!r} names {len(matches)} open exceptions: give more of its id"
            )
        exception_id = matches[0]["exception_id"]
        resolved = client.send(
            "ledger",
            "POST",
            client.firm_path(f"/exceptions/{exception_id}/resolve"),
            json={"resolution": resolution, "reason": reason},
            role=Role.CASHIER,
        )
        emit(
            {column: resolved.get(column) for column in EXCEPTION_COLUMNS},
            fmt,
            title=f"Exception {exception_id}",
        )


# --- Reports -------------------------------------------------------------------------------


REPORTS = {
    "trial-balance": "/reports/trial-balance",
    "profit-and-loss": "/reports/profit-and-loss",
    "balance-sheet": "/reports/balance-sheet",
    "client-ledger-balances": "/reports/client-ledger-balances",
    "aged-debtors": "/reports/aged-debtors",
    "aged-creditors": "/reports/aged-creditors",
    "unbilled": "/reports/unbilled",
    "vat-return": "/reports/vat-return",
    "dormant-balances": "/reports/dormant-balances",
    "breach-register": "/reports/breach-register",
    "sync-summary": "/reports/sync-summary",
    "audit-trail": "/reports/audit-trail",
}


REPORT_FORMATS = ("table", "json", "csv", "pdf")
MATTER_LEDGER = "matter-ledger/"


def _report_path(name: str) -> str:
    """The reporting service's path of report ``name``; a matter's reference is sent as one
    path segment whatever it holds (``/``, ``#``, ``?``, spaces, accents)."""
    if name in REPORTS:
        return REPORTS[name]
    if name.startswith(MATTER_LEDGER):
        matter = name.removeprefix(MATTER_LEDGER)
        if not matter.strip():
            raise ValueError("name the matter: matter-ledger/REFERENCE (or its Clio id)")
        segment = quote(matter, safe="")
        if segment in {".", ".."}:  # a URL would take these as "here" and "up one"
            segment = segment.replace(".", "%2E")
        return "/reports/matter-ledger/" + segment
    choices = ", ".join([*REPORTS, MATTER_LEDGER + "MATTER"])
    raise ValueError(f"unknown report {name!r}; choose one of: {choices}")


@app.command()
@handles_errors
def report(
    name: Annotated[
        str,
        typer.Argument(
            help=", ".join([*REPORTS, "matter-ledger/MATTER (its Clio id or reference)"])
        ),
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, csv or pdf")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File for pdf, csv or json")
    ] = None,
    parameters: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Any other parameter of the report, NAME=VALUE (repeatable): offset=500 and "
            "limit=5000 for the audit trail, older_than_days=730 for dormant balances, "
            "page=2 or page_size=0 for a listing's JSON ...",
        ),
    ] = None,
) -> None:
    """Any report of the reporting service, as a table, JSON, CSV or PDF."""
    path = _report_path(name)
    extra = _name_values(parameters or [])
    for label, value in (("--as-of", as_of), ("--from", date_from), ("--to", date_to)):
        if value is not None:
            _iso_date(label, value)
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(REPORT_FORMATS)}")
    if output is not None and fmt == "table":
        raise ValueError("--output writes pdf, csv or json: add --format pdf|csv|json")
    dates = {"as_of": as_of, "from": date_from, "to": date_to}
    # A date given as an option wins; one given only with -p is kept (not blanked by None).
    params = {**extra, **{k: v for k, v in dates.items() if v is not None}}
    with api() as client:
        if fmt in {"pdf", "csv"}:
            response = client.request(
                "reporting",
                "GET",
                client.firm_path(path),
                role=Role.VIEWER,
                params={**params, "format": fmt},
            )
            target = output or Path(f"{name.replace('/', '-')}.{fmt}")
            if fmt == "csv" and output is None:
                print(response.text, end="")
                return
            target.write_bytes(response.content)
            console.print(f"wrote {target}")
            return
        data = client.get("reporting", client.firm_path(path), role=Role.VIEWER, params=params)
        if output is not None:
            output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            console.print(f"wrote {output}")
        elif fmt == "table" and is_report(data):
            render_report(data, console)
        else:
            emit(data, Format(fmt), title=name.replace("-", " ").capitalize())


# --- Banking: statements and reconciliation --------------------------------------------------

bank_app = typer.Typer(no_args_is_help=True, help="Bank statements.")
app.add_typer(bank_app, name="bank")


@bank_app.command("import")
@handles_errors
def bank_import(
    file: Annotated[Path, typer.Argument(help="CAMT.053, OFX, MT940 or CSV")],
    account: Annotated[int, typer.Option(help="The bank account (its Clio id)")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Import a bank statement for an office or client account."""
    if not file.is_file():
        raise ValueError(f"no statement file at {file}")
    with api() as client, file.open("rb") as handle:
        result = client.send(
            "reconciliation",
            "POST",
            client.firm_path(f"/bank-accounts/{account}/statements"),
            files={"file": (file.name, handle)},
            role=Role.CASHIER,
        )
        emit(result, fmt, title=f"Imported {file.name}")


@app.command()
@handles_errors
def reconcile(
    account: Annotated[int, typer.Argument(help="The bank account (its Clio id)")],
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    sign: Annotated[bool, typer.Option("--sign", help="Sign it off (locks the period)")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Auto-match and produce the reconciliation statement (three-way for client accounts)."""
    _iso_date("--as-of", as_of)
    with api() as client:
        base = client.firm_path(f"/bank-accounts/{account}")
        client.send("reconciliation", "POST", f"{base}/auto-match", role=Role.CASHIER)
        if sign:
            result = client.send(
                "reconciliation",
                "POST",
                f"{base}/reconciliations",
                json={"as_of": as_of},
                role=Role.CASHIER,
            )
        else:
            result = client.get(
                "reconciliation",
                f"{base}/reconciliation",
                params={"as_of": as_of},
                role=Role.VIEWER,
            )
        emit(result, fmt, title=f"Reconciliation of account {account} as of {as_of}")


@app.command()
@handles_errors
def status(fmt: FormatOption = Format.TABLE) -> None:
    """Each service's health, consumer lag per group, and the last sync per Clio object type."""
    from cashroom_cli.flows import stack_status

    rows = stack_status(api())
    emit(rows, fmt, title="Cashroom status")
    down = [r["what"] for r in rows if r["what"] in SERVICES and r["state"] != "ready"]
    if down:
        _fail(f"not ready: {', '.join(down)}")


def main() -> None:
    """The ``cashroom`` command. A mistyped command line (an account that is not a number, an
    unknown option, a missing argument) is one line and exit 1 too, not click's usage box."""
    try:
        code = app(standalone_mode=False, prog_name="cashroom")
    except NoArgsIsHelpError as error:
        error.show()
        raise SystemExit(2) from None
    except UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "cashroom"
        err.print(
            f"[red]cashroom:[/red] {escape(' '.join(error.format_message().split()))} "
            f"(`{command} --help` shows the usage)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None
    except typer.Abort:
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
