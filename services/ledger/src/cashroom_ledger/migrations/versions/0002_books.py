"""The books: firms and their chart, reference data mirrored from Clio, journals and lines,
dated cumulative balances, what each posting key stands for, postings that wait, exceptions,
the breach register, period locks with their audit trail, and the audit log.

Every table is keyed by firm. Journals and their lines are append-only; a correction is a
reversal plus a new journal. Balances are one row per key and date with the cumulative amount
at the end of that date, so "as of" is an index lookup and the client-column check of a
back-dated posting reads the dates after it (a range), never the history.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"

FIRM = 64
CODE = 16


def _firm() -> sa.Column[str]:
    return sa.Column("firm_id", sa.String(FIRM), nullable=False)


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "firms",
        sa.Column("firm_id", sa.String(FIRM), primary_key=True),
        sa.Column("firm_name", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("standard_vat_rate_basis_points", sa.Integer, nullable=False),
        sa.Column("default_office_account_id", sa.BigInteger, nullable=True),
        sa.Column("books_locked_through", sa.Date, nullable=True),
        _now("set_up_at"),
    )
    op.create_table(
        "accounts",
        _firm(),
        sa.Column("code", sa.String(CODE), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "code"),
    )
    op.create_table(
        "bank_accounts",
        _firm(),
        sa.Column("bank_account_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("nominal_code", sa.String(CODE), nullable=False),
        sa.Column("locked_through", sa.Date, nullable=True),
        _now("arrived_at"),
        sa.PrimaryKeyConstraint("firm_id", "bank_account_id"),
    )
    op.create_table(
        "clients",
        _firm(),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "client_id"),
    )
    op.create_table(
        "matters",
        _firm(),
        sa.Column("matter_id", sa.BigInteger, nullable=False),
        sa.Column("client_id", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "matter_id"),
    )
    op.create_index("matters_of_client", "matters", ["firm_id", "client_id"])
    op.create_table(
        "practice_areas",
        _firm(),
        sa.Column("practice_area_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "practice_area_id"),
    )

    # --- journals: immutable, each with its source and the posting key + version it belongs to --
    op.create_table(
        "journals",
        _firm(),
        sa.Column("journal_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("key_version", sa.String(200), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("narrative", sa.Text, nullable=False),
        sa.Column("source_system", sa.String(20), nullable=False),
        sa.Column("source_object_type", sa.String(60), nullable=False),
        sa.Column("source_object_id", sa.String(120), nullable=False),
        sa.Column("source_version", sa.String(200), nullable=True),
        sa.Column("source_event_id", sa.Uuid, nullable=True),
        sa.Column("reverses", sa.Uuid, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("linked_journal_id", sa.Uuid, nullable=True),
        sa.Column("entered_by", sa.Text, nullable=True),
        _now("recorded_at"),
        sa.PrimaryKeyConstraint("firm_id", "journal_id"),
        # I-10 in the database: one posting per key and version, never applied twice.
        sa.UniqueConstraint(
            "firm_id", "key_kind", "key_id", "key_version", "position", name="journals_once"
        ),
    )
    op.create_index("journals_by_date", "journals", ["firm_id", "posted_on", "seq"])
    op.create_index(
        "journals_by_source", "journals", ["firm_id", "source_object_type", "source_object_id"]
    )
    op.create_table(
        "journal_lines",
        _firm(),
        sa.Column("journal_id", sa.Uuid, nullable=False),
        sa.Column("line_no", sa.SmallInteger, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("account_code", sa.String(CODE), nullable=False),
        sa.Column("entry", sa.String(6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=True),
        sa.Column("ledger_side", sa.String(8), nullable=True),
        sa.Column("bank_account_id", sa.BigInteger, nullable=True),
        sa.Column("vat_tag", sa.String(32), nullable=True),
        sa.Column("narrative", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "journal_id", "line_no"),
        sa.CheckConstraint("amount_minor > 0", name="journal_lines_positive"),
        sa.CheckConstraint("entry IN ('debit', 'credit')", name="journal_lines_entry"),
    )
    op.create_index(
        "journal_lines_by_matter",
        "journal_lines",
        ["firm_id", "matter_id", "posted_on"],
        postgresql_where=sa.text("matter_id IS NOT NULL"),
    )
    op.create_index(
        "journal_lines_by_account", "journal_lines", ["firm_id", "account_code", "posted_on"]
    )

    # --- balances: (firm, nominal, matter, side, bank account, date) -> cumulative ---------------
    op.create_table(
        "balances",
        _firm(),
        sa.Column("account_code", sa.String(CODE), nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("ledger_side", sa.String(8), nullable=False, server_default=""),
        sa.Column("bank_account_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("balance_date", sa.Date, nullable=False),
        sa.Column("movement", sa.BigInteger, nullable=False),
        sa.Column("cumulative", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "firm_id", "account_code", "matter_id", "ledger_side", "bank_account_id", "balance_date"
        ),
    )
    # Room on each page for a moved balance to stay on it (HOT updates: no index entry per move).
    op.execute("ALTER TABLE balances SET (fillfactor = 70)")

    # --- what each posting key stands for ------------------------------------------------------
    op.create_table(
        "live_postings",
        _firm(),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("journal_ids", pg.ARRAY(sa.Uuid), nullable=False),
        sa.Column("facts", pg.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
    )
    op.create_table(
        "seen_versions",
        _firm(),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("rejected_reason_code", sa.String(40), nullable=True),
        sa.Column("rejected_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "key_kind", "key_id", "version"),
    )
    op.create_table(
        "source_keys",
        _firm(),
        sa.Column("object_type", sa.String(60), nullable=False),
        sa.Column("object_id", sa.String(120), nullable=False),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "object_id"),
    )
    op.create_table(
        "bills",
        _firm(),
        sa.Column("bill_id", sa.BigInteger, nullable=False),
        sa.Column("bill_number", sa.Text, nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "bill_id"),
    )
    op.create_table(
        "bill_allocations",
        _firm(),
        sa.Column("bill_id", sa.BigInteger, nullable=False),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "bill_id", "key_kind", "key_id"),
    )
    op.create_table(
        "supplier_invoices",
        _firm(),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("supplier", sa.Text, nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=True),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
    )
    op.create_table(
        "supplier_invoice_payments",
        _firm(),
        sa.Column("invoice_key_kind", sa.String(40), nullable=False),
        sa.Column("invoice_key_id", sa.String(120), nullable=False),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint(
            "firm_id", "invoice_key_kind", "invoice_key_id", "key_kind", "key_id"
        ),
    )

    # --- postings that wait (held, or referred to the cashier) ---------------------------------
    op.create_table(
        "held_postings",
        _firm(),
        sa.Column("key_kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(120), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("source", pg.JSONB, nullable=False),
        sa.Column("subject_type", sa.String(60), nullable=False),
        sa.Column("subject", pg.JSONB, nullable=False),
        sa.Column("entered_by", sa.Text, nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("waiting_for", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("allow", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("exception_id", sa.Uuid, nullable=True),
        _now("held_since"),
        sa.PrimaryKeyConstraint("firm_id", "key_kind", "key_id"),
    )
    op.create_index(
        "held_postings_waiting_for", "held_postings", ["waiting_for"], postgresql_using="gin"
    )
    op.create_table(
        "events_before_setup",
        _firm(),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        _now("received_at"),
        sa.PrimaryKeyConstraint("firm_id", "seq"),
        sa.UniqueConstraint("firm_id", "event_id", name="events_before_setup_once"),
    )

    # --- exceptions, the breach register, period locks, the audit log --------------------------
    op.create_table(
        "exceptions",
        _firm(),
        sa.Column("exception_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=True),
        sa.Column("raised_on", sa.Date, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("source", pg.JSONB, nullable=True),
        sa.Column("key_kind", sa.String(40), nullable=True),
        sa.Column("key_id", sa.String(120), nullable=True),
        sa.Column("blocking", sa.Boolean, nullable=False),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("resolved_by", sa.Text, nullable=True),
        sa.Column("resolution_reason", sa.Text, nullable=True),
        _now("raised_at"),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "exception_id"),
    )
    op.create_index(
        "exceptions_open_by_matter",
        "exceptions",
        ["firm_id", "matter_id", "kind"],
        postgresql_where=sa.text("resolution IS NULL"),
    )
    op.create_table(
        "breaches",
        _firm(),
        sa.Column("exception_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("matter_id", sa.BigInteger, nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("journal_ids", pg.ARRAY(sa.Uuid), nullable=False),
        _now("recorded_at"),
        sa.PrimaryKeyConstraint("firm_id", "exception_id"),
    )
    op.create_table(
        "period_lock_changes",
        _firm(),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger, nullable=True),
        sa.Column("locked_through", sa.Date, nullable=True),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _now("changed_at"),
        sa.PrimaryKeyConstraint("firm_id", "seq"),
    )
    op.create_table(
        "audit_log",
        _firm(),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("detail", pg.JSONB, nullable=False),
        _now("at"),
        sa.PrimaryKeyConstraint("firm_id", "seq"),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "period_lock_changes",
        "breaches",
        "exceptions",
        "events_before_setup",
        "held_postings",
        "supplier_invoice_payments",
        "supplier_invoices",
        "bill_allocations",
        "bills",
        "source_keys",
        "seen_versions",
        "live_postings",
        "balances",
        "journal_lines",
        "journals",
        "practice_areas",
        "matters",
        "clients",
        "bank_accounts",
        "accounts",
        "firms",
    ):
        op.drop_table(table)
