"""How often a bank account must be reconciled, and whether it is late (legal-accounting §2).

- England & Wales (SRA Accounts Rules 8.3): client accounts at least every five weeks.
- Scotland, Ireland and most US states: monthly.
- Office accounts carry no regulatory reconciliation deadline here (firms reconcile them
  anyway; a breach is only raised for client accounts).

"Monthly" is read as: the next reconciliation is due one calendar month after the last
reconciliation date (31 January → 29 February in a leap year). An account never reconciled
is measured from the day it was opened.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from cashroom_contracts.events.common import AccountKind


class Jurisdiction(StrEnum):
    ENGLAND_AND_WALES = "england_and_wales"
    SCOTLAND = "scotland"
    IRELAND = "ireland"
    UNITED_STATES = "united_states"


FIVE_WEEKS = timedelta(weeks=5)


@dataclass(frozen=True, slots=True)
class CadenceCheck:
    required: bool  # does a regulatory cadence apply to this account at all
    due_by: date | None  # the last day the next reconciliation may be dated
    breached: bool
    days_overdue: int


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reconciliation_due_by(jurisdiction: Jurisdiction, since: date) -> date:
    if jurisdiction is Jurisdiction.ENGLAND_AND_WALES:
        return since + FIVE_WEEKS
    return add_months(since, 1)


def check_cadence(
    *,
    account_kind: AccountKind,
    jurisdiction: Jurisdiction,
    last_reconciled_on: date | None,
    opened_on: date,
    today: date,
) -> CadenceCheck:
    """Is the account's reconciliation overdue on ``today``? (A breach for a client account.)"""
    if account_kind is AccountKind.OFFICE:
        return CadenceCheck(required=False, due_by=None, breached=False, days_overdue=0)
    since = last_reconciled_on if last_reconciled_on is not None else opened_on
    due_by = reconciliation_due_by(jurisdiction, since)
    overdue = (today - due_by).days
    return CadenceCheck(
        required=True, due_by=due_by, breached=overdue > 0, days_overdue=max(overdue, 0)
    )


JURISDICTION_CODES: dict[str, Jurisdiction] = {
    "ew": Jurisdiction.ENGLAND_AND_WALES,
    "ie": Jurisdiction.IRELAND,
    "us": Jurisdiction.UNITED_STATES,
}
_DEFAULT_BY_CURRENCY = {"GBP": "ew", "EUR": "ie", "USD": "us"}


def jurisdiction_of(code: str) -> Jurisdiction:
    """``ie``, ``ew`` or ``us`` as the API writes them."""
    found = JURISDICTION_CODES.get(code)
    if found is None:
        raise ValueError(f"unknown jurisdiction {code!r}; give one of ie, ew, us")
    return found


def code_of(jurisdiction: Jurisdiction) -> str:
    for code, known in JURISDICTION_CODES.items():
        if known is jurisdiction:
            return code
    raise ValueError(f"{jurisdiction} has no API code")


def default_jurisdiction_code(currency: str | None) -> str | None:
    """Where a firm that has not said is presumed to be: GBP → ew, EUR → ie, USD → us."""
    return _DEFAULT_BY_CURRENCY.get(currency or "")


@dataclass(frozen=True, slots=True)
class LateReconciliation:
    """A client account that missed its reconciliation, raised once per overdue period: the
    period is identified by the date the reconciliation was due by, which only moves when a
    new reconciliation is signed."""

    due_by: date
    days_overdue: int
    last_reconciled_on: date | None
    dedupe_key: str
    detail: str


def late_reconciliation(
    *,
    bank_account_id: int,
    account_kind: AccountKind,
    jurisdiction: Jurisdiction,
    last_reconciled_on: date | None,
    opened_on: date,
    today: date,
) -> LateReconciliation | None:
    check = check_cadence(
        account_kind=account_kind,
        jurisdiction=jurisdiction,
        last_reconciled_on=last_reconciled_on,
        opened_on=opened_on,
        today=today,
    )
    if not check.breached or check.due_by is None:
        return None
    since = (
        f"last reconciled as of {last_reconciled_on}"
        if last_reconciled_on is not None
        else f"never reconciled since its first movement on {opened_on}"
    )
    rule = "every five weeks" if jurisdiction is Jurisdiction.ENGLAND_AND_WALES else "monthly"
    return LateReconciliation(
        due_by=check.due_by,
        days_overdue=check.days_overdue,
        last_reconciled_on=last_reconciled_on,
        dedupe_key=f"late_reconciliation:{bank_account_id}:{check.due_by.isoformat()}",
        detail=(
            f"client account {bank_account_id} must be reconciled {rule} "
            f"({jurisdiction.value.replace('_', ' ')}); it was due by {check.due_by} and is "
            f"{check.days_overdue} day(s) overdue on {today} ({since})"
        ),
    )
