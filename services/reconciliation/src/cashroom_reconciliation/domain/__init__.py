"""The reconciliation service's pure domain: no database, no network, no clock.

Read top-down:

- ``parsing``: a bank statement file (camt.053, OFX, MT940, CSV) becomes a ``Statement``;
- ``continuity``: which of its lines are new, and does it chain onto the account's history;
- ``matching``: statement lines auto-matched to cashbook entries, rule by rule;
- ``matches``: the match invariants, manual match and unmatch;
- ``reconciliation``: the reconciliation statement as of a date, two- or three-way;
- ``cadence``: is a client account's reconciliation overdue.

Around them, for the service: ``accounts`` (is a statement for this bank account),
``history`` (the bank balance on a date from the imported statements), ``cashbook`` (journal
lines on bank nominals become cashbook entries; reversals cancel what they reverse) and
``bank_items`` (a bank charge and the credit that replaced it cancel on the statement).
"""

from cashroom_reconciliation.domain.accounts import (
    BankAccountOnFile,
    check_statement_is_for,
    last4_of,
)
from cashroom_reconciliation.domain.bank_items import (
    BankItems,
    CancellingPair,
    pair_cancelling_items,
)
from cashroom_reconciliation.domain.cadence import (
    CadenceCheck,
    Jurisdiction,
    LateReconciliation,
    check_cadence,
    code_of,
    default_jurisdiction_code,
    jurisdiction_of,
    late_reconciliation,
)
from cashroom_reconciliation.domain.cashbook import (
    CashbookEntry,
    EntryKind,
    MirroredEntry,
    cashbook_entries_of,
    entry_id_of,
    pair_reversals,
)
from cashroom_reconciliation.domain.continuity import (
    AccountPosition,
    BreakKind,
    ContinuityBreak,
    ImportPlan,
    plan_import,
)
from cashroom_reconciliation.domain.errors import MatchError, StatementError, StatementErrorKind
from cashroom_reconciliation.domain.history import (
    ImportedStatement,
    NoStatementBalance,
    bank_balance_on,
    carried_balances,
    position_of,
)
from cashroom_reconciliation.domain.matches import (
    Match,
    MatchRule,
    MatchSet,
    match_manually,
    unmatch,
)
from cashroom_reconciliation.domain.matching import MatchingPolicy, MatchingResult, auto_match
from cashroom_reconciliation.domain.parsing import (
    AmountWithIndicator,
    CsvMapping,
    DebitCreditColumns,
    NumberFormat,
    ParseLimits,
    RowOrder,
    SignedAmount,
    detect_format,
    parse_statement,
)
from cashroom_reconciliation.domain.reconciliation import (
    BankError,
    ReconciliationStatement,
    prepare_reconciliation,
    statement_balance_on,
)
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    Statement,
    StatementLine,
    ensure_statement_for_account,
)

__all__ = [
    "AccountIdentification",
    "AccountPosition",
    "AmountWithIndicator",
    "BankAccountOnFile",
    "BankError",
    "BankIdSource",
    "BankItems",
    "BreakKind",
    "CadenceCheck",
    "CancellingPair",
    "CashbookEntry",
    "ContinuityBreak",
    "CsvMapping",
    "DebitCreditColumns",
    "EntryKind",
    "FileFormat",
    "ImportPlan",
    "ImportedStatement",
    "Jurisdiction",
    "LateReconciliation",
    "Match",
    "MatchError",
    "MatchRule",
    "MatchSet",
    "MatchingPolicy",
    "MatchingResult",
    "MirroredEntry",
    "NoStatementBalance",
    "NumberFormat",
    "ParseLimits",
    "ReconciliationStatement",
    "RowOrder",
    "SignedAmount",
    "Statement",
    "StatementError",
    "StatementErrorKind",
    "StatementLine",
    "auto_match",
    "bank_balance_on",
    "carried_balances",
    "cashbook_entries_of",
    "check_cadence",
    "check_statement_is_for",
    "code_of",
    "default_jurisdiction_code",
    "detect_format",
    "ensure_statement_for_account",
    "entry_id_of",
    "jurisdiction_of",
    "last4_of",
    "late_reconciliation",
    "match_manually",
    "pair_cancelling_items",
    "pair_reversals",
    "parse_statement",
    "plan_import",
    "position_of",
    "prepare_reconciliation",
    "statement_balance_on",
    "unmatch",
]
