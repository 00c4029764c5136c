"""An async client for Clio Manage API v4 that a long sync can lean on.

* One base URL per firm: a Clio region host or the sandbox; paths under ``/api/v4``.
* ``X-API-VERSION`` pinned (``CLIO_API_VERSION``), so Clio's default-version changes never
  change what the connector reads (activity quantities are seconds from 4.0.4 on).
* The bearer token comes from a ``TokenProvider``; on a 401 the provider refreshes once and the
  request is sent again; a second 401 raises ``ClioUnauthorized``.
* Rate limits: the budget in ``X-RateLimit-Remaining`` is spent without pausing; only when it is
  used up does the client wait, until ``X-RateLimit-Reset``. A 429 waits ``Retry-After``.
* 5xx, timeouts, dropped connections and truncated or non-JSON bodies are retried with
  exponential backoff and full jitter, a bounded number of times; any other 4xx raises a typed
  error carrying Clio's message at once.
* Lists are read with cursor paging (``order=id(asc)``, ``limit=200``) by following
  ``meta.paging.next`` exactly as given; pages are yielded one by one with the link to the next,
  so a sync commits page by page and resumes from the last link it stored.
* JSON numbers are parsed as ``Decimal`` (``loads_exact``): money never passes through a float.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import httpx

from clio_connector.clio.errors import (
    ClioApiVersionRejected,
    ClioForbidden,
    ClioNotFound,
    ClioPreconditionFailed,
    ClioProtocolError,
    ClioRateLimitExhausted,
    ClioRequestError,
    ClioUnauthorized,
    ClioUnavailable,
)
from clio_connector.domain.fields import ACTIVITIES, ClioResource
from clio_connector.domain.records import canonical_json, loads_exact

# 4.0.9 is the default version of the OpenAPI document the connector was written against
# (clio-api-v4.md §1.2): activity quantities in seconds, bills without matter_balances.
CLIO_API_VERSION: Final = "4.0.9"
API_PATH: Final = "/api/v4"
PAGE_LIMIT: Final = 200
USER_AGENT: Final = "cashroom-clio-connector"
WHO_AM_I_FIELDS: Final = "id,name,email,time_zone,account{name}"
WEBHOOK_FIELDS: Final = "id,etag,url,model,events,status,expires_at,shared_secret,created_at"


class ClioRegion(StrEnum):
    """Clio's four regions; a token from one is refused by the others."""

    US = "https://app.clio.com"
    CA = "https://ca.app.clio.com"
    EU = "https://eu.app.clio.com"
    AU = "https://au.app.clio.com"


class TokenProvider(Protocol):
    """Where the client gets its bearer token. The caller refreshes before expiry; the client
    asks for a refresh when Clio answers 401 to ``rejected``."""

    async def access_token(self) -> str: ...

    async def refresh_access_token(self, rejected: str) -> str: ...


Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
QueryValue = str | int | bool | Sequence[int] | Sequence[str]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # tries per request when Clio fails (5xx, timeouts, broken bodies)
    base_delay: float = 0.5  # seconds; doubles per attempt, with full jitter
    max_delay: float = 30.0
    max_rate_limit_waits: int = 30  # 429s tolerated for one request
    longest_wait: float = 120.0  # cap on one rate-limit wait (Clio's window is 60 s)


@dataclass
class RequestStats:
    """Counters for a sync's progress report. ``requests`` counts every request sent."""

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    backoff_seconds: float = 0.0
    token_refreshes: int = 0
    pages: int = 0
    records: int = 0


@dataclass(frozen=True)
class Page:
    """One page of a list: its records and the link to the next page (None on the last)."""

    url: str
    records: list[dict[str, Any]]
    next_url: str | None


def format_updated_since(moment: datetime) -> str:
    """An ``updated_since`` value: UTC with ``Z``, whole seconds rounded down (never later)."""
    if moment.tzinfo is None:
        raise ValueError("updated_since needs a time zone; naive datetimes are ambiguous")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class _RetryableBody(Exception):
    """A 2xx whose body is not the JSON envelope Clio promises (truncated, HTML, ...)."""


