"""Every bad statement file raises one StatementError naming where and why; nothing is
returned half-parsed."""

from pathlib import Path

import pytest

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    CsvMapping,
    ParseLimits,
    SignedAmount,
    StatementError,
    StatementErrorKind,
    ensure_statement_for_account,
    parse_statement,
)

FIXTURES = Path(__file__).parent / "fixtures"
CAMT = (FIXTURES / "aib_client_2024-03.camt053.xml").read_bytes()
OFX_SGML = (FIXTURES / "natwest_client_2024-04.ofx").read_bytes()
OFX_XML = (FIXTURES / "boi_client_2024-05.ofx.xml").read_bytes()
MT940 = (FIXTURES / "aib_office_2024-06.mt940").read_bytes()
SIGNED_CSV = CsvMapping(
    account=AccountIdentification(number="12345678"),
    currency="EUR",
    booking_date="Date",
    amount=SignedAmount(column="Amount"),
    description=("Details",),
)


def refused(
    data: bytes, mapping: CsvMapping | None = None, limits: ParseLimits | None = None
) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_statement(data, csv_mapping=mapping, limits=limits)
    return caught.value


# --- format and size --------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    error = refused(b"  \n")
    assert error.kind is StatementErrorKind.UNKNOWN_FORMAT
    assert error.reason == "the file is empty"


