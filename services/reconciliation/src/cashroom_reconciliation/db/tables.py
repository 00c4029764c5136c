"""The reconciliation service's tables, in its own schema (search_path). Every row carries its
firm; no query reads across firms.

- ``bank_accounts``: the firm's bank accounts as the ledger (bank nominals) and Clio (names,
  kinds, last four digits) describe them, plus the account identification the first statement
  pinned and the CSV column mapping last used.
- ``cashbook_entries``: the cashbook mirror, one row per journal line on a bank nominal.
- ``statements`` and ``statement_lines``: every import, and every bank line once per account
  (its bank id is unique per account, so a re-import never duplicates it).
- ``matches`` with ``match_lines`` and ``match_entries``: which rule or cashier matched what.
  An undone match keeps its header row (who, when, why) and loses its link rows, so a line or
  entry is in at most one live match (unique keys on the link rows).
- ``reconciliations``: signed reconciliation statements (figures, who, when).
- ``breaches``: raised once each (``dedupe_key``).
- ``firm_settings``: the jurisdiction whose cadence applies.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from cashroom_chassis.messaging_tables import add_messaging_tables

metadata = MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)

FIRM = 64

bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("firm_id", String(FIRM), primary_key=True),
    Column("bank_account_id", BigInteger, primary_key=True),
    Column("kind", String(10), nullable=True),  # office | client
    Column("currency", String(3), nullable=True),
    Column("nominal_code", String(20), nullable=True),
    Column("known_to_ledger", Boolean, nullable=False, server_default=text("false")),
    Column("name", String(300), nullable=True),
    Column("account_number_last4", String(8), nullable=True),
    Column("iban", String(40), nullable=True),
    Column("account_number", String(40), nullable=True),
    Column("bank_code", String(40), nullable=True),
    Column("csv_mapping", JSONB, nullable=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

cashbook_entries = Table(
    "cashbook_entries",
    metadata,
    Column("firm_id", String(FIRM), primary_key=True),
    Column("entry_id", String(80), primary_key=True),  # journal id ":" line index
    Column("bank_account_id", BigInteger, nullable=False),
    Column("journal_id", Uuid, nullable=False),
    Column("line_index", Integer, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # debit positive (money in)
    Column("currency", String(3), nullable=False),
    Column("reference", Text, nullable=False),
    Column("journal_kind", String(60), nullable=False),
    Column("account_code", String(20), nullable=False),
    Column("reverses_journal_id", Uuid, nullable=True),
    Column("contra_entry_id", String(80), nullable=True),  # the entry it reverses, or reverses it
    Column("event_id", Uuid, nullable=False),
    Column("mirrored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("cashbook_by_account_date", "firm_id", "bank_account_id", "posted_on"),
    Index("cashbook_by_journal", "firm_id", "journal_id"),
)

statements = Table(
    "statements",
    metadata,
    Column("statement_id", Uuid, primary_key=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("file_format", String(10), nullable=False),
    Column("file_name", String(300), nullable=True),
    Column("file_sha256", String(64), nullable=False),
    Column("statement_number", String(100), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("opening_stated_minor", BigInteger, nullable=True),
    Column("closing_stated_minor", BigInteger, nullable=True),
    Column("opening_minor", BigInteger, nullable=True),  # stated, else carried forward
    Column("closing_minor", BigInteger, nullable=True),
    Column("account_iban", String(40), nullable=True),
    Column("account_number", String(40), nullable=True),
    Column("account_bank_code", String(40), nullable=True),
    Column("lines_total", Integer, nullable=False),
    Column("lines_new", Integer, nullable=False),
    Column("lines_already_known", Integer, nullable=False),
    Column("lines_pending", Integer, nullable=False),
    Column("breaks", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("firm_id", "bank_account_id", "file_sha256", name="statements_file_once"),
    Index("statements_by_account", "firm_id", "bank_account_id", "period_end"),
)

statement_lines = Table(
    "statement_lines",
    metadata,
    Column("line_pk", BigInteger, Identity(always=True), primary_key=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("bank_id", String(200), nullable=False),
    Column("bank_id_source", String(40), nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", Text, nullable=False),
    Column("reference", Text, nullable=True),
    Column("counterparty", Text, nullable=True),
    Column("location", Text, nullable=False),
    Column(
        "statement_id", Uuid, ForeignKey("statements.statement_id"), nullable=False
    ),  # the import that brought it first
    UniqueConstraint("firm_id", "bank_account_id", "bank_id", name="statement_lines_bank_id_once"),
    Index("statement_lines_by_date", "firm_id", "bank_account_id", "booking_date"),
)

matches = Table(
    "matches",
    metadata,
    Column("match_id", Uuid, primary_key=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("rule", String(40), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("settled_on", Date, nullable=False),
    Column("line_ids", JSONB, nullable=False),  # bank ids, kept after an unmatch for the record
    Column("entry_ids", JSONB, nullable=False),
    Column("made_by", String(200), nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("unmatched_at", DateTime(timezone=True), nullable=True),
    Column("unmatched_by", String(200), nullable=True),
    Column("unmatch_reason", Text, nullable=True),
    Index("matches_by_account", "firm_id", "bank_account_id", "made_at"),
)

match_lines = Table(
    "match_lines",
    metadata,
    Column("match_id", Uuid, ForeignKey("matches.match_id"), nullable=False, index=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("bank_id", String(200), nullable=False),
    UniqueConstraint("firm_id", "bank_account_id", "bank_id", name="match_lines_line_once"),
)

match_entries = Table(
    "match_entries",
    metadata,
    Column("match_id", Uuid, ForeignKey("matches.match_id"), nullable=False, index=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("entry_id", String(80), nullable=False),
    UniqueConstraint("firm_id", "entry_id", name="match_entries_entry_once"),
)

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("reconciliation_id", Uuid, primary_key=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("account_kind", String(10), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("statement_balance_minor", BigInteger, nullable=False),
    Column("outstanding_lodgements_minor", BigInteger, nullable=False),
    Column("unpresented_payments_minor", BigInteger, nullable=False),
    Column("adjusted_bank_balance_minor", BigInteger, nullable=False),
    Column("cashbook_balance_minor", BigInteger, nullable=False),
    Column("client_ledgers_total_minor", BigInteger, nullable=True),
    Column("statement_id", Uuid, nullable=False),
    Column("signed_by", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("reopened_at", DateTime(timezone=True), nullable=True),  # the ledger unlocked it
    Column("reopened_by", String(200), nullable=True),
    Column("reopen_reason", Text, nullable=True),
    Index(
        "reconciliations_signed_once",
        "firm_id",
        "bank_account_id",
        "as_of",
        unique=True,
        postgresql_where=text("reopened_at IS NULL"),
    ),
)

breaches = Table(
    "breaches",
    metadata,
    Column("breach_id", Uuid, primary_key=True),
    Column("firm_id", String(FIRM), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("detected_on", Date, nullable=False),
    Column("detail", Text, nullable=False),
    Column("last_reconciled_on", Date, nullable=True),
    Column("due_by", Date, nullable=True),
    Column("dedupe_key", String(300), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("firm_id", "dedupe_key", name="breaches_raised_once"),
    Index("breaches_by_firm", "firm_id", "detected_on"),
)

firm_settings = Table(
    "firm_settings",
    metadata,
    Column("firm_id", String(FIRM), primary_key=True),
    Column("jurisdiction", String(10), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
