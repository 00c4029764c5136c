"""Bearer tokens bound to one firm and one role.

Every HTTP API except health and the Clio webhook receiver (which checks Clio's signature)
requires ``Authorization: Bearer <token>``. A token says which firm it may act for, in which
role, and until when; it is signed with HMAC-SHA256 under ``AUTH_SIGNING_KEY`` (shared by the
services, so a token issued once works on each of them). A token for firm A never reads or
changes firm B: routes take the firm from the path and ``require`` compares it with the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

TOKEN_PREFIX = "cr1"


class Role(StrEnum):
    """What a token may do. Each role includes the ones below it."""

    VIEWER = "viewer"  # read reports and ledgers (partners, auditors)
    CASHIER = "cashier"  # post, resolve, reconcile, sync
    ADMIN = "admin"  # settings, link Clio, unlock periods
    SERVICE = "service"  # another Cashroom service acting for the firm


_RANK = {Role.VIEWER: 0, Role.CASHIER: 1, Role.ADMIN: 2, Role.SERVICE: 2}


@dataclass(frozen=True)
class Principal:
    firm_id: str
    role: Role
    subject: str

    def may(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    key: str,
    *,
    firm_id: str,
    role: Role,
    subject: str,
    lifetime: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    if not key:
        raise ValueError("AUTH_SIGNING_KEY is empty: set it before issuing tokens")
    issued = now or datetime.now(UTC)
    claims = {
        "firm": firm_id,
        "role": role.value,
        "sub": subject,
        "exp": int((issued + lifetime).timestamp()),
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = _b64(
        hmac.new(key.encode(), f"{TOKEN_PREFIX}.{body}".encode(), hashlib.sha256).digest()
    )
    return f"{TOKEN_PREFIX}.{body}.{signature}"


def verify_token(key: str, token: str, *, now: datetime | None = None) -> Principal:
    if not key:
        raise InvalidToken("the service has no AUTH_SIGNING_KEY")
    try:
        prefix, body, signature = token.split(".")
    except ValueError as error:
        raise InvalidToken("malformed token") from error
    if prefix != TOKEN_PREFIX:
        raise InvalidToken("unknown token format")
    expected = hmac.new(key.encode(), f"{prefix}.{body}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
    except ValueError as error:
        raise InvalidToken("malformed signature") from error
    if not hmac.compare_digest(expected, given):
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_unb64(body))
        principal = Principal(
            firm_id=str(claims["firm"]), role=Role(claims["role"]), subject=str(claims["sub"])
        )
        expires = int(claims["exp"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidToken("malformed claims") from error
    if (now or datetime.now(UTC)).timestamp() >= expires:
        raise InvalidToken("token expired")
    return principal


def authenticated(key_of: Callable[[Request], str]) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency that returns the caller's principal or answers 401."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            return verify_token(key_of(request), token.strip())
        except InvalidToken as error:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}
            ) from error

    return dependency


def _signing_key(request: Request) -> str:
    key: str = request.app.state.auth_signing_key
    return key


current_principal = authenticated(_signing_key)
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency for routes under ``/firms/{firm_id}/...``: the token must be for that firm
    (otherwise 404, so another firm's existence is not even confirmed) and hold ``role``."""

    async def dependency(firm_id: str, principal: CurrentPrincipal) -> Principal:
        if principal.firm_id != firm_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such firm")
        if not principal.may(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return principal

    return dependency
