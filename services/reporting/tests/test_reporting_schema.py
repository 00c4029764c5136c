"""The migrations create exactly the read models the code describes (``db/tables.py``):
compared column by column, type by type, index by index, against the migrated schema. Column
comments are the code's documentation and most migrations did not copy them, so they are not
compared."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from cashroom_chassis.db import Database
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
