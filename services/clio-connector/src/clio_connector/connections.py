"""Linking a firm's Clio account and keeping its tokens.

* Link: the OAuth 2.0 authorization-code flow. ``start_link`` makes a single-use ``state`` (kept
  as a hash, with an expiry) and Clio's authorize URL; ``complete_link`` takes Clio's redirect,
  burns the state, trades the code for tokens, asks Clio who authorised (firm and user) and
  stores the tokens encrypted. One connection per firm; linking again replaces it.
* Tokens: ``FirmTokens`` is the ``TokenProvider`` a ``ClioClient`` uses. It refreshes the access
  token before it expires and when Clio answers 401; refreshes of one firm are serialised (a
  process lock and the connection row locked ``FOR UPDATE``), so concurrent requests share one
  refresh rather than racing with the same refresh token.
* Unlink: deauthorize in Clio, then forget the tokens (and the webhooks).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import Database
from clio_connector.clio.client import ClioClient, RetryPolicy
from clio_connector.clio.errors import ClioOAuthError, ClioUnauthorized, OAuthStateMismatch
from clio_connector.clio.oauth import (
    TokenGrant,
    authorize_url,
    code_from_callback,
    deauthorize,
    exchange_code,
    refresh_access_token,
)
from clio_connector.crypto import TokenCipher
from clio_connector.db.tables import clio_connections, clio_webhooks, oauth_states
from clio_connector.settings import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# OAuth errors after which only linking again helps.
_RELINK_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


@dataclass(frozen=True)
class ClioAccess:
    """How the service reaches Clio: the HTTP transport and the time the client waits by.
    Production uses the defaults; tests put the sandbox in-process and let waits move the
    sandbox's clock instead of sleeping."""

    transport: httpx.AsyncBaseTransport | None = None
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.time
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class LinkError(Exception):
    """The link request or Clio's callback cannot be accepted; the message says why."""


class NotLinked(Exception):
    """The firm has no Clio connection (or it must be linked again)."""


@dataclass(frozen=True)
class LinkRequest:
    authorize_url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True)
