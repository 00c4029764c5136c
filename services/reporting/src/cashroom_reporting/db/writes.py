"""Writes the handlers make: facts as they arrive, aggregates moved by each journal.

``matter_daily`` keeps, per key and day, the day's debits and credits and the cumulative sums
through that day. A movement dated ``d`` adds to the row of ``d`` (created from the last earlier
row's cumulative sums if missing) and to the cumulative sums of every later row of the key, so a
back-dated journal keeps every later balance right. A nominal moves on most days, so its
cumulative sums are kept per month instead (``account_monthly``, the same rule a month at a
time) beside its days' movements (``account_daily``). The current-balance tables move with them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_reporting.domain.postings import ZERO, Movement

_TYPES = {"account_code": "text", "matter_id": "bigint", "side": "text", "vat_code": "text"}


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
    await respan_items(session, [(firm_id, old_key), (firm_id, new_key)])


# --- a batch of journals at once (the live consumer's unit of work) --------------------------
#
# The keys carry the firm and the currency: ``(firm, *key, currency)`` with ``key`` an account
# code (accounts), a matter, side and account code (matters) or a VAT tag. Every statement takes
# the batch as arrays (``unnest``), so a batch costs a few statements whatever its size.

DailyKey = tuple[Any, ...]
_NO_LATER_DAY = date.max


_INSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Append rows (all with the same columns) in one statement, the columns as arrays: for a
    batch of hundreds of rows much cheaper than a statement of as many ``VALUES`` tuples."""
    if not rows:
        return
    names = tuple(rows[0])
    statement = _INSERTS.get((table.name, names))
    if statement is None:
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        arrays = ", ".join(
            f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names
        )
        columns = ", ".join(f'"{name}"' for name in names)
        statement = _INSERTS[(table.name, names)] = text(
            f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({arrays})"
        )
    await session.execute(statement, {name: [row[name] for row in rows] for name in names})


def _bulk_daily_sql(
    daily: str, current: str | None, keys: Sequence[str], day_column: str = "day"
) -> str:
    """Each batch row is one key and day with the day's movement, the batch's running sums for
    the key through that day, and the key's next day in the batch. An existing row from that day
    up to (not including) the next gets the running sums added to its cumulative sums (and the
    day's movement if it is that day); a missing day row is created from the last earlier row's
    cumulative sums as they were before the batch plus the running sums. Every part of one
    statement sees the table as it was before it, so no row is moved twice. ``day_column``:
    ``month`` for the monthly checkpoints (a batch row per key and month); ``current``: the
    current-balance table moved in the same statement, if any."""
    arrays = ", ".join(
        [
            "CAST(:firm_id AS text[])",
            *(f"CAST(:{k} AS {_TYPES[k]}[])" for k in keys),
            "CAST(:currency AS text[])",
            "CAST(:day AS date[])",
            "CAST(:next_day AS date[])",
            *(f"CAST(:{n} AS bigint[])" for n in ("debit", "credit", "run_debit", "run_credit")),
        ]
    )
    names = ", ".join(
        [
            "firm_id",
            *keys,
            "currency",
            "day",
            "next_day",
            "debit",
            "credit",
            "run_debit",
            "run_credit",
        ]
    )
    cols = ", ".join(keys)
    b_cols = ", ".join(f"b.{k}" for k in keys)

    def same(alias: str) -> str:
        return " AND ".join(f"{alias}.{k} = b.{k}" for k in ["firm_id", *keys, "currency"])

    day = day_column
    moved = f"""
WITH b AS (
    SELECT * FROM unnest({arrays}) AS b({names})
), later AS (
    UPDATE {daily} AS t SET
        debit = t.debit + CASE WHEN t.{day} = b.day THEN b.debit ELSE 0 END,
        credit = t.credit + CASE WHEN t.{day} = b.day THEN b.credit ELSE 0 END,
        cum_debit = t.cum_debit + b.run_debit,
        cum_credit = t.cum_credit + b.run_credit
    FROM b
    WHERE {same("t")} AND t.{day} >= b.day AND t.{day} < b.next_day
    RETURNING 1
), new_days AS (
    INSERT INTO {daily} (firm_id, {cols}, currency, {day}, debit, credit, cum_debit, cum_credit)
    SELECT b.firm_id, {b_cols}, b.currency, b.day, b.debit, b.credit,
           COALESCE(prev.cum_debit, 0) + b.run_debit, COALESCE(prev.cum_credit, 0) + b.run_credit
    FROM b
    LEFT JOIN LATERAL (
        SELECT p.cum_debit, p.cum_credit FROM {daily} AS p
        WHERE {same("p")} AND p.{day} < b.day
        ORDER BY p.{day} DESC LIMIT 1
    ) AS prev ON true
    WHERE NOT EXISTS (SELECT 1 FROM {daily} AS e WHERE {same("e")} AND e.{day} = b.day)
    RETURNING 1
)"""
    if current is None:
        return moved + "\nSELECT (SELECT COUNT(*) FROM later) + (SELECT COUNT(*) FROM new_days)"
    return moved + _current_sql(current, keys)


