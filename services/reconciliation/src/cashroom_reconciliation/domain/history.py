"""An account's imported statement history: where it stands, and the bank balance on a date.

Each import is remembered with its period and its balances: the ones the bank stated, or, where
the format states none (OFX has no opening, a CSV export may have neither), the ones carried
forward from the account's history (``ImportPlan.position_after``). The bank balance at the end
of a day is read from the statement that covers it, most recent first:

    opening + Σ the account's lines booked from the period's start through the day, or
    closing − Σ the account's lines booked after the day through the period's end.

The account's lines are every line imported for it, whichever file brought them (a line that
came in an overlapping statement counts once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.continuity import AccountPosition
from cashroom_reconciliation.domain.statement import Statement, StatementLine


class NoStatementBalance(ValueError):
    """No imported statement gives the bank balance on the date asked for."""


@dataclass(frozen=True, slots=True)
class ImportedStatement:
    statement_id: str
    period_start: date
    period_end: date
    opening_balance: Money | None  # as stated, else carried forward
    closing_balance: Money | None
    sequence: int  # import order: later imports win ties

    def covers(self, day: date) -> bool:
        return self.period_start - timedelta(days=1) <= day <= self.period_end


def carried_balances(
    statement: Statement, position_after: AccountPosition | None
) -> tuple[Money | None, Money | None]:
    """The statement's opening and closing balances: stated, or carried forward from the
    account's position after the import (closing), and closing − Σ lines (opening)."""
    closing = statement.closing_balance
    if (
        closing is None
        and position_after is not None
        and position_after.period_end == statement.period_end
    ):
        closing = position_after.closing_balance
    opening = statement.opening_balance
    if opening is None and closing is not None:
        opening = closing - statement.lines_total()
    if closing is None and opening is not None:
        closing = opening + statement.lines_total()
    return opening, closing


def position_of(history: Sequence[ImportedStatement]) -> AccountPosition | None:
    """Where the account's history ends: the statement ending last (the latest import on a tie)."""
    if not history:
        return None
    last = max(history, key=lambda s: (s.period_end, s.sequence))
    if last.closing_balance is None:
        return None
    return AccountPosition(last.period_end, last.closing_balance)


def bank_balance_on(
    day: date, history: Sequence[ImportedStatement], lines: Iterable[StatementLine]
) -> tuple[Money, ImportedStatement]:
    """The bank balance at the end of ``day`` and the statement it was read from."""
    covering = [s for s in history if s.covers(day)]
    if not covering:
        spans = ", ".join(
            f"{s.period_start} to {s.period_end}"
            for s in sorted(history, key=lambda s: s.period_start)
        )
        raise NoStatementBalance(
            f"no imported statement covers {day}"
            + (f" (statements cover {spans})" if spans else " (no statement imported yet)")
        )
    statement = max(covering, key=lambda s: (s.period_end, s.sequence))
    if statement.opening_balance is not None:
        start = statement.period_start
        booked = sum(
            line.amount.amount_minor for line in lines if start <= line.booking_date <= day
        )
        return statement.opening_balance.with_amount(
            statement.opening_balance.amount_minor + booked
        ), statement
    if statement.closing_balance is not None:
        end = statement.period_end
        later = sum(line.amount.amount_minor for line in lines if day < line.booking_date <= end)
        return statement.closing_balance.with_amount(
            statement.closing_balance.amount_minor - later
        ), statement
    raise NoStatementBalance(
        f"the statement for {statement.period_start} to {statement.period_end} states no "
        "balance and none could be carried forward (import one that states its balances)"
    )
