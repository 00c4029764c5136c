"""The running sandbox's state: the firm, the clock, tokens, rate limits, faults, webhooks."""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .books import Books
from .firm import Firm
from .settings import SandboxSettings

__all__ = ["AccessToken", "Grant", "RateWindow", "RequestLog", "SandboxState"]


@dataclass
class Grant:
    """One authorisation of a client by the firm's user (a refresh token and its access tokens)."""

    client_id: str
    user_id: int
    refresh_token: str
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    grant: Grant
    expires_at: float
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: int
    expires_at: float
    used: bool = False


@dataclass
class RateWindow:
    start: float
    count: int = 0


# Query parameters that only shape a read; the rest (filters, page tokens) tell reads apart.
_SHAPING = frozenset({"fields", "limit", "order"})
_ID = re.compile(r"/\d+(?=/|$)")


def request_kind(method: str, path: str, query_names: list[str]) -> str:
    """How the request log groups a request: ``GET bills``, ``GET bills/{id}``,
    ``GET line_items ?bill_id``, ``GET activities ?page_token`` (a next page)."""
    resource = _ID.sub("/{id}", "/" + path.strip("/").removesuffix(".json"))[1:]
    kept = sorted({n.removesuffix("[]") for n in query_names} - _SHAPING)
    return f"{method} {resource}" + (f" ?{'&'.join(kept)}" if kept else "")


@dataclass
class RequestLog:
    """Every ``/api/v4`` request the sandbox answered: counts by kind and status, and the
    latest requests with their (sandbox) time, for request-cost and rate-limit measurements.
    ``GET /_control/requests`` reads it, ``DELETE /_control/requests`` empties it."""

    keep: int = 100_000
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    recent: deque[tuple[float, str, int]] = field(default_factory=deque)

    def record(self, at: float, kind: str, status: int) -> None:
        self.by_kind[kind] += 1
        self.by_status[status] += 1
        self.recent.append((at, kind, status))
        while len(self.recent) > self.keep:
            self.recent.popleft()

    def clear(self) -> None:
        self.by_kind.clear()
        self.by_status.clear()
        self.recent.clear()


@dataclass
class SandboxState:
    firm: Firm
    settings: SandboxSettings
    original: Firm
    clock_offset: float = 0.0
    codes: dict[str, AuthCode] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    windows: dict[str, RateWindow] = field(default_factory=dict)
    requests_seen: int = 0
    request_log: RequestLog = field(default_factory=RequestLog)
    storm_left: int = 0
    expire_countdown: int | None = None
    books: Books = field(init=False)

    def __post_init__(self) -> None:
        as_of = self.firm.meta.as_of
        floor = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=2)
        if time.time() < floor.timestamp():
            self.clock_offset = floor.timestamp() - time.time()
        self.books = self.firm.books(self.now_dt)
        self.storm_left = self.settings.faults.rate_limit_storm
        self.expire_countdown = self.settings.faults.expire_tokens_after

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def reset_firm(self) -> None:
        listeners = self.firm.store.listeners
        self.firm = self.original.clone()
        self.firm.store.listeners = listeners
        self.books = self.firm.books(self.now_dt)

    # ------------------------------------------------------------------ tokens
    def issue_token(self, grant: Grant) -> AccessToken:
        token = AccessToken(
            token=secrets.token_urlsafe(32),
            grant=grant,
            expires_at=self.now() + self.settings.token_expires_in,
        )
        self.tokens[token.token] = token
        return token

    def new_grant(self, client_id: str, user_id: int) -> Grant:
        grant = Grant(client_id=client_id, user_id=user_id, refresh_token=secrets.token_urlsafe(32))
        self.grants[grant.refresh_token] = grant
        return grant

    def valid_token(self, value: str) -> AccessToken | None:
        token = self.tokens.get(value)
        if token is None or token.revoked or token.grant.revoked:
            return None
        if token.expires_at <= self.now():
            return None
        return token

    def expire_all_tokens(self) -> int:
        count = 0
        for token in self.tokens.values():
            if token.expires_at > self.now():
                token.expires_at = self.now() - 1
                count += 1
        return count

    def rate_limit(self) -> int | None:
        mode = self.settings.rate_limit
        if mode == "off":
            return None
        return self.settings.peak_limit if mode == "peak" else self.settings.off_peak_limit
