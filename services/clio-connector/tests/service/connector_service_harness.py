"""The connector service as the tests drive it: the real app (its lifespan, migrations, outbox
relay and ledger-feedback consumer) on the real PostgreSQL and broker, talking to the Clio
sandbox in-process (httpx ASGI transports both ways: requests to Clio, Clio's webhooks back),
with the sandbox's time standing in for waiting (a rate-limit wait moves the sandbox's clock).

The ledger's chart of accounts comes from a stand-in that serves exactly the agreed API
(``GET /firms/{firm}/accounts`` with a service token) over a chart the test declares.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cryptography.fernet import Fernet
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select

from cashroom_chassis.auth import InvalidToken, Role, issue_token, verify_token
from cashroom_chassis.kafka import ensure_topics
from cashroom_chassis.runtime import Runtime
from cashroom_chassis.testing import Infrastructure, eventually
from cashroom_contracts.envelope import Envelope, EventPayload, encode_event, parse_event
from cashroom_contracts.events.clio import (
    BillApproved,
    BillChanged,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
    SyncCompleted,
)
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.topics import ALL_TOPICS_WITH_DLQ, CLIO_EVENTS, LEDGER_EVENTS
from clio_connector.app import build
from clio_connector.clio.client import RetryPolicy
from clio_connector.connections import ClioAccess
from clio_connector.db.tables import sync_log
from clio_connector.settings import Settings
from clio_sandbox import Firm, OAuthClient, SandboxSettings, create_app

KEY = "connector-service-test-key"
CLIENT_ID = "cashroom-test"
CLIENT_SECRET = "cashroom-test-secret"
PUBLIC_URL = "http://127.0.0.1:8001"
REDIRECT = f"{PUBLIC_URL}/clio/oauth/callback"
LEDGER = "http://ledger.test"
CUT_OFF = date(2024, 1, 1)  # the generated firms' own cut-off

CHART = ("1200", "1210", "2100", "4000", "4100", "4200", "7500")


@dataclass
class SandboxTime:
    """The Clio client's clock is the sandbox's, and a wait moves the sandbox's clock."""

    state: Any
    waits: list[float] = field(default_factory=list)

    def now(self) -> float:
        now: float = self.state.now()
        return now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.state.clock_offset += seconds
        await asyncio.sleep(0)


class Counting(httpx.AsyncBaseTransport):
    """Counts requests to Clio's API and, when told, fails them with 503 (an outage)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.api_requests = 0
        self.statuses: Counter[int] = Counter()
        self.fail_after: int | None = None  # fail every API request once this many were served
        # Rewrites the records of list pages: (resource path, record) -> record as Clio sends it
        self.mangle: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v4/"):
            if self.fail_after is not None and self.api_requests >= self.fail_after:
                self.statuses[503] += 1
                return httpx.Response(
                    503, json={"error": {"type": "ServiceUnavailable", "message": "outage"}}
                )
            self.api_requests += 1
        response = await self.inner.handle_async_request(request)
        if request.url.path.startswith("/api/v4/"):
            self.statuses[response.status_code] += 1
            if self.mangle is not None and response.status_code == 200:
                return await self._mangled(request, response)
        return response

    async def _mangled(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        assert self.mangle is not None
        body = json.loads(await response.aread())
        path = request.url.path.removeprefix("/api/v4/").removesuffix(".json")
        if isinstance(body.get("data"), list):
            body["data"] = [self.mangle(path, dict(record)) for record in body["data"]]
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, content=json.dumps(body).encode())


class Sandboxes(httpx.AsyncBaseTransport):
    """Clio as the service sees it: each test's sandbox under a host of its own (a firm keeps
    the Clio host it linked with). Waiting moves the current sandbox's clock."""

    def __init__(self) -> None:
        self.hosts: dict[str, Counting] = {}
        self.current: SandboxTime | None = None

    def add(self, host: str, app: FastAPI) -> Counting:
        counting = Counting(httpx.ASGITransport(app=app))
        self.hosts[host] = counting
        self.current = SandboxTime(app.state.sandbox)
        return counting

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.hosts.get(request.url.host)
        if target is None:
            return httpx.Response(502, json={"error": f"no sandbox at {request.url.host}"})
        return await target.handle_async_request(request)

    def now(self) -> float:
        return self.current.now() if self.current else 0.0

    async def sleep(self, seconds: float) -> None:
        if self.current is not None:
            await self.current.sleep(seconds)


