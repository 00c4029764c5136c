"""Fixtures of the ledger's tests. The domain tests' event builders and the service tests'
helpers live beside them; the service tests share one ledger service (runtime, consumer, relay,
API) per session, on the real PostgreSQL and broker, in a schema of its own — each test uses
firms of its own on the shared topics."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cashroom_chassis.testing import Infrastructure

sys.path.insert(0, str(Path(__file__).parent / "domain"))
sys.path.insert(0, str(Path(__file__).parent / "service"))

from ledger_service_fixtures import Service, running_service


@pytest.fixture(scope="session")
async def service(infrastructure: Infrastructure) -> AsyncIterator[Service]:
    async with running_service(infrastructure) as running:
        yield running
