"""The live consumer hands a batch of events to one unit of work; the journals in it are written
together when it commits. A batch must leave exactly the rows that applying its events one at a
time leaves: back-dated days, several journals on one day, a day between two stored days, the
same journal twice, a reversal of a journal of the same batch, and links that arrive mid-batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from aiokafka import ConsumerRecord
from reporting_fixtures import apply_all
from reporting_scenario import (
    M_ONEILL,
    bill_content,
    client_side,
    envelope,
    journal,
    late_events,
    ledger_events,
    line,
    names,
    office_side,
    other_events,
    src,
)
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_contracts.envelope import Envelope, EventPayload, encode_event
from cashroom_contracts.events import clio, ledger
from cashroom_reporting import chart_of_accounts
from cashroom_reporting.consumer import ReportingConsumer
from cashroom_reporting.db import queries, recompute
from cashroom_reporting.handlers import handle

FIRM = "firm-batched"


async def apply_in_one_unit_of_work(db: Database, events: Sequence[Envelope[EventPayload]]) -> None:
    async with db.unit_of_work() as uow:
        for event in events:
            await handle(uow, event)
        await uow.commit()


def receipt(day: date, pence: int, ref: str) -> Any:
    return journal(
        day,
        "client_receipt",
        "receipt",
        ("BankTransaction", ref),
        [line("1100", pence, bank=11), client_side(credit=pence, matter=M_ONEILL)],
    )


async def snapshot(db: Database, firm: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row and every line's sub-ledger item, without the firm's name."""
    async with db.transaction() as session:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table in recompute.AGGREGATES:
            rows = await session.execute(
                text(f"SELECT * FROM {table} WHERE firm_id = :f"), {"f": firm}
            )
            found[table] = sorted(
                (tuple(v for k, v in r._mapping.items() if k != "firm_id") for r in rows), key=repr
            )
        items = await session.execute(
            text(
                "SELECT journal_id, line_no, item_key FROM journal_lines WHERE firm_id = :f "
                "ORDER BY journal_id, line_no"
            ),
            {"f": firm},
        )
        found["item_keys"] = [tuple(r) for r in items]
    return found


async def test_a_batch_moves_every_day_as_its_journals_one_at_a_time_would(db: Database) -> None:
    firm = FIRM + "-days"
    await apply_all(
        db,
        [
            envelope(firm, receipt(date(2025, 3, 1), 10_000, "1"), 0),
            envelope(firm, receipt(date(2025, 3, 20), 5_000, "2"), 1),
        ],
    )
    twice = receipt(date(2025, 3, 10), 2_000, "4")
    await apply_in_one_unit_of_work(
        db,
        [
            envelope(firm, receipt(date(2025, 4, 1), 50, "6"), 2),  # after every stored day
            envelope(firm, receipt(date(2025, 1, 15), 700, "3"), 3),  # before every stored day
            envelope(firm, twice, 4),  # a day between two stored days
            envelope(firm, receipt(date(2025, 3, 1), 300, "5"), 5),  # a stored day
            envelope(firm, receipt(date(2025, 1, 15), 20, "7"), 6),  # a day of the batch again
            envelope(firm, twice, 7),  # the same journal in another event: counted once
        ],
    )
    async with db.transaction() as session:
        days = await session.execute(
            text(
                "SELECT day, debit FROM account_daily "
                "WHERE firm_id = :f AND account_code = '1100' ORDER BY day"
            ),
            {"f": firm},
        )
        assert [tuple(r) for r in days] == [
            (date(2025, 1, 15), 700 + 20),
            (date(2025, 3, 1), 10_000 + 300),
            (date(2025, 3, 10), 2_000),
            (date(2025, 3, 20), 5_000),
            (date(2025, 4, 1), 50),
        ]
        months = await session.execute(
            text(
                "SELECT month, debit, cum_debit FROM account_monthly "
                "WHERE firm_id = :f AND account_code = '1100' ORDER BY month"
            ),
            {"f": firm},
        )
        assert [tuple(r) for r in months] == [  # a checkpoint for each month the nominal moved
            (date(2025, 1, 1), 720, 720),  # before the stored March: created by the batch
            (date(2025, 3, 1), 10_300 + 2_000 + 5_000, 720 + 17_300),  # moved by the batch
            (date(2025, 4, 1), 50, 18_020 + 50),  # after it: created from March's
        ]
        as_of = {
            day: (await queries.account_balances(session, firm, "GBP", day)).get("1100")
            for day in (
                date(2025, 1, 14),
                date(2025, 1, 15),
                date(2025, 2, 28),
                date(2025, 3, 15),
                date(2025, 3, 31),
                date(2025, 4, 1),
            )
        }
        assert {day: m.debit if m else None for day, m in as_of.items()} == {
            date(2025, 1, 14): None,  # not moved yet
            date(2025, 1, 15): 720,  # no checkpoint before January, its days through the 15th
            date(2025, 2, 28): 720,  # January's checkpoint, no days in February
            date(2025, 3, 15): 720 + 10_300 + 2_000,  # January's, then 1 and 10 March
            date(2025, 3, 31): 720 + 17_300,
            date(2025, 4, 1): 18_070,  # the current balance: not moved since
        }
        balance = await session.execute(
            text(
                "SELECT debit_total, first_movement_on, last_movement_on FROM account_balances "
                "WHERE firm_id = :f AND account_code = '1100'"
            ),
            {"f": firm},
        )
        assert tuple(balance.one()) == (18_070, date(2025, 1, 15), date(2025, 4, 1))
        [matter] = await queries.matter_balances(session, firm, "GBP", date(2025, 3, 15))
        assert matter.movement.credit == 720 + 10_300 + 2_000
        spans = await session.execute(
            text(
                "SELECT from_day, to_day, client, live FROM matter_spans "
                "WHERE firm_id = :f ORDER BY from_day"
            ),
            {"f": firm},
        )
        assert [tuple(r) for r in spans] == [  # the matter's client balance day by day
            (date(2025, 1, 15), date(2025, 3, 1), 720, True),
            (date(2025, 3, 1), date(2025, 3, 10), 720 + 10_300, True),
            (date(2025, 3, 10), date(2025, 3, 20), 11_020 + 2_000, True),
            (date(2025, 3, 20), date(2025, 4, 1), 13_020 + 5_000, True),
            (date(2025, 4, 1), None, 18_020 + 50, True),
        ]
        journals = await session.scalar(
            text("SELECT COUNT(*) FROM journals WHERE firm_id = :f"), {"f": firm}
        )
        assert journals == 2 + 5
        audited = await session.scalar(
            text("SELECT COUNT(*) FROM audit_log WHERE firm_id = :f"), {"f": firm}
        )
        assert audited == 2 + 6  # every event is in the audit trail, the repeat too
    kept = await snapshot(db, firm)
    async with db.transaction() as session:
        tracked = await chart_of_accounts.tracked_codes(session, firm)
        await recompute.everything(session, firm, sorted(tracked))
    assert await snapshot(db, firm) == kept


