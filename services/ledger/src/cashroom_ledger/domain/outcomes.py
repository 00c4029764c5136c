"""What happened when the ledger handled something: each outcome becomes (at most) one or a few
``ledger.events.v1`` events (see ``publishing``). One call can have several outcomes: a matter
arriving releases the postings that waited for it; a receipt can clear an exception."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from cashroom_contracts.events.ledger import ExceptionKind, ExceptionResolution, PostingSource
from cashroom_contracts.money import Money
from cashroom_ledger.domain.decisions import PostingKey, WaitFor
from cashroom_ledger.domain.journals import Journal


@dataclass(frozen=True, slots=True)
class Posted:
    """The key's content is now ``journals`` (reversals of the previous version first). No
    journals: nothing needed posting (a void of a bill never posted, a nil bill)."""

    key: PostingKey
    source: PostingSource
    journals: tuple[Journal, ...]


@dataclass(frozen=True, slots=True)
class Held:
    key: PostingKey
    source: PostingSource
    reason_code: str
    reason: str
    waiting_for: tuple[WaitFor, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    key: PostingKey
    source: PostingSource
    reason_code: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlreadyApplied:
    """The same key and version again (a replay): nothing changed (I-10)."""

    key: PostingKey
    source: PostingSource


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """Something a cashier must look at. ``blocking``: a posting waits on it (overdrawn client
    ledger, transfer beyond the bill); otherwise it reports a state (office column in credit)."""

    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    raised_on: date
    amount: Money | None
    detail: str
    source: PostingSource | None
    key: PostingKey | None
    blocking: bool
    resolution: ExceptionResolution | None = None
    resolved_by: str | None = None
    resolution_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolution is None


@dataclass(frozen=True, slots=True)
class ExceptionRaised:
    record: ExceptionRecord


@dataclass(frozen=True, slots=True)
class ExceptionResolved:
    record: ExceptionRecord


@dataclass(frozen=True, slots=True)
class Breach:
    """An entry in the breach register: an exception the cashier recorded as a breach."""

    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    amount: Money | None
    detail: str
    recorded_by: str
    reason: str
    journal_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True)
class ReferenceRecorded:
    """A client, matter, practice area or bank account was recorded (no posting)."""

    what: str
    id: int
    detail: str


@dataclass(frozen=True, slots=True)
class NotPosted:
    """An event the ledger takes note of but does not post (work in progress, unknown deletion)."""

    source: PostingSource
    why: str


@dataclass(frozen=True, slots=True)
class PeriodLockChanged:
    locked_through: date | None
    bank_account_id: int | None
    by: str
    reason: str
    locked: bool  # True: a lock set or moved forward; False: lifted or moved back


Outcome = (
    Posted
    | Held
    | Rejected
    | AlreadyApplied
    | ExceptionRaised
    | ExceptionResolved
    | ReferenceRecorded
    | NotPosted
    | PeriodLockChanged
)
