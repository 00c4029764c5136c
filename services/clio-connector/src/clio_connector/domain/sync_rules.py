"""How a sync decides, without I/O: where an incremental read starts (the high-water mark less an
overlap), which resources a sync reads and in what order, what each record's sync-log line says,
when an absent record is news for the ledger, webhook signatures, and the corrections a cashier
makes in the sync log (a VAT decision, a linked outlay paid).

Times are passed in; nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cashroom_contracts.envelope import deterministic_event_id, registered_payloads
from cashroom_contracts.events.clio import (
    BankTransferMade,
    BillApproved,
    BillChanged,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
    WorkKind,
    WorkRecorded,
)
from cashroom_contracts.events.common import AccountKind, VatAmount, VatTreatment
from cashroom_contracts.money import Money
from clio_connector.domain import fields
from clio_connector.domain.fields import BILLS, LINE_ITEMS, SYNC_ORDER, ClioResource
from clio_connector.domain.normalise import (
    normalise_activity,
    normalise_allocation,
    normalise_bank_account,
    normalise_bank_transaction,
    normalise_bill,
    normalise_contact,
    normalise_credit_memo,
    normalise_matter,
    normalise_practice_area,
)
from clio_connector.domain.outcomes import Outcome, Publish, Published, Skipped, Unchanged
from clio_connector.domain.records import RecordProblem, currency_code
from clio_connector.domain.settings import KnownBankAccount, SyncSettings

# --- Where a read starts ---------------------------------------------------------------------

DEFAULT_OVERLAP = timedelta(minutes=5)


def read_from(mark: datetime | None, *, overlap: timedelta, full: bool) -> datetime | None:
    """The ``updated_since`` of a read: nothing for a full read or a resource never read to the
    end, else the high-water mark less the overlap. The overlap re-reads records whose
    ``updated_at`` fell behind the mark while a read was going on (a record edited on an earlier
    page after that page was read); the content hash recognises them as unchanged."""
    if full or mark is None:
        return None
    return mark - overlap


def advance_mark(mark: datetime | None, seen: datetime | None) -> datetime | None:
    """The later of the two; a mark never moves back."""
    if seen is None:
        return mark
    if mark is None:
        return seen
    return max(mark, seen)


def clio_timestamp(value: object) -> datetime | None:
    """A record's ``updated_at`` as an aware datetime; None when missing or unreadable (such a
    record still syncs, it just does not move the mark)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# --- What a sync reads -------------------------------------------------------------------------

WEBHOOK_RESOURCES: tuple[ClioResource, ...] = tuple(r for r in SYNC_ORDER if r.webhook_model)
POLLED_RESOURCES: tuple[ClioResource, ...] = tuple(r for r in SYNC_ORDER if not r.webhook_model)
_BY_PATH = {r.path: r for r in (*SYNC_ORDER, LINE_ITEMS)}
_BY_MODEL = {r.webhook_model: r for r in SYNC_ORDER if r.webhook_model}
OBJECT_TYPES = frozenset(r.object_type for r in _BY_PATH.values())
"""The Clio record types the connector reads and logs (``Bill``, ``Matter`` ...)."""


def resource_named(path: str) -> ClioResource:
    try:
        return _BY_PATH[path]
    except KeyError:
        raise ValueError(f"{path!r} is not a resource the connector reads") from None


def resource_of_model(model: str) -> ClioResource | None:
    """The resource a Clio webhook model stands for (``bill`` → bills)."""
    return _BY_MODEL.get(model)


def in_sync_order(resources: Iterable[ClioResource]) -> tuple[ClioResource, ...]:
    """The resources among ``resources``, in the order a sync reads them (what a record refers
    to arrives before it does)."""
    wanted = {r.path for r in resources}
    unknown = wanted - {r.path for r in SYNC_ORDER}
    if unknown:
        raise ValueError(f"not resources a sync reads: {', '.join(sorted(unknown))}")
    return tuple(r for r in SYNC_ORDER if r.path in wanted)


def reading_steps(
    resources: Iterable[ClioResource], *, bills_read_in_full: bool
) -> tuple[ClioResource, ...]:
    """The reads of one sync. When every bill is read, their line items are read in bulk just
    before them (a page of 200 lines per request instead of one request per bill); an
    incremental read of bills fetches the lines of each changed bill instead."""
    ordered = in_sync_order(resources)
    steps: list[ClioResource] = []
    for resource in ordered:
        if resource is BILLS and bills_read_in_full:
            steps.append(LINE_ITEMS)
        steps.append(resource)
    return tuple(steps)