async def test_a_reversal_in_the_same_batch_settles_the_bill_it_reverses(db: Database) -> None:
    firm = FIRM + "-reversal"
    approved = clio.BillApproved(
        source=src("Bill", 1), bill=bill_content().model_copy(update={"bill_id": 1})
    )
    await apply_all(db, [envelope(firm, approved, 0)])
    bill = journal(
        date(2025, 1, 10),
        "bill",
        "Bill 1",
        ("Bill", "1"),
        [office_side("1200", 12_000, matter=M_ONEILL), line("4000", credit=12_000)],
    )
    reversal = journal(
        date(2025, 2, 1),
        "bill_reversal",
        "Bill 1 voided",
        ("CreditNote", "9"),  # its own source: the item comes from the journal it reverses
        [office_side("1200", credit=12_000, matter=M_ONEILL), line("4000", 12_000)],
        reverses=bill.journal_id,
        reason="voided in Clio",
    )
    await apply_in_one_unit_of_work(db, [envelope(firm, bill, 1), envelope(firm, reversal, 2)])
    async with db.transaction() as session:
        item = await session.execute(
            text(
                "SELECT item_key, debit_total, credit_total, opened_on, closed_on "
                "FROM ledger_items WHERE firm_id = :f"
            ),
            {"f": firm},
        )
        assert [tuple(r) for r in item] == [
            ("bill:1", 12_000, 12_000, date(2025, 1, 10), date(2025, 2, 1))
        ]


async def test_the_scenario_in_batches_leaves_the_rows_it_leaves_one_event_at_a_time(
    db: Database,
) -> None:
    payloads: list[EventPayload] = [*names(), *ledger_events(), *other_events(), *late_events()]
    one_by_one, batched = FIRM + "-one-by-one", FIRM + "-in-batches"
    await apply_all(db, [envelope(one_by_one, p, n) for n, p in enumerate(payloads)])
    events = [envelope(batched, p, n) for n, p in enumerate(payloads)]
    for start in range(0, len(events), 7):  # links, chart and journals mixed within batches
        await apply_in_one_unit_of_work(db, events[start : start + 7])
    expected = await snapshot(db, one_by_one)
    assert expected["ledger_items"] and expected["matter_daily"] and expected["vat_daily"]
    assert await snapshot(db, batched) == expected
    journals = [p for p in payloads if isinstance(p, ledger.JournalPosted)]
    assert len(journals) > 7
    # every journal again, in new events and one batch: each is a repeat and changes nothing
    await apply_in_one_unit_of_work(db, [envelope(batched, p, n) for n, p in enumerate(journals)])
    assert await snapshot(db, batched) == expected


def consumer_record(topic: str, partition: int, offset: int, event: Envelope[EventPayload]) -> Any:
    value = encode_event(event)
    return ConsumerRecord(
        topic, partition, offset, 0, 0, event.firm_id.encode(), value, None, 0, len(value), ()
    )


async def test_the_consumer_records_each_partitions_last_offset_once_per_batch(
    db: Database,
) -> None:
    firm = FIRM + "-positions"
    consumer = ReportingConsumer(
        db=db, dead_letter_producer=None, topics=["ledger"], handler=handle, group_id="test"
    )
    first, second, third = (
        envelope(firm, receipt(date(2025, 3, day), 100 * day, f"p{day}"), day) for day in (1, 2, 3)
    )
    await consumer.handle_records(
        [
            consumer_record("ledger", 0, 40, first),
            consumer_record("ledger", 1, 7, second),
            consumer_record("ledger", 0, 41, third),
        ]
    )
    assert consumer.processed == 3
    async with db.transaction() as session:
        rows = await session.execute(
            text(
                'SELECT topic, partition, "offset", event_time FROM positions '
                "WHERE firm_id = :f ORDER BY partition"
            ),
            {"f": firm},
        )
        assert [tuple(r) for r in rows] == [
            ("ledger", 0, 41, third.time),
            ("ledger", 1, 7, second.time),
        ]
        balance = await session.scalar(
            text(
                "SELECT debit_total FROM account_balances WHERE firm_id = :f AND account_code = '1100'"
            ),
            {"f": firm},
        )
        assert balance == 100 + 200 + 300
