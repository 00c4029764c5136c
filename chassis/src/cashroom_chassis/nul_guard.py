"""Requests whose path or query holds a NUL character are refused before any route sees them.

PostgreSQL cannot store or compare text containing NUL (``invalid byte sequence for encoding
"UTF8": 0x00``), so a NUL that reached a query (``/sync-log?q=%00``, a matter reference
``%00``) was a server error. No name, reference, date or code in Cashroom contains one: it is
bad input, answered 400 with a message, whatever the route."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

MESSAGE = (
    "the request's path or query contains a NUL character (%00); no name, reference, date or "
    "code does"
)


def has_nul(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"\x00" in unquote_to_bytes(query)


class RefuseNulCharacters:
    """ASGI middleware: a 400 for an HTTP request with a NUL in its path or query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_nul(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": MESSAGE}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
