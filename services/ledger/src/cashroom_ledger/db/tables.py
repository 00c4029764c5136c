"""The ledger service's tables, in its own schema (search_path). The migrations create them
(``migrations/versions``); this is the same shape for the queries, checked against the
migrated database by the tests."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from cashroom_chassis.messaging_tables import add_messaging_tables

metadata = MetaData()
add_messaging_tables(metadata)

FIRM = 64
CODE = 16


def _firm() -> Column[str]:
    return Column("firm_id", String(FIRM), nullable=False)


def _now(name: str) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


firms = Table(
    "firms",
    metadata,
    Column("firm_id", String(FIRM), primary_key=True),
    Column("firm_name", Text, nullable=False),
    Column("jurisdiction", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("standard_vat_rate_basis_points", Integer, nullable=False),
    Column("default_office_account_id", BigInteger, nullable=True),
    Column("books_locked_through", Date, nullable=True),
    _now("set_up_at"),
)

accounts = Table(
    "accounts",
    metadata,
    _firm(),
    Column("code", String(CODE), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("role", String(32), nullable=True),
    PrimaryKeyConstraint("firm_id", "code"),
)

bank_accounts = Table(
    "bank_accounts",
    metadata,
    _firm(),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("nominal_code", String(CODE), nullable=False),
    Column("locked_through", Date, nullable=True),
    _now("arrived_at"),
    PrimaryKeyConstraint("firm_id", "bank_account_id"),
)

clients = Table(
    "clients",
    metadata,
    _firm(),
    Column("client_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    PrimaryKeyConstraint("firm_id", "client_id"),
)

matters = Table(
    "matters",
    metadata,
    _firm(),
    Column("matter_id", BigInteger, nullable=False),
    Column("client_id", BigInteger, nullable=False),
    Column("reference", Text, nullable=False),
    Column("description", Text, nullable=False),
    PrimaryKeyConstraint("firm_id", "matter_id"),
    Index("matters_of_client", "firm_id", "client_id"),
)

practice_areas = Table(
    "practice_areas",
    metadata,
    _firm(),
    Column("practice_area_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    PrimaryKeyConstraint("firm_id", "practice_area_id"),
)

journals = Table(
    "journals",
    metadata,
    _firm(),
    Column("journal_id", Uuid, nullable=False),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("key_version", String(200), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("narrative", Text, nullable=False),
    Column("source_system", String(20), nullable=False),
    Column("source_object_type", String(60), nullable=False),
    Column("source_object_id", String(120), nullable=False),
    Column("source_version", String(200), nullable=True),
    Column("source_event_id", Uuid, nullable=True),
    Column("reverses", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("linked_journal_id", Uuid, nullable=True),
    Column("entered_by", Text, nullable=True),
    _now("recorded_at"),
    PrimaryKeyConstraint("firm_id", "journal_id"),
    UniqueConstraint(
        "firm_id", "key_kind", "key_id", "key_version", "position", name="journals_once"
    ),
    Index("journals_by_date", "firm_id", "posted_on", "seq"),
    Index("journals_by_source", "firm_id", "source_object_type", "source_object_id"),
)

journal_lines = Table(
    "journal_lines",
    metadata,
    _firm(),
    Column("journal_id", Uuid, nullable=False),
    Column("line_no", SmallInteger, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("account_code", String(CODE), nullable=False),
    Column("entry", String(6), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("ledger_side", String(8), nullable=True),
    Column("bank_account_id", BigInteger, nullable=True),
    Column("vat_tag", String(32), nullable=True),
    Column("narrative", Text, nullable=True),
    PrimaryKeyConstraint("firm_id", "journal_id", "line_no"),
    CheckConstraint("amount_minor > 0", name="journal_lines_positive"),
    CheckConstraint("entry IN ('debit', 'credit')", name="journal_lines_entry"),
    Index(
        "journal_lines_by_matter",
        "firm_id",
        "matter_id",
        "posted_on",
        postgresql_where=text("matter_id IS NOT NULL"),
    ),
    Index("journal_lines_by_account", "firm_id", "account_code", "posted_on"),
)

# The names of journal_lines' columns in the order the ledger COPYs them.
JOURNAL_LINE_COLUMNS = (
    "firm_id",
    "journal_id",
    "line_no",
    "posted_on",
    "account_code",
    "entry",
    "amount_minor",
    "currency",
    "matter_id",
    "ledger_side",
    "bank_account_id",
    "vat_tag",
    "narrative",
)

balances = Table(
    "balances",
    metadata,
    _firm(),
    Column("account_code", String(CODE), nullable=False),
    Column("matter_id", BigInteger, nullable=False, server_default="0"),
    Column("ledger_side", String(8), nullable=False, server_default=""),
    Column("bank_account_id", BigInteger, nullable=False, server_default="0"),
    Column("balance_date", Date, nullable=False),
    Column("movement", BigInteger, nullable=False),
    Column("cumulative", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "firm_id", "account_code", "matter_id", "ledger_side", "bank_account_id", "balance_date"
    ),
)

live_postings = Table(
    "live_postings",
    metadata,
    _firm(),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("version", String(200), nullable=False),
    Column("journal_ids", ARRAY(Uuid), nullable=False),
    Column("facts", JSONB, nullable=False),
    PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
)

seen_versions = Table(
    "seen_versions",
    metadata,
    _firm(),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("version", String(200), nullable=False),
    Column("rejected_reason_code", String(40), nullable=True),
    Column("rejected_reason", Text, nullable=True),
    PrimaryKeyConstraint("firm_id", "key_kind", "key_id", "version"),
)

source_keys = Table(
    "source_keys",
    metadata,
    _firm(),
    Column("object_type", String(60), nullable=False),
    Column("object_id", String(120), nullable=False),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    PrimaryKeyConstraint("firm_id", "object_type", "object_id"),
)

bills = Table(
    "bills",
    metadata,
    _firm(),
    Column("bill_id", BigInteger, nullable=False),
    Column("bill_number", Text, nullable=False),
    Column("matter_id", BigInteger, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    PrimaryKeyConstraint("firm_id", "bill_id"),
)

bill_allocations = Table(
    "bill_allocations",
    metadata,
    _firm(),
    Column("bill_id", BigInteger, nullable=False),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    PrimaryKeyConstraint("firm_id", "bill_id", "key_kind", "key_id"),
)

supplier_invoices = Table(
    "supplier_invoices",
    metadata,
    _firm(),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("supplier", Text, nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("gross_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
)

supplier_invoice_payments = Table(
    "supplier_invoice_payments",
    metadata,
    _firm(),
    Column("invoice_key_kind", String(40), nullable=False),
    Column("invoice_key_id", String(120), nullable=False),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    PrimaryKeyConstraint("firm_id", "invoice_key_kind", "invoice_key_id", "key_kind", "key_id"),
)

held_postings = Table(
    "held_postings",
    metadata,
    _firm(),
    Column("key_kind", String(40), nullable=False),
    Column("key_id", String(120), nullable=False),
    Column("version", String(200), nullable=False),
    Column("source", JSONB, nullable=False),
    Column("subject_type", String(60), nullable=False),
    Column("subject", JSONB, nullable=False),
    Column("entered_by", Text, nullable=True),
    Column("reason_code", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("waiting_for", ARRAY(Text), nullable=False),
    Column("allow", ARRAY(Text), nullable=False),
    Column("exception_id", Uuid, nullable=True),
    _now("held_since"),
    PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
    Index("held_postings_waiting_for", "waiting_for", postgresql_using="gin"),
)

events_before_setup = Table(
    "events_before_setup",
    metadata,
    _firm(),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    _now("received_at"),
    PrimaryKeyConstraint("firm_id", "seq"),
    UniqueConstraint("firm_id", "event_id", name="events_before_setup_once"),
)

exceptions = Table(
    "exceptions",
    metadata,
    _firm(),
    Column("exception_id", Uuid, nullable=False),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("raised_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("detail", Text, nullable=False),
    Column("source", JSONB, nullable=True),
    Column("key_kind", String(40), nullable=True),
    Column("key_id", String(120), nullable=True),
    Column("blocking", Boolean, nullable=False),
    Column("resolution", String(32), nullable=True),
    Column("resolved_by", Text, nullable=True),
    Column("resolution_reason", Text, nullable=True),
    _now("raised_at"),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("firm_id", "exception_id"),
    Index(
        "exceptions_open_by_matter",
        "firm_id",
        "matter_id",
        "kind",
        postgresql_where=text("resolution IS NULL"),
    ),
)

breaches = Table(
    "breaches",
    metadata,
    _firm(),
    Column("exception_id", Uuid, nullable=False),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("detail", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("journal_ids", ARRAY(Uuid), nullable=False),
    _now("recorded_at"),
    PrimaryKeyConstraint("firm_id", "exception_id"),
)

period_lock_changes = Table(
    "period_lock_changes",
    metadata,
    _firm(),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("bank_account_id", BigInteger, nullable=True),
    Column("locked_through", Date, nullable=True),
    Column("locked", Boolean, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    _now("changed_at"),
    PrimaryKeyConstraint("firm_id", "seq"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _firm(),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(60), nullable=False),
    Column("detail", JSONB, nullable=False),
    _now("at"),
    PrimaryKeyConstraint("firm_id", "seq"),
)
