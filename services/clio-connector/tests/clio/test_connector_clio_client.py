"""The Clio client against an in-memory Clio (httpx.MockTransport) that pages, rate-limits,
fails and expires tokens the way Clio does. Time is fake: every wait is recorded, none is slept."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from clio_connector.clio.client import (
    CLIO_API_VERSION,
    ClioClient,
    ClioRegion,
    Page,
    RetryPolicy,
    format_updated_since,
)
from clio_connector.clio.errors import (
    ClioApiVersionRejected,
    ClioNotFound,
    ClioPreconditionFailed,
    ClioProtocolError,
    ClioRateLimitExhausted,
    ClioRequestError,
    ClioUnauthorized,
    ClioUnavailable,
)
from clio_connector.domain.fields import BILLS
from clio_connector.domain.records import loads_exact

BASE = "https://eu.app.clio.com"
START = 1_770_000_000.0  # a Unix time; the fake clock starts here


class FakeTime:
    """A clock that only moves when the client sleeps; records each sleep and how many requests
    Clio had seen at that moment."""

    def __init__(self, requests_seen: Callable[[], int] = lambda: 0) -> None:
        self.now = START
        self.sleeps: list[float] = []
        self.slept_after_requests: list[int] = []
        self.requests_seen = requests_seen

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.slept_after_requests.append(self.requests_seen())
        self.now += seconds


class Tokens:
    """A token provider: hands out the current token, refreshes to the next one on request."""

    def __init__(self, *tokens: str) -> None:
        self._tokens = list(tokens)
        self.current = self._tokens.pop(0)
        self.refreshed: list[str] = []

    async def access_token(self) -> str:
        return self.current

    async def refresh_access_token(self, rejected: str) -> str:
        self.refreshed.append(rejected)
        self.current = self._tokens.pop(0)
        return self.current


class FakeClio:
    """Clio's bills index: cursor pages of ``page_size`` with a ``page_token`` in the next link,
    and a per-token budget of ``limit`` requests per 60-second window (``X-RateLimit-*``)."""

    def __init__(self, time: FakeTime, *, records: int = 5, page_size: int = 2, limit: int = 50):
        self.time = time
        self.records = [
            {"id": n, "etag": f'"e{n}"', "total": Decimal(f"{n}00.10")}
            for n in range(1, records + 1)
        ]
        self.page_size = page_size
        self.limit = limit
        self.window_reset = START + 60
        self.remaining = limit
        self.requests: list[httpx.Request] = []
        self.rate_limited = 0
        self.valid_token = "t1"
        time.requests_seen = lambda: len(self.requests)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.time.now >= self.window_reset:
            self.window_reset = self.time.now + 60
            self.remaining = self.limit
        if self.remaining == 0:
            self.rate_limited += 1
            return self.respond(429, {"error": {"type": "RateLimited", "message": "slow down"}})
        self.remaining -= 1
        if request.headers["Authorization"] != f"Bearer {self.valid_token}":
            return self.respond(401, {"error": "invalid_token", "error_description": "expired"})
        token = request.url.params.get("page_token")
        start = int(token) if token else 0
        chunk = self.records[start : start + self.page_size]
        paging: dict[str, str] = {}
        if start + self.page_size < len(self.records):
            paging["next"] = self.next_link(start + self.page_size)
        return self.respond(200, {"data": chunk, "meta": {"paging": paging}})

    def next_link(self, offset: int) -> str:
        # Clio's own link, with a parameter spelled its own way: it must be followed as given.
        return (
            f"{BASE}/api/v4/bills.json?fields=id%2Cetag%2Ctotal&limit=2&order=id(asc)"
            f"&page_token={offset}"
        )

    def respond(self, status: int, body: Any) -> httpx.Response:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.window_reset)),
        }
        if status == 429:
            headers["Retry-After"] = str(int(self.window_reset - self.time.now))
        return httpx.Response(status, content=_json(body), headers=headers)


def _json(body: Any) -> bytes:
    """JSON with Decimals written as the numbers they are (as Clio writes them)."""
    if isinstance(body, Decimal):
        return str(body).encode()
    if isinstance(body, dict):
        items = (f'"{key}":{_json(value).decode()}' for key, value in body.items())
        return ("{" + ",".join(items) + "}").encode()
    if isinstance(body, list):
        return ("[" + ",".join(_json(item).decode() for item in body) + "]").encode()
    return json.dumps(body).encode()


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    time: FakeTime,
    tokens: Tokens | None = None,
    retry: RetryPolicy | None = None,
) -> ClioClient:
    return ClioClient(
        BASE,
        tokens or Tokens("t1"),
        transport=httpx.MockTransport(handler),
        sleep=time.sleep,
        clock=time.clock,
        jitter=lambda: 1.0,  # the longest wait full jitter allows: deterministic
        retry=retry,
    )


async def read_all(client: ClioClient, **kwargs: Any) -> list[Page]:
    return [page async for page in client.pages(BILLS, **kwargs)]


class TestCursorPaging:
    async def test_reads_every_page_in_id_order_following_next_exactly_as_given(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=5, page_size=2)
        async with client_for(clio, time) as client:
            since = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
            pages = await read_all(client, updated_since=since)

        assert [[r["id"] for r in page.records] for page in pages] == [[1, 2], [3, 4], [5]]
        first = clio.requests[0].url
        assert first.path == "/api/v4/bills"
        assert first.params["fields"] == BILLS.fields_param
        assert first.params["order"] == "id(asc)"
        assert first.params["limit"] == "200"
        assert first.params["updated_since"] == "2026-02-01T09:30:00Z"
        assert [str(r.url) for r in clio.requests[1:]] == [clio.next_link(2), clio.next_link(4)]
        assert [page.next_url for page in pages] == [clio.next_link(2), clio.next_link(4), None]
        assert (client.stats.requests, client.stats.pages, client.stats.records) == (3, 3, 5)
        assert time.sleeps == []

    async def test_resumes_from_a_stored_next_link(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=5, page_size=2)
        async with client_for(clio, time) as client:
            pages = await read_all(client, resume_from=clio.next_link(2))

        assert [[r["id"] for r in page.records] for page in pages] == [[3, 4], [5]]
        assert str(clio.requests[0].url) == clio.next_link(2)

    async def test_money_arrives_as_exact_decimals(self) -> None:
        time = FakeTime()
        async with client_for(FakeClio(time, records=1), time) as client:
            [page] = await read_all(client)
        assert page.records[0]["total"] == Decimal("100.10")
        assert isinstance(page.records[0]["total"], Decimal)

    async def test_sends_the_token_and_pins_the_api_version(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=1)
        async with client_for(clio, time) as client:
            await read_all(client)
        assert clio.requests[0].headers["Authorization"] == "Bearer t1"
        assert clio.requests[0].headers["X-API-VERSION"] == CLIO_API_VERSION == "4.0.9"

    async def test_a_next_link_to_another_host_is_refused_and_never_followed(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=3, page_size=2)
        clio.next_link = lambda offset: f"https://evil.example/api/v4/bills?page_token={offset}"  # type: ignore[method-assign]
        async with client_for(clio, time) as client:
            with pytest.raises(ClioProtocolError, match="another host"):
                await read_all(client)
        assert len(clio.requests) == 1

    async def test_filters_become_query_parameters_and_id_lists_repeat(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=1)
        async with client_for(clio, time) as client:
            await read_all(client, filters={"ids": [7, 8], "state": "void", "overdue_only": False})
        params = clio.requests[0].url.params
        assert params.get_list("ids[]") == ["7", "8"]
        assert (params["state"], params["overdue_only"]) == ("void", "false")


class TestRateLimits:
    async def test_the_budget_is_spent_without_waiting_and_only_an_empty_budget_waits(
        self,
    ) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=5, page_size=1, limit=3)
        async with client_for(clio, time) as client:
            pages = await read_all(client)

        assert len(pages) == 5
        # Three requests spend the window's budget of three without a pause; the fourth waits
        # for the window to reset (60 s after it opened), then two more go straight out.
        assert time.slept_after_requests == [3]
        assert time.sleeps == [60.0]
        assert clio.rate_limited == 0  # Clio never had to say 429
        assert (client.stats.rate_limit_waits, client.stats.rate_limit_wait_seconds) == (1, 60.0)

    async def test_a_429_waits_retry_after_then_carries_on(self) -> None:
        time = FakeTime()
        answers = iter(
            [
                httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {}}),
                httpx.Response(200, json={"data": [{"id": 1}], "meta": {"paging": {}}}),
            ]
        )
        async with client_for(lambda request: next(answers), time) as client:
            [page] = await read_all(client)

        assert page.records == [{"id": 1}]
        assert time.sleeps == [7.0]
        assert (client.stats.requests, client.stats.rate_limit_waits, client.stats.retries) == (
            2,
            1,
            0,
        )

    async def test_a_429_without_retry_after_waits_for_the_reset(self) -> None:
        time = FakeTime()
        answers = iter(
            [
                httpx.Response(429, headers={"X-RateLimit-Reset": str(int(START) + 42)}),
                httpx.Response(200, json={"data": [], "meta": {}}),
            ]
        )
        async with client_for(lambda request: next(answers), time) as client:
            await read_all(client)
        assert time.sleeps == [42.0]

    async def test_a_429_storm_gives_up_after_the_allowed_waits(self) -> None:
        time = FakeTime()
        requests: list[httpx.Request] = []

        def always_limited(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return httpx.Response(429, headers={"Retry-After": "1"})

        retry = RetryPolicy(max_rate_limit_waits=3)
        async with client_for(always_limited, time, retry=retry) as client:
            with pytest.raises(ClioRateLimitExhausted):
                await read_all(client)
        assert len(requests) == 4  # the first try and three waits
        assert time.sleeps == [1.0, 1.0, 1.0]


class TestFailuresThatAreRetried:
    async def test_5xx_is_retried_with_exponential_backoff(self) -> None:
        time = FakeTime()
        answers = iter(
            [
                httpx.Response(503, text="Service Unavailable"),
                httpx.Response(502, text="Bad Gateway"),
                httpx.Response(200, json={"data": [{"id": 1}], "meta": {}}),
            ]
        )
        async with client_for(lambda request: next(answers), time) as client:
            [page] = await read_all(client)

        assert page.records == [{"id": 1}]
        assert time.sleeps == [0.5, 1.0]  # base 0.5 s, doubling; jitter set to its maximum
        assert client.stats.retries == 2

    async def test_backoff_is_jittered_between_zero_and_the_ceiling(self) -> None:
        time = FakeTime()
        answers = iter(
            [httpx.Response(500), httpx.Response(500), httpx.Response(200, json={"data": []})]
        )
        client = ClioClient(
            BASE,
            Tokens("t1"),
            transport=httpx.MockTransport(lambda request: next(answers)),
            sleep=time.sleep,
            clock=time.clock,
            jitter=lambda: 0.25,
        )
        async with client:
            await read_all(client)
        assert time.sleeps == [0.125, 0.25]  # 0.25 × 0.5 s, 0.25 × 1 s

    async def test_a_server_that_keeps_failing_raises_after_the_allowed_attempts(self) -> None:
        time = FakeTime()
        calls: list[httpx.Request] = []

        def broken(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            return httpx.Response(500, json={"error": {"type": "ServerError", "message": "boom"}})

        async with client_for(broken, time, retry=RetryPolicy(max_attempts=4)) as client:
            with pytest.raises(ClioUnavailable, match="boom") as failure:
                await read_all(client)
        assert failure.value.attempts == 4
        assert len(calls) == 4
        assert time.sleeps == [0.5, 1.0, 2.0]

    @pytest.mark.parametrize(
        "error",
        [
            httpx.ReadTimeout("read timed out"),
            httpx.ConnectError("connection refused"),
            httpx.RemoteProtocolError("peer closed connection without sending complete body"),
        ],
        ids=["timeout", "connect", "dropped"],
    )
    async def test_timeouts_and_broken_connections_are_retried(self, error: Exception) -> None:
        time = FakeTime()
        calls = 0

        def flaky(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise error
            return httpx.Response(200, json={"data": [{"id": 1}], "meta": {}})

        async with client_for(flaky, time) as client:
            [page] = await read_all(client)
        assert page.records == [{"id": 1}]
        assert calls == 2

    @pytest.mark.parametrize(
        "body",
        [b'{"data": [{"id": 1, "total": 10', b"<html>Bad gateway</html>", b'{"data": "x"}', b"[]"],
        ids=["truncated", "html", "data-not-a-list", "no-envelope"],
    )
    async def test_a_truncated_or_foreign_body_is_retried(self, body: bytes) -> None:
        time = FakeTime()
        answers = iter(
            [httpx.Response(200, content=body), httpx.Response(200, json={"data": [{"id": 1}]})]
        )
        async with client_for(lambda request: next(answers), time) as client:
            [page] = await read_all(client)
        assert page.records == [{"id": 1}]
        assert client.stats.retries == 1


class TestTokens:
    async def test_a_401_refreshes_the_token_once_and_sends_the_request_again(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=1)
        clio.valid_token = "t2"  # t1 has expired
        tokens = Tokens("t1", "t2")
        async with client_for(clio, time, tokens=tokens) as client:
            [page] = await read_all(client)

        assert [r["id"] for r in page.records] == [1]
        assert tokens.refreshed == ["t1"]
        assert [r.headers["Authorization"] for r in clio.requests] == ["Bearer t1", "Bearer t2"]
        assert client.stats.token_refreshes == 1

    async def test_a_401_after_refreshing_means_the_firm_must_link_clio_again(self) -> None:
        time = FakeTime()
        clio = FakeClio(time, records=1)
        clio.valid_token = "never"
        tokens = Tokens("t1", "t2", "t3")
        async with client_for(clio, time, tokens=tokens) as client:
            with pytest.raises(ClioUnauthorized, match="expired"):
                await read_all(client)
        assert tokens.refreshed == ["t1"]


class TestRefusals:
    async def test_a_4xx_is_not_retried_and_carries_clios_message(self) -> None:
        time = FakeTime()
        calls: list[httpx.Request] = []

        def invalid_fields(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            body = {"error": {"type": "InvalidFields", "message": "Invalid fields: descripton"}}
            return httpx.Response(400, json=body)

        async with client_for(invalid_fields, time) as client:
            with pytest.raises(ClioRequestError) as refusal:
                await read_all(client)

        assert (refusal.value.status, refusal.value.error_type) == (400, "InvalidFields")
        assert refusal.value.message == "Invalid fields: descripton"
        assert len(calls) == 1 and time.sleeps == []

    @pytest.mark.parametrize(
        ("status", "error"),
        [(404, ClioNotFound), (410, ClioApiVersionRejected), (412, ClioPreconditionFailed)],
    )
    async def test_statuses_with_their_own_meaning_have_their_own_error(
        self, status: int, error: type[ClioRequestError]
    ) -> None:
        time = FakeTime()
        async with client_for(lambda request: httpx.Response(status), time) as client:
            with pytest.raises(error):
                await client.get_record(BILLS, 5550012)


class TestWritingBack:
    async def test_a_disbursement_correction_is_sent_with_if_match_and_exact_numbers(
        self,
    ) -> None:
        time = FakeTime()
        sent: list[httpx.Request] = []

        def clio(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(
                200, content=b'{"data": {"id": 9911220002, "etag": "\\"aa03\\"", "total": 150.55}}'
            )

        async with client_for(clio, time) as client:
            record = await client.patch_activity(
                9911220002,
                {"tax_setting": "no_tax", "price": Decimal("150.55")},
                if_match='"aa02"',
            )

        [request] = sent
        assert request.method == "PATCH"
        assert request.url.path == "/api/v4/activities/9911220002"
        assert request.headers["If-Match"] == '"aa02"'
        assert loads_exact(request.content) == {
            "data": {"tax_setting": "no_tax", "price": Decimal("150.55")}
        }
        assert b"150.55" in request.content
        assert record["total"] == Decimal("150.55")

    async def test_a_changed_activity_is_not_overwritten(self) -> None:
        time = FakeTime()
        answer = httpx.Response(
            412, json={"error": {"type": "PreconditionFailed", "message": "etag mismatch"}}
        )
        async with client_for(lambda request: answer, time) as client:
            with pytest.raises(ClioPreconditionFailed, match="etag mismatch"):
                await client.patch_activity(1, {"note": "x"}, if_match='"old"')


class TestConfiguration:
    def test_each_region_has_its_own_host(self) -> None:
        client = ClioClient(ClioRegion.AU, Tokens("t1"))
        assert client.url("bills") == "https://au.app.clio.com/api/v4/bills"
        assert ClioRegion.EU.value == "https://eu.app.clio.com"

    def test_the_sandbox_is_just_another_base_url(self) -> None:
        client = ClioClient("http://127.0.0.1:8765/", Tokens("t1"))
        assert client.url("/matters") == "http://127.0.0.1:8765/api/v4/matters"

    def test_a_base_url_that_is_not_http_is_refused(self) -> None:
        with pytest.raises(ValueError, match="http"):
            ClioClient("ftp://eu.app.clio.com", Tokens("t1"))

    def test_updated_since_is_utc_with_z_and_never_later_than_asked(self) -> None:
        dublin_summer = timezone(timedelta(hours=1))
        moment = datetime(2026, 6, 1, 10, 0, 59, 999_999, tzinfo=dublin_summer)
        assert format_updated_since(moment) == "2026-06-01T09:00:59Z"
        with pytest.raises(ValueError, match="time zone"):
            format_updated_since(datetime(2026, 6, 1))  # noqa: DTZ001 - the point of the test
