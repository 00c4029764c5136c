"""OFX bank statements, version 1.x (SGML) and 2.x (XML).

ofxtools reads the header (version, charset) and turns the tag soup into an element tree; it
is a regular-expression tokenizer, not an XML parser, so there is no entity expansion and no
network. The values are read here rather than through ofxtools' model conversion for two
reasons: ofxtools converts every date-time to UTC, which moves a ``20240105000000[+1:CET]``
posting onto 4 January, whereas a bank date is the calendar date the bank wrote; and errors
must name the transaction (``STMTTRN[3] FITID 2024...``).

OFX states only the closing (ledger) balance, so ``opening_balance`` is ``None``.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from xml.sax import saxutils

from ofxtools.header import parse_header
from ofxtools.Parser import TreeBuilder

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.parsing.values import check_currency, clean_text, plain_amount
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    Statement,
    StatementLine,
    iban_checksum_ok,
    looks_like_iban,
)

_OFX_DATE = re.compile(r"^(\d{8})(?:\d{4}(?:\d{2}(?:\.\d{1,3})?)?)?(?:\[[^\]]*\])?$")
_ENTITIES = {"&nbsp;": " ", "&apos;": "'", "&quot;": '"'}


def parse_ofx(data: bytes) -> Statement:
    root = _tree(data)
    statements = [el for el in root.iter("STMTRS")]
    if not statements:
        if any(True for _ in root.iter("CCSTMTRS")):
            raise StatementError(
                StatementErrorKind.UNSUPPORTED,
                "this is a credit-card statement (CCSTMTRS), not a bank account statement",
            )
        raise StatementError(
            StatementErrorKind.MISSING_FIELD, "the file holds no bank statement (STMTRS)", "OFX"
        )
    _check_status(root)
    if len(statements) > 1:
        raise StatementError(
            StatementErrorKind.UNSUPPORTED,
            f"the file holds {len(statements)} statements (STMTRS); import one account's "
            "statement per file",
        )
    return _statement(statements[0], "STMTRS")


def _tree(data: bytes) -> ET.Element:
    try:
        _header, body = parse_header(io.BytesIO(data))
    except (SyntaxError, ValueError, KeyError, UnicodeError) as exc:
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"the OFX header is not valid: {_first_line(exc)}",
            "header",
        ) from exc
    if not re.search(r"</OFX>\s*$", body):
        raise StatementError(
            StatementErrorKind.TRUNCATED, "the file does not end with </OFX>: it is cut short"
        )
    builder = TreeBuilder()
    try:
        builder.feed(body)
        root = builder.close()
    except (SyntaxError, ValueError, AssertionError, IndexError) as exc:
        raise StatementError(
            StatementErrorKind.MALFORMED, f"the OFX body is not valid: {_first_line(exc)}", "OFX"
        ) from exc
    if not isinstance(root, ET.Element) or root.tag != "OFX":
        raise StatementError(StatementErrorKind.MALFORMED, "the root element is not <OFX>", "OFX")
    return root


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _check_status(root: ET.Element) -> None:
    for response in root.iter("STMTTRNRS"):
        code = _text(response, "STATUS/CODE")
        if code not in (None, "0"):
            message = _text(response, "STATUS/MESSAGE") or ""
            raise StatementError(
                StatementErrorKind.MALFORMED,
                f"the bank reported status {code} for this statement {message}".strip(),
                "STMTTRNRS/STATUS",
            )


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    if found is None or found.text is None:
        return None
    text = saxutils.unescape(found.text.strip(), _ENTITIES)
    return text or None


def _required(el: ET.Element, path: str, where: str) -> str:
    text = _text(el, path)
    if text is None:
        raise StatementError(StatementErrorKind.MISSING_FIELD, f"{path} is missing", where)
    return text


def _ofx_date(text: str | None, where: str) -> date:
    if text is None:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "the date is missing", where)
    match = _OFX_DATE.match(text)
    if match:
        digits = match.group(1)
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            pass
    raise StatementError(
        StatementErrorKind.BAD_DATE, f"{text!r} is not an OFX date (YYYYMMDD...)", where
    )


def _account(stmtrs: ET.Element, where: str) -> AccountIdentification:
    acct_id = _required(stmtrs, "BANKACCTFROM/ACCTID", f"{where}/BANKACCTFROM")
    bank_id = _text(stmtrs, "BANKACCTFROM/BANKID")
    iban = acct_id if looks_like_iban(acct_id) and iban_checksum_ok(acct_id) else None
    return AccountIdentification(iban=iban, number=acct_id, bank_code=bank_id)


def _statement(stmtrs: ET.Element, where: str) -> Statement:
    currency = check_currency(_required(stmtrs, "CURDEF", where), f"{where}/CURDEF")
    account = _account(stmtrs, where)
    ledger_where = f"{where}/LEDGERBAL"
    closing = plain_amount(
        _required(stmtrs, "LEDGERBAL/BALAMT", ledger_where), currency, f"{ledger_where}/BALAMT"
    )
    as_of = _ofx_date(_required(stmtrs, "LEDGERBAL/DTASOF", ledger_where), ledger_where)
    tranlist = stmtrs.find("BANKTRANLIST")
    lines: list[StatementLine] = []
    if tranlist is None:
        start = end = as_of
    else:
        list_where = f"{where}/BANKTRANLIST"
        start = _ofx_date(_text(tranlist, "DTSTART"), f"{list_where}/DTSTART")
        end = _ofx_date(_text(tranlist, "DTEND"), f"{list_where}/DTEND")
        for index, trn in enumerate(tranlist.findall("STMTTRN"), start=1):
            lines.append(_line(trn, currency, f"{list_where}/STMTTRN[{index}]"))
    return Statement(
        file_format=FileFormat.OFX,
        account=account,
        currency=currency,
        period_start=start,
        period_end=end,
        opening_balance=None,
        closing_balance=closing,
        lines=tuple(lines),
    )


def _line(trn: ET.Element, currency: str, where: str) -> StatementLine:
    fitid = _text(trn, "FITID")
    if fitid is None:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "FITID is missing", where)
    where = f"{where} (FITID {fitid})"
    if trn.find("CORRECTACTION") is not None or trn.find("CORRECTFITID") is not None:
        raise StatementError(
            StatementErrorKind.UNSUPPORTED,
            "OFX corrections (CORRECTFITID/CORRECTACTION) are not supported; ask the bank for a "
            "corrected statement",
            where,
        )
    line_currency = _text(trn, "CURRENCY/CURSYM")
    if line_currency is not None and line_currency != currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"the transaction is in {line_currency}, the statement in {currency}",
            f"{where}/CURRENCY",
        )
    amount: Money = plain_amount(_text(trn, "TRNAMT"), currency, f"{where}/TRNAMT")
    posted = _ofx_date(_text(trn, "DTPOSTED"), f"{where}/DTPOSTED")
    available = _text(trn, "DTAVAIL")
    value = _ofx_date(available, f"{where}/DTAVAIL") if available else posted
    name = _text(trn, "NAME") or _text(trn, "PAYEE/NAME")
    memo = _text(trn, "MEMO")
    return StatementLine(
        bank_id=fitid,
        bank_id_source=BankIdSource.OFX_FITID,
        booking_date=posted,
        value_date=value,
        amount=amount,
        description=clean_text(memo or name),
        reference=_text(trn, "CHECKNUM") or _text(trn, "REFNUM"),
        counterparty=clean_text(name) or None,
        location=where,
    )
