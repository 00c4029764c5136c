"""The state the Ledger keeps, behind one interface, so that the same rules and checks drive the
books whether they live in memory (``MemoryState``: the domain's tests, a what-if) or in the
service's database (``cashroom_ledger.db.store.StoredState``: loaded a batch at a time, written in
bulk at the end of the transaction).

Every method is a lookup or a change of one thing (one matter, one posting key, one balance
series from a date on); none of the commands needs to see the whole history. The history
queries at the end (every journal, every pending posting ...) serve reports, audits and tests.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind, PostingSource
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import ChartError, ChartOfAccounts, chart_problems
from cashroom_ledger.domain.balances import BalanceKey, Balances, DatedSeries
from cashroom_ledger.domain.decisions import (
    BillFacts,
    Facts,
    PostingKey,
    SupplierInvoiceFacts,
    WaitFor,
)
from cashroom_ledger.domain.journals import Journal
from cashroom_ledger.domain.manual import ManualEntry
from cashroom_ledger.domain.outcomes import Breach, ExceptionRecord, PeriodLockChanged
from cashroom_ledger.domain.reference import BankAccount, Client, Matter


@dataclass(frozen=True, slots=True)
class Submission:
    """One version of one posting key, as it arrived: a Clio event or a cashier's manual entry."""

    key: PostingKey
    version: str
    source: PostingSource
    subject: ClioEvent | ManualEntry
    entered_by: str | None = None


@dataclass(frozen=True, slots=True)
class PendingPosting:
    """A posting that waits: held (for reference data, a review, an unlock) or referred to the
    cashier as a blocking exception (``exception_id``)."""

    submission: Submission
    reason_code: str
    reason: str
    waiting_for: tuple[WaitFor, ...]
    allow: frozenset[ExceptionKind]
    exception_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class LivePosting:
    """What a posting key stands for now: the version posted, its journals (not the reversals
    of earlier versions) and the facts it established (a bill, an allocation ...)."""

    version: str
    journals: tuple[Journal, ...]
    facts: Facts


