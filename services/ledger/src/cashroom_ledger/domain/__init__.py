"""The ledger's pure domain: no I/O, no clock. Read top-down:

* ``accounts``       the chart of accounts, its roles and templates (E&W, Ireland), edit checks;
* ``reference``      clients, matters, bank accounts mirrored from Clio;
* ``journals``       immutable, balanced journals and their lines (sub-ledger tags, VAT tags);
* ``posting_rules``  one pure function per Clio event: event + state -> decision;
* ``manual``         the cashier's own entries, posted by the same rules;
* ``decisions``      Post / Hold / Reject / Refer, and the view of the books a rule may read;
* ``invariants``     the accounts rules (I-1, I-3, I-4, I-5, I-10, I-13) as pure checks;
* ``balances``       dated cumulative balances (and how the database mirrors them);
* ``state``          what the books remember, behind one interface (in memory or in a database);
* ``ledger``         the aggregate that applies decisions, all or nothing;
* ``outcomes`` / ``publishing``  what happened, and the ``ledger.events.v1`` payloads for it.
"""

from cashroom_ledger.domain.accounts import (
    Account,
    AccountRole,
    AccountType,
    ChartError,
    ChartOfAccounts,
    Jurisdiction,
    chart_problems,
    chart_template,
    deletion_problems,
    england_and_wales_chart,
    ireland_chart,
    new_account,
)
from cashroom_ledger.domain.balances import BalanceKey, DatedSeries
from cashroom_ledger.domain.decisions import (
    Decision,
    Hold,
    HoldReason,
    LedgerView,
    Post,
    PostingKey,
    Refer,
    Reject,
    RejectReason,
)
from cashroom_ledger.domain.journals import Entry, Journal, JournalKind, Line, VatTag
from cashroom_ledger.domain.ledger import Ledger, LedgerError, PendingPosting
from cashroom_ledger.domain.manual import (
    BankTransferEntry,
    ManualEntry,
    OfficePaymentEntry,
    SupplierInvoiceEntry,
    SupplierInvoicePaymentEntry,
)
from cashroom_ledger.domain.outcomes import (
    AlreadyApplied,
    Breach,
    ExceptionRaised,
    ExceptionRecord,
    ExceptionResolved,
    Held,
    NotPosted,
    Outcome,
    PeriodLockChanged,
    Posted,
    ReferenceRecorded,
    Rejected,
)
from cashroom_ledger.domain.posting_rules import decide, posting_key
from cashroom_ledger.domain.publishing import account_upserted, journal_posted, ledger_events
from cashroom_ledger.domain.state import LedgerState, LivePosting, MemoryState, Submission

__all__ = [
    "Account",
    "AccountRole",
    "AccountType",
    "AlreadyApplied",
    "BalanceKey",
    "BankTransferEntry",
    "Breach",
    "ChartError",
    "ChartOfAccounts",
    "DatedSeries",
    "Decision",
    "Entry",
    "ExceptionRaised",
    "ExceptionRecord",
    "ExceptionResolved",
    "Held",
    "Hold",
    "HoldReason",
    "Journal",
    "JournalKind",
    "Jurisdiction",
    "Ledger",
    "LedgerError",
    "LedgerState",
    "LedgerView",
    "Line",
    "LivePosting",
    "ManualEntry",
    "MemoryState",
    "NotPosted",
    "OfficePaymentEntry",
    "Outcome",
    "PendingPosting",
    "PeriodLockChanged",
    "Post",
    "Posted",
    "PostingKey",
    "Refer",
    "ReferenceRecorded",
    "Reject",
    "RejectReason",
    "Rejected",
    "Submission",
    "SupplierInvoiceEntry",
    "SupplierInvoicePaymentEntry",
    "VatTag",
    "account_upserted",
    "chart_problems",
    "chart_template",
    "decide",
    "deletion_problems",
    "england_and_wales_chart",
    "ireland_chart",
    "journal_posted",
    "ledger_events",
    "new_account",
    "posting_key",
]
