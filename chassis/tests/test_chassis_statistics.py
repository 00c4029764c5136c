"""Planner statistics follow a table that grows fast: ANALYZE once it holds more than twice the
rows its statistics say (and at least a thousand), never more often."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from cashroom_chassis.db import Database, ensure_schema
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.statistics import keep_current, outgrown
from cashroom_chassis.testing import Infrastructure


def test_a_table_has_outgrown_its_statistics_past_twice_their_rows_and_a_thousand() -> None:
    assert outgrown(1_000, -1)  # never analyzed
    assert not outgrown(999, -1)  # too small to matter
    assert outgrown(2_001, 1_000)
    assert not outgrown(2_000, 1_000)


async def test_a_grown_table_is_analyzed_once(
    infrastructure: Infrastructure, unique_name: str
) -> None:
    settings = ServiceSettings(
        service_name=f"stats_{unique_name}", database_url=infrastructure.database_url
    )
    db = Database(settings)
    await ensure_schema(db.engine, settings.db_schema)  # the table lives in the test's schema
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE grows (n integer PRIMARY KEY)"))
            await session.execute(text("INSERT INTO grows SELECT generate_series(1, 3000)"))
            await session.execute(text("SELECT pg_stat_force_next_flush()"))

        async def refresh() -> bool:
            async with db.transaction() as session:
                return await keep_current(session, "grows")

        for _ in range(50):  # the server's counters see the rows within a second or so
            if await refresh():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the grown table was never analyzed")
        async with db.transaction() as session:
            estimate = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('grows')")
            )
        assert estimate == 3000
        assert await refresh() is False
    finally:
        async with db.transaction() as session:
            await session.execute(text(f'DROP SCHEMA "{settings.db_schema}" CASCADE'))
        await db.dispose()
