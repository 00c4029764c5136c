"""What the service tests share: one running service (real PostgreSQL and broker, topics of its
own for what it consumes), a stub of the ledger's client-ledgers endpoint, tokens, the events
the ledger would publish, and small statement files written by hand in each format."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from cashroom_chassis.auth import InvalidToken, Role, issue_token, verify_token
from cashroom_contracts.envelope import Envelope, encode_event, new_event, parse_event
from cashroom_contracts.events.clio import BankAccountUpserted
from cashroom_contracts.events.common import AccountKind, ClioSource
from cashroom_contracts.events.ledger import (
    AccountRole,
    AccountType,
    AccountUpserted,
    JournalLine,
    JournalPosted,
    PostingSource,
)
from cashroom_contracts.money import Money
from cashroom_contracts.topics import RECONCILIATION_EVENTS
from cashroom_reconciliation.settings import Settings

KEY = "reconciliation-test-key"
SERVICE_SUBJECT = "reconciliation"

# The bank accounts of every test firm: an office and a client account, in euro (Ireland).
OFFICE, CLIENT = 7001, 7002
OFFICE_NOMINAL, CLIENT_NOMINAL = "1001", "1101"


def make_iban(country: str, bban: str) -> str:
    """An IBAN with its ISO 13616 check digits: 98 − (bban + country + "00" as digits) mod 97."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


OFFICE_IBAN = make_iban("IE", "BOFI90583812341001")  # ends in Clio's last four, 1001
CLIENT_IBAN = make_iban("IE", "AIBK93115212344321")  # ends in 4321
OTHER_IBAN = make_iban("IE", "AIBK93115200000001")


def euro(cents: int) -> Money:
    return Money(amount_minor=cents, currency="EUR")


def token(firm: str, role: Role = Role.CASHIER, subject: str = "mary.cashier") -> str:
    return issue_token(KEY, firm_id=firm, role=role, subject=subject)


def client_for(app: FastAPI, firm: str, role: Role = Role.CASHIER) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://reconciliation",
        headers={"Authorization": f"Bearer {token(firm, role)}"},
    )


# --- the ledger stub ----------------------------------------------------------------------------


