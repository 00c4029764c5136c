"""The read models: facts copied from the events, and the aggregates the reports read
(daily balance deltas with cumulative sums, current balances, sub-ledger items, VAT by day, sync
totals), plus the firm profile and the declared chart of accounts."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "account_balances",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_total", sa.BigInteger(), nullable=False),
        sa.Column("credit_total", sa.BigInteger(), nullable=False),
        sa.Column("first_movement_on", sa.Date(), nullable=False),
        sa.Column("last_movement_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "account_code", "currency"),
    )
    op.create_table(
        "account_daily",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("cum_debit", sa.BigInteger(), nullable=False),
        sa.Column("cum_credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "account_code", "currency", "day"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        "audit_log_by_time", "audit_log", ["firm_id", "occurred_at", "event_id"], unique=False
    )
    op.create_table(
        "bank_accounts",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_default_client_account", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "bank_account_id"),
    )
    op.create_table(
        "bank_nominals",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "bank_account_id", "account_code"),
    )
    op.create_table(
        "bills",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("bill_id", sa.BigInteger(), nullable=False),
        sa.Column("bill_number", sa.Text(), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("disbursements", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("voided_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "bill_id"),
    )
    op.create_table(
        "breaches",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("breach_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("last_reconciled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "breach_id"),
    )
    op.create_table(
        "chart_accounts",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "code"),
    )
    op.create_table(
        "clients",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "client_id"),
    )
    op.create_table(
        "clio_records",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column(
            "synced",
            sa.Boolean(),
            nullable=False,
            comment="False until a Clio event for it arrives.",
        ),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=True),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "object_id"),
    )
    op.create_table(
        "exceptions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("exception_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolution", sa.String(length=40), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "exception_id"),
    )
    op.create_table(
        "firms",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True, comment="From the firm profile (admin API)."),
        sa.Column(
            "books_currency",
            sa.String(length=3),
            nullable=True,
            comment="Currency of its first journal.",
        ),
        sa.Column("rebuilding", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rebuild_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rebuild_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rebuild_events", sa.BigInteger(), nullable=True),
        sa.Column("rebuild_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id"),
    )
    op.create_table(
        "journal_lines",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("journal_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=True),
        sa.Column("vat_code", sa.String(length=40), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column(
            "item_key", sa.Text(), nullable=True, comment="Sub-ledger item (bill, invoice ...)."
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        "journal_lines_by_account",
        "journal_lines",
        ["firm_id", "account_code", "posted_on", "seq"],
        unique=False,
    )
    op.create_index(
        "journal_lines_by_item",
        "journal_lines",
        ["firm_id", "account_code", "item_key", "posted_on"],
        unique=False,
        postgresql_where=sa.text("item_key IS NOT NULL"),
    )
    op.create_index(
        "journal_lines_by_journal",
        "journal_lines",
        ["firm_id", "journal_id", "line_no"],
        unique=True,
    )
    op.create_index(
        "journal_lines_by_matter",
        "journal_lines",
        ["firm_id", "matter_id", "posted_on", "seq"],
        unique=False,
        postgresql_where=sa.text("matter_id IS NOT NULL"),
    )
    op.create_index(
        "journal_lines_by_vat_code",
        "journal_lines",
        ["firm_id", "vat_code", "posted_on"],
        unique=False,
        postgresql_where=sa.text("vat_code IS NOT NULL"),
    )
    op.create_table(
        "journals",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("journal_id", sa.Uuid(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("source_version", sa.String(length=128), nullable=True),
        sa.Column("reverses_journal_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "journal_id"),
    )
    op.create_index(
        "journals_by_source",
        "journals",
        ["firm_id", "source_system", "source_type", "source_id"],
        unique=False,
    )
    op.create_table(
        "ledger_items",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("debit_total", sa.BigInteger(), nullable=False),
        sa.Column("credit_total", sa.BigInteger(), nullable=False),
        sa.Column("last_movement_on", sa.Date(), nullable=False),
        sa.Column(
            "closed_on",
            sa.Date(),
            nullable=True,
            comment="The last movement's date when the item is settled (balance 0), else null.",
        ),
        sa.PrimaryKeyConstraint("firm_id", "account_code", "item_key", "currency"),
    )
    op.create_index(
        "ledger_items_open", "ledger_items", ["firm_id", "account_code", "closed_on"], unique=False
    )
    op.create_table(
        "matter_balances",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_total", sa.BigInteger(), nullable=False),
        sa.Column("credit_total", sa.BigInteger(), nullable=False),
        sa.Column("first_movement_on", sa.Date(), nullable=False),
        sa.Column("last_movement_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "matter_id", "side", "account_code", "currency"),
    )
    op.create_table(
        "matter_daily",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("cum_debit", sa.BigInteger(), nullable=False),
        sa.Column("cum_credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "matter_id", "side", "account_code", "currency", "day"),
    )
    op.create_table(
        "matters",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("matter_type", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("fee_earner", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "matter_id"),
    )
    op.create_table(
        "period_locks",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False, comment="0: every account."),
        sa.Column("locked_through", sa.Date(), nullable=True),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "bank_account_id"),
    )
    op.create_table(
        "positions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column(
            "offset",
            sa.BigInteger(),
            nullable=False,
            comment="Offset of the firm's last event seen.",
        ),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "topic", "partition"),
    )
    op.create_table(
        "purchase_invoices",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("supplier", sa.Text(), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=True),
        sa.Column("invoiced_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("vat_treatment", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "invoice_id"),
    )
    op.create_table(
        "reconciliations",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("reconciliation_id", sa.Uuid(), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("account_kind", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("statement_balance", sa.BigInteger(), nullable=False),
        sa.Column("adjusted_bank_balance", sa.BigInteger(), nullable=False),
        sa.Column("cashbook_balance", sa.BigInteger(), nullable=False),
        sa.Column("client_ledgers_total", sa.BigInteger(), nullable=True),
        sa.Column("signed_by", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "reconciliation_id"),
    )
    op.create_table(
        "replay_seen",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "event_id"),
    )
    op.create_table(
        "source_links",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "object_id"),
    )
    op.create_table(
        "statements",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("bank_account_id", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_balance", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=False),
        sa.Column("lines_new", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "statement_id"),
    )
    op.create_table(
        "sync_totals",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column(
            "currency", sa.String(length=3), nullable=False, comment="'' for records without money."
        ),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("versions", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "object_type", "currency"),
    )
    op.create_table(
        "vat_daily",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("vat_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "vat_code", "currency", "day"),
    )
    op.create_table(
        "work_entries",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("billed", sa.Boolean(), nullable=False),
        sa.Column("fee_earner", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("firm_id", "activity_id"),
    )
    op.create_index(
        "work_entries_unbilled",
        "work_entries",
        ["firm_id", "matter_id"],
        unique=False,
        postgresql_where=sa.text("NOT billed"),
    )


def downgrade() -> None:
    op.drop_index(
        "work_entries_unbilled", table_name="work_entries", postgresql_where=sa.text("NOT billed")
    )
    op.drop_table("work_entries")
    op.drop_table("vat_daily")
    op.drop_table("sync_totals")
    op.drop_table("statements")
    op.drop_table("source_links")
    op.drop_table("replay_seen")
    op.drop_table("reconciliations")
    op.drop_table("purchase_invoices")
    op.drop_table("positions")
    op.drop_table("period_locks")
    op.drop_table("matters")
    op.drop_table("matter_daily")
    op.drop_table("matter_balances")
    op.drop_index("ledger_items_open", table_name="ledger_items")
    op.drop_table("ledger_items")
    op.drop_index("journals_by_source", table_name="journals")
    op.drop_table("journals")
    op.drop_index(
        "journal_lines_by_vat_code",
        table_name="journal_lines",
        postgresql_where=sa.text("vat_code IS NOT NULL"),
    )
    op.drop_index(
        "journal_lines_by_matter",
        table_name="journal_lines",
        postgresql_where=sa.text("matter_id IS NOT NULL"),
    )
    op.drop_index("journal_lines_by_journal", table_name="journal_lines")
    op.drop_index(
        "journal_lines_by_item",
        table_name="journal_lines",
        postgresql_where=sa.text("item_key IS NOT NULL"),
    )
    op.drop_index("journal_lines_by_account", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_table("firms")
    op.drop_table("exceptions")
    op.drop_table("clio_records")
    op.drop_table("clients")
    op.drop_table("chart_accounts")
    op.drop_table("breaches")
    op.drop_table("bills")
    op.drop_table("bank_nominals")
    op.drop_table("bank_accounts")
    op.drop_index("audit_log_by_time", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("account_daily")
    op.drop_table("account_balances")
