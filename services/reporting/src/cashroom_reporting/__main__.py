"""`python -m cashroom_reporting [serve]`: the HTTP API and consumers in one process.
`python -m cashroom_reporting rebuild --firm F`: rebuild one firm's read models from the events.
`python -m cashroom_reporting migrate`: bring the schema up to date and exit."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from cashroom_chassis import migrations
from cashroom_chassis.db import Database
from cashroom_chassis.runtime import serve
from cashroom_reporting.app import MIGRATIONS, build
from cashroom_reporting.rebuild import rebuild_firm
from cashroom_reporting.settings import Settings


async def _rebuild(settings: Settings, firm_id: str) -> int:
    await migrations.upgrade(settings, MIGRATIONS)
    db = Database(settings)
    try:
        result = await rebuild_firm(db, settings, firm_id, topics=settings.topics)
    finally:
        await db.dispose()
    print(json.dumps(result.__dict__))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m cashroom_reporting")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the API and the consumers (the default)")
    commands.add_parser("migrate", help="bring the schema up to date")
    rebuild = commands.add_parser("rebuild", help="rebuild one firm's read models from the events")
    rebuild.add_argument("--firm", required=True, help="the firm id")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "rebuild":
        return asyncio.run(_rebuild(settings, args.firm))
    if args.command == "migrate":
        asyncio.run(migrations.upgrade(settings, MIGRATIONS))
        return 0
    serve(build(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
