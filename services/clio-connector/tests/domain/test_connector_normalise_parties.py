"""Who and what: clients, matters, practice areas and bank accounts; credit notes; records gone
from Clio; and how an outcome becomes an event on the bus."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from cashroom_contracts import deterministic_event_id, encode_event, parse_event
from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    ClientKind,
    ClientUpserted,
    CreditMemoIssued,
    MatterStatus,
    MatterUpserted,
    PracticeAreaUpserted,
    RecordDeletedInClio,
)
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from clio_connector.domain.fields import BILLS
from clio_connector.domain.normalise import (
    normalise_bank_account,
    normalise_contact,
    normalise_credit_memo,
    normalise_matter,
    normalise_practice_area,
    record_deleted,
)
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
from clio_connector.domain.records import loads_exact
from clio_connector.domain.settings import RecordImport, SyncSettings

FIRM = "firm-kelly"
SETTINGS = SyncSettings()

CONTACT = """{
  "id": 1840012233, "etag": "\\"0b6c\\"", "type": "Person", "name": "Aoife Byrne",
  "first_name": "Aoife", "last_name": "Byrne", "is_client": true,
  "primary_email_address": "aoife.byrne@example.ie", "sales_tax_number": null,
  "updated_at": "2026-02-03T16:05:40+00:00"
}"""

MATTER = """{
  "id": 2231104567, "etag": "\\"5f1c\\"", "display_number": "00042-Byrne",
  "description": "Purchase of 12 Harbour Row", "status": "Open",
  "open_date": "2026-01-14", "close_date": null,
  "client": {"id": 1840012233, "name": "Aoife Byrne"},
  "practice_area": {"id": 901, "name": "Conveyancing"},
  "responsible_attorney": {"id": 344001, "name": "Niamh Kelly"}
}"""

BANK_ACCOUNT = """{
  "id": 7001, "etag": "\\"ba01\\"", "name": "Client Account", "type": "Trust",
  "currency": "EUR", "account_number": "****4321"
}"""

CREDIT_MEMO = """{
  "id": 81001, "etag": "\\"cm01\\"", "date": "2026-02-12", "amount": 50.0,
  "description": "Goodwill reduction", "voided_at": null,
  "contact": {"id": 1840012233, "name": "Aoife Byrne", "currency": {"id": 3, "code": "EUR"}},
  "allocations": [{"id": 300790, "matter": {"id": 2231104567}}]
}"""


def record(text: str, **changes: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = loads_exact(text)
    parsed.update(changes)
    return parsed


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


class TestClients:
    def test_a_contact_who_is_a_client_becomes_a_client(self) -> None:
        payload = published(normalise_contact(record(CONTACT), SETTINGS, firm_id=FIRM)).payload

        assert payload == ClientUpserted(
            source=payload.source,
            client_id=1840012233,
            name="Aoife Byrne",
            kind=ClientKind.PERSON,
            email="aoife.byrne@example.ie",
            vat_number=None,
        )

    def test_a_contact_who_is_not_a_client_is_skipped(self) -> None:
        outcome = normalise_contact(record(CONTACT, is_client=False), SETTINGS, firm_id=FIRM)
        skipped(outcome, SkipReason.NOT_A_CLIENT)

    def test_a_company_without_a_display_name_is_named_from_its_parts(self) -> None:
        contact = record(CONTACT, type="Company", name=None, first_name=None, last_name="Acme")
        payload = published(normalise_contact(contact, SETTINGS, firm_id=FIRM)).payload
        assert isinstance(payload, ClientUpserted)
        assert (payload.name, payload.kind) == ("Acme", ClientKind.COMPANY)

    def test_a_client_with_no_name_at_all_is_flagged(self) -> None:
        contact = record(CONTACT, name="", first_name=None, last_name=None)
        flagged(normalise_contact(contact, SETTINGS, firm_id=FIRM), FlagReason.MISSING_FIELD)

    def test_an_unknown_contact_type_is_flagged(self) -> None:
        contact = record(CONTACT, type="Robot")
        flagged(normalise_contact(contact, SETTINGS, firm_id=FIRM), FlagReason.UNKNOWN_VALUE)


class TestImportAndUpdateSettings:
    def first(self) -> Published:
        return Published.of(published(normalise_contact(record(CONTACT), SETTINGS, firm_id=FIRM)))

    def test_an_edit_is_published_as_an_update(self) -> None:
        edited = record(CONTACT, etag='"0b6d"', primary_email_address="aoife@byrne.ie")
        outcome = published(
            normalise_contact(edited, SETTINGS, firm_id=FIRM, previous=self.first())
        )
        assert outcome.change is Change.UPDATED

    def test_import_only_skips_an_edit_and_says_why(self) -> None:
        settings = SyncSettings(contacts=RecordImport.IMPORT_ONLY)
        edited = record(CONTACT, etag='"0b6d"', primary_email_address="aoife@byrne.ie")
        outcome = normalise_contact(edited, settings, firm_id=FIRM, previous=self.first())
        skipped(outcome, SkipReason.UPDATES_TURNED_OFF)

    def test_a_new_etag_with_nothing_new_is_unchanged(self) -> None:
        touched = record(CONTACT, etag='"0b6e"', updated_at="2026-03-01T09:00:00+00:00")
        outcome = normalise_contact(touched, SETTINGS, firm_id=FIRM, previous=self.first())
        assert isinstance(outcome, Unchanged)

    @pytest.mark.parametrize(
        ("field", "normalise", "text"),
        [
            ("contacts", normalise_contact, CONTACT),
            ("matters", normalise_matter, MATTER),
            ("practice_areas", normalise_practice_area, '{"id": 901, "name": "Conveyancing"}'),
        ],
    )
    def test_each_kind_can_be_left_out(self, field: str, normalise: Any, text: str) -> None:
        settings = SyncSettings.model_validate({field: RecordImport.DO_NOT_IMPORT})
        skipped(normalise(record(text), settings, firm_id=FIRM), SkipReason.IMPORT_TURNED_OFF)


class TestMatters:
    def test_a_matter_carries_its_client_reference_and_practice_area(self) -> None:
        payload = published(normalise_matter(record(MATTER), SETTINGS, firm_id=FIRM)).payload

        assert isinstance(payload, MatterUpserted)
        assert (payload.matter_id, payload.client_id) == (2231104567, 1840012233)
        assert payload.reference == "00042-Byrne"
        assert payload.status is MatterStatus.OPEN
        assert payload.matter_type == "Conveyancing"
        assert payload.opened_on == date(2026, 1, 14)
        assert payload.closed_on is None
        assert payload.responsible_fee_earner == "Niamh Kelly"

    def test_a_matter_without_a_practice_area_gets_the_default_matter_type(self) -> None:
        settings = SyncSettings(default_matter_type="Private client")
        matter = record(MATTER, practice_area=None)
        payload = published(normalise_matter(matter, settings, firm_id=FIRM)).payload
        assert isinstance(payload, MatterUpserted)
        assert payload.matter_type == "Private client"

    def test_a_matter_with_no_client_is_flagged(self) -> None:
        flagged(
            normalise_matter(record(MATTER, client=None), SETTINGS, firm_id=FIRM),
            FlagReason.MISSING_CLIENT,
        )

    def test_an_unknown_status_is_flagged(self) -> None:
        flagged(
            normalise_matter(record(MATTER, status="Archived"), SETTINGS, firm_id=FIRM),
            FlagReason.UNKNOWN_VALUE,
        )

    def test_a_matter_without_a_reference_is_flagged(self) -> None:
        flagged(
            normalise_matter(record(MATTER, display_number=" "), SETTINGS, firm_id=FIRM),
            FlagReason.MISSING_FIELD,
        )


class TestPracticeAreasAndBankAccounts:
    def test_a_practice_area_is_a_matter_type(self) -> None:
        area = record('{"id": 901, "name": "Conveyancing", "code": "CONV"}')
        payload = published(normalise_practice_area(area, SETTINGS, firm_id=FIRM)).payload
        assert payload == PracticeAreaUpserted(
            source=payload.source, practice_area_id=901, name="Conveyancing", code="CONV"
        )

    def test_a_trust_account_is_a_client_account_and_may_be_the_default(self) -> None:
        settings = SyncSettings(default_client_account_id=7001)
        payload = published(
            normalise_bank_account(record(BANK_ACCOUNT), settings, firm_id=FIRM)
        ).payload

        assert isinstance(payload, BankAccountUpserted)
        assert payload.kind is AccountKind.CLIENT
        assert payload.is_default_client_account is True
        assert payload.account_number_last4 == "4321"
        assert payload.currency == "EUR"

    def test_an_operating_account_is_an_office_account(self) -> None:
        account = record(BANK_ACCOUNT, id=7002, type="Operating", account_number=None)
        payload = published(normalise_bank_account(account, SETTINGS, firm_id=FIRM)).payload
        assert isinstance(payload, BankAccountUpserted)
        assert (payload.kind, payload.is_default_client_account) == (AccountKind.OFFICE, False)
        assert payload.account_number_last4 is None

    def test_an_account_of_unknown_type_is_flagged(self) -> None:
        account = record(BANK_ACCOUNT, type="Savings")
        flagged(normalise_bank_account(account, SETTINGS, firm_id=FIRM), FlagReason.UNKNOWN_VALUE)


class TestCreditNotes:
    def test_a_credit_memo_is_a_credit_note_for_the_client_and_its_matter(self) -> None:
        payload = published(
            normalise_credit_memo(record(CREDIT_MEMO), SETTINGS, firm_id=FIRM)
        ).payload

        assert payload == CreditMemoIssued(
            source=payload.source,
            credit_memo_id=81001,
            client_id=1840012233,
            matter_id=2231104567,
            issued_on=date(2026, 2, 12),
            amount=Money.of("50.00", "EUR"),
            description="Goodwill reduction",
        )

    def test_a_credit_memo_voided_after_it_was_posted_is_flagged(self) -> None:
        first = published(normalise_credit_memo(record(CREDIT_MEMO), SETTINGS, firm_id=FIRM))
        voided = record(CREDIT_MEMO, voided_at="2026-02-13T10:00:00+00:00")
        flagged(
            normalise_credit_memo(voided, SETTINGS, firm_id=FIRM, previous=Published.of(first)),
            FlagReason.CREDIT_NOTE_VOIDED_AFTER_IMPORT,
        )

    def test_a_credit_memo_voided_before_import_is_skipped(self) -> None:
        voided = record(CREDIT_MEMO, voided_at="2026-02-13T10:00:00+00:00")
        skipped(
            normalise_credit_memo(voided, SETTINGS, firm_id=FIRM),
            SkipReason.CREDIT_NOTE_VOIDED_BEFORE_IMPORT,
        )


class TestRecordsGoneFromClio:
    def test_a_record_missing_from_a_full_sync_is_deleted_with_a_stable_id(self) -> None:
        outcome = record_deleted(BILLS, 5550012, firm_id=FIRM, last_version='"b0c9"')

        assert isinstance(outcome.payload, RecordDeletedInClio)
        assert outcome.payload.source.object_id == 5550012
        assert outcome.event_id == deterministic_event_id(
            FIRM, "clio.record.deleted", "Bill", 5550012, '"b0c9"'
        )


class TestTheEventOnTheBus:
    def test_an_outcome_becomes_an_envelope_that_parses_back_to_the_same_event(self) -> None:
        outcome = published(normalise_matter(record(MATTER), SETTINGS, firm_id=FIRM))
        at = datetime(2026, 2, 3, 16, 6, tzinfo=UTC)

        envelope = outcome.envelope(time=at)
        parsed = parse_event(encode_event(envelope))

        assert parsed.id == outcome.event_id
        assert parsed.firm_id == FIRM
        assert parsed.subject == "clio/matter/2231104567"
        assert parsed.source == "cashroom/clio-connector"
        assert parsed.type == "clio.matter.upserted"
        assert parsed.data == outcome.payload
        assert parsed.time == at
