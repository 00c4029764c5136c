"""One posting rule at a time, lines computed by hand (E&W, VAT 20%, amounts in pence)."""

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    CLIENT_BANK,
    CLIENT_MONEY,
    CLIENT_SIDE,
    CR,
    CREDIT_NOTES,
    DEBTORS,
    DISCOUNTS,
    DR,
    EXPENSE_RECOVERIES,
    FEES,
    MATTER,
    OFFICE_ACCOUNT,
    OFFICE_BANK,
    OFFICE_SIDE,
    OTHER_MATTER,
    PURCHASE_LEDGER,
    SECOND_CLIENT_ACCOUNT,
    SECOND_CLIENT_BANK,
    SUNDRY,
    UNBILLED,
    VAT_INPUT,
    VAT_OUTPUT,
    bank_account_upserted,
    bill_approved,
    bill_content,
    bill_payment,
    bill_voided,
    billed_disbursement,
    client_money_received,
    credit_memo,
    disbursement_paid,
    fee,
    lines_of,
    new_ledger,
    on,
    only_journal,
    payment_reversed,
    posted,
    purchase_invoice,
    purchase_invoice_paid,
    recharge,
    send,
    transfer,
)

from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_ledger.domain.accounts import AccountType
from cashroom_ledger.domain.decisions import Post
from cashroom_ledger.domain.journals import JournalKind, VatTag
from cashroom_ledger.domain.outcomes import Rejected
from cashroom_ledger.domain.posting_rules import client_money_received as receipt_rule
from cashroom_ledger.domain.posting_rules import decide


def test_a_rule_is_a_pure_decision_and_changes_nothing_by_itself() -> None:
    ledger = new_ledger()
    decision = receipt_rule(client_money_received(1, "250.00"), ledger)
    assert isinstance(decision, Post)
    assert decision is not None and decide(client_money_received(1, "250.00"), ledger) == decision
    (draft,) = decision.journals
    assert draft.kind is JournalKind.CLIENT_RECEIPT
    assert ledger.journals == ()


def test_a_bill_credits_each_income_and_moves_billed_disbursements_out_of_unbilled() -> None:
    ledger = new_ledger()
    bill = bill_content(
        10,
        fees=[fee("1000.00", "200.00", line_id=1), fee("250.00", "50.00", line_id=2)],
        recharges=[recharge("40.00", "8.00")],
        disbursements=[
            billed_disbursement("300.00", VatTreatment.OUTSIDE_SCOPE, line_id=4),
            billed_disbursement("100.00", VatTreatment.STANDARD, "20.00", line_id=5),
        ],
    )
    journal = only_journal(send(ledger, bill_approved(bill)))
    fees, vat = 100000 + 25000, 20000 + 5000 + 800 + 2000
    assert lines_of(journal) == {
        (DEBTORS, DR, fees + 4000 + 30000 + 10000 + vat, MATTER, OFFICE_SIDE, None),
        (FEES, CR, fees, None, None, None),
        (EXPENSE_RECOVERIES, CR, 4000, None, None, None),
        (UNBILLED, CR, 30000, MATTER, OFFICE_SIDE, None),
        (UNBILLED, CR, 10000, MATTER, OFFICE_SIDE, None),
        (VAT_OUTPUT, CR, vat, None, None, None),
    }
    tags = {(line.account_code, line.amount.amount_minor): line.vat_tag for line in journal.lines}
    assert tags[(UNBILLED, 30000)] is VatTag.OUTSIDE_SCOPE  # agent: not the firm's supply
    assert tags[(UNBILLED, 10000)] is VatTag.SALES_STANDARD  # principal: part of its supply
    assert tags[(FEES, fees)] is VatTag.SALES_STANDARD
    assert tags[(VAT_OUTPUT, vat)] is VatTag.OUTPUT_VAT
    assert journal.kind is JournalKind.BILL and journal.posted_on == bill.issued_on


def test_fee_income_goes_to_the_nominal_the_firm_named_in_its_sync_settings() -> None:
    ledger = new_ledger()
    chart = ledger.chart
    other_income = next(
        a.code for a in chart if a.type is AccountType.INCOME and a.code not in (FEES, DISCOUNTS)
    )
    named = fee("1000.00", "200.00").model_copy(update={"income_nominal": other_income})
    journal = only_journal(send(ledger, bill_approved(bill_content(12, fees=[named]))))
    assert (other_income, CR, 100000, None, None, None) in lines_of(journal)
    assert not any(line.account_code == FEES for line in journal.lines)


def test_a_bill_naming_an_income_nominal_not_in_the_chart_is_rejected() -> None:
    ledger = new_ledger()
    named = fee("1000.00", "200.00").model_copy(update={"income_nominal": "9999"})
    (outcome,) = send(ledger, bill_approved(bill_content(13, fees=[named])))
    assert isinstance(outcome, Rejected)
    assert "names income nominal 9999, which is not in the chart of accounts" in outcome.reason
    assert ledger.journals == ()


