"""Writes the handlers make: facts as they arrive, aggregates moved by each journal.

The daily tables keep, per key and day, the day's debits and credits and the cumulative sums
through that day. A movement dated ``d`` adds to the row of ``d`` (created from the last earlier
row's cumulative sums if missing) and to the cumulative sums of every later row of the key, so a
back-dated journal keeps every later balance right. The current-balance tables move with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_reporting.domain.postings import Movement

_TYPES = {"account_code": "text", "matter_id": "bigint", "side": "text", "vat_code": "text"}


def _daily_sql(daily: str, current: str, keys: Sequence[str]) -> str:
    cols = ", ".join(keys)
    params = ", ".join(f"CAST(:{k} AS {_TYPES[k]})" for k in keys)
    same = " AND ".join(f"{k} = CAST(:{k} AS {_TYPES[k]})" for k in keys)
    prev_same = " AND ".join(f"p.{k} = CAST(:{k} AS {_TYPES[k]})" for k in keys)
    return f"""
WITH later AS (
    UPDATE {daily} SET cum_debit = cum_debit + :debit, cum_credit = cum_credit + :credit
    WHERE firm_id = :firm_id AND {same} AND currency = :currency AND day > :day
    RETURNING 1
), day_row AS (
    INSERT INTO {daily} AS d (firm_id, {cols}, currency, day, debit, credit, cum_debit, cum_credit)
    SELECT :firm_id, {params}, :currency, :day, :debit, :credit,
           COALESCE(prev.cum_debit, 0) + :debit, COALESCE(prev.cum_credit, 0) + :credit
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT p.cum_debit, p.cum_credit FROM {daily} p
        WHERE p.firm_id = :firm_id AND {prev_same}
          AND p.currency = :currency AND p.day < :day
        ORDER BY p.day DESC LIMIT 1
    ) AS prev ON true
    ON CONFLICT (firm_id, {cols}, currency, day) DO UPDATE SET
        debit = d.debit + EXCLUDED.debit,
        credit = d.credit + EXCLUDED.credit,
        cum_debit = d.cum_debit + EXCLUDED.debit,
        cum_credit = d.cum_credit + EXCLUDED.credit
    RETURNING 1
)
INSERT INTO {current} AS c
    (firm_id, {cols}, currency, debit_total, credit_total, first_movement_on, last_movement_on)
VALUES (:firm_id, {params}, :currency, :debit, :credit, :day, :day)
ON CONFLICT (firm_id, {cols}, currency) DO UPDATE SET
    debit_total = c.debit_total + EXCLUDED.debit_total,
    credit_total = c.credit_total + EXCLUDED.credit_total,
    first_movement_on = LEAST(c.first_movement_on, EXCLUDED.first_movement_on),
    last_movement_on = GREATEST(c.last_movement_on, EXCLUDED.last_movement_on)
"""


ACCOUNT_SQL = text(_daily_sql("account_daily", "account_balances", ["account_code"]))
MATTER_SQL = text(
    _daily_sql("matter_daily", "matter_balances", ["matter_id", "side", "account_code"])
)
VAT_SQL = text("""
INSERT INTO vat_daily AS v (firm_id, vat_code, currency, day, debit, credit)
VALUES (:firm_id, :vat_code, :currency, :day, :debit, :credit)
ON CONFLICT (firm_id, vat_code, currency, day) DO UPDATE SET
    debit = v.debit + EXCLUDED.debit, credit = v.credit + EXCLUDED.credit
