"""The sample service's tables: outbox, inbox and effects."""

from alembic import op
from sample_service import metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