class LedgerState(Protocol):
    """What the Ledger reads and changes. Implementations: ``MemoryState`` and the database's
    ``StoredState``. Changes are applied in the order the Ledger makes them; a state that writes
    them elsewhere (a database) writes them all or none."""

    # --- the chart and reference data ---------------------------------------------------------

    @property
    def chart(self) -> ChartOfAccounts: ...

    def set_chart(self, chart: ChartOfAccounts) -> None: ...

    def client(self, client_id: int) -> Client | None: ...

    def put_client(self, client: Client) -> None: ...

    def matter(self, matter_id: int) -> Matter | None: ...

    def put_matter(self, matter: Matter) -> None: ...

    def matters_of_client(self, client_id: int) -> Collection[int]: ...

    def bank_account(self, bank_account_id: int) -> BankAccount | None: ...

    def bank_accounts(self) -> list[BankAccount]: ...

    def put_bank_account(self, bank: BankAccount) -> None: ...

    def default_office_account_id(self) -> int | None: ...

    def set_default_office_account_id(self, bank_account_id: int) -> None: ...

    def put_practice_area(self, practice_area_id: int, name: str) -> None: ...

    # --- journals and balances ----------------------------------------------------------------

    def record_journal(self, key: PostingKey, journal: Journal) -> None:
        """Append a journal under ``key`` and move every balance its lines touch."""
        ...

    def series_from(self, key: BalanceKey, on: date) -> DatedSeries:
        """``key``'s dated series, correct for every date from ``on`` (earlier points may be
        missing: a back-dated check reads the range it needs, not the history)."""
        ...

    def has_balance(self, key: BalanceKey) -> bool: ...

    def codes_used(self) -> set[str]: ...

    # --- posting keys -------------------------------------------------------------------------

    def live(self, key: PostingKey) -> LivePosting | None: ...

    def set_live(self, key: PostingKey, live: LivePosting | None) -> None: ...

    def seen(self, key: PostingKey, version: str) -> bool: ...

    def mark_seen(self, key: PostingKey, version: str) -> None: ...

    def key_of_source(self, object_type: str, object_id: str) -> PostingKey | None: ...

    def set_key_of_source(self, object_type: str, object_id: str, key: PostingKey) -> None: ...

    # --- postings that wait -------------------------------------------------------------------

    def pending(self, key: PostingKey) -> PendingPosting | None: ...

    def add_pending(self, pending: PendingPosting) -> None: ...

    def remove_pending(self, key: PostingKey) -> PendingPosting: ...

    def waiting_for(self, wait: WaitFor) -> list[PostingKey]:
        """The keys of the pending postings that wait for ``wait``, in key order."""
        ...

    # --- exceptions and breaches --------------------------------------------------------------

    def exception(self, exception_id: uuid.UUID) -> ExceptionRecord | None: ...

    def put_exception(self, record: ExceptionRecord) -> None: ...

    def exception_count(self) -> int: ...

    def office_credit(self, matter_id: int) -> uuid.UUID | None:
        """The open office-credit-balance exception of a matter, if any."""
        ...

    def set_office_credit(self, matter_id: int, exception_id: uuid.UUID | None) -> None: ...

    def add_breach(self, breach: Breach) -> None: ...

    # --- period locks -------------------------------------------------------------------------

    def lock_all(self) -> date | None: ...

    def lock_by_bank(self) -> Mapping[int, date]: ...

    def set_lock(self, bank_account_id: int | None, locked_through: date | None) -> None: ...

    def add_lock_change(self, change: PeriodLockChanged) -> None: ...

    # --- facts postings establish -------------------------------------------------------------

    def bill(self, bill_id: int) -> BillFacts | None: ...

    def set_bill(self, facts: BillFacts) -> None: ...

    def drop_bill(self, bill_id: int) -> None: ...

    def allocations(self, bill_id: int) -> Mapping[PostingKey, Money]: ...

    def set_allocation(self, bill_id: int, key: PostingKey, amount: Money) -> None: ...

    def drop_allocation(self, bill_id: int, key: PostingKey) -> None: ...

    def supplier_invoice(self, key: PostingKey) -> SupplierInvoiceFacts | None: ...

    def set_supplier_invoice(self, key: PostingKey, facts: SupplierInvoiceFacts) -> None: ...

    def drop_supplier_invoice(self, key: PostingKey) -> None: ...

    def invoice_payments(self, invoice: PostingKey) -> Mapping[PostingKey, Money]: ...

    def set_invoice_payment(self, invoice: PostingKey, key: PostingKey, amount: Money) -> None: ...

    def drop_invoice_payment(self, invoice: PostingKey, key: PostingKey) -> None: ...

    # --- history (reports, audits, tests) -----------------------------------------------------

    def journals(self) -> Sequence[Journal]: ...

    def journal(self, journal_id: uuid.UUID) -> Journal | None: ...

    def journals_for(self, key: PostingKey) -> Sequence[Journal]: ...

    def balance_keys(self) -> list[BalanceKey]: ...

    def client_columns(self, bank_account_id: int) -> list[int]:
        """The matters with a client column in ``bank_account_id``."""
        ...

    def all_pending(self) -> list[PendingPosting]: ...

    def exceptions(self) -> list[ExceptionRecord]: ...

    def breaches(self) -> Sequence[Breach]: ...

    def lock_history(self) -> Sequence[PeriodLockChanged]: ...


