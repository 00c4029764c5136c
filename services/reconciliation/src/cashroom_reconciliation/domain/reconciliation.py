"""The reconciliation statement as of a date (legal-accounting §3.1 and §4.3).

::

    adjusted bank balance = statement balance
                          + outstanding lodgements   (receipts in the cashbook, not yet banked)
                          − unpresented payments     (payments in the cashbook, not yet cleared)
                          ± bank errors              (items the bank must correct)
    difference            = adjusted bank balance − cashbook balance        (0 to sign)
    three-way difference  = cashbook balance − Σ client ledgers    (client accounts; 0 to sign)

Everything is judged as at the date: an entry matched to a bank line booked after it is still
outstanding; a bank line matched to an entry posted after it is still unexplained. The
unexplained statement lines (bank charges, interest, unidentified receipts) are listed: they
are what a difference is made of until they are posted or corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import CurrencyMismatch, Money
from cashroom_reconciliation.domain.cashbook import CashbookEntry, EntryKind
from cashroom_reconciliation.domain.matches import MatchSet
from cashroom_reconciliation.domain.statement import Statement, StatementLine


@dataclass(frozen=True, slots=True)
class BankError:
    """An item on the statement the bank has to correct, with the sign that corrects it."""

    description: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ReconciliationStatement:
    account_kind: AccountKind
    as_of: date
    statement_balance: Money
    outstanding_lodgements: Money  # positive: Σ receipts not yet on the statement
    unpresented_payments: Money  # positive: Σ payments not yet on the statement
    bank_errors: Money
    adjusted_bank_balance: Money
    cashbook_balance: Money
    difference: Money
    client_ledgers_total: Money | None
    three_way_difference: Money | None
    outstanding_entries: tuple[CashbookEntry, ...]
    unexplained_lines: tuple[StatementLine, ...]

    @property
    def is_reconciled(self) -> bool:
        return self.difference.is_zero()

    @property
    def can_sign(self) -> bool:
        """Two-way for an office account; three-way for a client account."""
        if not self.is_reconciled:
            return False
        if self.account_kind is AccountKind.CLIENT:
            return self.three_way_difference is not None and self.three_way_difference.is_zero()
        return True


def prepare_reconciliation(
    *,
    account_kind: AccountKind,
    as_of: date,
    statement_balance: Money,
    cashbook_balance: Money,
    entries: Iterable[CashbookEntry],
    lines: Iterable[StatementLine],
    matches: MatchSet,
    client_ledgers_total: Money | None = None,
    bank_errors: Sequence[BankError] = (),
) -> ReconciliationStatement:
    """Compute the statement. ``entries`` and ``lines`` may run past ``as_of``; only what is
    dated on or before it counts. ``client_ledgers_total`` is required for a client account."""
    currency = statement_balance.currency
    if cashbook_balance.currency != currency:
        raise CurrencyMismatch(f"cashbook in {cashbook_balance.currency}, bank in {currency}")
    if account_kind is AccountKind.CLIENT and client_ledgers_total is None:
        raise ValueError("a client account reconciles three ways: give the client ledgers total")
    if account_kind is AccountKind.OFFICE and client_ledgers_total is not None:
        raise ValueError("an office account has no client ledgers total")

    def cleared_by(
        match_lines: Sequence[StatementLine], match_entries: Sequence[CashbookEntry]
    ) -> bool:
        return all(line.booking_date <= as_of for line in match_lines) and all(
            entry.posted_on <= as_of for entry in match_entries
        )

    outstanding: list[CashbookEntry] = []
    lodgements = Money.zero(currency)
    unpresented = Money.zero(currency)
    for entry in entries:
        if entry.posted_on > as_of:
            continue
        match = matches.match_of_entry(entry.entry_id)
        if match is not None and cleared_by(match.statement_lines, match.cashbook_entries):
            continue
        outstanding.append(entry)
        if entry.kind is EntryKind.RECEIPT:
            lodgements = lodgements + entry.amount
        else:
            unpresented = unpresented - entry.amount
    unexplained: list[StatementLine] = []
    for line in lines:
        if line.booking_date > as_of:
            continue
        match = matches.match_of_line(line.bank_id)
        if match is not None and cleared_by(match.statement_lines, match.cashbook_entries):
            continue
        if line.amount.currency != currency:
            raise CurrencyMismatch(f"statement line {line.bank_id} in {line.amount.currency}")
        unexplained.append(line)
    errors = Money.zero(currency)
    for error in bank_errors:
        errors = errors + error.amount
    adjusted = statement_balance + lodgements - unpresented + errors
    difference = adjusted - cashbook_balance
    three_way = None
    if client_ledgers_total is not None:
        three_way = cashbook_balance - client_ledgers_total
    return ReconciliationStatement(
        account_kind=account_kind,
        as_of=as_of,
        statement_balance=statement_balance,
        outstanding_lodgements=lodgements,
        unpresented_payments=unpresented,
        bank_errors=errors,
        adjusted_bank_balance=adjusted,
        cashbook_balance=cashbook_balance,
        difference=difference,
        client_ledgers_total=client_ledgers_total,
        three_way_difference=three_way,
        outstanding_entries=tuple(outstanding),
        unexplained_lines=tuple(unexplained),
    )


def statement_balance_on(statement: Statement, as_of: date) -> Money:
    """The bank balance at the end of ``as_of`` from a statement that states its opening:
    opening + Σ lines booked on or before that date (closing − Σ later lines for OFX)."""
    if not statement.period_start - timedelta(days=1) <= as_of <= statement.period_end:
        raise ValueError(
            f"the statement covers {statement.period_start} to {statement.period_end}; "
            f"it does not give the balance on {as_of}"
        )
    if statement.opening_balance is None:
        if statement.closing_balance is None:
            raise ValueError("the statement states no balance")
        later = sum(
            line.amount.amount_minor for line in statement.lines if line.booking_date > as_of
        )
        return statement.closing_balance.with_amount(statement.closing_balance.amount_minor - later)
    booked = sum(line.amount.amount_minor for line in statement.lines if line.booking_date <= as_of)
    return statement.opening_balance.with_amount(statement.opening_balance.amount_minor + booked)
