"""pytest fixtures for real infrastructure, shared by every package's tests.

``infrastructure`` (session-scoped) is, in order of preference:

1. ``CASHROOM_INFRA=containers``: Apache Kafka and PostgreSQL in Docker through testcontainers;
   where no Docker engine answers, every test that needs them is skipped with that reason.
2. ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` both set: those servers, unchanged code.
3. Otherwise (the default): the embedded PostgreSQL and Tansu broker, started here on free
   loopback ports and stopped at the end of the session (and killed with the test process if
   it dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from cashroom_chassis.embedded import EmbeddedKafka, EmbeddedPostgres


@dataclass(frozen=True)
class Infrastructure:
    kind: str  # embedded, external or containers
    database_url: str
    kafka_bootstrap_servers: str
    kafka_enable_idempotence: bool

    def service_env(self, **extra: str) -> dict[str, str]:
        """Environment for a service process pointed at this infrastructure."""
        return {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": "true" if self.kafka_enable_idempotence else "false",
            **extra,
        }


def _docker_available() -> str | None:
    """None when a Docker engine answers, else the reason it does not."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as error:
        return f"no Docker engine here ({type(error).__name__}: {error})"
    return None


@contextlib.contextmanager
def _containers() -> Iterator[Infrastructure]:
    reason = _docker_available()
    if reason is not None:
        pytest.skip(f"CASHROOM_INFRA=containers: {reason}")
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:17", driver="asyncpg") as pg, KafkaContainer() as kafka:
        yield Infrastructure(
            kind="containers",
            database_url=pg.get_connection_url(),
            kafka_bootstrap_servers=kafka.get_bootstrap_server(),
            kafka_enable_idempotence=True,
        )


@contextlib.contextmanager
def provide_infrastructure() -> Iterator[Infrastructure]:
    if os.environ.get("CASHROOM_INFRA") == "containers":
        with _containers() as infra:
            yield infra
        return
    database_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if database_url and bootstrap:
        yield Infrastructure(
            kind="external",
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            kafka_enable_idempotence=os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "").lower()
            in {"1", "true", "yes"},
        )
        return
    with EmbeddedPostgres() as postgres, EmbeddedKafka() as kafka:
        yield Infrastructure(
            kind="embedded",
            database_url=postgres.url,
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            kafka_enable_idempotence=False,
        )


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    with provide_infrastructure() as infra:
        yield infra


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix for schemas, topics and firms, so tests never see each other."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def topic(infrastructure: Infrastructure, unique_name: str) -> AsyncIterator[str]:
    """A fresh topic (and its dead-letter twin) with 3 partitions."""
    from cashroom_chassis.kafka import ensure_topics

    name = f"test.{unique_name}"
    await ensure_topics(infrastructure.kafka_bootstrap_servers, (name, f"{name}.dlq"), partitions=3)
    yield name


async def eventually(
    predicate: Callable[[], Awaitable[object]], *, within: float = 30.0, interval: float = 0.1
) -> None:
    """Wait until ``await predicate()`` is truthy, or fail with a clear message."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await predicate()
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(interval)


def process_gone(pid: int) -> bool:
    """Whether the process has exited (a zombie not yet reaped counts as gone)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def wait_until_gone(pid: int, timeout: float = 20) -> bool:
    """Poll until ``process_gone`` (at most ``timeout`` seconds); whether it went."""
    import time

    deadline = time.monotonic() + timeout
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return process_gone(pid)