class MemoryState:
    """The whole of one firm's books in memory."""

    def __init__(self, chart: ChartOfAccounts) -> None:
        problems = chart_problems(chart)
        if problems:
            raise ChartError(problems)
        self._chart = chart
        self._clients: dict[int, Client] = {}
        self._matters: dict[int, Matter] = {}
        self._matters_of_client: dict[int, set[int]] = defaultdict(set)
        self._bank_accounts: dict[int, BankAccount] = {}
        self._default_office: int | None = None
        self._practice_areas: dict[int, str] = {}
        self._journals: list[Journal] = []
        self._journal_by_id: dict[uuid.UUID, Journal] = {}
        self._journals_of_key: dict[PostingKey, list[Journal]] = defaultdict(list)
        self._balances = Balances()
        self._live: dict[PostingKey, LivePosting] = {}
        self._seen: set[tuple[PostingKey, str]] = set()
        self._key_of_source: dict[tuple[str, str], PostingKey] = {}
        self._pending: dict[PostingKey, PendingPosting] = {}
        self._waiting: dict[WaitFor, set[PostingKey]] = defaultdict(set)
        self._exceptions: dict[uuid.UUID, ExceptionRecord] = {}
        self._office_credit: dict[int, uuid.UUID] = {}
        self._breaches: list[Breach] = []
        self._lock_all: date | None = None
        self._lock_bank: dict[int, date] = {}
        self._lock_history: list[PeriodLockChanged] = []
        self._bills: dict[int, BillFacts] = {}
        self._allocations: dict[int, dict[PostingKey, Money]] = defaultdict(dict)
        self._invoices: dict[PostingKey, SupplierInvoiceFacts] = {}
        self._invoice_payments: dict[PostingKey, dict[PostingKey, Money]] = defaultdict(dict)
        self._client_columns: dict[int, set[int]] = defaultdict(set)  # bank account -> matters

    @property
    def chart(self) -> ChartOfAccounts:
        return self._chart

    def set_chart(self, chart: ChartOfAccounts) -> None:
        self._chart = chart

    def client(self, client_id: int) -> Client | None:
        return self._clients.get(client_id)

    def put_client(self, client: Client) -> None:
        self._clients[client.client_id] = client

    def matter(self, matter_id: int) -> Matter | None:
        return self._matters.get(matter_id)

    def put_matter(self, matter: Matter) -> None:
        previous = self._matters.get(matter.matter_id)
        if previous is not None:
            self._matters_of_client[previous.client_id].discard(matter.matter_id)
        self._matters[matter.matter_id] = matter
        self._matters_of_client[matter.client_id].add(matter.matter_id)

    def matters_of_client(self, client_id: int) -> Collection[int]:
        return self._matters_of_client.get(client_id, set())

    def bank_account(self, bank_account_id: int) -> BankAccount | None:
        return self._bank_accounts.get(bank_account_id)

    def bank_accounts(self) -> list[BankAccount]:
        return list(self._bank_accounts.values())

    def put_bank_account(self, bank: BankAccount) -> None:
        self._bank_accounts[bank.bank_account_id] = bank

    def default_office_account_id(self) -> int | None:
        return self._default_office

    def set_default_office_account_id(self, bank_account_id: int) -> None:
        self._default_office = bank_account_id

    def put_practice_area(self, practice_area_id: int, name: str) -> None:
        self._practice_areas[practice_area_id] = name

    def record_journal(self, key: PostingKey, journal: Journal) -> None:
        self._journals.append(journal)
        self._journal_by_id[journal.journal_id] = journal
        self._journals_of_key[key].append(journal)
        self._balances.post(journal)
        for line in journal.lines:
            if (
                line.ledger_side is AccountKind.CLIENT
                and line.matter_id is not None
                and line.bank_account_id is not None
            ):
                self._client_columns[line.bank_account_id].add(line.matter_id)

    def series_from(self, key: BalanceKey, on: date) -> DatedSeries:
        return self._balances.series(key)

    def has_balance(self, key: BalanceKey) -> bool:
        return key in self._balances

    def codes_used(self) -> set[str]:
        return self._balances.codes_used()

    def live(self, key: PostingKey) -> LivePosting | None:
        return self._live.get(key)

    def set_live(self, key: PostingKey, live: LivePosting | None) -> None:
        if live is None:
            self._live.pop(key, None)
        else:
            self._live[key] = live

    def seen(self, key: PostingKey, version: str) -> bool:
        return (key, version) in self._seen

    def mark_seen(self, key: PostingKey, version: str) -> None:
        self._seen.add((key, version))

    def key_of_source(self, object_type: str, object_id: str) -> PostingKey | None:
        return self._key_of_source.get((object_type, object_id))

    def set_key_of_source(self, object_type: str, object_id: str, key: PostingKey) -> None:
        self._key_of_source[(object_type, object_id)] = key

    def pending(self, key: PostingKey) -> PendingPosting | None:
        return self._pending.get(key)

    def add_pending(self, pending: PendingPosting) -> None:
        key = pending.submission.key
        self._pending[key] = pending
        for wait in pending.waiting_for:
            self._waiting[wait].add(key)

    def remove_pending(self, key: PostingKey) -> PendingPosting:
        pending = self._pending.pop(key)
        for wait in pending.waiting_for:
            self._waiting[wait].discard(key)
        return pending

    def waiting_for(self, wait: WaitFor) -> list[PostingKey]:
        return sorted(self._waiting.get(wait, ()))

    def exception(self, exception_id: uuid.UUID) -> ExceptionRecord | None:
        return self._exceptions.get(exception_id)

    def put_exception(self, record: ExceptionRecord) -> None:
        self._exceptions[record.exception_id] = record

    def exception_count(self) -> int:
        return len(self._exceptions)

    def office_credit(self, matter_id: int) -> uuid.UUID | None:
        return self._office_credit.get(matter_id)

    def set_office_credit(self, matter_id: int, exception_id: uuid.UUID | None) -> None:
        if exception_id is None:
            self._office_credit.pop(matter_id, None)
        else:
            self._office_credit[matter_id] = exception_id

    def add_breach(self, breach: Breach) -> None:
        self._breaches.append(breach)

    def lock_all(self) -> date | None:
        return self._lock_all

    def lock_by_bank(self) -> Mapping[int, date]:
        return self._lock_bank

    def set_lock(self, bank_account_id: int | None, locked_through: date | None) -> None:
        if bank_account_id is None:
            self._lock_all = locked_through
        elif locked_through is None:
            self._lock_bank.pop(bank_account_id, None)
        else:
            self._lock_bank[bank_account_id] = locked_through

    def add_lock_change(self, change: PeriodLockChanged) -> None:
        self._lock_history.append(change)

    def bill(self, bill_id: int) -> BillFacts | None:
        return self._bills.get(bill_id)

    def set_bill(self, facts: BillFacts) -> None:
        self._bills[facts.bill_id] = facts

    def drop_bill(self, bill_id: int) -> None:
        self._bills.pop(bill_id, None)

    def allocations(self, bill_id: int) -> Mapping[PostingKey, Money]:
        return self._allocations.get(bill_id, {})

    def set_allocation(self, bill_id: int, key: PostingKey, amount: Money) -> None:
        self._allocations[bill_id][key] = amount

    def drop_allocation(self, bill_id: int, key: PostingKey) -> None:
        self._allocations[bill_id].pop(key, None)

    def supplier_invoice(self, key: PostingKey) -> SupplierInvoiceFacts | None:
        return self._invoices.get(key)

    def set_supplier_invoice(self, key: PostingKey, facts: SupplierInvoiceFacts) -> None:
        self._invoices[key] = facts

    def drop_supplier_invoice(self, key: PostingKey) -> None:
        self._invoices.pop(key, None)

    def invoice_payments(self, invoice: PostingKey) -> Mapping[PostingKey, Money]:
        return self._invoice_payments.get(invoice, {})

    def set_invoice_payment(self, invoice: PostingKey, key: PostingKey, amount: Money) -> None:
        self._invoice_payments[invoice][key] = amount

    def drop_invoice_payment(self, invoice: PostingKey, key: PostingKey) -> None:
        self._invoice_payments[invoice].pop(key, None)

    def journals(self) -> Sequence[Journal]:
        return self._journals

    def journal(self, journal_id: uuid.UUID) -> Journal | None:
        return self._journal_by_id.get(journal_id)

    def journals_for(self, key: PostingKey) -> Sequence[Journal]:
        return self._journals_of_key.get(key, [])

    def balance_keys(self) -> list[BalanceKey]:
        return sorted(self._balances.keys())

    def client_columns(self, bank_account_id: int) -> list[int]:
        return sorted(self._client_columns.get(bank_account_id, ()))

    def all_pending(self) -> list[PendingPosting]:
        return [self._pending[k] for k in sorted(self._pending)]

    def exceptions(self) -> list[ExceptionRecord]:
        return list(self._exceptions.values())

    def breaches(self) -> Sequence[Breach]:
        return self._breaches

    def lock_history(self) -> Sequence[PeriodLockChanged]:
        return self._lock_history
