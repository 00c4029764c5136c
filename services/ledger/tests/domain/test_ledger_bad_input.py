"""Bad or early input is held or rejected with a reason — never posted wrong, never a crash.

Held: it can post later (what it waits for has not arrived); it waits, visibly, and posts when it
does. Rejected: it never posts as it is; the connector's sync log shows why.
"""

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    bill_approved,
    bill_changed,
    bill_content,
    bill_payment,
    billed_disbursement,
    client_money_paid,
    client_money_received,
    client_upserted,
    credit_memo,
    disbursement_paid,
    fee,
    matter_upserted,
    new_ledger,
    on,
    posted,
    send,
    transfer,
)

from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_ledger.domain.decisions import HoldReason, RejectReason
from cashroom_ledger.domain.ledger import Ledger
from cashroom_ledger.domain.outcomes import ExceptionRaised, Held, Outcome, Posted, Rejected


def held(outcomes: list[Outcome]) -> Held:
    (outcome,) = [o for o in outcomes if isinstance(o, Held)]
    return outcome


def rejected(outcomes: list[Outcome]) -> Rejected:
    (outcome,) = outcomes
    assert isinstance(outcome, Rejected), outcome
    return outcome


def raised(outcomes: list[Outcome]) -> ExceptionRaised:
    (outcome,) = [o for o in outcomes if isinstance(o, ExceptionRaised)]
    return outcome


def nothing_posted(ledger: Ledger) -> bool:
    return ledger.journals == ()


# --- held until what it refers to arrives -------------------------------------------------------


def test_a_receipt_for_a_matter_not_yet_known_waits_for_the_matter_then_posts() -> None:
    ledger = new_ledger(reference=False)
    send(ledger, bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT))
    outcome = held(send(ledger, client_money_received(1, "100.00")))
    assert outcome.reason_code == HoldReason.MATTER_UNKNOWN
    assert outcome.reason == f"matter {MATTER} has not arrived from Clio yet"
    assert [p.submission.key.id for p in ledger.pending()] == ["1"]  # visible as waiting
    assert nothing_posted(ledger)

    # The matter arrives, but a ledger needs the client's name too: still waiting.
    assert posted(send(ledger, matter_upserted())) == []
    assert ledger.pending()[0].reason_code == HoldReason.MATTER_UNKNOWN
    assert "client (1840) of matter 00042-Byrne has not arrived" in ledger.pending()[0].reason

    outcomes = send(ledger, client_upserted())
    assert [type(o) for o in outcomes] == [type(outcomes[0]), Posted]
    assert ledger.client_balance(MATTER).amount_minor == 10000
    assert ledger.pending() == []


def test_a_receipt_into_a_bank_account_not_yet_known_waits_for_it() -> None:
    ledger = new_ledger()
    outcome = held(send(ledger, client_money_received(1, "100.00", bank_account_id=7777)))
    assert outcome.reason_code == HoldReason.BANK_ACCOUNT_UNKNOWN
    assert posted(send(ledger, bank_account_upserted(7777, AccountKind.CLIENT)))
    assert ledger.bank_balance(7777).amount_minor == 10000


def test_a_payment_for_a_bill_not_yet_posted_waits_for_the_bill() -> None:
    ledger = new_ledger()
    outcome = held(send(ledger, bill_payment(5, 4, "120.00", paid_from=AccountKind.OFFICE)))
    assert outcome.reason_code == HoldReason.BILL_NOT_POSTED
    journals = posted(send(ledger, bill_approved(bill_content(4, fees=[fee("100.00", "20.00")]))))
    assert len(journals) == 2  # the bill, then the payment that waited for it
    assert ledger.office_balance(MATTER).amount_minor == 0


def test_a_bill_with_a_disbursement_under_vat_review_is_held_whole_until_reviewed() -> None:
    ledger = new_ledger()
    review = bill_content(
        4,
        fees=[fee("100.00", "20.00")],
        disbursements=[billed_disbursement("50.00", VatTreatment.UNDER_REVIEW)],
    )
    outcome = held(send(ledger, bill_approved(review, version="v1")))
    assert outcome.reason_code == HoldReason.VAT_UNDER_REVIEW
    assert "Court fee" in outcome.reason
    assert nothing_posted(ledger)

    reviewed = bill_content(
        4,
        fees=[fee("100.00", "20.00")],
        disbursements=[billed_disbursement("50.00", VatTreatment.STANDARD, "10.00")],
    )
    journals = posted(send(ledger, bill_changed(reviewed, version="v2")))
    assert len(journals) == 1  # nothing was live to reverse: just the reviewed bill
    assert ledger.office_balance(MATTER).amount_minor == 12000 + 6000 - 5000
    assert ledger.pending() == []


