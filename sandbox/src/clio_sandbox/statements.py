"""Bank statements for a generated firm: what its bank would send for each account, in the
formats banks export (ISO 20022 camt.053, OFX, SWIFT MT940, CSV), with the noise real statements
have. Everything follows from the firm's seed: same firm, same files, byte for byte.

From each account's Clio bank transactions (:func:`clio_sandbox.bank_lines`), the bank:

* **clears** each transaction a few days after Clio dates it (``clearing_delays``; a day that
  falls on a weekend moves to the Monday, never more than 4 days after Clio's date); a
  transaction not cleared by the last statement date is on no statement (``uncleared``);
* **groups lodgements**: receipts paid in within two days of each other (not transfers) are
  sometimes banked as one line, "Lodgement 3 items", for their total;
* **charges** the office account a monthly maintenance fee, and each client account with money
  in it a quarterly fee, which the firm replaces from office money the same day (client money
  must not pay the firm's bank charges): the client statement shows the fee and a credit
  "Reimb. bank charge CHG-2024Q1-4321 from office a/c" quoting it, the office statement a
  transfer to the client account quoting it too. Neither is in Clio, so neither is in the
  cashbook: on the client account they cancel; on the office account they are unexplained
  until the cashier posts them;
* issues statements for calendar periods of ``months_per_statement`` months up to the firm's
  last day, the last one starting ``overlap_days`` before the one before it ends, so its first
  lines repeat lines already sent (same bank ids: a re-import must not double them).

Each line keeps a bank id that is stable across files (camt ``AcctSvcrRef``, OFX ``FITID``,
MT940 bank reference); CSV lines have none (the importer hashes them).
"""

from __future__ import annotations

import calendar
import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from .firm import BankLine, FirmSource, bank_lines

__all__ = [
    "AccountBanking",
    "BankEntry",
    "StatementFormat",
    "StatementNoise",
    "WrittenStatement",
    "bank_activity",
    "render_statement",
    "write_statements",
]


class StatementFormat(StrEnum):
    CAMT053 = "camt053"
    OFX = "ofx"
    MT940 = "mt940"
    CSV = "csv"


EntryKind = Literal["transaction", "lodgement", "bank_charge", "charge_reimbursement"]


@dataclass(frozen=True)
class StatementNoise:
    months_per_statement: int = 12
    overlap_days: int = 10
    clearing_delays: tuple[int, ...] = (0, 0, 0, 0, 1, 1, 1, 2, 2, 3)  # drawn per transaction
    lodgement_grouping: float = 0.5  # chance that receipts paid in together are one lodgement
    office_monthly_fee: tuple[int, int] = (1_200, 2_500)  # minor units, drawn per month
    client_quarterly_fee: tuple[int, int] = (1_500, 4_500)

    def __post_init__(self) -> None:
        if not 1 <= self.months_per_statement <= 36:
            raise ValueError("months_per_statement must be between 1 and 36")
        if not 0 <= self.overlap_days <= 27:
            raise ValueError("overlap_days must be between 0 and 27")
        if not self.clearing_delays or not all(0 <= d <= 3 for d in self.clearing_delays):
            raise ValueError("clearing delays must be between 0 and 3 days")


@dataclass(frozen=True)
class BankEntry:
    """One line as the bank books it. ``amount`` in minor units, + money in."""

    bank_ref: str
    booking_date: date
    amount: int
    description: str
    reference: str | None
    kind: EntryKind
    transaction_ids: tuple[int, ...] = ()  # the Clio bank transactions it stands for


@dataclass(frozen=True)
class AccountBanking:
    """What the bank did for one account, up to ``last_day``."""

    bank_account_id: int
    name: str
    kind: Literal["office", "client"]
    currency: str
    iban: str
    bic: str
    last_day: date
    first_day: date  # the first day the bank issues statements for
    entries: tuple[BankEntry, ...]  # booked on or before last_day, in booking order
    uncleared: tuple[BankLine, ...]  # Clio transactions the bank had not booked by last_day

    def balance_before(self, day: date) -> int:
        return sum(e.amount for e in self.entries if e.booking_date < day)


