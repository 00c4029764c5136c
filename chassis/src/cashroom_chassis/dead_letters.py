"""Dead letters: list what failed and why, and replay an event to its original topic once the
cause is fixed (the inbox makes a replay of something already applied a no-op)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from cashroom_contracts.topics import dead_letter_topic


class UnknownTopic(ValueError):
    """Neither the topic nor its dead-letter twin is on the broker (a misspelt name, most
    likely): said, rather than answered with no dead letters."""


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic
    partition: int
    offset: int
    key: str | None
    value: bytes
    error: str
    attempts: int
    original_topic: str
    original_partition: int
    original_offset: int
    consumer_group: str
    failed_at: str


async def list_dead_letters(
    bootstrap_servers: str, topic: str, *, limit: int = 1000, idle_ms: int = 1500
) -> list[DeadLetter]:
    """Every dead letter of ``topic`` (give the main topic or its ``.dlq`` twin), oldest first."""
    dlq = topic if topic.endswith(".dlq") else dead_letter_topic(topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    letters: list[DeadLetter] = []
    try:
        await consumer.start()  # inside the try: a broker that cannot be reached still closes it
        partitions = consumer.partitions_for_topic(dlq)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(dlq) or set()
        assignment = [TopicPartition(dlq, p) for p in sorted(partitions)]
        if not assignment:
            main = dlq.removesuffix(".dlq")
            if consumer.partitions_for_topic(main) is None:
                raise UnknownTopic(f"the broker has no topic {main!r} (nor its {dlq!r})")
            return []  # nothing has failed on it yet
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        while len(letters) < limit:
            batch = await consumer.getmany(timeout_ms=idle_ms, max_records=limit)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
                    letters.append(
                        DeadLetter(
                            topic=dlq,
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key.decode(errors="replace") if record.key else None,
                            value=record.value or b"",
                            error=headers.get("x-dlq-error", ""),
                            attempts=int(headers.get("x-dlq-attempts", "0")),
                            original_topic=headers.get("x-dlq-original-topic", ""),
                            original_partition=int(headers.get("x-dlq-original-partition", "-1")),
                            original_offset=int(headers.get("x-dlq-original-offset", "-1")),
                            consumer_group=headers.get("x-dlq-consumer-group", ""),
                            failed_at=headers.get("x-dlq-failed-at", ""),
                        )
                    )
    finally:
        await consumer.stop()
    letters.sort(key=lambda d: (d.failed_at, d.partition, d.offset))
    return letters[:limit]


async def replay(
    bootstrap_servers: str, letters: list[DeadLetter], *, enable_idempotence: bool = False
) -> int:
    """Publish each dead letter's original bytes, with its key, back to its original topic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=enable_idempotence
    )
    try:
        await producer.start()
        sends = [
            await producer.send(
                letter.original_topic,
                value=letter.value,
                key=letter.key.encode() if letter.key is not None else None,
                headers=[
                    (
                        "x-replayed-from",
                        f"{letter.topic}:{letter.partition}:{letter.offset}".encode(),
                    )
                ],
            )
            for letter in letters
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return len(letters)
