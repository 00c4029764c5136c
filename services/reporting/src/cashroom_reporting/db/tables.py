"""The reporting service's tables, in its own schema (search_path).

Three kinds of table:

- **configuration** a cashier or an administrator gives (firm profile, declared chart of
  accounts): kept by a rebuild;
- **facts** copied from the events (journals and their lines, clients, matters, bills, exceptions,
  reconciliations, Clio records ...): dropped and re-read from the topics by a rebuild;
- **aggregates** derived from the facts (daily balance deltas with cumulative sums, current
  balances, sub-ledger items, VAT by day, sync totals): maintained incrementally by the handlers
  and recomputable from the facts in SQL (``db/recompute.py``).

Money columns are integer minor units (``BigInteger``) with the currency beside them.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
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
CODE = String(32)
CURRENCY = String(3)


def _firm() -> Column[str]:
    return Column("firm_id", FIRM, primary_key=True)


# --- configuration and bookkeeping ----------------------------------------------------------

firms = Table(
    "firms",
    metadata,
    _firm(),
    Column("name", Text, nullable=True, comment="From the firm profile (admin API)."),
    Column("books_currency", CURRENCY, nullable=True, comment="Currency of its first journal."),
    Column("jurisdiction", String(2), nullable=True, comment="ie or ew (the firm profile)."),
    Column("rebuilding", Boolean, nullable=False, server_default=text("false")),
    Column("rebuild_started_at", DateTime(timezone=True), nullable=True),
    Column("rebuild_finished_at", DateTime(timezone=True), nullable=True),
    Column("rebuild_events", BigInteger, nullable=True),
    Column("rebuild_error", Text, nullable=True),
)

positions = Table(
    "positions",
    metadata,
    _firm(),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False, comment="Offset of the firm's last event seen."),
    Column("event_time", DateTime(timezone=True), nullable=False),
)

chart_accounts = Table(
    "chart_accounts",
    metadata,
    _firm(),
    Column("code", CODE, primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("role", String(40), nullable=True),
)

replay_seen = Table(
    "replay_seen",
    metadata,
    _firm(),
    Column("event_id", Uuid, primary_key=True),
)

# --- facts: who and what ---------------------------------------------------------------------

clients = Table(
    "clients",
    metadata,
    _firm(),
    Column("client_id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("email", Text, nullable=True),
)

matters = Table(
    "matters",
    metadata,
    _firm(),
    Column("matter_id", BigInteger, primary_key=True),
    Column("client_id", BigInteger, nullable=False),
    Column("reference", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("matter_type", Text, nullable=False),
    Column("opened_on", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("fee_earner", Text, nullable=True),
)

bank_accounts = Table(
    "bank_accounts",
    metadata,
    _firm(),
    Column("bank_account_id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("is_default_client_account", Boolean, nullable=False),
)

bank_nominals = Table(
    "bank_nominals",
    metadata,
    _firm(),
    Column("bank_account_id", BigInteger, primary_key=True),
    Column("account_code", CODE, primary_key=True),
)

# --- facts: the journal ----------------------------------------------------------------------

journals = Table(
    "journals",
    metadata,
    _firm(),
    Column("journal_id", Uuid, primary_key=True),
    Column("posted_on", Date, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("narrative", Text, nullable=False),
    Column("source_system", String(64), nullable=False),
    Column("source_type", String(64), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("source_version", String(128), nullable=True),
    Column("reverses_journal_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("entered_by", Text, nullable=True),
    Column("event_id", Uuid, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Index("journals_by_source", "firm_id", "source_system", "source_type", "source_id"),
)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("seq", BigInteger, Identity(always=False), primary_key=True),
    Column("firm_id", FIRM, nullable=False),
    Column("journal_id", Uuid, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("account_code", CODE, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("side", String(8), nullable=True),
    Column("bank_account_id", BigInteger, nullable=True),
    Column("vat_code", String(40), nullable=True),
    Column("narrative", Text, nullable=True),
    Column("item_key", Text, nullable=True, comment="Sub-ledger item (bill, invoice ...)."),
    Index("journal_lines_by_journal", "firm_id", "journal_id", "line_no", unique=True),
    Index(
        "journal_lines_by_matter",
        "firm_id",
        "matter_id",
        "posted_on",
        "seq",
        postgresql_where=text("matter_id IS NOT NULL"),
    ),
    Index("journal_lines_by_account", "firm_id", "account_code", "posted_on", "seq"),
    Index(
        "journal_lines_by_item",
        "firm_id",
        "account_code",
        "item_key",
        "posted_on",
        postgresql_where=text("item_key IS NOT NULL"),
    ),
    Index(
        "journal_lines_by_vat_code",
        "firm_id",
        "vat_code",
        "posted_on",
        postgresql_where=text("vat_code IS NOT NULL"),
    ),
)

# --- aggregates: balances --------------------------------------------------------------------


def _daily(name: str, *keys: Column[Any]) -> Table:
    """Movements of one day for one key, with the cumulative sums through that day: the balance
    as of any date is the cumulative sum of the last row on or before it (one index lookup)."""
    return Table(
        name,
        metadata,
        _firm(),
        *keys,
        Column("currency", CURRENCY, primary_key=True),
        Column("day", Date, primary_key=True),
        Column("debit", BigInteger, nullable=False),
        Column("credit", BigInteger, nullable=False),
        Column("cum_debit", BigInteger, nullable=False),
        Column("cum_credit", BigInteger, nullable=False),
    )


def _current(name: str, *keys: Column[Any]) -> Table:
    """The balance of each key after every movement so far, with its first and last dates."""
    return Table(
        name,
        metadata,
        _firm(),
        *keys,
        Column("currency", CURRENCY, primary_key=True),
        Column("debit_total", BigInteger, nullable=False),
        Column("credit_total", BigInteger, nullable=False),
        Column("first_movement_on", Date, nullable=False),
        Column("last_movement_on", Date, nullable=False),
    )


account_daily = Table(
    "account_daily",
    metadata,
    _firm(),
    Column("account_code", CODE, primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
)
"""A nominal's movements of one day. No cumulative sums: a nominal moves on most days, and a
back-dated journal would move every later day's (about a thousand rows over three years); the
balance on a date is its month's checkpoint before it plus the days of its own month."""
account_monthly = Table(
    "account_monthly",
    metadata,
    _firm(),
    Column("account_code", CODE, primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("month", Date, primary_key=True, comment="The month's first day."),
    Column("debit", BigInteger, nullable=False, comment="The month's movements."),
    Column("credit", BigInteger, nullable=False),
    Column("cum_debit", BigInteger, nullable=False, comment="Through the month's last day."),
    Column("cum_credit", BigInteger, nullable=False),
)
"""A nominal's checkpoint at the end of each month it moved: a back-dated journal moves its own
month's row and each later one (at most twelve a year)."""
account_balances = _current("account_balances", Column("account_code", CODE, primary_key=True))
matter_daily = _daily(
    "matter_daily",
    Column("matter_id", BigInteger, primary_key=True),
    Column("side", String(8), primary_key=True),
    Column("account_code", CODE, primary_key=True),
)
matter_balances = _current(
    "matter_balances",
    Column("matter_id", BigInteger, primary_key=True),
    Column("side", String(8), primary_key=True),
    Column("account_code", CODE, primary_key=True),
)

matter_spans = Table(
    "matter_spans",
    metadata,
    _firm(),
    Column("matter_id", BigInteger, primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("from_day", Date, primary_key=True, comment="A day the matter moved."),
    Column("to_day", Date, nullable=True, comment="The matter's next movement; null: none yet."),
    Column("client", BigInteger, nullable=False, comment="Client side, credit positive."),
    Column(
        "office",
        JSONB,
        nullable=False,
        comment="Office side per nominal, debit positive; nominals at zero left out.",
    ),
    Column(
        "office_total",
        BigInteger,
        nullable=False,
        comment="The office side over every nominal, debit positive (the sum of office).",
    ),
    Column("client_last_on", Date, nullable=True, comment="Last client-side movement so far."),
    Column("live", Boolean, nullable=False, comment="Any balance not zero."),
    Index(
        "matter_spans_live",
        text("daterange(from_day, to_day)"),
        postgresql_using="gist",
        postgresql_where=text("live"),
    ),
)
"""A matter's whole ledger from one day it moved until the next (``from_day`` inclusive to
``to_day`` exclusive): the matters with a balance on any date are the live spans containing it,
one index search (the client listing, dormant balances, breach register), whatever the date."""

vat_daily = Table(
    "vat_daily",
    metadata,
    _firm(),
    Column("vat_code", String(40), primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
)

ledger_items = Table(
    "ledger_items",
    metadata,
    _firm(),
    Column("account_code", CODE, primary_key=True),
    Column("item_key", Text, primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("matter_id", BigInteger, nullable=True),
    Column("opened_on", Date, nullable=False),
    Column("debit_total", BigInteger, nullable=False),
    Column("credit_total", BigInteger, nullable=False),
    Column("last_movement_on", Date, nullable=False),
    Column(
        "closed_on",
        Date,
        nullable=True,
        comment="The last movement's date when the item is settled (balance 0), else null.",
    ),
    Index("ledger_items_open", "firm_id", "account_code", "closed_on"),
)

item_spans = Table(
    "item_spans",
    metadata,
    _firm(),
    Column("account_code", CODE, primary_key=True),
    Column("item_key", Text, primary_key=True),
    Column("currency", CURRENCY, primary_key=True),
    Column("from_day", Date, primary_key=True, comment="A day the item moved."),
    Column("to_day", Date, nullable=True, comment="The item's next movement; null: none yet."),
    Column("debit", BigInteger, nullable=False, comment="Cumulative through from_day."),
    Column("credit", BigInteger, nullable=False, comment="Cumulative through from_day."),
    Column("matter_id", BigInteger, nullable=True, comment="As on ledger_items."),
    Column("opened_on", Date, nullable=False, comment="As on ledger_items."),
    Column("live", Boolean, nullable=False, comment="Balance not zero."),
    Column(
        "dated",
        Date,
        nullable=True,
        comment="The item's own date, once its Clio record is here (a bill's issue date, a "
        "supplier invoice's date): what it is aged by; null: aged from opened_on.",
    ),
    Index(
        "item_spans_live",
        text("daterange(from_day, to_day)"),
        postgresql_using="gist",
        postgresql_where=text("live"),
    ),
)
"""An item's balance from one day it moved until the next (``from_day`` inclusive to ``to_day``
exclusive): the items owing on any date (aged debtors, aged creditors) are the live spans
containing it, one index search with their balance then, whatever the date."""

source_links = Table(
    "source_links",
    metadata,
    _firm(),
    Column("object_type", String(64), primary_key=True),
    Column("object_id", String(128), primary_key=True),
    Column("item_key", Text, nullable=False),
)

# --- facts: bills, purchase invoices, work ---------------------------------------------------

bills = Table(
    "bills",
    metadata,
    _firm(),
    Column("bill_id", BigInteger, primary_key=True),
    Column("bill_number", Text, nullable=False),
    Column("matter_id", BigInteger, nullable=False),
    Column("client_id", BigInteger, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=True),
    Column("currency", CURRENCY, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("disbursements", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("voided_on", Date, nullable=True),
    Index("bills_by_matter", "firm_id", "matter_id", "issued_on"),
)

purchase_invoices = Table(
    "purchase_invoices",
    metadata,
    _firm(),
    Column("invoice_id", BigInteger, primary_key=True),
    Column("supplier", Text, nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("invoiced_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("vat", BigInteger, nullable=False),
    Column("vat_treatment", String(20), nullable=False),
)

work_entries = Table(
    "work_entries",
    metadata,
    _firm(),
    Column("activity_id", BigInteger, primary_key=True),
    Column("matter_id", BigInteger, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("billed", Boolean, nullable=False),
    Column("fee_earner", Text, nullable=True),
    Index("work_entries_unbilled", "firm_id", "matter_id", postgresql_where=text("NOT billed")),
)

# --- facts: exceptions, breaches, reconciliations, locks -------------------------------------

exceptions = Table(
    "exceptions",
    metadata,
    _firm(),
    Column("exception_id", Uuid, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("matter_id", BigInteger, nullable=True),
    Column("raised_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("detail", Text, nullable=False),
    Column("resolution", String(40), nullable=True),
    Column("resolved_by", Text, nullable=True),
    Column("resolution_reason", Text, nullable=True),
    Column("resolved_on", Date, nullable=True),
)

breaches = Table(
    "breaches",
    metadata,
    _firm(),
    Column("breach_id", Uuid, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("detected_on", Date, nullable=False),
    Column("detail", Text, nullable=False),
    Column("last_reconciled_on", Date, nullable=True),
)

reconciliations = Table(
    "reconciliations",
    metadata,
    _firm(),
    Column("reconciliation_id", Uuid, primary_key=True),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("account_kind", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("statement_balance", BigInteger, nullable=False),
    Column("adjusted_bank_balance", BigInteger, nullable=False),
    Column("cashbook_balance", BigInteger, nullable=False),
    Column("client_ledgers_total", BigInteger, nullable=True),
    Column("signed_by", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

statements = Table(
    "statements",
    metadata,
    _firm(),
    Column("statement_id", Uuid, primary_key=True),
    Column("bank_account_id", BigInteger, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", CURRENCY, nullable=True),
    Column("opening_balance", BigInteger, nullable=True, comment="None: the bank stated none."),
    Column("closing_balance", BigInteger, nullable=True),
    Column("lines_new", Integer, nullable=False),
)

period_locks = Table(
    "period_locks",
    metadata,
    _firm(),
    Column("bank_account_id", BigInteger, primary_key=True, comment="0: every account."),
    Column("locked_through", Date, nullable=True),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

# --- facts and aggregates: the Clio sync -----------------------------------------------------

clio_records = Table(
    "clio_records",
    metadata,
    _firm(),
    Column("object_type", String(64), primary_key=True),
    Column("object_id", String(128), primary_key=True),
    Column("synced", Boolean, nullable=False, comment="False until a Clio event for it arrives."),
    Column("event_type", String(64), nullable=True),
    Column("version", String(128), nullable=True),
    Column("versions", Integer, nullable=False),
    Column("currency", CURRENCY, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("deleted", Boolean, nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("outcome_reason", Text, nullable=True),
    Column("last_synced_at", DateTime(timezone=True), nullable=True),
)

sync_totals = Table(
    "sync_totals",
    metadata,
    _firm(),
    Column("object_type", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True, comment="'' for records without money."),
    Column("records", BigInteger, nullable=False),
    Column("versions", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("deleted", BigInteger, nullable=False),
    Column("posted", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("last_synced_at", DateTime(timezone=True), nullable=True),
)

sync_comparison = Table(
    "sync_comparison",
    metadata,
    _firm(),
    Column("object_type", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True, comment="'' for records without money."),
    Column("sync_id", Uuid, nullable=False, comment="the sync whose end this compares"),
    Column("sync_kind", String(16), nullable=False),
    Column("sync_finished_at", DateTime(timezone=True), nullable=False),
    Column("in_clio", BigInteger, nullable=False, comment="as the connector last read Clio"),
    Column("deleted_in_clio", BigInteger, nullable=False),
    Column("skipped", BigInteger, nullable=False),
    Column("awaiting_review", BigInteger, nullable=False),
    Column("published", BigInteger, nullable=False, comment="what the connector sent"),
    Column("published_deleted", BigInteger, nullable=False),
    Column("published_amount", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, comment="what reached the reports"),
    Column("received_deleted", BigInteger, nullable=False),
    Column("received_amount", BigInteger, nullable=False),
)
"""Each firm's last ``clio.sync.completed`` beside what the reports had received at that
event (the same offset): one row per Clio object type and currency, replaced by the next."""

# --- facts: the audit trail ------------------------------------------------------------------

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, Identity(always=False), primary_key=True),
    Column("firm_id", FIRM, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(40), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("source_ref", Text, nullable=True),
    Column("summary", Text, nullable=False),
    Index("audit_log_by_time", "firm_id", "occurred_at", "event_id"),
)

FACT_TABLES = (
    positions,
    clients,
    matters,
    bank_accounts,
    bank_nominals,
    journals,
    journal_lines,
    source_links,
    bills,
    purchase_invoices,
    work_entries,
    exceptions,
    breaches,
    reconciliations,
    statements,
    period_locks,
    clio_records,
    sync_comparison,
    audit_log,
)
AGGREGATE_TABLES = (
    account_daily,
    account_monthly,
    account_balances,
    matter_daily,
    matter_balances,
    matter_spans,
    vat_daily,
    ledger_items,
    item_spans,
    sync_totals,
)
READ_MODEL_TABLES = FACT_TABLES + AGGREGATE_TABLES
"""Everything a rebuild drops for a firm and re-reads from the topics."""
