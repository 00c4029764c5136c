"""The Ledger aggregate: one firm's books, over a ``LedgerState`` — in memory (``MemoryState``) or
in the service's database, loaded a batch at a time (``cashroom_ledger.db.store.StoredState``).

It takes Clio-derived events, manual entries, period locks and exception resolutions; asks the
posting rules what each means; checks the invariants; and applies the result all or nothing,
keeping balances up to date as it goes. Everything it does is returned as outcomes for the
service to publish. It reads no clock and touches no I/O: the DB layer loads what it needs,
calls one method, and persists what changed in the same transaction.

How it applies one posting (``_attempt``)
-----------------------------------------
1. Replay? The same posting key and version seen before is a no-op (I-10).
2. A pending (held or referred) older version of the key is superseded by this one.
3. The rule decides. ``Post``: the journals are the live journals' reversals (dated no earlier
   than the new content's date) followed by the new journals — one reversal per live journal and
   one repost, never a second copy (I-10). All are balanced by construction (I-1).
4. Locks: any journal dated on or before a lock of the books, or of a bank account one of its
   lines touches, holds the whole posting until an unlock (I-13).
5. Client columns: every client column the journals touch is projected from the earliest change
   to the last date it has; a posting that would take one below zero at any of those dates, or
   lower one already below zero, is not applied but referred as an overdrawn client ledger
   (SRA 5.3, I-4). It is retried whenever that matter's client column receives money (a receipt
   dated earlier that arrived late makes it good) and stays open otherwise, for the cashier to
   fix at source or record as a breach.
6. Apply: journals appended, balances moved, the key's live content replaced, facts (bills,
   allocations, supplier invoices) updated, then whatever waited on what just changed is retried.

State
-----
Everything the Ledger remembers goes through ``LedgerState`` (``state``): one lookup or change
at a time — a matter, a posting key's live content, a client column's dated series from a date
on — so a state backed by a database loads only what a call touches. The database mirrors it
in ``journals``/``journal_lines`` (append-only), ``balances`` (see ``balances``),
``live_postings`` (key → version, journal ids, facts), ``seen_versions`` (key, version),
``held_postings`` (key → version, the event, reason, waits-for keys, allowed exception kinds,
exception id), ``exceptions``, ``breaches``, period locks and their audit rows, plus the
reference tables. Each call is one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from cashroom_contracts.envelope import EVENT_ID_NAMESPACE
from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    ClientUpserted,
    ClioEvent,
    MatterUpserted,
    PracticeAreaUpserted,
    RecordDeletedInClio,
    WorkRecorded,
)
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import (
    AccountType,
    ExceptionKind,
    ExceptionResolution,
    PostingSource,
)
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import Account, AccountRole, ChartOfAccounts
from cashroom_ledger.domain.balances import BalanceKey
from cashroom_ledger.domain.decisions import (
    OFFICE_ACCOUNT,
    UNLOCK,
    Decision,
    Facts,
    Hold,
    HoldReason,
    Post,
    PostedBill,
    PostedSupplierInvoice,
    PostingKey,
    Refer,
    Reject,
    RejectReason,
    WaitFor,
)
from cashroom_ledger.domain.invariants import first_locked, first_overdraft
from cashroom_ledger.domain.journals import Entry, Journal
from cashroom_ledger.domain.manual import ManualEntry, decide_manual, manual_key
from cashroom_ledger.domain.outcomes import (
    AlreadyApplied,
    Breach,
    ExceptionRaised,
    ExceptionRecord,
    ExceptionResolved,
    Held,
    NotPosted,
    Outcome,
    PeriodLockChanged,
    Posted,
    ReferenceRecorded,
    Rejected,
)
from cashroom_ledger.domain.posting_rules import decide, posting_key
from cashroom_ledger.domain.reference import BankAccount, Client, Matter
from cashroom_ledger.domain.state import (
    LedgerState,
    LivePosting,
    MemoryState,
    PendingPosting,
    Submission,
)

__all__ = ["Ledger", "LedgerError", "PendingPosting", "Submission"]

LEDGER = "ledger"  # who resolves an exception the books resolved themselves
NO_FACTS = Facts()  # what a posting establishes when it is not a bill, allocation or invoice


class LedgerError(ValueError):
    """A cashier's command the ledger refuses (the API answers it with a 4xx and this text)."""


@dataclass(frozen=True, slots=True)
class _Resolution:
    resolution: ExceptionResolution
    by: str
    reason: str


