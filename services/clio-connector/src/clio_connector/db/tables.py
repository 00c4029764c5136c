"""The connector service's tables, in its own schema (search_path). Every row belongs to one firm
and every query names the firm.

- ``clio_connections``: one Clio link per firm, tokens encrypted (Fernet).
- ``oauth_states``: single-use, expiring ``state`` values of link requests (kept as hashes).
- ``sync_settings``: the firm's sync settings (none stored = the recommended defaults).
- ``sync_runs``: each sync, its progress and Clio request figures; at most one ``running``
  per firm (a partial unique index: the database is the guard).
- ``sync_cursors``: per firm and resource, the high-water mark and the page cursor of the read
  in progress (what a resumed sync carries on from).
- ``record_snapshots``: the last raw state of every Clio record read, with its content hash,
  what was last published for it and any event held for a cashier.
- ``sync_log``: a line per record per sync, then the ledger's answer to its event.
- ``clio_webhooks`` and ``webhook_deliveries``: subscriptions (secrets encrypted) and what
  arrived, valid or not.

Money columns are integer minor units with the currency beside them.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from cashroom_chassis.messaging_tables import add_messaging_tables

metadata = MetaData()
add_messaging_tables(metadata)

FIRM = String(64)
TIMESTAMP = DateTime(timezone=True)

clio_connections = Table(
    "clio_connections",
    metadata,
    Column("firm_id", FIRM, primary_key=True),
    Column("clio_base_url", Text, nullable=False),
    Column("status", String(20), nullable=False, comment="linked | needs_relink"),
    Column("access_token", LargeBinary, nullable=False, comment="Fernet ciphertext"),
    Column("refresh_token", LargeBinary, nullable=True, comment="Fernet ciphertext"),
    Column("access_expires_at", TIMESTAMP, nullable=False),
    Column("clio_user_id", BigInteger, nullable=True),
    Column("clio_user_name", Text, nullable=True),
    Column("clio_user_email", Text, nullable=True),
    Column("clio_firm_name", Text, nullable=True),
    Column("linked_at", TIMESTAMP, nullable=False),
    Column("linked_by", Text, nullable=True),
    Column("refreshed_at", TIMESTAMP, nullable=True),
    Column("refresh_count", Integer, nullable=False, server_default=text("0")),
    Column("initial_sync_completed_at", TIMESTAMP, nullable=True),
    Column("last_error", Text, nullable=True),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True, comment="sha256 of the state sent"),
    Column("firm_id", FIRM, nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("clio_base_url", Text, nullable=False),
    Column("requested_by", Text, nullable=True),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("used_at", TIMESTAMP, nullable=True),
)

sync_settings = Table(
    "sync_settings",
    metadata,
    Column("firm_id", FIRM, primary_key=True),
    Column("settings", JSONB, nullable=False),
    Column("updated_at", TIMESTAMP, nullable=False),
    Column("updated_by", Text, nullable=True),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("firm_id", FIRM, nullable=False),
    Column("kind", String(16), nullable=False, comment="full | incremental"),
    Column("trigger", String(16), nullable=False, comment="manual | webhook | poll | resume"),
    Column("resources", JSONB, nullable=False, comment="resource paths, in reading order"),
    Column("status", String(16), nullable=False),
    Column("requested_by", Text, nullable=True),
    Column("started_at", TIMESTAMP, nullable=False),
    Column("finished_at", TIMESTAMP, nullable=True),
    Column("heartbeat_at", TIMESTAMP, nullable=False),
    Column("resumes", Integer, nullable=False, server_default=text("0")),
    Column("error", Text, nullable=True),
    Column("progress", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("clio_stats", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index(
        "sync_runs_one_running_per_firm",
        "firm_id",
        unique=True,
        postgresql_where=text("status = 'running'"),
    ),
    Index("sync_runs_by_firm", "firm_id", "started_at"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("firm_id", FIRM, primary_key=True),
    Column("resource", String(40), primary_key=True),
    Column("high_water_mark", TIMESTAMP, nullable=True, comment="max updated_at read to the end"),
    Column("last_completed_at", TIMESTAMP, nullable=True),
    Column("last_completed_run", Uuid, nullable=True),
    Column("last_full_read_at", TIMESTAMP, nullable=True),
    Column("run_id", Uuid, nullable=True, comment="the read in progress (or last finished)"),
    Column("since", TIMESTAMP, nullable=True, comment="its updated_since"),
    Column("next_url", Text, nullable=True, comment="the page after the last committed one"),
    Column("max_seen", TIMESTAMP, nullable=True),
    Column("pages", Integer, nullable=False, server_default=text("0")),
    Column("done", Boolean, nullable=False, server_default=text("false")),
)

record_snapshots = Table(
    "record_snapshots",
    metadata,
    Column("firm_id", FIRM, primary_key=True),
    Column("object_type", String(40), primary_key=True),
    Column("object_id", BigInteger, primary_key=True),
    Column("parent_id", BigInteger, nullable=True, comment="a line item's bill"),
    Column("raw", Text, nullable=False, comment="canonical JSON, numbers exact"),
    Column("content_hash", String(64), nullable=False),
    Column("etag", Text, nullable=True),
    Column("clio_updated_at", TIMESTAMP, nullable=True),
    Column("first_seen_at", TIMESTAMP, nullable=False),
    Column("last_seen_at", TIMESTAMP, nullable=False),
    Column("last_seen_run", Uuid, nullable=True),
    Column("deleted_at", TIMESTAMP, nullable=True),
    Column("last_status", String(16), nullable=True),
    Column("last_reason", String(60), nullable=True),
    Column("settings_hash", String(64), nullable=True, comment="settings it was normalised with"),
    Column("published_event_type", String(60), nullable=True),
    Column("published_version", Text, nullable=True),
    Column("published_facts_hash", String(64), nullable=True),
    Column("published_event_id", Uuid, nullable=True),
    Column("published_payload", JSONB(none_as_null=True), nullable=True),
    Column("published_currency", String(3), nullable=True, comment="its published worth"),
    Column("published_amount", BigInteger, nullable=True, comment="minor units"),
    Column("held_event_type", String(60), nullable=True),
    Column("held_event_id", Uuid, nullable=True),
    Column("held_version", Text, nullable=True),
    Column("held_facts_hash", String(64), nullable=True),
    Column("held_payload", JSONB(none_as_null=True), nullable=True),
    Column("flag_line_id", BigInteger, nullable=True, comment="the open flagged log line"),
    # Not (firm_id, object_type, ...): look-ups by id must always take the primary key.
    Index(
        "record_snapshots_by_bill",
        "firm_id",
        "parent_id",
        postgresql_where=text("parent_id IS NOT NULL"),
    ),
)

sync_log = Table(
    "sync_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("firm_id", FIRM, nullable=False),
    Column("sync_id", Uuid, nullable=True, comment="none for a cashier's resolution"),
    Column("logged_at", TIMESTAMP, nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", BigInteger, nullable=True),
    Column("version", Text, nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(60), nullable=True),
    Column("detail", Text, nullable=True),
    Column("event_id", Uuid, nullable=True),
    Column("event_type", String(60), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("ledger_status", String(16), nullable=True),
    Column("ledger_reason_code", String(60), nullable=True),
    Column("ledger_reason", Text, nullable=True),
    Column("ledger_at", TIMESTAMP, nullable=True),
    Column("resolves_line_id", BigInteger, nullable=True),
    Column("resolution", JSONB(none_as_null=True), nullable=True),
    Column("resolved_by", Text, nullable=True),
    Index("sync_log_by_sync", "firm_id", "sync_id", "status"),
    Index("sync_log_by_record", "firm_id", "object_type", "object_id"),
    Index("sync_log_by_event", "event_id"),
    Index(
        "sync_log_ledger_pending",
        "firm_id",
        "sync_id",
        postgresql_where=text("ledger_status = 'pending'"),
    ),
)

clio_webhooks = Table(
    "clio_webhooks",
    metadata,
    Column("firm_id", FIRM, primary_key=True),
    Column("model", String(40), primary_key=True),
    Column("clio_webhook_id", BigInteger, nullable=True),
    Column("secret", LargeBinary, nullable=True, comment="Fernet ciphertext of the shared secret"),
    Column("status", String(16), nullable=False, comment="pending | enabled | failed"),
    Column("expires_at", TIMESTAMP, nullable=True, comment="Clio's clock"),
    Column("clock_skew_seconds", Float, nullable=False, server_default=text("0")),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("renewed_at", TIMESTAMP, nullable=True),
    Column("last_error", Text, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("firm_id", FIRM, nullable=False),
    Column("received_at", TIMESTAMP, nullable=False),
    Column("verdict", String(20), nullable=False, comment="accepted | bad_signature | ..."),
    Column("model", String(40), nullable=True),
    Column("event", String(40), nullable=True),
    Column("record_id", BigInteger, nullable=True),
    Column("clio_webhook_id", BigInteger, nullable=True),
    Column("detail", Text, nullable=True),
    Column("processed_at", TIMESTAMP, nullable=True),
    Index(
        "webhook_deliveries_unprocessed",
        "firm_id",
        postgresql_where=text("verdict = 'accepted' AND processed_at IS NULL"),
    ),
)
