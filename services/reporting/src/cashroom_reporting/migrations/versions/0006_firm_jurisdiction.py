"""The firm's jurisdiction (firm profile): the VAT return's default scheme follows it."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column(
        "firms",
        sa.Column(
            "jurisdiction",
            sa.String(length=2),
            nullable=True,
            comment="ie or ew (the firm profile).",
        ),
    )


def downgrade() -> None:
    op.drop_column("firms", "jurisdiction")
