"""The migrations create exactly the tables the code describes (``db/tables.py``): compared
column by column, index by index, against the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from ledger_service_fixtures import Service
from sqlalchemy import text
from sqlalchemy.engine import Connection

from cashroom_ledger.db.tables import metadata


async def test_the_migrated_schema_is_the_one_the_code_describes(service: Service) -> None:
    schema = service.settings.db_schema

    def differences(connection: Connection) -> list[object]:
        connection.execute(text(f'SET search_path TO "{schema}", public'))
        context = MigrationContext.configure(
            connection, opts={"include_schemas": False, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    async with service.db.engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []
