"""A camt.053 statement from AIB for a client account becomes a normalised Statement."""

from datetime import date
from pathlib import Path

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    BankIdSource,
    FileFormat,
    parse_statement,
)

FIXTURES = Path(__file__).parent / "fixtures"
CAMT = (FIXTURES / "aib_client_2024-03.camt053.xml").read_bytes()


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def test_the_account_period_and_balances_are_the_banks() -> None:
    statement = parse_statement(CAMT)

    assert statement.file_format is FileFormat.CAMT053
    assert statement.account == AccountIdentification(
        iban="IE29AIBK93115212345678", bank_code="AIBKIE2D"
    )
    assert statement.currency == "EUR"
    assert (statement.period_start, statement.period_end) == (date(2024, 3, 1), date(2024, 3, 31))
    assert statement.opening_balance == eur("48250.00")  # PRCD
    assert statement.closing_balance == eur("59412.00")  # CLBD (CLAV is not the booked balance)
    assert statement.statement_number == "63"


def test_booked_entries_become_signed_lines_with_the_banks_ids() -> None:
    lines = parse_statement(CAMT).lines

    assert [(line.bank_id, line.amount) for line in lines[:3]] == [
        ("AIB20240304000117", eur("12500.00")),  # AcctSvcrRef
        ("AIB20240306000342", eur("-3175.50")),  # DBIT is money out
        ("LODG0308", eur("1850.00")),  # no AcctSvcrRef: the NtryRef
    ]
    assert [line.bank_id_source for line in lines] == [
        BankIdSource.CAMT_ACCOUNT_SERVICER_REF,
        BankIdSource.CAMT_ACCOUNT_SERVICER_REF,
        BankIdSource.CAMT_ENTRY_REF,
        BankIdSource.CONTENT_HASH,  # the bank fee has no reference at all
    ]
    # the lines add up to closing − opening: 12,500.00 − 3,175.50 + 1,850.00 − 12.50
    assert sum(line.amount.amount_minor for line in lines) == 1250000 - 317550 + 185000 - 1250
    assert 5941200 - 4825000 == 1250000 - 317550 + 185000 - 1250


def test_a_line_keeps_its_dates_references_and_counterparty_with_accents() -> None:
    deposit, stamp_duty, lodgement, fee = parse_statement(CAMT).lines

    assert deposit.booking_date == deposit.value_date == date(2024, 3, 4)
    assert deposit.reference == "M0042-DEPOSIT"  # EndToEndId
    assert deposit.counterparty == "Seán Ó'Súilleabháin"  # the debtor paid us
    assert deposit.description == "Deposit 14 Ashgrove Rd M0042"
    assert (stamp_duty.booking_date, stamp_duty.value_date) == (date(2024, 3, 6), date(2024, 3, 7))
    assert stamp_duty.counterparty == "Revenue Commissioners"  # we paid the creditor
    # a batch booking stays one line, as the bank booked it, with both remittances
    assert lodgement.description == "M0051 costs on account M0063"
    assert lodgement.reference == "LODG0308"  # EndToEndId NOTPROVIDED is not a reference
    assert fee.description == "Quarterly account fee"
    assert "Ntry[4]" in fee.location


def test_a_pending_entry_is_kept_apart_and_not_in_the_balances() -> None:
    statement = parse_statement(CAMT)

    assert [line.bank_id for line in statement.pending_lines] == ["AIB20240329000901"]
    assert statement.pending_lines[0].amount == eur("500.00")
    assert all(line.bank_id != "AIB20240329000901" for line in statement.lines)


def test_the_content_hash_of_a_line_without_ids_is_the_same_on_every_import() -> None:
    first = parse_statement(CAMT).lines[3]
    again = parse_statement(CAMT).lines[3]

    assert first.bank_id == again.bank_id
    assert first.bank_id.endswith("-0")  # the first (only) occurrence of that line


def test_daily_statements_in_one_file_chain_into_one_statement() -> None:
    # Two days of the same account: day 2 opens where day 1 closed (1,000.00 + 250.00).
    document = _two_day_document(day_two_opening="1250.00")

    statement = parse_statement(document)

    assert statement.opening_balance == eur("1000.00")
    assert statement.closing_balance == eur("1150.00")  # 1,250.00 − 100.00
    assert (statement.period_start, statement.period_end) == (date(2024, 4, 1), date(2024, 4, 2))
    assert [line.bank_id for line in statement.lines] == ["D1-1", "D2-1"]


def _two_day_document(day_two_opening: str) -> bytes:
    def stmt(day: int, opening: str, closing: str, ref: str, amount: str, ind: str) -> str:
        return f"""
    <Stmt><Id>S{day}</Id>
      <Acct><Id><IBAN>IE29AIBK93115212345678</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-04-0{day}</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-04-0{day}</Dt></Dt></Bal>
      <Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2024-04-0{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef></Ntry>
    </Stmt>"""

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
  <GrpHdr><MsgId>M</MsgId><CreDtTm>2024-04-03T06:00:00</CreDtTm></GrpHdr>
  {stmt(1, "1000.00", "1250.00", "D1-1", "250.00", "CRDT")}
  {stmt(2, day_two_opening, "1150.00", "D2-1", "100.00", "DBIT")}
</BkToCstmrStmt></Document>""".encode()