def _current_sql(current: str, keys: Sequence[str]) -> str:
    """The batch's movements (the CTE ``b``) added to the current-balance table."""
    cols = ", ".join(keys)
    b_cols = ", ".join(f"b.{k}" for k in keys)
    return f"""
INSERT INTO {current} AS c
    (firm_id, {cols}, currency, debit_total, credit_total, first_movement_on, last_movement_on)
SELECT b.firm_id, {b_cols}, b.currency, SUM(b.debit), SUM(b.credit), MIN(b.day), MAX(b.day)
FROM b GROUP BY b.firm_id, {b_cols}, b.currency
ON CONFLICT (firm_id, {cols}, currency) DO UPDATE SET
    debit_total = c.debit_total + EXCLUDED.debit_total,
    credit_total = c.credit_total + EXCLUDED.credit_total,
    first_movement_on = LEAST(c.first_movement_on, EXCLUDED.first_movement_on),
    last_movement_on = GREATEST(c.last_movement_on, EXCLUDED.last_movement_on)
"""


BULK_ACCOUNT_MONTHS_SQL = text(_bulk_daily_sql("account_monthly", None, ["account_code"], "month"))
BULK_ACCOUNT_DAYS_SQL = text(
    """
WITH b AS (
    SELECT * FROM unnest(CAST(:firm_id AS text[]), CAST(:account_code AS text[]),
                         CAST(:currency AS text[]), CAST(:day AS date[]),
                         CAST(:debit AS bigint[]), CAST(:credit AS bigint[]))
        AS b(firm_id, account_code, currency, day, debit, credit)
), days AS (
    INSERT INTO account_daily AS t (firm_id, account_code, currency, day, debit, credit)
    SELECT * FROM b
    ON CONFLICT (firm_id, account_code, currency, day) DO UPDATE SET
        debit = t.debit + EXCLUDED.debit, credit = t.credit + EXCLUDED.credit
    RETURNING 1
)"""
    + _current_sql("account_balances", ["account_code"])
)
BULK_MATTER_SQL = text(
    _bulk_daily_sql("matter_daily", "matter_balances", ["matter_id", "side", "account_code"])
)


def _daily_arrays(
    keys: Sequence[str], movements: Mapping[tuple[DailyKey, date], Movement]
) -> dict[str, list[Any]]:
    """The batch's movements per key and day as the columns ``_bulk_daily_sql`` reads, with
    each key's running sums through each of its days and its next day in the batch."""
    by_key: dict[DailyKey, list[tuple[date, Movement]]] = {}
    for (key, day), movement in sorted(movements.items()):
        by_key.setdefault(key, []).append((day, movement))
    names = ["firm_id", *keys, "currency", "day", "next_day", "debit", "credit"]
    columns: dict[str, list[Any]] = {n: [] for n in [*names, "run_debit", "run_credit"]}
    for key, days in by_key.items():
        run_debit = run_credit = 0
        for number, (day, movement) in enumerate(days):
            run_debit += movement.debit
            run_credit += movement.credit
            later = days[number + 1][0] if number + 1 < len(days) else _NO_LATER_DAY
            values = [*key, day, later, movement.debit, movement.credit, run_debit, run_credit]
            for name, value in zip([*names, "run_debit", "run_credit"], values, strict=True):
                columns[name].append(value)
    return columns


