"""The relay sends a pass's rows as record batches per partition: each key on the partition the
producer's own ``send`` would choose, in outbox order, with its headers; batches that fill up
are followed by the next, in order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import murmur2

from cashroom_chassis.outbox import send_in_batches
from cashroom_chassis.testing import Infrastructure


@dataclass(frozen=True)
class Row:
    topic: str
    key: str
    payload: bytes
    headers: dict[str, Any]


async def _read(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(records) < expected:
                for items in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(items)
    finally:
        await consumer.stop()
    return records


async def test_a_pass_goes_in_batches_per_partition_each_key_in_order_where_send_puts_it(
    infrastructure: Infrastructure, topic: str
) -> None:
    firms = [f"firm-{n}" for n in range(7)]
    rows = [
        Row(topic, firm, f"{firm}:{n}:".encode() + b"x" * 300, {"event_type": f"t.{n}", "n": n})
        for n in range(40)
        for firm in firms
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=infrastructure.kafka_enable_idempotence,
        max_batch_size=4096,  # a few records a batch: most partitions need several
    )
    await producer.start()
    try:
        await send_in_batches(producer, rows)
    finally:
        await producer.stop()

    records = await _read(infrastructure.kafka_bootstrap_servers, topic, len(rows))
    assert len(records) == len(rows)
    for firm in firms:
        mine = sorted(
            (r for r in records if r.key == firm.encode()), key=lambda r: (r.partition, r.offset)
        )
        # The Java client's rule for a keyed record: murmur2 of the key over 3 partitions.
        assert {r.partition for r in mine} == {(murmur2(firm.encode()) & 0x7FFFFFFF) % 3}
        assert [r.value for r in mine] == [row.payload for row in rows if row.key == firm]
        assert [dict(r.headers) for r in mine] == [
            {"event_type": f"t.{n}".encode(), "n": str(n).encode()} for n in range(40)
        ]
