"""What normalising one Clio record can come to: an event to publish, nothing new, a skip, a flag.

Every outcome names the record (type, id, version, content hash), so each becomes one sync-log
line. Reasons are codes the cashier can filter on, with a sentence saying what to do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cashroom_contracts.envelope import Envelope, new_event
from cashroom_contracts.events.clio import ClioEvent

EVENT_SOURCE = "cashroom/clio-connector"


class SkipReason(StrEnum):
    """Why a record was read and deliberately not imported (the sync log says so)."""

    IMPORT_TURNED_OFF = "import_turned_off"  # the firm's settings do not import this kind
    UPDATES_TURNED_OFF = "updates_turned_off"  # imported once; the settings say not to update
    DATED_BEFORE_CUT_OFF = "dated_before_cut_off"
    NOT_A_CLIENT = "not_a_client"  # a contact that is not a client (vendor, other party)
    BILL_NOT_APPROVED = "bill_not_approved"  # draft or awaiting approval
    BILL_DELETED_BEFORE_APPROVAL = "bill_deleted_before_approval"
    BILL_VOIDED_BEFORE_IMPORT = "bill_voided_before_import"  # never posted, nothing to reverse
    TRUST_REQUEST = "trust_request"  # a request for money on account: not a bill of costs
    PAYMENT_VOIDED_BEFORE_IMPORT = "payment_voided_before_import"
    CREDIT_NOTE_ALLOCATION = "credit_note_allocation"  # arrives as the credit note itself
    RECEIPT_INTO_CLIENT_ACCOUNT = "receipt_into_client_account"  # arrives as a client receipt
    BILL_PAYMENT_TRANSACTION = "bill_payment_transaction"  # arrives as the bill payment
    OFFICE_ACCOUNT_TRANSACTION = "office_account_transaction"  # arrives via bills, disbursements
    CREDIT_NOTE_VOIDED_BEFORE_IMPORT = "credit_note_voided_before_import"


class FlagReason(StrEnum):
    """Why a record needs a cashier before it can post (or cannot be read at all)."""

    MALFORMED_RECORD = "malformed_record"  # not a JSON object, wrong types, no id
    MISSING_FIELD = "missing_field"
    MISSING_MATTER = "missing_matter"
    MISSING_CLIENT = "missing_client"
    MISSING_BILL = "missing_bill"
    MISSING_BANK_ACCOUNT = "missing_bank_account"
    MISSING_CURRENCY = "missing_currency"
    UNKNOWN_VALUE = "unknown_value"  # an enum value Clio's documentation does not list
    NULL_MONEY = "null_money"
    MONEY_PRECISION = "money_precision"  # more decimal places than the currency has
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    CURRENCY_MISMATCH = "currency_mismatch"
    MISMATCHED_MONEY = "mismatched_money"  # amount, funds in and funds out disagree
    LINE_TOTALS_MISMATCH = "line_totals_mismatch"  # a line's sub-total, discount, tax, total
    BILL_TOTALS_MISMATCH = "bill_totals_mismatch"  # lines do not add up to the bill's total
    VAT_MISMATCH = "vat_mismatch"  # line VAT does not add up to the bill's VAT
    UNSUPPORTED_TAX_RATE = "unsupported_tax_rate"  # finer than a basis point
    DISCOUNT_NOT_ALLOCATABLE = "discount_not_allocatable"  # no (or too few) fees to carry it
    MULTI_MATTER_BILL = "multi_matter_bill"
    UNKNOWN_EXPENSE_KIND = "unknown_expense_kind"  # disbursement or recoverable expense?
    REDACTED = "redacted"  # Clio hid the amount from the authorising user
    DISBURSEMENT_VAT_REVIEW = "disbursement_vat_review"  # "let me review": held for a decision
    VAT_SETTING_CONFLICT = "vat_setting_conflict"  # Clio charges tax the settings say is none
    HELD_WITH_DISBURSEMENT_UNDER_REVIEW = "held_with_disbursement_under_review"  # waits for it
    DISBURSEMENT_NOT_BILLABLE = "disbursement_not_billable"
    UNEXPECTED_BANK_ACCOUNTS = "unexpected_bank_accounts"
    INTEREST_WITHOUT_BILL = "interest_without_bill"
    BILL_UNAPPROVED_AFTER_POSTING = "bill_unapproved_after_posting"
    BILL_REVIVED_AFTER_VOID = "bill_revived_after_void"
    CREDIT_NOTE_VOIDED_AFTER_IMPORT = "credit_note_voided_after_import"


class Change(StrEnum):
    IMPORTED = "imported"  # first time this record reaches the ledger
    UPDATED = "updated"  # a new version of a record published before


@dataclass(frozen=True)
class RecordRef:
    """The Clio record an outcome is about. ``object_id`` is None only for a record so broken
    that it has no id; ``version`` is Clio's etag, else the content hash."""

    object_type: str
    object_id: int | None
    version: str
    content_hash: str
    # The record's canonical JSON when it was made on the way to the hash (the snapshot keeps it)
    raw: str | None = field(default=None, compare=False, repr=False)

    @property
    def subject(self) -> str:
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in self.object_type)
        return f"clio/{snake.lstrip('_')}/{self.object_id}"


@dataclass(frozen=True)
class Publish:
    """An event to put in the outbox. Its id is deterministic: the same Clio state gives the
    same id, so a re-sync publishes nothing new."""

    record: RecordRef
    payload: ClioEvent
    event_id: uuid.UUID
    firm_id: str
    facts_hash: str  # what the event says (minus where it came from): unchanged facts, no event
    change: Change
    # payload.model_dump(mode="json"), when it was made on the way to the facts hash
    payload_json: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def payload_dump(self) -> dict[str, Any]:
        """The payload as JSON (what the snapshot keeps of the published event)."""
        if self.payload_json is not None:
            return self.payload_json
        return self.payload.model_dump(mode="json")

    @property
    def log_status(self) -> str:
        return self.change.value

    def envelope(
        self,
        *,
        time: datetime,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> Envelope[ClioEvent]:
        return new_event(
            self.payload,
            firm_id=self.firm_id,
            source=EVENT_SOURCE,
            subject=self.record.subject,
            event_id=self.event_id,
            time=time,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )


@dataclass(frozen=True)
class Unchanged:
    """The record changed in Clio (a new etag) but nothing the ledger cares about did."""

    record: RecordRef
    facts_hash: str
    log_status = "unchanged"


@dataclass(frozen=True)
class Skipped:
    record: RecordRef
    reason: SkipReason
    detail: str
    log_status = "skipped"


@dataclass(frozen=True)
class Flagged:
    """Needs a cashier. ``held`` is the event that would be published (e.g. a disbursement whose
    VAT the firm reviews); the cashier's decision releases a corrected copy of it."""

    record: RecordRef
    reason: FlagReason
    detail: str
    held: Publish | None = None
    log_status = "flagged"


Outcome = Publish | Unchanged | Skipped | Flagged


@dataclass(frozen=True)
class Published:
    """What the connector last published for a record: the caller keeps it and passes it back,
    so an edit becomes a change event and an unchanged record no event at all.

    ``facts_hash`` is the one the normaliser returned (``Publish.facts_hash`` or the held
    event's), not that of a cashier's later correction.
    """

    event_type: str
    version: str
    facts_hash: str

    @classmethod
    def of(cls, publish: Publish) -> Published:
        return cls(publish.payload.event_type, publish.record.version, publish.facts_hash)