def test_a_disbursement_under_vat_review_is_held() -> None:
    ledger = new_ledger()
    event = disbursement_paid(3, "50.00", treatment=VatTreatment.UNDER_REVIEW)
    assert held(send(ledger, event)).reason_code == HoldReason.VAT_UNDER_REVIEW
    assert nothing_posted(ledger)


# --- rejected: never posts as it is -------------------------------------------------------------


def test_zero_and_negative_amounts_are_rejected() -> None:
    ledger = new_ledger()
    zero = rejected(send(ledger, client_money_received(1, "0.00")))
    assert zero.reason_code == RejectReason.AMOUNT_NOT_POSITIVE
    assert zero.reason == "client receipt 1 must be more than zero, not 0.00 GBP"
    negative = rejected(send(ledger, client_money_paid(2, "-5.00")))
    assert negative.reason_code == RejectReason.AMOUNT_NOT_POSITIVE
    assert (
        rejected(send(ledger, credit_memo(3, "0.00"))).reason_code
        == RejectReason.AMOUNT_NOT_POSITIVE
    )
    assert nothing_posted(ledger)
    # The rejection names the Clio record, so the sync log can show it against its line.
    assert (zero.source.object_type, zero.source.object_id) == ("BankTransaction", "1")


def test_a_currency_other_than_the_firms_or_the_accounts_is_rejected() -> None:
    ledger = new_ledger()
    foreign = rejected(send(ledger, client_money_received(1, "100.00", currency="EUR")))
    assert foreign.reason_code == RejectReason.CURRENCY_MISMATCH
    assert foreign.reason == "client receipt 1 is in EUR; the firm's books are kept in GBP"

    send(ledger, bank_account_upserted(7100, AccountKind.CLIENT, currency="EUR"))
    account = rejected(send(ledger, client_money_received(2, "100.00", bank_account_id=7100)))
    assert account.reason_code == RejectReason.CURRENCY_MISMATCH
    assert "holds EUR" in account.reason

    bill = rejected(send(ledger, bill_approved(bill_content(4, currency="EUR", fees=[]))))
    assert bill.reason_code == RejectReason.CURRENCY_MISMATCH
    assert nothing_posted(ledger)


def test_client_money_into_an_office_account_is_rejected() -> None:
    ledger = new_ledger()
    outcome = rejected(
        send(ledger, client_money_received(1, "100.00", bank_account_id=OFFICE_ACCOUNT))
    )
    assert outcome.reason_code == RejectReason.WRONG_ACCOUNT_KIND
    assert outcome.reason == (
        "a client receipt needs a client account, but it names the office account "
        "'Office Account' (7002)"
    )


def test_a_bill_whose_totals_do_not_add_up_is_rejected() -> None:
    ledger = new_ledger()
    wrong_total = bill_content(4, fees=[fee("100.00", "20.00")], total="130.00")
    outcome = rejected(send(ledger, bill_approved(wrong_total)))
    assert outcome.reason_code == RejectReason.BILL_DOES_NOT_ADD_UP
    assert outcome.reason == (
        "bill INV-4: total 130.00 GBP is not its lines' nets 100.00 GBP plus VAT 20.00 GBP"
    )
    wrong_vat = bill_content(5, fees=[fee("100.00", "20.00")], vat_total="21.00", total="120.00")
    assert (
        rejected(send(ledger, bill_approved(wrong_vat))).reason_code
        == RejectReason.BILL_DOES_NOT_ADD_UP
    )


def test_vat_on_an_agents_disbursement_is_rejected() -> None:
    ledger = new_ledger()
    event = disbursement_paid(3, "50.00", treatment=VatTreatment.OUTSIDE_SCOPE, vat_amount="10.00")
    outcome = rejected(send(ledger, event))
    assert outcome.reason_code == RejectReason.VAT_INCONSISTENT
    assert "is outside_scope but carries VAT of 10.00 GBP" in outcome.reason


def test_a_payment_naming_another_matter_than_its_bill_is_rejected() -> None:
    ledger = new_ledger()
    send(ledger, bill_approved(bill_content(4, fees=[fee("100.00", "20.00")])))
    outcome = rejected(
        send(ledger, bill_payment(5, 4, "10.00", paid_from=AccountKind.OFFICE, matter_id=43))
    )
    assert outcome.reason_code == RejectReason.MATTER_MISMATCH


