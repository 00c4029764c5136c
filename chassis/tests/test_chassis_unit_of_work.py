"""The unit of work runs its before-commit callbacks inside the transaction, in order, and a
failing one leaves nothing committed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure


async def test_before_commit_callbacks_write_inside_the_transaction_in_order(
    infrastructure: Infrastructure, unique_name: str
) -> None:
    settings = ServiceSettings(
        service_name=f"uow_{unique_name}", database_url=infrastructure.database_url
    )
    db = Database(settings)
    table = f'"uow_{unique_name}"'
    try:
        async with db.transaction() as session:
            await session.execute(text(f"CREATE TABLE {table} (n int, word text)"))

        async with db.unit_of_work() as uow:
            order: list[str] = []

            async def first() -> None:
                order.append("first")
                await uow.session.execute(text(f"INSERT INTO {table} VALUES (1, 'first')"))
                uow.before_commit(third)  # registered while the callbacks run: runs too

            async def second() -> None:
                order.append("second")
                await uow.session.execute(text(f"INSERT INTO {table} VALUES (2, 'second')"))

            async def third() -> None:
                order.append("third")

            uow.before_commit(first)
            uow.before_commit(second)
            uow.after_commit(lambda: order.append("after"))
            assert order == []  # nothing runs before commit
            await uow.commit()
        assert order == ["first", "second", "third", "after"]

        async with db.unit_of_work() as uow:

            async def failing() -> None:
                await uow.session.execute(text(f"INSERT INTO {table} VALUES (3, 'lost')"))
                raise RuntimeError("the flush failed")

            await uow.session.execute(text(f"INSERT INTO {table} VALUES (4, 'lost too')"))
            uow.before_commit(failing)
            with pytest.raises(RuntimeError, match="the flush failed"):
                await uow.commit()

        async with db.transaction() as session:
            rows = (await session.execute(text(f"SELECT n, word FROM {table} ORDER BY n"))).all()
        assert [tuple(row) for row in rows] == [(1, "first"), (2, "second")]
    finally:
        async with db.transaction() as session:
            await session.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await db.dispose()
