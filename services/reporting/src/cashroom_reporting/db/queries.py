"""Reads for the reports. Balances as of a date come from the current-balance tables, except for
the keys that moved after that date, whose balance is the cumulative sum of their last daily row
on or before it (one index lookup each): never a scan of the journal.

Rows are unpacked by position (``rows.tuples()``), in the order their SELECT names them: reading
a result row's columns by name costs about 1.3 µs each, ten times unpacking it, and a listing's
page reads thousands of rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_reporting.domain.client_money import MatterColumns
from cashroom_reporting.domain.document import Consistency, Page, Position
from cashroom_reporting.domain.facts import (
    AuditRow,
    BankAccountInfo,
    BillInfo,
    BreachInfo,
    ExceptionInfo,
    InvoiceInfo,
    LedgerLine,
    MatterBalance,
    MatterInfo,
    OpenItem,
    SyncCompared,
    SyncRow,
    UnbilledWork,
)
from cashroom_reporting.domain.postings import Movement
from cashroom_reporting.domain.subledgers import BUCKET_THRESHOLDS, AgedItems
from cashroom_reporting.domain.sync import Comparison


@dataclass(frozen=True, slots=True)
class FirmState:
    firm_id: str
    name: str | None
    books_currency: str | None
    jurisdiction: str | None
    rebuilding: bool
    rebuild_started_at: datetime | None
    rebuild_finished_at: datetime | None
    rebuild_events: int | None
    rebuild_error: str | None
    events_seen: bool


async def firm_state(session: AsyncSession, firm_id: str) -> FirmState | None:
    row = (
        await session.execute(
            text(
                "SELECT :f AS firm_id, f.name, f.books_currency, f.jurisdiction, "
                "COALESCE(f.rebuilding, false) "
                "AS rebuilding, f.rebuild_started_at, f.rebuild_finished_at, f.rebuild_events, "
                "f.rebuild_error, EXISTS (SELECT 1 FROM positions p WHERE p.firm_id = :f) "
                "AS events_seen FROM (SELECT 1) AS one LEFT JOIN firms f ON f.firm_id = :f"
            ),
            {"f": firm_id},
        )
    ).first()
    if row is None or (row.books_currency is None and not row.events_seen and not row.rebuilding):
        return None
    return FirmState(
        row.firm_id,
        row.name,
        row.books_currency,
        row.jurisdiction,
        row.rebuilding,
        row.rebuild_started_at,
        row.rebuild_finished_at,
        row.rebuild_events,
        row.rebuild_error,
        row.events_seen,
    )


async def consistency(session: AsyncSession, firm_id: str) -> Consistency:
    rows = (
        await session.execute(
            text(
                'SELECT topic, partition, "offset", event_time FROM positions '
                "WHERE firm_id = :f ORDER BY topic, partition"
            ),
            {"f": firm_id},
        )
    ).all()
    return Consistency(
        [Position(r.topic, r.partition, r.offset) for r in rows],
        max((r.event_time for r in rows), default=None),
    )


async def currencies(session: AsyncSession, firm_id: str) -> set[str]:
    return set(
        await session.scalars(
            text("SELECT DISTINCT currency FROM account_balances WHERE firm_id = :f"),
            {"f": firm_id},
        )
    )


# --- balances --------------------------------------------------------------------------------

_ACCOUNTS_AS_OF = text("""
SELECT b.account_code,
       CASE WHEN b.last_movement_on > :d THEN COALESCE(m.cum_debit, 0) + COALESCE(t.debit, 0)
            ELSE b.debit_total END AS debit,
       CASE WHEN b.last_movement_on > :d THEN COALESCE(m.cum_credit, 0) + COALESCE(t.credit, 0)
            ELSE b.credit_total END AS credit
