"""The migrations create exactly the read models the code describes (``db/tables.py``):
compared column by column, type by type, index by index, against the migrated schema. Column
comments are the code's documentation and most migrations did not copy them, so they are not
compared. A migration that adds a derived column fills it for the rows already held with what
the handlers would have written."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from reporting_fixtures import apply_all
from reporting_scenario import envelopes
from sqlalchemy import text
from sqlalchemy.engine import Connection

from cashroom_chassis.db import Database
from cashroom_chassis.migrations import alembic_config, upgrade
from cashroom_reporting.app import MIGRATIONS
from cashroom_reporting.db.tables import metadata
from cashroom_reporting.settings import Settings


def _is_comment(difference: object) -> bool:
    # A column's changes come as a list of tuples; a table's or an index's as one tuple.
    changes = difference if isinstance(difference, list) else [difference]
    return all(isinstance(c, tuple) and c[0] == "modify_comment" for c in changes)


async def test_the_migrated_schema_is_the_one_the_code_describes(
    settings: Settings, db: Database
) -> None:
    schema = settings.db_schema

    def differences(connection: Connection) -> list[object]:
        connection.execute(text(f'SET search_path TO "{schema}", public'))
        context = MigrationContext.configure(
            connection, opts={"include_schemas": False, "compare_type": True}
        )
        return [d for d in compare_metadata(context, metadata) if not _is_comment(d)]

    async with db.engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []


async def test_an_upgrade_fills_what_it_adds_as_the_handlers_would_have(
    settings: Settings, db: Database
) -> None:
    # The worked example held under the current schema; then back to the schema before spans
    # were dated and totalled (0008), and up again: the upgrade's fill must give every span
    # the values the handlers wrote.
    firm = f"firm-{uuid.uuid4().hex[:8]}"
    await apply_all(db, envelopes(firm))
    written = await _spans(db, firm)
    assert any(row[-1] is not None for row in written["item_spans"])  # some spans dated
    assert any(row[-1] != 0 for row in written["matter_spans"])  # some office totals

    await asyncio.to_thread(command.downgrade, alembic_config(settings, MIGRATIONS), "0008")
    await upgrade(settings, MIGRATIONS)

    assert await _spans(db, firm) == written


async def _spans(db: Database, firm: str) -> dict[str, list[tuple[object, ...]]]:
    """Each span table's rows of ``firm``, with the columns the upgrades since 0008 added last."""
    columns = {
        "matter_spans": "matter_id, currency, from_day, to_day, client, office, live, office_total",
        "item_spans": "item_key, account_code, currency, from_day, to_day, debit, credit, dated",
    }
    found: dict[str, list[tuple[object, ...]]] = {}
    async with db.transaction() as session:
        for table, listed in columns.items():
            result = await session.execute(
                text(f"SELECT {listed} FROM {table} WHERE firm_id = :f ORDER BY 1, 2, 3, 4"),
                {"f": firm},
            )
            found[table] = [tuple(r) for r in result]
    return found
