"""Delivery guarantees, against the real PostgreSQL and the real broker.

Given a service on the chassis, whose handler turns each client-money receipt into one effect:
nothing is lost, nothing happens twice, and a poison event never stops the partition.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sample_service import effect_count, migrate, run_consumer, sample_settings

from cashroom_chassis.db import Database
from cashroom_chassis.dead_letters import UnknownTopic, list_dead_letters, replay
from cashroom_chassis.faults import CRASH_EXIT_CODE
from cashroom_chassis.outbox import add_to_outbox
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure, eventually
from cashroom_contracts import encode_event, new_event
from cashroom_contracts.events.clio import ClientMoneyReceived
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money

SAMPLE = Path(__file__).parent / "sample_service.py"


def receipt(n: int, payer: str = "Áine O'Neill") -> ClientMoneyReceived:
    return ClientMoneyReceived(
        source=ClioSource(object_type="BankTransaction", object_id=n, version="v1"),
        transaction_id=n,
        matter_id=1,
        bank_account_id=1,
        received_on=date(2025, 1, 6),
        amount=Money(amount_minor=100 * n, currency="EUR"),
        payer=payer,
    )


@pytest.fixture
async def settings(infrastructure: Infrastructure, unique_name: str) -> ServiceSettings:
    s = sample_settings(infrastructure, unique_name, kafka_handler_attempts=3)
    await migrate(s)
    return s


@pytest.fixture
async def db(settings: ServiceSettings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


def _env(settings: ServiceSettings, topic: str, crash_at: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "SERVICE_NAME": settings.service_name,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_ENABLE_IDEMPOTENCE": str(settings.kafka_enable_idempotence).lower(),
        "KAFKA_MAX_BATCH": "50",
        "TEST_TOPIC": topic,
    }
    if crash_at:
        env["CASHROOM_CRASH_AT"] = crash_at
    return env


def _run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SAMPLE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def _count_on_topic(bootstrap: str, topic: str) -> int:
    """Records on the topic, counted by reading them (Tansu's ListOffsets "latest" answers the
    last batch's base offset + 1, not the high watermark, so offsets cannot be subtracted)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    count, quiet = 0, 0
    try:
        while quiet < 3:
            batch = await consumer.getmany(timeout_ms=300)
            got = sum(len(items) for items in batch.values())
            count += got
            quiet = 0 if got else quiet + 1
    finally:
        await consumer.stop()
    return count


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for items in batch.values():
                    records.extend(items)
    finally:
        await consumer.stop()
    return records


async def _stage(db: Database, topic: str, firm: str, events: list[ClientMoneyReceived]) -> None:
    """A state change and its events in one transaction (here: just the events)."""
    envelopes = [new_event(e, firm_id=firm, source="test") for e in events]
    # Publish to the test's own topic rather than the contract's.
    async with db.transaction() as session:
        await add_to_outbox(session, envelopes)
        await session.execute(
            __import__("sqlalchemy").text(
                "UPDATE outbox SET topic = :t WHERE published_at IS NULL"
            ),
            {"t": topic},
        )


@pytest.mark.parametrize("crash_at", ["outbox.after_publish_before_mark", "outbox.before_publish"])
async def test_relay_killed_between_commit_and_publish_loses_nothing_and_doubles_nothing(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str, crash_at: str
) -> None:
    firm = f"firm-{unique_name}"
    await _stage(db, topic, firm, [receipt(1), receipt(2), receipt(3)])

    crashed = _run(["relay"], _env(settings, topic, crash_at=crash_at))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr

    restarted = _run(["relay"], _env(settings, topic))
    assert restarted.returncode == 0, restarted.stderr

    copies_on_topic = await _count_on_topic(settings.kafka_bootstrap_servers, topic)
    # Killed after publishing: the restart publishes again (3 + 3); before: once (3).
    assert copies_on_topic == (6 if crash_at == "outbox.after_publish_before_mark" else 3)

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        await eventually(lambda: _effects_equal(db, firm, 3))
        await asyncio.sleep(1.0)  # a second copy, if it were applied, would show by now
        assert await effect_count(db, firm) == 3
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)


async def _effects_equal(db: Database, firm: str, n: int) -> bool:
    return await effect_count(db, firm) == n


