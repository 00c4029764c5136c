"""The sync summary's comparison with what Clio holds: each firm's last ``clio.sync.completed``
beside what the reports had received at that event."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

_COUNTS = (
    "in_clio",
    "deleted_in_clio",
    "skipped",
    "awaiting_review",
    "published",
    "published_deleted",
    "published_amount",
    "received",
    "received_deleted",
    "received_amount",
)


def upgrade() -> None:
    op.create_table(
        "sync_comparison",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column(
            "currency", sa.String(length=3), nullable=False, comment="'' for records without money."
        ),
        sa.Column("sync_id", sa.Uuid(), nullable=False),
        sa.Column("sync_kind", sa.String(length=16), nullable=False),
        sa.Column("sync_finished_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "currency"),
    )


def downgrade() -> None:
    op.drop_table("sync_comparison")