@dataclass(frozen=True)
class WrittenStatement:
    bank_account_id: int
    name: str
    path: Path
    format: StatementFormat
    period_start: date
    period_end: date
    opening_balance: int
    closing_balance: int
    lines: int
    csv_mapping: dict[str, Any] | None = None

    @property
    def as_of(self) -> date:
        """The date to reconcile this statement at: its last day."""
        return self.period_end

    def summary(self, currency: str) -> dict[str, Any]:
        return {
            "bank_account_id": self.bank_account_id,
            "name": self.name,
            "path": str(self.path),
            "format": self.format.value,
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "opening_balance": {"amount_minor": self.opening_balance, "currency": currency},
            "closing_balance": {"amount_minor": self.closing_balance, "currency": currency},
            "lines": self.lines,
            **({"csv_mapping": self.csv_mapping} if self.csv_mapping is not None else {}),
        }


# --- what the bank did --------------------------------------------------------------------------


_BANKS = {
    "ie": ("IE", "BOFI", "BOFIIE2D", "905838"),
    "ew": ("GB", "NWBK", "NWBKGB2L", "601613"),
}


def bank_activity(
    source: FirmSource,
    noise: StatementNoise | None = None,
    *,
    last_day: date | None = None,
) -> list[AccountBanking]:
    """Every bank account's entries as its bank booked them (client accounts first, as the
    office account carries the replacements of their charges)."""
    noise = noise or StatementNoise()
    meta = source.meta
    last_day = last_day or meta.as_of
    rng = random.Random(f"cashroom-statements/{meta.seed}/{meta.size}/{meta.jurisdiction}")
    country, bank_code, bic, sort_code = _BANKS.get(meta.jurisdiction, _BANKS["ie"])
    accounts = {int(r["id"]): r for r in source.records("bank_accounts")}
    client_ids = sorted(i for i in accounts if i != meta.operating_account_id)
    first_day = meta.history_start.replace(day=1)
    office_extra: list[BankEntry] = []
    done: list[AccountBanking] = []
    for account_id in [*client_ids, meta.operating_account_id]:
        record = accounts[account_id]
        is_office = account_id == meta.operating_account_id
        last4 = _last4(record.get("account_number"), account_id)
        number = f"{rng.randrange(10_000):04d}{last4}"
        entries, uncleared = _clear(bank_lines(source, account_id), rng, noise, last_day, bank_code)
        if is_office:
            entries += _office_fees(rng, noise, first_day, last_day, bank_code, last4)
            entries += office_extra
        else:
            charges = _client_fees(rng, noise, entries, first_day, last_day, bank_code, last4)
            entries += charges
            office_extra += [
                BankEntry(
                    bank_ref=f"{bank_code}X{c.booking_date:%Y%m}{account_id % 100_000:05d}",
                    booking_date=c.booking_date,
                    amount=c.amount,
                    description=f"Transfer to client a/c {last4}: reimb. bank charge {c.reference}",
                    reference=c.reference,
                    kind="charge_reimbursement",
                )
                for c in charges
                if c.kind == "bank_charge"
            ]
        done.append(
            AccountBanking(
                bank_account_id=account_id,
                name=str(record.get("name") or f"Account {account_id}"),
                kind="office" if is_office else "client",
                currency=str(record.get("currency") or meta.currency),
                iban=_iban(country, f"{bank_code}{sort_code}{number}"),
                bic=bic,
                last_day=last_day,
                first_day=first_day,
                entries=tuple(sorted(entries, key=lambda e: (e.booking_date, e.bank_ref))),
                uncleared=tuple(uncleared),
            )
        )
    return sorted(done, key=lambda a: (a.kind != "client", a.bank_account_id))


