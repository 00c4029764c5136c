"""Nominals' monthly checkpoints: ``account_daily`` keeps each day's movements only, and
``account_monthly`` the cumulative sums at the end of each month a nominal moved. A back-dated
journal moved every later day's cumulative row of its nominals (the full sync's back-dated
journals: ~40% of PostgreSQL's time); now it moves its day and at most one row per later month.
Filled here from the daily rows (the same derivation a rebuild uses)."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

FILL = """
INSERT INTO account_monthly
    (firm_id, account_code, currency, month, debit, credit, cum_debit, cum_credit)
SELECT firm_id, account_code, currency, month, debit, credit,
       SUM(debit) OVER w, SUM(credit) OVER w
FROM (
    SELECT firm_id, account_code, currency, CAST(date_trunc('month', day) AS date) AS month,
           SUM(debit) AS debit, SUM(credit) AS credit
    FROM account_daily
    GROUP BY firm_id, account_code, currency, CAST(date_trunc('month', day) AS date)
) AS months
WINDOW w AS (PARTITION BY firm_id, account_code, currency ORDER BY month)
"""


def upgrade() -> None:
    op.create_table(
        "account_monthly",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False, comment="The month's first day."),
        sa.Column("debit", sa.BigInteger(), nullable=False, comment="The month's movements."),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column(
            "cum_debit", sa.BigInteger(), nullable=False, comment="Through the month's last day."
        ),
        sa.Column("cum_credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "account_code", "currency", "month"),
    )
    op.execute(FILL)
    op.drop_column("account_daily", "cum_debit")
    op.drop_column("account_daily", "cum_credit")


def downgrade() -> None:
    op.add_column("account_daily", sa.Column("cum_debit", sa.BigInteger(), nullable=True))
    op.add_column("account_daily", sa.Column("cum_credit", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE account_daily d SET cum_debit = c.cum_debit, cum_credit = c.cum_credit "
        "FROM (SELECT firm_id, account_code, currency, day, "
        "SUM(debit) OVER w AS cum_debit, SUM(credit) OVER w AS cum_credit FROM account_daily "
        "WINDOW w AS (PARTITION BY firm_id, account_code, currency ORDER BY day)) AS c "
        "WHERE d.firm_id = c.firm_id AND d.account_code = c.account_code "
        "AND d.currency = c.currency AND d.day = c.day"
    )
    op.alter_column("account_daily", "cum_debit", nullable=False)
    op.alter_column("account_daily", "cum_credit", nullable=False)
    op.drop_table("account_monthly")
