"""Planner statistics that keep up with a table growing fast.

A service's set-based statements (an UPDATE joined to a batch's ``unnest``) are planned on the
table's statistics. A young table's say it holds a handful of rows, and autovacuum's thresholds
lag one that grows by thousands of rows a second (a firm's first full sync): the planner then
scans the whole table once per batch, or once per row of the batch. ``keep_current`` runs
``ANALYZE`` when the table holds more than twice the rows its statistics say: one catalogue
query a call, about twenty ANALYZEs over a table's growth to a million rows.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

GROWTH_SQL = """
SELECT s.n_live_tup, c.reltuples
  FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE c.oid = to_regclass($1)
"""
"""The table's live rows (the server's counters) and its statistics' estimate, by name on the
search path (asyncpg's ``$1``; ``:table`` for SQLAlchemy below)."""


def outgrown(live: int, estimated: float, *, at_least: int = 1000) -> bool:
    """Whether a table of ``live`` rows whose statistics say ``estimated`` (-1: never analyzed)
    wants ANALYZE."""
    return live >= at_least and live > 2 * max(estimated, 0.0)


async def keep_current(session: AsyncSession, table: str, *, at_least: int = 1000) -> bool:
    """ANALYZE ``table`` (a name of ours, on the search path) when ``outgrown``, in the caller's
    transaction. Returns whether it analyzed."""
    row = (
        await session.execute(text(GROWTH_SQL.replace("$1", ":table")), {"table": table})
    ).first()
    if row is None or not outgrown(int(row.n_live_tup), float(row.reltuples), at_least=at_least):
        return False
    await session.execute(text(f"ANALYZE {table}"))
    return True
