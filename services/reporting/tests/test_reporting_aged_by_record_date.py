"""An aged listing ages a bill by the date Clio issued it, not the day its journal was posted:
whether the bill's record comes after its journal or before it, and when the bill is changed to
another date."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from alembic import command
from reporting_fixtures import api_app, apply_all, client_for
from reporting_scenario import (
    bill_content,
    envelope,
    late_events,
    ledger_events,
    names,
    other_events,
    src,
)

from cashroom_chassis.db import Database
from cashroom_chassis.migrations import alembic_config, upgrade
from cashroom_contracts.envelope import EventPayload
from cashroom_contracts.events import clio
from cashroom_reporting.app import MIGRATIONS
from cashroom_reporting.settings import Settings

# The scenario's bill INV-1 is posted on 10 January 2025; 30,000 of it is still owed on
# 31 March. Issued on 20 December 2024 instead, it is 11 + 31 + 28 + 31 = 101 days old then;
# changed to 10 February 2025, 18 + 31 = 49 days.
ISSUED_EARLIER = date(2024, 12, 20)
CHANGED_TO = date(2025, 2, 10)
OWED = 30_000


def _issued_on(day: date) -> clio.BillApproved:
    return clio.BillApproved(
        source=src("Bill", 9001), bill=bill_content().model_copy(update={"issued_on": day})
    )


def _scenario(*, bill_first: bool) -> list[EventPayload]:
    """The worked example with INV-1 issued on ``ISSUED_EARLIER``: its record after everything
    else (no journal moves the bill after it), or before the ledger's journals."""
    others = [e for e in other_events() if not isinstance(e, clio.BillApproved)]
    bill = _issued_on(ISSUED_EARLIER)
    if bill_first:
        return [*names(), bill, *ledger_events(), *others, *late_events()]
    return [*names(), *ledger_events(), *others, *late_events(), bill]


async def _aged_debtors(db: Database, settings: Settings, firm: str) -> dict[str, Any]:
    async with client_for(api_app(db, settings), firm) as http:
        response = await http.get(
            f"/firms/{firm}/reports/aged-debtors", params={"as_of": "2025-03-31"}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _buckets(report: dict[str, Any]) -> dict[str, int]:
    figures = report["figures"]
    keys = ("current", "d31_60", "d61_90", "d91_120", "over_120")
    return {k: figures[k] for k in keys if figures.get(k)}


async def test_a_bill_whose_record_comes_after_its_journal_is_aged_by_its_issue_date(
    db: Database, settings: Settings
) -> None:
    firm = f"firm-{uuid.uuid4().hex[:8]}"
    await apply_all(db, [envelope(firm, p, n) for n, p in enumerate(_scenario(bill_first=False))])

    report = await _aged_debtors(db, settings, firm)

    assert _buckets(report) == {"d91_120": OWED}
    [row] = report["sections"][0]["rows"]
    assert (row["bill_date"], row["days"]) == ("2024-12-20", 101)


async def test_a_bill_whose_record_comes_first_is_aged_by_its_issue_date(
    db: Database, settings: Settings
) -> None:
    firm = f"firm-{uuid.uuid4().hex[:8]}"
    await apply_all(db, [envelope(firm, p, n) for n, p in enumerate(_scenario(bill_first=True))])

    report = await _aged_debtors(db, settings, firm)

    assert _buckets(report) == {"d91_120": OWED}


async def test_a_bill_changed_to_another_date_is_aged_by_the_new_one(
    db: Database, settings: Settings
) -> None:
    firm = f"firm-{uuid.uuid4().hex[:8]}"
    events = _scenario(bill_first=False)
    changed = clio.BillChanged(
        source=src("Bill", 9001, "v2"),
        bill=bill_content().model_copy(update={"issued_on": CHANGED_TO}),
        previous_version="v1",
    )
    await apply_all(db, [envelope(firm, p, n) for n, p in enumerate([*events, changed])])

    report = await _aged_debtors(db, settings, firm)

    assert _buckets(report) == {"d31_60": OWED}
    [row] = report["sections"][0]["rows"]
    assert (row["bill_date"], row["days"]) == ("2025-02-10", 49)


async def test_spans_held_before_they_carried_dates_are_dated_by_the_upgrade(
    db: Database, settings: Settings
) -> None:
    firm = f"firm-{uuid.uuid4().hex[:8]}"
    await apply_all(db, [envelope(firm, p, n) for n, p in enumerate(_scenario(bill_first=False))])
    # Back to the schema before spans were dated, and up again: the upgrade fills the column from
    # the bills already held.
    config = alembic_config(settings, MIGRATIONS)
    await asyncio.to_thread(command.downgrade, config, "0008")
    await upgrade(settings, MIGRATIONS)

    report = await _aged_debtors(db, settings, firm)

    assert _buckets(report) == {"d91_120": OWED}
