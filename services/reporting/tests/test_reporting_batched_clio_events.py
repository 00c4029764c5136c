"""The Clio events and the ledger's answers of a unit of work move the Clio records' sync state,
the sync totals and the audit trail together when it commits. A batch in which one record
changes several times (two new versions of a bill, a version repeated, a deletion after an
upsert, an answer from the ledger before Clio's copy arrived) must leave exactly the rows that
applying its events one at a time leaves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from reporting_fixtures import apply_all
from reporting_scenario import M_ONEILL, at, bill_content, envelope, gbp, src
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events import clio, ledger
from cashroom_reporting.handlers import handle_batch

FIRM = "firm-batched-clio"


def bill(version: str, total_pence: int) -> clio.BillChanged:
    content = bill_content().model_copy(update={"total": gbp(total_pence)})
    return clio.BillChanged(source=src("Bill", 9001, version), bill=content, previous_version="x")


def answer(object_type: str, object_id: str, held: bool = False) -> EventPayload:
    source = ledger.PostingSource(system="clio", object_type=object_type, object_id=object_id)
    if held:
        return ledger.PostingHeld(
            source=source, reason_code="matter_unknown", reason="no such matter yet"
        )
    return ledger.PostingApplied(source=source, journal_ids=[])


def work(activity_id: int, pence: int) -> clio.WorkRecorded:
    return clio.WorkRecorded(
        source=src("Activity", activity_id, "v1"),
        activity_id=activity_id,
        matter_id=M_ONEILL,
        kind=clio.WorkKind.TIME,
        recorded_on=date(2025, 3, 3),
        description="Requisitions",
        value=gbp(pence),
        billed=False,
        fee_earner="JM",
    )


WORKED = at(date(2025, 3, 3))  # the test envelopes are stamped with the work's day
LATER = at(date(2025, 1, 2))  # or this day for a payload without one (a change, a deletion)
STORED: list[EventPayload] = [
    clio.BillApproved(source=src("Bill", 9001, "v1"), bill=bill_content()),  # 1,500.00
    answer("Bill", "9001"),
]
BATCH: list[tuple[int, EventPayload]] = [  # (minute of the event's time, payload)
    (10, bill("v2", 170_000)),
    (11, answer("Bill", "9001", held=True)),
    (14, bill("v3", 180_000)),
    (12, bill("v3", 180_000)),  # the same version again, in an earlier-stamped event
    (
        20,
        clio.ClientUpserted(
            source=src("Contact", 305), client_id=305, name="Dara Ryan", kind=clio.ClientKind.PERSON
        ),
    ),
    (21, clio.RecordDeletedInClio(source=src("Contact", 305))),
    (22, work(902, 40_000)),
    (23, clio.RecordDeletedInClio(source=src("Activity", 902))),
    (24, answer("Activity", "903")),  # the ledger answered before Clio's copy arrived
    (25, work(904, 7_500)),
]


async def rows(db: Database, firm: str) -> dict[str, list[tuple[Any, ...]]]:
    """The firm's Clio records, sync totals, audit trail (in order) and the records' own rows,
    without the firm."""
    async with db.transaction() as session:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table, order in (
            ("clio_records", "object_type, object_id"),
            ("sync_totals", "object_type, currency"),
            ("audit_log", "seq"),
            ("bills", "bill_id"),  # the records' own rows, collected per batch too
            ("clients", "client_id"),
            ("work_entries", "activity_id"),
        ):
            result = await session.execute(
                text(f"SELECT * FROM {table} WHERE firm_id = :f ORDER BY {order}"), {"f": firm}
            )
            found[table] = [
                tuple(v for k, v in r._mapping.items() if k not in ("firm_id", "seq", "event_id"))
                for r in result
            ]
    return found


async def apply_in_one_unit_of_work(db: Database, events: Sequence[Envelope[EventPayload]]) -> None:
    async with db.unit_of_work() as uow:
        await handle_batch(uow, events)
        await uow.commit()


async def test_a_batch_changing_records_several_times_leaves_the_rows_one_at_a_time_leaves(
    db: Database,
) -> None:
    one_by_one, batched = FIRM + "-one-by-one", FIRM + "-in-one-batch"
    for firm in (one_by_one, batched):
        await apply_all(db, [envelope(firm, p, n) for n, p in enumerate(STORED)])
    await apply_all(db, [envelope(one_by_one, p, n) for n, p in BATCH])
    await apply_in_one_unit_of_work(db, [envelope(batched, p, n) for n, p in BATCH])

    expected = await rows(db, one_by_one)
    assert await rows(db, batched) == expected
    assert [r[-1] for r in expected["bills"]] == [None]  # one bill, not voided ...
    assert [r[-2] for r in expected["bills"]] == [180_000]  # ... at its latest total (v3)
    assert len(expected["clients"]) == 1 and len(expected["work_entries"]) == 2

    async with db.transaction() as session:
        records = await session.execute(
            text(
                "SELECT object_type, object_id, synced, version, versions, amount, deleted, "
                "outcome, outcome_reason, last_synced_at "
                "FROM clio_records WHERE firm_id = :f ORDER BY object_type, object_id"
            ),
            {"f": batched},
        )
        assert [tuple(r) for r in records] == [
            # deleted after being synced: nothing is worth anything, not even its versions' money
            ("Activity", "902", True, "v1", 1, 0, True, None, None, WORKED.replace(minute=22)),
            # the ledger's answer alone: not synced, counts nowhere yet
            ("Activity", "903", False, None, 0, None, False, "posted", None, None),
            ("Activity", "904", True, "v1", 1, 7_500, False, None, None, WORKED.replace(minute=25)),
            # v1, v2, v3 (v3 twice is one version); the latest answer is the hold;
            # the latest time seen: v1's (stamped on its issue day), not the last event's
            (
                "Bill",
                "9001",
                True,
                "v3",
                3,
                180_000,
                False,
                "held",
                "matter_unknown: no such matter yet",
                at(date(2025, 1, 10)),
            ),
            ("Contact", "305", True, "v1", 1, None, True, None, None, LATER.replace(minute=21)),
        ]
        totals = await session.execute(
            text(
                "SELECT object_type, currency, records, versions, amount, deleted, posted, held, "
                "rejected FROM sync_totals WHERE firm_id = :f ORDER BY object_type, currency"
            ),
            {"f": batched},
        )
        assert [tuple(r) for r in totals] == [
            ("Activity", "GBP", 1, 1 + 1, 7_500, 1, 0, 0, 0),  # 904 counted, 902 deleted
            ("Bill", "GBP", 1, 3, 180_000, 0, 0, 1, 0),
            ("Contact", "", 0, 1, 0, 1, 0, 0, 0),
        ]
    assert len(expected["audit_log"]) == len(STORED) + len(BATCH)
