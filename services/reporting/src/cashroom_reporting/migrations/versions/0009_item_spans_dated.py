"""Item spans carry the date their item is aged by (``dated``: a bill's issue date, a supplier
invoice's date). The aged listings looked it up for every open item on every request (3,500
primary-key lookups, about half of the aged debtors' statement at 1M lines); the spans are now
dated when they are derived and again when the Clio record is written. Filled here from the
records already held."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def _fill(prefix: str, table: str, id_column: str, date_column: str) -> str:
    return (
        f"UPDATE item_spans s SET dated = r.{date_column} FROM {table} r "
        f"WHERE r.firm_id = s.firm_id AND r.{id_column} = CASE "
        f"WHEN s.item_key ~ '^{prefix}:[0-9]{{1,18}}$' "
        f"THEN CAST(substr(s.item_key, {len(prefix) + 2}) AS bigint) END"
    )


def upgrade() -> None:
    op.add_column(
        "item_spans",
        sa.Column(
            "dated",
            sa.Date(),
            nullable=True,
            comment="The item's own date, once its Clio record is here (a bill's issue date, a "
            "supplier invoice's date): what it is aged by; null: aged from opened_on.",
        ),
    )
    op.execute(_fill("bill", "bills", "bill_id", "issued_on"))
    op.execute(_fill("invoice", "purchase_invoices", "invoice_id", "invoiced_on"))


def downgrade() -> None:
    op.drop_column("item_spans", "dated")
