"""Bills by matter: the unbilled report asks for each listed matter's last bill."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_index("bills_by_matter", "bills", ["firm_id", "matter_id", "issued_on"])


def downgrade() -> None:
    op.drop_index("bills_by_matter", table_name="bills")
