"""Bank CSV exports read through a column mapping: each sign convention, number and date
format, row order, and the stable ids of lines that have none."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    AmountWithIndicator,
    CsvMapping,
    DebitCreditColumns,
    FileFormat,
    NumberFormat,
    SignedAmount,
    StatementError,
    StatementErrorKind,
    parse_statement,
)
from cashroom_reconciliation.domain.parsing.values import formatted_amount

FIXTURES = Path(__file__).parent / "fixtures"
BARCLAYS = (FIXTURES / "barclays_client_2024-07.csv").read_bytes()
EU_OFFICE = (FIXTURES / "eu_office_2024-08.csv").read_bytes()

BARCLAYS_MAPPING = CsvMapping(
    account=AccountIdentification(iban="GB38BUKB20451241234567"),
    currency="GBP",
    booking_date="Date",
    amount=DebitCreditColumns(debit="Money Out", credit="Money In"),
    description=("Description",),
    balance="Balance",
)
EU_MAPPING = CsvMapping(
    account=AccountIdentification(iban="IE68AIBK93115287654321"),
    currency="EUR",
    booking_date="Buchungstag",
    value_date="Valuta",
    amount=AmountWithIndicator(
        amount="Betrag",
        indicator="S/H",
        debit_codes=frozenset({"S"}),
        credit_codes=frozenset({"H"}),
    ),
    description=("Verwendungszweck",),
    counterparty="Auftraggeber",
    date_formats=("%d.%m.%Y",),
    number_format=NumberFormat(decimal_separator=",", thousands_separator="."),
    delimiter=";",
    header_line=4,
)


def gbp(text: str) -> Money:
    return Money.of(text, "GBP")


def test_debit_and_credit_columns_newest_first_with_a_running_balance() -> None:
    statement = parse_statement(BARCLAYS, csv_mapping=BARCLAYS_MAPPING)

    assert statement.file_format is FileFormat.CSV
    assert statement.account == BARCLAYS_MAPPING.account
    assert (statement.period_start, statement.period_end) == (date(2024, 7, 1), date(2024, 7, 8))
    # the oldest line paid out 500.00 leaving 8,000.00: it opened at 8,500.00
    assert statement.opening_balance == gbp("8500.00")
    assert statement.closing_balance == gbp("10245.00")  # the newest line's balance
    assert [line.amount for line in statement.lines] == [  # oldest first
        gbp("-500.00"),
        gbp("3500.00"),
        gbp("-1250.00"),
        gbp("-2.50"),
        gbp("-2.50"),
    ]
    deposit = statement.lines[1]
    assert deposit.description == "O'Sullivan, Ciarán M3310 deposit"  # quoted comma kept
    assert deposit.location == "line 5"
    assert statement.lines[0].description == "Zoë Ashworth refund M2988"


def test_two_identical_lines_stay_two_and_keep_their_ids_on_reimport() -> None:
    first_import = parse_statement(BARCLAYS, csv_mapping=BARCLAYS_MAPPING).lines
    second_import = parse_statement(BARCLAYS, csv_mapping=BARCLAYS_MAPPING).lines

    fee_one, fee_two = first_import[3], first_import[4]
    assert fee_one.bank_id != fee_two.bank_id
    assert fee_one.bank_id.rsplit("-", 1)[0] == fee_two.bank_id.rsplit("-", 1)[0]
    assert (fee_one.bank_id[-2:], fee_two.bank_id[-2:]) == ("-0", "-1")
    assert [line.bank_id for line in first_import] == [line.bank_id for line in second_import]


def test_an_overlapping_export_gives_the_shared_lines_the_same_ids() -> None:
    # A later export starting on 5 July holds the cheque and both card fees again.
    later = (
        b"Date,Type,Description,Money Out,Money In,Balance\n"
        b'09/07/2024,BGC,Refund,,10.00,"10,255.00"\n'
        b'08/07/2024,DEB,CARD FEE,2.50,,"10,245.00"\n'
        b'08/07/2024,DEB,CARD FEE,2.50,,"10,247.50"\n'
        b'05/07/2024,CHQ,"Cheque 100501 HM Courts & Tribunals","1,250.00",,"10,250.00"\n'
    )

    earlier_ids = {
        line.bank_id for line in parse_statement(BARCLAYS, csv_mapping=BARCLAYS_MAPPING).lines
    }
    later_ids = [
        line.bank_id for line in parse_statement(later, csv_mapping=BARCLAYS_MAPPING).lines
    ]

    assert [bank_id in earlier_ids for bank_id in later_ids] == [True, True, True, False]


def test_amount_with_indicator_european_numbers_a_preamble_and_value_dates() -> None:
    statement = parse_statement(EU_OFFICE, csv_mapping=EU_MAPPING)

    fee, translation = statement.lines
    assert fee.amount == Money.of("1234.56", "EUR")  # 1.234,56 H
    assert fee.counterparty == "Müller & Söhne GmbH"
    assert translation.amount == Money.of("-420.00", "EUR")  # 420,00 S
    assert (translation.booking_date, translation.value_date) == (
        date(2024, 8, 5),
        date(2024, 8, 6),
    )
    assert translation.description == "Übersetzung M4410"
    # no balance column: the export states no balances
    assert statement.opening_balance is None and statement.closing_balance is None


def test_one_signed_amount_column_and_a_column_given_by_position() -> None:
    data = b'Posted,Narrative,Amount\n02/09/2024,Lodgement M5001,"2,000.00"\n03/09/2024,DD Eircom,-45.10\n'
    mapping = CsvMapping(
        account=AccountIdentification(number="12345678", bank_code="93-11-52"),
        currency="EUR",
        booking_date=0,
        amount=SignedAmount(column="Amount"),
        description=(1,),
    )

    lines = parse_statement(data, csv_mapping=mapping).lines

    assert [line.amount for line in lines] == [
        Money.of("2000.00", "EUR"),
        Money.of("-45.10", "EUR"),
    ]


def test_a_bank_that_shows_money_out_as_positive_is_negated() -> None:
    data = b"Date,Details,Value\n02/09/2024,Card spend,12.00\n03/09/2024,Payment received,(50.00)\n"
    mapping = CsvMapping(
        account=AccountIdentification(number="5555"),
        currency="GBP",
        booking_date="Date",
        amount=SignedAmount(column="Value", negate=True),
        description=("Details",),
    )

    lines = parse_statement(data, csv_mapping=mapping).lines

    assert [line.amount for line in lines] == [gbp("-12.00"), gbp("50.00")]  # (50.00) is −50


def test_a_running_balance_that_does_not_follow_names_the_line() -> None:
    broken = BARCLAYS.replace(b'"11,500.00"', b'"11,400.00"')

    with pytest.raises(StatementError) as caught:
        parse_statement(broken, csv_mapping=BARCLAYS_MAPPING)

    assert caught.value.kind is StatementErrorKind.MALFORMED
    # the deposit (line 5) follows the 8,000.00 left on 1 July: 8,000.00 + 3,500.00 ≠ 11,400.00
    assert caught.value.location == "line 5"
    assert "running balance 11,400.00 GBP is not the previous balance 8,000.00 GBP" in str(
        caught.value
    )


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([(".", ","), (",", "."), (".", None), (",", " "), (".", "'")]),
)
def test_any_amount_written_with_the_banks_separators_reads_back_exactly(
    minor: int, separators: tuple[str, str | None]
) -> None:
    decimal_separator, thousands_separator = separators
    whole, cents = divmod(abs(minor), 100)
    grouped = f"{whole:,}".replace(",", thousands_separator or "")
    text = f"{'-' if minor < 0 else ''}{grouped}{decimal_separator}{cents:02d}"
    number_format = NumberFormat(decimal_separator, thousands_separator)

    assert formatted_amount(text, number_format, "line 2") == Decimal(minor).scaleb(-2)