FROM account_balances b
LEFT JOIN LATERAL (
    SELECT p.cum_debit, p.cum_credit FROM account_monthly p
    WHERE b.last_movement_on > :d
      AND p.firm_id = b.firm_id AND p.account_code = b.account_code AND p.currency = b.currency
      AND p.month < :month
    ORDER BY p.month DESC LIMIT 1
) AS m ON true
LEFT JOIN LATERAL (
    SELECT CAST(SUM(d.debit) AS bigint) AS debit, CAST(SUM(d.credit) AS bigint) AS credit
    FROM account_daily d
    WHERE b.last_movement_on > :d
      AND d.firm_id = b.firm_id AND d.account_code = b.account_code AND d.currency = b.currency
      AND d.day >= :month AND d.day <= :d
) AS t ON true
WHERE b.firm_id = :f AND b.currency = :c AND b.first_movement_on <= :d
ORDER BY b.account_code
""")


async def account_balances(
    session: AsyncSession, firm_id: str, currency: str, as_of: date
) -> dict[str, Movement]:
    """Each nominal's cumulative debits and credits through ``as_of``: its current balance if it
    has not moved since, else its checkpoint at the end of the last month before the date's
    plus its days of that month through the date (two index lookups)."""
    rows = await session.execute(
        _ACCOUNTS_AS_OF, {"f": firm_id, "c": currency, "d": as_of, "month": as_of.replace(day=1)}
    )
    return {code: Movement(debit, credit) for code, debit, credit in rows.tuples()}


async def account_movements(
    session: AsyncSession, firm_id: str, currency: str, start: date, end: date
) -> dict[str, Movement]:
    """Each nominal's debits and credits dated from ``start`` to ``end`` inclusive."""
    closing = await account_balances(session, firm_id, currency, end)
    opening = await account_balances(session, firm_id, currency, start - timedelta(days=1))
    moved = {}
    for code, total in closing.items():
        before = opening.get(code, Movement(0, 0))
        movement = Movement(total.debit - before.debit, total.credit - before.credit)
        if movement.debit or movement.credit:
            moved[code] = movement
    return moved


_MATTERS_AS_OF = """
SELECT b.matter_id, b.side, b.account_code,
       COALESCE(x.cum_debit, b.debit_total) AS debit,
       COALESCE(x.cum_credit, b.credit_total) AS credit,
       COALESCE(x.day, b.last_movement_on) AS last_movement_on
FROM matter_balances b
LEFT JOIN LATERAL (
    SELECT d.day, d.cum_debit, d.cum_credit FROM matter_daily d
    WHERE b.last_movement_on > :d
      AND d.firm_id = b.firm_id AND d.matter_id = b.matter_id AND d.side = b.side
      AND d.account_code = b.account_code AND d.currency = b.currency AND d.day <= :d
    ORDER BY d.day DESC LIMIT 1
) AS x ON true
WHERE b.firm_id = :f AND b.currency = :c AND b.first_movement_on <= :d {extra}
"""


async def matter_balances(
    session: AsyncSession,
    firm_id: str,
    currency: str,
    as_of: date,
    *,
    matter_id: int | None = None,
    include_zero: bool = False,
) -> list[MatterBalance]:
    """Each matter column's balance as of ``as_of``. Matters whose every column is settled at
    zero and untouched since are left out unless ``include_zero`` (they change no total, and
    most matters of a firm are settled)."""
    extra = ""
    params: dict[str, object] = {"f": firm_id, "c": currency, "d": as_of}
    if not include_zero:
        extra += _UNSETTLED
    if matter_id is not None:
        extra += " AND b.matter_id = :m"
        params["m"] = matter_id
    rows = await session.execute(text(_MATTERS_AS_OF.format(extra=extra)), params)
    return [
        MatterBalance(matter_id, side, code, Movement(debit, credit), last_movement_on)
        for matter_id, side, code, debit, credit, last_movement_on in rows.tuples()
    ]


_UNSETTLED = """
  AND b.matter_id IN (
    SELECT u.matter_id FROM matter_balances u
    WHERE u.firm_id = :f AND u.currency = :c
      AND (u.last_movement_on > :d OR u.debit_total <> u.credit_total))"""


