"""Dormant and residual client balances over HTTP against the real PostgreSQL: a firm of its own
whose matters sit on either side of every boundary the report draws (the age threshold, client
versus office movements, settled, overdrawn, the residual limit), each figure worked by hand."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from reporting_fixtures import api_app, apply_all, client_for, make_settings
from reporting_scenario import (
    CLIENT_BANK,
    client_side,
    envelope,
    journal,
    line,
    names,
    office_side,
    src,
)

from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.testing import Infrastructure
from cashroom_contracts.envelope import EventPayload
from cashroom_contracts.events import clio, ledger
from cashroom_reporting.app import MIGRATIONS

IDLE, AT_LIMIT, UNDER_LIMIT, OFFICE_LATER, OVERDRAWN, SETTLED, RECENT = range(601, 608)


def receipt(day: date, matter: int, pence: int) -> ledger.JournalPosted:
    return journal(
        day,
        "client_receipt",
        "Money on account",
        ("BankTransaction", f"r{matter}-{day}"),
        [line("1100", pence, bank=CLIENT_BANK), client_side(credit=pence, matter=matter)],
    )


def payment(day: date, matter: int, pence: int) -> ledger.JournalPosted:
    return journal(
        day,
        "client_payment",
        "Payment out",
        ("BankTransaction", f"p{matter}-{day}"),
        [client_side(debit=pence, matter=matter), line("1100", credit=pence, bank=CLIENT_BANK)],
    )


def events() -> list[EventPayload]:
    payloads: list[EventPayload] = list(names()[:2])  # the office and client bank accounts
    for matter in range(IDLE, RECENT + 1):
        payloads.append(
            clio.ClientUpserted(
                source=src("Contact", matter + 100),
                client_id=matter + 100,
                name=f"Client {matter}",
                kind=clio.ClientKind.PERSON,
            )
        )
        payloads.append(
            clio.MatterUpserted(
                source=src("Matter", matter),
                matter_id=matter,
                client_id=matter + 100,
                reference=f"M{matter}",
                description="Matter",
                status=clio.MatterStatus.OPEN,
                matter_type="General",
            )
        )
    payloads += [
        receipt(date(2022, 3, 1), IDLE, 12000),
        receipt(date(2024, 6, 30), AT_LIMIT, 100000),
        receipt(date(2024, 7, 1), UNDER_LIMIT, 5000),
        receipt(date(2023, 1, 10), OFFICE_LATER, 30000),
        journal(  # an office-side movement later does not wake the client ledger
            date(2025, 5, 1),
            "bill",
            "Bill",
            ("Bill", "9604"),
            [
                office_side("1200", 24000, matter=OFFICE_LATER),
                line("4000", credit=20000, vat="sales_standard"),
                line("2200", credit=4000, vat="output_vat"),
            ],
        ),
        receipt(date(2023, 5, 2), OVERDRAWN, 10000),
        payment(date(2023, 5, 2), OVERDRAWN, 15000),
        receipt(date(2022, 3, 1), SETTLED, 20000),
        payment(date(2022, 4, 1), SETTLED, 20000),
        receipt(date(2021, 1, 1), RECENT, 40000),
        receipt(date(2025, 6, 1), RECENT, 1000),
    ]
    return payloads


@pytest.fixture(scope="module")
async def http(infrastructure: Infrastructure) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    name = uuid.uuid4().hex[:10]
    settings = make_settings(infrastructure, name)
    await upgrade(settings, MIGRATIONS)
    db = Database(settings)
    firm = f"firm-{name}"
    await apply_all(db, [envelope(firm, p, i) for i, p in enumerate(events())])
    async with client_for(api_app(db, settings), firm) as client:
        yield firm, client
    await db.dispose()


async def dormant(http: tuple[str, httpx.AsyncClient], **params: Any) -> dict[str, Any]:
    firm, client = http
    response = await client.get(f"/firms/{firm}/reports/dormant-balances", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def section(report: dict[str, Any], key: str) -> dict[str, Any]:
    [found] = [s for s in report["sections"] if s["key"] == key]
    result: dict[str, Any] = found
    return result


async def test_lists_client_balances_idle_for_the_period_with_age_band_and_action(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    report = await dormant(http, as_of="2025-06-30", older_than_days="365")
    rows = section(report, "balances")["rows"]
    assert [(r["matter_ref"], r["client_balance"], r["age_days"], r["band"]) for r in rows] == [
        ("M601", 12000, 1217, "2-5 years"),  # 1 Mar 2022 → 30 Jun 2025: 1096 + 121 days
        ("M602", 100000, 365, "1-2 years"),  # exactly 365 days: included
        # M603: 364 days, not yet dormant
        ("M604", 30000, 902, "2-5 years"),  # 10 Jan 2023 (the bill in May 2025 is office side)
        ("M605", -5000, 790, "2-5 years"),  # £100 in, £150 out on 2 May 2023
        # M606 settled at zero, M607 moved on 1 June 2025
    ]
    assert [r["last_movement_on"] for r in rows] == [
        "2022-03-01",
        "2024-06-30",
        "2023-01-10",
        "2023-05-02",
    ]
    actions = [r["proposed_action"] for r in rows]
    assert "residual" in actions[0]  # £120, under the £500 limit
    assert "authorisation" in actions[1]  # £1,000, over it
    assert "residual" in actions[2]  # £300
    assert actions[3].startswith("overdrawn")
    total = 12000 + 100000 + 30000 - 5000
    assert section(report, "balances")["totals"]["client_balance"] == total
    bands = {r["band"]: (r["count"], r["amount"]) for r in section(report, "bands")["rows"]}
    assert bands == {
        "under 1 year": (0, 0),
        "1-2 years": (1, 100000),
        "2-5 years": (3, 12000 + 30000 - 5000),
        "over 5 years": (0, 0),
    }
    assert (report["figures"]["total"], report["figures"]["count"]) == (total, 4)


async def test_an_earlier_date_sees_the_balances_as_they_were_then(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    report = await dormant(http, as_of="2024-06-29", older_than_days="365")
    rows = section(report, "balances")["rows"]
    assert [(r["matter_ref"], r["client_balance"], r["age_days"]) for r in rows] == [
        ("M601", 12000, 851),
        ("M604", 30000, 536),
        ("M605", -5000, 424),
        ("M607", 40000, 1275),  # its second receipt is a year later
    ]
    assert report["figures"]["total"] == 12000 + 30000 - 5000 + 40000


async def test_a_page_of_rows_with_totals_over_every_row(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    second = await dormant(http, as_of="2025-06-30", older_than_days="365", page="2", page_size="2")
    balances = section(second, "balances")
    assert [r["matter_ref"] for r in balances["rows"]] == ["M604", "M605"]
    assert balances["rows_total"] == 4
    assert balances["totals"]["client_balance"] == 12000 + 100000 + 30000 - 5000
    assert second["figures"]["count"] == 4


async def test_the_threshold_and_residual_limit_are_parameters(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    report = await dormant(http, as_of="2025-06-30", older_than_days="1000", residual_limit="10000")
    [row] = section(report, "balances")["rows"]  # only 1 Mar 2022 is 1,000 days back or more
    assert (row["matter_ref"], row["age_days"]) == ("M601", 1217)
    assert "authorisation" in row["proposed_action"]  # £120 is over a £100 limit
    nothing = await dormant(http, as_of="2025-06-30", older_than_days="1000000")
    assert section(nothing, "balances")["rows"] == []
    assert nothing["figures"]["total"] == 0
    longest = await dormant(http, as_of="2025-06-30", older_than_days=str(2**31 - 1))
    assert section(longest, "balances")["rows"] == []