async def _produce(bootstrap: str, topic: str, values: list[bytes], key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def test_the_same_event_delivered_twice_changes_nothing_the_second_time(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str
) -> None:
    firm = f"firm-{unique_name}"
    event = encode_event(new_event(receipt(7), firm_id=firm, source="test"))
    later = encode_event(new_event(receipt(8), firm_id=firm, source="test"))
    await _produce(settings.kafka_bootstrap_servers, topic, [event, event, later], firm.encode())

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        await eventually(lambda: _effects_equal(db, firm, 2))
        async with db.transaction() as session:
            total = await session.scalar(
                __import__("sqlalchemy").text(
                    "SELECT sum(amount_minor) FROM effects WHERE firm_id = :f"
                ),
                {"f": firm},
            )
        assert total == 700 + 800  # receipt 7 once, receipt 8 once
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)


async def test_a_handler_that_always_fails_dead_letters_the_event_and_the_partition_flows_on(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str
) -> None:
    firm = f"firm-{unique_name}"
    poison = encode_event(new_event(receipt(9, payer="always-fail"), firm_id=firm, source="test"))
    after = [encode_event(new_event(receipt(n), firm_id=firm, source="test")) for n in (10, 11)]
    # Same key: same partition, the poison first.
    await _produce(settings.kafka_bootstrap_servers, topic, [poison, *after], firm.encode())

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        await eventually(lambda: _effects_equal(db, firm, 2))
        [dead] = await _read_all(settings.kafka_bootstrap_servers, f"{topic}.dlq", 1)
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == poison
    assert "HandlerRefused: this handler refuses payer always-fail" in headers["x-dlq-error"]
    assert headers["x-dlq-attempts"] == "3"
    assert headers["x-dlq-original-topic"] == topic

    # The cashier can list it with its reason; a replay (once the cause is fixed) goes back to
    # the original topic with its key.
    [letter] = await list_dead_letters(settings.kafka_bootstrap_servers, topic)
    assert (letter.original_topic, letter.attempts, letter.key) == (topic, 3, firm)
    assert letter.error.startswith("HandlerRefused")
    assert await replay(settings.kafka_bootstrap_servers, [letter]) == 1
    assert await _count_on_topic(settings.kafka_bootstrap_servers, topic) == 3 + 1


async def test_an_event_that_breaks_its_contract_is_dead_lettered_with_the_validation_error(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str
) -> None:
    firm = f"firm-{unique_name}"
    good = new_event(receipt(12), firm_id=firm, source="test")
    broken = encode_event(good).replace(b'"amount_minor":1200', b'"amount_minor":12.0')
    not_json = b"this is not an event"
    later = encode_event(new_event(receipt(13), firm_id=firm, source="test"))
    await _produce(
        settings.kafka_bootstrap_servers, topic, [broken, not_json, later], firm.encode()
    )

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        await eventually(lambda: _effects_equal(db, firm, 1))
        dead = await _read_all(settings.kafka_bootstrap_servers, f"{topic}.dlq", 2)
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
    errors = sorted(dict(d.headers)["x-dlq-error"].decode() for d in dead)
    assert errors[0].startswith("invalid clio.client_money.received payload: amount.amount_minor")
    assert errors[1].startswith("invalid envelope")
    assert {d.value for d in dead} == {broken, not_json}


@pytest.mark.parametrize("crash_at", ["consumer.after_commit_before_ack", "consumer.after_ack"])
async def test_offsets_are_committed_only_after_the_transaction(
    settings: ServiceSettings, db: Database, topic: str, unique_name: str, crash_at: str
) -> None:
    """Kill the consumer right after its transaction commits (before the offset commit) and
    right after the offset commit: either way every event has its effect exactly once."""
    firm = f"firm-{unique_name}"
    values = [
        encode_event(new_event(receipt(n), firm_id=firm, source="test")) for n in range(1, 21)
    ]
    await _produce(settings.kafka_bootstrap_servers, topic, values, firm.encode())

    crashed = _run(["consume", "120"], _env(settings, topic, crash_at=crash_at))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    applied_before_crash = await effect_count(db, firm)
    assert applied_before_crash > 0  # the crash came after a transaction committed

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        # A restart after a dead member may wait for the group to rebalance (15-30 s on Tansu).
        await eventually(lambda: _effects_equal(db, firm, 20), within=90)
        await asyncio.sleep(1.0)
        assert await effect_count(db, firm) == 20
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)


async def test_the_dead_letters_of_a_topic_the_broker_does_not_have_are_refused_by_name(
    settings: ServiceSettings, topic: str, unique_name: str
) -> None:
    # A topic with nothing failed on it has no dead letters; a misspelt one is said to be missing.
    assert await list_dead_letters(settings.kafka_bootstrap_servers, topic, idle_ms=200) == []
    missing = f"test.{unique_name}.misspelt"
    with pytest.raises(UnknownTopic, match=f"the broker has no topic '{missing}'"):
        await list_dead_letters(settings.kafka_bootstrap_servers, missing)
