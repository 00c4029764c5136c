"""The database: one async engine per service, bound to the service's own schema, and the unit of
work that every handler runs inside (one transaction: state changes, outbox rows, inbox row)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cashroom_chassis.settings import ServiceSettings


def create_engine(settings: ServiceSettings, *, pooled: bool = True) -> AsyncEngine:
    """An engine whose every connection sees the service's schema first (``search_path``)."""
    pooling: dict[str, Any] = (
        {
            "pool_size": settings.database_pool_size,
            "max_overflow": settings.database_pool_size,
            "pool_pre_ping": True,
        }
        if pooled
        else {"poolclass": NullPool}
    )
    return create_async_engine(
        settings.database_url,
        **pooling,
        connect_args={
            "server_settings": {
                "search_path": f"{settings.db_schema},public",
                "application_name": settings.service_name,
            },
            "statement_cache_size": settings.database_statement_cache_size,
        },
    )


async def ensure_schema(engine: AsyncEngine, schema: str) -> None:
    """Create the service's schema if it is missing (embedded and test set-ups; production
    creates it with the service's role, see deploy/)."""
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


class UnitOfWork:
    """One database transaction. Commit is explicit; leaving without commit rolls back.

    Before the commit, callbacks registered with ``before_commit`` are awaited in order, inside
    the transaction (e.g. a handler's writes deferred to one flush per batch); one that fails
    fails the commit. After a commit, callbacks registered with ``after_commit`` run (e.g. waking
    the outbox relay).
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._after_commit: list[Callable[[], None]] = []
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        await self.session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await asyncio.shield(self.session.close())

    def before_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        while self._before_commit:  # a callback may register another
            await self._before_commit.pop(0)()
        await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()


class Database:
    """The service's engine and a factory of units of work."""

    def __init__(self, settings: ServiceSettings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autobegin=False)
        self._commit_listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every unit of work commits (the relay's wake-up)."""
        self._commit_listeners.append(listener)

    def unit_of_work(self) -> UnitOfWork:
        uow = UnitOfWork(self.sessions)
        for listener in self._commit_listeners:
            uow.after_commit(listener)
        return uow

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits when the block ends without an error."""
        async with self.unit_of_work() as uow:
            yield uow.session
            await uow.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()
