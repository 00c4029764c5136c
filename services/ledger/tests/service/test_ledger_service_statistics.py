"""The dated balances' statistics follow the table as it grows: the balance flush is planned on
them, and on a young table's (a few rows) the planner scanned every balance of the firm once
per range moved (seconds a flush in a first full sync, where it takes milliseconds)."""

from __future__ import annotations

import asyncio
from datetime import date

from ledger_service_fixtures import Service
from sqlalchemy import text

from cashroom_ledger.db.connection import Connection
from cashroom_ledger.db.store import keep_statistics_current

ROWS = 3_000
_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = 'balances'::regclass")


async def _estimate(service: Service) -> float:
    async with service.db.transaction() as session:
        return float(
            await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = 'balances'::regclass")
            )
        )


async def _refresh(service: Service) -> bool:
    async with service.db.transaction() as session:
        return await session.run_sync(
            lambda s: keep_statistics_current(Connection.of(s), "balances")
        )


async def test_a_table_grown_past_twice_its_statistics_is_analyzed_once(service: Service) -> None:
    async with service.db.transaction() as session:
        await session.execute(text("ANALYZE balances"))
        before = float(
            await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = 'balances'::regclass")
            )
        )
        assert before < ROWS / 2
        first = date(2020, 1, 1)
        await session.execute(
            text(
                "INSERT INTO balances (firm_id, account_code, matter_id, ledger_side, "
                "bank_account_id, balance_date, movement, cumulative) "
                "SELECT 'firm-statistics', '1200', 0, '', 0, CAST(:first AS date) + n, 1, n "
                "FROM generate_series(1, :rows) AS n"
            ),
            {"first": first, "rows": ROWS},
        )
        await session.execute(text("SELECT pg_stat_force_next_flush()"))
    for _ in range(50):  # the server's table statistics count the rows within a second or so
        if await _refresh(service):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the grown table was never analyzed")
    assert await _estimate(service) >= ROWS
    assert await _refresh(service) is False  # now current: nothing more to do
