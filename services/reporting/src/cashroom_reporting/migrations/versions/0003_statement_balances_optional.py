"""A bank statement's opening and closing balances may be unstated (OFX states no opening
balance; a CSV may state neither): the contract made them optional."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    for column in ("currency", "opening_balance", "closing_balance"):
        op.alter_column("statements", column, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM statements WHERE opening_balance IS NULL OR closing_balance IS NULL")
    for column in ("currency", "opening_balance", "closing_balance"):
        op.alter_column("statements", column, nullable=False)
