"""OpenTelemetry: traces from an HTTP request or webhook through Kafka (W3C ``traceparent`` in
the message headers, see outbox and consumer) to every consumer and its SQL."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
_configured = False


def setup_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Install a tracer provider once per process; export over OTLP/HTTP when an endpoint is set.

    Without an endpoint spans are still created (and trace context still propagates), they are
    just not exported anywhere.
    """
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _configured = True


def instrument_app(app: FastAPI, engine: AsyncEngine | None = None) -> None:
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready")
    if engine is not None:
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
