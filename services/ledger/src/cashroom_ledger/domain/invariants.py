"""The accounts rules as pure checks (legal-accounting.md §5). The Ledger applies them before it
posts; audits, reports and tests can run them over the books at any time.

* I-1  every journal balances per currency — ``journal_imbalance`` (a ``Journal`` refuses to
  exist otherwise);
* I-3  client money moves only with a client ledger — ``client_side_mismatch`` (per journal, per
  client account: client bank lines and client-column lines cancel);
* I-4  no client column below zero at any date — ``first_overdraft`` (for postings not yet
  applied, back-dated ones checked against every later date) and ``overdrawn_client_ledgers``
  (for the books as they stand);
* I-5  client bank = sum of client columns, per client account and in total —
  ``client_money_differences``;
* I-10 one live posting set per source key — ``posted_more_than_once``;
* I-13 nothing on or before a locked date — ``first_locked``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import AccountRole, ChartOfAccounts
from cashroom_ledger.domain.balances import BalanceKey, DatedSeries
from cashroom_ledger.domain.decisions import PostingKey
from cashroom_ledger.domain.journals import Journal, imbalance

if TYPE_CHECKING:
    from cashroom_ledger.domain.ledger import Ledger


def journal_imbalance(journal: Journal) -> dict[str, int]:
    """I-1: debits less credits per currency where they differ (empty: it balances)."""
    return imbalance(journal.lines)


def client_side_mismatch(journal: Journal, chart: ChartOfAccounts) -> dict[int, int]:
    """I-3: per client bank account, what the journal moves in the bank but not in client
    columns (or the reverse). Empty when every penny of client money is on a client's ledger."""
    client_banks = {a.code for a in chart.with_role(AccountRole.CLIENT_BANK)}
    off: dict[int, int] = defaultdict(int)
    for line in journal.lines:
        if line.bank_account_id is None:
            continue
        if line.account_code in client_banks or line.ledger_side is AccountKind.CLIENT:
            off[line.bank_account_id] += line.signed_minor
    return {account: amount for account, amount in off.items() if amount}


@dataclass(frozen=True, slots=True)
class Overdraft:
    """A client column that a posting would take (further) below zero."""

    key: BalanceKey
    on: date
    held_before: int  # money held for the client on that date without the posting (minor units)
    held_after: int  # ... and with it