def bills_needing_lines(
    bills: Sequence[Mapping[str, Any]],
    *,
    stored: Collection[int],
    known_etags: Mapping[int, str | None],
    read_in_full: bool,
    lines_read_until: datetime | None,
) -> list[int]:
    """The bills of a page whose line items must be fetched one bill at a time (a request each).

    ``bills``: the page's approved bills; ``stored``: those with line items stored;
    ``known_etags``: the etag stored with each bill's last snapshot.

    * An incremental read fetches the lines of a bill it has none of, or whose etag changed.
    * A read in full follows the bulk read of every line item, so a bill without stored lines
      has none (a request for funds on account, say), unless the bill changed after the bulk
      read: its ``updated_at`` at or after ``lines_read_until``, the latest ``updated_at`` among
      the lines read (Clio's clock had reached it when the read ended). A bill without an
      ``updated_at``, or a run whose bulk read is not known, fetches as before."""
    wanted = []
    for bill in bills:
        bill_id = bill.get("id")
        if not isinstance(bill_id, int) or isinstance(bill_id, bool):
            continue
        if read_in_full:
            changed = clio_timestamp(bill.get("updated_at"))
            in_bulk_read = (
                lines_read_until is not None and changed is not None and changed < lines_read_until
            )
            known = bill_id in stored or in_bulk_read
        else:
            known = (
                bill_id in stored
                and bill_id in known_etags
                and known_etags[bill_id] == bill.get("etag")
            )
        if not known:
            wanted.append(bill_id)
    return wanted


def webhook_sync_wait(
    *, first_hint: float, last_hint: float, now: float, quiet: float, max_wait: float
) -> float:
    """Seconds still to wait before webhook hints become a sync (0: start it now).

    Clio sends a burst of deliveries for one change in the practice (a bill and its payment, an
    import of many entries); waiting until ``quiet`` seconds pass without another makes the burst
    one sync. ``max_wait`` after the first hint the sync starts anyway, so a steady trickle of
    changes is not postponed for ever. Times are seconds on one monotonic clock."""
    due = min(last_hint + quiet, first_hint + max(max_wait, quiet))
    return max(due - now, 0.0)


# --- The sync-log line of a record -------------------------------------------------------------


class LogStatus(StrEnum):
    IMPORTED = "imported"  # first event for the record
    UPDATED = "updated"  # a new version of a record published before
    UNCHANGED = "unchanged"  # read again, nothing new (same content, or same facts)
    SKIPPED = "skipped"  # deliberately not imported (reason)
    FLAGGED = "flagged"  # needs a cashier (reason)
    DELETED = "deleted"  # gone from Clio (found by a full sync or a webhook)
    RESOLVED = "resolved"  # a cashier's decision released or corrected an event


class LedgerStatus(StrEnum):
    PENDING = "pending"  # published, the ledger has not answered yet
    POSTED = "posted"
    HELD = "held"
    REJECTED = "rejected"


@dataclass(frozen=True)
class LastOutcome:
    """What the previous sync said about a record (kept with its snapshot)."""

    status: str
    reason: str | None
    content_hash: str
    held_event_id: uuid.UUID | None


@dataclass(frozen=True)
class LogEntry:
    """One sync-log line: its status, why, and the event it published (if any)."""

    status: LogStatus
    reason: str | None
    detail: str | None
    published: Publish | None  # the event that goes to the outbox with the line
    held: Publish | None  # the event waiting for a cashier's decision


def log_entry(outcome: Outcome, last: LastOutcome | None) -> LogEntry:
    """The line for one record read by a sync.

    A skip or a flag that says exactly what the previous sync said about the same content (the
    same reason, the same held event) is ``unchanged``: the first line stands, and a cashier's
    list of flags is not repeated at every sync. The reason is kept on the line.
    """
    if isinstance(outcome, Publish):
        return LogEntry(LogStatus(outcome.log_status), None, None, outcome, None)
    if isinstance(outcome, Unchanged):
        return LogEntry(LogStatus.UNCHANGED, None, None, None, None)
    same_content = last is not None and last.content_hash == outcome.record.content_hash
    if isinstance(outcome, Skipped):
        repeated = (
            same_content
            and last is not None
            and last.status in (LogStatus.SKIPPED, LogStatus.UNCHANGED)
            and last.reason == outcome.reason.value
        )
        status = LogStatus.UNCHANGED if repeated else LogStatus.SKIPPED
        return LogEntry(status, outcome.reason.value, outcome.detail, None, None)
    held_id = outcome.held.event_id if outcome.held is not None else None
    repeated = (
        same_content
        and last is not None
        and last.status in (LogStatus.FLAGGED, LogStatus.UNCHANGED)
        and last.reason == outcome.reason.value
        and last.held_event_id == held_id
    )
    status = LogStatus.UNCHANGED if repeated else LogStatus.FLAGGED
    return LogEntry(status, outcome.reason.value, outcome.detail, None, outcome.held)


