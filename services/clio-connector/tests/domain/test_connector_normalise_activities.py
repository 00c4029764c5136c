"""Activities: time and recoverable expenses are work in progress; a disbursement is paid from the
firm's bank account (with a vendor) or owed as a linked outlay (without one); VAT on
disbursements is held for review when the firm asks to review it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cashroom_contracts.events.clio import (
    DisbursementPaid,
    PurchaseInvoiceRecorded,
    WorkKind,
    WorkRecorded,
)
from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_contracts.money import Money
from clio_connector.domain.normalise import classify_activity, normalise_activity
from clio_connector.domain.outcomes import (
    Flagged,
    FlagReason,
    Publish,
    Published,
    Skipped,
    SkipReason,
    Unchanged,
)
from clio_connector.domain.records import loads_exact
from clio_connector.domain.settings import (
    DisbursementTreatment,
    DisbursementVat,
    KnownBankAccount,
    SyncSettings,
)
from clio_connector.domain.sync_rules import event_amount

FIRM = "firm-kelly"
OFFICE_ACCOUNT = 7002
# A firm that treats disbursements as outside the scope of VAT and pays them from 7002.
SETTINGS = SyncSettings(
    vat_on_disbursements=DisbursementVat.OUTSIDE_SCOPE, disbursement_bank_account_id=OFFICE_ACCOUNT
)

SEARCH_FEE = """{
  "id": 9911220002, "etag": "\\"aa02\\"", "type": "HardCostEntry", "date": "2026-02-03",
  "total": 150.0, "non_billable": false, "no_charge": false, "billed": false,
  "note": "Land Registry search fee", "reference": "CHQ 001234", "tax_setting": "no_tax",
  "vendor": {"id": 1840099001, "name": "Property Registration Authority"},
  "expense_category": {"id": 71, "name": "Search fees", "entry_type": "hard_cost"},
  "matter": {"id": 2231104567, "display_number": "00042-Byrne"},
  "user": {"id": 344001, "name": "Niamh Kelly"},
  "currency": {"id": 3, "code": "EUR"},
  "updated_at": "2026-02-03T11:00:00+00:00"
}"""

TIME_ENTRY = """{
  "id": 9911220001, "etag": "\\"aa01\\"", "type": "TimeEntry", "date": "2026-02-02",
  "total": 300.0, "billed": false, "non_billable": false, "no_charge": false,
  "note": "Review title documents and raise requisitions", "quantity_redacted": false,
  "matter": {"id": 2231104567, "display_number": "00042-Byrne"},
  "user": {"id": 344001, "name": "Niamh Kelly"},
  "currency": {"id": 3, "code": "EUR"}
}"""


def search_fee(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = loads_exact(SEARCH_FEE)
    record.update(changes)
    return record


def time_entry(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = loads_exact(TIME_ENTRY)
    record.update(changes)
    return record


def published(outcome: object) -> Publish:
    assert isinstance(outcome, Publish), outcome
    return outcome


def flagged(outcome: object, reason: FlagReason) -> Flagged:
    assert isinstance(outcome, Flagged), outcome
    assert outcome.reason is reason, outcome.detail
    return outcome


class TestTheMoneyAnEntryMoves:
    def test_is_its_value_or_its_net_plus_vat_for_subclasses_too(self) -> None:
        work = published(normalise_activity(time_entry(), SETTINGS, firm_id=FIRM)).payload
        paid = published(normalise_activity(search_fee(), SETTINGS, firm_id=FIRM)).payload
        assert event_amount(work) == Money.of("300.00", "EUR")
        assert event_amount(paid) == Money.of("150.00", "EUR")  # outside scope: no VAT

        class LaterWork(type(work)):  # type: ignore[misc]
            pass

        later = LaterWork.model_validate(work.model_dump())
        assert event_amount(later) == Money.of("300.00", "EUR")  # read by kind, not exact type


class TestDisbursementsWithAVendor:
    def test_are_paid_from_the_office_account_and_allocated_to_the_matter(self) -> None:
        payload = published(normalise_activity(search_fee(), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, DisbursementPaid)
        assert (payload.activity_id, payload.matter_id) == (9911220002, 2231104567)
        assert payload.paid_on == date(2026, 2, 3)
        assert payload.vendor == "Property Registration Authority"
        assert payload.description == "Land Registry search fee"
        assert payload.net == Money.of("150.00", "EUR")
        assert payload.vat_treatment is VatTreatment.OUTSIDE_SCOPE
        assert payload.vat.amount == Money.zero("EUR")
        assert payload.bank_account_id == OFFICE_ACCOUNT

    def test_without_a_disbursement_account_in_the_settings_are_flagged(self) -> None:
        settings = SyncSettings(vat_on_disbursements=DisbursementVat.OUTSIDE_SCOPE)
        outcome = normalise_activity(search_fee(), settings, firm_id=FIRM)
        assert "sync settings" in flagged(outcome, FlagReason.MISSING_BANK_ACCOUNT).detail

    def test_are_paid_from_the_firms_only_office_account_when_none_is_chosen(self) -> None:
        settings = SyncSettings(vat_on_disbursements=DisbursementVat.OUTSIDE_SCOPE)
        one_office = {
            7001: KnownBankAccount(7001, "Client Account", AccountKind.CLIENT, "EUR"),
            7005: KnownBankAccount(7005, "Office Account", AccountKind.OFFICE, "EUR"),
        }
        two_offices = {
            **one_office,
            7006: KnownBankAccount(7006, "Office Deposit", AccountKind.OFFICE, "EUR"),
        }

        payload = published(
            normalise_activity(search_fee(), settings, firm_id=FIRM, bank_accounts=one_office)
        ).payload
        ambiguous = normalise_activity(
            search_fee(), settings, firm_id=FIRM, bank_accounts=two_offices
        )

        assert isinstance(payload, DisbursementPaid)
        assert payload.bank_account_id == 7005
        flagged(ambiguous, FlagReason.MISSING_BANK_ACCOUNT)

    def test_become_linked_outlays_when_the_firm_says_so(self) -> None:
        settings = SETTINGS.model_copy(
            update={"disbursements_with_vendor": DisbursementTreatment.LINKED_OUTLAY}
        )
        payload = published(normalise_activity(search_fee(), settings, firm_id=FIRM)).payload

        assert isinstance(payload, PurchaseInvoiceRecorded)
        assert payload.supplier == "Property Registration Authority"


class TestDisbursementsWithoutAVendor:
    def test_are_linked_outlays_owed_to_a_supplier_and_allocated_to_the_matter(self) -> None:
        payload = published(
            normalise_activity(search_fee(vendor=None), SETTINGS, firm_id=FIRM)
        ).payload

        assert isinstance(payload, PurchaseInvoiceRecorded)
        assert (payload.invoice_id, payload.matter_id) == (9911220002, 2231104567)
        assert payload.supplier is None  # Clio names no vendor: a linked outlay, supplier unknown
        assert payload.invoiced_on == date(2026, 2, 3)
        assert payload.net == Money.of("150.00", "EUR")


class TestVatOnDisbursements:
    REVIEW = SyncSettings(disbursement_bank_account_id=OFFICE_ACCOUNT)  # review is the default

    def test_let_me_review_holds_a_disbursement_clio_taxes_as_a_flagged_line(self) -> None:
        outcome = flagged(
            normalise_activity(search_fee(tax_setting="tax_1_only"), self.REVIEW, firm_id=FIRM),
            FlagReason.DISBURSEMENT_VAT_REVIEW,
        )

        assert outcome.held is not None
        assert isinstance(outcome.held.payload, DisbursementPaid)
        assert outcome.held.payload.vat_treatment is VatTreatment.UNDER_REVIEW

    def test_let_me_review_holds_one_with_no_tax_setting_at_all(self) -> None:
        outcome = normalise_activity(search_fee(tax_setting=None), self.REVIEW, firm_id=FIRM)
        flagged(outcome, FlagReason.DISBURSEMENT_VAT_REVIEW)

    def test_let_me_review_posts_one_clio_marks_untaxed_as_outside_the_scope(self) -> None:
        payload = published(normalise_activity(search_fee(), self.REVIEW, firm_id=FIRM)).payload
        assert isinstance(payload, DisbursementPaid)
        assert payload.vat_treatment is VatTreatment.OUTSIDE_SCOPE

    def test_a_held_disbursement_billed_later_is_not_flagged_again(self) -> None:
        taxed = search_fee(tax_setting="tax_1_only")
        first = flagged(
            normalise_activity(taxed, self.REVIEW, firm_id=FIRM),
            FlagReason.DISBURSEMENT_VAT_REVIEW,
        )
        assert first.held is not None
        billed = dict(taxed, etag='"aa09"', billed=True)

        again = normalise_activity(
            billed, self.REVIEW, firm_id=FIRM, previous=Published.of(first.held)
        )

        assert isinstance(again, Unchanged)

    def test_clio_charging_tax_on_a_disbursement_the_firm_treats_as_outside_scope_is_flagged(
        self,
    ) -> None:
        outcome = flagged(
            normalise_activity(search_fee(tax_setting="tax_1_only"), SETTINGS, firm_id=FIRM),
            FlagReason.VAT_SETTING_CONFLICT,
        )
        assert outcome.held is not None
        assert isinstance(outcome.held.payload, DisbursementPaid)
        assert outcome.held.payload.vat_treatment is VatTreatment.UNDER_REVIEW

    def test_outside_scope_takes_a_missing_tax_setting_as_untaxed(self) -> None:
        payload = published(
            normalise_activity(search_fee(tax_setting=None), SETTINGS, firm_id=FIRM)
        ).payload
        assert isinstance(payload, DisbursementPaid)
        assert payload.vat_treatment is VatTreatment.OUTSIDE_SCOPE


class TestDisbursementProblems:
    def test_a_non_billable_disbursement_is_flagged(self) -> None:
        outcome = normalise_activity(search_fee(non_billable=True, total=0), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.DISBURSEMENT_NOT_BILLABLE)

    def test_a_zero_disbursement_is_flagged(self) -> None:
        outcome = normalise_activity(search_fee(total=0), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.NON_POSITIVE_AMOUNT)

    def test_a_disbursement_on_no_matter_is_flagged(self) -> None:
        outcome = normalise_activity(search_fee(matter=None), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_MATTER)

    def test_one_dated_before_the_cut_off_is_skipped_before_anything_else(self) -> None:
        settings = SETTINGS.model_copy(update={"import_transactions_from": date(2026, 2, 4)})
        outcome = normalise_activity(search_fee(matter=None), settings, firm_id=FIRM)
        assert isinstance(outcome, Skipped)
        assert outcome.reason is SkipReason.DATED_BEFORE_CUT_OFF

    def test_an_unknown_tax_setting_is_flagged(self) -> None:
        outcome = normalise_activity(search_fee(tax_setting="vat_20"), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.UNKNOWN_VALUE)


class TestTimeAndRecoverableExpenses:
    def test_a_time_entry_is_work_in_progress(self) -> None:
        payload = published(normalise_activity(time_entry(), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, WorkRecorded)
        assert payload.kind is WorkKind.TIME
        assert payload.value == Money.of("300.00", "EUR")
        assert payload.fee_earner == "Niamh Kelly"
        assert payload.billed is False
        assert payload.recorded_on == date(2026, 2, 2)

    def test_a_soft_cost_is_a_recoverable_expense(self) -> None:
        record = search_fee(type="SoftCostEntry", vendor=None, expense_category=None, total=12)
        payload = published(normalise_activity(record, SETTINGS, firm_id=FIRM)).payload
        assert isinstance(payload, WorkRecorded)
        assert payload.kind is WorkKind.RECOVERABLE_EXPENSE
        assert payload.value == Money.of("12.00", "EUR")

    def test_redacted_hours_are_flagged_with_what_to_do(self) -> None:
        outcome = normalise_activity(
            time_entry(quantity_redacted=True, total=None), SETTINGS, firm_id=FIRM
        )
        assert "billing or admin user" in flagged(outcome, FlagReason.REDACTED).detail

    def test_an_unknown_activity_type_is_flagged(self) -> None:
        outcome = normalise_activity(time_entry(type="CalendarEntry"), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.UNKNOWN_VALUE)


class TestClassifyingAnActivity:
    @pytest.mark.parametrize(
        ("changes", "kind"),
        [
            ({"type": "TimeEntry"}, WorkKind.TIME),
            ({"type": "HardCostEntry", "vendor": None}, WorkKind.DISBURSEMENT),
            ({"type": "SoftCostEntry"}, WorkKind.RECOVERABLE_EXPENSE),
            (
                {"type": "ExpenseEntry", "expense_category": {"entry_type": "hard_cost"}},
                WorkKind.DISBURSEMENT,
            ),
            (
                {"type": "ExpenseEntry", "expense_category": {"entry_type": "soft_cost"}},
                WorkKind.RECOVERABLE_EXPENSE,
            ),
            (
                {"type": "ExpenseEntry", "expense_category": {"entry_type": "unassociated"}},
                WorkKind.DISBURSEMENT,  # a vendor was paid
            ),
            (
                {"type": "ExpenseEntry", "expense_category": None, "vendor": None},
                WorkKind.RECOVERABLE_EXPENSE,
            ),
        ],
    )
    def test_by_type_then_expense_category_then_vendor(
        self, changes: dict[str, Any], kind: WorkKind
    ) -> None:
        assert classify_activity(search_fee(**changes)) is kind
