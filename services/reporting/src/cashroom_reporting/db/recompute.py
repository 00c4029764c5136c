"""Full recomputation of a firm's aggregates from its facts, in set-based SQL.

The handlers keep the aggregates incrementally; this derives the same rows from scratch (journal
lines, links, Clio records). A rebuild replays the facts and then calls ``everything``; the
benchmark times it against the incremental read path; the tests prove both give the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_reporting.db import writes

AGGREGATES = (
    "account_daily",
    "account_monthly",
    "account_balances",
    "matter_daily",
    "matter_balances",
    "matter_spans",
    "vat_daily",
    "ledger_items",
    "item_spans",
    "sync_totals",
)


async def everything(session: AsyncSession, firm_id: str, tracked_codes: Sequence[str]) -> None:
    for table in AGGREGATES:
        await session.execute(text(f"DELETE FROM {table} WHERE firm_id = :f"), {"f": firm_id})
    await balances(session, firm_id)
    # The daily rows were just written: plan the spans' lookups of them with their statistics.
    await session.execute(text("ANALYZE matter_daily, matter_balances"))
    await session.execute(writes.FIRM_SPANS_INSERT, {"f": firm_id})
    await items(session, firm_id, tracked_codes)
    await sync_totals(session, firm_id)


def _daily(
    daily: str, current: str, keys: str, source_keys: str, group_keys: str, where: str
) -> list[str]:
    return [
        f"""
        INSERT INTO {daily} (firm_id, {keys}, currency, day, debit, credit, cum_debit, cum_credit)
        SELECT firm_id, {keys}, currency, day, debit, credit,
               SUM(debit) OVER w, SUM(credit) OVER w
        FROM (
            SELECT firm_id, {source_keys}, currency, posted_on AS day,
                   SUM(debit) AS debit, SUM(credit) AS credit
            FROM journal_lines WHERE firm_id = :f {where}
            GROUP BY firm_id, {group_keys}, currency, posted_on
        ) AS days
        WINDOW w AS (PARTITION BY {keys}, currency ORDER BY day)
        """,
        f"""
        INSERT INTO {current}
            (firm_id, {keys}, currency, debit_total, credit_total, first_movement_on,
             last_movement_on)
        SELECT firm_id, {keys}, currency, SUM(debit), SUM(credit), MIN(day), MAX(day)
        FROM {daily} WHERE firm_id = :f
        GROUP BY firm_id, {keys}, currency
        """,
    ]


ACCOUNT_DAYS = """
INSERT INTO account_daily (firm_id, account_code, currency, day, debit, credit)
SELECT firm_id, account_code, currency, posted_on, SUM(debit), SUM(credit)
FROM journal_lines WHERE firm_id = :f
GROUP BY firm_id, account_code, currency, posted_on
"""
ACCOUNT_MONTHS = """
INSERT INTO account_monthly
    (firm_id, account_code, currency, month, debit, credit, cum_debit, cum_credit)
SELECT firm_id, account_code, currency, month, debit, credit,
       SUM(debit) OVER w, SUM(credit) OVER w
FROM (
    SELECT firm_id, account_code, currency, CAST(date_trunc('month', day) AS date) AS month,
           SUM(debit) AS debit, SUM(credit) AS credit
    FROM account_daily WHERE firm_id = :f
    GROUP BY firm_id, account_code, currency, CAST(date_trunc('month', day) AS date)
) AS months
WINDOW w AS (PARTITION BY firm_id, account_code, currency ORDER BY month)
"""
ACCOUNT_CURRENT = """
INSERT INTO account_balances
    (firm_id, account_code, currency, debit_total, credit_total, first_movement_on,
     last_movement_on)
SELECT firm_id, account_code, currency, SUM(debit), SUM(credit), MIN(day), MAX(day)
FROM account_daily WHERE firm_id = :f
GROUP BY firm_id, account_code, currency
"""


async def balances(session: AsyncSession, firm_id: str) -> None:
    statements = [
        ACCOUNT_DAYS,
        ACCOUNT_MONTHS,
        ACCOUNT_CURRENT,
        *_daily(
            "matter_daily",
            "matter_balances",
            "matter_id, side, account_code",
            "matter_id, COALESCE(side, 'office') AS side, account_code",
            "matter_id, COALESCE(side, 'office'), account_code",
            "AND matter_id IS NOT NULL",
        ),
        """
        INSERT INTO vat_daily (firm_id, vat_code, currency, day, debit, credit)
        SELECT firm_id, vat_code, currency, posted_on, SUM(debit), SUM(credit)
        FROM journal_lines WHERE firm_id = :f AND vat_code IS NOT NULL AND vat_code <> ''
        GROUP BY firm_id, vat_code, currency, posted_on
        """,
    ]
    for statement in statements:
        await session.execute(text(statement), {"f": firm_id})


_BASE_ITEM = """
    COALESCE(
        (SELECT s.item_key FROM source_links s
         WHERE s.firm_id = j.firm_id AND j.source_system = 'clio'
           AND s.object_type = j.source_type AND s.object_id = j.source_id),
        'source:' || j.source_system || ':' || j.source_type || ':' || j.source_id)
