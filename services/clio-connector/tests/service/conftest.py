"""The connector service the tiny-firm tests share (one start: the broker's consumer group takes
seconds to assign partitions); each test links a firm of its own to a sandbox of its own."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cashroom_chassis.testing import Infrastructure

# The harness the connector's service tests share lives beside them.
sys.path.insert(0, str(Path(__file__).parent))

from connector_service_harness import Service, service


@pytest.fixture(scope="session")
async def connector_service(infrastructure: Infrastructure) -> AsyncIterator[Service]:
    async with service(infrastructure, clio_page_limit=100) as running:
        yield running
