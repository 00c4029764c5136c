"""The ``cashroom`` command: what a cashier or an ops engineer does, from the terminal."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cashroom_chassis.auth import Role, issue_token

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
console = Console()
err = Console(stderr=True)


@app.command()
def demo() -> None:
    """Start Cashroom on this machine (embedded PostgreSQL and broker, every service) and keep it
    running until Ctrl-C."""
    from cashroom_cli.stack import running_stack

    console.print("[bold]Cashroom[/bold]: starting PostgreSQL, the broker and the services ...")
    started = time.monotonic()
    try:
        with running_stack() as stack:
            table = Table(title=f"Cashroom is running (ready in {time.monotonic() - started:.1f}s)")
            table.add_column("service")
            table.add_column("API")
            table.add_column("OpenAPI page")
            for name, service in stack.services.items():
                table.add_row(name, service.url, f"{service.url}/docs")
            console.print(table)
            console.print(f"PostgreSQL: {stack.database_url}")
            console.print(f"Kafka:      {stack.kafka_bootstrap_servers}")
            console.print(f"Logs:       {stack.log_dir}")
            console.print("Press Ctrl-C to stop everything.")
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        console.print("Stopping ...")
    except (RuntimeError, TimeoutError) as error:
        err.print(f"[red]cashroom demo failed:[/red] {error}")
        raise typer.Exit(1) from None


@app.command()
def token(
    firm: Annotated[str, typer.Option(help="The firm the token may act for.")],
    role: Annotated[Role, typer.Option(help="What it may do.")] = Role.CASHIER,
    subject: Annotated[
        str, typer.Option(help="Who uses it (recorded in the audit trail).")
    ] = "cli",
    hours: Annotated[int, typer.Option(min=1, max=24 * 90)] = 12,
    signing_key: Annotated[
        str, typer.Option(envvar="AUTH_SIGNING_KEY", help="The services' key.")
    ] = "",
) -> None:
    """Issue an API bearer token for one firm and role (needs AUTH_SIGNING_KEY)."""
    if not signing_key:
        err.print("cashroom token: set AUTH_SIGNING_KEY (the key the services verify tokens with)")
        raise typer.Exit(2)
    print(
        issue_token(
            signing_key, firm_id=firm, role=role, subject=subject, lifetime=timedelta(hours=hours)
        )
    )


dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: events that failed, and why.")
app.add_typer(dlq_app, name="dlq")
KafkaOption = Annotated[
    str, typer.Option("--kafka", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
]


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[str, typer.Argument(help="e.g. clio.events.v1 (its .dlq twin is read)")],
    kafka: KafkaOption = "127.0.0.1:9092",
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """List the dead letters of a topic with their errors."""
    import asyncio

    from cashroom_chassis.dead_letters import list_dead_letters

    letters = asyncio.run(list_dead_letters(kafka, topic, limit=limit))
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
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="e.g. clio.events.v1")],
    offsets: Annotated[list[str], typer.Argument(help="PARTITION:OFFSET of each letter to replay")],
    kafka: KafkaOption = "127.0.0.1:9092",
) -> None:
    """Send dead letters back to their original topic (after fixing their cause)."""
    import asyncio

    from cashroom_chassis.dead_letters import list_dead_letters, replay

    letters = asyncio.run(list_dead_letters(kafka, topic, limit=100_000))
    wanted = set(offsets)
    chosen = [d for d in letters if f"{d.partition}:{d.offset}" in wanted]
    missing = wanted - {f"{d.partition}:{d.offset}" for d in chosen}
    if missing:
        err.print(f"cashroom dlq replay: no dead letter at {', '.join(sorted(missing))}")
        raise typer.Exit(1)
    console.print(f"replayed {asyncio.run(replay(kafka, chosen))} event(s)")


if __name__ == "__main__":
    app()
