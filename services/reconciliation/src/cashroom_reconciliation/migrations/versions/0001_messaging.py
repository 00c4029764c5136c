"""The outbox and inbox every service keeps (chassis)."""

from alembic import op

from cashroom_chassis.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