async def move_accounts_in_bulk(
    session: AsyncSession, movements: Mapping[tuple[DailyKey, date], Movement]
) -> None:
    """``movements``: ((firm, account code, currency), day) → the batch's movement: added to
    its day's row and the current balance, and to the checkpoint of its month and every later
    month of the nominal."""
    if not movements:
        return
    days: dict[str, list[Any]] = {
        n: [] for n in ("firm_id", "account_code", "currency", "day", "debit", "credit")
    }
    months: dict[tuple[DailyKey, date], Movement] = {}
    for (key, day), movement in sorted(movements.items()):
        firm, code, currency = key
        for name, value in zip(
            days, (firm, code, currency, day, movement.debit, movement.credit), strict=True
        ):
            days[name].append(value)
        month = (key, day.replace(day=1))
        months[month] = months.get(month, ZERO) + movement
    await session.execute(BULK_ACCOUNT_DAYS_SQL, days)
    await session.execute(BULK_ACCOUNT_MONTHS_SQL, _daily_arrays(["account_code"], months))


async def move_matters_in_bulk(
    session: AsyncSession, movements: Mapping[tuple[DailyKey, date], Movement]
) -> None:
    """``movements``: ((firm, matter, side, account code, currency), day) → movement."""
    if movements:
        await session.execute(
            BULK_MATTER_SQL, _daily_arrays(["matter_id", "side", "account_code"], movements)
        )


BULK_VAT_SQL = text("""
INSERT INTO vat_daily AS v (firm_id, vat_code, currency, day, debit, credit)
SELECT * FROM unnest(CAST(:firm_id AS text[]), CAST(:vat_code AS text[]),
                     CAST(:currency AS text[]), CAST(:day AS date[]), CAST(:debit AS bigint[]),
                     CAST(:credit AS bigint[]))
ON CONFLICT (firm_id, vat_code, currency, day) DO UPDATE SET
    debit = v.debit + EXCLUDED.debit, credit = v.credit + EXCLUDED.credit
""")


async def move_vat_in_bulk(
    session: AsyncSession, movements: Mapping[tuple[DailyKey, date], Movement]
) -> None:
    """``movements``: ((firm, VAT tag, currency), day) → the batch's movement."""
    if not movements:
        return
    columns: dict[str, list[Any]] = {
        n: [] for n in ("firm_id", "vat_code", "currency", "day", "debit", "credit")
    }
    for ((firm, vat_code, currency), day), movement in sorted(movements.items()):
        for name, value in zip(
            columns, (firm, vat_code, currency, day, movement.debit, movement.credit), strict=True
        ):
            columns[name].append(value)
    await session.execute(BULK_VAT_SQL, columns)