def event_amount(payload: ClioEvent) -> Money | None:
    """The money an event moves, for the sync log and its totals (None when it moves none)."""
    # By the payload's exact type first: isinstance against a pydantic model goes through
    # ABCMeta, and a work entry was the last of eleven checks, twice for each record written.
    read = _AMOUNT_OF.get(type(payload))
    if read is not None:
        return read(payload)
    return _amount_by_kind(payload)


def _bill_total(payload: Any) -> Money:
    total: Money = payload.bill.total
    return total


def _amount(payload: Any) -> Money:
    amount: Money = payload.amount
    return amount


def _net_and_vat(payload: Any) -> Money:
    total: Money = payload.net + payload.vat.amount
    return total


def _value(payload: Any) -> Money:
    value: Money = payload.value
    return value


_AMOUNT_OF: dict[type, Callable[[Any], Money]] = {
    BillApproved: _bill_total,
    BillChanged: _bill_total,
    BillPaymentReceived: _amount,
    ClientMoneyReceived: _amount,
    ClientMoneyPaid: _amount,
    CreditMemoIssued: _amount,
    BankTransferMade: _amount,
    PurchaseInvoicePaid: _amount,
    DisbursementPaid: _net_and_vat,
    PurchaseInvoiceRecorded: _net_and_vat,
    WorkRecorded: _value,
}


def _amount_by_kind(payload: ClioEvent) -> Money | None:
    """A payload of a subclass of one of the kinds above reads its money as that kind does."""
    for kind, read in _AMOUNT_OF.items():
        if isinstance(payload, kind):
            return read(payload)
    return None


Worth = tuple[str | None, int | None]
"""A record's published worth: currency and amount in minor units (None, None without money)."""

_CANCELLING = frozenset(
    {BillVoided.event_type, BillPaymentReversed.event_type, RecordDeletedInClio.event_type}
)


def published_worth(payload: ClioEvent, before: Worth) -> Worth:
    """What a record is worth once ``payload`` is its latest published event: the money the
    event moves; nothing (in the currency it had) after a void, a reversal or a deletion; what
    it was worth before for an event that moves no money (``SyncCompleted``'s totals)."""
    amount = event_amount(payload)
    if amount is not None:
        return amount.currency, amount.amount_minor
    currency, minor = before
    if payload.event_type in _CANCELLING:
        return currency, 0 if minor is not None else None
    return currency, minor


# --- Records gone from Clio --------------------------------------------------------------------


def deletion_is_news(published_event_type: str | None) -> bool:
    """A record absent from Clio is news for the ledger only when something it published still
    stands (not for a record never published, nor one already voided, reversed or deleted)."""
    return published_event_type is not None and published_event_type not in _CANCELLING


# --- Webhooks ----------------------------------------------------------------------------------


def webhook_signature(secret: str, body: bytes) -> str:
    """Clio's ``X-Hook-Signature``: lowercase hex HMAC-SHA256 of the exact body bytes."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of a delivery's signature against one shared secret."""
    if not signature:
        return False
    return hmac.compare_digest(webhook_signature(secret, body), signature.strip().lower())


def renewal_due(expires_at: datetime | None, *, clio_now: datetime, margin: timedelta) -> bool:
    """A webhook is renewed when it lapses within ``margin`` (Clio's clock), or has no expiry
    on record."""
    return expires_at is None or expires_at - clio_now <= margin


# --- Bank accounts as the sync knows them ----------------------------------------------------


def known_bank_account(record: Mapping[str, Any]) -> KnownBankAccount | None:
    """A Clio bank account record as the normalisers and the settings checks need it; None when
    it cannot be read (its own sync-log line says why)."""
    account_id = record.get("id")
    kind = {"Trust": AccountKind.CLIENT, "Operating": AccountKind.OFFICE}.get(
        str(record.get("type"))
    )
    name = record.get("name")
    if isinstance(account_id, bool) or not isinstance(account_id, int) or kind is None:
        return None
    try:
        currency = currency_code(record.get("currency"), "the bank account")
    except RecordProblem:
        return None
    return KnownBankAccount(account_id, name if isinstance(name, str) else "", kind, currency)