_MATTER_COLUMNS_FROM_SPANS = """
SELECT s.matter_id, s.client, {billed} AS billed, {unbilled} AS unbilled,
       s.office_total - {billed} - {unbilled} AS other,
       s.from_day AS last_movement_on, s.client_last_on AS client_last_movement_on
FROM matter_spans s
WHERE s.live AND daterange(s.from_day, s.to_day) @> CAST(:d AS date)
  AND s.firm_id = :f AND s.currency = :c {only}
ORDER BY s.matter_id
"""


def _office_nominals(prefix: str, codes: Collection[str], params: dict[str, object]) -> str:
    """SQL: a span's office balance on the nominals ``codes`` (a chart names one or two per
    role), each read by its key from the span's office JSON; their names become parameters."""
    terms = []
    for n, code in enumerate(sorted(codes)):
        params[f"{prefix}{n}"] = code
        terms.append(f"COALESCE(CAST(s.office ->> :{prefix}{n} AS bigint), 0)")
    return f"({' + '.join(terms)})" if terms else "0"


async def matter_columns(
    session: AsyncSession,
    firm_id: str,
    currency: str,
    as_of: date,
    *,
    debtors: Collection[str],
    unbilled: Collection[str],
    include_zero: bool = False,
    unbilled_only: bool = False,
    client_idle_since: date | None = None,
) -> list[MatterColumns]:
    """Each matter's client balance (credit positive), billed debt, unbilled disbursements and
    other office-side balance (debit positive) as of ``as_of``, added up in the database.

    The matters with a balance then are the live matter spans containing the date (one index
    search, however long the journal and whatever the date); a matter with every balance at zero
    is left out (it changes no total) unless ``include_zero``, which reads every matter's
    columns as of the date (one index lookup per column that moved since). ``unbilled_only``:
    the matters with unbilled disbursements alone. ``client_idle_since``: the matters with a
    client balance (held or overdrawn) whose client side last moved on or before that day (the
    dormant balances), chosen in the database so that nothing is read or named for the others."""
    if include_zero and (unbilled_only or client_idle_since is not None):
        raise ValueError("include_zero reads every matter: it takes no other filter")
    params = {
        "f": firm_id,
        "c": currency,
        "d": as_of,
        "debtors": sorted(debtors),
        "unbilled": sorted(unbilled),
    }
    if not include_zero:
        only = "AND s.office ?| CAST(:unbilled AS text[])" if unbilled_only else ""
        if client_idle_since is not None:
            only += " AND s.client <> 0 AND COALESCE(s.client_last_on, s.from_day) <= :idle"
            params["idle"] = client_idle_since
        sql = _MATTER_COLUMNS_FROM_SPANS.format(
            billed=_office_nominals("debtor", debtors, params),
            # A nominal that is both is billed debt (as the per-column query below counts it).
            unbilled=_office_nominals("unbilled", set(unbilled) - set(debtors), params),
            only=only,
        )
        rows = await session.execute(text(sql), params)
        return [MatterColumns(*r) for r in rows.tuples()]
    sql = f"""
    WITH b AS ({_MATTERS_AS_OF.format(extra="")})
    SELECT matter_id,
      CAST(COALESCE(SUM(credit - debit) FILTER (WHERE side = 'client'), 0) AS bigint) AS client,
      CAST(COALESCE(SUM(debit - credit) FILTER (
        WHERE side <> 'client' AND account_code = ANY(:debtors)), 0) AS bigint) AS billed,
      CAST(COALESCE(SUM(debit - credit) FILTER (
        WHERE side <> 'client' AND account_code = ANY(:unbilled)
          AND NOT account_code = ANY(:debtors)), 0) AS bigint) AS unbilled,
      CAST(COALESCE(SUM(debit - credit) FILTER (
        WHERE side <> 'client' AND NOT account_code = ANY(:debtors)
          AND NOT account_code = ANY(:unbilled)), 0) AS bigint) AS other,
      MAX(last_movement_on) AS last_movement_on,
      MAX(last_movement_on) FILTER (WHERE side = 'client') AS client_last_movement_on
    FROM b GROUP BY matter_id ORDER BY matter_id
    """
    return [MatterColumns(*r) for r in await session.execute(text(sql), params)]


