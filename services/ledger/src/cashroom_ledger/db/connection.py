"""The unit of work's asyncpg connection, used synchronously by the books.

The domain is synchronous (no I/O, no ``await``), yet a book kept in the database must be able to
fetch what a batch did not foresee (a posting woken by another, a client column dated earlier).
The books therefore run inside ``AsyncSession.run_sync``: a greenlet in which SQLAlchemy's
``await_only`` suspends on the event loop. Each method here is one round trip on the session's
own connection, inside its transaction; bulk writes use ``COPY`` and ``executemany``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only


class Connection:
    """One transaction's connection (asyncpg), driven from synchronous code."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.round_trips = 0

    @classmethod
    def of(cls, session: Session) -> Connection:
        """The session's connection, with its transaction begun (SQLAlchemy begins it lazily, on
        the first statement it runs itself: statements sent straight to asyncpg before that would
        run outside the transaction)."""
        session.execute(text("SELECT 1"))
        raw = session.connection().connection.driver_connection
        if raw is None:
            raise RuntimeError("the session has no driver connection")
        return cls(raw)

    def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.round_trips += 1
        rows: list[Any] = await_only(self._raw.fetch(sql, *args))
        return rows

    def fetchval(self, sql: str, *args: Any) -> Any:
        self.round_trips += 1
        return await_only(self._raw.fetchval(sql, *args))

    def execute(self, sql: str, *args: Any) -> None:
        self.round_trips += 1
        await_only(self._raw.execute(sql, *args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.round_trips += 1
            await_only(self._raw.executemany(sql, rows))

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        records = list(rows)
        if records:
            self.round_trips += 1
            await_only(
                self._raw.copy_records_to_table(table, records=records, columns=list(columns))
            )
