"""Each record snapshot keeps what its latest published event says the record is worth
(currency, minor units), so the totals of what Clio holds (``clio.sync.completed``) are one
GROUP BY. Existing rows take it from the sync log: the line that published the event carries its
amount; a void, a reversal or a deletion is worth nothing in the currency the record had."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_CANCELLING = ("clio.bill.voided", "clio.bill_payment.reversed", "clio.record.deleted")


def upgrade() -> None:
    op.add_column(
        "record_snapshots",
        sa.Column("published_currency", sa.String(length=3), nullable=True),
    )
    op.add_column("record_snapshots", sa.Column("published_amount", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE record_snapshots AS s SET published_currency = l.currency, "
        "published_amount = l.amount_minor FROM sync_log AS l "
        "WHERE l.firm_id = s.firm_id AND l.event_id = s.published_event_id "
        "AND l.amount_minor IS NOT NULL"
    )
    cancelling = ", ".join(f"'{event_type}'" for event_type in _CANCELLING)
    op.execute(
        "WITH known AS (SELECT DISTINCT ON (firm_id, object_type, object_id) "
        "firm_id, object_type, object_id, currency FROM sync_log WHERE currency IS NOT NULL "
        "ORDER BY firm_id, object_type, object_id, id DESC) "
        "UPDATE record_snapshots AS s SET published_currency = known.currency, "
        "published_amount = 0 FROM known WHERE known.firm_id = s.firm_id "
        "AND known.object_type = s.object_type AND known.object_id = s.object_id "
        f"AND s.published_event_type IN ({cancelling})"
    )


def downgrade() -> None:
    op.drop_column("record_snapshots", "published_amount")
    op.drop_column("record_snapshots", "published_currency")
