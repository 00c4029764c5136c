"""A value from a request that PostgreSQL cannot take (an id beyond a bigint, a NUL inside a
JSON string) is answered 422 with the driver's words, whatever route it reached; any other
database error stays a server error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from sample_service import sample_settings
from sqlalchemy import text

from cashroom_chassis.runtime import Runtime, create_app
from cashroom_chassis.testing import Infrastructure


class Note(BaseModel):
    text: str


@pytest.fixture
async def client(
    infrastructure: Infrastructure, unique_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = sample_settings(infrastructure, unique_name, auth_signing_key=SecretStr("key"))
    runtime = Runtime(settings)
    app = create_app(runtime, title="sample")

    @app.get("/matters/{matter_id}")
    async def matter(matter_id: int) -> dict[str, int]:
        async with runtime.db.transaction() as session:
            found = await session.scalar(text("SELECT CAST(:m AS bigint)"), {"m": matter_id})
        return {"matter_id": int(found or 0)}

    @app.post("/notes")
    async def note(body: Note) -> dict[str, str]:
        async with runtime.db.transaction() as session:
            kept = await session.scalar(text("SELECT CAST(:t AS text)"), {"t": body.text})
        return {"text": str(kept)}

    @app.get("/broken")
    async def broken() -> None:
        async with runtime.db.transaction() as session:
            await session.execute(text("SELECT 1 / 0"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sample") as http:
        yield http
    await runtime.db.dispose()


async def test_an_id_beyond_a_bigint_is_refused_with_the_drivers_words(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/matters/9223372036854775807")).status_code == 200
    response = await client.get("/matters/9223372036854775808")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "a value in the request cannot be used: invalid input for query argument $1: "
        "9223372036854775808 (value out of int64 range)"
    )


async def test_a_nul_inside_a_json_string_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/notes", json={"text": "Tír"})).json() == {"text": "Tír"}
    response = await client.post("/notes", json={"text": "a\u0000b"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("a value in the request cannot be used: ")


async def test_any_other_database_error_stays_a_server_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/broken")
    assert response.status_code == 500
