"""Matter spans: each matter's whole ledger from one day it moved until the next, with a GiST
index on the live ones, so the client listing (and dormant balances, the breach register) finds
the matters with a balance on any date in one index search instead of one lookup per ledger
column. Filled here from the daily rows (the same derivation the handlers and a rebuild use).
Item spans likewise for each sub-ledger item (a bill, a supplier invoice): the aged debtors and
creditors find the items owing on any date, with their balance then, in one index search."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"

FILL = """
INSERT INTO matter_spans
    (firm_id, matter_id, currency, from_day, to_day, client, office, client_last_on, live)
SELECT firm_id, matter_id, currency, day,
       LEAD(day) OVER (PARTITION BY firm_id, matter_id, currency ORDER BY day),
       client, office, client_last_on, client <> 0 OR office <> CAST('{}' AS jsonb)
FROM (
    SELECT v.firm_id, v.matter_id, v.currency, v.day,
           CAST(COALESCE(SUM(v.net_credit) FILTER (WHERE v.side = 'client'), 0) AS bigint)
               AS client,
           COALESCE(
               jsonb_object_agg(v.account_code, -v.net_credit)
                   FILTER (WHERE v.side <> 'client' AND v.net_credit <> 0),
               CAST('{}' AS jsonb)) AS office,
           MAX(v.key_day) FILTER (WHERE v.side = 'client') AS client_last_on
    FROM (
        SELECT d.firm_id, d.matter_id, d.currency, d.day, k.side, k.account_code,
               x.key_day, x.net_credit
        FROM (SELECT DISTINCT m.firm_id, m.matter_id, m.currency, m.day
              FROM matter_daily m ) AS d
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

FILL_ITEMS = """
INSERT INTO item_spans
    (firm_id, account_code, item_key, currency, from_day, to_day, debit, credit, matter_id,
     opened_on, live)
SELECT firm_id, account_code, item_key, currency, day, LEAD(day) OVER w,
       SUM(debit) OVER w, SUM(credit) OVER w, MIN(matter_id) OVER item, MIN(day) OVER item,
       SUM(debit) OVER w <> SUM(credit) OVER w
FROM (
    SELECT l.firm_id, l.account_code, l.item_key, l.currency, l.posted_on AS day,
           SUM(l.debit) AS debit, SUM(l.credit) AS credit, MIN(l.matter_id) AS matter_id
    FROM journal_lines l WHERE l.item_key IS NOT NULL
    GROUP BY l.firm_id, l.account_code, l.item_key, l.currency, l.posted_on
) AS d
WINDOW item AS (PARTITION BY firm_id, account_code, item_key, currency),
       w AS (item ORDER BY day)
"""


def upgrade() -> None:
    op.create_table(
        "matter_spans",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_day", sa.Date(), nullable=False),
        sa.Column("to_day", sa.Date(), nullable=True),
        sa.Column("client", sa.BigInteger(), nullable=False),
        sa.Column("office", postgresql.JSONB(), nullable=False),
        sa.Column("client_last_on", sa.Date(), nullable=True),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "matter_id", "currency", "from_day"),
    )
    op.create_index(
        "matter_spans_live",
        "matter_spans",
        [sa.text("daterange(from_day, to_day)")],
        postgresql_using="gist",
        postgresql_where=sa.text("live"),
    )
    op.execute(FILL)
    op.create_table(
        "item_spans",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_day", sa.Date(), nullable=False),
        sa.Column("to_day", sa.Date(), nullable=True),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "account_code", "item_key", "currency", "from_day"),
    )
    op.create_index(
        "item_spans_live",
        "item_spans",
        [sa.text("daterange(from_day, to_day)")],
        postgresql_using="gist",
        postgresql_where=sa.text("live"),
    )
    op.execute(FILL_ITEMS)


def downgrade() -> None:
    op.drop_index("item_spans_live", table_name="item_spans")
    op.drop_table("item_spans")
    op.drop_index("matter_spans_live", table_name="matter_spans")
    op.drop_table("matter_spans")
