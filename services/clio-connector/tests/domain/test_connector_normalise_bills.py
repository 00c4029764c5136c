"""Bills: approved bills post, drafts wait, voids reverse, edits re-post, bad bills are flagged.

Clio JSON below follows clio-api-v4-digest.json field names and is parsed the way the client
parses it (``loads_exact``), so every amount is an exact Decimal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cashroom_contracts import deterministic_event_id
from cashroom_contracts.events.clio import (
    BillApproved,
    BillChanged,
    BillContent,
    BillVoided,
    WorkKind,
)
from cashroom_contracts.events.common import VatTreatment
from cashroom_contracts.money import Money
from clio_connector.domain import fields
from clio_connector.domain.normalise import facts_hash, normalise_bill, record_content_hash
from clio_connector.domain.outcomes import (
    Change,
    Flagged,
    FlagReason,
    Publish,
    Published,
    Skipped,
    SkipReason,
    Unchanged,
)
from clio_connector.domain.records import canonical_json, loads_exact, project, sha256_hex
from clio_connector.domain.settings import SyncSettings

FIRM = "firm-kelly"
SETTINGS = SyncSettings()

# The reference's example bill: one time entry (1.5 h at 200.00, VAT 23%) and one search fee.
BILL_JSON = """{
  "id": 5550012, "etag": "\\"b0c1\\"", "number": "INV-0107", "state": "awaiting_payment",
  "kind": "revenue_kind", "issued_at": "2026-02-06", "due_at": "2026-03-08",
  "tax_rate": 23.0, "secondary_tax_rate": 0.0, "total_tax": 69.0, "total": 519.0,
  "discount": {"rate": 0.0, "type": "percentage"}, "discount_services_only": "false",
  "interest": {"total": 0.0},
  "currency": {"id": 3, "code": "EUR"},
  "client": {"id": 1840012233, "name": "Aoife Byrne"},
  "matters": [{"id": 2231104567, "display_number": "00042-Byrne"}],
  "updated_at": "2026-02-10T12:00:05+00:00"
}"""

LINES_JSON = """[
  {"id": 880001, "etag": "\\"l1\\"", "type": "ActivityLineItem", "kind": "Service",
   "description": "Review title documents", "sub_total": 300.0, "discount": null,
   "taxable": true, "secondary_taxable": false, "tax": 69.0, "secondary_tax": 0.0, "total": 369.0,
   "activity": {"id": 9911220001, "type": "TimeEntry"}},
  {"id": 880002, "etag": "\\"l2\\"", "type": "ActivityLineItem", "kind": "Expense",
   "description": "Land Registry search fee", "sub_total": 150.0, "discount": null,
   "taxable": false, "secondary_taxable": false, "tax": 0.0, "secondary_tax": 0.0, "total": 150.0,
   "activity": {"id": 9911220002, "type": "HardCostEntry"}}
]"""


def bill(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = loads_exact(BILL_JSON)
    record.update(changes)
    return record


def lines() -> list[dict[str, Any]]:
    parsed: list[dict[str, Any]] = loads_exact(LINES_JSON)
    return parsed


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


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


def approve(record: dict[str, Any], items: list[dict[str, Any]] | None = None) -> Publish:
    return published(
        normalise_bill(record, lines() if items is None else items, SETTINGS, firm_id=FIRM)
    )


def content_of(outcome: object) -> BillContent:
    payload = published(outcome).payload
    assert isinstance(payload, BillApproved | BillChanged), payload
    return payload.bill


# --- Approved bills ------------------------------------------------------------------------------


class TestAnApprovedBill:
    def test_its_content_hash_covers_the_bill_and_its_lines_in_a_stable_order(self) -> None:
        items = lines()
        # The hash's definition: the canonical JSON of the bill's fields read and its lines',
        # the lines ordered by their own canonical JSON (here by activity id, its first key).
        bill_text = canonical_json(project(bill(), fields.BILLS.fields))
        line_texts = [canonical_json(project(item, fields.LINE_ITEMS.fields)) for item in items]
        assert line_texts[0] < line_texts[1]
        expected = sha256_hex(
            '{"bill":' + bill_text + ',"line_items":[' + line_texts[0] + "," + line_texts[1] + "]}"
        )
        assert record_content_hash(fields.BILLS, bill(), items) == expected
        assert record_content_hash(fields.BILLS, bill(), items[::-1]) == expected
        assert approve(bill(), items).record.content_hash == expected
        # A line that is not an object takes the general path, which hashes the same way.
        odd = sha256_hex(
            '{"bill":' + bill_text + ',"line_items":["x",' + ",".join(line_texts) + "]}"
        )
        assert record_content_hash(fields.BILLS, bill(), [*items[::-1], "x"]) == odd

    def test_the_published_payload_is_the_one_its_facts_were_hashed_from(self) -> None:
        publish = approve(bill())
        assert publish.payload_dump() == publish.payload.model_dump(mode="json")
        assert publish.facts_hash == facts_hash(publish.payload)

    def test_becomes_bill_approved_with_fees_disbursements_and_vat(self) -> None:
        outcome = approve(bill())

        assert outcome.change is Change.IMPORTED
        assert isinstance(outcome.payload, BillApproved)
        content = outcome.payload.bill
        assert (content.bill_id, content.bill_number) == (5550012, "INV-0107")
        assert (content.matter_id, content.client_id) == (2231104567, 1840012233)
        assert (content.issued_on, content.due_on) == (date(2026, 2, 6), date(2026, 3, 8))
        [fee] = content.fees
        assert (fee.line_id, fee.net, fee.discount) == (880001, eur("300.00"), eur("0"))
        assert (fee.vat.rate_basis_points, fee.vat.amount) == (2300, eur("69.00"))
        [disbursement] = content.disbursements
        assert disbursement.activity_id == 9911220002
        assert disbursement.net == eur("150.00")
        assert disbursement.vat_treatment is VatTreatment.OUTSIDE_SCOPE
        assert disbursement.vat.amount == eur("0")
        assert content.recoverable_expenses == []
        # 300.00 + 150.00 + VAT 69.00 = 519.00
        assert (content.vat_total, content.total) == (eur("69.00"), eur("519.00"))
        assert content.bill_level_discount == eur("0")

    def test_is_traced_to_its_clio_version_with_a_deterministic_event_id(self) -> None:
        outcome = approve(bill())

        assert outcome.payload.source.object_type == "Bill"
        assert outcome.payload.source.object_id == 5550012
        assert outcome.payload.source.version == '"b0c1"'
        assert outcome.event_id == deterministic_event_id(
            FIRM, "clio.bill.approved", "Bill", 5550012, '"b0c1"'
        )
        assert outcome.record.subject == "clio/bill/5550012"

    def test_a_paid_bill_is_an_approved_bill(self) -> None:
        assert isinstance(approve(bill(state="paid")).payload, BillApproved)

    def test_the_same_clio_state_gives_the_same_event_id(self) -> None:
        assert approve(bill()).event_id == approve(bill()).event_id

    def test_without_an_etag_the_version_is_a_content_hash_that_ignores_key_order_and_zeros(
        self,
    ) -> None:
        plain = bill(etag=None)
        reordered = dict(reversed(list(plain.items())))
        reordered["total"] = 519  # the same number written without ".0"
        reordered["tax_rate"] = 23
        reordered["total_tax"] = 69
        reordered["secondary_tax_rate"] = 0
        reordered["discount"] = {"type": "percentage", "rate": 0}
        reordered["interest"] = {"total": 0}
        first, second = approve(plain), approve(reordered)

        assert first.record.version == first.record.content_hash
        assert first.record.version == second.record.version
        assert first.event_id == second.event_id


class TestBillsThatAreNotImported:
    @pytest.mark.parametrize("state", ["draft", "awaiting_approval"])
    def test_draft_and_awaiting_approval_bills_are_skipped(self, state: str) -> None:
        outcome = normalise_bill(bill(state=state), lines(), SETTINGS, firm_id=FIRM)
        skipped(outcome, SkipReason.BILL_NOT_APPROVED)

    def test_a_trust_request_is_not_a_bill_of_costs(self) -> None:
        outcome = normalise_bill(bill(kind="trust_kind"), [], SETTINGS, firm_id=FIRM)
        skipped(outcome, SkipReason.TRUST_REQUEST)

    def test_a_bill_issued_before_the_cut_off_is_skipped_and_one_on_it_imported(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2026, 2, 7))
        day_before = normalise_bill(bill(), lines(), settings, firm_id=FIRM)  # issued 6 February
        on_cut_off = normalise_bill(bill(issued_at="2026-02-07"), lines(), settings, firm_id=FIRM)

        assert "2026-02-06" in skipped(day_before, SkipReason.DATED_BEFORE_CUT_OFF).detail
        assert isinstance(published(on_cut_off).payload, BillApproved)

    def test_bills_can_be_turned_off(self) -> None:
        settings = SyncSettings(import_bills=False)
        outcome = normalise_bill(bill(), lines(), settings, firm_id=FIRM)
        skipped(outcome, SkipReason.IMPORT_TURNED_OFF)

    def test_a_bill_voided_before_it_was_ever_imported_has_nothing_to_reverse(self) -> None:
        outcome = normalise_bill(bill(state="void"), lines(), SETTINGS, firm_id=FIRM)
        skipped(outcome, SkipReason.BILL_VOIDED_BEFORE_IMPORT)

    def test_a_bill_deleted_before_approval_is_only_logged(self) -> None:
        outcome = normalise_bill(bill(state="deleted"), lines(), SETTINGS, firm_id=FIRM)
        skipped(outcome, SkipReason.BILL_DELETED_BEFORE_APPROVAL)


# --- Voids and edits -------------------------------------------------------------------------------


class TestVoidedAndEditedBills:
    def test_a_voided_bill_that_was_posted_is_reversed_on_the_day_clio_voided_it(self) -> None:
        previous = Published.of(approve(bill()))
        voided = bill(state="void", etag='"b0c9"', updated_at="2026-03-01T23:30:00-05:00")

        outcome = published(
            normalise_bill(voided, lines(), SETTINGS, firm_id=FIRM, previous=previous)
        )

        assert isinstance(outcome.payload, BillVoided)
        assert (outcome.payload.bill_id, outcome.payload.matter_id) == (5550012, 2231104567)
        assert outcome.payload.voided_on == date(2026, 3, 1)  # Clio's own date, not UTC's 2 March
        assert outcome.change is Change.UPDATED

    def test_a_deleted_bill_that_was_posted_is_reversed_too(self) -> None:
        previous = Published.of(approve(bill()))
        outcome = normalise_bill(
            bill(state="deleted"), lines(), SETTINGS, firm_id=FIRM, previous=previous
        )
        assert isinstance(published(outcome).payload, BillVoided)

    def test_a_void_already_published_is_unchanged(self) -> None:
        previous = Published.of(approve(bill()))
        void = bill(state="void", etag='"b0c9"')
        reversal = published(
            normalise_bill(void, lines(), SETTINGS, firm_id=FIRM, previous=previous)
        )

        again = normalise_bill(
            bill(state="void", etag='"b0ca"'),
            lines(),
            SETTINGS,
            firm_id=FIRM,
            previous=Published.of(reversal),
        )

        assert isinstance(again, Unchanged)

    def test_an_edited_approved_bill_becomes_a_change_event_naming_the_version_it_replaces(
        self,
    ) -> None:
        first = approve(bill())
        edited_lines = lines()
        # The fee goes from 300.00 to 400.00: VAT 23% of 400.00 = 92.00; total 400 + 150 + 92.
        edited_lines[0].update({"sub_total": 400, "tax": 92, "total": 492})
        edited = bill(etag='"b0c2"', total_tax=92, total=642)

        outcome = published(
            normalise_bill(
                edited, edited_lines, SETTINGS, firm_id=FIRM, previous=Published.of(first)
            )
        )

        assert isinstance(outcome.payload, BillChanged)
        assert outcome.payload.previous_version == '"b0c1"'
        assert outcome.payload.bill.fees[0].net == eur("400.00")
        assert outcome.payload.bill.total == eur("642.00")
        assert outcome.event_id == deterministic_event_id(
            FIRM, "clio.bill.changed", "Bill", 5550012, '"b0c2"'
        )
        assert outcome.change is Change.UPDATED

    def test_a_payment_changes_the_etag_but_not_the_bill_so_nothing_is_published(self) -> None:
        first = approve(bill())
        paid = bill(etag='"b0c7"', state="paid")

        outcome = normalise_bill(
            paid, lines(), SETTINGS, firm_id=FIRM, previous=Published.of(first)
        )

        assert isinstance(outcome, Unchanged)

    def test_a_posted_bill_moved_back_to_draft_is_flagged_not_silently_kept(self) -> None:
        previous = Published.of(approve(bill()))
        outcome = normalise_bill(
            bill(state="draft"), lines(), SETTINGS, firm_id=FIRM, previous=previous
        )
        flagged(outcome, FlagReason.BILL_UNAPPROVED_AFTER_POSTING)

    def test_a_voided_bill_that_comes_back_approved_is_flagged(self) -> None:
        posted = approve(bill())
        void = published(
            normalise_bill(
                bill(state="void"), lines(), SETTINGS, firm_id=FIRM, previous=Published.of(posted)
            )
        )
        outcome = normalise_bill(
            bill(), lines(), SETTINGS, firm_id=FIRM, previous=Published.of(void)
        )
        flagged(outcome, FlagReason.BILL_REVIVED_AFTER_VOID)


# --- Discounts and VAT ------------------------------------------------------------------------------

# A UK bill: three hours of time at 100.00 each (VAT 20%), a court fee of 50.00 (no VAT) and a
# bill-level discount of 100.00. Clio's lines carry VAT before the discount (3 × 20.00); the bill's
# VAT is after it: (300.00 − 100.00) × 20% = 40.00. Total 300 + 50 − 100 + 40 = 290.00.
DISCOUNTED_BILL = {
    "id": 7001,
    "etag": '"d1"',
    "number": "B-7001",
    "state": "awaiting_payment",
    "kind": "revenue_kind",
    "issued_at": "2026-04-01",
    "tax_rate": 20,
    "secondary_tax_rate": 0,
    "total_tax": 40,
    "total": 290,
    "discount": {"rate": 100, "type": "money"},
    "discount_services_only": "true",
    "currency": {"code": "GBP"},
    "client": {"id": 11},
    "matters": [{"id": 21}],
}


def time_line(line_id: int, amount: int, vat: int) -> dict[str, Any]:
    return {
        "id": line_id,
        "type": "ActivityLineItem",
        "kind": "Service",
        "description": f"Attendance {line_id}",
        "sub_total": amount,
        "taxable": True,
        "tax": vat,
        "secondary_tax": 0,
        "total": amount + vat,
        "activity": {"id": 900 + line_id, "type": "TimeEntry"},
    }


COURT_FEE = {
    "id": 4,
    "type": "ActivityLineItem",
    "kind": "Expense",
    "description": "Court fee",
    "sub_total": 50,
    "taxable": False,
    "tax": 0,
    "total": 50,
    "activity": {"id": 904, "type": "HardCostEntry"},
}


def discounted_lines() -> list[dict[str, Any]]:
    return [time_line(1, 100, 20), time_line(2, 100, 20), time_line(3, 100, 20), dict(COURT_FEE)]


def gbp(text: str) -> Money:
    return Money.of(text, "GBP")


class TestBillLevelDiscount:
    def test_grouped_onto_time_entry_fee_lines_with_largest_remainder_rounding(self) -> None:
        content = content_of(approve(dict(DISCOUNTED_BILL), discounted_lines()))
        fees = content.fees

        # 100.00 over three equal lines: 33.33 each leaves 0.01, which goes to the first line.
        assert [fee.discount for fee in fees] == [gbp("33.34"), gbp("33.33"), gbp("33.33")]
        assert [fee.net for fee in fees] == [gbp("66.66"), gbp("66.67"), gbp("66.67")]
        # The VAT the discount removed, 60.00 − 40.00 = 20.00, split by the same shares:
        # 20.00 × 3334/10000 = 6.668, × 3333/10000 = 6.666 (twice) → 6.66 each, 0.02 left over,
        # to the largest remainders (0.008, then the earlier 0.006): 6.67, 6.67, 6.66.
        assert [fee.vat.amount for fee in fees] == [gbp("13.33"), gbp("13.33"), gbp("13.34")]
        assert content.disbursements[0].net == gbp("50.00")  # discounts touch fees only
        assert content.bill_level_discount == gbp("0")  # it is inside the fee lines
        assert content.vat_total == gbp("40.00")
        assert content.total == gbp("290.00")
        nets = sum(fee.net.amount_minor for fee in fees) + 5000
        vat = sum(fee.vat.amount.amount_minor for fee in fees)
        assert nets + vat == content.total.amount_minor

    def test_kept_as_its_own_line_when_fee_lines_are_not_grouped(self) -> None:
        settings = SyncSettings(group_fee_lines_for_discounts=False)
        content = content_of(
            normalise_bill(dict(DISCOUNTED_BILL), discounted_lines(), settings, firm_id=FIRM)
        )

        assert [fee.net for fee in content.fees] == [gbp("100.00")] * 3
        assert [fee.discount for fee in content.fees] == [gbp("0")] * 3
        assert content.bill_level_discount == gbp("100.00")
        # The bill's VAT still adds up: 20.00 − 6.67, 20.00 − 6.67, 20.00 − 6.66.
        assert [fee.vat.amount for fee in content.fees] == [
            gbp("13.33"),
            gbp("13.33"),
            gbp("13.34"),
        ]
        assert content.total == gbp("290.00")  # 300 + 50 − 100 + 40

    def test_a_percentage_discount_on_services_only_is_taken_on_the_fees(self) -> None:
        # 10% of the fees (300.00) = 30.00, the court fee excluded; VAT (300 − 30) × 20% = 54.00.
        record = dict(
            DISCOUNTED_BILL,
            discount={"rate": 10, "type": "percentage"},
            total_tax=54,
            total=374,  # 300 + 50 − 30 + 54
        )
        content = content_of(approve(record, discounted_lines()))
        assert [fee.discount for fee in content.fees] == [gbp("10.00")] * 3
        assert [fee.vat.amount for fee in content.fees] == [gbp("18.00")] * 3

    def test_a_discount_with_no_time_entry_fees_to_carry_it_is_flagged(self) -> None:
        fixed_fee = dict(time_line(1, 300, 60), type="LineItem", activity=None)
        record = dict(DISCOUNTED_BILL, total_tax=40, total=240)
        outcome = normalise_bill(record, [fixed_fee], SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.DISCOUNT_NOT_ALLOCATABLE)


class TestVatOnTheBill:
    def test_a_cent_of_rounding_between_lines_and_bill_goes_to_a_taxable_line(self) -> None:
        # Two lines of 10.03 at 20%: 2.006 → 2.01 each (4.02); on the bill 20.06 × 20% = 4.012
        # → 4.01. The cent goes back to the first of the two equal lines.
        record = dict(
            DISCOUNTED_BILL, discount=None, total_tax=Decimal("4.01"), total=Decimal("24.07")
        )
        items = [time_line(1, 0, 0), time_line(2, 0, 0)]
        for item in items:
            item.update(sub_total=Decimal("10.03"), tax=Decimal("2.01"), total=Decimal("12.04"))

        content = content_of(approve(record, items))

        assert [fee.vat.amount for fee in content.fees] == [gbp("2.00"), gbp("2.01")]
        assert content.vat_total == gbp("4.01")

    def test_vat_that_does_not_add_up_is_flagged(self) -> None:
        outcome = normalise_bill(bill(total_tax=80, total=530), lines(), SETTINGS, firm_id=FIRM)
        assert "69.00" in flagged(outcome, FlagReason.VAT_MISMATCH).detail

    def test_a_tax_rate_finer_than_a_basis_point_is_flagged(self) -> None:
        outcome = normalise_bill(bill(tax_rate=Decimal("8.875")), lines(), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.UNSUPPORTED_TAX_RATE)


# --- Lines --------------------------------------------------------------------------------------------


class TestBillLines:
    def test_a_line_discount_is_read_from_a_sub_total_before_it(self) -> None:
        items = lines()
        # 300.00 less 10% = 270.00; VAT 23% = 62.10; total 332.10.
        items[0].update(
            discount={"rate": 10, "type": "percentage"},
            tax=Decimal("62.10"),
            total=Decimal("332.10"),
        )
        record = bill(total_tax=Decimal("62.10"), total=Decimal("482.10"))

        [fee] = content_of(approve(record, items)).fees

        assert (fee.net, fee.discount) == (eur("270.00"), eur("30.00"))

    def test_or_from_a_sub_total_already_after_it(self) -> None:
        items = lines()
        items[0].update(
            discount={"rate": 10, "type": "percentage"},
            sub_total=270,
            tax=Decimal("62.10"),
            total=Decimal("332.10"),
        )
        record = bill(total_tax=Decimal("62.10"), total=Decimal("482.10"))

        [fee] = content_of(approve(record, items)).fees

        assert fee.net == eur("270.00")

    def test_a_line_whose_own_numbers_disagree_is_flagged_by_its_id(self) -> None:
        items = lines()
        items[0]["total"] = 370  # 300.00 + 69.00 is 369.00
        outcome = normalise_bill(bill(), items, SETTINGS, firm_id=FIRM)
        assert "line item 880001" in flagged(outcome, FlagReason.LINE_TOTALS_MISMATCH).detail

    def test_lines_that_do_not_add_up_to_the_bill_total_are_flagged(self) -> None:
        outcome = normalise_bill(bill(total=520), lines(), SETTINGS, firm_id=FIRM)
        detail = flagged(outcome, FlagReason.BILL_TOTALS_MISMATCH).detail
        assert "519.00" in detail and "520.00" in detail

    def test_a_soft_cost_is_a_recoverable_expense_with_vat(self) -> None:
        items = lines()
        items[1].update(
            activity={"id": 9911220003, "type": "SoftCostEntry"},
            taxable=True,
            tax=Decimal("34.50"),  # 150.00 × 23%
            total=Decimal("184.50"),
        )
        record = bill(total_tax=Decimal("103.50"), total=Decimal("553.50"))

        content = content_of(approve(record, items))

        [expense] = content.recoverable_expenses
        assert (expense.net, expense.vat.amount, expense.vat.rate_basis_points) == (
            eur("150.00"),
            eur("34.50"),
            2300,
        )
        assert content.disbursements == []

    def test_a_generic_expense_entry_follows_what_the_activity_sync_learned(self) -> None:
        items = lines()
        items[1]["activity"] = {"id": 9911220009, "type": "ExpenseEntry"}

        as_disbursement = normalise_bill(
            bill(),
            items,
            SETTINGS,
            firm_id=FIRM,
            expense_kinds={9911220009: WorkKind.DISBURSEMENT},
        )
        unknown = normalise_bill(bill(), items, SETTINGS, firm_id=FIRM)

        assert content_of(as_disbursement).disbursements
        assert "9911220009" in flagged(unknown, FlagReason.UNKNOWN_EXPENSE_KIND).detail

    def test_a_bill_carrying_a_disbursement_held_for_its_vat_is_held_with_it(self) -> None:
        outcome = flagged(
            normalise_bill(bill(), lines(), SETTINGS, firm_id=FIRM, held_activity_ids={9911220002}),
            FlagReason.HELD_WITH_DISBURSEMENT_UNDER_REVIEW,
        )
        assert "9911220002" in outcome.detail
        assert outcome.held is not None
        assert isinstance(outcome.held.payload, BillApproved)

    def test_a_no_charge_line_shows_on_the_bill_but_posts_nothing(self) -> None:
        no_charge = {
            "id": 880003,
            "type": "NoChargeLineItem",
            "kind": "Service",
            "sub_total": 0,
            "tax": 0,
            "total": 0,
            "taxable": True,
        }
        content = content_of(approve(bill(), [*lines(), no_charge]))
        assert [fee.line_id for fee in content.fees] == [880001]


# --- Malformed bills -------------------------------------------------------------------------------


class TestMalformedBills:
    def test_money_with_more_decimals_than_the_currency_is_flagged_never_rounded(self) -> None:
        items = lines()
        items[0]["tax"] = Decimal("69.005")
        outcome = normalise_bill(bill(), items, SETTINGS, firm_id=FIRM)
        assert "69.005" in flagged(outcome, FlagReason.MONEY_PRECISION).detail

    def test_a_null_total_is_flagged(self) -> None:
        outcome = normalise_bill(bill(total=None), lines(), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.NULL_MONEY)

    def test_money_parsed_as_a_binary_float_is_refused(self) -> None:
        outcome = normalise_bill(bill(total=519.0), lines(), SETTINGS, firm_id=FIRM)
        assert "loads_exact" in flagged(outcome, FlagReason.MALFORMED_RECORD).detail

    def test_an_unknown_state_is_flagged(self) -> None:
        outcome = normalise_bill(bill(state="archived"), lines(), SETTINGS, firm_id=FIRM)
        assert "archived" in flagged(outcome, FlagReason.UNKNOWN_VALUE).detail

    def test_a_bill_on_no_matter_is_flagged(self) -> None:
        outcome = normalise_bill(bill(matters=[]), lines(), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_MATTER)

    def test_a_client_bill_across_two_matters_is_flagged(self) -> None:
        outcome = normalise_bill(
            bill(matters=[{"id": 1}, {"id": 2}]), lines(), SETTINGS, firm_id=FIRM
        )
        flagged(outcome, FlagReason.MULTI_MATTER_BILL)

    def test_a_bill_without_a_currency_is_flagged(self) -> None:
        outcome = normalise_bill(bill(currency=None), lines(), SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MISSING_CURRENCY)

    @pytest.mark.parametrize("record", [[1, 2], "bill", None, {"number": "no id"}, {"id": "12"}])
    def test_something_that_is_not_a_bill_record_is_flagged(self, record: object) -> None:
        outcome = normalise_bill(record, [], SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MALFORMED_RECORD)

    def test_line_items_that_are_not_a_list_are_flagged(self) -> None:
        outcome = normalise_bill(bill(), None, SETTINGS, firm_id=FIRM)  # type: ignore[arg-type]
        flagged(outcome, FlagReason.MALFORMED_RECORD)

    def test_a_line_item_that_is_not_an_object_is_flagged(self) -> None:
        outcome = normalise_bill(bill(), [*lines(), "oops"], SETTINGS, firm_id=FIRM)
        flagged(outcome, FlagReason.MALFORMED_RECORD)