async def matter_ids_with_reference(
    session: AsyncSession, firm_id: str, reference: str
) -> list[int]:
    rows = await session.execute(
        text("SELECT matter_id FROM matters WHERE firm_id = :f AND reference = :r ORDER BY 1"),
        {"f": firm_id, "r": reference},
    )
    return [int(r[0]) for r in rows]


async def matter_exists(session: AsyncSession, firm_id: str, matter_id: int) -> bool:
    found = await session.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM matters WHERE firm_id = :f AND matter_id = :m) "
            "OR EXISTS (SELECT 1 FROM matter_balances WHERE firm_id = :f AND matter_id = :m)"
        ),
        {"f": firm_id, "m": matter_id},
    )
    return bool(found)


# Lists of ids are joined through unnest(), not matched with = ANY(): with thousands of ids the
# planner may scan the table and test every row against the whole array. Each id is looked up
# in a LATERAL ... LIMIT 1 (a primary-key lookup): a plain join of a few hundred ids (a page)
# is planned as a hash of the whole table.


async def matter_infos(
    session: AsyncSession, firm_id: str, matter_ids: Collection[int]
) -> dict[int, MatterInfo]:
    if not matter_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT m.matter_id, m.reference, m.description, m.client_id, c.name AS client_name, "
            "m.fee_earner, m.status, m.opened_on "
            "FROM unnest(CAST(:ids AS bigint[])) AS wanted(id) "
            "CROSS JOIN LATERAL (SELECT * FROM matters WHERE firm_id = :f "
            "AND matter_id = wanted.id LIMIT 1) AS m "
            "LEFT JOIN LATERAL (SELECT name FROM clients WHERE firm_id = m.firm_id "
            "AND client_id = m.client_id LIMIT 1) AS c ON true"
        ),
        {"f": firm_id, "ids": sorted(matter_ids)},
    )
    return {
        matter_id: MatterInfo(
            matter_id,
            reference,
            description,
            client_id,
            client_name or f"client {client_id}",
            fee_earner,
            status,
            opened_on,
        )
        for (
            matter_id,
            reference,
            description,
            client_id,
            client_name,
            fee_earner,
            status,
            opened_on,
        ) in rows.tuples()
    }


# --- sub-ledger items ------------------------------------------------------------------------

_OPEN_ITEMS = text("""
SELECT i.item_key, i.account_code, i.matter_id, i.opened_on,
       COALESCE(x.debit, i.debit_total) AS debit, COALESCE(x.credit, i.credit_total) AS credit
FROM ledger_items i
LEFT JOIN LATERAL (
    SELECT CAST(SUM(l.debit) AS bigint) AS debit, CAST(SUM(l.credit) AS bigint) AS credit
    FROM journal_lines l
    WHERE i.last_movement_on > :d
      AND l.firm_id = i.firm_id AND l.account_code = i.account_code
      AND l.item_key = i.item_key AND l.currency = i.currency AND l.posted_on <= :d
) AS x ON i.last_movement_on > :d
WHERE i.firm_id = :f AND i.account_code = ANY(:codes) AND i.currency = :c
  AND i.opened_on <= :d AND (i.closed_on IS NULL OR i.closed_on > :d)
  AND (CAST(:m AS bigint) IS NULL OR i.matter_id = :m)
""")


async def open_items(
    session: AsyncSession,
    firm_id: str,
    codes: Collection[str],
    currency: str,
    as_of: date,
    *,
    matter_id: int | None = None,
) -> list[OpenItem]:
    rows = await session.execute(
        _OPEN_ITEMS,
        {"f": firm_id, "codes": sorted(codes), "c": currency, "d": as_of, "m": matter_id},
    )
    items = [
        OpenItem(key, code, matter_id, opened_on, Movement(debit, credit))
        for key, code, matter_id, opened_on, debit, credit in rows.tuples()
    ]
    return [i for i in items if i.movement.net != 0]


