"""The limits of the parts the pipeline runs on, measured in the same run as our figures:
raw produce + consume through the broker, raw COPY into PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from cashroom_chassis.kafka import ensure_topics


async def broker_round_trip(
    bootstrap_servers: str, *, messages: int, payload: bytes, topic: str, partitions: int = 3
) -> dict[str, float]:
    """Produce ``messages`` copies of ``payload`` (acks=all, keyed over 50 firms) and consume
    them all in one group: the broker's own throughput, in messages per second."""
    await ensure_topics(bootstrap_servers, (topic,), partitions=partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending: list[asyncio.Future[Any]] = []
        for i in range(messages):
            pending.append(await producer.send(topic, value=payload, key=f"firm-{i % 50}".encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    produced = time.perf_counter() - started

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"bench-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    started = time.perf_counter()
    seen = 0
    try:
        while seen < messages:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
            await consumer.commit()
    finally:
        await consumer.stop()
    consumed = time.perf_counter() - started
    return {
        "messages": messages,
        "produce_per_s": messages / produced,
        "consume_per_s": messages / consumed,
        "round_trip_per_s": messages / (produced + consumed),
    }


async def copy_rows(
    dsn: str, *, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, float]:
    """COPY ``rows`` into ``table`` in one transaction (committed, so durable where fsync is on):
    the most PostgreSQL can take, in rows per second."""
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            schema, _, name = table.rpartition(".")
            await connection.copy_records_to_table(
                name, records=rows, columns=list(columns), schema_name=schema or None
            )
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return {"rows": len(rows), "rows_per_s": len(rows) / elapsed, "seconds": elapsed}
