"""The connector's own tables: Clio connections and OAuth states, sync settings, sync runs and
cursors, record snapshots, the sync log, webhook subscriptions and deliveries."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "clio_connections",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("clio_base_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False, comment="linked | needs_relink"),
        sa.Column("access_token", sa.LargeBinary(), nullable=False, comment="Fernet ciphertext"),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True, comment="Fernet ciphertext"),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clio_user_id", sa.BigInteger(), nullable=True),
        sa.Column("clio_user_name", sa.Text(), nullable=True),
        sa.Column("clio_user_email", sa.Text(), nullable=True),
        sa.Column("clio_firm_name", sa.Text(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.Text(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("initial_sync_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id"),
    )
    op.create_table(
        "clio_webhooks",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("clio_webhook_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "secret",
            sa.LargeBinary(),
            nullable=True,
            comment="Fernet ciphertext of the shared secret",
        ),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="pending | enabled | failed"
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, comment="Clio's clock"),
        sa.Column("clock_skew_seconds", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "model"),
    )
    op.create_table(
        "oauth_states",
        sa.Column(
            "state_hash", sa.String(length=64), nullable=False, comment="sha256 of the state sent"
        ),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("clio_base_url", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_table(
        "record_snapshots",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True, comment="a line item's bill"),
        sa.Column("raw", sa.Text(), nullable=False, comment="canonical JSON, numbers exact"),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("clio_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_run", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_reason", sa.String(length=60), nullable=True),
        sa.Column(
            "settings_hash",
            sa.String(length=64),
            nullable=True,
            comment="settings it was normalised with",
        ),
        sa.Column("published_event_type", sa.String(length=60), nullable=True),
        sa.Column("published_version", sa.Text(), nullable=True),
        sa.Column("published_facts_hash", sa.String(length=64), nullable=True),
        sa.Column("published_event_id", sa.Uuid(), nullable=True),
        sa.Column("published_payload", postgresql.JSONB(), nullable=True),
        sa.Column("held_event_type", sa.String(length=60), nullable=True),
        sa.Column("held_event_id", sa.Uuid(), nullable=True),
        sa.Column("held_version", sa.Text(), nullable=True),
        sa.Column("held_facts_hash", sa.String(length=64), nullable=True),
        sa.Column("held_payload", postgresql.JSONB(), nullable=True),
        sa.Column(
            "flag_line_id", sa.BigInteger(), nullable=True, comment="the open flagged log line"
        ),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "object_id"),
    )
    op.create_index(
        "record_snapshots_by_bill",
        "record_snapshots",
        ["firm_id", "parent_id"],
        unique=False,
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column(
            "high_water_mark",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="max updated_at read to the end",
        ),
        sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_completed_run", sa.Uuid(), nullable=True),
        sa.Column("last_full_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "run_id", sa.Uuid(), nullable=True, comment="the read in progress (or last finished)"
        ),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True, comment="its updated_since"),
        sa.Column(
            "next_url", sa.Text(), nullable=True, comment="the page after the last committed one"
        ),
        sa.Column("max_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "resource"),
    )
    op.create_table(
        "sync_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("sync_id", sa.Uuid(), nullable=True, comment="none for a cashier's resolution"),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=60), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("ledger_status", sa.String(length=16), nullable=True),
        sa.Column("ledger_reason_code", sa.String(length=60), nullable=True),
        sa.Column("ledger_reason", sa.Text(), nullable=True),
        sa.Column("ledger_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolves_line_id", sa.BigInteger(), nullable=True),
        sa.Column("resolution", postgresql.JSONB(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("sync_log_by_event", "sync_log", ["event_id"], unique=False)
    op.create_index(
        "sync_log_by_record", "sync_log", ["firm_id", "object_type", "object_id"], unique=False
    )
    op.create_index("sync_log_by_sync", "sync_log", ["firm_id", "sync_id", "status"], unique=False)
    op.create_index(
        "sync_log_ledger_pending",
        "sync_log",
        ["firm_id", "sync_id"],
        unique=False,
        postgresql_where=sa.text("ledger_status = 'pending'"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="full | incremental"),
        sa.Column(
            "trigger",
            sa.String(length=16),
            nullable=False,
            comment="manual | webhook | poll | resume",
        ),
        sa.Column(
            "resources",
            postgresql.JSONB(),
            nullable=False,
            comment="resource paths, in reading order",
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "progress", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "clio_stats", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("sync_runs_by_firm", "sync_runs", ["firm_id", "started_at"], unique=False)
    op.create_index(
        "sync_runs_one_running_per_firm",
        "sync_runs",
        ["firm_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "sync_settings",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("settings", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "verdict",
            sa.String(length=20),
            nullable=False,
            comment="accepted | bad_signature | ...",
        ),
        sa.Column("model", sa.String(length=40), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("clio_webhook_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "webhook_deliveries_unprocessed",
        "webhook_deliveries",
        ["firm_id"],
        unique=False,
        postgresql_where=sa.text("verdict = 'accepted' AND processed_at IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "clio_webhooks",
        "sync_log",
        "record_snapshots",
        "sync_cursors",
        "sync_runs",
        "sync_settings",
        "oauth_states",
        "clio_connections",
    ):
        op.drop_table(table)
