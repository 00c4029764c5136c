"""Kafka clients with money-safe settings, and topic administration."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from cashroom_chassis.settings import ServiceSettings
from cashroom_contracts.topics import ALL_TOPICS_WITH_DLQ

log = logging.getLogger(__name__)


def create_producer(settings: ServiceSettings, *, client_id: str | None = None) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica. Idempotence follows the settings: on for
    Apache Kafka, off for the embedded Tansu broker (which refuses ``InitProducerId``)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id or f"{settings.service_name}-producer",
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: tuple[str, ...] = ALL_TOPICS_WITH_DLQ,
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    attempts: int = 30,
) -> None:
    """Create the topics that are missing (existing ones are left as they are)."""
    last_error: Exception | None = None
    for _ in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(t, partitions, replication_factor) for t in missing]
                    )
            existing = set(await admin.list_topics())
            if all(t in existing for t in topics):
                return
        except (KafkaError, OSError) as error:
            last_error = error
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"could not create topics {topics} on {bootstrap_servers}: {last_error}")