def ledger_stand_in(charts: MutableMapping[str, tuple[str, ...]]) -> FastAPI:
    """The ledger's ``GET /firms/{firm}/accounts`` as agreed, over the charts given."""
    app = FastAPI()

    @app.get("/firms/{firm_id}/accounts")
    async def accounts(firm_id: str, request: Request) -> list[dict[str, Any]]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            principal = verify_token(KEY, token)
        except InvalidToken as error:
            raise HTTPException(401, str(error)) from error
        if scheme.lower() != "bearer" or principal.firm_id != firm_id:
            raise HTTPException(404, "no such firm")
        if principal.role is not Role.SERVICE:
            raise HTTPException(403, "service role needed")
        if firm_id not in charts:
            raise HTTPException(404, "firm not set up")
        return [
            {
                "code": code,
                "name": f"Account {code}",
                "type": "income" if code.startswith("4") else "asset",
                "role": None,
                "currency": "EUR",
                "bank_account_id": None,
            }
            for code in charts[firm_id]
        ]

    return app


@dataclass
class Service:
    """One connector service (its app started with its lifespan), shared by a module's tests."""

    app: FastAPI
    settings: Settings
    sandboxes: Sandboxes
    infrastructure: Infrastructure
    charts: dict[str, tuple[str, ...]]

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime


@dataclass
class Connector:
    """The service, one firm, and that firm's Clio (a sandbox of its own)."""

    service: Service
    firm_id: str
    api: httpx.AsyncClient
    sandbox_app: FastAPI
    sandbox: httpx.AsyncClient
    clio: Counting
    topic_start: dict[TopicPartition, int]

    @property
    def app(self) -> FastAPI:
        return self.service.app

    @property
    def settings(self) -> Settings:
        return self.service.settings

    @property
    def infrastructure(self) -> Infrastructure:
        return self.service.infrastructure

    @property
    def firm(self) -> Firm:
        firm: Firm = self.sandbox_app.state.sandbox.firm
        return firm

    @property
    def runtime(self) -> Runtime:
        return self.service.runtime

    @property
    def time(self) -> SandboxTime:
        time = self.service.sandboxes.current
        assert time is not None
        return time

    def as_role(self, role: Role, firm_id: str | None = None) -> httpx.AsyncClient:
        token = issue_token(KEY, firm_id=firm_id or self.firm_id, role=role, subject="tester")
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://connector.test",
            headers={"Authorization": f"Bearer {token}"},
        )

    # --- Link ----------------------------------------------------------------------------------

    async def authorize(self) -> dict[str, str]:
        """Ask the connector for Clio's authorize URL and follow it in the sandbox (which
        approves at once); returns the query Clio redirects back with."""
        started = await self.api.post(f"/firms/{self.firm_id}/clio/link", json={})
        assert started.status_code == 200, started.text
        url = httpx.URL(started.json()["authorize_url"])
        assert url.host == self.sandbox.base_url.host
        consent = await self.sandbox.get(url.raw_path.decode())
        assert consent.status_code == 302, consent.text
        location = consent.headers["location"]
        assert location.startswith(REDIRECT)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def link(self) -> dict[str, Any]:
        params = await self.authorize()
        answer = await self.api.get("/clio/oauth/callback", params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # --- Settings and syncs ------------------------------------------------------------------

    async def put_settings(self, **values: Any) -> httpx.Response:
        current = (await self.api.get(f"/firms/{self.firm_id}/settings")).json()
        return await self.api.put(f"/firms/{self.firm_id}/settings", json={**current, **values})

    async def start(self, kind: str = "incremental", *, within: float = 30.0) -> dict[str, Any]:
        """Start a sync; while another runs (a poll, a webhook sync), wait and ask again."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            answer = await self.api.post(f"/firms/{self.firm_id}/syncs", json={"kind": kind})
            if answer.status_code == 202:
                body: dict[str, Any] = answer.json()
                return body
            assert answer.status_code == 409, answer.text
            assert asyncio.get_running_loop().time() < deadline, answer.text
            await asyncio.sleep(0.05)

    async def run(self, sync_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/firms/{self.firm_id}/syncs/{sync_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def finished(self, sync_id: str, *, within: float = 60.0) -> dict[str, Any]:
        result: dict[str, Any] = {}

        async def done() -> bool:
            result.update(await self.run(sync_id))
            return bool(result["status"] != "running")

        await eventually(done, within=within, interval=0.1)
        return result

    async def sync(self, kind: str = "incremental") -> dict[str, Any]:
        started = await self.start(kind)
        return await self.finished(started["sync_id"])

    async def log(self, **params: Any) -> list[dict[str, Any]]:
        """Every sync-log line matching the filters (page by page), newest first."""
        lines: list[dict[str, Any]] = []
        while True:
            answer = await self.api.get(
                f"/firms/{self.firm_id}/sync-log",
                params={"limit": 1000, "offset": len(lines), **params},
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()
            lines.extend(page["lines"])
            if len(lines) >= page["total"] or not page["lines"]:
                return lines

    async def log_count(self, **params: Any) -> int:
        answer = await self.api.get(
            f"/firms/{self.firm_id}/sync-log", params={"limit": 1, **params}
        )
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])

    # --- The bus -------------------------------------------------------------------------------

    async def published(self) -> None:
        """Wait until the outbox relay has published everything committed."""

        async def empty() -> bool:
            return await self.runtime.relay.pending() == 0

        await eventually(empty, within=60)

    async def clio_events(self) -> list[Envelope[EventPayload]]:
        """Every record's event on ``clio.events.v1`` for this firm, in topic order (the syncs'
        ``clio.sync.completed`` left out: ``sync_completions``)."""
        return [e for e in await self.topic_events() if isinstance(e.data, ClioEvent)]

    async def sync_completions(self) -> list[Envelope[SyncCompleted]]:
        """The firm's ``clio.sync.completed`` events, in topic order."""
        return [
            cast(Envelope[SyncCompleted], e)
            for e in await self.topic_events()
            if isinstance(e.data, SyncCompleted)
        ]

    async def topic_events(self) -> list[Envelope[EventPayload]]:
        """Every event on ``clio.events.v1`` for this firm, in topic order (read from where the
        topic ended when the firm was made: nothing of this firm can be before that)."""
        await self.published()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.infrastructure.kafka_bootstrap_servers,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await consumer.start()
        events: list[Envelope[EventPayload]] = []
        quiet = 0
        key = self.firm_id.encode()
        try:
            consumer.assign(list(self.topic_start))
            for partition, offset in self.topic_start.items():
                consumer.seek(partition, offset)
            while quiet < 2:
                batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
                got = 0
                for records in batch.values():
                    for record in records:
                        got += 1
                        if record.key == key:
                            events.append(parse_event(record.value or b""))
                quiet = 0 if got else quiet + 1
        finally:
            await consumer.stop()
        return events

    async def published_lines(self) -> int:
        """Sync-log lines that put an event in the outbox."""
        async with self.runtime.db.transaction() as session:
            rows = await session.scalars(
                select(sync_log.c.event_id).where(
                    sync_log.c.firm_id == self.firm_id, sync_log.c.ledger_status.is_not(None)
                )
            )
            return len(list(rows))

    async def answer_as_ledger(self, events: list[Envelope[Any]]) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.infrastructure.kafka_bootstrap_servers,
            enable_idempotence=False,
            acks="all",
        )
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(
                    LEDGER_EVENTS, value=encode_event(event), key=event.firm_id.encode()
                )
        finally:
            await producer.stop()

    # --- The sandbox ---------------------------------------------------------------------------

    async def control(self, method: str, path: str, **body: Any) -> Any:
        answer = await self.sandbox.request(method, f"/_control{path}", json=body or None)
        assert answer.status_code < 300, answer.text
        return answer.json()

    def record(self, resource: str, record_id: int) -> dict[str, Any]:
        """A record as the sandbox holds it."""
        found = self.firm.store.get(resource, record_id)
        assert found is not None, f"no {resource} {record_id} in the sandbox"
        return dict(found)

    async def webhooks_settled(self) -> None:
        await asyncio.sleep(0)
        await self.sandbox_app.state.hooks.drain(10)