def _clear(
    lines: Sequence[BankLine],
    rng: random.Random,
    noise: StatementNoise,
    last_day: date,
    bank_code: str,
) -> tuple[list[BankEntry], list[BankLine]]:
    entries: list[BankEntry] = []
    uncleared: list[BankLine] = []
    grouped: set[int] = set()
    lodgeable = [
        i
        for i, line in enumerate(lines)
        if line.amount > 0 and not (line.reference or "").upper().startswith("TRF")
    ]
    for position, i in enumerate(lodgeable):
        if i in grouped:
            continue
        first = lines[i]
        group = [i]
        size = rng.randint(2, 4)
        for j in lodgeable[position + 1 :]:
            if len(group) >= size or (lines[j].date - first.date).days > 2:
                break
            if j not in grouped:
                group.append(j)
        if len(group) < 2 or rng.random() >= noise.lodgement_grouping:
            continue
        grouped.update(group)
        members = [lines[k] for k in group]
        booked = _booking_day(max(m.date for m in members), rng.choice((0, 1)), first.date)
        if booked > last_day:
            uncleared.extend(members)
            continue
        entries.append(
            BankEntry(
                bank_ref=f"{bank_code}L{first.id:011d}",
                booking_date=booked,
                amount=sum(m.amount for m in members),
                description=f"Lodgement {len(members)} items",
                reference=f"LDG{first.id}",
                kind="lodgement",
                transaction_ids=tuple(m.id for m in members),
            )
        )
    for i, line in enumerate(lines):
        if i in grouped:
            continue
        booked = _booking_day(line.date, rng.choice(noise.clearing_delays), line.date)
        if booked > last_day:
            uncleared.append(line)
            continue
        entries.append(
            BankEntry(
                bank_ref=f"{bank_code}T{line.id:011d}",
                booking_date=booked,
                amount=line.amount,
                description=line.description or line.transaction_type,
                reference=line.reference,
                kind="transaction",
                transaction_ids=(line.id,),
            )
        )
    return entries, uncleared


def _booking_day(day: date, delay: int, earliest: date) -> date:
    """``day`` + ``delay``, moved off a weekend to the Monday unless that is more than 4 days
    after ``earliest`` (then the bank books it on ``day`` itself)."""
    booked = day + timedelta(days=delay)
    while booked.weekday() >= 5:
        booked += timedelta(days=1)
    return booked if (booked - earliest).days <= 4 else day


def _month_ends(first_day: date, last_day: date, every: int) -> list[date]:
    """The last weekday of every ``every``-th month (calendar quarters for 3) in the span."""
    ends = []
    year, month = first_day.year, first_day.month
    while date(year, month, 1) <= last_day:
        if month % every == 0:
            end = date(year, month, calendar.monthrange(year, month)[1])
            while end.weekday() >= 5:
                end -= timedelta(days=1)
            if first_day <= end <= last_day:
                ends.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


def _office_fees(
    rng: random.Random,
    noise: StatementNoise,
    first_day: date,
    last_day: date,
    bank_code: str,
    last4: str,
) -> list[BankEntry]:
    return [
        BankEntry(
            bank_ref=f"{bank_code}F{day.year * 100 + day.month:011d}",
            booking_date=day,
            amount=-rng.randint(*noise.office_monthly_fee),
            description=f"Account maintenance fee {day:%b %Y}",
            reference=f"FEE-{day:%Y%m}-{last4}",
            kind="bank_charge",
        )
        for day in _month_ends(first_day, last_day, 1)
    ]


def _client_fees(
    rng: random.Random,
    noise: StatementNoise,
    cleared: Sequence[BankEntry],
    first_day: date,
    last_day: date,
    bank_code: str,
    last4: str,
) -> list[BankEntry]:
    fees: list[BankEntry] = []
    for day in _month_ends(first_day, last_day, 3):
        if not any(e.booking_date <= day for e in cleared):
            continue  # no money has moved through the account yet: the bank charges nothing
        amount = rng.randint(*noise.client_quarterly_fee)
        reference = f"CHG-{day.year}Q{(day.month - 1) // 3 + 1}-{last4}"
        key = day.year * 100 + day.month
        fees.append(
            BankEntry(
                bank_ref=f"{bank_code}C{key:011d}",
                booking_date=day,
                amount=-amount,
                description="Quarterly client account fee",
                reference=reference,
                kind="bank_charge",
            )
        )
        fees.append(
            BankEntry(
                bank_ref=f"{bank_code}R{key:011d}",
                booking_date=day,
                amount=amount,
                description=f"Reimb. bank charge {reference} from office a/c",
                reference=f"REIMB {reference}",
                kind="charge_reimbursement",
            )
        )
    return fees


