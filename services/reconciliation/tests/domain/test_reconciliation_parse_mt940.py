"""An MT940 file from AIB for an office account: two daily statements in one file."""

from datetime import date
from pathlib import Path

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import BankIdSource, FileFormat, parse_statement

FIXTURES = Path(__file__).parent / "fixtures"
MT940 = (FIXTURES / "aib_office_2024-06.mt940").read_bytes()


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def test_two_daily_statements_chain_into_one() -> None:
    statement = parse_statement(MT940)

    assert statement.file_format is FileFormat.MT940
    assert statement.account.iban == "IE68AIBK93115287654321"
    assert statement.currency == "EUR"
    assert statement.opening_balance == eur("25000.00")  # :60F: of the first
    assert statement.closing_balance == eur("24624.25")  # :62F: of the second
    # the opening balance is struck on 31 May, so the statement covers 1 to 4 June
    assert (statement.period_start, statement.period_end) == (date(2024, 6, 1), date(2024, 6, 4))
    assert statement.statement_number == "00123/001..00124/001"


def test_lines_are_signed_by_their_mark_including_a_reversed_credit() -> None:
    fees, cheque, charges, reversal = parse_statement(MT940).lines

    assert fees.amount == eur("1200.00")  # C
    assert cheque.amount == eur("-350.75")  # D
    assert charges.amount == eur("-25.00")
    assert reversal.amount == eur("-1200.00")  # RC: a reversed credit takes the money back
    # 25,000.00 + 1,200.00 − 350.75 − 25.00 − 1,200.00 = 24,624.25
    assert 2500000 + 120000 - 35075 - 2500 - 120000 == 2462425


def test_the_bank_reference_dated_and_valued_is_the_line_id() -> None:
    fees, cheque, charges, _ = parse_statement(MT940).lines

    assert fees.bank_id == "AIB0603A1/20240603/120000"
    assert fees.bank_id_source is BankIdSource.MT940_BANK_REFERENCE
    assert cheque.reference == "100455"  # the customer reference (cheque number)
    assert cheque.description == "Cheque 100455 Law Society of Ireland"  # :86:
    assert fees.description == "Fees Ní Dhonnchadha M2051"
    assert charges.bank_id_source is BankIdSource.CONTENT_HASH  # NONREF, no // reference
    assert charges.reference is None
    assert charges.location == "line 14"


def test_a_swift_envelope_is_read_and_a_statement_level_narrative_is_not_glued_to_a_line() -> None:
    body = MT940.decode().replace(":64:C240604EUR24624,25\n", ":86:Thank you for banking\n")
    wrapped = (
        "{1:F01AIBKIE2DAXXX0000000000}{2:O9401200240604AIBKIE2DAXXX00000000002406041200N}{4:\n"
        + body
        + "-}\n"
    ).encode()

    statement = parse_statement(wrapped)

    assert statement.closing_balance == eur("24624.25")
    assert statement.lines[-1].description == "Reversal returned payment O'Donnell"