def _automatic(reason: str) -> _Resolution:
    """How the books resolve an exception themselves (the posting now posts, waits or is
    rejected for another reason)."""
    return _Resolution(ExceptionResolution.FIXED_AT_SOURCE, LEDGER, reason)


class Ledger:
    """One firm's double-entry books for office and client money. Also a ``LedgerView``."""

    def __init__(
        self,
        firm_id: str,
        chart: ChartOfAccounts | None = None,
        *,
        state: LedgerState | None = None,
    ) -> None:
        """The books of ``firm_id``: new ones in memory from ``chart``, or those ``state`` keeps
        (e.g. the service's database, loaded a batch at a time)."""
        if state is None:
            if chart is None:
                raise ValueError("new books need a chart of accounts")
            state = MemoryState(chart)
        elif chart is not None:
            raise ValueError("books over an existing state use the state's chart")
        self.firm_id = firm_id
        self._state = state

    # === commands ================================================================================

    def handle(self, event: ClioEvent, *, event_id: uuid.UUID | None = None) -> list[Outcome]:
        """One event from ``clio.events.v1``: reference data, a posting, or work in progress."""
        source = PostingSource(
            system="clio",
            object_type=event.source.object_type,
            object_id=str(event.source.object_id),
            version=event.source.version,
            event_id=event_id,
        )
        match event:
            case ClientUpserted():
                return self._upsert_client(event)
            case MatterUpserted():
                return self._upsert_matter(event)
            case BankAccountUpserted():
                return self._upsert_bank_account(event, source)
            case PracticeAreaUpserted():
                self._state.put_practice_area(event.practice_area_id, event.name)
                return [ReferenceRecorded("practice_area", event.practice_area_id, event.name)]
            case WorkRecorded():
                return [NotPosted(source, "work in progress is reported, not posted, until billed")]
            case RecordDeletedInClio():
                key = self._state.key_of_source(source.object_type, source.object_id)
                if key is None:
                    return [NotPosted(source, "nothing was posted for the deleted record")]
                return self._submit(Submission(key, event.source.version, source, event))
        key = posting_key(event)
        if key is None:  # an event type the contracts added after this code was written
            return [NotPosted(source, f"{event.event_type} is not something the ledger posts")]
        if self._state.key_of_source(source.object_type, source.object_id) != key:
            self._state.set_key_of_source(source.object_type, source.object_id, key)
        return self._submit(Submission(key, event.source.version, source, event))

    def enter(self, entry: ManualEntry) -> list[Outcome]:
        """A cashier's manual entry (office payment, transfer, supplier invoice or its payment)."""
        key = manual_key(entry)
        version = str(entry.revision)
        source = PostingSource(
            system="manual", object_type=key.kind, object_id=entry.entry_id, version=version
        )
        return self._submit(Submission(key, version, source, entry, entered_by=entry.entered_by))

    def resolve_exception(
        self, exception_id: uuid.UUID, resolution: ExceptionResolution, *, by: str, reason: str
    ) -> list[Outcome]:
        """The cashier resolves an exception.

        ``fixed_at_source``: the cause was fixed (in Clio, or by an entry that now covers it): the
        waiting posting is tried again; if it still breaks the rule the resolution is refused
        and nothing changes. ``recorded_as_breach``: the posting is applied as it is (the money
        really moved) and the breach enters the breach register.
        """
        if not reason.strip() or not by.strip():
            raise LedgerError("resolving an exception needs who resolved it and why")
        record = self._state.exception(exception_id)
        if record is None:
            raise LedgerError(f"no exception {exception_id}")
        if not record.is_open:
            raise LedgerError(
                f"exception {exception_id} was already resolved ({record.resolution})"
            )
        how = _Resolution(resolution, by, reason)
        pending = self._state.pending(record.key) if record.key is not None else None
        if pending is None or pending.exception_id != exception_id:
            # A report, not a waiting posting (an office column in credit): close it.
            outcomes = self._close_exception(exception_id, how)
            if record.kind is ExceptionKind.OFFICE_CREDIT_BALANCE and record.matter_id is not None:
                self._state.set_office_credit(record.matter_id, None)
            return outcomes
        self._remove_pending(pending.submission.key)
        allow = pending.allow
        if resolution is ExceptionResolution.RECORDED_AS_BREACH:
            allow = allow | {record.kind}
        outcomes = self._attempt(pending.submission, allow, previous=pending, resolution=how)
        after = self._state.exception(exception_id)
        if after is not None and after.is_open:
            raise LedgerError(
                f"the posting still breaks the rule: {after.detail}. "
                "Fix it at source in Clio and resync, or record it as a breach."
            )
        return outcomes

    def lock_period(
        self, locked_through: date, *, by: str, reason: str, bank_account_id: int | None = None
    ) -> list[Outcome]:
        """Nothing may post on or before ``locked_through`` (for one bank account, or at all)."""
        self._check_audit(by, reason)
        current = self._current_lock(bank_account_id)
        if bank_account_id is not None and self._state.bank_account(bank_account_id) is None:
            raise LedgerError(f"no bank account {bank_account_id}")
        if current is not None and locked_through < current:
            raise LedgerError(
                f"the books are locked through {current}; moving the lock back is an unlock"
            )
        self._set_lock(bank_account_id, locked_through)
        change = PeriodLockChanged(locked_through, bank_account_id, by, reason, locked=True)
        self._state.add_lock_change(change)
        return [change]

    def unlock_period(
        self,
        *,
        locked_through: date | None,
        by: str,
        reason: str,
        bank_account_id: int | None = None,
    ) -> list[Outcome]:
        """Move a lock back to ``locked_through`` (or lift it: None). Audited: who and why."""
        self._check_audit(by, reason)
        current = self._current_lock(bank_account_id)
        if current is None:
            raise LedgerError("there is no lock to lift")
        if locked_through is not None and locked_through >= current:
            raise LedgerError(
                f"an unlock moves the lock back from {current}; use lock_period to move it on"
            )
        self._set_lock(bank_account_id, locked_through)
        change = PeriodLockChanged(locked_through, bank_account_id, by, reason, locked=False)
        self._state.add_lock_change(change)
        return [change, *self._wake({UNLOCK})]

    def set_default_office_account(self, bank_account_id: int) -> list[Outcome]:
        bank = self._state.bank_account(bank_account_id)
        if bank is None or bank.kind is not AccountKind.OFFICE:
            raise LedgerError(f"{bank_account_id} is not a known office account")
        self._state.set_default_office_account_id(bank_account_id)
        return self._wake({OFFICE_ACCOUNT})

    def add_account(self, account: Account) -> None:
        self._state.set_chart(self.chart.with_account(account))

    def change_account(
        self, code: str, *, name: str | None = None, type: AccountType | str | None = None
    ) -> None:
        self._state.set_chart(
            self.chart.with_account_changed(
                code, used_codes=self.used_codes(), name=name, type=type
            )
        )

    def remove_account(self, code: str) -> None:
        self._state.set_chart(self.chart.without_account(code, used_codes=self.used_codes()))

    # === the view the posting rules read =========================================================

    @property
    def chart(self) -> ChartOfAccounts:
        return self._state.chart

    def bank_account(self, bank_account_id: int) -> BankAccount | None:
        return self._state.bank_account(bank_account_id)

    def default_office_account(self) -> BankAccount | None:
        default = self._state.default_office_account_id()
        if default is not None:
            return self._state.bank_account(default)
        office = [b for b in self._state.bank_accounts() if b.kind is AccountKind.OFFICE]
        return office[0] if len(office) == 1 else None

    def matter(self, matter_id: int) -> Matter | None:
        return self._state.matter(matter_id)

    def client(self, client_id: int) -> Client | None:
        return self._state.client(client_id)

    def posted_bill(self, bill_id: int) -> PostedBill | None:
        facts = self._state.bill(bill_id)
        if facts is None:
            return None
        return PostedBill(facts, dict(self._state.allocations(bill_id)))

    def supplier_invoice(self, key: PostingKey) -> PostedSupplierInvoice | None:
        facts = self._state.supplier_invoice(key)
        if facts is None:
            return None
        return PostedSupplierInvoice(key, facts, dict(self._state.invoice_payments(key)))

    # === queries =================================================================================

    @property
    def currency(self) -> str:
        return self.chart.currency

    def balance(self, key: BalanceKey, as_of: date | None = None) -> Money:
        """Debits less credits on ``key`` at the end of ``as_of`` (the latest, if None)."""
        return self._money(self._minor(key, as_of))

    def _minor(self, key: BalanceKey, as_of: date | None = None) -> int:
        """``balance`` in minor units, without building a ``Money`` (the checks run it often)."""
        series = self._state.series_from(key, as_of if as_of is not None else date.max)
        return series.as_of(as_of)

    def nominal_balance(self, code: str, as_of: date | None = None) -> Money:
        return self.balance(BalanceKey(code), as_of)

    def trial_balance(self, as_of: date | None = None) -> dict[str, Money]:
        """Every nominal that has moved: debits less credits (credit balances are negative)."""
        return {
            key.account_code: self.balance(key, as_of)
            for key in self._state.balance_keys()
            if key.is_roll_up
        }

    def bank_balance(self, bank_account_id: int, as_of: date | None = None) -> Money:
        """The cashbook balance of a bank account (money in the bank is positive)."""
        bank = self._state.bank_account(bank_account_id)
        if bank is None:
            raise LedgerError(f"no bank account {bank_account_id}")
        return self.balance(BalanceKey(bank.nominal_code, bank_account_id=bank_account_id), as_of)

    def client_balance(
        self, matter_id: int, bank_account_id: int | None = None, as_of: date | None = None
    ) -> Money:
        """Money held for the matter (its client column), in one client account or all of them."""
        code = self.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
        accounts = (
            [bank_account_id]
            if bank_account_id is not None
            else [b.bank_account_id for b in self.client_bank_accounts()]
        )
        held = -sum(
            self.balance(BalanceKey(code, matter_id, AccountKind.CLIENT, a), as_of).amount_minor
            for a in accounts
        )
        return self._money(held)

    def office_balance(self, matter_id: int, as_of: date | None = None) -> Money:
        """What the client owes the firm on the matter (its office column): billed and unpaid,
        plus unbilled disbursements."""
        return self._money(self._office_minor(matter_id, as_of))

    def _office_minor(self, matter_id: int, as_of: date | None = None) -> int:
        chart = self.chart
        debtors = chart.code_for(AccountRole.DEBTORS_CONTROL)
        unbilled = chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS)
        return self._minor(BalanceKey(debtors, matter_id, AccountKind.OFFICE), as_of) + self._minor(
            BalanceKey(unbilled, matter_id, AccountKind.OFFICE), as_of
        )

    def unbilled_disbursements(self, matter_id: int, as_of: date | None = None) -> Money:
        code = self.chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS)
        return self.balance(BalanceKey(code, matter_id, AccountKind.OFFICE), as_of)

    def client_bank_accounts(self) -> list[BankAccount]:
        return [b for b in self._state.bank_accounts() if b.kind is AccountKind.CLIENT]

    def bank_accounts(self) -> list[BankAccount]:
        return self._state.bank_accounts()

    def matters_with_client_money_in(self, bank_account_id: int) -> list[int]:
        return self._state.client_columns(bank_account_id)

    def balance_keys(self) -> list[BalanceKey]:
        return self._state.balance_keys()

    def balance_points(self, key: BalanceKey) -> list[tuple[date, Money]]:
        """Every date ``key`` moved, with its balance at the end of that date."""
        series = self._state.series_from(key, date.min)
        return [(d, self._money(v)) for d, v in series.points()]

    @property
    def journals(self) -> tuple[Journal, ...]:
        return tuple(self._state.journals())

    def journal(self, journal_id: uuid.UUID) -> Journal:
        journal = self._state.journal(journal_id)
        if journal is None:
            raise LedgerError(f"no journal {journal_id}")
        return journal

    def journals_for(self, key: PostingKey) -> tuple[Journal, ...]:
        """Every journal ever posted under ``key``: original, reversals, reposts."""
        return tuple(self._state.journals_for(key))

    def live_journals(self, key: PostingKey) -> tuple[Journal, ...]:
        live = self._state.live(key)
        return live.journals if live is not None else ()

    def live_version(self, key: PostingKey) -> str | None:
        live = self._state.live(key)
        return live.version if live is not None else None

    def pending(self) -> list[PendingPosting]:
        """Postings waiting: held, or referred to the cashier."""
        return self._state.all_pending()

    def pending_for(self, key: PostingKey) -> PendingPosting | None:
        return self._state.pending(key)

    def exceptions(self, *, open_only: bool = False) -> list[ExceptionRecord]:
        records = self._state.exceptions()
        return [r for r in records if r.is_open] if open_only else records

    def exception(self, exception_id: uuid.UUID) -> ExceptionRecord:
        record = self._state.exception(exception_id)
        if record is None:
            raise LedgerError(f"no exception {exception_id}")
        return record

    @property
    def breach_register(self) -> tuple[Breach, ...]:
        return tuple(self._state.breaches())

    @property
    def lock_history(self) -> tuple[PeriodLockChanged, ...]:
        return tuple(self._state.lock_history())

    def lock_date(self, bank_account_id: int | None = None) -> date | None:
        """The date the books (or one bank account) are locked through: the later of the two."""
        dates = [self._state.lock_all()]
        if bank_account_id is not None:
            dates.append(self._state.lock_by_bank().get(bank_account_id))
        known = [d for d in dates if d is not None]
        return max(known) if known else None

    def used_codes(self) -> set[str]:
        """Nominals with postings, or mapped to a bank account: they cannot be deleted."""
        return self._state.codes_used() | {b.nominal_code for b in self._state.bank_accounts()}

    # === reference data ==========================================================================

    def _upsert_client(self, event: ClientUpserted) -> list[Outcome]:
        self._state.put_client(Client(event.client_id, event.name))
        outcomes: list[Outcome] = [ReferenceRecorded("client", event.client_id, event.name)]
        waits = {WaitFor.matter(m) for m in self._state.matters_of_client(event.client_id)}
        return outcomes + self._wake(waits)

    def _upsert_matter(self, event: MatterUpserted) -> list[Outcome]:
        matter = Matter(event.matter_id, event.client_id, event.reference, event.description)
        self._state.put_matter(matter)
        outcomes: list[Outcome] = [ReferenceRecorded("matter", event.matter_id, event.reference)]
        return outcomes + self._wake({WaitFor.matter(event.matter_id)})

    def _upsert_bank_account(
        self, event: BankAccountUpserted, source: PostingSource
    ) -> list[Outcome]:
        bank_id = event.bank_account_id
        existing = self._state.bank_account(bank_id)
        key = PostingKey("bank_account", str(bank_id))
        if existing is not None:
            if existing.kind is not event.kind:
                return [
                    Rejected(
                        key,
                        source,
                        RejectReason.WRONG_ACCOUNT_KIND,
                        f"{existing.label} cannot become a {event.kind.value} account: office and "
                        "client money never share an account",
                    )
                ]
            used = self._state.has_balance(
                BalanceKey(existing.nominal_code, bank_account_id=bank_id)
            )
            if existing.currency != event.currency and used:
                return [
                    Rejected(
                        key,
                        source,
                        RejectReason.CURRENCY_MISMATCH,
                        f"{existing.label} has postings in {existing.currency}; it cannot change to "
                        f"{event.currency}",
                    )
                ]
            bank = replace(existing, name=event.name, currency=event.currency)
        else:
            taken = {b.nominal_code for b in self._state.bank_accounts()}
            chart, code = self.chart.with_bank_nominal(event.kind, event.name, taken)
            if chart is not self.chart:
                self._state.set_chart(chart)
            bank = BankAccount(bank_id, event.name, event.kind, event.currency, code)
        self._state.put_bank_account(bank)
        outcomes: list[Outcome] = [
            ReferenceRecorded("bank_account", bank_id, f"{bank.label} on {bank.nominal_code}")
        ]
        waits = {WaitFor.bank_account(bank_id)}
        if event.kind is AccountKind.OFFICE:
            waits.add(OFFICE_ACCOUNT)
        return outcomes + self._wake(waits)

    # === posting =================================================================================

    def _submit(self, submission: Submission) -> list[Outcome]:
        key, version = submission.key, submission.version
        if self._state.seen(key, version):
            return [AlreadyApplied(key, submission.source)]
        self._state.mark_seen(key, version)
        outcomes: list[Outcome] = []
        previous = self._state.pending(key)
        if previous is not None:  # an older version waited: this one replaces it
            self._remove_pending(key)
            if previous.exception_id is not None:
                how = _Resolution(
                    ExceptionResolution.FIXED_AT_SOURCE,
                    submission.source.system,
                    f"replaced by version {version} from {submission.source.system}",
                )
                outcomes += self._close_exception(previous.exception_id, how)
        return outcomes + self._attempt(submission, frozenset(), previous=None)

    def _decide(self, submission: Submission, allow: frozenset[ExceptionKind]) -> Decision:
        subject = submission.subject
        if isinstance(subject, ClioEvent):
            return decide(subject, self, allow)
        return decide_manual(subject, self, allow)

    def _attempt(
        self,
        submission: Submission,
        allow: frozenset[ExceptionKind],
        *,
        previous: PendingPosting | None,
        resolution: _Resolution | None = None,
    ) -> list[Outcome]:
        """Decide and apply one submission. ``previous``: it was pending (a retry); an exception
        it carried is resolved if it now posts, kept quietly if it is referred again."""
        decision = self._decide(submission, allow)
        journals: tuple[Journal, ...] = ()
        if isinstance(decision, Post):
            journals = self._journals_for(submission, decision)
            blocked: Hold | Refer | None = self._locked(journals)
            if blocked is None and ExceptionKind.OVERDRAWN_CLIENT_LEDGER not in allow:
                blocked = self._overdraft(journals)
            if blocked is not None:
                decision = blocked
        previous_exception = previous.exception_id if previous is not None else None
        key, source = submission.key, submission.source
        match decision:
            case Post():
                outcomes: list[Outcome] = []
                if previous_exception is not None:
                    how = resolution or _automatic("the posting now keeps the rules; posted")
                    outcomes += self._close_exception(previous_exception, how, journals)
                return outcomes + self._apply(submission, decision, journals)
            case Hold():
                outcomes = []
                if previous_exception is not None:
                    how = resolution or _automatic(f"now held: {decision.reason}")
                    outcomes += self._close_exception(previous_exception, how)
                self._add_pending(
                    PendingPosting(
                        submission,
                        decision.reason_code,
                        decision.reason,
                        decision.waiting_for,
                        allow,
                    )
                )
                if previous is not None and previous.reason_code == decision.reason_code:
                    return outcomes
                return [
                    *outcomes,
                    Held(key, source, decision.reason_code, decision.reason, decision.waiting_for),
                ]
            case Reject():
                outcomes = []
                if previous_exception is not None:
                    how = resolution or _automatic(f"now rejected: {decision.reason}")
                    outcomes += self._close_exception(previous_exception, how)
                return [*outcomes, Rejected(key, source, decision.reason_code, decision.reason)]
            case Refer():
                if (
                    previous is not None
                    and previous_exception is not None
                    and self._exception(previous_exception).kind is decision.kind
                    and previous.allow == allow
                ):  # the same problem still: the exception stays open, nothing new to say
                    self._add_pending(replace(previous, waiting_for=decision.waiting_for))
                    return []
                outcomes = []
                if previous_exception is not None:
                    how = resolution or _automatic(f"now: {decision.detail}")
                    outcomes += self._close_exception(previous_exception, how)
                record = ExceptionRecord(
                    exception_id=self._id(
                        "exception", submission, str(self._state.exception_count())
                    ),
                    kind=decision.kind,
                    matter_id=decision.matter_id,
                    raised_on=decision.raised_on,
                    amount=decision.amount,
                    detail=decision.detail,
                    source=source,
                    key=key,
                    blocking=True,
                )
                self._state.put_exception(record)
                self._add_pending(
                    PendingPosting(
                        submission,
                        decision.kind.value,
                        decision.detail,
                        decision.waiting_for,
                        allow,
                        record.exception_id,
                    )
                )
                return [*outcomes, ExceptionRaised(record)]

    def _journals_for(self, submission: Submission, post: Post) -> tuple[Journal, ...]:
        live = self._state.live(submission.key)
        journals: list[Journal] = []
        if live is not None:
            for original in live.journals:
                journals.append(
                    original.reversal(
                        journal_id=self._id("reversal", submission, str(original.journal_id)),
                        on=max(original.posted_on, post.effective_on),
                        source=submission.source,
                        reason=post.reversal_reason,
                        entered_by=submission.entered_by,
                    )
                )
        ids = [self._id("journal", submission, str(n)) for n in range(len(post.journals))]
        for n, draft in enumerate(post.journals):
            linked = ids[1 - n] if post.paired and len(ids) == 2 else None
            journals.append(
                Journal(
                    journal_id=ids[n],
                    kind=draft.kind,
                    posted_on=draft.posted_on,
                    narrative=draft.narrative,
                    source=submission.source,
                    lines=draft.lines,
                    linked_journal_id=linked,
                    entered_by=submission.entered_by,
                )
            )
        return tuple(journals)

    def _locked(self, journals: tuple[Journal, ...]) -> Hold | None:
        """I-13: nothing posts on or before the date the books, or a bank account, are locked."""
        breach = first_locked(journals, self._state.lock_all(), self._state.lock_by_bank())
        if breach is None:
            return None
        if breach.bank_account_id is None:
            what = "the books are"
        else:
            bank = self._state.bank_account(breach.bank_account_id)
            what = f"{bank.label if bank else breach.bank_account_id} is"
        return Hold(
            HoldReason.PERIOD_LOCKED,
            f"{breach.journal.narrative} is dated {breach.journal.posted_on}, but {what} locked "
            f"through {breach.locked_through}; it posts after an unlock",
            (UNLOCK,),
        )

    def _overdraft(self, journals: tuple[Journal, ...]) -> Refer | None:
        """I-4: would a client column go below zero (or lower while below) at any date from the
        posting's on? Back-dated postings are checked against every later date."""
        if not journals:
            return None
        start = min(journal.posted_on for journal in journals)
        overdraft = first_overdraft(journals, lambda key: self._state.series_from(key, start))
        if overdraft is None:
            return None
        key = overdraft.key
        assert key.matter_id is not None and key.bank_account_id is not None
        matter = self._known_matter(key.matter_id)
        bank = self._state.bank_account(key.bank_account_id)
        assert bank is not None  # a client column's account is known before it moves
        shortfall = self._money(-overdraft.held_after)
        return Refer(
            ExceptionKind.OVERDRAWN_CLIENT_LEDGER,
            f"this would overdraw the client ledger of {matter.reference} on {bank.label} by "
            f"{shortfall} on {overdraft.on}: client money may be paid out only from money held "
            "for that client (SRA 5.3)",
            matter.matter_id,
            shortfall,
            overdraft.on,
            (WaitFor.client_funds(matter.matter_id),),
        )

    def _apply(
        self, submission: Submission, post: Post, journals: tuple[Journal, ...]
    ) -> list[Outcome]:
        key = submission.key
        old = self._state.live(key)
        if old is not None:
            self._forget(key, old.facts)
        for journal in journals:
            self._state.record_journal(key, journal)
        reposted = journals[len(old.journals) if old is not None else 0 :]
        if reposted or post.facts != NO_FACTS:
            self._state.set_live(key, LivePosting(submission.version, reposted, post.facts))
        elif old is not None:
            self._state.set_live(key, None)
        self._learn(key, post.facts)

        outcomes: list[Outcome] = [Posted(key, submission.source, journals)]
        outcomes += self._check_office_columns(submission, journals)
        return outcomes + self._wake(
            self._woken_by(journals, old.facts if old else NO_FACTS, post.facts, key)
        )

    def _woken_by(
        self, journals: Iterable[Journal], old: Facts, new: Facts, key: PostingKey
    ) -> set[WaitFor]:
        waits: set[WaitFor] = set()
        for journal in journals:
            for line in journal.lines:
                if (
                    line.ledger_side is AccountKind.CLIENT
                    and line.entry is Entry.CREDIT
                    and line.matter_id is not None
                ):
                    waits.add(WaitFor.client_funds(line.matter_id))
        for facts in (old, new):
            if facts.bill is not None:
                waits.add(WaitFor.bill(facts.bill.bill_id))
        if old.allocation is not None:  # a payment reversed or changed: the bill owes more again
            waits.add(WaitFor.bill(old.allocation.bill_id))
        if new.supplier_invoice is not None:
            waits.add(WaitFor.purchase_invoice(key))
        return waits

    def _wake(self, waits: set[WaitFor]) -> list[Outcome]:
        """Try again every pending posting waiting on one of ``waits`` (and so on, transitively)."""
        outcomes: list[Outcome] = []
        for wait in sorted(waits, key=lambda w: (w.what, w.id)):
            for key in self._state.waiting_for(wait):
                pending = self._state.pending(key)
                if pending is None or wait not in pending.waiting_for:
                    continue
                self._remove_pending(key)
                outcomes += self._attempt(pending.submission, pending.allow, previous=pending)
        return outcomes

    def _check_office_columns(
        self, submission: Submission, journals: tuple[Journal, ...]
    ) -> list[Outcome]:
        """An office column in credit means the client paid the firm more than it billed: probably
        client money in the office account (SRA 2.3). Report it; clear the report when it is not."""
        outcomes: list[Outcome] = []
        matters = sorted(
            {
                line.matter_id
                for journal in journals
                for line in journal.lines
                if line.ledger_side is AccountKind.OFFICE and line.matter_id is not None
            }
        )
        for matter_id in matters:
            owed_minor = self._office_minor(matter_id)
            open_id = self._state.office_credit(matter_id)
            if owed_minor < 0 and open_id is None:
                owed = self._money(owed_minor)
                matter = self._known_matter(matter_id)
                record = ExceptionRecord(
                    exception_id=self._id("office_credit", submission, str(matter_id)),
                    kind=ExceptionKind.OFFICE_CREDIT_BALANCE,
                    matter_id=matter_id,
                    raised_on=max(j.posted_on for j in journals),
                    amount=-owed,
                    detail=(
                        f"the office column of {matter.reference} is {-owed} in credit: the client "
                        "has paid the firm more than it billed; if that is client money it belongs "
                        "in the client account (SRA 2.3)"
                    ),
                    source=submission.source,
                    key=None,
                    blocking=False,
                )
                self._state.put_exception(record)
                self._state.set_office_credit(matter_id, record.exception_id)
                outcomes.append(ExceptionRaised(record))
            elif owed_minor >= 0 and open_id is not None:
                self._state.set_office_credit(matter_id, None)
                how = _Resolution(
                    ExceptionResolution.FIXED_AT_SOURCE,
                    LEDGER,
                    "the office column is no longer in credit",
                )
                outcomes += self._close_exception(open_id, how)
        return outcomes

    def _close_exception(
        self, exception_id: uuid.UUID, how: _Resolution, journals: tuple[Journal, ...] = ()
    ) -> list[Outcome]:
        record = replace(
            self._exception(exception_id),
            resolution=how.resolution,
            resolved_by=how.by,
            resolution_reason=how.reason,
        )
        self._state.put_exception(record)
        if how.resolution is ExceptionResolution.RECORDED_AS_BREACH:
            self._state.add_breach(
                Breach(
                    exception_id=exception_id,
                    kind=record.kind,
                    matter_id=record.matter_id,
                    amount=record.amount,
                    detail=record.detail,
                    recorded_by=how.by,
                    reason=how.reason,
                    journal_ids=tuple(j.journal_id for j in journals),
                )
            )
        return [ExceptionResolved(record)]

    # --- facts --------------------------------------------------------------------------------

    def _learn(self, key: PostingKey, facts: Facts) -> None:
        if facts.bill is not None:
            self._state.set_bill(facts.bill)
        if facts.allocation is not None:
            self._state.set_allocation(facts.allocation.bill_id, key, facts.allocation.amount)
        if facts.supplier_invoice is not None:
            self._state.set_supplier_invoice(key, facts.supplier_invoice)
        if facts.supplier_payment is not None:
            payment = facts.supplier_payment
            self._state.set_invoice_payment(payment.invoice, key, payment.amount)

    def _forget(self, key: PostingKey, facts: Facts) -> None:
        if facts.bill is not None:
            self._state.drop_bill(facts.bill.bill_id)
        if facts.allocation is not None:
            self._state.drop_allocation(facts.allocation.bill_id, key)
        if facts.supplier_invoice is not None:
            self._state.drop_supplier_invoice(key)
        if facts.supplier_payment is not None:
            self._state.drop_invoice_payment(facts.supplier_payment.invoice, key)

    # --- pending -------------------------------------------------------------------------------

    def _add_pending(self, pending: PendingPosting) -> None:
        self._state.add_pending(pending)

    def _remove_pending(self, key: PostingKey) -> None:
        self._state.remove_pending(key)

    # --- small things -------------------------------------------------------------------------

    def _id(self, what: str, submission: Submission, *parts: str) -> uuid.UUID:
        """Ids derived from the facts, so the same posting gets the same ids on every replay."""
        name = "|".join([self.firm_id, what, str(submission.key), submission.version, *parts])
        return uuid.uuid5(EVENT_ID_NAMESPACE, name)

    def _money(self, amount_minor: int) -> Money:
        return Money(amount_minor=amount_minor, currency=self.chart.currency)

    def _exception(self, exception_id: uuid.UUID) -> ExceptionRecord:
        record = self._state.exception(exception_id)
        assert record is not None, f"exception {exception_id} went missing"
        return record

    def _known_matter(self, matter_id: int) -> Matter:
        matter = self._state.matter(matter_id)
        assert matter is not None, f"matter {matter_id} posted to but not known"
        return matter

    def _current_lock(self, bank_account_id: int | None) -> date | None:
        if bank_account_id is None:
            return self._state.lock_all()
        return self._state.lock_by_bank().get(bank_account_id)

    def _set_lock(self, bank_account_id: int | None, locked_through: date | None) -> None:
        self._state.set_lock(bank_account_id, locked_through)

    @staticmethod
    def _check_audit(by: str, reason: str) -> None:
        if not by.strip() or not reason.strip():
            raise LedgerError("locking or unlocking a period needs who did it and why")