_AGED_ITEMS = """
WITH open AS MATERIALIZED (
    SELECT s.item_key, s.account_code, s.matter_id, s.opened_on, s.debit, s.credit, s.dated
    FROM item_spans s
    WHERE s.live AND daterange(s.from_day, s.to_day) @> CAST(:d AS date)
      AND s.firm_id = :f AND s.account_code = ANY(:codes) AND s.currency = :c
), aged AS (
    SELECT o.*, {owed} AS listed, {outstanding} AS outstanding,
           width_bucket(GREATEST(CAST(:d AS date) - COALESCE(o.dated, o.opened_on), 0),
                        CAST(:thresholds AS integer[])) AS bucket
    FROM open AS o
)
SELECT 'total' AS part, bucket, listed, CAST(SUM(outstanding) AS bigint) AS amount,
       COUNT(*) AS n, CAST(NULL AS text) AS item_key, CAST(NULL AS text) AS account_code,
       CAST(NULL AS bigint) AS matter_id, CAST(NULL AS date) AS opened_on,
       CAST(NULL AS bigint) AS debit, CAST(NULL AS bigint) AS credit, CAST(NULL AS date) AS dated
FROM aged GROUP BY bucket, listed
UNION ALL
(SELECT 'row', NULL, listed, NULL, NULL, item_key, account_code, matter_id, opened_on, debit,
        credit, dated
 FROM aged WHERE listed ORDER BY opened_on, item_key LIMIT :limit OFFSET :offset)
UNION ALL
(SELECT 'row', NULL, listed, NULL, NULL, item_key, account_code, matter_id, opened_on, debit,
        credit, dated
 FROM aged WHERE NOT listed ORDER BY opened_on, item_key LIMIT :limit OFFSET :offset)
"""

_AGED = {
    "bill": text(
        _AGED_ITEMS.format(
            owed="(o.debit > 0 AND o.debit > o.credit)",
            outstanding="o.debit - o.credit",
        )
    ),
    "invoice": text(
        _AGED_ITEMS.format(
            owed="(o.credit > 0 AND o.credit > o.debit)",
            outstanding="o.credit - o.debit",
        )
    ),
}


async def aged_items(
    session: AsyncSession,
    firm_id: str,
    codes: Collection[str],
    currency: str,
    as_of: date,
    kind: str,
    page: Page,
) -> AgedItems:
    """The items of the control nominals ``codes`` with a balance on ``as_of`` (one index search:
    the live item spans containing the date), aged by the date of their ``kind`` ("bill": aged
    debtors, what clients owe; "invoice": aged creditors, what the firm owes): the requested
    page of each section, and over every item the counts and the amount in each age bucket, added
    up in the database."""
    rows = await session.execute(
        _AGED[kind],
        {
            "f": firm_id,
            "codes": sorted(codes),
            "c": currency,
            "d": as_of,
            "thresholds": BUCKET_THRESHOLDS,
            "limit": page.size or None,
            "offset": (page.number - 1) * page.size,
        },
    )
    listed: list[OpenItem] = []
    unallocated: list[OpenItem] = []
    counts = {True: 0, False: 0}
    by_bucket: dict[int, int] = {}
    for part, bucket, owed, amount, n, key, code, matter, opened, debit, credit, dated in rows:
        if part == "total":
            counts[owed] += n
            by_bucket[bucket] = by_bucket.get(bucket, 0) + amount
            continue
        item = OpenItem(key, code, matter, opened, Movement(debit, credit), dated)
        (listed if owed else unallocated).append(item)

    def oldest_first(item: OpenItem) -> tuple[date, str]:
        return (item.opened_on, item.item_key)

    return AgedItems(
        sorted(listed, key=oldest_first),
        sorted(unallocated, key=oldest_first),
        counts[True],
        counts[False],
        by_bucket,
    )


