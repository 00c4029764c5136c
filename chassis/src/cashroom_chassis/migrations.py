"""Alembic per service: migrations live in the service, run against its own schema, and keep
their version table (``alembic_version``) in that schema.

A service's ``migrations/env.py`` is just::

    from cashroom_chassis.migrations import run_env
    from my_service.db.tables import metadata
    run_env(metadata)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from cashroom_chassis.db import create_engine, ensure_schema
from cashroom_chassis.settings import ServiceSettings


def alembic_config(settings: ServiceSettings, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["settings"] = settings
    return config


async def upgrade(settings: ServiceSettings, script_location: Path, revision: str = "head") -> None:
    """Bring the service's schema up to ``revision`` (creating the schema first if needed)."""
    engine = create_engine(settings, pooled=False)
    try:
        await ensure_schema(engine, settings.db_schema)
    finally:
        await engine.dispose()
    config = alembic_config(settings, script_location)
    # Alembic runs env.py synchronously; in a worker thread it gets an event loop of its own.
    await asyncio.to_thread(command.upgrade, config, revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    config = context.config
    settings: ServiceSettings = config.attributes["settings"]

    def migrate(connection: Connection) -> None:
        connection.execute(text(f'SET search_path TO "{settings.db_schema}", public'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=settings.db_schema,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(settings, pooled=False)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
