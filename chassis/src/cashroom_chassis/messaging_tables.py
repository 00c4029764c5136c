"""The outbox and inbox tables every service keeps in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add ``outbox`` and ``inbox`` to a service's metadata (its migrations create them)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index(
            "outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox


# The chassis's own view of the tables, for its queries (search_path picks the schema).
_metadata = MetaData()
OUTBOX, INBOX = add_messaging_tables(_metadata)


def create_messaging_tables(connection: Connection) -> None:
    """For a service's first migration: create ``outbox`` and ``inbox`` in its schema."""
    _metadata.create_all(connection, tables=[OUTBOX, INBOX])


def drop_messaging_tables(connection: Connection) -> None:
    _metadata.drop_all(connection, tables=[OUTBOX, INBOX])