""")


def _rows(
    firm_id: str, day: date, keys: Sequence[str], movements: Mapping[tuple[Any, ...], Movement]
) -> list[dict[str, Any]]:
    rows = []
    for key, movement in sorted(movements.items()):
        row: dict[str, Any] = dict(zip(keys, key[:-1], strict=True))
        row.update(
            firm_id=firm_id,
            currency=key[-1],
            day=day,
            debit=movement.debit,
            credit=movement.credit,
        )
        rows.append(row)
    return rows


async def move_accounts(
    session: AsyncSession, firm_id: str, day: date, movements: Mapping[tuple[str, str], Movement]
) -> None:
    rows = _rows(firm_id, day, ["account_code"], movements)
    if rows:
        await session.execute(ACCOUNT_SQL, rows)


async def move_matters(
    session: AsyncSession,
    firm_id: str,
    day: date,
    movements: Mapping[tuple[int, str, str, str], Movement],
) -> None:
    rows = _rows(firm_id, day, ["matter_id", "side", "account_code"], movements)
    if rows:
        await session.execute(MATTER_SQL, rows)


async def move_vat(
    session: AsyncSession, firm_id: str, day: date, movements: Mapping[tuple[str, str], Movement]
) -> None:
    rows = _rows(firm_id, day, ["vat_code"], movements)
    if rows:
        await session.execute(VAT_SQL, rows)


ITEM_SQL = text("""
INSERT INTO ledger_items AS i
    (firm_id, account_code, item_key, currency, matter_id, opened_on, debit_total, credit_total,
     last_movement_on, closed_on)
VALUES (:firm_id, :account_code, :item_key, :currency, CAST(:matter_id AS bigint), :day, :debit,
        :credit, :day, CASE WHEN CAST(:debit AS bigint) = CAST(:credit AS bigint) THEN CAST(:day AS date) END)
ON CONFLICT (firm_id, account_code, item_key, currency) DO UPDATE SET
    matter_id = LEAST(i.matter_id, EXCLUDED.matter_id),
    opened_on = LEAST(i.opened_on, EXCLUDED.opened_on),
    debit_total = i.debit_total + EXCLUDED.debit_total,
    credit_total = i.credit_total + EXCLUDED.credit_total,
    last_movement_on = GREATEST(i.last_movement_on, EXCLUDED.last_movement_on),
    closed_on = CASE
        WHEN i.debit_total + EXCLUDED.debit_total = i.credit_total + EXCLUDED.credit_total
        THEN GREATEST(i.last_movement_on, EXCLUDED.last_movement_on)
    END
""")


async def move_items(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await session.execute(ITEM_SQL, list(rows))


RECOMPUTE_ITEMS_SQL = text("""
INSERT INTO ledger_items
    (firm_id, account_code, item_key, currency, matter_id, opened_on, debit_total, credit_total,
     last_movement_on, closed_on)
SELECT firm_id, account_code, item_key, currency, MIN(matter_id), MIN(posted_on), SUM(debit),
       SUM(credit), MAX(posted_on), CASE WHEN SUM(debit) = SUM(credit) THEN MAX(posted_on) END
FROM journal_lines
WHERE firm_id = :firm_id AND item_key = :item_key
GROUP BY firm_id, account_code, item_key, currency
ON CONFLICT (firm_id, account_code, item_key, currency) DO UPDATE SET
    matter_id = EXCLUDED.matter_id, opened_on = EXCLUDED.opened_on,
    debit_total = EXCLUDED.debit_total, credit_total = EXCLUDED.credit_total,
    last_movement_on = EXCLUDED.last_movement_on, closed_on = EXCLUDED.closed_on
""")


async def rekey_items(
    session: AsyncSession, firm_id: str, old_key: str, new_key: str, *, aggregates: bool
) -> None:
    """A link arrived after the lines it explains: move them from their provisional item (their
    journal's source) to the item the link names (a bill, a supplier invoice)."""
    moved = await session.execute(
        text(
            "UPDATE journal_lines SET item_key = :new WHERE firm_id = :firm_id AND item_key = :old "
            "RETURNING 1"
        ),
        {"firm_id": firm_id, "old": old_key, "new": new_key},
    )
    if moved.first() is None or not aggregates:
        return
    await session.execute(
        text("DELETE FROM ledger_items WHERE firm_id = :firm_id AND item_key = :old"),
        {"firm_id": firm_id, "old": old_key},
    )
    await session.execute(RECOMPUTE_ITEMS_SQL, {"firm_id": firm_id, "item_key": new_key})