# --- Corrections made in the sync log ----------------------------------------------------------


class CorrectionRefused(ValueError):
    """The decision cannot be applied to this line (wrong kind of record, bad amounts ...)."""


_DECIDABLE = (
    VatTreatment.STANDARD,
    VatTreatment.ZERO_RATED,
    VatTreatment.EXEMPT,
    VatTreatment.OUTSIDE_SCOPE,
)


def with_vat_decision(
    held: ClioEvent,
    treatment: VatTreatment,
    *,
    rate_basis_points: int | None = None,
    vat_amount: Money | None = None,
) -> DisbursementPaid | PurchaseInvoiceRecorded:
    """The held disbursement with the cashier's VAT treatment.

    Standard VAT needs a rate; its amount is the net at that rate rounded half up unless the
    cashier gives it (a supplier's invoice may round differently). Every other treatment carries
    no VAT.
    """
    if not isinstance(held, DisbursementPaid | PurchaseInvoiceRecorded):
        raise CorrectionRefused(
            f"a VAT treatment is chosen for disbursements, not {held.event_type}"
        )
    if treatment not in _DECIDABLE:
        raise CorrectionRefused(f"choose one of {', '.join(t.value for t in _DECIDABLE)}")
    currency = held.net.currency
    if treatment is VatTreatment.STANDARD:
        if rate_basis_points is None or not 0 < rate_basis_points <= 10_000:
            raise CorrectionRefused("standard VAT needs a rate in basis points (2300 = 23%)")
        if vat_amount is None:
            vat_amount = Money.rounded(
                held.net.to_decimal() * Decimal(rate_basis_points) / Decimal(10_000), currency
            )
        if vat_amount.currency != currency:
            raise CorrectionRefused(f"the VAT is in {vat_amount.currency}, the net in {currency}")
        if not vat_amount.is_positive():
            raise CorrectionRefused("standard VAT must be more than zero")
        vat = VatAmount(rate_basis_points=rate_basis_points, amount=vat_amount)
    else:
        if (rate_basis_points or 0) != 0 or (vat_amount is not None and not vat_amount.is_zero()):
            raise CorrectionRefused(f"{treatment.value} carries no VAT")
        vat = VatAmount(rate_basis_points=0, amount=Money.zero(currency))
    facts = held.model_dump(mode="json")
    facts.update(vat_treatment=treatment.value, vat=vat.model_dump(mode="json"))
    corrected = type(held).model_validate(facts)
    assert isinstance(corrected, DisbursementPaid | PurchaseInvoiceRecorded)
    return corrected


def outlay_paid(
    invoice: PurchaseInvoiceRecorded,
    *,
    paid_on: date,
    bank_account: KnownBankAccount,
    amount: Money | None = None,
) -> PurchaseInvoicePaid:
    """A linked outlay (a supplier invoice) paid from an office account: the invoice's net plus
    VAT unless the cashier says otherwise."""
    if invoice.vat_treatment is VatTreatment.UNDER_REVIEW:
        raise CorrectionRefused("decide the VAT treatment of the outlay before paying it")
    if bank_account.kind is not AccountKind.OFFICE:
        raise CorrectionRefused(
            f"{bank_account.name or bank_account.bank_account_id} is a client account; "
            "a supplier is paid from an office account"
        )
    due = invoice.net + invoice.vat.amount
    paid = amount if amount is not None else due
    if paid.currency != due.currency or bank_account.currency != due.currency:
        raise CorrectionRefused(
            f"the invoice is in {due.currency}; paid {paid.currency} from a "
            f"{bank_account.currency} account"
        )
    if not paid.is_positive():
        raise CorrectionRefused("the amount paid must be more than zero")
    if paid.amount_minor > due.amount_minor:
        raise CorrectionRefused(f"{paid} is more than the {due} owed on the invoice")
    if paid_on < invoice.invoiced_on:
        raise CorrectionRefused(
            f"paid on {paid_on.isoformat()}, before the invoice date {invoice.invoiced_on}"
        )
    return PurchaseInvoicePaid(
        source=invoice.source,
        invoice_id=invoice.invoice_id,
        paid_on=paid_on,
        amount=paid,
        bank_account_id=bank_account.bank_account_id,
    )


def correction_event_id(firm_id: str, payload: ClioEvent, decision: str) -> uuid.UUID:
    """Deterministic: the same decision on the same record version gives the same id, so a
    retried request cannot publish twice."""
    source = payload.source
    return deterministic_event_id(
        firm_id,
        payload.event_type,
        source.object_type,
        source.object_id,
        source.version,
        "resolution",
        decision,
    )


