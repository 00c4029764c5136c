"""Staging events in the outbox: one statement for many, in order, with what travels with them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sample_service import migrate
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_chassis.outbox import OUTBOX_COLUMNS, add_to_outbox, outbox_rows
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure
from cashroom_contracts import encode_event, new_event
from cashroom_contracts.events.clio import ClientMoneyReceived
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money
from cashroom_contracts.topics import CLIO_EVENTS


def receipt(n: int) -> ClientMoneyReceived:
    return ClientMoneyReceived(
        source=ClioSource(object_type="BankTransaction", object_id=n, version="v1"),
        transaction_id=n,
        matter_id=1,
        bank_account_id=1,
        received_on=date(2025, 3, 4),
        amount=Money(amount_minor=250 * n, currency="EUR"),
        payer="Pádraig Ó Sé",
    )


@pytest.fixture
async def db(infrastructure: Infrastructure, unique_name: str) -> AsyncIterator[Database]:
    settings = ServiceSettings(
        service_name=f"sample_{unique_name}",
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
    )
    await migrate(settings)
    database = Database(settings)
    yield database
    await database.dispose()


def test_an_outbox_row_carries_the_event_its_topic_its_firm_as_key_and_its_type() -> None:
    event = new_event(receipt(1), firm_id="firm-ie-1", source="test")
    [row] = outbox_rows([event])
    assert OUTBOX_COLUMNS == ("event_id", "topic", "key", "payload", "headers")
    assert row[:4] == (event.id, CLIO_EVENTS, "firm-ie-1", encode_event(event))
    assert json.loads(row[4])["event_type"] == "clio.client_money.received"


async def test_many_events_are_staged_in_one_statement_in_the_order_given(
    db: Database, unique_name: str
) -> None:
    events = [new_event(receipt(n), firm_id=unique_name, source="test") for n in (3, 1, 2)]
    async with db.unit_of_work() as uow:
        assert await add_to_outbox(uow.session, events) == 3
        assert await add_to_outbox(uow.session, []) == 0
        await uow.commit()
    async with db.transaction() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT event_id, key, payload, headers FROM outbox WHERE key = :k ORDER BY id"
                ),
                {"k": unique_name},
            )
        ).all()
    assert [row.event_id for row in rows] == [e.id for e in events]
    assert [bytes(row.payload) for row in rows] == [encode_event(e) for e in events]
    assert all(row.headers["event_type"] == "clio.client_money.received" for row in rows)