class _RateBudget:
    """What Clio's ``X-RateLimit-*`` headers said about the current window."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.lock = asyncio.Lock()

    def observe(self, headers: httpx.Headers, now: float) -> None:
        limit = _number(headers.get("X-RateLimit-Limit"))
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if limit is not None:
            self.limit = int(limit)
        if remaining is not None:
            self.remaining = int(remaining)
        if reset is not None:
            # A Unix timestamp (Clio); a small number is read as seconds from now.
            self.reset_at = reset if reset > 1_000_000_000 else now + reset

    def wait_before_next(self, now: float) -> float:
        """Seconds to wait before the next request: zero while budget remains."""
        if self.remaining is None or self.remaining > 0:
            return 0.0
        if self.reset_at is None or self.reset_at <= now:
            return 0.0
        return self.reset_at - now

    def spend(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    def window_passed(self) -> None:
        self.remaining = None
        self.reset_at = None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


class ClioClient:
    """Clio Manage API v4 for one firm's connection. Use as ``async with ClioClient(...)``."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        api_version: str = CLIO_API_VERSION,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        root = httpx.URL(base_url.rstrip("/"))
        if root.scheme not in ("http", "https") or not root.host:
            raise ValueError(f"{base_url!r} is not an http(s) base URL")
        self.base_url = str(root)
        self.api_version = api_version
        self.stats = RequestStats()
        self._tokens = tokens
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._budget = _RateBudget()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    async def __aenter__(self) -> ClioClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        """``bills`` → ``https://eu.app.clio.com/api/v4/bills``."""
        return f"{self.base_url}{API_PATH}/{path.strip('/')}"

    # --- Reading ---------------------------------------------------------------------------------

    async def pages(
        self,
        resource: ClioResource | str,
        *,
        fields: str | None = None,
        updated_since: datetime | None = None,
        filters: Mapping[str, QueryValue] | None = None,
        limit: int = PAGE_LIMIT,
        resume_from: str | None = None,
    ) -> AsyncIterator[Page]:
        """Every page of a list, in id order, following ``meta.paging.next`` as given.

        ``resume_from`` is a ``Page.next_url`` stored earlier: reading carries on from there.
        """
        if isinstance(resource, ClioResource):
            path, fields = resource.path, fields or resource.fields_param
        else:
            path = resource
        if not fields:
            raise ValueError("name the fields to read (Clio returns only id and etag otherwise)")
        if not 1 <= limit <= PAGE_LIMIT:
            raise ValueError(f"limit must be 1..{PAGE_LIMIT}")
        url: str | None
        params: list[tuple[str, str]] | None
        if resume_from is not None:
            url, params = self._same_origin(resume_from), None
        else:
            url = self.url(path)
            params = [("fields", fields), ("order", "id(asc)"), ("limit", str(limit))]
            if updated_since is not None:
                params.append(("updated_since", format_updated_since(updated_since)))
            params.extend(_query(filters or {}))
        while url is not None:
            current = url if params is None else str(httpx.URL(url, params=params))
            body = await self._request("GET", current, expect=_list_body)
            records = body["data"]
            next_url = _next_link(body)
            if next_url is not None:
                next_url = self._same_origin(next_url)
                if next_url == current:
                    raise ClioProtocolError(f"Clio's next page link points to itself: {current}")
            self.stats.pages += 1
            self.stats.records += len(records)
            yield Page(url=current, records=records, next_url=next_url)
            url, params = next_url, None

    async def get_record(
        self, resource: ClioResource | str, record_id: int, *, fields: str | None = None
    ) -> dict[str, Any]:
        """One record by id (``GET /{path}/{id}``)."""
        if isinstance(resource, ClioResource):
            path, fields = resource.path, fields or resource.fields_param
        else:
            path = resource
        params = [("fields", fields)] if fields else None
        body = await self._request(
            "GET", self.url(f"{path}/{record_id}"), params=params, expect=_record_body
        )
        record: dict[str, Any] = body["data"]
        return record

    async def who_am_i(self, *, fields: str = WHO_AM_I_FIELDS) -> dict[str, Any]:
        """The authorising user and the firm's name (``account{name}``)."""
        body = await self._request(
            "GET", self.url("users/who_am_i"), params=[("fields", fields)], expect=_record_body
        )
        user: dict[str, Any] = body["data"]
        return user

    # --- Writing ---------------------------------------------------------------------------------

    async def patch_activity(
        self,
        activity_id: int,
        changes: Mapping[str, Any],
        *,
        if_match: str,
        fields: str | None = None,
    ) -> dict[str, Any]:
        """Correct an expense entry in Clio, only if it is still the version read (``If-Match``
        with its etag); otherwise ``ClioPreconditionFailed``: read it again and re-decide.
        Returns the record as Clio now has it (Clio silently drops unknown fields: compare)."""
        if not changes:
            raise ValueError("nothing to change")
        body = await self._request(
            "PATCH",
            self.url(f"activities/{activity_id}"),
            params=[("fields", fields or ACTIVITIES.fields_param)],
            content=canonical_json({"data": dict(changes)}).encode(),
            headers={"If-Match": if_match, "Content-Type": "application/json"},
            expect=_record_body,
        )
        record: dict[str, Any] = body["data"]
        return record

    # --- Webhooks ---------------------------------------------------------------------------

    async def create_webhook(
        self, *, url: str, model: str, fields: str, events: Sequence[str]
    ) -> dict[str, Any]:
        """Subscribe ``url`` to a model's events. Clio answers with the subscription (pending
        until the ``X-Hook-Secret`` handshake) and its shared secret."""
        body = await self._request(
            "POST",
            self.url("webhooks"),
            params=[("fields", WEBHOOK_FIELDS)],
            content=canonical_json(
                {"data": {"url": url, "model": model, "fields": fields, "events": list(events)}}
            ).encode(),
            headers={"Content-Type": "application/json"},
            expect=_record_body,
        )
        record: dict[str, Any] = body["data"]
        return record

    async def get_webhook(self, webhook_id: int) -> dict[str, Any]:
        body = await self._request(
            "GET",
            self.url(f"webhooks/{webhook_id}"),
            params=[("fields", WEBHOOK_FIELDS)],
            expect=_record_body,
        )
        record: dict[str, Any] = body["data"]
        return record

    async def activate_webhook(self, webhook_id: int, *, secret: str) -> dict[str, Any]:
        """The delayed handshake: enable a pending webhook with its secret."""
        body = await self._request(
            "PUT",
            self.url(f"webhooks/{webhook_id}/activate"),
            params=[("fields", WEBHOOK_FIELDS)],
            headers={"X-Hook-Secret": secret},
            expect=_record_body,
        )
        record: dict[str, Any] = body["data"]
        return record

    async def extend_webhook(self, webhook_id: int, *, expires_at: datetime) -> dict[str, Any]:
        """Move a webhook's expiry (at most 31 days ahead of Clio's clock)."""
        body = await self._request(
            "PATCH",
            self.url(f"webhooks/{webhook_id}"),
            params=[("fields", WEBHOOK_FIELDS)],
            content=canonical_json(
                {"data": {"expires_at": format_updated_since(expires_at)}}
            ).encode(),
            headers={"Content-Type": "application/json"},
            expect=_record_body,
        )
        record: dict[str, Any] = body["data"]
        return record

    async def delete_webhook(self, webhook_id: int) -> None:
        await self._request("DELETE", self.url(f"webhooks/{webhook_id}"), expect=_record_body)

    # --- The one place requests are sent ------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Callable[[Any], dict[str, Any]],
    ) -> dict[str, Any]:
        token = await self._tokens.access_token()
        refreshed = False
        failures = 0
        rate_limit_waits = 0
        last_problem = ""
        while True:
            await self._wait_for_budget()
            self.stats.requests += 1
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=None if params is None else httpx.QueryParams(tuple(params)),
                    content=content,
                    headers={
                        **(headers or {}),
                        "Authorization": f"Bearer {token}",
                        "X-API-VERSION": self.api_version,
                    },
                )
            except (httpx.TransportError, httpx.DecodingError) as error:
                # Timeouts, refused or dropped connections, bodies cut short mid-read.
                failures += 1
                last_problem = f"{type(error).__name__}: {error}"
                await self._back_off(failures, last_problem, url)
                continue
            self._budget.observe(response.headers, self._clock())
            status = response.status_code
            if status == 401:
                if refreshed:
                    raise ClioUnauthorized(
                        f"Clio refused a freshly refreshed token for {url}: "
                        f"{_error_text(response)[1]}"
                    )
                token = await self._tokens.refresh_access_token(token)
                refreshed = True
                self.stats.token_refreshes += 1
                continue
            if status == 429:
                rate_limit_waits += 1
                if rate_limit_waits > self._retry.max_rate_limit_waits:
                    raise ClioRateLimitExhausted(
                        f"Clio still rate-limits {url} after {rate_limit_waits - 1} waits",
                        attempts=failures + rate_limit_waits,
                    )
                await self._wait_rate_limited(response, failures + rate_limit_waits)
                continue
            if status >= 500:
                failures += 1
                last_problem = f"{status} {_error_text(response)[1]}"
                await self._back_off(failures, last_problem, url)
                continue
            if status >= 400:
                raise _request_error(response, url)
            if status == 204:
                return {}  # no content (a DELETE)
            try:
                return expect(loads_exact(response.content))
            except (ValueError, _RetryableBody) as error:
                failures += 1
                last_problem = f"unreadable {status} body: {error}"
                await self._back_off(failures, last_problem, url)

    async def _wait_for_budget(self) -> None:
        async with self._budget.lock:
            wait = self._budget.wait_before_next(self._clock())
            if wait > 0:
                wait = min(wait, self._retry.longest_wait)
                self.stats.rate_limit_waits += 1
                self.stats.rate_limit_wait_seconds += wait
                await self._sleep(wait)
                self._budget.window_passed()
            self._budget.spend()

    async def _wait_rate_limited(self, response: httpx.Response, attempt: int) -> None:
        now = self._clock()
        wait = _retry_after(response.headers.get("Retry-After"), now)
        if wait is None and self._budget.reset_at is not None:
            wait = max(self._budget.reset_at - now, 0.0)
        if wait is None:
            wait = self._backoff_delay(attempt)
        wait = min(wait, self._retry.longest_wait)
        self.stats.rate_limit_waits += 1
        self.stats.rate_limit_wait_seconds += wait
        await self._sleep(wait)
        self._budget.window_passed()

    async def _back_off(self, failures: int, problem: str, url: str) -> None:
        if failures >= self._retry.max_attempts:
            raise ClioUnavailable(
                f"Clio failed {failures} times for {url}; last: {problem}", attempts=failures
            )
        delay = self._backoff_delay(failures)
        self.stats.retries += 1
        self.stats.backoff_seconds += delay
        await self._sleep(delay)

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2.0 ** (attempt - 1))
        return self._jitter() * ceiling

    def _same_origin(self, link: str) -> str:
        """A link from Clio, made absolute; refused if it leaves the base host (the bearer token
        must never be sent anywhere else)."""
        base = httpx.URL(self.base_url)
        target = base.join(link)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise ClioProtocolError(f"Clio linked to another host: {link}")
        return str(target)