async def bills(
    session: AsyncSession, firm_id: str, bill_ids: Collection[int]
) -> dict[int, BillInfo]:
    if not bill_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT b.bill_id, b.bill_number, b.issued_on, b.due_on, b.fees, b.vat, "
            "b.disbursements, b.total, b.voided_on FROM unnest(CAST(:ids AS bigint[])) AS wanted(id) "
            "CROSS JOIN LATERAL (SELECT * FROM bills WHERE firm_id = :f AND bill_id = wanted.id "
            "LIMIT 1) AS b"
        ),
        {"f": firm_id, "ids": sorted(bill_ids)},
    )
    return {r[0]: BillInfo(*r) for r in rows.tuples()}


async def invoices(
    session: AsyncSession, firm_id: str, invoice_ids: Collection[int]
) -> dict[int, InvoiceInfo]:
    if not invoice_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT v.invoice_id, v.supplier, v.matter_id, v.invoiced_on, v.description, v.net, "
            "v.vat FROM unnest(CAST(:ids AS bigint[])) AS wanted(id) "
            "CROSS JOIN LATERAL (SELECT * FROM purchase_invoices WHERE firm_id = :f "
            "AND invoice_id = wanted.id LIMIT 1) AS v"
        ),
        {"f": firm_id, "ids": sorted(invoice_ids)},
    )
    return {r[0]: InvoiceInfo(*r) for r in rows.tuples()}


async def unbilled_work(
    session: AsyncSession,
    firm_id: str,
    currency: str,
    as_of: date,
    *,
    matter_id: int | None = None,
    matter_ids: Collection[int] | None = None,
) -> list[UnbilledWork]:
    """Clio's unbilled work recorded by ``as_of`` per matter and kind: of one matter, of the
    matters ``matter_ids`` (a page), or of every matter."""
    where = "firm_id = :f AND NOT billed AND currency = :c AND recorded_on <= :d"
    params: dict[str, object] = {"f": firm_id, "c": currency, "d": as_of}
    if matter_id is not None:
        where += " AND matter_id = :m"
        params["m"] = matter_id
    if matter_ids is not None:
        where += " AND matter_id = ANY(:ms)"
        params["ms"] = sorted(matter_ids)
    rows = await session.execute(
        text(
            "SELECT matter_id, kind, CAST(SUM(value) AS bigint) AS value, COUNT(*) AS entries, "
            f"MIN(recorded_on) AS oldest, MIN(fee_earner) AS fee_earner FROM work_entries "
            f"WHERE {where} GROUP BY matter_id, kind ORDER BY matter_id, kind"
        ),
        params,
    )
    return [UnbilledWork(*r) for r in rows.tuples()]


async def unbilled_work_summary(
    session: AsyncSession, firm_id: str, currency: str, as_of: date
) -> tuple[list[int], dict[str, int]]:
    """Over every matter, in one pass: the matters with unbilled work recorded by ``as_of``, and
    the value of that work per kind."""
    matters, kinds, values = (
        await session.execute(_UNBILLED_WORK_SUMMARY, {"f": firm_id, "c": currency, "d": as_of})
    ).one()
    return list(matters or ()), dict(zip(kinds or (), values or (), strict=True))


_UNBILLED_WORK_SUMMARY = text(
    """
WITH w AS MATERIALIZED (
    SELECT matter_id, kind, value FROM work_entries
    WHERE firm_id = :f AND NOT billed AND currency = :c AND recorded_on <= :d),
k AS (SELECT kind, CAST(SUM(value) AS bigint) AS value FROM w GROUP BY kind)
SELECT (SELECT array_agg(DISTINCT matter_id) FROM w),
       (SELECT array_agg(kind ORDER BY kind) FROM k),
       (SELECT array_agg(value ORDER BY kind) FROM k)
"""
)
"""The matters come back as one sorted array, not a row each: a firm's unbilled work can span
ten thousand matters, and a row each cost about a millisecond per thousand to read."""