def sandbox_settings(**extra: Any) -> SandboxSettings:
    values: dict[str, Any] = {
        "rate_limit": "off",
        "oauth_clients": [
            OAuthClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT])
        ],
        **extra,
    }
    return SandboxSettings(**values)


_TOPICS_READY = False


@contextlib.asynccontextmanager
async def service(infrastructure: Infrastructure, **overrides: Any) -> AsyncIterator[Service]:
    """The connector service on the test infrastructure, started and stopped with its lifespan."""
    global _TOPICS_READY
    if not _TOPICS_READY:
        await ensure_topics(infrastructure.kafka_bootstrap_servers, ALL_TOPICS_WITH_DLQ)
        _TOPICS_READY = True
    name = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "service_name": f"connector_{name}",
        "database_url": infrastructure.database_url,
        "kafka_bootstrap_servers": infrastructure.kafka_bootstrap_servers,
        "kafka_enable_idempotence": infrastructure.kafka_enable_idempotence,
        "auth_signing_key": KEY,
        "token_encryption_key": Fernet.generate_key().decode(),
        "clio_base_url": None,  # each test's firm links to its own sandbox
        "clio_client_id": CLIENT_ID,
        "clio_client_secret": CLIENT_SECRET,
        "clio_redirect_uri": REDIRECT,
        "connector_public_url": PUBLIC_URL,
        "ledger_url": LEDGER,
        "clio_poll_seconds": 0,
        "clio_webhook_debounce_seconds": 0.2,
        "outbox_poll_seconds": 0.1,
        **overrides,
    }
    settings = Settings(**values)
    sandboxes = Sandboxes()
    charts: dict[str, tuple[str, ...]] = {}
    app = build(
        settings,
        clio=ClioAccess(
            transport=sandboxes, sleep=sandboxes.sleep, clock=sandboxes.now, retry=RetryPolicy()
        ),
        ledger_transport=httpx.ASGITransport(app=ledger_stand_in(charts)),
    )
    async with app.router.lifespan_context(app):
        yield Service(app, settings, sandboxes, infrastructure, charts)


@contextlib.asynccontextmanager
async def firm_of(
    service: Service,
    firm: Firm,
    *,
    sandbox: SandboxSettings | None = None,
    chart: tuple[str, ...] | None = CHART,
) -> AsyncIterator[Connector]:
    """A new firm on the service, with its Clio: a sandbox serving ``firm`` at a host of its own,
    delivering its webhooks to the service. The service links new firms to this sandbox."""
    name = uuid.uuid4().hex[:10]
    firm_id = f"firm-{name}"
    host = f"clio-{name}.test"
    sandbox_app = create_app(
        firm, sandbox or sandbox_settings(), webhook_transport=httpx.ASGITransport(app=service.app)
    )
    clio = service.sandboxes.add(host, sandbox_app)
    service.settings.clio_base_url = f"http://{host}"
    if chart is not None:
        service.charts[firm_id] = chart
    token = issue_token(KEY, firm_id=firm_id, role=Role.ADMIN, subject="tester")
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app),
            base_url="http://connector.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app), base_url=f"http://{host}"
        ) as sb,
    ):
        yield Connector(
            service, firm_id, api, sandbox_app, sb, clio, await _topic_end(service.infrastructure)
        )


