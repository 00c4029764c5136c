"""OFX 1.x (SGML, NatWest, GBP) and OFX 2.x (XML, Bank of Ireland, EUR) statements."""

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
SGML = (FIXTURES / "natwest_client_2024-04.ofx").read_bytes()
XML = (FIXTURES / "boi_client_2024-05.ofx.xml").read_bytes()


def gbp(text: str) -> Money:
    return Money.of(text, "GBP")


def test_ofx1_account_period_and_ledger_balance() -> None:
    statement = parse_statement(SGML)

    assert statement.file_format is FileFormat.OFX
    assert statement.account == AccountIdentification(number="31926819", bank_code="601613")
    assert statement.currency == "GBP"
    assert (statement.period_start, statement.period_end) == (date(2024, 4, 1), date(2024, 4, 30))
    assert statement.closing_balance == gbp("15664.76")  # LEDGERBAL
    assert statement.opening_balance is None  # OFX does not state one


def test_ofx1_lines_keep_fitid_amount_and_text() -> None:
    credit, cheque, search_fee, account_fee = parse_statement(SGML).lines

    assert [line.bank_id for line in (credit, cheque, search_fee, account_fee)] == [
        "20240402-0001",
        "20240403-0007",
        "20240405-0003",
        "20240410-0002",
    ]
    assert {line.bank_id_source for line in (credit, cheque)} == {BankIdSource.OFX_FITID}
    assert credit.amount == gbp("2500.00")
    assert credit.counterparty == "Zoë O'Brien"  # CHARSET 1252 decoded
    assert credit.description == "M1187 completion funds"  # the MEMO
    assert cheque.amount == gbp("-740.25")
    assert cheque.reference == "100234"  # CHECKNUM
    assert (cheque.booking_date, cheque.value_date) == (date(2024, 4, 3), date(2024, 4, 4))
    assert search_fee.counterparty == "Smith & Jones Searches"  # &amp; unescaped
    assert account_fee.amount == gbp("-5.00")


def test_ofx_dates_are_the_calendar_date_the_bank_wrote_not_shifted_to_utc() -> None:
    # DTPOSTED 20240405000000[+1:BST] is midnight on 5 April in London (23:00 on the 4th UTC).
    search_fee = parse_statement(SGML).lines[2]

    assert search_fee.booking_date == date(2024, 4, 5)


def test_ofx2_xml_with_an_iban_as_the_account_id() -> None:
    statement = parse_statement(XML)

    assert statement.account.iban == "IE43BOFI90001712345679"
    assert statement.account.bank_code == "900017"
    assert statement.currency == "EUR"
    assert statement.closing_balance == Money.of("7850.00", "EUR")
    fees, filing = statement.lines
    assert (fees.bank_id, fees.amount) == ("BOI-7781", Money.of("3000.00", "EUR"))
    assert fees.counterparty == "Aoife Ní Dhonnchadha"
    assert (filing.bank_id, filing.amount) == ("BOI-7782", Money.of("-150.00", "EUR"))
    assert filing.description == "Filing fee M2051"
