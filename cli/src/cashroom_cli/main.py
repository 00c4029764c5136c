"""The ``cashroom`` command: what a cashier or an ops engineer does, from the terminal."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

import typer
from cashroom_chassis.auth import Role, issue_token
from rich.console import Console
from rich.table import Table

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


if __name__ == "__main__":
    app()
