"""The typed errors of the reconciliation domain.

A statement file that cannot be read raises one ``StatementError``: what is wrong (``kind``),
where (``location``: a line number or an XML path) and why (``reason``). Nothing half-parsed is
ever returned. A match that would break an invariant raises ``MatchError``.
"""

from __future__ import annotations

from enum import StrEnum


class StatementErrorKind(StrEnum):
    UNKNOWN_FORMAT = "unknown_format"
    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    UNSAFE_XML = "unsafe_xml"
    MISSING_FIELD = "missing_field"
    BAD_AMOUNT = "bad_amount"
    AMOUNT_PRECISION = "amount_precision"
    BAD_DATE = "bad_date"
    MIXED_CURRENCIES = "mixed_currencies"
    DUPLICATE_LINE_ID = "duplicate_line_id"
    WRONG_ACCOUNT = "wrong_account"
    UNSUPPORTED = "unsupported"


class StatementError(ValueError):
    """A bank statement file that cannot be imported, with where and why."""

    def __init__(self, kind: StatementErrorKind, reason: str, location: str | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.location = location
        super().__init__(f"{location}: {reason}" if location else reason)


class MatchError(ValueError):
    """A match or unmatch that would break an invariant (an entry matched twice, unequal sides)."""