@dataclass
class LedgerStub:
    """The ledger's ``GET /firms/{f}/balances/client-ledgers``: each test says, per firm, what
    the sum of client ledgers is (a function of the account and the date). It checks the
    caller's service token as the real ledger would."""

    totals: dict[str, Callable[[int, date], int]] = field(default_factory=dict)
    calls: list[tuple[str, int, date]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        found = re.fullmatch(r"/firms/([^/]+)/balances/client-ledgers", request.url.path)
        if found is None:
            return httpx.Response(404, json={"detail": "not found"})
        firm = found.group(1)
        try:
            scheme, _, raw = request.headers.get("authorization", "").partition(" ")
            principal = verify_token(KEY, raw)
        except InvalidToken:
            return httpx.Response(401, json={"detail": "bad token"})
        if scheme != "Bearer" or principal.firm_id != firm or principal.role is not Role.SERVICE:
            return httpx.Response(404, json={"detail": "no such firm"})
        as_of = date.fromisoformat(request.url.params["as_of"])
        account = int(request.url.params["bank_account_id"])
        total = self.totals.get(firm)
        if total is None:
            return httpx.Response(404, json={"detail": "firm not set up"})
        self.calls.append((firm, account, as_of))
        return httpx.Response(
            200,
            json={
                "as_of": as_of.isoformat(),
                "bank_account_id": account,
                "total": {"amount_minor": total(account, as_of), "currency": "EUR"},
                "client_bank_balance": {"amount_minor": 0, "currency": "EUR"},
                "matters": [],
            },
        )


def make_settings(infrastructure_db: str, bootstrap: str, idempotence: bool, name: str) -> Settings:
    return Settings(
        service_name=f"reconciliation_{name}",
        database_url=infrastructure_db,
        kafka_bootstrap_servers=bootstrap,
        kafka_enable_idempotence=idempotence,
        auth_signing_key=KEY,
        ledger_url="http://ledger.test",
        ledger_topic=f"test.{name}.ledger",
        clio_topic=f"test.{name}.clio",
        statement_max_bytes=256 * 1024,
        cadence_check_interval_seconds=0,
    )


# --- events the ledger and the connector publish ------------------------------------------------


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def bank_nominals(firm: str) -> list[Envelope[Any]]:
    """The ledger announcing the two bank nominals, and Clio naming the accounts."""
    return [
        new_event(
            AccountUpserted(
                code=OFFICE_NOMINAL,
                name="Office bank",
                type=AccountType.ASSET,
                role=AccountRole.OFFICE_BANK,
                currency="EUR",
                bank_account_id=OFFICE,
            ),
            firm_id=firm,
            source="cashroom/ledger",
        ),
        new_event(
            AccountUpserted(
                code=CLIENT_NOMINAL,
                name="Client bank",
                type=AccountType.ASSET,
                role=AccountRole.CLIENT_BANK,
                currency="EUR",
                bank_account_id=CLIENT,
            ),
            firm_id=firm,
            source="cashroom/ledger",
        ),
        new_event(
            BankAccountUpserted(
                source=ClioSource(object_type="BankAccount", object_id=CLIENT, version="v1"),
                bank_account_id=CLIENT,
                name="Client Account",
                kind=AccountKind.CLIENT,
                currency="EUR",
                account_number_last4="4321",
            ),
            firm_id=firm,
            source="cashroom/clio-connector",
        ),
        new_event(
            BankAccountUpserted(
                source=ClioSource(object_type="BankAccount", object_id=OFFICE, version="v1"),
                bank_account_id=OFFICE,
                name="Office Account",
                kind=AccountKind.OFFICE,
                currency="EUR",
                account_number_last4="1001",
            ),
            firm_id=firm,
            source="cashroom/clio-connector",
        ),
    ]


def client_receipt(
    firm: str,
    day: date,
    cents: int,
    matter: int,
    narrative: str,
    journal_id: uuid.UUID | None = None,
) -> Envelope[Any]:
    """Client money in: client bank (debit) / the matter's client ledger (credit)."""
    return _journal(
        firm,
        day,
        "client_receipt",
        narrative,
        [
            _line(CLIENT_NOMINAL, debit=cents, bank=CLIENT),
            _line("2100", credit=cents, matter=matter, side=AccountKind.CLIENT, bank=CLIENT),
        ],
        journal_id,
    )


def client_payment(
    firm: str,
    day: date,
    cents: int,
    matter: int,
    narrative: str,
    journal_id: uuid.UUID | None = None,
) -> Envelope[Any]:
    """Client money out: the matter's client ledger (debit) / client bank (credit)."""
    return _journal(
        firm,
        day,
        "client_payment",
        narrative,
        [
            _line("2100", debit=cents, matter=matter, side=AccountKind.CLIENT, bank=CLIENT),
            _line(CLIENT_NOMINAL, credit=cents, bank=CLIENT),
        ],
        journal_id,
    )


def office_receipt(firm: str, day: date, cents: int, matter: int, narrative: str) -> Envelope[Any]:
    """A bill paid into the office account: office bank / debtors (the matter's office side)."""
    return _journal(
        firm,
        day,
        "bill_payment",
        narrative,
        [
            _line(OFFICE_NOMINAL, debit=cents, bank=OFFICE),
            _line("1200", credit=cents, matter=matter, side=AccountKind.OFFICE),
        ],
    )


def office_payment(firm: str, day: date, cents: int, matter: int, narrative: str) -> Envelope[Any]:
    """A disbursement paid from the office account: unbilled disbursements / office bank."""
    return _journal(
        firm,
        day,
        "disbursement_paid",
        narrative,
        [
            _line("1210", debit=cents, matter=matter, side=AccountKind.OFFICE),
            _line(OFFICE_NOMINAL, credit=cents, bank=OFFICE),
        ],
    )


def reversal(firm: str, of: Envelope[Any], day: date) -> Envelope[Any]:
    original = of.data
    assert isinstance(original, JournalPosted)
    lines = [
        line.model_copy(update={"debit": line.credit, "credit": line.debit})
        for line in original.lines
    ]
    return _journal(
        firm,
        day,
        f"{original.kind}_reversal",
        f"Reversal: {original.narrative}",
        lines,
        reverses=original.journal_id,
    )


def _line(
    code: str,
    *,
    debit: int = 0,
    credit: int = 0,
    matter: int | None = None,
    side: AccountKind | None = None,
    bank: int | None = None,
) -> JournalLine:
    return JournalLine(
        account_code=code,
        debit=euro(debit),
        credit=euro(credit),
        matter_id=matter,
        ledger_side=side,
        bank_account_id=bank,
    )


def _journal(
    firm: str,
    day: date,
    kind: str,
    narrative: str,
    lines: list[JournalLine],
    journal_id: uuid.UUID | None = None,
    reverses: uuid.UUID | None = None,
) -> Envelope[Any]:
    journal = journal_id or uuid.uuid4()
    return new_event(
        JournalPosted(
            journal_id=journal,
            posted_on=day,
            kind=kind,
            narrative=narrative,
            source=PostingSource(
                system="clio", object_type="BankTransaction", object_id=str(journal)
            ),
            reverses_journal_id=reverses,
            lines=lines,
        ),
        firm_id=firm,
        source="cashroom/ledger",
        time=at(day),
    )


async def produce(settings: Settings, firm: str, events: Iterable[Envelope[Any]]) -> None:
    """Publish as the ledger and connector would: to the service's topics, keyed by firm."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False, acks="all"
    )
    await producer.start()
    try:
        for event in events:
            topic = settings.clio_topic if event.type.startswith("clio.") else settings.ledger_topic
            await producer.send_and_wait(topic, value=encode_event(event), key=firm.encode())
    finally:
        await producer.stop()


async def published(
    bootstrap: str, firm: str, event_type: str, *, expected: int = 1, within: float = 30
) -> list[Envelope[Any]]:
    """The firm's events of a type on ``reconciliation.events.v1`` (read from the start)."""
    consumer = AIOKafkaConsumer(
        RECONCILIATION_EVENTS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Envelope[Any]] = []
    try:
        async with asyncio.timeout(within):
            while len(found) < expected:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    for record in records:
                        event = parse_event(record.value)
                        if event.firm_id == firm and event.type == event_type:
                            found.append(event)
        # Anything more (a duplicate) shows up in the next polls.
        for _ in range(3):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    event = parse_event(record.value)
                    if event.firm_id == firm and event.type == event_type:
                        found.append(event)
    finally:
        await consumer.stop()
    return found


# --- statement files written by hand ------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of a hand-written statement: signed cents, + money in."""

    day: date
    cents: int
    bank_ref: str
    text: str
    reference: str | None = None


def _amount(cents: int) -> str:
    return f"{Decimal(abs(cents)).scaleb(-2):.2f}"


def camt053(
    iban: str,
    opening_day: date,
    opening_cents: int,
    entries: list[Entry],
    closing_day: date,
    *,
    currency: str = "EUR",
    statement_id: str = "STMT-1",
) -> bytes:
    closing_cents = opening_cents + sum(e.cents for e in entries)

    def balance(code: str, cents: int, day: date) -> str:
        indicator = "CRDT" if cents >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{_amount(cents)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
            f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
        )

    ntry = "".join(
        f'<Ntry><Amt Ccy="{currency}">{_amount(e.cents)}</Amt>'
        f"<CdtDbtInd>{'CRDT' if e.cents > 0 else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{e.day.isoformat()}</Dt></BookgDt><ValDt><Dt>{e.day.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{e.bank_ref}</AcctSvcrRef><NtryDtls><TxDtls>"
        + (f"<Refs><EndToEndId>{e.reference}</EndToEndId></Refs>" if e.reference else "")
        + f"<RmtInf><Ustrd>{e.text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{closing_day.isoformat()}T06:00:00</CreDtTm>"
        f"</GrpHdr><Stmt><Id>{statement_id}</Id><CreDtTm>{closing_day.isoformat()}T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        + balance("PRCD", opening_cents, opening_day)
        + balance("CLBD", closing_cents, closing_day)
        + ntry
        + "</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


def ofx(account: str, start: date, end: date, entries: list[Entry], closing_cents: int) -> bytes:
    body = "".join(
        f"<STMTTRN><TRNTYPE>{'CREDIT' if e.cents > 0 else 'DEBIT'}<DTPOSTED>{e.day:%Y%m%d}"
        f"<TRNAMT>{'-' if e.cents < 0 else ''}{_amount(e.cents)}<FITID>{e.bank_ref}"
        + (f"<CHECKNUM>{e.reference}" if e.reference else "")
        + f"<NAME>{e.text[:32]}<MEMO>{e.text}</STMTTRN>\n"
        for e in entries
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>0<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>BOFIIE2D"
        f"<ACCTID>{account}<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>{start:%Y%m%d}<DTEND>{end:%Y%m%d}\n{body}</BANKTRANLIST>"
        f"<LEDGERBAL><BALAMT>{'-' if closing_cents < 0 else ''}{_amount(closing_cents)}"
        f"<DTASOF>{end:%Y%m%d}</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()


def mt940(
    iban: str, opening_day: date, opening_cents: int, entries: list[Entry], closing_day: date
) -> bytes:
    def balance(tag: str, day: date, cents: int) -> str:
        mark = "C" if cents >= 0 else "D"
        return f":{tag}:{mark}{day:%y%m%d}EUR{_amount(cents).replace('.', ',')}\n"

    closing_cents = opening_cents + sum(e.cents for e in entries)
    body = "".join(
        f":61:{e.day:%y%m%d}{e.day:%m%d}{'C' if e.cents > 0 else 'D'}"
        f"{_amount(e.cents).replace('.', ',')}NTRF{e.reference or 'NONREF'}//{e.bank_ref}\n"
        f":86:{e.text}\n"
        for e in entries
    )
    return (
        f":20:STMT{closing_day:%Y%m%d}\n:25:{iban}\n:28C:00001/001\n"
        + balance("60F", opening_day, opening_cents)
        + body
        + balance("62F", closing_day, closing_cents)
    ).encode()


CSV_MAPPING = {
    "booking_date": "Date",
    "amount": {"debit": "Money out", "credit": "Money in"},
    "description": ["Description"],
    "reference": "Reference",
    "balance": "Balance",
    "date_formats": ["%d/%m/%Y"],
}


def csv_export(opening_cents: int, entries: list[Entry]) -> bytes:
    rows = ["Date,Description,Reference,Money out,Money in,Balance"]
    balance = opening_cents
    for e in entries:
        balance += e.cents
        out = _amount(e.cents) if e.cents < 0 else ""
        into = _amount(e.cents) if e.cents > 0 else ""
        rows.append(
            f'{e.day:%d/%m/%Y},"{e.text}",{e.reference or ""},{out},{into},{"-" if balance < 0 else ""}{_amount(balance)}'
        )
    return ("\n".join(rows) + "\n").encode()


async def eventually_true(check: Callable[[], Any], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        last = await check()
        if last:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {within}s (last: {last!r})")
        await asyncio.sleep(0.1)


async def set_up_firm(app: FastAPI, settings: Settings, firm: str, *more: Envelope[Any]) -> None:
    """The firm's bank accounts announced (and any further events), consumed by the service."""
    await produce(settings, firm, [*bank_nominals(firm), *more])
    await wait_for_journals(app, firm, more)


async def wait_for_journals(app: FastAPI, firm: str, events: Iterable[Envelope[Any]]) -> None:
    """Until the accounts are known and every journal given is in the cashbook mirror."""
    wanted = {str(e.data.journal_id) for e in events if isinstance(e.data, JournalPosted)}

    async def ready() -> bool:
        async with client_for(app, firm, Role.VIEWER) as http:
            accounts = (await http.get(f"/firms/{firm}/bank-accounts")).json()
            named = [a for a in accounts if a["name"] and a["known_to_ledger"]]
            if len(named) < 2:
                return False
            journals = set()
            for account in (OFFICE, CLIENT):
                entries = (await http.get(f"/firms/{firm}/bank-accounts/{account}/cashbook")).json()
                journals |= {e["entry_id"].split(":")[0] for e in entries}
            return wanted <= journals

    await eventually_true(ready)


def upload(data: bytes, name: str = "statement", **form: str) -> dict[str, Any]:
    return {"files": {"file": (name, data)}, "data": form}