async def last_bill_dates(
    session: AsyncSession, firm_id: str, matter_ids: Collection[int], as_of: date
) -> dict[int, date]:
    """Each matter's last bill issued by ``as_of``, voided bills aside: one backward search of
    ``bills_by_matter`` per matter (a join with GROUP BY was planned, once its plan went
    generic, as a hash of every bill: 15-26 ms for a page against 3)."""
    if not matter_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT wanted.id, last.issued_on "
            "FROM unnest(CAST(:ids AS bigint[])) AS wanted(id) "
            "CROSS JOIN LATERAL (SELECT issued_on FROM bills "
            "  WHERE firm_id = :f AND matter_id = wanted.id AND issued_on <= :d "
            "    AND voided_on IS NULL "
            "  ORDER BY issued_on DESC LIMIT 1) AS last"
        ),
        {"f": firm_id, "ids": sorted(matter_ids), "d": as_of},
    )
    return dict(rows.tuples().all())


# --- lines -----------------------------------------------------------------------------------

_LINES = """
SELECT l.posted_on, CAST(l.journal_id AS text) AS journal_id, j.kind,
       COALESCE(l.narrative, j.narrative) AS narrative, l.account_code, l.side,
       l.debit, l.credit, j.entered_by
FROM journal_lines l JOIN journals j ON j.firm_id = l.firm_id AND j.journal_id = l.journal_id
WHERE l.firm_id = :f AND {where} AND l.currency = :c AND l.posted_on BETWEEN :start AND :end
ORDER BY l.posted_on, l.seq
LIMIT :limit
"""


async def lines(
    session: AsyncSession,
    firm_id: str,
    currency: str,
    start: date,
    end: date,
    *,
    matter_id: int | None = None,
    account_code: str | None = None,
    limit: int = 100_000,
) -> list[LedgerLine]:
    where = "l.matter_id = :m" if matter_id is not None else "l.account_code = :a"
    rows = await session.execute(
        text(_LINES.format(where=where)),
        {
            "f": firm_id,
            "c": currency,
            "start": start,
            "end": end,
            "m": matter_id,
            "a": account_code,
            "limit": limit,
        },
    )
    return [
        LedgerLine(posted_on, journal_id, kind, narrative, code, side, Movement(debit, credit), by)
        for posted_on, journal_id, kind, narrative, code, side, debit, credit, by in rows.tuples()
    ]


async def account_known(session: AsyncSession, firm_id: str, code: str) -> bool:
    found = await session.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM account_balances WHERE firm_id = :f AND account_code = :a)"
            " OR EXISTS (SELECT 1 FROM chart_accounts WHERE firm_id = :f AND code = :a)"
        ),
        {"f": firm_id, "a": code},
    )
    return bool(found)


# --- VAT -------------------------------------------------------------------------------------


async def vat_totals(
    session: AsyncSession, firm_id: str, currency: str, start: date, end: date
) -> dict[str, Movement]:
    rows = await session.execute(
        text(
            "SELECT vat_code, CAST(SUM(debit) AS bigint) AS debit, "
            "CAST(SUM(credit) AS bigint) AS credit FROM vat_daily "
            "WHERE firm_id = :f AND currency = :c AND day BETWEEN :start AND :end "
            "GROUP BY vat_code ORDER BY vat_code"
        ),
        {"f": firm_id, "c": currency, "start": start, "end": end},
    )
    return {code: Movement(debit, credit) for code, debit, credit in rows.tuples()}


# --- breaches and reconciliations ------------------------------------------------------------


async def exceptions(session: AsyncSession, firm_id: str, as_of: date) -> list[ExceptionInfo]:
    rows = await session.execute(
        text(
            "SELECT CAST(exception_id AS text), kind, matter_id, raised_on, amount, detail, "
            "CASE WHEN resolved_on <= :d THEN resolution END, "
            "CASE WHEN resolved_on <= :d THEN resolved_by END, "
            "CASE WHEN resolved_on <= :d THEN resolution_reason END, "
            "CASE WHEN resolved_on <= :d THEN resolved_on END "
            "FROM exceptions WHERE firm_id = :f AND raised_on <= :d "
            "ORDER BY raised_on, exception_id"
        ),
        {"f": firm_id, "d": as_of},
    )
    return [ExceptionInfo(*r) for r in rows]


