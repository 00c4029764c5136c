"""The sync summary's arithmetic: what each Clio record counts for, per Clio object type.

A record is one Clio object (type and id). It counts once however many versions arrived; its
money is what its latest version says it is worth (a voided bill or a reversed payment is worth
nothing); the ledger's latest answer for it (posted, held for review, rejected) is counted too.
The totals per object type are kept incrementally: a change of a record moves its old
contribution out and its new one in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cashroom_contracts.envelope import EventPayload
from cashroom_contracts.events import clio
from cashroom_contracts.money import Money


@dataclass(frozen=True, slots=True)
class RecordValue:
    """What a Clio event says the record is worth: an amount, nothing (a void, a reversal, a
    deletion: ``cancelled``), or no money at all (a client, a matter)."""

    amount: Money | None
    cancelled: bool = False


def record_value(payload: EventPayload) -> RecordValue:
    match payload:
        case clio.BillApproved() | clio.BillChanged():
            return RecordValue(payload.bill.total)
        case clio.BillVoided() | clio.BillPaymentReversed() | clio.RecordDeletedInClio():
            return RecordValue(None, cancelled=True)
        case (
            clio.BillPaymentReceived()
            | clio.ClientMoneyReceived()
            | clio.ClientMoneyPaid()
            | clio.BankTransferMade()
            | clio.PurchaseInvoicePaid()
            | clio.CreditMemoIssued()
        ):
            return RecordValue(payload.amount)
        case clio.DisbursementPaid() | clio.PurchaseInvoiceRecorded():
            return RecordValue(payload.net + payload.vat.amount)
        case clio.WorkRecorded():
            return RecordValue(payload.value)
        case _:
            return RecordValue(None)


@dataclass(frozen=True, slots=True)
class RecordState:
    """One Clio record as the summary sees it."""

    object_type: str
    synced: bool  # a Clio event for it has arrived (a ledger outcome may come first)
    versions: int
    currency: str | None
    amount: int | None
    deleted: bool
    outcome: str | None  # posted, held or rejected: the ledger's latest answer


@dataclass(frozen=True, slots=True)
class Totals:
    records: int = 0
    versions: int = 0
    amount: int = 0
    deleted: int = 0
    posted: int = 0
    held: int = 0
    rejected: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.records + other.records,
            self.versions + other.versions,
            self.amount + other.amount,
            self.deleted + other.deleted,
            self.posted + other.posted,
            self.held + other.held,
            self.rejected + other.rejected,
        )

    def __neg__(self) -> Totals:
        return Totals() + Totals(
            -self.records,
            -self.versions,
            -self.amount,
            -self.deleted,
            -self.posted,
            -self.held,
            -self.rejected,
        )

    def is_zero(self) -> bool:
        return self == Totals()


GroupKey = tuple[str, str]  # object type, currency ('' when the record carries no money)


def contribution(state: RecordState | None) -> tuple[GroupKey, Totals] | None:
    """What a record adds to its object type's totals (nothing until Clio's copy arrives)."""
    if state is None or not state.synced:
        return None
    key = (state.object_type, state.currency or "")
    if state.deleted:
        return key, Totals(versions=state.versions, deleted=1)
    return key, Totals(
        records=1,
        versions=state.versions,
        amount=state.amount or 0,
        posted=int(state.outcome == "posted"),
        held=int(state.outcome == "held"),
        rejected=int(state.outcome == "rejected"),
    )


def changes(before: RecordState | None, after: RecordState) -> dict[GroupKey, Totals]:
    """The deltas to add to each group's totals when a record goes from ``before`` to ``after``."""
    deltas: dict[GroupKey, Totals] = {}
    old, new = contribution(before), contribution(after)
    if old is not None:
        deltas[old[0]] = -old[1]
    if new is not None:
        deltas[new[0]] = deltas.get(new[0], Totals()) + new[1]
    return {key: delta for key, delta in deltas.items() if not delta.is_zero()}


def after_clio_event(
    before: RecordState | None, object_type: str, payload: EventPayload, new_version: bool
) -> RecordState:
    """The record after a Clio event about it."""
    value = record_value(payload)
    currency = before.currency if before is not None else None
    amount = before.amount if before is not None else None
    if value.amount is not None:
        currency, amount = value.amount.currency, value.amount.amount_minor
    elif value.cancelled:
        amount = 0 if amount is not None else None
    versions = (before.versions if before is not None and before.synced else 0) + int(new_version)
    return RecordState(
        object_type=object_type,
        synced=True,
        versions=max(versions, 1),
        currency=currency,
        amount=amount,
        deleted=isinstance(payload, clio.RecordDeletedInClio),
        outcome=before.outcome if before is not None else None,
    )


def after_outcome(before: RecordState | None, object_type: str, outcome: str) -> RecordState:
    """The record after the ledger posted, held or rejected it."""
    if before is None:
        return RecordState(object_type, False, 0, None, None, False, outcome)
    return RecordState(
        before.object_type,
        before.synced,
        before.versions,
        before.currency,
        before.amount,
        before.deleted,
        outcome,
    )


# --- Compared with what Clio holds ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """What the reports hold of one object type and currency (sync totals' terms)."""

    records: int
    deleted: int
    amount: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """One object type and currency: what Clio holds as the connector last read it, what the
    connector published of it, and what the reports had received at the same offset."""

    object_type: str
    currency: str  # '' for records without money
    in_clio: int
    deleted_in_clio: int
    skipped: int
    awaiting_review: int
    published: int
    published_deleted: int
    published_amount: int
    received: int
    received_deleted: int
    received_amount: int

    @property
    def record_difference(self) -> int:
        """Records received less records published (0 when nothing was lost or added)."""
        return (self.received - self.published) + (self.received_deleted - self.published_deleted)

    @property
    def amount_difference(self) -> int:
        return self.received_amount - self.published_amount

    @property
    def agrees(self) -> bool:
        return (
            self.received == self.published
            and self.received_deleted == self.published_deleted
            and self.received_amount == self.published_amount
        )


def compare(
    holdings: Sequence[clio.ClioHolding], received: Mapping[GroupKey, Received]
) -> list[Comparison]:
    """Every object type and currency that either side has, in order."""
    held = {(h.object_type, h.currency or ""): h for h in holdings}
    out: list[Comparison] = []
    for key in sorted(set(held) | set(received)):
        h = held.get(key)
        r = received.get(key, Received(0, 0, 0))
        out.append(
            Comparison(
                object_type=key[0],
                currency=key[1],
                in_clio=h.in_clio if h else 0,
                deleted_in_clio=h.deleted_in_clio if h else 0,
                skipped=h.skipped if h else 0,
                awaiting_review=h.awaiting_review if h else 0,
                published=h.published if h else 0,
                published_deleted=h.published_deleted if h else 0,
                published_amount=h.published_amount if h else 0,
                received=r.records,
                received_deleted=r.deleted,
                received_amount=r.amount,
            )
        )
    return out
