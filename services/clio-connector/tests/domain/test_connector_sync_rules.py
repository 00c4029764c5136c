"""The sync's decisions without I/O: where a read starts, the reading order, what a record's log
line says, when an absence is news, webhook signatures and renewals, the corrections a cashier
makes, and canonical JSON (the fast path gives the same text as the plain one)."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cashroom_contracts.events.clio import PurchaseInvoiceRecorded
from cashroom_contracts.events.common import AccountKind, ClioSource, VatAmount, VatTreatment
from cashroom_contracts.money import Money
from clio_connector.domain import fields
from clio_connector.domain.outcomes import (
    Change,
    Flagged,
    FlagReason,
    Publish,
    RecordRef,
    Skipped,
    SkipReason,
    Unchanged,
)
from clio_connector.domain.records import _canonical_json, canonical_json
from clio_connector.domain.settings import KnownBankAccount, SyncSettings
from clio_connector.domain.sync_rules import (
    CorrectionRefused,
    LastOutcome,
    LogStatus,
    advance_mark,
    bills_needing_lines,
    clio_timestamp,
    deletion_is_news,
    known_bank_account,
    outlay_paid,
    read_from,
    reading_steps,
    renewal_due,
    settings_fingerprint,
    signature_matches,
    webhook_signature,
    webhook_sync_wait,
    with_vat_decision,
)
from clio_connector.domain.sync_rules import log_entry as entry_for

MARK = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
REF = RecordRef("Activity", 9001, '"e1"', "hash-1")
OFFICE = KnownBankAccount(7001, "Office", AccountKind.OFFICE, "EUR")
CLIENT = KnownBankAccount(7002, "Client", AccountKind.CLIENT, "EUR")


def outlay(
    net_minor: int = 10_000, treatment: VatTreatment = VatTreatment.UNDER_REVIEW
) -> PurchaseInvoiceRecorded:
    return PurchaseInvoiceRecorded(
        source=ClioSource(object_type="Activity", object_id=9001, version='"e1"'),
        invoice_id=9001,
        matter_id=1,
        supplier=None,
        invoiced_on=date(2026, 9, 1),
        description="Land Registry search",
        net=Money(amount_minor=net_minor, currency="EUR"),
        vat_treatment=treatment,
        vat=VatAmount(rate_basis_points=0, amount=Money.zero("EUR")),
    )


class TestWhereAReadStarts:
    def test_an_incremental_read_starts_the_overlap_before_the_mark(self) -> None:
        overlap = timedelta(minutes=5)
        assert read_from(MARK, overlap=overlap, full=False) == datetime(
            2026, 9, 30, 11, 55, tzinfo=UTC
        )

    def test_a_full_read_or_a_resource_never_read_to_the_end_starts_at_the_first_page(
        self,
    ) -> None:
        assert read_from(MARK, overlap=timedelta(minutes=5), full=True) is None
        assert read_from(None, overlap=timedelta(minutes=5), full=False) is None

    def test_the_mark_never_moves_back(self) -> None:
        earlier = MARK - timedelta(seconds=1)
        assert advance_mark(MARK, earlier) == MARK
        assert advance_mark(earlier, MARK) == MARK
        assert advance_mark(None, MARK) == MARK and advance_mark(MARK, None) == MARK

    def test_clios_timestamps_are_read_with_their_offset_and_nonsense_is_none(self) -> None:
        assert clio_timestamp("2026-09-30T13:00:00+01:00") == MARK
        assert clio_timestamp("2026-09-30T12:00:00Z") == MARK
        assert clio_timestamp("30/09/2026") is None
        assert clio_timestamp("2026-09-30T12:00:00") is None  # no zone: not a mark
        assert clio_timestamp(None) is None


class TestReadingOrder:
    def test_line_items_are_read_in_bulk_just_before_bills_read_in_full(self) -> None:
        steps = reading_steps(
            [fields.ALLOCATIONS, fields.BILLS, fields.ACTIVITIES], bills_read_in_full=True
        )
        assert [s.path for s in steps] == ["activities", "line_items", "bills", "allocations"]

    def test_an_incremental_read_of_bills_fetches_lines_per_changed_bill(self) -> None:
        steps = reading_steps([fields.BILLS], bills_read_in_full=False)
        assert [s.path for s in steps] == ["bills"]


class TestWhichBillsGetTheirLinesFetchedOneByOne:
    """A request per bill is the expensive read; a full read avoids it where the bulk read of
    line items already said what the bill has."""

    LINES_READ_UNTIL = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)

    def bill(self, bill_id: int, updated_at: str | None, etag: str = '"b1"') -> dict[str, Any]:
        return {"id": bill_id, "etag": etag, "updated_at": updated_at, "state": "paid"}

    def test_a_full_read_trusts_the_bulk_read_for_bills_that_did_not_change_after_it(
        self,
    ) -> None:
        bills = [
            self.bill(1, "2026-09-30T11:00:00Z"),  # lines stored
            self.bill(2, "2024-10-14T08:32:04+01:00"),  # no lines (funds on account): none
            self.bill(3, "2026-09-30T12:00:00Z"),  # changed when the bulk read ended: fetch
            self.bill(4, "2026-09-30T12:00:01Z"),  # changed after it: fetch
            self.bill(5, None),  # no updated_at: fetch
        ]
        wanted = bills_needing_lines(
            bills,
            stored={1},
            known_etags={},
            read_in_full=True,
            lines_read_until=self.LINES_READ_UNTIL,
        )
        assert wanted == [3, 4, 5]

    def test_a_full_read_without_a_known_bulk_read_fetches_every_bill_without_lines(
        self,
    ) -> None:
        bills = [self.bill(1, "2026-09-30T11:00:00Z"), self.bill(2, "2024-10-14T08:32:04Z")]
        wanted = bills_needing_lines(
            bills, stored={1}, known_etags={}, read_in_full=True, lines_read_until=None
        )
        assert wanted == [2]

    def test_an_incremental_read_fetches_bills_new_to_it_or_whose_etag_changed(self) -> None:
        bills = [
            self.bill(1, "2026-09-30T11:00:00Z", '"same"'),
            self.bill(2, "2026-09-30T11:00:00Z", '"new"'),
            self.bill(3, "2026-09-30T11:00:00Z", '"same"'),  # lines never stored
            self.bill(4, "2026-09-30T11:00:00Z", '"same"'),  # no snapshot
        ]
        wanted = bills_needing_lines(
            bills,
            stored={1, 2, 4},
            known_etags={1: '"same"', 2: '"old"', 3: '"same"'},
            read_in_full=False,
            lines_read_until=self.LINES_READ_UNTIL,
        )
        assert wanted == [2, 3, 4]


class TestWhenWebhookHintsBecomeASync:
    QUIET, MAX_WAIT = 0.2, 1.0

    def wait(self, *, first: float, last: float, now: float) -> float:
        return webhook_sync_wait(
            first_hint=first, last_hint=last, now=now, quiet=self.QUIET, max_wait=self.MAX_WAIT
        )

    def test_a_lone_hint_waits_only_the_quiet_window(self) -> None:
        assert self.wait(first=10.0, last=10.0, now=10.0) == pytest.approx(0.2)
        assert self.wait(first=10.0, last=10.0, now=10.2) == 0.0

    def test_each_hint_of_a_burst_restarts_the_quiet_window(self) -> None:
        # hints at 10.0 and 10.15: quiet from 10.15 until 10.35
        assert self.wait(first=10.0, last=10.15, now=10.2) == pytest.approx(0.15)

    def test_a_steady_trickle_starts_the_sync_by_the_longest_wait(self) -> None:
        # hints every 0.1 s since 10.0: due at 10.0 + 1.0, not 0.2 after the latest
        assert self.wait(first=10.0, last=10.9, now=10.9) == pytest.approx(0.1)
        assert self.wait(first=10.0, last=11.05, now=11.05) == 0.0

    def test_a_longest_wait_shorter_than_the_quiet_window_is_the_quiet_window(self) -> None:
        due = webhook_sync_wait(first_hint=0.0, last_hint=0.0, now=0.0, quiet=0.5, max_wait=0.1)
        assert due == pytest.approx(0.5)


class TestTheLogLineOfARecord:
    def test_an_event_is_imported_or_updated(self) -> None:
        payload = outlay(treatment=VatTreatment.OUTSIDE_SCOPE)
        publish = Publish(REF, payload, uuid.uuid4(), "firm", "facts", _change("imported"))
        entry = entry_for(publish, None)
        assert (entry.status, entry.published) == (LogStatus.IMPORTED, publish)

    def test_the_same_skip_of_the_same_content_again_is_unchanged_with_its_reason(self) -> None:
        skip = Skipped(REF, SkipReason.BILL_NOT_APPROVED, "draft")
        last = LastOutcome("skipped", "bill_not_approved", "hash-1", None)
        assert entry_for(skip, last).status is LogStatus.UNCHANGED
        assert entry_for(skip, last).reason == "bill_not_approved"
        other_content = LastOutcome("skipped", "bill_not_approved", "hash-0", None)
        assert entry_for(skip, other_content).status is LogStatus.SKIPPED

    def test_a_flag_repeats_as_unchanged_only_with_the_same_held_event(self) -> None:
        held_id = uuid.uuid4()
        held = Publish(REF, outlay(), held_id, "firm", "facts", _change("imported"))
        flag = Flagged(REF, FlagReason.DISBURSEMENT_VAT_REVIEW, "choose", held)
        same = LastOutcome("flagged", "disbursement_vat_review", "hash-1", held_id)
        other = LastOutcome("flagged", "disbursement_vat_review", "hash-1", uuid.uuid4())
        assert entry_for(flag, same).status is LogStatus.UNCHANGED
        assert entry_for(flag, other).status is LogStatus.FLAGGED
        assert entry_for(flag, other).held is held

    def test_the_same_facts_are_unchanged(self) -> None:
        assert entry_for(Unchanged(REF, "facts"), None).status is LogStatus.UNCHANGED


class TestGoneFromClio:
    def test_news_only_when_something_published_still_stands(self) -> None:
        assert deletion_is_news("clio.work.recorded")
        assert not deletion_is_news(None)
        for undone in ("clio.bill.voided", "clio.bill_payment.reversed", "clio.record.deleted"):
            assert not deletion_is_news(undone)


class TestWebhooks:
    def test_the_signature_is_the_hex_hmac_sha256_of_the_exact_body(self) -> None:
        body = b'{"data":{"id":1}}'
        expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert webhook_signature("s3cret", body) == expected
        assert signature_matches("s3cret", body, expected.upper())
        assert not signature_matches("s3cret", body + b" ", expected)
        assert not signature_matches("other", body, expected)
        assert not signature_matches("s3cret", body, None)

    def test_renewal_is_due_within_the_margin_in_clios_clock(self) -> None:
        week = timedelta(days=7)
        assert renewal_due(MARK + timedelta(days=6), clio_now=MARK, margin=week)
        assert not renewal_due(MARK + timedelta(days=8), clio_now=MARK, margin=week)
        assert renewal_due(None, clio_now=MARK, margin=week)


class TestCorrections:
    def test_outside_scope_carries_no_vat(self) -> None:
        corrected = with_vat_decision(outlay(), VatTreatment.OUTSIDE_SCOPE)
        assert corrected.vat_treatment is VatTreatment.OUTSIDE_SCOPE
        assert corrected.vat == VatAmount(rate_basis_points=0, amount=Money.zero("EUR"))
        assert corrected.net == outlay().net

    def test_standard_vat_is_the_net_at_the_rate_rounded_half_up(self) -> None:
        corrected = with_vat_decision(
            outlay(net_minor=1_050), VatTreatment.STANDARD, rate_basis_points=2300
        )
        # 10.50 × 23% = 2.415 → 2.42
        assert corrected.vat.amount == Money(amount_minor=242, currency="EUR")
        given = with_vat_decision(
            outlay(net_minor=1_050),
            VatTreatment.STANDARD,
            rate_basis_points=2300,
            vat_amount=Money(amount_minor=241, currency="EUR"),
        )
        assert given.vat.amount.amount_minor == 241

    @pytest.mark.parametrize(
        ("treatment", "rate", "amount"),
        [
            (VatTreatment.STANDARD, None, None),
            (VatTreatment.UNDER_REVIEW, None, None),
            (VatTreatment.EXEMPT, 2300, None),
            (VatTreatment.STANDARD, 2300, Money(amount_minor=5, currency="GBP")),
        ],
    )
    def test_decisions_that_do_not_add_up_are_refused(
        self, treatment: VatTreatment, rate: int | None, amount: Money | None
    ) -> None:
        with pytest.raises(CorrectionRefused):
            with_vat_decision(outlay(), treatment, rate_basis_points=rate, vat_amount=amount)

    def test_a_linked_outlay_is_paid_from_an_office_account_up_to_what_it_owes(self) -> None:
        invoice = outlay(treatment=VatTreatment.OUTSIDE_SCOPE)
        paid = outlay_paid(invoice, paid_on=date(2026, 9, 2), bank_account=OFFICE)
        assert (paid.invoice_id, paid.bank_account_id, paid.amount.amount_minor) == (
            9001,
            7001,
            10_000,
        )
        with pytest.raises(CorrectionRefused, match="client account"):
            outlay_paid(invoice, paid_on=date(2026, 9, 2), bank_account=CLIENT)
        with pytest.raises(CorrectionRefused, match="more than"):
            outlay_paid(
                invoice,
                paid_on=date(2026, 9, 2),
                bank_account=OFFICE,
                amount=Money(amount_minor=10_001, currency="EUR"),
            )
        with pytest.raises(CorrectionRefused, match="before the invoice date"):
            outlay_paid(invoice, paid_on=date(2026, 8, 31), bank_account=OFFICE)
        with pytest.raises(CorrectionRefused, match="VAT treatment"):
            outlay_paid(outlay(), paid_on=date(2026, 9, 2), bank_account=OFFICE)


class TestFacts:
    def test_a_bank_account_is_known_by_its_clio_type(self) -> None:
        record = {"id": 7002, "type": "Trust", "name": "Client", "currency": {"code": "EUR"}}
        assert known_bank_account(record) == CLIENT
        assert known_bank_account({**record, "type": "Savings"}) is None
        assert known_bank_account({**record, "currency": "euro"}) is None

    def test_other_settings_normalise_again(self) -> None:
        assert settings_fingerprint(SyncSettings()) == settings_fingerprint(SyncSettings())
        later = SyncSettings(import_transactions_from=date(2025, 1, 1))
        assert settings_fingerprint(later) != settings_fingerprint(SyncSettings())


class TestCanonicalJson:
    def test_the_fast_path_gives_the_plain_recursive_text(self) -> None:
        rnd = random.Random(7)
        values: list[object] = [
            {"a": Decimal("1E-7"), "b": Decimal("12345678901234567.89"), "c": 1.5, "d": 150.0},
            {"e": -0.0, "f": Decimal("-0.00"), "g": [1, Decimal("2.50"), None, 'Ní "q" \\ \n']},
            {"x": "\x00#12\x00"},  # looks like the fast path's marker: takes the plain path
            {"ü": 1},  # a key that is not ASCII: the plain path
            ("tuple", True, False),
        ]
        for _ in range(500):
            amount = Decimal(rnd.randint(-(10**12), 10**12)).scaleb(-rnd.randint(0, 9))
            values.append({"k": amount, "l": [amount, {"m": amount}]})
        for value in values:
            assert canonical_json(value) == _canonical_json(value)
        assert canonical_json({"total": Decimal("150.00"), "n": 1}) == '{"n":1,"total":150}'


def _change(value: str) -> Change:
    return Change(value)
