"""A generated firm linked, synced in full, synced again, then changed in Clio: the events on
``clio.events.v1`` are exactly what the sandbox's oracle implies, each once, and afterwards
exactly the changes (bills by webhook, client money by polling). The small firm (≈18,500 Clio
records) gives the request and throughput figures; the tiny one the changes.

The oracle computes its figures from Clio's data alone; the test folds the published events as a
ledger would (a change replaces, a void removes) and compares the two.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
from connector_service_harness import (
    CUT_OFF,
    Connector,
    Service,
    firm_of,
    keyed,
    ledger_figures,
    oracle_figures,
    service,
    until,
)

from cashroom_chassis.testing import Infrastructure
from cashroom_contracts.events.clio import (
    BillApproved,
    BillChanged,
    DisbursementPaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
    SyncCompleted,
    WorkRecorded,
)
from cashroom_contracts.money import Money
from clio_connector.domain.fields import LINE_ITEMS, SYNC_ORDER
from clio_sandbox import Firm, generate_firm
from clio_sandbox.oracle import SyncSettings as OracleSettings
from clio_sandbox.oracle import compute_oracle
from clio_sandbox.testing import tiny_firm


@cache
def _small() -> Firm:
    return generate_firm(1, "small", "ie")


def small_firm() -> Firm:
    return _small().clone()


def oracle_of(c: Connector) -> Any:
    return compute_oracle(c.firm.clone(), OracleSettings(cutoff_date=CUT_OFF))


@pytest.fixture(scope="module")
async def polling_service(infrastructure: Infrastructure) -> AsyncIterator[Service]:
    """Reads 200 records a page, and polls every second what has no webhooks."""
    async with service(infrastructure, clio_poll_seconds=1.0) as running:
        yield running


async def linked_and_synced(c: Connector) -> tuple[dict[str, Any], list[Any]]:
    """Given Clio linked through its OAuth redirect, webhooks subscribed and the cut-off saved,
    when a full sync runs, then every event the oracle implies is on the topic, once."""
    linked = await c.link()
    assert linked["clio_firm_name"] == c.firm.meta.firm_name
    assert sorted(w["model"] for w in linked["webhooks"] if w["status"] == "enabled") == [
        "activity",
        "bill",
        "contact",
        "matter",
    ]
    saved = await c.put_settings(import_transactions_from=CUT_OFF.isoformat())
    assert saved.status_code == 200, saved.text

    run = await c.sync("full")

    assert run["status"] == "completed", run["error"]
    events = await c.clio_events()
    ours = ledger_figures(events)
    assert ours == oracle_figures(oracle_of(c), list(ours))
    assert ours["bills_posted"] > 0
    assert len({e.id for e in events}) == len(events)
    assert len(set(keyed(events))) == len(events)  # one event per record and kind
    assert len(events) == await c.published_lines()
    assert run["ledger_pending"] == len(events)  # no ledger answers in these tests
    return run, events


async def test_a_small_firm_is_synced_once_at_about_five_requests_per_thousand_records(
    polling_service: Service,
) -> None:
    async with firm_of(polling_service, small_firm()) as c:
        run, events = await linked_and_synced(c)
        assert ledger_figures(events)["bills_posted"] > 100

        records, requests = run["clio"]["records"], run["clio"]["requests"]
        per_thousand = requests * 1000 / records
        print(
            f"\nfull sync of the small firm: {records} Clio records, {requests} requests "
            f"({per_thousand:.2f} per 1,000 records at 200 a page), {run['seconds']:.1f} s, "
            f"{records / run['seconds']:.0f} records/s, {len(events)} events"
        )
        per_resource = {
            r: len(list(c.firm.records(r)))
            for r in (
                "practice_areas",
                "contacts",
                "matters",
                "bank_accounts",
                "activities",
                "line_items",
                "bills",
                "allocations",
                "bank_transactions",
                "credit_memos",
            )
        }
        assert records == sum(per_resource.values())
        # Fewest requests: one per started page of 200, per resource (ten resources); no bill
        # has its lines fetched on its own (the bulk read of line items said what each has).
        assert requests == sum(-(-n // 200) for n in per_resource.values())
        requested = c.sandbox_app.state.sandbox.request_log.by_kind
        assert requested["GET line_items ?bill_id"] == 0

        # And a second sync publishes nothing
        again = await c.sync("incremental")
        assert again["status"] == "completed", again["error"]
        totals = again["totals"]
        assert (totals["imported"], totals["updated"], totals["flagged"]) == (0, 0, 0)
        assert len(await c.clio_events()) == len(events)
        # one request per resource: the first page of records updated since the mark
        assert again["clio"]["requests"] == 9


async def test_after_a_full_sync_only_the_changes_made_in_clio_flow(
    polling_service: Service,
) -> None:
    async with firm_of(polling_service, tiny_firm()) as c:
        run, events = await linked_and_synced(c)

        # A second full sync recognises every record and publishes nothing
        again = await c.sync("full")
        assert again["status"] == "completed", again["error"]
        totals = again["totals"]
        assert (totals["imported"], totals["updated"], totals["flagged"]) == (0, 0, 0)
        assert (totals["skipped"], totals["deleted"]) == (0, 0)
        assert totals["unchanged"] == run["totals"]["imported"] + run["totals"]["skipped"] + 3
        assert len(await c.clio_events()) == len(events)

        # When the firm's users re-date a paid bill, void an unpaid one, pay money out of a client account
        # and receive money into one (in Clio, through the sandbox's control API)
        edited, voided = _bills_to_change(c, events)
        released = _activities_on(c, voided) & {
            e.data.activity_id for e in events if isinstance(e.data, WorkRecorded)
        }
        matter_id, account_id = _matter_with_client_money(c, at_least=10_000)
        issued = date.fromisoformat(c.record("bills", edited)["issued_at"])
        await c.control("PATCH", f"/bills/{edited}", issued_at=str(issued + timedelta(days=1)))
        await c.control("POST", f"/bills/{voided}/void")
        paid = (
            await c.control(
                "POST",
                "/trust/payments",
                matter_id=matter_id,
                amount="100.00",
                bank_account_id=account_id,
            )
        )["data"]
        received = (
            await c.control("POST", "/trust/receipts", matter_id=matter_id, amount="250.00")
        )["data"]
        await c.webhooks_settled()

        # Then exactly those changes are published: the bills through their webhooks, the
        # client money by polling (bank transactions have no webhooks)
        expected = {
            ("clio.bill.changed", edited),
            ("clio.bill.voided", voided),
            ("clio.client_money.paid", paid["id"]),
            ("clio.client_money.received", received["id"]),
            *(("clio.work.recorded", activity) for activity in released),
        }
        assert released  # the voided bill's time entries go back to unbilled
        after: list[Any] = []

        async def arrived() -> bool:
            after[:] = await c.clio_events()
            return expected <= set(keyed(after[len(events) :]))

        await until(arrived, within=60)
        await asyncio.sleep(2.5)  # two more poll rounds: anything else would show by now
        after = await c.clio_events()
        assert sorted(keyed(after[len(events) :])) == sorted(expected)
        assert ledger_figures(after) == oracle_figures(oracle_of(c), list(ledger_figures([])))

        triggers = {
            line["object_type"]: await _trigger_of(c, line["sync_id"])
            for line in await c.log(status="updated")
            if line["object_id"] == edited
        } | {
            line["object_type"]: await _trigger_of(c, line["sync_id"])
            for line in await c.log(status="imported")
            if line["object_id"] in (paid["id"], received["id"])
        }
        assert triggers == {"Bill": "webhook", "BankTransaction": "poll"}


def _bills_to_change(c: Connector, events: list[Any]) -> tuple[int, int]:
    """A paid bill to edit and an approved, unpaid one to void, both published."""
    published = [e.data.bill.bill_id for e in events if isinstance(e.data, BillApproved)]
    paid = [b for b in published if c.record("bills", b)["state"] == "paid"]
    voidable = [
        b
        for b in published
        if c.record("bills", b)["state"] == "awaiting_payment"
        and not c.record("bills", b)["paid"]
        and not list(c.firm.store.find("allocations", "$.bill.id", b))
    ]
    assert paid and voidable
    return paid[0], voidable[0]


def _activities_on(c: Connector, bill_id: int) -> set[int]:
    return {
        line["activity"]["id"]
        for line in c.firm.store.find("line_items", "$.bill.id", bill_id)
        if line.get("activity")
    }


def _matter_with_client_money(c: Connector, *, at_least: int) -> tuple[int, int]:
    for matter in oracle_of(c).matters:
        for balance in matter.client_balances:
            if balance.amount >= at_least:
                return matter.matter_id, balance.bank_account_id
    raise AssertionError("no matter holds client money")


async def _trigger_of(c: Connector, sync_id: str | None) -> str:
    assert sync_id is not None
    trigger: str = (await c.run(sync_id))["trigger"]
    return trigger


async def test_each_completed_sync_says_what_clio_holds_and_what_was_published_of_it(
    polling_service: Service,
) -> None:
    """Given a full sync of the tiny firm, its ``clio.sync.completed`` counts every record Clio
    has per object type, and what was published of them is exactly what the record events on
    the topic add up to (each record's latest event; a void is worth nothing). After a bill is
    voided in Clio and synced, the next one says so."""
    async with firm_of(polling_service, tiny_firm()) as c:
        run, events = await linked_and_synced(c)

        completions = await c.sync_completions()
        assert [e.data.sync_id for e in completions] == [uuid.UUID(run["sync_id"])]
        completed = completions[0]
        assert completed.data.kind == "full"
        assert _in_clio(completed.data) == _records_in_sandbox(c)
        skipped = {
            (line["object_type"], line["object_id"]) for line in await c.log(status="skipped")
        }
        assert sum(h.skipped for h in completed.data.holdings) == len(skipped) > 0
        assert _published(completed.data) == _standing(events)
        # The completion follows every event of the sync on the firm's partition
        assert (await c.topic_events())[-1].id == completed.id

        _, voided = _bills_to_change(c, events)
        await c.control("POST", f"/bills/{voided}/void")
        again = await c.sync("incremental")
        assert again["status"] == "completed", again["error"]
        await c.webhooks_settled()
        after = await c.clio_events()
        assert ("clio.bill.voided", voided) in keyed(after[len(events) :])
        latest = (await c.sync_completions())[-1].data
        assert latest.kind in ("incremental", "full")
        assert _in_clio(latest) == _records_in_sandbox(c)
        assert _published(latest) == _standing(after)
        bills = {h.currency: h for h in latest.holdings if h.object_type == "Bill" and h.currency}
        before = {h.currency: h for h in completed.data.holdings if h.object_type == "Bill"}
        voided_total = next(
            e.data.bill.total
            for e in events
            if isinstance(e.data, BillApproved) and e.data.bill.bill_id == voided
        )
        currency = voided_total.currency
        assert bills[currency].published == before[currency].published
        assert (
            bills[currency].published_amount
            == before[currency].published_amount - voided_total.amount_minor
        )


def _records_in_sandbox(c: Connector) -> dict[str, int]:
    """Records per Clio object type, counted in the sandbox's own store."""
    counts = {
        resource.object_type: len(list(c.firm.records(resource.path)))
        for resource in (*SYNC_ORDER, LINE_ITEMS)  # line items: read with their bills
    }
    return {name: n for name, n in counts.items() if n}


def _in_clio(completed: SyncCompleted) -> dict[str, int]:
    counts: dict[str, int] = {}
    for h in completed.holdings:
        counts[h.object_type] = counts.get(h.object_type, 0) + h.in_clio
    return {name: n for name, n in counts.items() if n}


def _published(completed: SyncCompleted) -> dict[tuple[str, str | None], tuple[int, int, int]]:
    return {
        (h.object_type, h.currency): (h.published, h.published_deleted, h.published_amount)
        for h in completed.holdings
        if h.published or h.published_deleted
    }


def _standing(events: list[Any]) -> dict[tuple[str, str | None], tuple[int, int, int]]:
    """Folded from the topic: each record's latest event stands; a record is worth the money
    its latest event names, and nothing after a void, reversal or deletion (in its currency)."""
    latest: dict[tuple[str, int], Any] = {}
    worth: dict[tuple[str, int], Money] = {}
    for envelope in events:
        payload = envelope.data
        key = (payload.source.object_type, payload.source.object_id)
        latest[key] = payload
        money = _money_named(payload)
        if money is not None:
            worth[key] = money
        elif key in worth and envelope.type in _UNDOING:
            worth[key] = Money(amount_minor=0, currency=worth[key].currency)
    out: dict[tuple[str, str | None], tuple[int, int, int]] = {}
    for key, payload in latest.items():
        money = worth.get(key)
        group = (key[0], money.currency if money else None)
        published, deleted, amount = out.get(group, (0, 0, 0))
        if isinstance(payload, RecordDeletedInClio):
            out[group] = (published, deleted + 1, amount)
        else:
            out[group] = (published + 1, deleted, amount + (money.amount_minor if money else 0))
    return out


_UNDOING = {"clio.bill.voided", "clio.bill_payment.reversed", "clio.record.deleted"}


def _money_named(payload: Any) -> Money | None:
    if isinstance(payload, BillApproved | BillChanged):
        return payload.bill.total
    if isinstance(payload, DisbursementPaid | PurchaseInvoiceRecorded):
        return payload.net + payload.vat.amount
    if isinstance(payload, WorkRecorded):
        return payload.value
    amount = getattr(payload, "amount", None)
    return amount if isinstance(amount, Money) else None
