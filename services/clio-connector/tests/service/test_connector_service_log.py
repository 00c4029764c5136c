"""The cashier's side: settings checked against the ledger's chart of accounts and Clio's bank
accounts; the sync log (a line per record, filters, summary) and the ledger's answers marked on
it; resolving flagged lines (a VAT decision, written back to Clio when allowed; a linked outlay
paid; a retry after fixing the record in Clio), each releasing exactly the corrected events.

The tiny generated firm holds two disbursements whose VAT the firm reviews (linked outlays: no
vendor) and a bill that waits for one of them; the oracle lists them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from connector_service_harness import (
    CUT_OFF,
    Connector,
    Service,
    firm_of,
    keyed,
    ledger_figures,
    oracle_figures,
    until,
)

from cashroom_chassis.auth import Role
from cashroom_contracts.envelope import Envelope, new_event
from cashroom_contracts.events.clio import (
    BillApproved,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
)
from cashroom_contracts.events.common import VatTreatment
from cashroom_contracts.events.ledger import (
    PostingApplied,
    PostingHeld,
    PostingRejected,
    PostingSource,
)
from clio_sandbox.oracle import SyncSettings as OracleSettings
from clio_sandbox.oracle import compute_oracle
from clio_sandbox.testing import tiny_firm

OFFICE, CLIENT = 7001, 7002  # the tiny firm's operating and first trust account
REVIEWED = (9911220714, 9911220715)  # its disbursements held for a VAT decision
WAITING_BILL = 5550045  # the bill carrying the first of them


@pytest.fixture
async def c(connector_service: Service) -> AsyncIterator[Connector]:
    async with firm_of(connector_service, tiny_firm()) as connector:
        await connector.link()
        yield connector


async def synced(c: Connector, **settings: Any) -> dict[str, Any]:
    saved = await c.put_settings(import_transactions_from=CUT_OFF.isoformat(), **settings)
    assert saved.status_code == 200, saved.text
    run = await c.sync("full")
    assert run["status"] == "completed", run["error"]
    return run


def oracle_of(c: Connector, vat: Literal["review", "as_clio"] = "review") -> dict[str, int]:
    oracle = compute_oracle(
        c.firm.clone(), OracleSettings(cutoff_date=CUT_OFF, vat_on_disbursements=vat)
    )
    return oracle_figures(oracle, list(ledger_figures([])))


async def open_flag(c: Connector, object_id: int) -> dict[str, Any]:
    [line] = [line for line in await c.log(open_flags="true") if line["object_id"] == object_id]
    return line


def drop_clio_webhooks(c: Connector) -> None:
    """Clio stops telling the service about changes (the cashier's own actions follow)."""
    for hook in list(c.firm.store.iter("webhooks")):
        c.firm.store.delete("webhooks", hook["id"])


# --- Settings --------------------------------------------------------------------------------


async def test_settings_are_checked_against_the_ledgers_chart_and_clios_bank_accounts(
    c: Connector,
) -> None:
    url = f"/firms/{c.firm_id}/settings"
    defaults = await c.api.get(url)
    assert defaults.headers["X-Settings-Source"] == "default"
    assert defaults.json()["vat_on_disbursements"] == "let_me_review"

    async def refused(**values: Any) -> list[dict[str, str]]:
        answer = await c.put_settings(**values)
        assert answer.status_code == 422, answer.text
        errors: list[dict[str, str]] = answer.json()["errors"]
        return errors

    assert await refused(default_fee_nominal="4999") == [
        {
            "field": "default_fee_nominal",
            "message": "nominal 4999 is not in the firm's chart of accounts",
        }
    ]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    [future] = await refused(import_transactions_from=tomorrow.isoformat())
    assert future["field"] == "import_transactions_from" and "in the future" in future["message"]
    # Clio is asked about accounts not synced yet: an operating account is no client account
    [office] = await refused(default_client_account_id=OFFICE)
    assert office["field"] == "default_client_account_id"
    assert "choose a Clio Trust account" in office["message"]
    [missing] = await refused(disbursement_bank_account_id=424242)
    assert missing["message"] == "Clio has no bank account 424242"
    [typo] = await refused(import_bils=False)
    assert typo["field"] == "import_bils"

    saved = await c.put_settings(default_client_account_id=CLIENT, default_fee_nominal="4200")
    assert saved.status_code == 200 and saved.headers["X-Settings-Source"] == "saved"
    assert (await c.api.get(url)).json()["default_client_account_id"] == CLIENT

    async with c.as_role(Role.CASHIER) as cashier:
        assert (await cashier.put(url, json=saved.json())).status_code == 403

    chart = c.service.charts.pop(c.firm_id)  # the ledger has no chart for the firm (yet)
    [not_set_up, *_] = await refused()
    assert "set the firm up in the ledger first" in not_set_up["message"]
    c.service.charts[c.firm_id] = chart
    ledger, c.settings.ledger_url = c.settings.ledger_url, None
    try:
        unreachable = await c.put_settings()
        assert unreachable.status_code == 503 and "not saved" in unreachable.json()["error"]
    finally:
        c.settings.ledger_url = ledger


# --- The sync log and the ledger's answers ------------------------------------------------------


async def test_the_sync_log_has_a_line_per_record_and_the_ledgers_answer_to_each_event(
    c: Connector,
) -> None:
    run = await synced(c)
    sync_id = run["sync_id"]
    totals = run["totals"]
    lines = await c.log(sync_id=sync_id)
    assert len(lines) == totals["imported"] + totals["skipped"] + totals["flagged"]
    assert len({(line["object_type"], line["object_id"]) for line in lines}) == len(lines)

    summary = (await c.api.get(f"/firms/{c.firm_id}/sync-log/summary")).json()
    by_status = Counter(line["status"] for line in lines)
    assert {
        status: sum(counts.get(status, 0) for counts in summary["by_object_type"].values())
        for status in by_status
    } == dict(by_status)
    events = await c.clio_events()
    bills_total = sum(
        e.data.bill.total.amount_minor for e in events if isinstance(e.data, BillApproved)
    )
    [bills] = [m for m in summary["money"] if m["event_type"] == "clio.bill.approved"]
    assert bills["total"]["amount_minor"] == bills_total
    assert summary["flagged"]["reasons"] == {
        "disbursement_vat_review": 2,
        "held_with_disbursement_under_review": 1,
    }
    assert summary["ledger"]["pending"] == len(events) == run["ledger_pending"]

    flagged = await c.log(status="flagged")
    assert {line["object_id"] for line in flagged} == {*REVIEWED, WAITING_BILL}
    assert all(line["open_flag"] and line["event_id"] for line in flagged)  # held events
    skipped = await c.log(status="skipped", object_type="bills")
    assert skipped and {line["object_type"] for line in skipped} == {"Bill"}
    assert {line["reason"] for line in skipped} <= {
        "bill_not_approved",
        "bill_voided_before_import",
        "bill_deleted_before_approval",
        "trust_request",
        "dated_before_cut_off",
    }
    found = await c.log(q=str(WAITING_BILL))
    assert [line["object_id"] for line in found] == [WAITING_BILL]
    unknown = await c.api.get(f"/firms/{c.firm_id}/sync-log", params={"status": "lost"})
    assert unknown.status_code == 422
    by_record_name = await c.log(status="skipped", object_type="Bill")
    assert by_record_name == skipped
    # A record type the connector never reads is refused, not answered with an empty log.
    nope = await c.api.get(f"/firms/{c.firm_id}/sync-log", params={"object_type": "Nope"})
    assert nope.status_code == 422
    assert (
        "object_type 'Nope' is not a Clio record type the connector reads: "
        in (nope.json()["error"])
    )

    # When the ledger answers three of the events: posted, rejected, held and then posted
    posted, rejected, held = (e for e in events[:3])
    await c.answer_as_ledger(
        [
            ledger_answer(c, PostingApplied, posted, journal_ids=[uuid.uuid4()]),
            ledger_answer(
                c,
                PostingRejected,
                rejected,
                reason_code="currency_mismatch",
                reason="the bill is in GBP, the firm's books in EUR",
            ),
            ledger_answer(c, PostingHeld, held, reason_code="matter_unknown", reason="no matter"),
            ledger_answer(c, PostingApplied, held, journal_ids=[uuid.uuid4()]),
        ]
    )

    # Then their lines say so, and the sync has three fewer events waiting for the ledger
    async def answered() -> bool:
        return bool((await c.run(sync_id))["ledger_pending"] == len(events) - 3)

    await until(answered, within=60)
    statuses = {line["event_id"]: line["ledger"] for line in await c.log(sync_id=sync_id)}
    assert statuses[str(posted.id)]["status"] == "posted"
    assert statuses[str(held.id)]["status"] == "posted"  # held, then posted
    assert statuses[str(rejected.id)] == {
        "status": "rejected",
        "reason_code": "currency_mismatch",
        "reason": "the bill is in GBP, the firm's books in EUR",
        "at": statuses[str(rejected.id)]["at"],
    }
    [line] = await c.log(status="rejected")
    assert line["event_id"] == str(rejected.id)


def ledger_answer(
    c: Connector, kind: type[Any], event: Envelope[Any], **fields: Any
) -> Envelope[Any]:
    source = event.data.source
    payload = kind(
        source=PostingSource(
            system="clio",
            object_type=source.object_type,
            object_id=str(source.object_id),
            version=source.version,
            event_id=event.id,
        ),
        **fields,
    )
    return new_event(payload, firm_id=c.firm_id, source="cashroom/ledger")


# --- Resolving flagged lines ------------------------------------------------------------------


async def test_a_vat_decision_releases_the_disbursement_and_the_bill_that_waited_for_it(
    c: Connector,
) -> None:
    await synced(c)
    before = await c.clio_events()
    line = await open_flag(c, REVIEWED[0])
    url = f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve"

    refused = await c.api.post(
        url, json={"action": "choose_vat_treatment", "vat_treatment": "standard"}
    )
    assert refused.status_code == 422 and "needs a rate" in refused.json()["error"]
    decided = await c.api.post(
        url, json={"action": "choose_vat_treatment", "vat_treatment": "outside_scope"}
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["written_back_to_clio"] is False
    assert [(x["status"], x["object_id"], x["event_type"]) for x in body["lines"]] == [
        ("resolved", REVIEWED[0], "clio.purchase_invoice.recorded"),
        ("imported", WAITING_BILL, "clio.bill.approved"),
    ]
    assert body["lines"][0]["resolves_line_id"] == line["id"]
    again = await c.api.post(
        url, json={"action": "choose_vat_treatment", "vat_treatment": "outside_scope"}
    )
    assert again.status_code == 409

    # The other one, at standard VAT of 23%: 23% of its net, rounded half up
    other = await open_flag(c, REVIEWED[1])
    standard = await c.api.post(
        f"/firms/{c.firm_id}/sync-log/{other['id']}/resolve",
        json={
            "action": "choose_vat_treatment",
            "vat_treatment": "standard",
            "vat_rate_basis_points": 2300,
        },
    )
    assert standard.status_code == 200, standard.text

    after = await c.clio_events()
    new = after[len(before) :]
    assert keyed(new) == [
        ("clio.purchase_invoice.recorded", REVIEWED[0]),
        ("clio.bill.approved", WAITING_BILL),
        ("clio.purchase_invoice.recorded", REVIEWED[1]),
    ]
    first, _, second = (e.data for e in new)
    assert isinstance(first, PurchaseInvoiceRecorded) and isinstance(
        second, PurchaseInvoiceRecorded
    )
    assert first.vat_treatment is VatTreatment.OUTSIDE_SCOPE and first.vat.amount.amount_minor == 0
    net = second.net.amount_minor
    assert second.vat_treatment is VatTreatment.STANDARD
    assert second.vat.amount.amount_minor == (net * 23 + 50) // 100  # 23%, half up
    # Nothing is held any more: the ledger now has what it would without the review
    assert ledger_figures(after) == oracle_of(c, vat="as_clio")
    assert (await c.api.get(f"/firms/{c.firm_id}/sync-log/summary")).json()["flagged"] == {
        "open": 0,
        "reasons": {},
    }
    # And the next sync finds nothing new
    run = await c.sync("full")
    assert (run["totals"]["imported"], run["totals"]["updated"], run["totals"]["flagged"]) == (
        0,
        0,
        0,
    )
    assert len(await c.clio_events()) == len(after)


async def test_with_updating_allowed_the_decision_is_written_to_clio_over_the_version_read(
    c: Connector,
) -> None:
    await synced(c, allow_updating_disbursements_in_clio=True)
    drop_clio_webhooks(c)
    activity = REVIEWED[1]
    line = await open_flag(c, activity)
    url = f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve"
    decision = {"action": "choose_vat_treatment", "vat_treatment": "outside_scope"}
    before = await c.clio_events()

    # Someone edits the entry in Clio after the sync read it: nothing is written or published
    await c.control("PATCH", f"/activities/{activity}", note="Searches (re-keyed)")
    stale = await c.api.post(url, json=decision)
    assert stale.status_code == 409 and "changed in Clio" in stale.json()["error"]
    assert c.record("activities", activity)["tax_setting"] != "no_tax"
    assert len(await c.clio_events()) == len(before)

    # Synced again, the new version is flagged again and the decision goes through
    await c.sync("incremental")
    line = await open_flag(c, activity)
    read = c.record("activities", activity)["etag"]
    decided = await c.api.post(f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve", json=decision)
    assert decided.status_code == 200, decided.text
    assert decided.json()["written_back_to_clio"] is True
    written = c.record("activities", activity)
    assert written["tax_setting"] == "no_tax" and written["etag"] != read

    # Clio now says what the ledger has: the next sync reads the entry and publishes nothing
    after = await c.clio_events()
    assert keyed(after[len(before) :]) == [("clio.purchase_invoice.recorded", activity)]
    run = await c.sync("incremental")
    assert run["totals"]["unchanged"] >= 1 and run["totals"]["updated"] == 0
    assert len(await c.clio_events()) == len(after)


async def test_when_clio_refuses_the_write_back_the_cashier_is_told_and_nothing_is_published(
    c: Connector,
) -> None:
    """Clio cannot change an expense entry that is on a bill (it answers 422): the decision is
    refused with Clio's reason, the line stays open, and nothing reaches the ledger."""
    await synced(c, allow_updating_disbursements_in_clio=True)
    drop_clio_webhooks(c)
    billed = REVIEWED[0]  # the disbursement on WAITING_BILL
    assert c.record("activities", billed)["bill"] is not None
    line = await open_flag(c, billed)
    url = f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve"
    before = await c.clio_events()

    refused = await c.api.post(
        url, json={"action": "choose_vat_treatment", "vat_treatment": "outside_scope"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"].startswith("Clio refused the correction (422")
    assert "\n" not in refused.json()["error"]
    assert c.record("activities", billed)["tax_setting"] != "no_tax"
    assert len(await c.clio_events()) == len(before)
    assert (await open_flag(c, billed))["id"] == line["id"]

    malformed = await c.api.post(url, json={"action": "choose_vat_treatment"})
    assert malformed.status_code == 422
    assert malformed.json()["error"].startswith("not a resolution: ")
    assert "\n" not in malformed.json()["error"]


async def test_a_linked_outlay_is_marked_paid_from_an_office_account_once(c: Connector) -> None:
    await synced(c)
    outlays = [
        line
        for line in await c.log(status="imported")
        if line["event_type"] == "clio.purchase_invoice.recorded"
    ]
    line = outlays[0]
    url = f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve"
    today = datetime.now(UTC).date().isoformat()

    from_client = await c.api.post(
        url, json={"action": "mark_outlay_paid", "bank_account_id": CLIENT, "paid_on": today}
    )
    assert from_client.status_code == 422 and "client account" in from_client.json()["error"]
    paid = await c.api.post(
        url, json={"action": "mark_outlay_paid", "bank_account_id": OFFICE, "paid_on": today}
    )
    assert paid.status_code == 200, paid.text
    twice = await c.api.post(
        url, json={"action": "mark_outlay_paid", "bank_account_id": OFFICE, "paid_on": today}
    )
    assert twice.status_code == 409 and "already marked paid" in twice.json()["error"]

    events = await c.clio_events()
    [payment] = [e.data for e in events if isinstance(e.data, PurchaseInvoicePaid)]
    assert (payment.invoice_id, payment.bank_account_id) == (line["object_id"], OFFICE)
    assert payment.amount.amount_minor == line["amount"]["amount_minor"]  # net, no VAT on it


async def test_a_flag_is_retried_after_the_record_is_fixed_in_clio(c: Connector) -> None:
    await synced(c)
    drop_clio_webhooks(c)
    line = await open_flag(c, REVIEWED[1])
    url = f"/firms/{c.firm_id}/sync-log/{line['id']}/resolve"

    unchanged = await c.api.post(url, json={"action": "retry"})
    assert [x["status"] for x in unchanged.json()["lines"]] == ["unchanged"]
    assert (await open_flag(c, REVIEWED[1]))["id"] == line["id"]  # still the open flag

    # The cashier marks the search fee untaxed in Clio, then retries
    await c.control("PATCH", f"/activities/{REVIEWED[1]}", tax_setting="no_tax")
    fixed = await c.api.post(url, json={"action": "retry"})
    assert fixed.status_code == 200, fixed.text
    [retried] = fixed.json()["lines"]
    assert (retried["status"], retried["event_type"]) == (
        "imported",
        "clio.purchase_invoice.recorded",
    )
    assert all(x["object_id"] != REVIEWED[1] for x in await c.log(open_flags="true"))
    events = await c.clio_events()
    [invoice] = [
        e.data
        for e in events
        if isinstance(e.data, PurchaseInvoiceRecorded) and e.data.invoice_id == REVIEWED[1]
    ]
    assert invoice.vat_treatment is VatTreatment.OUTSIDE_SCOPE