BULK_ITEM_SQL = text("""
INSERT INTO ledger_items AS i
    (firm_id, account_code, item_key, currency, matter_id, opened_on, debit_total, credit_total,
     last_movement_on, closed_on)
SELECT b.firm_id, b.account_code, b.item_key, b.currency, b.matter_id, b.opened_on, b.debit,
       b.credit, b.last_on, CASE WHEN b.debit = b.credit THEN b.last_on END
FROM unnest(CAST(:firm_id AS text[]), CAST(:account_code AS text[]), CAST(:item_key AS text[]),
            CAST(:currency AS text[]), CAST(:matter_id AS bigint[]), CAST(:opened_on AS date[]),
            CAST(:debit AS bigint[]), CAST(:credit AS bigint[]), CAST(:last_on AS date[]))
     AS b(firm_id, account_code, item_key, currency, matter_id, opened_on, debit, credit, last_on)
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


async def move_items_in_bulk(session: AsyncSession, lines: Sequence[Mapping[str, Any]]) -> None:
    """The batch's control lines (journal-line rows with their ``item_key``), summed per item
    first: the same end state as moving the item line by line (``ITEM_SQL``)."""
    items: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for line in lines:
        key = (line["firm_id"], line["account_code"], line["item_key"], line["currency"])
        day, matter = line["posted_on"], line["matter_id"]
        item = items.get(key)
        if item is None:
            items[key] = dict(
                matter_id=matter,
                opened_on=day,
                debit=line["debit"],
                credit=line["credit"],
                last_on=day,
            )
            continue
        if matter is not None:  # LEAST ignores nulls
            item["matter_id"] = (
                matter if item["matter_id"] is None else min(item["matter_id"], matter)
            )
        item["opened_on"] = min(item["opened_on"], day)
        item["last_on"] = max(item["last_on"], day)
        item["debit"] += line["debit"]
        item["credit"] += line["credit"]
    if not items:
        return
    names = ["firm_id", "account_code", "item_key", "currency"]
    columns: dict[str, list[Any]] = {
        n: [] for n in [*names, "matter_id", "opened_on", "debit", "credit", "last_on"]
    }
    for key, item in sorted(items.items()):
        for name, value in zip(names, key, strict=True):
            columns[name].append(value)
        for name, value in item.items():
            columns[name].append(value)
    await session.execute(BULK_ITEM_SQL, columns)


# --- matter spans ----------------------------------------------------------------------------

_SPANS_SELECT = """
SELECT firm_id, matter_id, currency, day,
       LEAD(day) OVER (PARTITION BY firm_id, matter_id, currency ORDER BY day),
       client, office, office_total, client_last_on,
       client <> 0 OR office <> CAST('{{}}' AS jsonb)
FROM (
    SELECT v.firm_id, v.matter_id, v.currency, v.day,
           CAST(COALESCE(SUM(v.net_credit) FILTER (WHERE v.side = 'client'), 0) AS bigint)
               AS client,
           COALESCE(
               jsonb_object_agg(v.account_code, -v.net_credit)
                   FILTER (WHERE v.side <> 'client' AND v.net_credit <> 0),
               CAST('{{}}' AS jsonb)) AS office,
           CAST(COALESCE(SUM(-v.net_credit) FILTER (WHERE v.side <> 'client'), 0) AS bigint)
               AS office_total,
           MAX(v.key_day) FILTER (WHERE v.side = 'client') AS client_last_on
    FROM (
        SELECT d.firm_id, d.matter_id, d.currency, d.day, k.side, k.account_code,
               x.key_day, x.net_credit
        FROM (SELECT DISTINCT m.firm_id, m.matter_id, m.currency, m.day
              FROM matter_daily m {wanted}) AS d
        JOIN matter_balances k
          ON k.firm_id = d.firm_id AND k.matter_id = d.matter_id AND k.currency = d.currency
         AND k.first_movement_on <= d.day
        CROSS JOIN LATERAL (
            SELECT m.day AS key_day, m.cum_credit - m.cum_debit AS net_credit
            FROM matter_daily m
            WHERE m.firm_id = k.firm_id AND m.matter_id = k.matter_id AND m.side = k.side
              AND m.account_code = k.account_code AND m.currency = k.currency
              AND m.day <= d.day
            ORDER BY m.day DESC LIMIT 1
        ) AS x
    ) AS v
    GROUP BY v.firm_id, v.matter_id, v.currency, v.day
) AS spans
"""
"""Each day a matter moved, its every column's cumulative balance then (the last daily row of
each column on or before that day), until its next day: one matter span. The office side is
kept per nominal (the reports add up debtors control, unbilled disbursements and the rest, as
the chart of accounts says at the time of the report) and in total (so that "the rest" is the
total less the nominals a report names, not a sum over every nominal on every request)."""

SPANS_INSERT = (
    "INSERT INTO matter_spans (firm_id, matter_id, currency, from_day, to_day, client, office, "
    "office_total, client_last_on, live) "
)

_FROM = (
    "unnest(CAST(:firm_id AS text[]), CAST(:matter_id AS bigint[]), CAST(:from_day AS date[])) "
    "AS t(firm_id, matter_id, from_day)"
)

RESPAN_DELETE = text(f"""
DELETE FROM matter_spans s USING {_FROM}
WHERE s.firm_id = t.firm_id AND s.matter_id = t.matter_id AND s.from_day >= t.from_day
""")

RESPAN_INSERT = text(
    SPANS_INSERT
    + _SPANS_SELECT.format(
        wanted=f"JOIN {_FROM} ON m.firm_id = t.firm_id AND m.matter_id = t.matter_id "
        "AND m.day >= t.from_day"
    )
)

RESPAN_CLOSE = text(f"""
UPDATE matter_spans s SET to_day = (
    SELECT MIN(n.from_day) FROM matter_spans n
    WHERE n.firm_id = s.firm_id AND n.matter_id = s.matter_id AND n.currency = s.currency
      AND n.from_day > s.from_day)