def test_a_bill_level_discount_not_spread_over_the_fees_is_its_own_line() -> None:
    ledger = new_ledger()
    bill = bill_content(11, fees=[fee("1000.00", "200.00")], discount="100.00", total="1100.00")
    journal = only_journal(send(ledger, bill_approved(bill)))
    assert lines_of(journal) == {
        (DEBTORS, DR, 120000 - 10000, MATTER, OFFICE_SIDE, None),
        (DISCOUNTS, DR, 10000, None, None, None),
        (FEES, CR, 100000, None, None, None),
        (VAT_OUTPUT, CR, 20000, None, None, None),
    }


def test_a_disbursement_billed_before_it_is_seen_paid_comes_right_when_the_payment_arrives() -> (
    None
):
    ledger = new_ledger()
    bill = bill_content(12, disbursements=[billed_disbursement("75.00", activity_id=99)])
    send(ledger, bill_approved(bill))
    assert ledger.unbilled_disbursements(MATTER).amount_minor == -7500
    send(ledger, disbursement_paid(99, "75.00"))
    assert ledger.unbilled_disbursements(MATTER).amount_minor == -7500 + 7500
    assert ledger.office_balance(MATTER).amount_minor == 7500  # billed, owed by the client


def test_a_voided_bill_is_reversed_on_the_void_date() -> None:
    ledger = new_ledger()
    bill = bill_content(13, fees=[fee("500.00", "100.00")], day=on(3))
    original = only_journal(send(ledger, bill_approved(bill)))
    reversal = only_journal(send(ledger, bill_voided(13, day=on(20))))
    assert reversal.kind is JournalKind.REVERSAL
    assert reversal.reverses == original.journal_id
    assert reversal.posted_on == on(20)
    assert reversal.reason == f"bill voided in Clio on {on(20)}"
    assert lines_of(reversal) == {
        (DEBTORS, CR, 60000, MATTER, OFFICE_SIDE, None),
        (FEES, DR, 50000, None, None, None),
        (VAT_OUTPUT, DR, 10000, None, None, None),
    }
    assert ledger.office_balance(MATTER, as_of=on(19)).amount_minor == 60000
    assert ledger.office_balance(MATTER).amount_minor == 0


def test_a_reversed_payment_from_client_money_reverses_both_halves() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "900.00", day=on(1)),
        bill_approved(bill_content(14, fees=[fee("500.00", "100.00")], day=on(2))),
        bill_payment(15, 14, "600.00", paid_from=AccountKind.CLIENT, day=on(3)),
    )
    assert ledger.client_balance(MATTER).amount_minor == 90000 - 60000
    reversals = posted(send(ledger, payment_reversed(15, 14, day=on(4))))
    assert [j.kind for j in reversals] == [JournalKind.REVERSAL, JournalKind.REVERSAL]
    assert ledger.client_balance(MATTER).amount_minor == 90000
    assert ledger.office_balance(MATTER).amount_minor == 60000
    assert ledger.bank_balance(OFFICE_ACCOUNT).amount_minor == 0


def test_office_to_office_transfer() -> None:
    ledger = new_ledger()
    send(ledger, bank_account_upserted(7009, AccountKind.OFFICE, name="Office deposit"))
    journal = only_journal(
        send(ledger, transfer(1, "5000.00", from_account=OFFICE_ACCOUNT, to_account=7009))
    )
    assert lines_of(journal) == {
        ("1001", DR, 500000, None, None, 7009),
        (OFFICE_BANK, CR, 500000, None, None, OFFICE_ACCOUNT),
    }
    assert journal.kind is JournalKind.OFFICE_TRANSFER


