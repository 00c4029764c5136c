"""Matter spans carry their office side's total (``office_total``) beside its nominals: the
listings read each matter's billed debt and unbilled disbursements as one or two nominals of the
span's office JSON and the rest as the total less those, instead of expanding and summing every
nominal of ~2,500 spans on every request (about 10 of the ~20 ms a listing's matter columns took
at 1M lines). Filled here from the spans already held."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.add_column(
        "matter_spans",
        sa.Column(
            "office_total",
            sa.BigInteger(),
            nullable=True,
            comment="The office side over every nominal, debit positive (the sum of office).",
        ),
    )
    op.execute(
        "UPDATE matter_spans SET office_total = ("
        "SELECT COALESCE(SUM(CAST(e.value AS bigint)), 0) FROM jsonb_each_text(office) AS e)"
    )
    op.alter_column("matter_spans", "office_total", nullable=False)


def downgrade() -> None:
    op.drop_column("matter_spans", "office_total")