FROM {_FROM}
WHERE s.firm_id = t.firm_id AND s.matter_id = t.matter_id AND s.from_day < t.from_day
  AND (s.to_day IS NULL OR s.to_day >= t.from_day)
""")
"""The span before the first day derived again ends where the next one now starts."""

FIRM_SPANS_INSERT = text(SPANS_INSERT + _SPANS_SELECT.format(wanted="WHERE m.firm_id = :f"))


async def respan_matters(session: AsyncSession, matters: Mapping[tuple[str, int], date]) -> None:
    """Derive again the spans of each (firm, matter) whose daily rows just moved, from the first
    day that moved (a back-dated movement changes every later span of its matter; the ones before
    stay, the last of them now ending at the next day)."""
    if not matters:
        return
    ordered = sorted(matters.items())
    params = {
        "firm_id": [f for (f, _), _ in ordered],
        "matter_id": [m for (_, m), _ in ordered],
        "from_day": [d for _, d in ordered],
    }
    await session.execute(RESPAN_DELETE, params)
    await session.execute(RESPAN_INSERT, params)
    await session.execute(RESPAN_CLOSE, params)


# --- item spans ------------------------------------------------------------------------------

_ITEM_DATED = {
    "bill": ("bills", "bill_id", "issued_on"),
    "invoice": ("purchase_invoices", "invoice_id", "invoiced_on"),
}
"""Which Clio record dates a sub-ledger item, by its key's prefix (``bill:9001``): the table,
its id and its date."""
_ITEM_DATED_BY_TABLE = {
    table: (prefix, id_column, date_column)
    for prefix, (table, id_column, date_column) in _ITEM_DATED.items()
}


def _item_record_id(prefix: str, key: str) -> str:
    """SQL: the id a key of the form ``prefix:id`` names, else null (never a failed cast)."""
    return (
        f"CASE WHEN {key} ~ '^{prefix}:[0-9]{{1,18}}$' "
        f"THEN CAST(substr({key}, {len(prefix) + 2}) AS bigint) END"
    )


def _item_dating() -> tuple[str, str]:
    """SQL for ``_item_spans_insert``: the date of a span's item (the first of the records
    ``_ITEM_DATED`` names that it has), and the joins that find those records."""
    dates, joins = [], []
    for prefix, (table, id_column, date_column) in _ITEM_DATED.items():
        dates.append(f"{prefix}.{date_column}")
        joins.append(
            f"LEFT JOIN {table} AS {prefix} ON {prefix}.firm_id = s.firm_id "
            f"AND {prefix}.{id_column} = {_item_record_id(prefix, 's.item_key')}"
        )
    return f"COALESCE({', '.join(dates)})", "\n".join(joins)


def _item_spans_insert(wanted: str) -> str:
    """Each day a sub-ledger item (a bill, a supplier invoice) moved, its cumulative debits and
    credits then, until its next day: the items owing on any date are the live spans containing
    it (one index search, no lookup of their lines), with their balance on that date, and the
    date they are aged by (``dated``, kept by ``date_items`` when the Clio record comes later or
    changes). ``wanted`` says which journal lines to derive from."""
    dated, dating_joins = _item_dating()
    return f"""
