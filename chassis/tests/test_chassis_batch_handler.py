"""A batch of events in one unit of work: one inbox statement, and a service's batch handler.

Given the sample service's tables (``effects``: one row per event handled) and a consumer fed
Kafka records directly: each event is handled once however often it arrives, the inbox is
written once per batch, and a batch handler that fails on one event still gets the others
applied (one by one) while the bad one is dead-lettered with its error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sample_service import HandlerRefused, effect_count, handle, migrate, sample_settings
from sqlalchemy import event, text

from cashroom_chassis.consumer import EventConsumer
from cashroom_chassis.db import Database, UnitOfWork
from cashroom_chassis.dead_letters import list_dead_letters
from cashroom_chassis.inbox import first_deliveries
from cashroom_chassis.kafka import create_producer
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure
from cashroom_contracts import encode_event, new_event
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.clio import ClientMoneyReceived
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money


def receipt(n: int, payer: str = "Siobhán Ní Bhriain") -> ClientMoneyReceived:
    return ClientMoneyReceived(
        source=ClioSource(object_type="BankTransaction", object_id=n, version="v1"),
        transaction_id=n,
        matter_id=1,
        bank_account_id=1,
        received_on=date(2025, 2, 3),
        amount=Money(amount_minor=100 * n, currency="EUR"),
        payer=payer,
    )


def record(topic: str, offset: int, envelope: Envelope[Any]) -> ConsumerRecord[Any, Any]:
    value = encode_event(envelope)
    key = envelope.firm_id.encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), ())


@pytest.fixture
async def settings(infrastructure: Infrastructure, unique_name: str) -> ServiceSettings:
    s = sample_settings(infrastructure, unique_name, kafka_handler_attempts=2)
    await migrate(s)
    return s


@pytest.fixture
async def db(settings: ServiceSettings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


class BatchesSeen:
    """A batch handler that applies the sample service's handler to each event, and remembers
    the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, uow: UnitOfWork, events: Sequence[Envelope[EventPayload]]) -> None:
        numbers = []
        for envelope in events:
            assert isinstance(envelope.data, ClientMoneyReceived)
            numbers.append(envelope.data.transaction_id)
            await handle(uow, envelope)
        self.batches.append(numbers)


def inbox_statements(db: Database) -> list[str]:
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        statement = str(args[2])
        if "inbox" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    return seen


async def test_an_event_twice_in_the_inbox_statement_is_a_first_delivery_once(
    db: Database, unique_name: str
) -> None:
    first, second = (new_event(receipt(n), firm_id=unique_name, source="test") for n in (1, 2))
    async with db.unit_of_work() as uow:
        assert await first_deliveries(uow.session, [(first.id, "t")]) == {first.id}
        await uow.commit()
    async with db.unit_of_work() as uow:
        fresh = await first_deliveries(
            uow.session, [(first.id, "t"), (second.id, "t"), (second.id, "t")]
        )
        assert await first_deliveries(uow.session, []) == set()
        await uow.commit()
    assert fresh == {second.id}  # the first was recorded before, the second counts once


async def test_a_batch_handler_gets_each_first_delivery_once_in_order_with_one_inbox_statement(
    db: Database, unique_name: str
) -> None:
    firm = unique_name
    one, two, three, four = (
        new_event(receipt(n), firm_id=firm, source="test") for n in (1, 2, 3, 4)
    )
    handler = BatchesSeen()
    consumer = EventConsumer(
        db=db, dead_letter_producer=None, topics=["t"], batch_handler=handler, group_id="g"
    )
    await consumer.handle_records([record("t", 0, one)])
    statements = inbox_statements(db)
    await consumer.handle_records(
        [
            record("t", 1, three),
            record("t", 2, one),  # delivered before: nothing
            record("t", 3, two),
            record("t", 4, three),  # twice in the same batch: once
            record("t", 5, four),
        ]
    )
    assert handler.batches == [[1], [3, 2, 4]]
    assert len(statements) == 1
    assert await effect_count(db, firm) == 4


async def test_the_default_path_also_writes_the_inbox_once_per_batch(
    db: Database, unique_name: str
) -> None:
    firm = unique_name
    events = [new_event(receipt(n), firm_id=firm, source="test") for n in (1, 2, 3)]
    consumer = EventConsumer(
        db=db, dead_letter_producer=None, topics=["t"], handler=handle, group_id="g"
    )
    statements = inbox_statements(db)
    await consumer.handle_records([record("t", n, e) for n, e in enumerate([*events, events[0]])])
    assert len(statements) == 1
    assert await effect_count(db, firm) == 3
    assert consumer.processed == 4  # the repeat was consumed, and changed nothing