async def _topic_end(infrastructure: Infrastructure) -> dict[TopicPartition, int]:
    """Where each partition of ``clio.events.v1`` ends now (Tansu may answer a little less than
    the end, never more, so reading from here misses nothing published later)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(CLIO_EVENTS)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(CLIO_EVENTS) or set()
        assigned = [TopicPartition(CLIO_EVENTS, p) for p in sorted(partitions)]
        ends = await consumer.end_offsets(assigned)
        return {tp: int(offset) for tp, offset in ends.items()}
    finally:
        await consumer.stop()


# --- What the events say, folded as a ledger would hold them --------------------------------------


def ledger_figures(events: list[Envelope[EventPayload]]) -> dict[str, int]:
    """The oracle's figures from the events: each record's latest event stands (a change
    replaces, a void or reversal or deletion removes), then summed in minor units."""
    bills: dict[int, BillApproved | BillChanged] = {}
    standing: dict[tuple[str, int], ClioEvent] = {}
    for envelope in events:
        payload = envelope.data
        assert isinstance(payload, ClioEvent)
        key = (payload.source.object_type, payload.source.object_id)
        if isinstance(payload, BillApproved | BillChanged):
            bills[payload.bill.bill_id] = payload
        elif isinstance(payload, BillVoided):
            bills.pop(payload.bill_id, None)
        elif isinstance(payload, BillPaymentReversed):
            standing.pop(key, None)
        elif isinstance(payload, RecordDeletedInClio):
            standing.pop(key, None)
            if payload.source.object_type == "Bill":
                bills.pop(payload.source.object_id, None)
        else:
            standing[key] = payload
    sums: dict[str, int] = dict.fromkeys(
        (
            "bills_posted",
            "bills_total",
            "fees",
            "discounts_allowed",
            "vat_output",
            "recoverable_expenses",
            "disbursements_billed",
            "disbursements_paid_from_office",
            "linked_outlays",
            "office_receipts",
            "transfers_client_to_office",
            "trust_payments",
            "credits_applied",
            "trust_receipts",
        ),
        0,
    )
    for bill_event in bills.values():
        bill = bill_event.bill
        sums["bills_posted"] += 1
        sums["bills_total"] += bill.total.amount_minor
        sums["fees"] += sum(line.net.amount_minor for line in bill.fees)
        sums["discounts_allowed"] += bill.bill_level_discount.amount_minor
        sums["vat_output"] += bill.vat_total.amount_minor
        sums["recoverable_expenses"] += sum(
            line.net.amount_minor for line in bill.recoverable_expenses
        )
        sums["disbursements_billed"] += sum(line.net.amount_minor for line in bill.disbursements)
    for payload in standing.values():
        if isinstance(payload, DisbursementPaid):
            sums["disbursements_paid_from_office"] += payload.net.amount_minor
        elif isinstance(payload, PurchaseInvoiceRecorded):
            sums["linked_outlays"] += payload.net.amount_minor
        elif isinstance(payload, BillPaymentReceived):
            if payload.paid_from is AccountKind.OFFICE:
                sums["office_receipts"] += payload.amount.amount_minor
            else:
                sums["transfers_client_to_office"] += payload.amount.amount_minor
                sums["trust_payments"] += payload.amount.amount_minor
        elif isinstance(payload, CreditMemoIssued):
            sums["credits_applied"] += payload.amount.amount_minor
        elif isinstance(payload, ClientMoneyReceived):
            sums["trust_receipts"] += payload.amount.amount_minor
        elif isinstance(payload, ClientMoneyPaid):
            sums["trust_payments"] += payload.amount.amount_minor
    return sums


def oracle_figures(oracle: Any, names: list[str]) -> dict[str, int]:
    totals = oracle.totals.model_dump()
    return {name: int(totals[name]) for name in names}


def keyed(events: list[Envelope[EventPayload]]) -> list[tuple[str, int]]:
    """(event type, Clio record id) of each event."""
    out = []
    for envelope in events:
        payload = envelope.data
        assert isinstance(payload, ClioEvent)
        out.append((envelope.type, payload.source.object_id))
    return out


async def until(predicate: Callable[[], Awaitable[object]], within: float = 60.0) -> None:
    await eventually(predicate, within=within, interval=0.1)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