def test_a_credit_note_without_a_matter_and_a_transfer_to_itself_are_rejected() -> None:
    ledger = new_ledger()
    assert rejected(send(ledger, credit_memo(3, "10.00", matter_id=None))).reason_code == (
        RejectReason.MATTER_REQUIRED
    )
    same = transfer(4, "10.00", from_account=OFFICE_ACCOUNT, to_account=OFFICE_ACCOUNT)
    assert rejected(send(ledger, same)).reason_code == RejectReason.SAME_ACCOUNT
    no_matter = transfer(5, "10.00", from_account=CLIENT_ACCOUNT, to_account=7003)
    send(ledger, bank_account_upserted(7003, AccountKind.CLIENT))
    assert rejected(send(ledger, no_matter)).reason_code == RejectReason.MATTER_REQUIRED


# --- referred to the cashier: the accounts rules ------------------------------------------------


def test_a_transfer_from_client_money_beyond_the_bill_is_an_exception_not_a_posting() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "1000.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("500.00", "100.00")], day=on(2))),
    )
    outcome = raised(
        send(ledger, bill_payment(5, 4, "700.00", paid_from=AccountKind.CLIENT, day=on(3)))
    )
    record = outcome.record
    assert record.kind is ExceptionKind.TRANSFER_EXCEEDS_BILL
    assert record.amount is not None and record.amount.amount_minor == 70000 - 60000
    assert record.detail == (
        "the client-to-office transfer for bill INV-4 of 700.00 GBP is more than the 600.00 GBP "
        f"outstanding on the bill on {on(3)} (SRA 4.3)"
    )
    assert len(ledger.journals) == 2  # the receipt and the bill; no half of the transfer
    assert ledger.client_balance(MATTER).amount_minor == 100000


def test_a_transfer_from_client_money_before_the_bill_is_an_exception() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "1000.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("500.00", "100.00")], day=on(10))),
    )
    outcome = raised(
        send(ledger, bill_payment(5, 4, "600.00", paid_from=AccountKind.CLIENT, day=on(3)))
    )
    assert outcome.record.kind is ExceptionKind.TRANSFER_EXCEEDS_BILL
    assert "before the bill was issued" in outcome.record.detail


def test_a_transfer_from_client_money_beyond_what_the_client_holds_is_an_exception() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "200.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("500.00", "100.00")], day=on(2))),
    )
    outcome = raised(
        send(ledger, bill_payment(5, 4, "600.00", paid_from=AccountKind.CLIENT, day=on(3)))
    )
    assert outcome.record.kind is ExceptionKind.OVERDRAWN_CLIENT_LEDGER
    assert outcome.record.amount is not None and outcome.record.amount.amount_minor == 60000 - 20000
    assert ledger.client_balance(MATTER).amount_minor == 20000
    assert ledger.office_balance(MATTER).amount_minor == 60000


def test_client_to_office_without_a_bill_is_an_exception() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "200.00"))
    event = transfer(
        6, "50.00", from_account=CLIENT_ACCOUNT, to_account=OFFICE_ACCOUNT, matter_id=MATTER
    )
    outcome = raised(send(ledger, event))
    assert outcome.record.kind is ExceptionKind.TRANSFER_EXCEEDS_BILL
    assert "not linked to a bill" in outcome.record.detail
    assert ledger.client_balance(MATTER).amount_minor == 20000


def test_a_transfer_from_client_money_with_no_office_account_to_land_in_waits_for_one() -> None:
    ledger = new_ledger()
    send(
        ledger,
        bank_account_upserted(7009, AccountKind.OFFICE, name="Office deposit"),
        client_money_received(1, "100.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("50.00", "10.00")], day=on(2))),
    )
    payment = bill_payment(
        5, 4, "60.00", paid_from=AccountKind.CLIENT, day=on(3), office_bank_account_id=None
    )
    outcome = held(send(ledger, payment))  # two office accounts, and neither is the default
    assert outcome.reason_code == HoldReason.NO_OFFICE_ACCOUNT
    journals = posted(ledger.set_default_office_account(OFFICE_ACCOUNT))
    assert len(journals) == 2
    assert ledger.bank_balance(OFFICE_ACCOUNT).amount_minor == 6000


def test_a_bank_account_cannot_turn_from_client_to_office() -> None:
    ledger = new_ledger()
    outcome = rejected(send(ledger, bank_account_upserted(CLIENT_ACCOUNT, AccountKind.OFFICE)))
    assert outcome.reason_code == RejectReason.WRONG_ACCOUNT_KIND
    assert "office and client money never share an account" in outcome.reason
    assert ledger.bank_account(CLIENT_ACCOUNT) is not None
    assert ledger.client_bank_accounts()[0].bank_account_id == CLIENT_ACCOUNT
