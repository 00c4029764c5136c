"""A month on an Irish client account with the noise real statements carry: bank charges not in
the cashbook, receipts lodged together, clearing delays of a few days, a cheque presented late,
a line repeated by an overlapping statement. Imported, matched, then reconciled three ways."""

from datetime import date

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import (
    AccountIdentification,
    AccountPosition,
    BankIdSource,
    CashbookEntry,
    FileFormat,
    MatchRule,
    Statement,
    StatementLine,
    auto_match,
    match_manually,
    plan_import,
    prepare_reconciliation,
)

ACCOUNT = AccountIdentification(iban="IE29AIBK93115212345678")


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def bank(
    bank_id: str, day: int, amount: str, text: str, reference: str | None = None
) -> StatementLine:
    return StatementLine(
        bank_id=bank_id,
        bank_id_source=BankIdSource.CAMT_ACCOUNT_SERVICER_REF,
        booking_date=date(2024, 3, day),
        value_date=date(2024, 3, day),
        amount=eur(amount),
        description=text,
        reference=reference,
    )


def book(entry_id: str, day: int, amount: str, reference: str) -> CashbookEntry:
    return CashbookEntry.of(entry_id, date(2024, 3, day), eur(amount), reference)


CASHBOOK = [
    book("E1", 1, "2500.00", "M0042"),  # Seán Ó'Súilleabháin, deposit
    book("E2", 4, "1000.00", "M0051"),  # three receipts lodged together on the 7th
    book("E3", 4, "850.00", "M0063"),
    book("E4", 5, "125.50", "M0070"),
    book("E5", 6, "-3175.50", "CHQ 000917"),  # cheque presented on the 12th
    book("E6", 11, "-420.00", "Courts Service"),  # clears two days later
    book("E7", 20, "600.00", "M0088"),  # arrives two days later
    book("E8", 28, "-1200.00", "CHQ 000918"),  # not presented by the 31st
    book("E9", 29, "300.00", "M0090"),  # not lodged by the 31st
]

B1 = bank("B1", 2, "2500.00", "SEAN O'SUILLEABHAIN M0042")
B2 = bank("B2", 7, "1975.50", "LODGEMENT 0307")
B3 = bank("B3", 12, "-3175.50", "CHEQUE", reference="000917")
B4 = bank("B4", 13, "-420.00", "EFT 9918")
B5 = bank("B5", 15, "-12.50", "QUARTERLY FEE")
B6 = bank("B6", 22, "600.00", "TRANSFER FROM CLIENT")
B7 = bank("B7", 31, "-2.00", "CARD FEE")

# 1–20 March: 10,000.00 + 2,500.00 + 1,975.50 − 3,175.50 − 420.00 − 12.50 = 10,867.50
FIRST = Statement(
    file_format=FileFormat.CAMT053,
    account=ACCOUNT,
    currency="EUR",
    period_start=date(2024, 3, 1),
    period_end=date(2024, 3, 20),
    opening_balance=eur("10000.00"),
    closing_balance=eur("10867.50"),
    lines=(B1, B2, B3, B4, B5),
)
# 15–31 March opens before the fee (10,880.00) and repeats it:
# 10,880.00 − 12.50 + 600.00 − 2.00 = 11,465.50
SECOND = Statement(
    file_format=FileFormat.CAMT053,
    account=ACCOUNT,
    currency="EUR",
    period_start=date(2024, 3, 15),
    period_end=date(2024, 3, 31),
    opening_balance=eur("10880.00"),
    closing_balance=eur("11465.50"),
    lines=(B5, B6, B7),
)


def import_both() -> list[StatementLine]:
    first = plan_import(FIRST, previous=None, known={})
    known = {line.bank_id: line for line in first.new_lines}
    second = plan_import(SECOND, previous=first.position_after, known=known)
    assert first.is_continuous and second.is_continuous
    assert [line.bank_id for line in second.known_lines] == ["B5"]  # the repeated fee
    assert second.position_after == AccountPosition(date(2024, 3, 31), eur("11465.50"))
    return [*first.new_lines, *second.new_lines]