def first_overdraft(
    journals: Iterable[Journal], series_of: Callable[[BalanceKey], DatedSeries]
) -> Overdraft | None:
    """I-4 for postings not yet applied: project every client column they touch from their
    earliest date to the last date the column has, and find the first point where the money held
    would be below zero and lower than without them. A back-dated payment is thereby checked
    against every later date; a receipt into a column already overdrawn (by a recorded breach)
    only helps, so it passes."""
    changes: dict[BalanceKey, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for journal in journals:
        for line in journal.lines:
            if line.ledger_side is AccountKind.CLIENT and line.matter_id is not None:
                changes[BalanceKey.of_line(line)][journal.posted_on] += line.signed_minor
    for key in sorted(changes):
        for on, now, then in series_of(key).projected(changes[key]):
            held_before, held_after = -now, -then  # client columns are credit balances
            if held_after < 0 and held_after < held_before:
                return Overdraft(key, on, held_before, held_after)
    return None


@dataclass(frozen=True, slots=True)
class LockBreach:
    journal: Journal
    locked_through: date
    bank_account_id: int | None  # None: the books as a whole are locked


def first_locked(
    journals: Iterable[Journal], lock_all: date | None, lock_by_bank: Mapping[int, date]
) -> LockBreach | None:
    """I-13: the first journal dated on or before the books' lock, or the lock of a bank account
    one of its lines touches."""
    for journal in journals:
        if lock_all is not None and journal.posted_on <= lock_all:
            return LockBreach(journal, lock_all, None)
        banks = sorted(
            {line.bank_account_id for line in journal.lines if line.bank_account_id is not None}
        )
        for bank in banks:
            lock = lock_by_bank.get(bank)
            if lock is not None and journal.posted_on <= lock:
                return LockBreach(journal, lock, bank)
    return None


@dataclass(frozen=True, slots=True)
class OverdrawnClientLedger:
    matter_id: int
    bank_account_id: int
    on: date | None
    held: Money


def overdrawn_client_ledgers(
    ledger: Ledger, as_of: date | None = None
) -> list[OverdrawnClientLedger]:
    """I-4 for the books as they stand: every client column below zero on ``as_of`` (or, with
    None, at *any* date it has moved — what an accountant's sample of dates would find)."""
    code = ledger.chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    found = []
    for bank in ledger.client_bank_accounts():
        for matter_id in ledger.matters_with_client_money_in(bank.bank_account_id):
            key = BalanceKey(code, matter_id, AccountKind.CLIENT, bank.bank_account_id)
            points = (
                ledger.balance_points(key)
                if as_of is None
                else [(as_of, ledger.balance(key, as_of))]
            )
            for on, balance in points:
                if balance.amount_minor > 0:  # a debit balance: money paid out that was not held
                    found.append(
                        OverdrawnClientLedger(matter_id, bank.bank_account_id, on, -balance)
                    )
    return found


@dataclass(frozen=True, slots=True)
class ClientMoneyDifference:
    """I-5 broken: what the client bank says against what the client ledgers say."""

    bank_account_id: int | None  # None: the client money control against all client banks
    bank: Money
    ledgers: Money


def client_money_differences(
    ledger: Ledger, as_of: date | None = None
) -> list[ClientMoneyDifference]:
    """I-5: for each client account, its cashbook equals the money held on the client columns of
    the matters in it (plus unidentified receipts in client suspense); and the client money
    control (with suspense) equals all the client bank nominals together."""
    chart = ledger.chart
    control = chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    suspense = chart.code_for(AccountRole.CLIENT_SUSPENSE)
    differences = []
    for bank in ledger.client_bank_accounts():
        a = bank.bank_account_id
        in_bank = ledger.bank_balance(a, as_of)
        held = sum(
            ledger.client_balance(m, a, as_of).amount_minor
            for m in ledger.matters_with_client_money_in(a)
        )
        held -= ledger.balance(
            BalanceKey(suspense, None, AccountKind.CLIENT, a), as_of
        ).amount_minor
        if in_bank.amount_minor != held:
            differences.append(ClientMoneyDifference(a, in_bank, in_bank.with_amount(held)))
    banks = sum(
        ledger.nominal_balance(a.code, as_of).amount_minor
        for a in chart.with_role(AccountRole.CLIENT_BANK)
    )
    owed = -(
        ledger.nominal_balance(control, as_of).amount_minor
        + ledger.nominal_balance(suspense, as_of).amount_minor
    )
    if banks != owed:
        zero = Money.zero(chart.currency)
        differences.append(
            ClientMoneyDifference(None, zero.with_amount(banks), zero.with_amount(owed))
        )
    return differences


def posted_more_than_once(ledger: Ledger, keys: Iterable[PostingKey]) -> list[PostingKey]:
    """I-10: keys whose journals, all versions and reversals together, do not come to exactly
    their live posting — i.e. something was posted twice or not reversed."""
    wrong = []
    for key in keys:
        every = _net_lines(ledger.journals_for(key))
        live = _net_lines(ledger.live_journals(key))
        if every != live:
            wrong.append(key)
    return wrong


def _net_lines(journals: Iterable[Journal]) -> dict[BalanceKey, int]:
    net: dict[BalanceKey, int] = defaultdict(int)
    for journal in journals:
        for line in journal.lines:
            net[BalanceKey.of_line(line)] += line.signed_minor
    return {key: amount for key, amount in net.items() if amount}