async def test_a_batch_that_fails_on_one_event_applies_the_others_and_dead_letters_that_one(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str
) -> None:
    firm = unique_name
    good = [new_event(receipt(n), firm_id=firm, source="test") for n in (5, 6)]
    bad = new_event(receipt(7, payer="always-fail"), firm_id=firm, source="test")
    producer = create_producer(settings)
    await producer.start()
    handler = BatchesSeen()
    consumer = EventConsumer(
        db=db,
        dead_letter_producer=producer,
        topics=[topic],
        batch_handler=handler,
        group_id="g",
        attempts=2,
        retry_backoff_seconds=0.01,
    )
    try:
        await consumer.handle_records(
            [record(topic, 0, good[0]), record(topic, 1, bad), record(topic, 2, good[1])]
        )
    finally:
        await producer.stop()
    # the batch, then each alone: the bad one twice (its attempts), then dead-lettered
    assert handler.batches == [[5], [6]]  # the batch of three failed; then each alone
    assert await effect_count(db, firm) == 2
    assert (consumer.processed, consumer.dead_lettered) == (2, 1)
    [letter] = await list_dead_letters(settings.kafka_bootstrap_servers, topic)
    assert (letter.attempts, letter.key) == (2, firm)
    assert letter.error.startswith(f"{HandlerRefused.__name__}: this handler refuses")
    async with db.transaction() as session:
        recorded = await session.scalar(
            text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": bad.id}
        )
    assert recorded == 0  # its failed transactions were rolled back: a replay will apply it


def test_a_consumer_takes_exactly_one_kind_of_handler(db: Database) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        EventConsumer(db=db, dead_letter_producer=None, topics=["t"], group_id="g")
    with pytest.raises(ValueError, match="exactly one"):
        EventConsumer(
            db=db,
            dead_letter_producer=None,
            topics=["t"],
            handler=handle,
            batch_handler=BatchesSeen(),
            group_id="g",
        )


def typed_record(topic: str, offset: int, envelope: Envelope[Any]) -> ConsumerRecord[Any, Any]:
    """A record as the outbox relay sends it: the event type in a header."""
    value = encode_event(envelope)
    key = envelope.firm_id.encode()
    headers = (("event_type", envelope.type.encode()),)
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), headers)


async def test_events_of_types_the_handler_does_not_act_on_are_passed_over_unread(
    db: Database, unique_name: str
) -> None:
    """Given a consumer that acts on client receipts only, a batch mixing them with other types
    (one of them not even valid JSON) hands the handler the receipts alone, records only those
    in the inbox and dead-letters nothing; a record without the header is read as usual."""
    firm = unique_name
    one, two = (new_event(receipt(n), firm_id=firm, source="test") for n in (1, 2))
    bill_voided = ConsumerRecord(
        "t", 0, 2, 0, 0, firm.encode(), b"not json", None, 0, 8,
        (("event_type", b"clio.bill.voided"),),
    )  # fmt: skip
    handler = BatchesSeen()
    consumer = EventConsumer(
        db=db,
        dead_letter_producer=None,
        topics=["t"],
        batch_handler=handler,
        event_types=[ClientMoneyReceived.event_type],
        group_id="g",
    )
    await consumer.handle_records([typed_record("t", 0, one), bill_voided, record("t", 3, two)])
    assert handler.batches == [[1, 2]]
    assert consumer.passed_over == 1
    assert consumer.dead_lettered == 0
    async with db.unit_of_work() as uow:
        inbox = await uow.session.scalar(text("SELECT count(*) FROM inbox"))
    assert inbox == 2


class FetchedBatch:
    """What FastStream hands the consumer: the batch's records, and the Kafka consumer whose
    last fetch said how far each partition's log reaches (its high-water mark)."""

    def __init__(self, records: list[ConsumerRecord[Any, Any]], high_water: int) -> None:
        self.raw_message = tuple(records)
        self.consumer = self
        self._high_water = high_water
        self.acked = False

    def highwater(self, partition: Any) -> int:
        return self._high_water

    async def ack(self) -> None:
        self.acked = True

    async def nack(self) -> None:
        raise AssertionError("the batch was handled")


async def test_the_lag_is_what_the_broker_holds_beyond_the_last_event_handled(
    db: Database, unique_name: str
) -> None:
    """30 events on the partition, handled 10 at a time: 20 left after the first batch, 10
    after the second, none after the third. `cashroom status` shows it per consumer group."""
    consumer = EventConsumer(
        db=db, dead_letter_producer=None, topics=["t"], handler=handle, group_id="g"
    )
    events = [new_event(receipt(n), firm_id=unique_name, source="test") for n in range(1, 31)]
    seen = []
    for start in (0, 10, 20):
        batch = FetchedBatch([record("t", o, events[o]) for o in range(start, start + 10)], 30)
        await consumer.on_batch(None, batch)  # type: ignore[arg-type]
        assert batch.acked
        seen.append(dict(consumer.lag))
    assert seen == [{("t", 0): 20}, {("t", 0): 10}, {("t", 0): 0}]
    assert consumer.processed == 30
    assert await effect_count(db, unique_name) == 30
