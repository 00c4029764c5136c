"""Syncing through trouble: a sync stopped mid-way (cancelled, or its process gone) resumes from
its last committed page and publishes nothing twice; 429 storms, 5xx answers, truncated pages
and expiring tokens are survived (the token refreshed through OAuth and stored); an outage fails the sync with a clear error and the next
request resumes it; records deleted in Clio are found (by a webhook, or by their absence from a
full sync); a webhook with a bad signature syncs nothing. One sync per firm at a time.

Each test's firm is the tiny generated firm, read 100 records a page (about 20 pages).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
    sandbox_settings,
    until,
)
from sqlalchemy import func, select, update

from clio_connector.db.tables import sync_log, sync_runs
from clio_connector.domain.sync_rules import webhook_signature
from clio_connector.runs import Runs, SyncAlreadyRunning, SyncKind, SyncTrigger
from clio_sandbox.oracle import SyncSettings as OracleSettings
from clio_sandbox.oracle import compute_oracle
from clio_sandbox.testing import tiny_firm


async def linked(connector_service: Service, **sandbox: Any) -> AsyncIterator[Connector]:
    async with firm_of(connector_service, tiny_firm(), sandbox=sandbox_settings(**sandbox)) as c:
        await c.link()
        saved = await c.put_settings(import_transactions_from=CUT_OFF.isoformat())
        assert saved.status_code == 200, saved.text
        yield c


@pytest.fixture
async def c(connector_service: Service) -> AsyncIterator[Connector]:
    async for connector in linked(connector_service):
        yield connector


CLIENT_ACCOUNT = 7002  # the tiny firm's first trust account


def oracle_of(c: Connector) -> dict[str, int]:
    oracle = compute_oracle(c.firm.clone(), OracleSettings(cutoff_date=CUT_OFF))
    return oracle_figures(oracle, list(ledger_figures([])))


async def lines_per_record(c: Connector, sync_id: str) -> Counter[tuple[str, int]]:
    async with c.runtime.db.transaction() as session:
        rows = await session.execute(
            select(sync_log.c.object_type, sync_log.c.object_id).where(
                sync_log.c.firm_id == c.firm_id, sync_log.c.sync_id == sync_id
            )
        )
        return Counter((row.object_type, row.object_id) for row in rows)


async def assert_exactly_once(c: Connector) -> list[Any]:
    """Every event once, each the only event for its record, adding up to the oracle."""
    events = await c.clio_events()
    assert len({e.id for e in events}) == len(events)
    assert len(set(keyed(events))) == len(events)
    assert len(events) == await c.published_lines()
    assert ledger_figures(events) == oracle_of(c)
    return events


async def test_a_sync_stopped_mid_way_resumes_from_its_last_page_and_publishes_nothing_twice(
    c: Connector,
) -> None:
    # Given a full sync that has committed a few pages
    started = await c.start("full")
    sync_id = started["sync_id"]

    async def some_pages() -> bool:
        run = await c.run(sync_id)
        return bool(run["totals"]["pages"] >= 4)

    await until(some_pages, within=30)

    # When it is cancelled (a page in flight is rolled back)
    runner = c.app.state.connector.runner
    assert await runner.cancel(c.firm_id)
    stopped = await c.run(sync_id)
    assert stopped["status"] == "interrupted"
    committed = await c.published_lines()
    assert committed > 0

    # ... and, to look like a process that died without a word, left "running" and silent
    async with c.runtime.db.transaction() as session:
        await session.execute(
            update(sync_runs)
            .where(sync_runs.c.id == sync_id)
            .values(status="running", heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
        )

    # Then asking for the same sync finds it dead and resumes it, not a new one
    resumed = await c.start("full")
    assert (resumed["sync_id"], resumed["resumed"]) == (sync_id, True)
    run = await c.finished(sync_id)
    assert (run["status"], run["resumes"]) == ("completed", 1)
    await assert_exactly_once(c)
    per_record = await lines_per_record(c, sync_id)
    assert set(per_record.values()) == {1}  # every record read once in the whole run


async def test_storms_of_429_5xx_broken_pages_and_expired_tokens_are_survived(
    connector_service: Service,
) -> None:
    async for c in linked(connector_service, rate_limit="peak", peak_limit=25):
        # Clio misbehaves from now on: 5xx and cut-off bodies at random, a storm of 429s,
        # every token expiring after a dozen more requests, and 25 requests a minute at most.
        await c.control(
            "PUT",
            "/faults",
            error_rate=0.15,
            truncate_rate=0.1,
            rate_limit_storm=5,
            expire_tokens_after=12,
            seed=11,
        )
        run = await c.sync("full")

        assert run["status"] == "completed", run["error"]
        clio = run["clio"]
        assert clio["retries"] > 0 and clio["backoff_seconds"] > 0
        assert clio["rate_limit_waits"] >= 5  # the storm, then the budget of 25 a minute
        assert clio["token_refreshes"] >= 1
        assert c.clio.statuses[429] >= 5 and c.clio.statuses[401] >= 1
        shown = (await c.api.get(f"/firms/{c.firm_id}/clio/connection")).json()
        assert (shown["status"], shown["token_refreshes"]) == ("linked", clio["token_refreshes"])
        assert sum(n for status, n in c.clio.statuses.items() if status >= 500) > 0
        await assert_exactly_once(c)


async def test_an_outage_fails_the_sync_clearly_and_the_next_request_resumes_it(
    c: Connector,
) -> None:
    # Given Clio answers a few pages, then only 503
    c.clio.fail_after = c.clio.api_requests + 8
    started = await c.start("full")

    # When the client has retried and backed off as far as it goes
    failed = await c.finished(started["sync_id"])

    # Then the sync failed with a reason a cashier can act on, its pages kept
    assert failed["status"] == "failed"
    assert "Clio kept failing" in failed["error"] and "503" in failed["error"]
    assert "resumes from the last page committed" in failed["error"]
    assert failed["clio"]["retries"] >= 5
    kept = failed["totals"]["pages"]
    assert kept >= 4

    # And once Clio is back, the same sync carries on and ends with everything once
    c.clio.fail_after = None
    resumed = await c.start("full")
    assert (resumed["sync_id"], resumed["resumed"]) == (started["sync_id"], True)
    run = await c.finished(started["sync_id"])
    assert run["status"] == "completed"
    assert run["totals"]["pages"] > kept
    await assert_exactly_once(c)


async def test_one_sync_per_firm_at_a_time_while_everything_else_keeps_answering(
    c: Connector,
) -> None:
    started = await c.start("full")
    second = await c.api.post(f"/firms/{c.firm_id}/syncs", json={"kind": "incremental"})
    assert second.status_code == 409
    assert second.json()["sync_id"] == started["sync_id"]
    # Another process asking the database directly is refused too.
    with pytest.raises(SyncAlreadyRunning):
        await Runs(c.runtime.db).start(
            c.firm_id,
            kind=SyncKind.INCREMENTAL,
            trigger=SyncTrigger.POLL,
            resources=["bills"],
            requested_by=None,
            now=datetime.now(UTC),
        )
    during = await asyncio.gather(
        c.api.get(f"/firms/{c.firm_id}/settings"),
        c.api.get(f"/firms/{c.firm_id}/sync-log", params={"limit": 5}),
        c.api.get(f"/firms/{c.firm_id}/syncs/{started['sync_id']}"),
    )
    assert [answer.status_code for answer in during] == [200, 200, 200]
    assert during[2].json()["status"] == "running"
    assert (await c.finished(started["sync_id"]))["status"] == "completed"


async def test_records_deleted_in_clio_are_announced_once_by_webhook_or_by_absence(
    c: Connector,
) -> None:
    first = await c.sync("full")
    events = await c.clio_events()
    recorded = sorted(
        e.data.activity_id  # type: ignore[attr-defined]
        for e in events
        if e.type == "clio.work.recorded" and not e.data.billed  # type: ignore[attr-defined]
    )
    by_webhook, by_absence = recorded[0], recorded[1]

    # A deletion Clio tells us about: the activity webhook, confirmed by asking Clio
    await c.control("DELETE", f"/activities/{by_webhook}")
    await c.webhooks_settled()

    async def announced() -> bool:
        return ("clio.record.deleted", by_webhook) in keyed(await c.clio_events())

    await until(announced, within=30)

    # A deletion nobody announces (the activity webhook is gone): a full sync finds it absent
    hooks = [h for h in c.firm.store.iter("webhooks") if h["model"] == "activity"]
    for hook in hooks:
        c.firm.store.delete("webhooks", hook["id"])
    await c.control("DELETE", f"/activities/{by_absence}")
    incremental = await c.sync("incremental")
    assert incremental["totals"]["deleted"] == 0  # an incremental read cannot see absence
    full = await c.sync("full")
    assert full["totals"]["deleted"] == 1

    after = await c.clio_events()
    assert keyed(after[len(events) :]) == [
        ("clio.record.deleted", by_webhook),
        ("clio.record.deleted", by_absence),
    ]
    assert first["totals"]["deleted"] == 0


async def test_a_webhook_with_a_bad_signature_is_refused_logged_and_syncs_nothing(
    c: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    await c.sync("full")
    runs_before = len((await c.api.get(f"/firms/{c.firm_id}/syncs")).json())
    body = b'{"data":{"id":1,"etag":"x"},"meta":{"event":"updated","webhook_id":1}}'
    url = f"/webhooks/clio/{c.firm_id}"

    with caplog.at_level(logging.WARNING, logger="clio_connector.webhooks"):
        forged = await c.api.post(url, content=body, headers={"X-Hook-Signature": "0" * 64})
        unsigned = await c.api.post(url, content=body)
    await asyncio.sleep(c.settings.clio_webhook_debounce_seconds * 3)

    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert sum("webhook delivery refused" in r.message for r in caplog.records) == 2
    assert len((await c.api.get(f"/firms/{c.firm_id}/syncs")).json()) == runs_before
    deliveries = (await c.api.get(f"/firms/{c.firm_id}/clio/webhook-deliveries")).json()
    assert [d["verdict"] for d in deliveries[:2]] == ["bad_signature", "bad_signature"]

    # The same body signed with the bill subscription's secret is taken, and syncs bills
    [hook] = [h for h in c.firm.store.iter("webhooks") if h["model"] == "bill"]
    signed = await c.api.post(
        url,
        content=body,
        headers={"X-Hook-Signature": webhook_signature(hook["shared_secret"], body)},
    )
    assert signed.status_code == 200

    async def webhook_sync() -> bool:
        runs = (await c.api.get(f"/firms/{c.firm_id}/syncs")).json()
        return len(runs) == runs_before + 1 and runs[0]["status"] == "completed"

    await until(webhook_sync, within=20)
    newest = (await c.api.get(f"/firms/{c.firm_id}/syncs")).json()[0]
    assert (newest["trigger"], newest["resources"]) == ("webhook", ["bills"])
    async with c.runtime.db.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(sync_log)
                .where(sync_log.c.sync_id == newest["sync_id"])
            )
            == newest["totals"]["unchanged"]
        )


async def test_malformed_records_become_flagged_lines_and_the_rest_syncs(c: Connector) -> None:
    """Clio's data breaks its own rules for three records: each is flagged with its reason,
    nothing crashes, nothing is dropped silently, and everything else is published."""
    activities = [a["id"] for a in c.firm.records("activities") if a["date"] >= "2024-01-01"]
    bills = [
        b["id"]
        for b in c.firm.records("bills")
        if b["state"] == "paid" and b["issued_at"] >= "2024-01-01"
    ]
    receipts = [
        t["id"]
        for t in c.firm.records("bank_transactions")
        if t["bank_account_id"] == CLIENT_ACCOUNT and t["date"] >= "2024-01-01" and t["funds_in"]
    ]
    broken: dict[tuple[str, int], dict[str, Any]] = {
        ("activities", activities[0]): {"type": "MileageEntry"},
        ("bills", bills[0]): {"total": None},
        ("bank_transactions", receipts[0]): {"matter": None},
    }

    def mangle(path: str, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, **broken.get((path, record["id"]), {})}

    c.clio.mangle = mangle
    run = await c.sync("full")

    assert run["status"] == "completed", run["error"]
    flagged = {
        (line["object_type"], line["object_id"]): line["reason"]
        for line in await c.log(status="flagged")
    }
    assert flagged[("Activity", activities[0])] == "unknown_value"
    assert flagged[("Bill", bills[0])] == "null_money"
    assert flagged[("BankTransaction", receipts[0])] == "missing_matter"
    events = await c.clio_events()
    assert len(events) == await c.published_lines()
    published = {(e.data.source.object_type, e.data.source.object_id) for e in events}  # type: ignore[attr-defined]
    assert published.isdisjoint({("Activity", activities[0]), ("Bill", bills[0])})
    assert ("BankTransaction", receipts[0]) not in published
    # Every record read has its line: imported, skipped or flagged
    assert run["totals"]["imported"] + run["totals"]["skipped"] + run["totals"]["flagged"] == (
        len(await c.log(sync_id=run["sync_id"]))
    )
