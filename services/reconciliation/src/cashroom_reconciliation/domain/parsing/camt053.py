"""ISO 20022 camt.053 (bank-to-customer end-of-day statement), any version ``camt.053.001.xx``.

Parsed with lxml and a parser that never expands entities, never loads a DTD and never touches
the network; a document that declares a DTD at all is refused. Each ``Ntry`` is one line (a
batch booking with several ``TxDtls`` stays one line, as the bank booked it). The line's bank id
is ``AcctSvcrRef``, else ``NtryRef``, else the ``EndToEndId`` of its single transaction, else a
content hash. Entries with status PDNG/INFO are kept apart as pending lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from lxml import etree  # type: ignore[import-untyped]  # lxml-stubs lacks DocInfo.doctype

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.parsing.merge import StatementPart, merge_parts
from cashroom_reconciliation.domain.parsing.values import (
    check_currency,
    clean_text,
    content_id,
    iso_date,
    plain_amount,
)
from cashroom_reconciliation.domain.statement import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    Statement,
    StatementLine,
)

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
_NOT_AN_ID = {"", "NOTPROVIDED", "NONREF", "NONE", "N/A"}
_OPENING_CODES = ("OPBD", "PRCD")
_CLOSING_CODES = ("CLBD",)


def _secure_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@dataclass(frozen=True, slots=True)
class _Node:
    """An element with its human path (``Stmt[1]/Ntry[3]``) for error messages."""

    el: etree._Element
    path: str
    ns: str

    def where(self, child: str | None = None) -> str:
        path = f"{self.path}/{child}" if child else self.path
        return f"line {self.el.sourceline} ({path})"

    def child(self, name: str) -> _Node | None:
        found = self.el.find(f"{{{self.ns}}}{name}")
        return None if found is None else _Node(found, f"{self.path}/{name}", self.ns)

    def children(self, name: str) -> list[_Node]:
        return [
            _Node(el, f"{self.path}/{name}[{i}]", self.ns)
            for i, el in enumerate(self.el.findall(f"{{{self.ns}}}{name}"), start=1)
        ]

    def at(self, *names: str) -> _Node | None:
        node: _Node | None = self
        for name in names:
            if node is None:
                return None
            node = node.child(name)
        return node

    def text(self, *names: str) -> str | None:
        node = self.at(*names)
        if node is None or node.el.text is None:
            return None
        text = node.el.text.strip()
        return text or None

    def require(self, *names: str) -> _Node:
        node = self.at(*names)
        if node is None:
            raise StatementError(
                StatementErrorKind.MISSING_FIELD,
                f"{'/'.join(names)} is missing",
                self.where("/".join(names)),
            )
        return node


def parse_camt053(data: bytes) -> Statement:
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser=_secure_parser()))
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg)
        at_the_end = exc.lineno is not None and exc.lineno >= data.rstrip().count(b"\n") + 1
        truncated = at_the_end or "Premature end" in message or "end of data" in message
        raise StatementError(
            StatementErrorKind.TRUNCATED if truncated else StatementErrorKind.MALFORMED,
            f"not well-formed XML: {message}",
            f"line {exc.lineno}",
        ) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementError(
            StatementErrorKind.UNSAFE_XML,
            "a statement must not declare a DTD or entities",
            "line 1",
        )
    root = tree.getroot()
    qname = etree.QName(root)
    ns = qname.namespace or ""
    if not ns.startswith(NAMESPACE_PREFIX) or qname.localname != "Document":
        raise StatementError(
            StatementErrorKind.UNKNOWN_FORMAT,
            f"the root element is {root.tag!r}, not a camt.053 Document",
            f"line {root.sourceline}",
        )
    document = _Node(root, "Document", ns)
    statement_root = document.require("BkToCstmrStmt")
    statements = statement_root.children("Stmt")
    if not statements:
        raise StatementError(
            StatementErrorKind.MISSING_FIELD, "the file holds no Stmt", statement_root.where()
        )
    return merge_parts(FileFormat.CAMT053, [_statement_part(stmt) for stmt in statements])


def _statement_part(stmt: _Node) -> StatementPart:
    account = _account(stmt)
    opening, opening_date = _balance(stmt, _OPENING_CODES)
    closing, closing_date = _balance(stmt, _CLOSING_CODES)
    declared = stmt.text("Acct", "Ccy")
    currency = check_currency(declared, stmt.where("Acct/Ccy")) if declared else closing.currency
    if opening.currency != currency or closing.currency != currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"balances in {opening.currency}/{closing.currency} on a {currency} account",
            stmt.where("Bal"),
        )
    booked: list[StatementLine] = []
    pending: list[StatementLine] = []
    occurrences: dict[tuple[str, ...], int] = {}
    for entry in stmt.children("Ntry"):
        line, is_booked = _line(entry, currency, occurrences)
        (booked if is_booked else pending).append(line)
    start, end = _period(stmt, opening_date, closing_date)
    return StatementPart(
        account=account,
        currency=currency,
        period_start=start,
        period_end=end,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(booked),
        pending_lines=tuple(pending),
        statement_number=stmt.text("ElctrncSeqNb") or stmt.text("LglSeqNb") or stmt.text("Id"),
        location=stmt.where(),
    )


def _account(stmt: _Node) -> AccountIdentification:
    acct = stmt.require("Acct")
    iban = acct.text("Id", "IBAN")
    number = acct.text("Id", "Othr", "Id")
    bank_code = acct.text("Svcr", "FinInstnId", "BICFI") or acct.text("Svcr", "FinInstnId", "BIC")
    if iban is None and number is None:
        raise StatementError(
            StatementErrorKind.MISSING_FIELD, "Acct/Id has neither IBAN nor Othr/Id", acct.where()
        )
    try:
        return AccountIdentification(iban=iban, number=number, bank_code=bank_code)
    except StatementError as exc:
        raise StatementError(exc.kind, exc.reason, acct.where("Id")) from exc


def _signed(entry: _Node, amount: Money) -> Money:
    indicator = entry.text("CdtDbtInd")
    if indicator == "CRDT":
        return amount
    if indicator == "DBIT":
        return -amount
    raise StatementError(
        StatementErrorKind.MALFORMED,
        f"CdtDbtInd is {indicator!r}, expected CRDT or DBIT",
        entry.where("CdtDbtInd"),
    )


def _amount(node: _Node, expected_currency: str | None) -> Money:
    amt = node.require("Amt")
    ccy = amt.el.get("Ccy")
    if ccy is None:
        raise StatementError(StatementErrorKind.MISSING_FIELD, "Amt has no Ccy", amt.where())
    currency = check_currency(ccy, amt.where())
    if expected_currency is not None and currency != expected_currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"an amount in {currency} on a {expected_currency} statement",
            amt.where(),
        )
    money = plain_amount(amt.el.text, currency, amt.where())
    if money.amount_minor < 0:
        raise StatementError(
            StatementErrorKind.BAD_AMOUNT,
            "Amt must not be negative (the sign is CdtDbtInd)",
            amt.where(),
        )
    return money


def _balance(stmt: _Node, codes: tuple[str, ...]) -> tuple[Money, date]:
    by_code: dict[str, _Node] = {}
    for bal in stmt.children("Bal"):
        code = bal.text("Tp", "CdOrPrtry", "Cd") or bal.text("Tp", "CdOrPrtry", "Prtry")
        if code:
            by_code.setdefault(code, bal)
    for code in codes:
        found = by_code.get(code)
        if found is not None:
            money = _signed(found, _amount(found, None))
            return money, _date_of(found.require("Dt"))
    raise StatementError(
        StatementErrorKind.MISSING_FIELD,
        f"no balance of type {' or '.join(codes)}",
        stmt.where("Bal"),
    )


def _date_of(node: _Node) -> date:
    """A ``Dt``-style choice: ``<Dt>`` or ``<DtTm>`` inside the node."""
    text = node.text("Dt") or node.text("DtTm")
    return iso_date(text, node.where())


def _period(stmt: _Node, opening_date: date, closing_date: date) -> tuple[date, date]:
    frto = stmt.child("FrToDt")
    if frto is not None:
        start = iso_date(frto.text("FrDtTm") or frto.text("FrDt"), frto.where("FrDtTm"))
        end = iso_date(frto.text("ToDtTm") or frto.text("ToDt"), frto.where("ToDtTm"))
        return start, end
    # PRCD is dated the day before the period; OPBD the first day of it.
    has_opbd = any(
        (bal.text("Tp", "CdOrPrtry", "Cd") or "") == "OPBD" for bal in stmt.children("Bal")
    )
    start = opening_date if has_opbd else opening_date + timedelta(days=1)
    return min(start, closing_date), closing_date


def _line(
    entry: _Node, currency: str, occurrences: dict[tuple[str, ...], int]
) -> tuple[StatementLine, bool]:
    amount = _signed(entry, _amount(entry, currency))
    status = entry.text("Sts") or entry.text("Sts", "Cd")
    if status not in {"BOOK", "PDNG", "INFO"}:
        raise StatementError(
            StatementErrorKind.MALFORMED,
            f"Sts is {status!r}, expected BOOK, PDNG or INFO",
            entry.where("Sts"),
        )
    booking_node = entry.child("BookgDt")
    value_node = entry.child("ValDt")
    if booking_node is None and value_node is None:
        raise StatementError(
            StatementErrorKind.MISSING_FIELD,
            "the entry has neither BookgDt nor ValDt",
            entry.where(),
        )
    booking = _date_of(booking_node) if booking_node is not None else None
    value = _date_of(value_node) if value_node is not None else None
    booking_date = booking or value
    value_date = value or booking
    assert booking_date is not None and value_date is not None

    transactions = [tx for dtls in entry.children("NtryDtls") for tx in dtls.children("TxDtls")]
    first = transactions[0] if transactions else None
    end_to_end = first.text("Refs", "EndToEndId") if first else None
    cheque = first.text("Refs", "ChqNb") if first else None
    reference = _usable(end_to_end) or _usable(cheque) or _usable(entry.text("NtryRef"))
    counterparty = _counterparty(first, amount) if first else None
    remittance = [
        clean_text(ustrd.el.text)
        for tx in transactions
        for rmt in tx.children("RmtInf")
        for ustrd in rmt.children("Ustrd")
        if ustrd.el.text
    ]
    structured = [
        ref for tx in transactions if (ref := tx.text("RmtInf", "Strd", "CdtrRefInf", "Ref"))
    ]
    description = clean_text(
        " ".join(remittance + structured)
        or (first.text("AddtlTxInf") if first else None)
        or entry.text("AddtlNtryInf")
    )

    bank_id, source = _bank_id(entry, transactions, end_to_end)
    if bank_id is None:
        fields = (
            currency,
            booking_date.isoformat(),
            value_date.isoformat(),
            str(amount.amount_minor),
            description,
            reference or "",
            counterparty or "",
        )
        occurrence = occurrences.get(fields, 0)
        occurrences[fields] = occurrence + 1
        bank_id, source = content_id(fields, occurrence), BankIdSource.CONTENT_HASH
    line = StatementLine(
        bank_id=bank_id,
        bank_id_source=source,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        description=description,
        reference=reference,
        counterparty=counterparty,
        location=entry.where(),
    )
    return line, status == "BOOK"


def _usable(text: str | None) -> str | None:
    if text is None or text.strip().upper() in _NOT_AN_ID:
        return None
    return text.strip()


def _bank_id(
    entry: _Node, transactions: list[_Node], end_to_end: str | None
) -> tuple[str | None, BankIdSource]:
    servicer_ref = _usable(entry.text("AcctSvcrRef"))
    if servicer_ref:
        return servicer_ref, BankIdSource.CAMT_ACCOUNT_SERVICER_REF
    entry_ref = _usable(entry.text("NtryRef"))
    if entry_ref:
        return entry_ref, BankIdSource.CAMT_ENTRY_REF
    if len(transactions) == 1 and _usable(end_to_end):
        return _usable(end_to_end), BankIdSource.CAMT_END_TO_END_ID
    return None, BankIdSource.CONTENT_HASH


def _counterparty(tx: _Node, amount: Money) -> str | None:
    # Money in: the debtor paid us; money out: we paid the creditor.
    party = "Dbtr" if amount.amount_minor >= 0 else "Cdtr"
    return tx.text("RltdPties", party, "Nm") or tx.text("RltdPties", party, "Pty", "Nm")
