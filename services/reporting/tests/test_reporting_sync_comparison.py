"""The sync summary compares what the reports received with what Clio holds. Each
``clio.sync.completed`` says, per Clio object type and currency, how many records Clio has and
what the connector published of them; the reporting service sets beside it what it had received
when that event arrived (the same offset), so an event lost on the way shows as a difference,
and one that arrives later does not move the comparison until the next sync completes.

Here Clio holds two approved bills (one since voided), three drafts (skipped), two activities
(one deleted in Clio since) and a client. The connector published all of them, but activity 906
(£125.00) never reached the reports.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from reporting_fixtures import api_app, apply_all, client_for
from reporting_scenario import M_ONEILL, bill_content, envelope, gbp, src
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events import clio
from cashroom_reporting.handlers import apply_event, handle_batch
from cashroom_reporting.settings import Settings

FINISHED = datetime(2025, 3, 31, 18, 0, tzinfo=UTC)


def work(activity_id: int, pence: int) -> clio.WorkRecorded:
    return clio.WorkRecorded(
        source=src("Activity", activity_id),
        activity_id=activity_id,
        matter_id=M_ONEILL,
        kind=clio.WorkKind.TIME,
        recorded_on=date(2025, 3, 3),
        description="Attendance",
        value=gbp(pence),
        billed=False,
    )


def holding(object_type: str, currency: str | None, **counts: int) -> clio.ClioHolding:
    counts_of = clio.ClioHolding.model_fields.items()
    figures = {name: 0 for name, field in counts_of if field.annotation in (int, "int")}
    return clio.ClioHolding(object_type=object_type, currency=currency, **(figures | counts))


def completed(sync: int) -> clio.SyncCompleted:
    return clio.SyncCompleted(
        sync_id=uuid.UUID(int=sync),
        kind="full",
        started_at=FINISHED.replace(hour=17),
        finished_at=FINISHED,
        holdings=[
            holding("Activity", "GBP", in_clio=2, deleted_in_clio=1, published=2,
                    published_deleted=1, published_amount=7_500 + 12_500),
            holding("Bill", None, in_clio=3, skipped=3),
            holding("Bill", "GBP", in_clio=2, published=2, published_amount=150_000),
            holding("Contact", None, in_clio=1, published=1),
        ],
    )  # fmt: skip


SECOND_BILL = bill_content().model_copy(update={"bill_id": 9002, "bill_number": "INV-2"})
RECEIVED: list[EventPayload] = [
    clio.ClientUpserted(
        source=src("Contact", 305), client_id=305, name="Dara Ryan", kind=clio.ClientKind.PERSON
    ),
    clio.BillApproved(source=src("Bill", 9001), bill=bill_content()),  # £1,500.00
    clio.BillApproved(source=src("Bill", 9002), bill=SECOND_BILL),
    clio.BillVoided(
        source=src("Bill", 9002, "v2"), bill_id=9002, matter_id=M_ONEILL, voided_on=date(2025, 2, 1)
    ),
    work(902, 40_000),
    clio.RecordDeletedInClio(source=src("Activity", 902)),
    work(904, 7_500),
    # work(906, 12_500) was published but lost
    completed(1),
]
LATE: list[EventPayload] = [work(906, 12_500)]


@pytest.fixture
async def reports(db: Database, settings: Settings) -> AsyncIterator[Any]:
    firm = f"firm-compared-{uuid.uuid4().hex[:8]}"

    async def apply(payloads: list[EventPayload], first: int = 0) -> None:
        await apply_all(db, [envelope(firm, p, first + n) for n, p in enumerate(payloads)])

    async def summary() -> dict[str, Any]:
        answer = await http.get(f"/firms/{firm}/reports/sync-summary")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async with client_for(api_app(db, settings), firm) as http:
        yield firm, apply, summary


def compared(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    [section] = [s for s in report["sections"] if s["key"] == "compared_with_clio"]
    return {(r["object_type"], r["currency"]): r for r in section["rows"]}


async def test_a_lost_event_shows_as_a_difference_until_it_arrives_and_a_sync_completes(
    reports: Any,
) -> None:
    _, apply, summary = reports
    await apply(RECEIVED[:-1])
    before = await summary()
    assert compared(before) == {}
    assert "No sync has completed yet" in before["sections"][1]["note"]
    assert before["checks"] == []

    await apply(RECEIVED[-1:], first=len(RECEIVED) - 1)
    report = await summary()
    rows = compared(report)
    assert set(rows) == {("Activity", "GBP"), ("Bill", ""), ("Bill", "GBP"), ("Contact", "")}
    activity = rows[("Activity", "GBP")]
    # Imported: 904, 906 and 902's deletion; received: 904 and the deletion
    assert (activity["in_clio"], activity["deleted_in_clio"]) == (2, 1)
    assert (activity["published"], activity["received"], activity["record_difference"]) == (
        3,
        2,
        -1,
    )
    assert (activity["published_amount"], activity["received_amount"]) == (20_000, 7_500)
    assert (activity["amount_difference"], activity["differs"]) == (-12_500, True)
    bills = rows[("Bill", "GBP")]  # the voided bill counts, worth nothing
    assert (bills["published"], bills["received"], bills["received_amount"]) == (2, 2, 150_000)
    assert (bills["record_difference"], bills["amount_difference"], bills["differs"]) == (
        0,
        0,
        False,
    )
    drafts = rows[("Bill", "")]
    assert (drafts["in_clio"], drafts["skipped"], drafts["received"], drafts["differs"]) == (
        3, 3, 0, False,
    )  # fmt: skip
    assert (rows[("Contact", "")]["received"], rows[("Contact", "")]["differs"]) == (1, False)
    assert report["figures"]["differences"] == 1
    assert report["figures"]["records_in_clio"] == 2 + 3 + 2 + 1
    assert report["figures"]["compared_at"] == FINISHED.isoformat()
    [check] = report["checks"]
    assert (check["left"]["amount"], check["right"]["amount"]) == (157_500, 170_000)
    assert (check["difference"], check["ok"]) == (-12_500, False)

    # The lost event arrives: the comparison stands as it was at the sync's end ...
    await apply(LATE, first=len(RECEIVED))
    assert compared(await summary()) == rows
    # ... until the next sync completes
    await apply([completed(2)], first=len(RECEIVED) + len(LATE))
    after = await summary()
    assert not any(r["differs"] for r in compared(after).values())
    assert after["figures"]["differences"] == 0
    assert after["checks"][0]["ok"] is True


async def comparison_rows(db: Database, firm: str) -> list[tuple[Any, ...]]:
    async with db.transaction() as session:
        result = await session.execute(
            text("SELECT * FROM sync_comparison WHERE firm_id = :f ORDER BY object_type, currency"),
            {"f": firm},
        )
        return [tuple(v for k, v in r._mapping.items() if k != "firm_id") for r in result]


async def test_one_batch_and_the_rebuilds_replay_compare_as_one_event_at_a_time_does(
    db: Database,
) -> None:
    """The events before ``clio.sync.completed`` in the same consumer batch are counted as
    received (the batch's records are written first), as the rebuild's replay counts them."""
    one_by_one, batched, replayed = (f"firm-compare-{n}-{uuid.uuid4().hex[:6]}" for n in "abc")

    def events(firm: str) -> list[Envelope[EventPayload]]:
        return [envelope(firm, p, n) for n, p in enumerate(RECEIVED)]

    await apply_all(db, events(one_by_one))
    async with db.unit_of_work() as uow:
        await handle_batch(uow, events(batched))
        await uow.commit()
    async with db.transaction() as session:
        for event in events(replayed):
            await apply_event(session, event, aggregates=False)

    expected = await comparison_rows(db, one_by_one)
    assert len(expected) == 4
    assert await comparison_rows(db, batched) == expected
    assert await comparison_rows(db, replayed) == expected


async def test_the_sync_summary_pdf_shows_the_comparison(reports: Any, settings: Settings) -> None:
    firm, apply, _ = reports
    await apply(RECEIVED)
    database = Database(settings)
    try:
        async with client_for(api_app(database, settings), firm) as http:
            answer = await http.get(f"/firms/{firm}/reports/sync-summary", params={"format": "pdf"})
    finally:
        await database.dispose()
    assert answer.status_code == 200
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Compared with what Clio holds" in pdf
    assert "Money received = money imported from Clio" in pdf
    assert "DIFFERENCE -125.00" in pdf
