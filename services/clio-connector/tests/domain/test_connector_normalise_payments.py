"""Money moving: bill payments from the office or from client money, voided payments, and client
(trust) account receipts and payments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cashroom_contracts.events.clio import (
    BillPaymentReceived,
    BillPaymentReversed,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClientPaymentPurpose,
)
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from clio_connector.domain.normalise import normalise_allocation, normalise_bank_transaction
from clio_connector.domain.outcomes import (
    Flagged,
    FlagReason,
    Publish,
    Published,
    Skipped,
    SkipReason,
)
from clio_connector.domain.records import loads_exact
from clio_connector.domain.settings import KnownBankAccount, SyncSettings

FIRM = "firm-kelly"
SETTINGS = SyncSettings()
CLIENT_ACCOUNT = {"id": 7001, "name": "Client Account", "type": "Trust", "currency": "EUR"}
OFFICE_ACCOUNT = {"id": 7002, "name": "Office Account", "type": "Operating", "currency": "EUR"}

# The reference's example: 200.00 of client money applied to bill INV-0107.
TRUST_ALLOCATION = """{
  "id": 300771, "etag": "\\"al01\\"", "date": "2026-02-10", "amount": 200.0,
  "interest": false, "voided_at": null,
  "bill": {"id": 5550012, "number": "INV-0107"},
  "matter": {"id": 2231104567, "display_number": "00042-Byrne"},
  "contact": {"id": 1840012233, "name": "Aoife Byrne"},
  "source_bank_account": {"id": 7001, "name": "Client Account", "type": "Trust", "currency": "EUR"},
  "destination_bank_account": {"id": 7002, "name": "Office Account", "type": "Operating",
                               "currency": "EUR"},
  "parent": {"id": 41001, "type": "Payment"},
  "updated_at": "2026-02-10T12:00:00+00:00"
}"""

TRUST_DEPOSIT = """{
  "id": 66001, "etag": "\\"bt01\\"", "transaction_type": "Deposit", "date": "2026-01-20",
  "amount": 2500.0, "funds_in": 2500.0, "funds_out": 0.0, "currency": "EUR",
  "description": "Deposit on account of costs", "confirmation": "BOI-TRF-88231",
  "bank_account": {"id": 7001, "name": "Client Account", "type": "Trust", "currency": "EUR"},
  "client": {"id": 1840012233, "name": "Aoife Byrne"},
  "matter": {"id": 2231104567, "display_number": "00042-Byrne"},
  "bill": null, "allocation": null
}"""


def allocation(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = loads_exact(TRUST_ALLOCATION)
    record.update(changes)
    return record


def office_payment(**changes: Any) -> dict[str, Any]:
    return allocation(source_bank_account=None, **changes)


def deposit(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = loads_exact(TRUST_DEPOSIT)
    record.update(changes)
    return record


def published(outcome: object) -> Publish:
    assert isinstance(outcome, Publish), outcome
    return outcome


def flagged(outcome: object, reason: FlagReason) -> Flagged:
    assert isinstance(outcome, Flagged), outcome
    assert outcome.reason is reason, outcome.detail
    return outcome


def skipped(outcome: object, reason: SkipReason) -> Skipped:
    assert isinstance(outcome, Skipped), outcome
    assert outcome.reason is reason, outcome.detail
    return outcome


class TestBillPayments:
    def test_a_payment_from_client_money_is_a_client_to_office_transfer_for_the_bill(self) -> None:
        payload = published(normalise_allocation(allocation(), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, BillPaymentReceived)
        assert (payload.payment_id, payload.bill_id, payload.matter_id) == (
            300771,
            5550012,
            2231104567,
        )
        assert payload.paid_from is AccountKind.CLIENT
        assert payload.bank_account_id == 7001  # the client account the money left
        assert payload.office_bank_account_id == 7002  # the office account it went to
        assert payload.amount == Money.of("200.00", "EUR")
        assert payload.paid_on == date(2026, 2, 10)

    def test_a_payment_into_the_office_account_is_paid_from_office(self) -> None:
        payload = published(normalise_allocation(office_payment(), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, BillPaymentReceived)
        assert payload.paid_from is AccountKind.OFFICE
        assert payload.bank_account_id == 7002
        assert payload.office_bank_account_id is None

    def test_an_account_clio_leaves_undescribed_is_looked_up_in_the_synced_accounts(self) -> None:
        known = {
            7001: KnownBankAccount(7001, "Client Account", AccountKind.CLIENT, "EUR"),
            7002: KnownBankAccount(7002, "Office Account", AccountKind.OFFICE, "EUR"),
        }
        record = allocation(source_bank_account={"id": 7001}, destination_bank_account={"id": 7002})

        payload = published(
            normalise_allocation(record, SETTINGS, firm_id=FIRM, bank_accounts=known)
        ).payload

        assert isinstance(payload, BillPaymentReceived)
        assert payload.paid_from is AccountKind.CLIENT
        assert payload.amount == Money.of("200.00", "EUR")

    def test_client_money_from_an_unnamed_account_comes_from_the_default_client_account(
        self,
    ) -> None:
        settings = SyncSettings(default_client_account_id=7001)
        record = allocation(source_bank_account={"type": "Trust", "currency": "EUR"})

        payload = published(normalise_allocation(record, settings, firm_id=FIRM)).payload

        assert isinstance(payload, BillPaymentReceived)
        assert payload.bank_account_id == 7001

    def test_a_voided_payment_that_was_published_is_reversed(self) -> None:
        first = published(normalise_allocation(allocation(), SETTINGS, firm_id=FIRM))
        voided = allocation(etag='"al02"', voided_at="2026-02-11T23:30:00-05:00")

        payload = published(
            normalise_allocation(voided, SETTINGS, firm_id=FIRM, previous=Published.of(first))
        ).payload

        assert isinstance(payload, BillPaymentReversed)
        assert (payload.payment_id, payload.bill_id) == (300771, 5550012)
        assert payload.reversed_on == date(2026, 2, 11)

    def test_a_payment_voided_before_it_was_imported_has_nothing_to_reverse(self) -> None:
        outcome = normalise_allocation(
            allocation(voided_at="2026-02-11T10:00:00+00:00"), SETTINGS, firm_id=FIRM
        )
        skipped(outcome, SkipReason.PAYMENT_VOIDED_BEFORE_IMPORT)

    def test_a_credit_note_applied_to_a_bill_arrives_as_the_credit_note(self) -> None:
        record = office_payment(parent={"id": 9, "type": "CreditMemo"})
        skipped(
            normalise_allocation(record, SETTINGS, firm_id=FIRM), SkipReason.CREDIT_NOTE_ALLOCATION
        )

    def test_money_paid_into_a_client_account_arrives_as_the_client_receipt(self) -> None:
        record = allocation(source_bank_account=None, destination_bank_account=CLIENT_ACCOUNT)
        skipped(
            normalise_allocation(record, SETTINGS, firm_id=FIRM),
            SkipReason.RECEIPT_INTO_CLIENT_ACCOUNT,
        )

    def test_payments_dated_before_the_cut_off_are_skipped(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2026, 2, 11))
        skipped(
            normalise_allocation(allocation(), settings, firm_id=FIRM),
            SkipReason.DATED_BEFORE_CUT_OFF,
        )

    def test_bill_payments_can_be_turned_off(self) -> None:
        settings = SyncSettings(import_bill_payments=False)
        skipped(
            normalise_allocation(office_payment(), settings, firm_id=FIRM),
            SkipReason.IMPORT_TURNED_OFF,
        )

    def test_payments_from_client_money_follow_the_client_transactions_setting(self) -> None:
        settings = SyncSettings(import_client_transactions=False)
        skipped(
            normalise_allocation(allocation(), settings, firm_id=FIRM),
            SkipReason.IMPORT_TURNED_OFF,
        )
        assert isinstance(normalise_allocation(office_payment(), settings, firm_id=FIRM), Publish)

    def test_a_payment_of_a_held_bill_is_held_with_it(self) -> None:
        outcome = flagged(
            normalise_allocation(allocation(), SETTINGS, firm_id=FIRM, held_bill_ids={5550012}),
            FlagReason.HELD_WITH_DISBURSEMENT_UNDER_REVIEW,
        )
        assert outcome.held is not None
        assert isinstance(outcome.held.payload, BillPaymentReceived)


class TestBadBillPayments:
    def test_a_payment_applied_to_no_bill_is_flagged(self) -> None:
        outcome = normalise_allocation(allocation(bill=None), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_BILL)

    def test_interest_whose_bill_is_gone_is_flagged_as_such(self) -> None:
        outcome = normalise_allocation(allocation(bill=None, interest=True), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.INTEREST_WITHOUT_BILL)

    def test_a_payment_on_no_matter_is_flagged(self) -> None:
        outcome = normalise_allocation(allocation(matter=None), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_MATTER)

    @pytest.mark.parametrize("amount", [0, -5])
    def test_a_payment_of_nothing_or_less_is_flagged(self, amount: int) -> None:
        outcome = normalise_allocation(allocation(amount=amount), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.NON_POSITIVE_AMOUNT)

    def test_a_payment_between_two_currencies_is_flagged(self) -> None:
        record = allocation(destination_bank_account=dict(OFFICE_ACCOUNT, currency="GBP"))
        flagged(normalise_allocation(record, SETTINGS, firm_id=FIRM), FlagReason.CURRENCY_MISMATCH)

    def test_an_office_payment_that_names_no_account_is_flagged(self) -> None:
        record = office_payment(destination_bank_account=None)
        flagged(
            normalise_allocation(record, SETTINGS, firm_id=FIRM), FlagReason.MISSING_BANK_ACCOUNT
        )

    def test_an_unknown_account_type_is_flagged(self) -> None:
        record = allocation(source_bank_account=dict(CLIENT_ACCOUNT, type="Savings"))
        flagged(normalise_allocation(record, SETTINGS, firm_id=FIRM), FlagReason.UNKNOWN_VALUE)


class TestClientAccountTransactions:
    def test_money_into_a_client_account_is_a_client_receipt_for_the_matter(self) -> None:
        payload = published(normalise_bank_transaction(deposit(), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, ClientMoneyReceived)
        assert (payload.transaction_id, payload.matter_id, payload.bank_account_id) == (
            66001,
            2231104567,
            7001,
        )
        assert payload.amount == Money.of("2500.00", "EUR")
        assert payload.received_on == date(2026, 1, 20)
        assert (payload.payer, payload.reference) == ("Aoife Byrne", "BOI-TRF-88231")

    def test_a_refund_out_of_a_client_account_is_a_client_payment(self) -> None:
        record = deposit(
            transaction_type="Refund", amount=-250, funds_in=0, funds_out=250, confirmation=None
        )
        payload = published(normalise_bank_transaction(record, SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, ClientMoneyPaid)
        assert payload.amount == Money.of("250.00", "EUR")
        assert payload.purpose is ClientPaymentPurpose.REFUND
        assert payload.payee == "Aoife Byrne"

    def test_a_transfer_leg_moves_client_money_out_of_one_matter(self) -> None:
        record = deposit(transaction_type="Transfer", amount=-100, funds_in=0, funds_out=100)
        payload = published(normalise_bank_transaction(record, SETTINGS, firm_id=FIRM)).payload
        assert isinstance(payload, ClientMoneyPaid)
        assert payload.purpose is ClientPaymentPurpose.OTHER

    def test_client_money_paid_to_a_bill_arrives_as_the_bill_payment(self) -> None:
        record = deposit(
            transaction_type="BillPayment",
            amount=-200,
            funds_in=0,
            funds_out=200,
            bill={"id": 5550012},
            allocation={"id": 300771},
        )
        skipped(
            normalise_bank_transaction(record, SETTINGS, firm_id=FIRM),
            SkipReason.BILL_PAYMENT_TRANSACTION,
        )

    def test_a_trust_request_paid_into_a_client_account_is_a_client_receipt(self) -> None:
        record = deposit(bill={"id": 5550099}, allocation={"id": 300772})
        payload = published(normalise_bank_transaction(record, SETTINGS, firm_id=FIRM)).payload
        assert isinstance(payload, ClientMoneyReceived)

    def test_office_account_transactions_arrive_through_bills_and_disbursements(self) -> None:
        record = deposit(bank_account=OFFICE_ACCOUNT)
        skipped(
            normalise_bank_transaction(record, SETTINGS, firm_id=FIRM),
            SkipReason.OFFICE_ACCOUNT_TRANSACTION,
        )

    def test_the_account_type_can_come_from_the_synced_accounts(self) -> None:
        known = {7001: KnownBankAccount(7001, "Client Account", AccountKind.CLIENT, "EUR")}
        record = deposit(bank_account=None, bank_account_id=7001)
        payload = published(
            normalise_bank_transaction(record, SETTINGS, firm_id=FIRM, bank_accounts=known)
        ).payload
        assert isinstance(payload, ClientMoneyReceived)

    def test_are_skipped_when_client_transactions_are_turned_off(self) -> None:
        settings = SyncSettings(import_client_transactions=False)
        skipped(
            normalise_bank_transaction(deposit(), settings, firm_id=FIRM),
            SkipReason.IMPORT_TURNED_OFF,
        )

    def test_are_skipped_before_the_cut_off(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2026, 1, 21))
        skipped(
            normalise_bank_transaction(deposit(), settings, firm_id=FIRM),
            SkipReason.DATED_BEFORE_CUT_OFF,
        )


class TestBadClientAccountTransactions:
    def test_client_money_on_no_matter_is_flagged(self) -> None:
        outcome = normalise_bank_transaction(deposit(matter=None), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_MATTER)

    def test_money_neither_in_nor_out_is_flagged(self) -> None:
        outcome = normalise_bank_transaction(
            deposit(amount=0, funds_in=0, funds_out=0), SETTINGS, firm_id=FIRM
        )
        flagged(outcome, FlagReason.MISMATCHED_MONEY)

    def test_an_amount_that_disagrees_with_funds_in_is_flagged(self) -> None:
        outcome = normalise_bank_transaction(deposit(amount=2400), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISMATCHED_MONEY)

    def test_null_funds_are_flagged(self) -> None:
        outcome = normalise_bank_transaction(deposit(funds_in=None), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.NULL_MONEY)

    def test_an_unknown_bank_account_is_flagged(self) -> None:
        record = deposit(bank_account={"id": 7999})
        flagged(
            normalise_bank_transaction(record, SETTINGS, firm_id=FIRM),
            FlagReason.MISSING_BANK_ACCOUNT,
        )

    def test_a_currency_other_than_the_accounts_is_flagged(self) -> None:
        outcome = normalise_bank_transaction(deposit(currency="GBP"), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.CURRENCY_MISMATCH)
