"""The reconciliation service's pure domain: no database, no network, no clock.

Read top-down:

- ``parsing``: a bank statement file (camt.053, OFX, MT940, CSV) becomes a ``Statement``;
- ``continuity``: which of its lines are new, and does it chain onto the account's history;
- ``matching``: statement lines auto-matched to cashbook entries, rule by rule;
- ``matches``: the match invariants, manual match and unmatch;
- ``reconciliation``: the reconciliation statement as of a date, two- or three-way;
- ``cadence``: is a client account's reconciliation overdue.
"""

from cashroom_reconciliation.domain.cadence import CadenceCheck, Jurisdiction, check_cadence
from cashroom_reconciliation.domain.cashbook import CashbookEntry, EntryKind
from cashroom_reconciliation.domain.continuity import (
    AccountPosition,
    BreakKind,
    ContinuityBreak,
    ImportPlan,
    plan_import,
)
from cashroom_reconciliation.domain.errors import MatchError, StatementError, StatementErrorKind
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
    "BankError",
    "BankIdSource",
    "BreakKind",
    "CadenceCheck",
    "CashbookEntry",
    "ContinuityBreak",
    "CsvMapping",
    "DebitCreditColumns",
    "EntryKind",
    "FileFormat",
    "ImportPlan",
    "Jurisdiction",
    "Match",
    "MatchError",
    "MatchRule",
    "MatchSet",
    "MatchingPolicy",
    "MatchingResult",
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
    "check_cadence",
    "detect_format",
    "ensure_statement_for_account",
    "match_manually",
    "parse_statement",
    "plan_import",
    "prepare_reconciliation",
    "statement_balance_on",
    "unmatch",
]