def _last4(account_number: Any, fallback: int) -> str:
    digits = "".join(ch for ch in str(account_number or "") if ch.isdigit())
    return (digits[-4:] if len(digits) >= 4 else f"{fallback:04d}"[-4:]).rjust(4, "0")


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


# --- statement periods --------------------------------------------------------------------------


def statement_periods(
    first_day: date, last_day: date, noise: StatementNoise
) -> list[tuple[date, date]]:
    """Calendar periods of ``months_per_statement`` months from ``first_day`` to ``last_day``;
    the last starts ``overlap_days`` before the previous one ends."""
    step = noise.months_per_statement
    periods: list[tuple[date, date]] = []
    start = first_day
    while start <= last_day:
        index = (start.year * 12 + start.month - 1) // step * step + step  # next boundary
        end = date(index // 12, index % 12 + 1, 1) - timedelta(days=1)
        periods.append((start, min(end, last_day)))
        start = end + timedelta(days=1)
    if len(periods) >= 2 and noise.overlap_days:
        previous_end = periods[-2][1]
        periods[-1] = (previous_end - timedelta(days=noise.overlap_days - 1), periods[-1][1])
    return periods


# --- files --------------------------------------------------------------------------------------


def write_statements(
    source: FirmSource,
    directory: Path,
    *,
    formats: Mapping[str, StatementFormat] | None = None,
    noise: StatementNoise | None = None,
    last_day: date | None = None,
) -> list[WrittenStatement]:
    """Write every account's statements to ``directory`` (created if missing), in the order a
    cashier would import them. ``formats`` maps ``office``, ``client`` or an account id (as
    text) to a format; by default client accounts get camt.053 and the office account OFX."""
    noise = noise or StatementNoise()
    chosen = {"office": StatementFormat.OFX, "client": StatementFormat.CAMT053, **(formats or {})}
    directory.mkdir(parents=True, exist_ok=True)
    written: list[WrittenStatement] = []
    for banking in bank_activity(source, noise, last_day=last_day):
        fmt = chosen.get(str(banking.bank_account_id), chosen[banking.kind])
        for number, (start, end) in enumerate(
            statement_periods(banking.first_day, banking.last_day, noise), start=1
        ):
            opening = banking.balance_before(start)
            entries = [e for e in banking.entries if start <= e.booking_date <= end]
            if fmt is StatementFormat.CSV and not entries:
                continue  # a CSV export of no transactions says nothing (no balance, no period)
            closing = opening + sum(e.amount for e in entries)
            suffix = {"camt053": "camt053.xml", "ofx": "ofx", "mt940": "mt940", "csv": "csv"}[fmt]
            path = directory / (f"{banking.bank_account_id}-{start:%Y%m%d}-{end:%Y%m%d}.{suffix}")
            path.write_bytes(render_statement(fmt, banking, start, end, entries, opening, number))
            written.append(
                WrittenStatement(
                    bank_account_id=banking.bank_account_id,
                    name=banking.name,
                    path=path,
                    format=fmt,
                    period_start=start,
                    period_end=end,
                    opening_balance=opening,
                    closing_balance=closing,
                    lines=len(entries),
                    csv_mapping=csv_mapping(banking) if fmt is StatementFormat.CSV else None,
                )
            )
    return written


def render_statement(
    fmt: StatementFormat,
    banking: AccountBanking,
    start: date,
    end: date,
    entries: Sequence[BankEntry],
    opening: int,
    number: int,
) -> bytes:
    if fmt is StatementFormat.CAMT053:
        return _camt053(banking, start, end, entries, opening, number)
    if fmt is StatementFormat.OFX:
        return _ofx(banking, start, end, entries, opening)
    if fmt is StatementFormat.MT940:
        return _mt940(banking, start, end, entries, opening, number)
    return _csv(entries, opening)


def _decimal(minor: int) -> str:
    return f"{Decimal(abs(minor)).scaleb(-2):.2f}"


def _signed(minor: int) -> str:
    return ("-" if minor < 0 else "") + _decimal(minor)


def _camt053(
    banking: AccountBanking,
    start: date,
    end: date,
    entries: Sequence[BankEntry],
    opening: int,
    number: int,
) -> bytes:
    ccy = banking.currency
    closing = opening + sum(e.amount for e in entries)
    stmt_id = f"{banking.bic[:4]}-{banking.bank_account_id}-{end:%Y%m%d}"

    def balance(code: str, minor: int, day: date) -> str:
        return (
            f"      <Bal>\n        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\n"
            f'        <Amt Ccy="{ccy}">{_decimal(minor)}</Amt>\n'
            f"        <CdtDbtInd>{'CRDT' if minor >= 0 else 'DBIT'}</CdtDbtInd>\n"
            f"        <Dt><Dt>{day.isoformat()}</Dt></Dt>\n      </Bal>\n"
        )

    def entry(e: BankEntry) -> str:
        party = "Dbtr" if e.amount > 0 else "Cdtr"
        refs = f"<Refs><EndToEndId>{escape(e.reference)}</EndToEndId></Refs>" if e.reference else ""
        return (
            f'      <Ntry>\n        <Amt Ccy="{ccy}">{_decimal(e.amount)}</Amt>\n'
            f"        <CdtDbtInd>{'CRDT' if e.amount > 0 else 'DBIT'}</CdtDbtInd>\n"
            f"        <Sts>BOOK</Sts>\n"
            f"        <BookgDt><Dt>{e.booking_date.isoformat()}</Dt></BookgDt>\n"
            f"        <ValDt><Dt>{e.booking_date.isoformat()}</Dt></ValDt>\n"
            f"        <AcctSvcrRef>{e.bank_ref}</AcctSvcrRef>\n"
            f"        <NtryDtls><TxDtls>{refs}"
            + (
                f"<RltdPties><{party}><Nm>{escape(banking.name)}</Nm></{party}></RltdPties>"
                if e.kind == "charge_reimbursement"
                else ""
            )
            + f"<RmtInf><Ustrd>{escape(e.description[:140])}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls>\n      </Ntry>\n"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n'
        "  <BkToCstmrStmt>\n"
        f"    <GrpHdr><MsgId>{stmt_id}</MsgId><CreDtTm>{end.isoformat()}T23:00:00</CreDtTm></GrpHdr>\n"
        f"    <Stmt>\n      <Id>{stmt_id}</Id>\n      <ElctrncSeqNb>{number}</ElctrncSeqNb>\n"
        f"      <CreDtTm>{end.isoformat()}T23:00:00</CreDtTm>\n"
        f"      <FrToDt><FrDtTm>{start.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{end.isoformat()}T23:59:59</ToDtTm></FrToDt>\n"
        f"      <Acct><Id><IBAN>{banking.iban}</IBAN></Id><Ccy>{ccy}</Ccy>"
        f"<Nm>{escape(banking.name)}</Nm>"
        f"<Svcr><FinInstnId><BIC>{banking.bic}</BIC></FinInstnId></Svcr></Acct>\n"
        + balance("PRCD", opening, start - timedelta(days=1))
        + balance("CLBD", closing, end)
        + "".join(entry(e) for e in entries)
        + "    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n"
    ).encode()


def _sgml(text: str) -> str:
    return escape(text).replace("\n", " ")


def _ofx(
    banking: AccountBanking,
    start: date,
    end: date,
    entries: Sequence[BankEntry],
    opening: int,
) -> bytes:
    closing = opening + sum(e.amount for e in entries)
    body = []
    for e in entries:
        reference = e.reference or ""
        check = reference.upper().startswith("CHQ")
        trntype = (
            "CHECK"
            if check
            else "FEE"
            if e.kind == "bank_charge"
            else ("CREDIT" if e.amount > 0 else "DEBIT")
        )
        body.append(
            f"<STMTTRN>\n<TRNTYPE>{trntype}\n<DTPOSTED>{e.booking_date:%Y%m%d}\n"
            f"<TRNAMT>{_signed(e.amount)}\n<FITID>{e.bank_ref}\n"
            + (f"<CHECKNUM>{_sgml(reference.split('-')[-1])}\n" if check else "")
            + (f"<REFNUM>{_sgml(reference)}\n" if reference and not check else "")
            + f"<NAME>{_sgml(e.description[:32])}\n<MEMO>{_sgml(e.description[:255])}\n"
            "</STMTTRN>\n"
        )
    text = (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX>\n<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        f"<DTSERVER>{end:%Y%m%d}230000\n<LANGUAGE>ENG\n</SONRS>\n</SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>0\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        f"<STMTRS>\n<CURDEF>{banking.currency}\n<BANKACCTFROM>\n<BANKID>{banking.bic}\n"
        f"<ACCTID>{banking.iban}\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n"
        f"<BANKTRANLIST>\n<DTSTART>{start:%Y%m%d}\n<DTEND>{end:%Y%m%d}\n"
        + "".join(body)
        + "</BANKTRANLIST>\n"
        f"<LEDGERBAL>\n<BALAMT>{_signed(closing)}\n<DTASOF>{end:%Y%m%d}\n</LEDGERBAL>\n"
        "</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    )
    return text.encode("cp1252", errors="replace")


_SWIFT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


def _swift(text: str, width: int) -> str:
    """SWIFT's character set: accents dropped, anything else a space, cut to ``width``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch in _SWIFT_CHARS else " " for ch in plain)[:width].strip()


def _mt940(
    banking: AccountBanking,
    start: date,
    end: date,
    entries: Sequence[BankEntry],
    opening: int,
    number: int,
) -> bytes:
    ccy = banking.currency

    def amount(minor: int) -> str:
        return _decimal(minor).replace(".", ",")

    def balance(tag: str, day: date, minor: int) -> str:
        return f":{tag}:{'C' if minor >= 0 else 'D'}{day:%y%m%d}{ccy}{amount(minor)}\n"

    closing = opening + sum(e.amount for e in entries)
    lines = [
        f":20:{banking.bic[:4]}{end:%y%m%d}{number:03d}\n",
        f":25:{banking.iban}\n",
        f":28C:{number:05d}/001\n",
        balance("60F", start - timedelta(days=1), opening),
    ]
    for e in entries:
        customer = _swift(e.reference or "NONREF", 16).replace(" ", "") or "NONREF"
        mark = "C" if e.amount > 0 else "D"
        kind = "CHG" if e.kind == "bank_charge" else "CHK" if customer.startswith("CHQ") else "TRF"
        lines.append(
            f":61:{e.booking_date:%y%m%d}{e.booking_date:%m%d}{mark}{amount(e.amount)}"
            f"N{kind}{customer}//{e.bank_ref}\n"
        )
        narrative = _swift(e.description, 65 * 4)
        chunks = [narrative[i : i + 65] for i in range(0, len(narrative), 65)] or ["-"]
        lines.append(":86:" + "\n".join(chunks) + "\n")
    lines.append(balance("62F", end, closing))
    return "".join(lines).encode("ascii")


CSV_HEADER = ("Date", "Value date", "Description", "Reference", "Money out", "Money in", "Balance")


def csv_mapping(banking: AccountBanking) -> dict[str, Any]:
    """The column mapping that reads these CSV files (the reconciliation service's
    ``csv_mapping`` JSON)."""
    return {
        "account": {"iban": banking.iban},
        "currency": banking.currency,
        "booking_date": "Date",
        "value_date": "Value date",
        "description": ["Description"],
        "reference": "Reference",
        "amount": {"debit": "Money out", "credit": "Money in"},
        "balance": "Balance",
        "date_formats": ["%d/%m/%Y"],
        "number_format": {"decimal_separator": ".", "thousands_separator": ","},
    }


def _csv(entries: Sequence[BankEntry], opening: int) -> bytes:
    def money(minor: int) -> str:
        return f"{Decimal(minor).scaleb(-2):,.2f}"

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    rows = [",".join(CSV_HEADER)]
    balance = opening
    for e in entries:
        balance += e.amount
        rows.append(
            ",".join(
                [
                    f"{e.booking_date:%d/%m/%Y}",
                    f"{e.booking_date:%d/%m/%Y}",
                    quoted(e.description),
                    quoted(e.reference or ""),
                    quoted(money(-e.amount)) if e.amount < 0 else "",
                    quoted(money(e.amount)) if e.amount > 0 else "",
                    quoted(money(balance)),
                ]
            )
        )
    return ("\n".join(rows) + "\n").encode("utf-8")