"""


async def items(session: AsyncSession, firm_id: str, tracked_codes: Sequence[str]) -> None:
    """Each line on a control nominal belongs to an item: the item of the line it reverses (same
    nominal and matter, in the journal it reverses), else the item its journal's source is linked
    to (a bill, a supplier invoice), else its journal's source itself."""
    params = {"f": firm_id, "codes": list(tracked_codes)}
    await session.execute(
        text(
            "UPDATE journal_lines SET item_key = NULL WHERE firm_id = :f AND item_key IS NOT NULL"
        ),
        {"f": firm_id},
    )
    await session.execute(
        text(f"""
        UPDATE journal_lines l SET item_key = {_BASE_ITEM}
        FROM journals j
        WHERE l.firm_id = :f AND l.account_code = ANY(:codes)
          AND j.firm_id = l.firm_id AND j.journal_id = l.journal_id
          AND NOT EXISTS (
            SELECT 1 FROM journal_lines o
            WHERE o.firm_id = l.firm_id AND o.journal_id = j.reverses_journal_id
              AND o.account_code = l.account_code
              AND o.matter_id IS NOT DISTINCT FROM l.matter_id)
        """),
        params,
    )
    while True:  # reversals take their original's item, a level of reversal at a time
        result = await session.execute(
            text("""
            UPDATE journal_lines l SET item_key = (
                SELECT o.item_key FROM journal_lines o
                WHERE o.firm_id = l.firm_id AND o.journal_id = j.reverses_journal_id
                  AND o.account_code = l.account_code
                  AND o.matter_id IS NOT DISTINCT FROM l.matter_id AND o.item_key IS NOT NULL
                ORDER BY o.line_no LIMIT 1)
            FROM journals j
            WHERE l.firm_id = :f AND l.account_code = ANY(:codes) AND l.item_key IS NULL
              AND j.firm_id = l.firm_id AND j.journal_id = l.journal_id
              AND j.reverses_journal_id IS NOT NULL
              AND EXISTS (
                SELECT 1 FROM journal_lines o
                WHERE o.firm_id = l.firm_id AND o.journal_id = j.reverses_journal_id
                  AND o.account_code = l.account_code
                  AND o.matter_id IS NOT DISTINCT FROM l.matter_id AND o.item_key IS NOT NULL)
            RETURNING 1
            """),
            params,
        )
        if result.first() is None:
            break
    await session.execute(text("DELETE FROM ledger_items WHERE firm_id = :f"), {"f": firm_id})
    await session.execute(
        text("""
        INSERT INTO ledger_items
            (firm_id, account_code, item_key, currency, matter_id, opened_on, debit_total,
             credit_total, last_movement_on, closed_on)
        SELECT firm_id, account_code, item_key, currency, MIN(matter_id), MIN(posted_on),
               SUM(debit), SUM(credit), MAX(posted_on),
               CASE WHEN SUM(debit) = SUM(credit) THEN MAX(posted_on) END
        FROM journal_lines WHERE firm_id = :f AND item_key IS NOT NULL
        GROUP BY firm_id, account_code, item_key, currency
        """),
        {"f": firm_id},
    )
    await session.execute(text("DELETE FROM item_spans WHERE firm_id = :f"), {"f": firm_id})
    await session.execute(writes.FIRM_ITEM_SPANS_INSERT, {"f": firm_id})


async def sync_totals(session: AsyncSession, firm_id: str) -> None:
    """The sync summary's totals per Clio object type (``domain/sync.contribution`` in SQL)."""
    await session.execute(text("DELETE FROM sync_totals WHERE firm_id = :f"), {"f": firm_id})
    await session.execute(
        text("""
        INSERT INTO sync_totals
            (firm_id, object_type, currency, records, versions, amount, deleted, posted, held,
             rejected, last_synced_at)
        SELECT firm_id, object_type, COALESCE(currency, ''),
               COUNT(*) FILTER (WHERE NOT deleted), SUM(versions),
               COALESCE(SUM(amount) FILTER (WHERE NOT deleted), 0),
               COUNT(*) FILTER (WHERE deleted),
               COUNT(*) FILTER (WHERE NOT deleted AND outcome = 'posted'),
               COUNT(*) FILTER (WHERE NOT deleted AND outcome = 'held'),
               COUNT(*) FILTER (WHERE NOT deleted AND outcome = 'rejected'),
               MAX(last_synced_at)
        FROM clio_records WHERE firm_id = :f AND synced
        GROUP BY firm_id, object_type, COALESCE(currency, '')
        """),
        {"f": firm_id},
    )