def payload_of(event_type: str, data: Mapping[str, Any]) -> ClioEvent:
    """A stored event payload back as its contract model."""
    model = registered_payloads().get(event_type)
    if model is None or not issubclass(model, ClioEvent):
        raise ValueError(f"{event_type!r} is not a Clio event type")
    payload = model.model_validate(dict(data))
    assert isinstance(payload, ClioEvent)
    return payload


# --- One record, whatever its resource ----------------------------------------------------------


@dataclass(frozen=True)
class SyncFacts:
    """What the normalisers need besides the record, gathered by the sync from what it has read
    (bank accounts, a bill's line items, how each expense entry is classified, what is held)."""

    bank_accounts: Mapping[int, KnownBankAccount] = field(default_factory=dict)
    line_items: Mapping[int, Sequence[object]] = field(default_factory=dict)  # by bill id
    expense_kinds: Mapping[int, WorkKind] = field(default_factory=dict)  # by activity id
    held_activity_ids: Collection[int] = ()
    held_bill_ids: Collection[int] = ()


def normalise_record(
    resource: ClioResource,
    record: object,
    settings: SyncSettings,
    *,
    firm_id: str,
    previous: Published | None,
    facts: SyncFacts,
) -> Outcome:
    """The normaliser of ``resource`` applied to one record."""
    common: dict[str, Any] = {"firm_id": firm_id, "previous": previous}
    if resource is fields.PRACTICE_AREAS:
        return normalise_practice_area(record, settings, **common)
    if resource is fields.CONTACTS:
        return normalise_contact(record, settings, **common)
    if resource is fields.MATTERS:
        return normalise_matter(record, settings, **common)
    if resource is fields.BANK_ACCOUNTS:
        return normalise_bank_account(record, settings, **common)
    if resource is fields.ACTIVITIES:
        return normalise_activity(record, settings, bank_accounts=facts.bank_accounts, **common)
    if resource is fields.BILLS:
        bill_id = record.get("id") if isinstance(record, Mapping) else None
        lines = facts.line_items.get(bill_id, ()) if isinstance(bill_id, int) else ()
        return normalise_bill(
            record,
            lines,
            settings,
            expense_kinds=facts.expense_kinds,
            held_activity_ids=facts.held_activity_ids,
            **common,
        )
    if resource is fields.ALLOCATIONS:
        return normalise_allocation(
            record,
            settings,
            bank_accounts=facts.bank_accounts,
            held_bill_ids=facts.held_bill_ids,
            **common,
        )
    if resource is fields.BANK_TRANSACTIONS:
        return normalise_bank_transaction(
            record, settings, bank_accounts=facts.bank_accounts, **common
        )
    if resource is fields.CREDIT_MEMOS:
        return normalise_credit_memo(record, settings, **common)
    raise ValueError(f"{resource.path} records are not normalised on their own")


def bill_line_activity_ids(lines: Iterable[object]) -> set[int]:
    """The activities a bill's line items come from (``activity{id}``)."""
    ids: set[int] = set()
    for line in lines:
        activity = line.get("activity") if isinstance(line, Mapping) else None
        activity_id = activity.get("id") if isinstance(activity, Mapping) else None
        if isinstance(activity_id, int) and not isinstance(activity_id, bool):
            ids.add(activity_id)
    return ids


def expense_entry_ids(lines: Iterable[object]) -> set[int]:
    """The activities behind a bill's expense lines whose kind the line does not say (a generic
    ``ExpenseEntry``): only they need the synced activity to tell disbursement from recovery."""
    ids: set[int] = set()
    for line in lines:
        activity = line.get("activity") if isinstance(line, Mapping) else None
        if not isinstance(activity, Mapping):
            continue
        activity_id = activity.get("id")
        if activity.get("type") in ("HardCostEntry", "SoftCostEntry", "TimeEntry"):
            continue
        if isinstance(activity_id, int) and not isinstance(activity_id, bool):
            ids.add(activity_id)
    return ids


def nested_ids(records: Iterable[object], key: str) -> set[int]:
    """The ids of a related record across records (``bill{id}`` of allocations ...)."""
    ids: set[int] = set()
    for record in records:
        nested = record.get(key) if isinstance(record, Mapping) else None
        value = nested.get("id") if isinstance(nested, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool):
            ids.add(value)
    return ids


def settings_fingerprint(settings: SyncSettings) -> str:
    """Which settings a record was normalised under: a record read again with the same content
    under other settings is normalised again (a new cut-off, say)."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()
