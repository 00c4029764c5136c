"""Bank accounts, the cashbook mirror, statements and their lines, matches, signed
reconciliations, breaches and the firm's jurisdiction (see db/tables.py)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"

FIRM = 64


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("nominal_code", sa.String(20), nullable=True),
        sa.Column("known_to_ledger", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("account_number_last4", sa.String(8), nullable=True),
        sa.Column("iban", sa.String(40), nullable=True),
        sa.Column("account_number", sa.String(40), nullable=True),
        sa.Column("bank_code", sa.String(40), nullable=True),
        sa.Column("csv_mapping", postgresql.JSONB(), nullable=True),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("firm_id", "bank_account_id"),
    )
    op.create_table(
        "cashbook_entries",
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("journal_id", sa.Uuid(), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("journal_kind", sa.String(60), nullable=False),
        sa.Column("account_code", sa.String(20), nullable=False),
        sa.Column("reverses_journal_id", sa.Uuid(), nullable=True),
        sa.Column("contra_entry_id", sa.String(80), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "mirrored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("firm_id", "entry_id"),
    )
    op.create_index(
        "cashbook_by_account_date",
        "cashbook_entries",
        ["firm_id", "bank_account_id", "posted_on"],
    )
    op.create_index("cashbook_by_journal", "cashbook_entries", ["firm_id", "journal_id"])
    op.create_table(
        "statements",
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("statement_number", sa.String(100), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("opening_stated_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_stated_minor", sa.BigInteger(), nullable=True),
        sa.Column("opening_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=True),
        sa.Column("account_iban", sa.String(40), nullable=True),
        sa.Column("account_number", sa.String(40), nullable=True),
        sa.Column("account_bank_code", sa.String(40), nullable=True),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_new", sa.Integer(), nullable=False),
        sa.Column("lines_already_known", sa.Integer(), nullable=False),
        sa.Column("lines_pending", sa.Integer(), nullable=False),
        sa.Column(
            "breaks", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.Column(
            "imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("statement_id"),
        sa.UniqueConstraint(
            "firm_id", "bank_account_id", "file_sha256", name="statements_file_once"
        ),
    )
    op.create_index(
        "statements_by_account", "statements", ["firm_id", "bank_account_id", "period_end"]
    )
    op.create_table(
        "statement_lines",
        sa.Column("line_pk", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_id", sa.String(200), nullable=False),
        sa.Column("bank_id_source", sa.String(40), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("counterparty", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.statement_id"]),
        sa.PrimaryKeyConstraint("line_pk"),
        sa.UniqueConstraint(
            "firm_id", "bank_account_id", "bank_id", name="statement_lines_bank_id_once"
        ),
    )
    op.create_index(
        "statement_lines_by_date",
        "statement_lines",
        ["firm_id", "bank_account_id", "booking_date"],
    )
    op.create_table(
        "matches",
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("line_ids", postgresql.JSONB(), nullable=False),
        sa.Column("entry_ids", postgresql.JSONB(), nullable=False),
        sa.Column("made_by", sa.String(200), nullable=False),
        sa.Column(
            "made_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("unmatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unmatched_by", sa.String(200), nullable=True),
        sa.Column("unmatch_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("match_id"),
    )
    op.create_index("matches_by_account", "matches", ["firm_id", "bank_account_id", "made_at"])
    op.create_table(
        "match_lines",
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.match_id"]),
        sa.UniqueConstraint("firm_id", "bank_account_id", "bank_id", name="match_lines_line_once"),
    )
    op.create_index("ix_match_lines_match_id", "match_lines", ["match_id"])
    op.create_table(
        "match_entries",
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.match_id"]),
        sa.UniqueConstraint("firm_id", "entry_id", name="match_entries_entry_once"),
    )
    op.create_index("ix_match_entries_match_id", "match_entries", ["match_id"])
    op.create_table(
        "reconciliations",
        sa.Column("reconciliation_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("account_kind", sa.String(10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("statement_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_lodgements_minor", sa.BigInteger(), nullable=False),
        sa.Column("unpresented_payments_minor", sa.BigInteger(), nullable=False),
        sa.Column("adjusted_bank_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("cashbook_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("client_ledgers_total_minor", sa.BigInteger(), nullable=True),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.String(200), nullable=True),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("reconciliation_id"),
    )
    op.create_index(
        "reconciliations_signed_once",
        "reconciliations",
        ["firm_id", "bank_account_id", "as_of"],
        unique=True,
        postgresql_where=sa.text("reopened_at IS NULL"),
    )
    op.create_table(
        "breaches",
        sa.Column("breach_id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("last_reconciled_on", sa.Date(), nullable=True),
        sa.Column("due_by", sa.Date(), nullable=True),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("breach_id"),
        sa.UniqueConstraint("firm_id", "dedupe_key", name="breaches_raised_once"),
    )
    op.create_index("breaches_by_firm", "breaches", ["firm_id", "detected_on"])
    op.create_table(
        "firm_settings",
        sa.Column("firm_id", sa.String(FIRM), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("firm_id"),
    )


def downgrade() -> None:
    for table in (
        "firm_settings",
        "breaches",
        "reconciliations",
        "match_entries",
        "match_lines",
        "matches",
        "statement_lines",
        "statements",
        "cashbook_entries",
        "bank_accounts",
    ):
        op.drop_table(table)