def test_a_pdf_is_not_a_statement_export() -> None:
    error = refused(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    assert error.kind is StatementErrorKind.UNKNOWN_FORMAT
    assert "binary file" in error.reason


def test_a_camt054_notification_is_named_and_refused() -> None:
    data = CAMT.replace(b"camt.053.001.02", b"camt.054.001.02")
    error = refused(data)
    assert error.kind is StatementErrorKind.UNKNOWN_FORMAT
    assert "ISO 20022 camt.054 message, not a camt.053 statement" in error.reason


def test_text_that_is_no_known_format_needs_a_csv_mapping() -> None:
    error = refused(b"Date,Details,Amount\n01/02/2024,Lodgement,10.00\n")
    assert error.kind is StatementErrorKind.UNKNOWN_FORMAT
    assert "needs the account's column mapping" in error.reason


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    error = refused(CAMT, limits=ParseLimits(max_bytes=1000))
    assert error.kind is StatementErrorKind.OVERSIZED
    assert error.reason == f"the file is {len(CAMT):,} bytes; the limit is 1,000"


def test_a_file_over_the_line_limit_is_refused_unread() -> None:
    error = refused(MT940, limits=ParseLimits(max_lines=10))
    assert error.kind is StatementErrorKind.OVERSIZED
    assert "the limit is 10" in error.reason


# --- camt.053 -----------------------------------------------------------------------------


def test_camt_not_well_formed_names_the_line() -> None:
    data = CAMT.replace(b"<Sts>BOOK</Sts>", b"<Sts>BOOK</Stx>", 1)
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert error.location == "line 43"
    assert "not well-formed XML" in error.reason


def test_camt_cut_short_is_truncated() -> None:
    error = refused(CAMT[: len(CAMT) // 2])
    assert error.kind is StatementErrorKind.TRUNCATED


def test_camt_with_an_external_entity_is_refused_and_nothing_is_read_from_disk() -> None:
    data = CAMT.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ).replace(b"<AddtlNtryInf>Quarterly account fee", b"<AddtlNtryInf>&xxe;")
    error = refused(data)
    assert error.kind is StatementErrorKind.UNSAFE_XML
    assert "root:" not in str(error)


def test_camt_billion_laughs_is_refused_without_expansion() -> None:
    laughs = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
        % ((i,) + (i - 1,) * 10)
        for i in range(1, 10)
    )
    data = CAMT.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Document [<!ENTITY l0 "ha">'
        + laughs
        + b"]>",
    ).replace(b"Quarterly account fee", b"&l9;")
    error = refused(data)
    assert error.kind in {StatementErrorKind.UNSAFE_XML, StatementErrorKind.MALFORMED}


def test_camt_entry_in_another_currency_names_the_entry() -> None:
    data = CAMT.replace(b'<Amt Ccy="EUR">3175.50</Amt>', b'<Amt Ccy="GBP">3175.50</Amt>')
    error = refused(data)
    assert error.kind is StatementErrorKind.MIXED_CURRENCIES
    assert error.location == "line 60 (Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt)"
    assert error.reason == "an amount in GBP on a EUR statement"


def test_camt_amount_with_more_decimals_than_the_currency_has() -> None:
    data = CAMT.replace(b">3175.50<", b">3175.505<")
    error = refused(data)
    assert error.kind is StatementErrorKind.AMOUNT_PRECISION
    assert "Ntry[2]/Amt" in (error.location or "")
    assert error.reason == "amount 3175.505 has more decimal places than EUR allows (2)"


def test_camt_date_that_does_not_exist() -> None:
    data = CAMT.replace(b"<BookgDt><Dt>2024-03-06</Dt>", b"<BookgDt><Dt>2024-02-30</Dt>")
    error = refused(data)
    assert error.kind is StatementErrorKind.BAD_DATE
    assert "Ntry[2]/BookgDt" in (error.location or "")
    assert "'2024-02-30' is not a date" in error.reason


def test_camt_without_a_closing_balance() -> None:
    data = CAMT.replace(b"<Cd>CLBD</Cd>", b"<Cd>ITBD</Cd>")
    error = refused(data)
    assert error.kind is StatementErrorKind.MISSING_FIELD
    assert error.reason == "no balance of type CLBD"


def test_camt_iban_with_wrong_check_digits() -> None:
    data = CAMT.replace(
        b"<IBAN>IE29AIBK93115212345678</IBAN>", b"<IBAN>IE30AIBK93115212345678</IBAN>"
    )
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert "'IE30AIBK93115212345678' is not a valid IBAN" in error.reason


def test_camt_daily_statements_that_do_not_chain_name_the_second() -> None:
    data = CAMT.replace(b"</Stmt>", b"</Stmt>" + _second_stmt(opening="59400.00"))
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert "Stmt[2]" in (error.location or "")
    assert (
        "opens at 59,400.00 EUR but the one before it in the file closed at 59,412.00 EUR"
        in error.reason
    )


def _second_stmt(opening: str) -> bytes:
    return f"""<Stmt><Id>2</Id><Acct><Id><IBAN>IE29AIBK93115212345678</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-04-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-04-01</Dt></Dt></Bal></Stmt>""".encode()


# --- OFX ---------------------------------------------------------------------------------


def test_ofx_cut_short_is_truncated() -> None:
    error = refused(OFX_SGML[: OFX_SGML.index(b"<LEDGERBAL>")])
    assert error.kind is StatementErrorKind.TRUNCATED
    assert "does not end with </OFX>" in error.reason


def test_ofx_amount_with_a_thousands_separator_names_the_transaction() -> None:
    data = OFX_SGML.replace(b"<TRNAMT>2500.00", b"<TRNAMT>2,500.00")
    error = refused(data)
    assert error.kind is StatementErrorKind.BAD_AMOUNT
    assert error.location == "STMTRS/BANKTRANLIST/STMTTRN[1] (FITID 20240402-0001)/TRNAMT"
    assert error.reason == "'2,500.00' is not a decimal amount"


def test_ofx_amount_with_too_many_decimals() -> None:
    data = OFX_XML.replace(b"<TRNAMT>-150.00<", b"<TRNAMT>-150.005<")
    error = refused(data)
    assert error.kind is StatementErrorKind.AMOUNT_PRECISION
    assert error.location == "STMTRS/BANKTRANLIST/STMTTRN[2] (FITID BOI-7782)/TRNAMT"


def test_ofx_date_that_does_not_parse() -> None:
    data = OFX_SGML.replace(b"<DTPOSTED>20240410", b"<DTPOSTED>20240431")
    error = refused(data)
    assert error.kind is StatementErrorKind.BAD_DATE
    assert error.location == "STMTRS/BANKTRANLIST/STMTTRN[4] (FITID 20240410-0002)/DTPOSTED"


def test_ofx_transaction_in_another_currency() -> None:
    data = OFX_XML.replace(
        b"<FITID>BOI-7782</FITID>",
        b"<FITID>BOI-7782</FITID><CURRENCY><CURRATE>1.17</CURRATE><CURSYM>GBP</CURSYM></CURRENCY>",
    )
    error = refused(data)
    assert error.kind is StatementErrorKind.MIXED_CURRENCIES
    assert error.reason == "the transaction is in GBP, the statement in EUR"


def test_ofx_fitid_used_twice_in_one_file() -> None:
    data = OFX_XML.replace(b"<FITID>BOI-7782</FITID>", b"<FITID>BOI-7781</FITID>")
    error = refused(data)
    assert error.kind is StatementErrorKind.DUPLICATE_LINE_ID
    assert "bank id 'BOI-7781' is used twice" in error.reason


def test_ofx_correction_records_are_refused_not_misread() -> None:
    data = OFX_XML.replace(
        b"<FITID>BOI-7782</FITID>", b"<FITID>BOI-7782</FITID><CORRECTFITID>BOI-7700</CORRECTFITID>"
    )
    error = refused(data)
    assert error.kind is StatementErrorKind.UNSUPPORTED
    assert "FITID BOI-7782" in (error.location or "")


def test_ofx_with_a_broken_header() -> None:
    data = OFX_SGML.replace(b"VERSION:102", b"VERSION:abc")
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert error.location == "header"


# --- MT940 -------------------------------------------------------------------------------


def test_mt940_without_a_final_closing_balance_is_truncated() -> None:
    data = MT940[: MT940.index(b":62F:C240604")]
    error = refused(data)
    assert error.kind is StatementErrorKind.TRUNCATED
    assert "no closing balance" in error.reason


def test_mt940_amount_with_three_decimals_names_the_line() -> None:
    data = MT940.replace(b"D350,75NCHK", b"D350,755NCHK")
    error = refused(data)
    assert error.kind is StatementErrorKind.AMOUNT_PRECISION
    assert error.location == "line 7"


def test_mt940_statement_line_that_does_not_read() -> None:
    data = MT940.replace(b":61:2406040604D25,00", b":61:24XX040604D25,00")
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert error.location == "line 14"


def test_mt940_unknown_tag() -> None:
    data = MT940.replace(b":28C:00124/001", b":99:hello")
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert (error.location, error.reason) == ("line 12", "unknown MT940 tag :99:")


def test_mt940_statement_in_another_currency_in_the_same_file() -> None:
    data = MT940.replace(b":60F:C240603EUR25849,25", b":60F:C240603GBP25849,25").replace(
        b":62F:C240604EUR24624,25", b":62F:C240604GBP24624,25"
    )
    error = refused(data)
    assert error.kind is StatementErrorKind.MIXED_CURRENCIES


def test_mt940_date_that_does_not_exist() -> None:
    data = MT940.replace(b":61:2406030603C1200,00", b":61:2406310631C1200,00")
    error = refused(data)
    assert error.kind is StatementErrorKind.BAD_DATE
    assert (error.location, error.reason) == ("line 5", "'240631' is not a date (YYMMDD)")


def test_mt940_balance_that_does_not_read() -> None:
    data = MT940.replace(b":62F:C240603EUR25849,25", b":62F:C240603EUR")
    error = refused(data)
    assert error.kind is StatementErrorKind.MALFORMED
    assert error.location == "line 9"


# --- CSV ---------------------------------------------------------------------------------


def test_csv_unparseable_date_names_the_line() -> None:
    data = b"Date,Details,Amount\n01/02/2024,Lodgement,10.00\n31/02/2024,Cheque,-5.00\n"
    error = refused(data, SIGNED_CSV)
    assert error.kind is StatementErrorKind.BAD_DATE
    assert (error.location, error.reason) == (
        "line 3",
        "'31/02/2024' does not parse as a date (%d/%m/%Y)",
    )


def test_csv_amount_with_too_many_decimals() -> None:
    data = b"Date,Details,Amount\n01/02/2024,Lodgement,10.005\n"
    error = refused(data, SIGNED_CSV)
    assert error.kind is StatementErrorKind.AMOUNT_PRECISION
    assert error.location == "line 2"


def test_csv_amount_with_misplaced_separators() -> None:
    data = b'Date,Details,Amount\n01/02/2024,Lodgement,"1,23,4.00"\n'
    error = refused(data, SIGNED_CSV)
    assert error.kind is StatementErrorKind.BAD_AMOUNT
    assert error.reason == "'1,23,4.00' is not an amount"


def test_csv_row_with_the_wrong_number_of_fields() -> None:
    data = b"Date,Details,Amount\n01/02/2024,Lodgement,10.00\n02/02/2024,Cheque, no 5,-5.00\n"
    error = refused(data, SIGNED_CSV)
    assert (error.kind, error.location) == (StatementErrorKind.MALFORMED, "line 3")
    assert error.reason == "4 fields where the header has 3"


def test_csv_mapped_column_missing_from_the_header() -> None:
    data = b"When,Details,Amount\n01/02/2024,Lodgement,10.00\n"
    error = refused(data, SIGNED_CSV)
    assert error.kind is StatementErrorKind.MISSING_FIELD
    assert (error.location, error.reason) == ("line 1", "the header has no column 'Date'")


def test_csv_line_in_another_currency() -> None:
    mapping = CsvMapping(
        account=AccountIdentification(number="12345678"),
        currency="EUR",
        booking_date="Date",
        amount=SignedAmount(column="Amount"),
        description=("Details",),
        currency_column="Ccy",
    )
    data = b"Date,Details,Amount,Ccy\n01/02/2024,Lodgement,10.00,EUR\n02/02/2024,Fee,-1.00,GBP\n"
    error = refused(data, mapping)
    assert error.kind is StatementErrorKind.MIXED_CURRENCIES
    assert (error.location, error.reason) == ("line 3", "the line is in GBP, the account in EUR")


def test_csv_not_in_the_declared_encoding_names_the_line() -> None:
    data = "Date,Details,Amount\n01/02/2024,Seán,10.00\n".encode("latin-1")
    error = refused(data, SIGNED_CSV)
    assert (error.kind, error.location) == (StatementErrorKind.MALFORMED, "line 2")


def test_csv_with_only_a_header() -> None:
    error = refused(b"Date,Details,Amount\n", SIGNED_CSV)
    assert (error.kind, error.reason) == (
        StatementErrorKind.MISSING_FIELD,
        "the file has no transactions",
    )


# --- the account --------------------------------------------------------------------------


def test_a_statement_for_another_account_is_refused() -> None:
    statement = parse_statement(CAMT)
    office = AccountIdentification(iban="IE68AIBK93115287654321")

    with pytest.raises(StatementError) as caught:
        ensure_statement_for_account(statement, office)

    assert caught.value.kind is StatementErrorKind.WRONG_ACCOUNT
    assert caught.value.reason == (
        "the statement is for account IE29AIBK93115212345678 / AIBKIE2D, not IE68AIBK93115287654321"
    )


def test_an_account_number_is_recognised_inside_the_iban() -> None:
    statement = parse_statement(CAMT)
    by_number = AccountIdentification(number="12345678", bank_code="931152")

    ensure_statement_for_account(statement, by_number)  # no error
    assert statement.closing_balance == Money.of("59412.00", "EUR")
