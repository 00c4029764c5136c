"""``create_app(firm, settings)``: the sandbox as an ASGI app (FastAPI)."""

from __future__ import annotations

import random
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .api import api_entry, error_response
from .control import control_routes
from .firm import Firm
from .oauth import authorize, deauthorize, token
from .settings import SandboxSettings
from .state import SandboxState
from .webhooks import WebhookManager

__all__ = ["create_app"]

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"]


def create_app(
    firm: Firm,
    settings: SandboxSettings | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """An ASGI app serving ``firm`` like Clio API v4 (it mutates ``firm`` in place).

    ``webhook_transport`` lets tests deliver webhooks in-process (e.g. ``httpx.ASGITransport``);
    the loopback-only rule still applies to the URLs.
    """
    settings = settings or SandboxSettings()
    state = SandboxState(firm=firm, settings=settings, original=firm.clone())
    hooks = WebhookManager(state, webhook_transport)
    firm.store.listeners.append(hooks.on_change)

    routes: list[Any] = [
        Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/deauthorize", deauthorize, methods=["POST"]),
        Route("/api/v4/{path:path}", api_entry, methods=METHODS),
        *control_routes(),
    ]
    app = FastAPI(
        title="Clio API v4 sandbox",
        routes=routes,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.sandbox = state
    app.state.hooks = hooks
    app.state.fault_rng = random.Random(settings.faults.seed)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return error_response(405, "MethodNotAllowed", "Method not allowed")
        return error_response(exc.status_code, "NotFound", "The requested resource was not found")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover
        return error_response(500, "InternalServerError", f"{type(exc).__name__}: {exc}")

    return app