class Connection:
    firm_id: str
    clio_base_url: str
    status: str
    access_expires_at: datetime
    clio_user_id: int | None
    clio_user_name: str | None
    clio_user_email: str | None
    clio_firm_name: str | None
    linked_at: datetime
    linked_by: str | None
    refreshed_at: datetime | None
    refresh_count: int
    initial_sync_completed_at: datetime | None
    last_error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "linked": self.status == "linked",
            "status": self.status,
            "clio_base_url": self.clio_base_url,
            "clio_firm_name": self.clio_firm_name,
            "clio_user": {
                "id": self.clio_user_id,
                "name": self.clio_user_name,
                "email": self.clio_user_email,
            },
            "linked_at": self.linked_at.isoformat(),
            "linked_by": self.linked_by,
            "access_token_expires_at": self.access_expires_at.isoformat(),
            "token_refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
            "token_refreshes": self.refresh_count,
            "initial_sync_completed_at": (
                self.initial_sync_completed_at.isoformat()
                if self.initial_sync_completed_at
                else None
            ),
            "last_error": self.last_error,
        }


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class StaticTokens:
    """A token just granted, for the one call made before it is stored (who_am_i)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self) -> str:
        return self._token

    async def refresh_access_token(self, rejected: str) -> str:
        raise ClioUnauthorized("Clio refused a token it has just granted")


class Connections:
    """Clio connections of every firm, stored in the connector's database."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        cipher: TokenCipher,
        access: ClioAccess,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._db = db
        self._settings = settings
        self._cipher = cipher
        self._access = access
        self._now = now
        self._locks: dict[str, asyncio.Lock] = {}

    # --- HTTP to Clio ------------------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        """A plain client for Clio's OAuth endpoints."""
        return httpx.AsyncClient(
            transport=self._access.transport,
            timeout=self._settings.clio_request_timeout_seconds,
        )

    def client(self, base_url: str, tokens: Any) -> ClioClient:
        return ClioClient(
            base_url,
            tokens,
            transport=self._access.transport,
            timeout=self._settings.clio_request_timeout_seconds,
            retry=self._access.retry,
            sleep=self._access.sleep,
            clock=self._access.clock,
        )

    @asynccontextmanager
    async def clio(self, firm_id: str) -> AsyncIterator[ClioClient]:
        """A Clio client acting for the firm, with tokens refreshed as needed."""
        connection = await self.get(firm_id)
        if connection is None or connection.status != "linked":
            raise NotLinked(
                f"firm {firm_id} has no working Clio link"
                + (f" ({connection.last_error})" if connection and connection.last_error else "")
            )
        async with self.client(connection.clio_base_url, FirmTokens(self, firm_id)) as client:
            yield client

    # --- Reading -------------------------------------------------------------------------------

    async def get(self, firm_id: str) -> Connection | None:
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(clio_connections).where(clio_connections.c.firm_id == firm_id)
                )
            ).first()
        if row is None:
            return None
        return Connection(
            firm_id=row.firm_id,
            clio_base_url=row.clio_base_url,
            status=row.status,
            access_expires_at=row.access_expires_at,
            clio_user_id=row.clio_user_id,
            clio_user_name=row.clio_user_name,
            clio_user_email=row.clio_user_email,
            clio_firm_name=row.clio_firm_name,
            linked_at=row.linked_at,
            linked_by=row.linked_by,
            refreshed_at=row.refreshed_at,
            refresh_count=row.refresh_count,
            initial_sync_completed_at=row.initial_sync_completed_at,
            last_error=row.last_error,
        )

    async def linked_firms(self) -> list[str]:
        async with self._db.transaction() as session:
            rows = await session.scalars(
                select(clio_connections.c.firm_id).where(clio_connections.c.status == "linked")
            )
            return list(rows)

    # --- Linking -------------------------------------------------------------------------------

    async def start_link(
        self, firm_id: str, *, redirect_uri: str | None, requested_by: str | None
    ) -> LinkRequest:
        settings = self._settings
        if not settings.clio_base_url:
            raise LinkError("CLIO_BASE_URL is not set: the service does not know Clio's host")
        if not settings.clio_client_id or not settings.clio_client_secret.get_secret_value():
            raise LinkError("CLIO_CLIENT_ID and CLIO_CLIENT_SECRET are not set")
        redirect = redirect_uri or settings.clio_redirect_uri
        if not redirect:
            raise LinkError("no redirect_uri given and CLIO_REDIRECT_URI is not set")
        parsed = httpx.URL(redirect)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise LinkError(f"redirect_uri {redirect!r} is not an http(s) URL")
        state = secrets.token_urlsafe(32)
        now = self._now()
        expires = now + timedelta(seconds=settings.clio_oauth_state_ttl_seconds)
        async with self._db.transaction() as session:
            await session.execute(
                delete(oauth_states).where(oauth_states.c.expires_at < now - timedelta(days=1))
            )
            await session.execute(
                oauth_states.insert().values(
                    state_hash=_state_hash(state),
                    firm_id=firm_id,
                    redirect_uri=redirect,
                    clio_base_url=settings.clio_base_url,
                    requested_by=requested_by,
                    created_at=now,
                    expires_at=expires,
                )
            )
        url = authorize_url(
            settings.clio_base_url,
            client_id=settings.clio_client_id,
            redirect_uri=redirect,
            state=state,
        )
        return LinkRequest(url, state, expires)

    async def complete_link(self, params: Mapping[str, str]) -> Connection:
        """Clio's redirect back: the state must be one we issued, unused and unexpired; it is
        burnt before the code is exchanged, so a replayed callback fails whatever happens."""
        state = params.get("state") or ""
        if not state:
            raise LinkError("the callback carries no state: it did not come from a link request")
        now = self._now()
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(oauth_states)
                    .where(oauth_states.c.state_hash == _state_hash(state))
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise LinkError("unknown state: start the link again from Cashroom")
            if row.used_at is not None:
                raise LinkError("this link has already been used: start the link again")
            if row.expires_at <= now:
                raise LinkError("the link request expired: start the link again")
            await session.execute(
                update(oauth_states)
                .where(oauth_states.c.state_hash == row.state_hash)
                .values(used_at=now)
            )
        firm_id, redirect, base_url = row.firm_id, row.redirect_uri, row.clio_base_url
        try:
            code = code_from_callback(params, expected_state=state)
        except OAuthStateMismatch as error:  # pragma: no cover - the state was found above
            raise LinkError(str(error)) from error
        except ClioOAuthError as error:
            raise LinkError(f"Clio did not authorise Cashroom: {error}") from error
        except Exception as error:  # OAuthDeclined
            raise LinkError(str(error)) from error
        settings = self._settings
        async with self.http() as http:
            try:
                grant = await exchange_code(
                    http,
                    base_url,
                    client_id=settings.clio_client_id,
                    client_secret=settings.clio_client_secret.get_secret_value(),
                    code=code,
                    redirect_uri=redirect,
                )
            except ClioOAuthError as error:
                raise LinkError(f"Clio refused the authorization code: {error}") from error
        async with self.client(base_url, StaticTokens(grant.access_token)) as clio:
            user = await clio.who_am_i()
        await self._store_link(firm_id, base_url, grant, user, now, row.requested_by)
        connection = await self.get(firm_id)
        assert connection is not None
        log.info(
            "firm %s linked to Clio (%s, user %s)",
            firm_id,
            connection.clio_firm_name,
            connection.clio_user_name,
        )
        return connection

    async def _store_link(
        self,
        firm_id: str,
        base_url: str,
        grant: TokenGrant,
        user: Mapping[str, Any],
        now: datetime,
        linked_by: str | None,
    ) -> None:
        account = user.get("account")
        values = {
            "clio_base_url": base_url,
            "status": "linked",
            "access_token": self._cipher.encrypt(grant.access_token),
            "refresh_token": (
                self._cipher.encrypt(grant.refresh_token) if grant.refresh_token else None
            ),
            "access_expires_at": grant.expires_at(now),
            "clio_user_id": user.get("id") if isinstance(user.get("id"), int) else None,
            "clio_user_name": _text(user.get("name")),
            "clio_user_email": _text(user.get("email")),
            "clio_firm_name": _text(account.get("name")) if isinstance(account, Mapping) else None,
            "linked_at": now,
            "linked_by": linked_by,
            "refreshed_at": None,
            "refresh_count": 0,
            "last_error": None,
        }
        async with self._db.transaction() as session:
            statement = insert(clio_connections).values(firm_id=firm_id, **values)
            await session.execute(
                statement.on_conflict_do_update(index_elements=["firm_id"], set_=values)
            )

    async def forget(self, firm_id: str) -> str | None:
        """Remove the firm's tokens and webhook rows; returns the access token that was kept
        (to deauthorize with), or None when the firm was not linked."""
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    delete(clio_connections)
                    .where(clio_connections.c.firm_id == firm_id)
                    .returning(clio_connections.c.access_token, clio_connections.c.clio_base_url)
                )
            ).first()
            await session.execute(delete(clio_webhooks).where(clio_webhooks.c.firm_id == firm_id))
        if row is None:
            return None
        return self._cipher.decrypt(row.access_token)

    async def deauthorize(self, firm_id: str) -> bool | None:
        """Revoke Cashroom's access in Clio. True when revoked now, False when the token was no
        longer valid anyway, None when Clio could not be reached (the tokens are forgotten
        regardless: the firm can also revoke Cashroom in Clio's settings)."""
        connection = await self.get(firm_id)
        if connection is None:
            return None
        try:
            token = await FirmTokens(self, firm_id).access_token()
        except Exception:  # no usable token: nothing to revoke
            return False
        try:
            async with self.http() as http:
                return await deauthorize(http, connection.clio_base_url, access_token=token)
        except (httpx.HTTPError, ClioOAuthError) as error:
            log.warning("firm %s: Clio deauthorize failed: %s", firm_id, error)
            return None

    async def mark_initial_sync_completed(self, firm_id: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(clio_connections)
                .where(
                    clio_connections.c.firm_id == firm_id,
                    clio_connections.c.initial_sync_completed_at.is_(None),
                )
                .values(initial_sync_completed_at=self._now())
            )

    # --- Tokens --------------------------------------------------------------------------------

    async def current_token(self, firm_id: str) -> tuple[str, datetime]:
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(
                        clio_connections.c.access_token,
                        clio_connections.c.access_expires_at,
                        clio_connections.c.status,
                    ).where(clio_connections.c.firm_id == firm_id)
                )
            ).first()
        if row is None or row.status != "linked":
            raise ClioUnauthorized(f"firm {firm_id} is not linked to Clio")
        return self._cipher.decrypt(row.access_token), row.access_expires_at

    def refresh_due(self, expires_at: datetime) -> bool:
        margin = timedelta(seconds=self._settings.clio_token_refresh_margin_seconds)
        return expires_at - self._now() <= margin

    async def refresh(self, firm_id: str, rejected: str | None) -> str:
        """A fresh access token. ``rejected`` is the token Clio refused (None: refreshing
        because it is about to expire). When another task or process refreshed meanwhile,
        its token is returned and no second refresh is made."""
        lock = self._locks.setdefault(firm_id, asyncio.Lock())
        async with lock:
            failure: ClioUnauthorized | None = None
            async with self._db.transaction() as session:
                row = (
                    await session.execute(
                        select(clio_connections)
                        .where(clio_connections.c.firm_id == firm_id)
                        .with_for_update()
                    )
                ).first()
                if row is None or row.status != "linked":
                    raise ClioUnauthorized(f"firm {firm_id} is not linked to Clio")
                current = self._cipher.decrypt(row.access_token)
                already = current != rejected if rejected is not None else False
                if already or (rejected is None and not self.refresh_due(row.access_expires_at)):
                    return current
                settings = self._settings
                grant: TokenGrant | None = None
                if row.refresh_token is None:
                    failure = ClioUnauthorized("Clio gave no refresh token: link Clio again")
                else:
                    try:
                        async with self.http() as http:
                            grant = await refresh_access_token(
                                http,
                                row.clio_base_url,
                                client_id=settings.clio_client_id,
                                client_secret=settings.clio_client_secret.get_secret_value(),
                                refresh_token=self._cipher.decrypt(row.refresh_token),
                            )
                    except ClioOAuthError as error:
                        if error.error not in _RELINK_ERRORS:
                            raise
                        failure = ClioUnauthorized(
                            f"Clio refused to refresh the token ({error}): link Clio again"
                        )
                if failure is not None or grant is None:
                    await session.execute(
                        update(clio_connections)
                        .where(clio_connections.c.firm_id == firm_id)
                        .values(status="needs_relink", last_error=str(failure))
                    )
                else:
                    now = self._now()
                    values: dict[str, Any] = {
                        "access_token": self._cipher.encrypt(grant.access_token),
                        "access_expires_at": grant.expires_at(now),
                        "refreshed_at": now,
                        "refresh_count": clio_connections.c.refresh_count + 1,
                        "last_error": None,
                    }
                    if grant.refresh_token:
                        values["refresh_token"] = self._cipher.encrypt(grant.refresh_token)
                    await session.execute(
                        update(clio_connections)
                        .where(clio_connections.c.firm_id == firm_id)
                        .values(**values)
                    )
            if failure is not None or grant is None:
                log.warning("firm %s: %s", firm_id, failure)
                raise failure or ClioUnauthorized("token refresh failed")
            log.info("firm %s: Clio access token refreshed", firm_id)
            return grant.access_token


class FirmTokens:
    """The ``TokenProvider`` of one firm's ``ClioClient``."""

    def __init__(self, connections: Connections, firm_id: str) -> None:
        self._connections = connections
        self._firm_id = firm_id

    async def access_token(self) -> str:
        token, expires_at = await self._connections.current_token(self._firm_id)
        if self._connections.refresh_due(expires_at):
            return await self._connections.refresh(self._firm_id, None)
        return token

    async def refresh_access_token(self, rejected: str) -> str:
        return await self._connections.refresh(self._firm_id, rejected)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
