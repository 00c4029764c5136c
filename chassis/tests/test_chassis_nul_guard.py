"""A service answers a request with a NUL character in its path or query with a 400 and a
message before any route sees it (PostgreSQL cannot hold such text: it was a server error)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from cashroom_chassis.nul_guard import MESSAGE
from cashroom_chassis.runtime import Runtime, create_app
from cashroom_chassis.settings import ServiceSettings

SEEN: list[str] = []


@pytest.fixture
async def client() -> httpx.AsyncClient:
    settings = ServiceSettings(
        service_name="sample_nul",
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        kafka_bootstrap_servers="127.0.0.1:1",
        auth_signing_key=SecretStr("key"),
    )
    app = create_app(Runtime(settings), title="sample")

    @app.get("/matters/{reference}")
    async def matter(reference: str, q: str = "") -> dict[str, str]:
        SEEN.append(reference + q)
        return {"reference": reference, "q": q}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sample")


@pytest.mark.parametrize(
    "url", ["/matters/%00", "/matters/a%00b", "/matters/x?q=%00", "/matters/x?q=a&r=%00b"]
)
async def test_a_nul_in_the_path_or_query_is_refused_before_any_route(
    client: httpx.AsyncClient, url: str
) -> None:
    SEEN.clear()
    async with client:
        response = await client.get(url)
    assert response.status_code == 400
    assert response.json() == {"detail": MESSAGE}
    assert SEEN == []


async def test_other_requests_reach_their_route(client: httpx.AsyncClient) -> None:
    SEEN.clear()
    async with client:
        response = await client.get("/matters/T%C3%ADr%2000?q=%2500")
    assert response.status_code == 200
    assert response.json() == {"reference": "Tír 00", "q": "%00"}
