"""Helpers for tests that run the sandbox in-process (used by the sandbox tests; usable by others)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx

from clio_sandbox import Firm, SandboxSettings, create_app, generate_firm

CLIENT_ID = "cashroom-sandbox"
SECRET = "cashroom-sandbox-secret"
REDIRECT = "http://127.0.0.1:8000/oauth/callback"


@cache
def _tiny() -> Firm:
    return generate_firm(7, "tiny", "ie")


def tiny_firm() -> Firm:
    """A fresh copy of a cached tiny firm (each test may mutate its own)."""
    return _tiny().clone()


@asynccontextmanager
async def sandbox(
    firm: Firm | None = None,
    settings: SandboxSettings | None = None,
    **app_kwargs: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(
        firm or tiny_firm(), settings or SandboxSettings(rate_limit="off"), **app_kwargs
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client, app


async def token(client: httpx.AsyncClient) -> dict[str, str]:
    resp = await client.post("/_control/tokens", json={})
    assert resp.status_code == 200
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}
