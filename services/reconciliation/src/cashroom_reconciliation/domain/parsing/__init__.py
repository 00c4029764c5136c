"""Statement files in, one normalised ``Statement`` out, or one ``StatementError``.

The format is detected from the content, never from a file name: camt.053 by its ISO 20022
namespace, OFX by its header, MT940 by its ``:20:``/``:25:``/``:60F:`` tags; anything else is
read as CSV when the account has a CSV mapping, and refused otherwise.
"""

from __future__ import annotations

import re

from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.parsing.camt053 import parse_camt053
from cashroom_reconciliation.domain.parsing.csv_format import (
    AmountConvention,
    AmountWithIndicator,
    Column,
    CsvMapping,
    DebitCreditColumns,
    RowOrder,
    SignedAmount,
    parse_csv,
)
from cashroom_reconciliation.domain.parsing.mt940_format import parse_mt940
from cashroom_reconciliation.domain.parsing.ofx import parse_ofx
from cashroom_reconciliation.domain.parsing.values import NumberFormat, ParseLimits
from cashroom_reconciliation.domain.statement import FileFormat, Statement

_XML_START = re.compile(rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<", re.DOTALL)
_ISO20022 = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:(camt|pain|pacs)\.(\d{3})")
_MT940_TAGS = (
    re.compile(rb"(^|\n)\s*:20:"),
    re.compile(rb"(^|\n)\s*:25:"),
    re.compile(rb"(^|\n)\s*:60[FM]:"),
)
_BINARY_MARKERS = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def detect_format(data: bytes) -> FileFormat | None:
    """The statement format the content is in, or ``None`` when it is not one we recognise
    (CSV is never claimed here: it has no signature, only a mapping can read it)."""
    head = data[:8192].lstrip(b"\xef\xbb\xbf\r\n\t ")
    if head.startswith(b"OFXHEADER") or re.match(rb"^(<\?xml[^>]*\?>\s*)?<\?OFX", head):
        return FileFormat.OFX
    if re.match(rb"^\s*<OFX>", head, re.IGNORECASE):
        return FileFormat.OFX
    if _XML_START.match(head):
        namespace = _ISO20022.search(head)
        if namespace and namespace.group(1) == b"camt" and namespace.group(2) == b"053":
            return FileFormat.CAMT053
        return None
    if head.startswith(b"{1:") or all(tag.search(head) for tag in _MT940_TAGS):
        return FileFormat.MT940
    return None


def parse_statement(
    data: bytes,
    *,
    csv_mapping: CsvMapping | None = None,
    limits: ParseLimits | None = None,
) -> Statement:
    """Read a bank statement file in any supported format.

    Raises ``StatementError`` (with the line or XML path and the reason) for anything that is
    not a complete, well-formed statement in one currency; nothing half-parsed is returned.
    """
    limits = limits or ParseLimits()
    if len(data) > limits.max_bytes:
        raise StatementError(
            StatementErrorKind.OVERSIZED,
            f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
        )
    if not data.strip():
        raise StatementError(StatementErrorKind.UNKNOWN_FORMAT, "the file is empty")
    lines = data.count(b"\n") + 1
    if lines > limits.max_lines:
        raise StatementError(
            StatementErrorKind.OVERSIZED,
            f"the file has {lines:,} lines; the limit is {limits.max_lines:,}",
        )
    file_format = detect_format(data)
    if file_format is FileFormat.CAMT053:
        return parse_camt053(data)
    if file_format is FileFormat.OFX:
        return parse_ofx(data)
    if file_format is FileFormat.MT940:
        return parse_mt940(data)
    head = data[:8192].lstrip()
    if head.startswith(b"<"):
        namespace = _ISO20022.search(head)
        what = (
            f"an ISO 20022 {namespace.group(1).decode()}.{namespace.group(2).decode()} message"
            if namespace
            else "an XML document"
        )
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            f"this is {what}, not a camt.053 statement, OFX, MT940 or CSV",
        )
    if any(head.startswith(marker) for marker in _BINARY_MARKERS) or b"\x00" in head:
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            "this is a binary file (PDF, spreadsheet ...), not a statement export",
        )
    if csv_mapping is None:
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            "not camt.053, OFX or MT940; reading it as CSV needs the account's column mapping",
        )
    return parse_csv(data, csv_mapping, limits.max_lines)


__all__ = [
    "AmountConvention",
    "AmountWithIndicator",
    "Column",
    "CsvMapping",
    "DebitCreditColumns",
    "NumberFormat",
    "ParseLimits",
    "RowOrder",
    "SignedAmount",
    "detect_format",
    "parse_statement",
]