INSERT INTO item_spans
    (firm_id, account_code, item_key, currency, from_day, to_day, debit, credit, matter_id,
     opened_on, live, dated)
SELECT s.*, {dated}
FROM (
    SELECT firm_id, account_code, item_key, currency, day, LEAD(day) OVER w,
           SUM(debit) OVER w, SUM(credit) OVER w, MIN(matter_id) OVER item, MIN(day) OVER item,
           SUM(debit) OVER w <> SUM(credit) OVER w
    FROM (
        SELECT l.firm_id, l.account_code, l.item_key, l.currency, l.posted_on AS day,
               SUM(l.debit) AS debit, SUM(l.credit) AS credit, MIN(l.matter_id) AS matter_id
        FROM journal_lines l {wanted}
        GROUP BY l.firm_id, l.account_code, l.item_key, l.currency, l.posted_on
    ) AS d
    WINDOW item AS (PARTITION BY firm_id, account_code, item_key, currency),
           w AS (item ORDER BY day)
) AS s (firm_id, account_code, item_key, currency, from_day, to_day, debit, credit, matter_id,
        opened_on, live)
{dating_joins}
"""


_PAIRS = "unnest(CAST(:firm_id AS text[]), CAST(:item_key AS text[])) AS t(firm_id, item_key)"

RESPAN_ITEMS_DELETE = text(
    f"DELETE FROM item_spans s USING {_PAIRS} "
    "WHERE s.firm_id = t.firm_id AND s.item_key = t.item_key"
)
RESPAN_ITEMS_INSERT = text(
    _item_spans_insert(f"JOIN {_PAIRS} ON l.firm_id = t.firm_id AND l.item_key = t.item_key")
)
FIRM_ITEM_SPANS_INSERT = text(_item_spans_insert("WHERE l.firm_id = :f AND l.item_key IS NOT NULL"))


DATE_ITEMS = text(
    "UPDATE item_spans s SET dated = t.dated "
    "FROM unnest(CAST(:firm_id AS text[]), CAST(:item_key AS text[]), CAST(:dated AS date[])) "
    "AS t(firm_id, item_key, dated) "
    "WHERE s.firm_id = t.firm_id AND s.item_key = t.item_key "
    "AND s.dated IS DISTINCT FROM t.dated"
)


async def date_items(session: AsyncSession, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of ``bills`` or ``purchase_invoices`` were just written: their items' spans are aged
    by the record's date from now on (the lines may have come first; a changed bill may move its
    date). Any other table dates no item."""
    dating = _ITEM_DATED_BY_TABLE.get(table)
    if dating is None or not rows:
        return
    prefix, id_column, date_column = dating
    await session.execute(
        DATE_ITEMS,
        {
            "firm_id": [r["firm_id"] for r in rows],
            "item_key": [f"{prefix}:{r[id_column]}" for r in rows],
            "dated": [r[date_column] for r in rows],
        },
    )


async def respan_items(session: AsyncSession, items: Collection[tuple[str, str]]) -> None:
    """Derive again the spans of the (firm, item key)s whose lines just moved or were re-keyed."""
    if not items:
        return
    ordered = sorted(items)
    params = {"firm_id": [f for f, _ in ordered], "item_key": [k for _, k in ordered]}
    await session.execute(RESPAN_ITEMS_DELETE, params)
    await session.execute(RESPAN_ITEMS_INSERT, params)