# --- Reading Clio's answers ------------------------------------------------------------------------


def _list_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise _RetryableBody("expected {'data': [...]}")
    if not all(isinstance(record, dict) for record in body["data"]):
        raise _RetryableBody("a record in data is not a JSON object")
    return body


def _record_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise _RetryableBody("expected {'data': {...}}")
    return body


def _next_link(body: Mapping[str, Any]) -> str | None:
    meta = body.get("meta")
    paging = meta.get("paging") if isinstance(meta, Mapping) else None
    link = paging.get("next") if isinstance(paging, Mapping) else None
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise ClioProtocolError(f"meta.paging.next is not a link: {link!r}")
    return link


def _query(filters: Mapping[str, QueryValue]) -> list[tuple[str, str]]:
    """Filters as query pairs; a list becomes repeated ``name[]=`` pairs (``ids[]=1&ids[]=2``)."""
    pairs = []
    for name, value in filters.items():
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            key = name if name.endswith("[]") else f"{name}[]"
            pairs.extend((key, str(item)) for item in value)
    return pairs


def _retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds, or as an HTTP date."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(float(moment.timestamp()) - now, 0.0)


def _error_text(response: httpx.Response) -> tuple[str | None, str]:
    """Clio's error type and message from ``{"error": {"type", "message"}}`` or the OAuth
    shape ``{"error": "invalid_token", "error_description": ...}``."""
    try:
        body = loads_exact(response.content)
    except ValueError:
        text = response.text.strip()
        return None, (text[:200] or response.reason_phrase)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return _text(error.get("type")), _text(error.get("message")) or response.reason_phrase
        if isinstance(error, str):
            return error, _text(body.get("error_description")) or error
    return None, response.reason_phrase


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_ERRORS: dict[int, type[ClioRequestError]] = {
    403: ClioForbidden,
    404: ClioNotFound,
    410: ClioApiVersionRejected,
    412: ClioPreconditionFailed,
}


def _request_error(response: httpx.Response, url: str) -> ClioRequestError:
    error_type, message = _error_text(response)
    error_class = _ERRORS.get(response.status_code, ClioRequestError)
    return error_class(response.status_code, error_type, message, url)