def test_the_overlapping_statement_adds_its_repeated_line_once() -> None:
    lines = import_both()

    assert [line.bank_id for line in lines] == ["B1", "B2", "B3", "B4", "B5", "B6", "B7"]


def test_the_month_matches_by_the_right_rules_and_the_noise_stays_unmatched() -> None:
    result = auto_match(import_both(), CASHBOOK)

    made = {(m.line_ids, tuple(sorted(m.entry_ids)), m.rule) for m in result.new_matches}
    assert made == {
        (("B1",), ("E1",), MatchRule.AMOUNT_AND_REFERENCE),
        (("B3",), ("E5",), MatchRule.AMOUNT_AND_REFERENCE),  # the cheque number
        (("B4",), ("E6",), MatchRule.AMOUNT_AND_DATE),  # two days' clearing
        (("B6",), ("E7",), MatchRule.AMOUNT_AND_DATE),
        (("B2",), ("E2", "E3", "E4"), MatchRule.ONE_LINE_TO_MANY_ENTRIES),  # the lodgement
    }
    assert [line.bank_id for line in result.unmatched_lines] == ["B5", "B7"]  # bank charges
    assert [entry.entry_id for entry in result.unmatched_entries] == ["E8", "E9"]


def test_month_end_reconciliation_shows_the_charges_as_the_difference() -> None:
    lines = import_both()
    matches = auto_match(lines, CASHBOOK).match_set
    # cashbook: 10,000.00 + receipts 5,375.50 − payments 4,795.50 = 10,580.00
    cashbook_balance = eur("10580.00")
    assert (
        1_000_000 + (250000 + 100000 + 85000 + 12550 + 60000 + 30000) - (317550 + 42000 + 120000)
        == 1_058_000
    )

    statement = prepare_reconciliation(
        account_kind=AccountKind.CLIENT,
        as_of=date(2024, 3, 31),
        statement_balance=eur("11465.50"),
        cashbook_balance=cashbook_balance,
        entries=CASHBOOK,
        lines=lines,
        matches=matches,
        client_ledgers_total=eur("10580.00"),
    )

    assert statement.outstanding_lodgements == eur("300.00")  # E9
    assert statement.unpresented_payments == eur("1200.00")  # E8
    # 11,465.50 + 300.00 − 1,200.00 = 10,565.50
    assert statement.adjusted_bank_balance == eur("10565.50")
    # 10,565.50 − 10,580.00 = −14.50: the two charges (12.50 + 2.00) nobody has posted
    assert statement.difference == eur("-14.50")
    assert [line.bank_id for line in statement.unexplained_lines] == ["B5", "B7"]
    assert not statement.can_sign


def test_once_the_charges_are_posted_and_matched_the_month_signs_three_ways() -> None:
    lines = import_both()
    fee = book("E10", 15, "-12.50", "Bank charge")
    card = book("E11", 31, "-2.00", "Bank charge")
    cashbook = [*CASHBOOK, fee, card]
    matches = auto_match(lines, CASHBOOK).match_set
    matches, _ = match_manually(matches, [B5], [fee])
    matches, _ = match_manually(matches, [B7], [card])

    statement = prepare_reconciliation(
        account_kind=AccountKind.CLIENT,
        as_of=date(2024, 3, 31),
        statement_balance=eur("11465.50"),
        cashbook_balance=eur("10565.50"),  # 10,580.00 − 14.50
        entries=cashbook,
        lines=lines,
        matches=matches,
        client_ledgers_total=eur("10565.50"),
    )

    assert statement.difference == eur("0.00")
    assert statement.three_way_difference == eur("0.00")
    assert statement.unexplained_lines == ()
    assert statement.can_sign