async def breaches(session: AsyncSession, firm_id: str, as_of: date) -> list[BreachInfo]:
    rows = await session.execute(
        text(
            "SELECT CAST(breach_id AS text), kind, bank_account_id, detected_on, detail, "
            "last_reconciled_on FROM breaches WHERE firm_id = :f AND detected_on <= :d "
            "ORDER BY detected_on, breach_id"
        ),
        {"f": firm_id, "d": as_of},
    )
    return [BreachInfo(*r) for r in rows]


async def bank_accounts(session: AsyncSession, firm_id: str, as_of: date) -> list[BankAccountInfo]:
    rows = await session.execute(
        text(
            "SELECT b.bank_account_id, b.name, b.kind, b.currency, "
            "(SELECT MAX(r.as_of) FROM reconciliations r WHERE r.firm_id = b.firm_id "
            " AND r.bank_account_id = b.bank_account_id AND r.as_of <= :d) AS last_reconciled_on "
            "FROM bank_accounts b WHERE b.firm_id = :f ORDER BY b.bank_account_id"
        ),
        {"f": firm_id, "d": as_of},
    )
    return [BankAccountInfo(*r) for r in rows]


# --- sync and audit --------------------------------------------------------------------------


async def sync_rows(session: AsyncSession, firm_id: str) -> list[SyncRow]:
    rows = await session.execute(
        text(
            "SELECT object_type, currency, records, versions, amount, deleted, posted, held, "
            "rejected, last_synced_at FROM sync_totals WHERE firm_id = :f "
            "AND (records <> 0 OR deleted <> 0 OR versions <> 0) ORDER BY object_type, currency"
        ),
        {"f": firm_id},
    )
    return [SyncRow(*r) for r in rows]


_COMPARISON = [field.name for field in dataclasses.fields(Comparison)]


async def sync_compared(session: AsyncSession, firm_id: str) -> SyncCompared | None:
    """The firm's last completed sync compared with what Clio holds (None before the first)."""
    rows = (
        await session.execute(
            text(
                "SELECT sync_id, sync_kind, sync_finished_at, "
                + ", ".join(_COMPARISON)
                + " FROM sync_comparison WHERE firm_id = :f ORDER BY object_type, currency"
            ),
            {"f": firm_id},
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    return SyncCompared(
        first.sync_id,
        first.sync_kind,
        first.sync_finished_at,
        [Comparison(**{name: getattr(r, name) for name in _COMPARISON}) for r in rows],
    )


async def audit_rows(
    session: AsyncSession,
    firm_id: str,
    start: date,
    end: date,
    *,
    limit: int,
    offset: int,
    entity_type: str | None,
    action: str | None,
) -> tuple[list[AuditRow], bool]:
    """A page of the audit trail, oldest first, and whether more follow."""
    where = "firm_id = :f AND occurred_at >= :start AND occurred_at < :end"
    params: dict[str, object] = {
        "f": firm_id,
        "start": datetime.combine(start, time.min, tzinfo=UTC),
        "end": datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
        "limit": limit + 1,
        "offset": offset,
    }
    if entity_type:
        where += " AND entity_type = :et"
        params["et"] = entity_type
    if action:
        where += " AND action = :ac"
        params["ac"] = action
    rows = await session.execute(
        text(
            "SELECT occurred_at, actor, action, entity_type, entity_id, summary, reason, "
            f"source_ref, CAST(event_id AS text) FROM audit_log WHERE {where} "
            "ORDER BY occurred_at, event_id LIMIT :limit OFFSET :offset"
        ),
        params,
    )
    found = [AuditRow(*r) for r in rows]
    return found[:limit], len(found) > limit


def item_ids(keys: Sequence[str], prefix: str) -> set[int]:
    """The Clio ids in item keys like ``bill:123``."""
    found = set()
    for key in keys:
        if key.startswith(prefix + ":"):
            tail = key[len(prefix) + 1 :]
            if tail.isdigit():
                found.add(int(tail))
    return found
