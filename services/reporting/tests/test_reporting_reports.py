"""The reports of the worked example (reporting_scenario.py), over HTTP, against the real
PostgreSQL: every figure is computed by hand from the scenario's postings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from reporting_fixtures import api_app, apply_all, client_for, make_settings
from reporting_scenario import envelopes

from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.testing import Infrastructure
from cashroom_reporting.app import MIGRATIONS


@dataclass
class Scenario:
    firm: str
    http: httpx.AsyncClient

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(f"/firms/{self.firm}/reports/{path}", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
async def scenario(infrastructure: Infrastructure) -> AsyncIterator[Scenario]:
    name = uuid.uuid4().hex[:10]
    settings = make_settings(infrastructure, name)
    await upgrade(settings, MIGRATIONS)
    db = Database(settings)
    firm = f"firm-{name}"
    await apply_all(db, envelopes(firm))
    async with client_for(api_app(db, settings), firm) as http:
        yield Scenario(firm, http)
    await db.dispose()


def rows(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    [found] = [s for s in report["sections"] if s["key"] == section]
    result: list[dict[str, Any]] = found["rows"]
    return result


def checks_hold(report: dict[str, Any]) -> None:
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed == []


async def test_trial_balance_lists_each_nominal_on_its_side_and_debits_equal_credits(
    scenario: Scenario,
) -> None:
    tb = await scenario.get("trial-balance", as_of="2025-03-31")
    by_code = {r["code"]: (r["debit"], r["credit"]) for r in rows(tb, "accounts")}
    assert by_code == {
        "1000": (
            -30000 + 80000 + 40000,
            None,
        ),  # office bank: court fee out, transfer and payment in
        "1100": (100000 - 20000 - 80000 + 10000 - 15000 + 12000, None),  # client bank
        "1200": (150000 - 80000 - 40000, None),  # debtors: the bill less what was paid
        "1210": (30000 - 30000 + 50000, None),  # unbilled: court fee billed, counsel not yet
        "2000": (None, 60000),  # purchase ledger: counsel £500 + VAT £100
        "2100": (None, 122000 - 115000),  # client money control
        "2200": (None, 20000),  # VAT output
        "2210": (10000, None),  # VAT input
        "4000": (None, 100000),  # fees
    }
    assert tb["figures"]["total_debit"] == tb["figures"]["total_credit"] == 187000
    checks_hold(tb)
    assert tb["firm"]["id"] == scenario.firm


async def test_trial_balance_as_of_an_earlier_date_uses_the_balances_of_that_day(
    scenario: Scenario,
) -> None:
    tb = await scenario.get("trial-balance", as_of="2025-01-09")
    by_code = {r["code"]: (r["debit"], r["credit"]) for r in rows(tb, "accounts")}
    assert by_code == {
        "1000": (None, 30000),  # only the court fee has left the office account
        "1100": (100000 - 20000 + 12000, None),  # O'Neill's £1,000 less £200, Byrne's £120
        "1210": (30000, None),
        "2100": (None, 100000 - 20000 + 12000),
    }


async def test_profit_and_loss_and_balance_sheet(scenario: Scenario) -> None:
    pl = await scenario.get("profit-and-loss", **{"from": "2025-01-01", "to": "2025-03-31"})
    assert rows(pl, "income") == [{"code": "4000", "name": "Fees (profit costs)", "amount": 100000}]
    assert pl["figures"]["net_profit"] == 100000
    bs = await scenario.get("balance-sheet", as_of="2025-03-31")
    assert bs["figures"]["total_assets"] == 90000 + 30000 + 50000 + 10000
    assert bs["figures"]["total_liabilities"] == 60000 + 20000
    assert bs["figures"]["net_assets"] == bs["figures"]["capital_and_reserves"] == 100000
    memo = {r["code"]: r["amount"] for r in rows(bs, "client_money")}
    assert memo == {"1100": 7000, "2100": 7000}
    checks_hold(bs)


async def test_client_ledger_balances_tie_to_client_bank_and_highlight_the_overdrawn_ledger(
    scenario: Scenario,
) -> None:
    report = await scenario.get("client-ledger-balances", as_of="2025-03-31")
    listing = {
        r["matter_ref"]: (
            r["client_balance"],
            r["office_balance"],
            r["unbilled_disbursements"],
            r["overdrawn"],
        )
        for r in rows(report, "matters")
    }
    assert listing == {
        "00501-ONeill": (100000 - 20000 - 80000, 150000 - 80000 - 40000, 50000, False),
        "00503-Walsh": (10000 - 15000, 0, 0, True),
        "00504-Byrne": (12000, 0, 0, False),
    }
    assert [r["matter_ref"] for r in rows(report, "overdrawn")] == ["00503-Walsh"]
    assert report["figures"]["client_total"] == report["figures"]["client_bank"] == 7000
    assert report["figures"]["client_bank_difference"] == 0
    checks_hold(report)


async def test_matter_ledger_card_runs_office_and_client_balances(scenario: Scenario) -> None:
    card = await scenario.get("matter-ledger/501", **{"from": "2025-01-01", "to": "2025-03-31"})
    running = [(r["office_balance"], r["client_balance"]) for r in rows(card, "lines")]
    assert running == [
        (0, 0),  # brought forward
        (0, 100000),  # £1,000 received on account
        (0, 80000),  # search fee paid from client money
        (30000, 80000),  # court fee paid from office
        (180000, 80000),  # bill: fees, VAT and the court fee
        (150000, 80000),  # ... the court fee leaves unbilled disbursements
        (150000, 0),  # transfer: client half
        (70000, 0),  # transfer: office half
        (120000, 0),  # counsel's fee note
        (80000, 0),  # £400 paid into office
    ]
    assert card["figures"]["unbilled_time"] == 30000  # the second version of the time entry
    assert card["figures"]["outstanding_bills"] == 30000


async def test_a_matter_ledger_card_without_a_start_runs_from_the_day_the_matter_opened(
    scenario: Scenario,
) -> None:
    card = await scenario.get("matter-ledger/501", to="2025-03-31")
    assert card["period"] == "2 January 2025 to 31 March 2025"  # Clio opened it on 2 January
    period = await scenario.get("matter-ledger/501", **{"from": "2025-01-02", "to": "2025-03-31"})
    assert card["sections"] == period["sections"]


async def test_a_matter_ledger_card_is_found_by_the_reference_the_reports_show(
    scenario: Scenario,
) -> None:
    period = {"from": "2025-01-01", "to": "2025-03-31"}
    by_reference = await scenario.get("matter-ledger/00501-ONeill", **period)
    by_id = await scenario.get("matter-ledger/501", **period)
    assert by_reference["sections"] == by_id["sections"]
    assert by_reference["figures"]["outstanding_bills"] == 30000


async def test_aged_debtors_follow_each_payment_to_its_bill_and_tie_to_debtors_control(
    scenario: Scenario,
) -> None:
    report = await scenario.get("aged-debtors", as_of="2025-03-31")
    [bill] = rows(report, "bills")
    assert (bill["bill_number"], bill["bill_total"], bill["paid_or_credited"]) == (
        "INV-1",
        150000,
        120000,
    )
    assert bill["days"] == 21 + 28 + 31  # 10 January to 31 March
    assert bill["d61_90"] == 30000
    assert rows(report, "unallocated") == []  # the late Clio payment found its bill
    checks_hold(report)


async def test_aged_creditors_tie_to_purchase_ledger_control(scenario: Scenario) -> None:
    report = await scenario.get("aged-creditors", as_of="2025-03-31")
    [invoice] = rows(report, "invoices")
    assert (invoice["supplier"], invoice["net"], invoice["vat"], invoice["outstanding"]) == (
        "Counsel Chambers",
        50000,
        10000,
        60000,
    )
    assert invoice["d61_90"] == 60000  # 20 January to 31 March: 70 days
    checks_hold(report)


async def test_unbilled_shows_the_latest_wip_and_the_ledgers_unbilled_disbursements(
    scenario: Scenario,
) -> None:
    report = await scenario.get("unbilled", as_of="2025-03-31")
    [matter] = rows(report, "matters")
    assert (matter["unbilled_time"], matter["unbilled_disbursements"]) == (30000, 50000)
    # Its last bill is INV-1 (issued 10 January); its only work entry was recorded on 3 March.
    assert (matter["last_bill_on"], matter["oldest_entry"]) == ("2025-01-10", "2025-03-03")
    assert report["figures"]["wip_total"] == 30000
    checks_hold(report)
    # Before the bill was issued and the work recorded, neither shows.
    earlier = await scenario.get("unbilled", as_of="2025-01-09")
    assert earlier["figures"]["wip_total"] == 0
    assert all(r["last_bill_on"] is None for r in rows(earlier, "matters"))


async def test_vat_return_excludes_outside_scope_disbursements(scenario: Scenario) -> None:
    q1 = {"from": "2025-01-01", "to": "2025-03-31"}
    uk = await scenario.get("vat-return", scheme="uk", **q1)
    f = uk["figures"]
    assert (f["box1"], f["box2"], f["box3"], f["box4"], f["box5"]) == (
        20000,
        0,
        20000,
        10000,
        10000,
    )
    assert (f["box6"], f["box7"]) == (1000, 500)  # £1,000 fees; £500 counsel (whole pounds)
    assert (f["outside_scope_sales"], f["outside_scope_purchases"]) == (30000, 30000)
    checks_hold(uk)
    ie = await scenario.get("vat-return", scheme="ie", **q1)
    assert (ie["figures"]["t1"], ie["figures"]["t2"], ie["figures"]["t3"], ie["figures"]["t4"]) == (
        20000,
        10000,
        10000,
        0,
    )
    # Each tag's row names its box on the return asked for, and only on that one.
    uk_boxes = {r["vat_code"]: r["box"] for r in rows(uk, "tags")}
    ie_boxes = {r["vat_code"]: r["box"] for r in rows(ie, "tags")}
    assert uk_boxes == {
        "output_vat": "box 1",
        "input_vat": "box 4",
        "sales_standard": "box 6",
        "purchases_standard": "box 7",
        "outside_scope": "none (outside the scope of VAT)",
    }
    assert ie_boxes == {
        "output_vat": "T1",
        "input_vat": "T2",
        "sales_standard": "none on the Irish VAT3",
        "purchases_standard": "none on the Irish VAT3",
        "outside_scope": "none (outside the scope of VAT)",
    }


async def test_dormant_balances_list_the_untouched_ledger_with_its_proposed_action(
    scenario: Scenario,
) -> None:
    report = await scenario.get("dormant-balances", as_of="2025-03-31", older_than_days="730")
    [row] = rows(report, "balances")
    assert (row["matter_ref"], row["client_balance"], row["band"]) == (
        "00504-Byrne",
        12000,
        "2-5 years",
    )
    assert row["age_days"] == 1126  # 1 March 2022 to 31 March 2025
    assert "residual" in row["proposed_action"]  # £120 is under the £500 limit


async def test_breach_register(scenario: Scenario) -> None:
    report = await scenario.get("breach-register", as_of="2025-03-31")
    assert [(r["matter_ref"], r["shortfall"]) for r in rows(report, "overdrawn")] == [
        ("00503-Walsh", 5000)
    ]
    [exception] = rows(report, "exceptions")
    assert (exception["status"], exception["unresolved"]) == ("unresolved", True)
    [late] = rows(report, "late_reconciliations")
    assert late["days_since"] == 59  # 31 January to 31 March


async def test_sync_summary_counts_records_once_with_their_latest_value(scenario: Scenario) -> None:
    report = await scenario.get("sync-summary")
    by_type = {(r["object_type"], r["currency"]): r for r in rows(report, "object_types")}
    activity = by_type[("Activity", "GBP")]
    # Activity 901 (two versions, now £300), the counsel invoice 8001 (£600)
    assert (activity["records"], activity["versions"], activity["amount"]) == (2, 3, 30000 + 60000)
    bill = by_type[("Bill", "GBP")]
    assert (bill["records"], bill["amount"], bill["posted"]) == (1, 150000, 1)
    allocation = by_type[("Allocation", "GBP")]
    assert (allocation["records"], allocation["amount"]) == (2, 80000 + 40000)


async def test_every_report_says_which_events_it_reflects(scenario: Scenario) -> None:
    report = await scenario.get("trial-balance", as_of="2025-03-31")
    positions = report["consistent_with"]["positions"]
    assert positions == [{"topic": "test", "partition": 0, "offset": len(envelopes("x")) - 1}]
    assert report["consistent_with"]["last_event_time"] is not None


async def test_json_rows_come_a_page_at_a_time_with_totals_over_every_row(
    scenario: Scenario,
) -> None:
    report = await scenario.get(
        "client-ledger-balances", as_of="2025-03-31", page="2", page_size="1"
    )
    [section] = [s for s in report["sections"] if s["key"] == "matters"]
    assert [r["matter_ref"] for r in section["rows"]] == ["00503-Walsh"]  # the second of three
    assert (section["rows_total"], section["page"], section["page_size"]) == (3, 2, 1)
    assert section["totals"]["client_balance"] == 7000  # every row, not the page


async def test_a_listing_on_an_earlier_date_shows_the_balances_of_that_date(
    scenario: Scenario,
) -> None:
    report = await scenario.get("client-ledger-balances", as_of="2025-01-07")
    listing = {
        r["matter_ref"]: (r["client_balance"], r["office_balance"], r["last_movement_on"])
        for r in rows(report, "matters")
    }
    assert listing == {
        "00501-ONeill": (100000 - 20000, 0, "2025-01-07"),  # received, search fee paid
        "00504-Byrne": (12000, 0, "2022-03-01"),  # Walsh's ledger has not moved yet
    }
    assert report["figures"]["client_total"] == report["figures"]["client_bank"] == 92000
    checks_hold(report)


async def test_aged_debtors_on_earlier_dates_age_what_was_owed_then(scenario: Scenario) -> None:
    billed = await scenario.get("aged-debtors", as_of="2025-01-12")
    [bill] = rows(billed, "bills")
    assert (bill["outstanding"], bill["days"], bill["current"]) == (150000, 2, 150000)
    part_paid = await scenario.get("aged-debtors", as_of="2025-01-16")
    [bill] = rows(part_paid, "bills")
    assert bill["outstanding"] == 150000 - 80000  # £800 transferred from client on 15 January
    assert part_paid["figures"]["total"] == 70000
    checks_hold(billed)
    checks_hold(part_paid)


async def test_aged_pages_count_every_item_and_total_them_all(scenario: Scenario) -> None:
    report = await scenario.get("aged-debtors", as_of="2025-03-31", page="2", page_size="1")
    [section] = [s for s in report["sections"] if s["key"] == "bills"]
    assert (section["rows"], section["rows_total"], section["page"]) == ([], 1, 2)
    assert report["figures"]["total"] == report["figures"]["d61_90"] == 30000
    checks_hold(report)
