"""Importing a statement into an account's history: which lines are new, and does it chain?

A line is known when its bank id was imported before: re-importing the same statement, or one
that overlaps the last, adds nothing twice. Continuity (legal-accounting §4.3):

- the statement's own arithmetic: Σ lines = closing − opening (when the bank states both);
- the chain: the statement opens where the account's history closed. When the statement
  overlaps the history, its already-known lines sit before that point, so the check is
  ``opening + Σ known lines = previous closing``; without overlap it is ``opening = previous
  closing``. A statement that states only its closing (OFX) is checked as ``previous closing +
  Σ new lines = closing``.

A break is reported in the result, never absorbed: the caller decides what to do with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cashroom_contracts.money import Money
from cashroom_reconciliation.domain.errors import StatementError, StatementErrorKind
from cashroom_reconciliation.domain.statement import Statement, StatementLine, total


class BreakKind(StrEnum):
    LINES_DO_NOT_SUM = "lines_do_not_sum"  # Σ lines ≠ closing − opening
    OPENING_NOT_PREVIOUS_CLOSING = "opening_not_previous_closing"
    CLOSING_NOT_PREVIOUS_PLUS_LINES = "closing_not_previous_plus_lines"
    LINE_CHANGED = "line_changed"  # a known bank id now has another amount or date
    OUT_OF_SEQUENCE = "out_of_sequence"  # new lines in a period before the account's last


@dataclass(frozen=True, slots=True)
class ContinuityBreak:
    kind: BreakKind
    detail: str
    expected: Money | None = None
    found: Money | None = None
    bank_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountPosition:
    """Where an account's imported history ends: the last statement's end and closing balance
    (stated by the bank, or carried forward from the lines when the bank states none)."""

    period_end: date
    closing_balance: Money


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What importing a statement would do, and whether it chains onto the history."""

    new_lines: tuple[StatementLine, ...]
    known_lines: tuple[StatementLine, ...]
    breaks: tuple[ContinuityBreak, ...]
    position_after: AccountPosition | None  # None: a first import that states no balance

    @property
    def is_continuous(self) -> bool:
        return not self.breaks


def plan_import(
    statement: Statement,
    previous: AccountPosition | None,
    known: Mapping[str, StatementLine],
) -> ImportPlan:
    """Split the statement's lines into new and known, and check continuity.

    ``previous`` is where the account's history ends (``None`` for a first import);
    ``known`` maps bank id to previously imported line, for at least every bank id in the
    statement (loading the ids present in the statement is enough).
    """
    currency = statement.currency
    new_lines: list[StatementLine] = []
    known_lines: list[StatementLine] = []
    breaks: list[ContinuityBreak] = []
    for line in statement.lines:
        earlier = known.get(line.bank_id)
        if earlier is None:
            new_lines.append(line)
            continue
        known_lines.append(line)
        if earlier.amount != line.amount or earlier.booking_date != line.booking_date:
            breaks.append(
                ContinuityBreak(
                    BreakKind.LINE_CHANGED,
                    f"bank id {line.bank_id!r} was imported as {earlier.amount} on "
                    f"{earlier.booking_date}; this statement has {line.amount} on "
                    f"{line.booking_date}",
                    expected=earlier.amount,
                    found=line.amount,
                    bank_id=line.bank_id,
                )
            )
    lines_total = total(statement.lines, currency)
    new_total = total(new_lines, currency)
    known_total = total(known_lines, currency)
    opening, closing = statement.opening_balance, statement.closing_balance

    if opening is not None and closing is not None and closing - opening != lines_total:
        breaks.append(
            ContinuityBreak(
                BreakKind.LINES_DO_NOT_SUM,
                f"the lines sum to {lines_total} but closing {closing} − opening {opening} "
                f"is {closing - opening}",
                expected=closing - opening,
                found=lines_total,
            )
        )

    if previous is not None and previous.closing_balance.currency != currency:
        raise StatementError(
            StatementErrorKind.MIXED_CURRENCIES,
            f"the account's history is in {previous.closing_balance.currency}, "
            f"the statement in {currency}",
        )
    position_after: AccountPosition | None
    if previous is None:
        position_after = (
            AccountPosition(statement.period_end, closing) if closing is not None else None
        )
    elif statement.period_end < previous.period_end:
        if new_lines:
            breaks.append(
                ContinuityBreak(
                    BreakKind.OUT_OF_SEQUENCE,
                    f"{len(new_lines)} new line(s) in a statement ending {statement.period_end}, "
                    f"before the account's history ends ({previous.period_end})",
                    found=new_total,
                )
            )
        position_after = previous
    else:
        expected_closing = previous.closing_balance + new_total
        if opening is not None:
            if opening + known_total != previous.closing_balance:
                overlap = f" + {known_total} already imported" if known_lines else ""
                breaks.append(
                    ContinuityBreak(
                        BreakKind.OPENING_NOT_PREVIOUS_CLOSING,
                        f"the statement opens at {opening}{overlap}, but the previous statement "
                        f"closed at {previous.closing_balance}",
                        expected=previous.closing_balance - known_total,
                        found=opening,
                    )
                )
        elif closing is not None and closing != expected_closing:
            breaks.append(
                ContinuityBreak(
                    BreakKind.CLOSING_NOT_PREVIOUS_PLUS_LINES,
                    f"the statement closes at {closing}, but the previous closing "
                    f"{previous.closing_balance} plus the new lines {new_total} is "
                    f"{expected_closing}",
                    expected=expected_closing,
                    found=closing,
                )
            )
        position_after = AccountPosition(
            statement.period_end, closing if closing is not None else expected_closing
        )
    return ImportPlan(
        new_lines=tuple(new_lines),
        known_lines=tuple(known_lines),
        breaks=tuple(breaks),
        position_after=position_after,
    )
