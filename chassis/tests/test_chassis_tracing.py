"""Trace context travels from the request that staged an event, through the outbox and Kafka
headers, to the consumer that handles it: one trace end to end."""

from __future__ import annotations

import asyncio
from datetime import date

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sample_service import effect_count, migrate, run_consumer, run_relay
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_chassis.outbox import add_to_outbox
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure, eventually
from cashroom_contracts import new_event
from cashroom_contracts.events.clio import ClientMoneyReceived
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_the_consumer_span_continues_the_trace_that_staged_the_event(
    infrastructure: Infrastructure, unique_name: str, topic: str
) -> None:
    exporter = _exporter()
    settings = ServiceSettings(
        service_name=f"sample_{unique_name}",
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
    )
    await migrate(settings)
    db = Database(settings)
    firm = f"firm-{unique_name}"
    event = new_event(
        ClientMoneyReceived(
            source=ClioSource(object_type="BankTransaction", object_id=5, version="v"),
            transaction_id=5,
            matter_id=1,
            bank_account_id=1,
            received_on=date(2025, 2, 3),
            amount=Money(amount_minor=250, currency="GBP"),
        ),
        firm_id=firm,
        source="test",
    )
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /receipts") as request_span:
        async with db.transaction() as session:
            await add_to_outbox(session, [event])
            await session.execute(
                text("UPDATE outbox SET topic = :t WHERE published_at IS NULL"), {"t": topic}
            )
    await run_relay(settings)

    consuming = asyncio.create_task(run_consumer(settings, topic, seconds=3600))
    try:
        await eventually(lambda: effect_count(db, firm))
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        await db.dispose()

    [consumer_span] = [s for s in exporter.get_finished_spans() if s.name == f"{topic} process"]
    assert consumer_span.context is not None and consumer_span.parent is not None
    assert consumer_span.context.trace_id == request_span.get_span_context().trace_id
    assert consumer_span.parent.span_id == request_span.get_span_context().span_id
    assert consumer_span.attributes is not None
    assert consumer_span.attributes["messaging.message.id"] == str(event.id)
