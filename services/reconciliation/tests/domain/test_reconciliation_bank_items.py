"""A bank charge and the credit that replaced it (quoting it) cancel on the statement."""

from datetime import date

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import BankIdSource, StatementLine, pair_cancelling_items


def line(
    bank_id: str, day: int, cents: int, text: str, reference: str | None = None
) -> StatementLine:
    on = date(2025, 3, day)
    return StatementLine(
        bank_id, BankIdSource.CAMT_ACCOUNT_SERVICER_REF, on, on,
        Money(amount_minor=cents, currency="EUR"), text, reference,
    )  # fmt: skip


CHARGE = line("C1", 31 - 3, -1_500, "Quarterly client account fee", "CHG-2025Q1-4321")


def test_the_charge_and_its_replacement_pair_up() -> None:
    replaced = line("R1", 28, 1_500, "Reimb. bank charge CHG-2025Q1-4321 from office a/c")
    unknown = line("U1", 20, 4_000, "Transfer from J Byrne")

    items = pair_cancelling_items([unknown, CHARGE, replaced])

    [pair] = items.cancelling
    assert (pair.debit.bank_id, pair.credit.bank_id) == ("C1", "R1")
    assert [item.bank_id for item in items.unexplained] == ["U1"]


def test_a_credit_that_does_not_quote_the_charge_or_is_for_another_amount_does_not_pair() -> None:
    silent = line("R2", 28, 1_500, "Transfer from office")
    other_amount = line("R3", 28, 1_400, "Reimb. bank charge CHG-2025Q1-4321")
    late = line("R4", 1, 1_500, "Reimb. bank charge CHG-2025Q1-4321")  # 27 days before

    items = pair_cancelling_items([CHARGE, silent, other_amount, late])

    assert items.cancelling == ()
    assert len(items.unexplained) == 4