def test_client_to_client_between_accounts_moves_bank_and_client_column_together() -> None:
    ledger = new_ledger()
    send(
        ledger,
        bank_account_upserted(SECOND_CLIENT_ACCOUNT, AccountKind.CLIENT, name="Deposit"),
        client_money_received(1, "1000.00"),
    )
    journal = only_journal(
        send(
            ledger,
            transfer(
                2,
                "400.00",
                from_account=CLIENT_ACCOUNT,
                to_account=SECOND_CLIENT_ACCOUNT,
                matter_id=MATTER,
            ),
        )
    )
    assert lines_of(journal) == {
        (CLIENT_MONEY, DR, 40000, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
        (CLIENT_MONEY, CR, 40000, MATTER, CLIENT_SIDE, SECOND_CLIENT_ACCOUNT),
        (SECOND_CLIENT_BANK, DR, 40000, None, None, SECOND_CLIENT_ACCOUNT),
        (CLIENT_BANK, CR, 40000, None, None, CLIENT_ACCOUNT),
    }
    assert ledger.client_balance(MATTER, CLIENT_ACCOUNT).amount_minor == 100000 - 40000
    assert ledger.client_balance(MATTER, SECOND_CLIENT_ACCOUNT).amount_minor == 40000
    assert ledger.client_balance(MATTER).amount_minor == 100000


def test_inter_client_transfer_in_one_account_moves_no_bank_money() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "1000.00"))
    journal = only_journal(
        send(
            ledger,
            transfer(
                2,
                "250.00",
                from_account=CLIENT_ACCOUNT,
                to_account=CLIENT_ACCOUNT,
                matter_id=MATTER,
                to_matter_id=OTHER_MATTER,
            ),
        )
    )
    assert lines_of(journal) == {
        (CLIENT_MONEY, DR, 25000, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
        (CLIENT_MONEY, CR, 25000, OTHER_MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
    }
    assert ledger.client_balance(OTHER_MATTER).amount_minor == 25000


def test_office_to_client_is_two_linked_halves() -> None:
    ledger = new_ledger()
    office_half, client_half = posted(
        send(
            ledger,
            transfer(
                3, "12.00", from_account=OFFICE_ACCOUNT, to_account=CLIENT_ACCOUNT, matter_id=MATTER
            ),
        )
    )
    assert lines_of(office_half) == {
        (DEBTORS, DR, 1200, MATTER, OFFICE_SIDE, None),
        (OFFICE_BANK, CR, 1200, None, None, OFFICE_ACCOUNT),
    }
    assert lines_of(client_half) == {
        (CLIENT_BANK, DR, 1200, None, None, CLIENT_ACCOUNT),
        (CLIENT_MONEY, CR, 1200, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
    }
    assert office_half.linked_journal_id == client_half.journal_id


def test_a_disbursement_paid_from_office_with_vat_reclaims_the_vat() -> None:
    ledger = new_ledger()
    journal = only_journal(
        send(
            ledger,
            disbursement_paid(5, "100.00", treatment=VatTreatment.STANDARD, vat_amount="20.00"),
        )
    )
    assert lines_of(journal) == {
        (UNBILLED, DR, 10000, MATTER, OFFICE_SIDE, None),
        (VAT_INPUT, DR, 2000, None, None, None),
        (OFFICE_BANK, CR, 12000, None, None, OFFICE_ACCOUNT),
    }
    tags = {line.account_code: line.vat_tag for line in journal.lines}
    assert tags == {
        UNBILLED: VatTag.PURCHASES_STANDARD,
        VAT_INPUT: VatTag.INPUT_VAT,
        OFFICE_BANK: None,
    }


def test_a_supplier_invoice_for_the_firm_itself_is_an_overhead() -> None:
    ledger = new_ledger()
    journal = only_journal(
        send(ledger, purchase_invoice(6, "80.00", matter_id=None, vat_amount="16.00"))
    )
    assert journal.kind is JournalKind.PURCHASE_INVOICE
    assert lines_of(journal) == {
        (SUNDRY, DR, 8000, None, None, None),
        (VAT_INPUT, DR, 1600, None, None, None),
        (PURCHASE_LEDGER, CR, 9600, None, None, None),
    }


def test_paying_a_linked_outlay_clears_the_supplier_not_the_matter() -> None:
    ledger = new_ledger()
    send(ledger, purchase_invoice(7, "500.00", vat_amount="100.00"))
    journal = only_journal(send(ledger, purchase_invoice_paid(7, "600.00")))
    assert lines_of(journal) == {
        (PURCHASE_LEDGER, DR, 60000, None, None, None),
        (OFFICE_BANK, CR, 60000, None, None, OFFICE_ACCOUNT),
    }
    assert ledger.nominal_balance(PURCHASE_LEDGER).amount_minor == -60000 + 60000
    assert ledger.office_balance(MATTER).amount_minor == 50000  # still to be billed


def test_a_credit_note_reduces_what_the_matter_owes() -> None:
    ledger = new_ledger()
    send(ledger, bill_approved(bill_content(8, fees=[fee("300.00", "60.00")])))
    journal = only_journal(send(ledger, credit_memo(9, "60.00")))
    assert lines_of(journal) == {
        (CREDIT_NOTES, DR, 6000, None, None, None),
        (DEBTORS, CR, 6000, MATTER, OFFICE_SIDE, None),
    }
    assert ledger.office_balance(MATTER).amount_minor == 36000 - 6000


def test_a_nil_bill_posts_nothing_but_is_known() -> None:
    ledger = new_ledger()
    outcomes = send(ledger, bill_approved(bill_content(16, fees=[fee("0.00")])))
    assert posted(outcomes) == []
    bill = ledger.posted_bill(16)
    assert bill is not None and bill.facts.total.amount_minor == 0
