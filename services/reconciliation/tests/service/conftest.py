"""One reconciliation service for the whole session (its own schema, consumer group and
topics), with the ledger's client-ledgers endpoint stubbed; every test uses a firm of its own."""

import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cashroom_chassis.kafka import ensure_topics
from cashroom_chassis.testing import Infrastructure

# The helpers the service tests share live beside them.
sys.path.insert(0, str(Path(__file__).parent))

from reconciliation_service_fixtures import KEY, LedgerStub, make_settings

from cashroom_contracts.topics import RECONCILIATION_EVENTS, dead_letter_topic
from cashroom_reconciliation.app import build
from cashroom_reconciliation.ledger_client import LedgerClient
from cashroom_reconciliation.settings import Settings


@dataclass(frozen=True)
class RunningService:
    app: FastAPI
    settings: Settings
    ledger: LedgerStub


@pytest.fixture(scope="session")
async def service(infrastructure: Infrastructure) -> AsyncIterator[RunningService]:
    name = uuid.uuid4().hex[:10]
    settings = make_settings(
        infrastructure.database_url,
        infrastructure.kafka_bootstrap_servers,
        infrastructure.kafka_enable_idempotence,
        name,
    )
    topics = (settings.ledger_topic, settings.clio_topic, RECONCILIATION_EVENTS)
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        tuple(t for topic in topics for t in (topic, dead_letter_topic(topic))),
        partitions=3,
    )
    stub = LedgerStub()
    ledger = LedgerClient(settings.ledger_url, KEY, transport=httpx.MockTransport(stub.handle))
    app = build(settings, ledger=ledger)
    async with app.router.lifespan_context(app):
        yield RunningService(app, settings, stub)


@pytest.fixture
def firm(unique_name: str) -> str:
    return f"firm-{unique_name}"
