"""A value from a request that PostgreSQL cannot take is the request's fault, not the server's.

A path id of 99999999999999999999 reaches asyncpg as an ``int`` it cannot fit in a bigint; a
NUL inside a JSON string cannot be stored as text. Each used to surface as a 500 wherever a
route had not bounded its input; a service answers them 422 with the driver's own words
(which argument, what value, why). Any other database error stays a 500."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

_NOT_STORABLE = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


def request_value_error(error: BaseException) -> str | None:
    """The driver's message when ``error`` is a value from the request PostgreSQL refused."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, asyncpg.exceptions.DataError) and (
            str(seen).startswith("invalid input for query argument")
            or isinstance(seen, _NOT_STORABLE)
        ):
            return str(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


async def answer_bad_value(request: Request, error: Exception) -> JSONResponse:
    message = request_value_error(error)
    if message is None:
        raise error  # a server error after all: logged and answered 500 as before
    return JSONResponse(
        {"detail": f"a value in the request cannot be used: {message}"}, status_code=422
    )


def install(app: FastAPI) -> None:
    """Answer bad request values 422 in ``app``."""
    app.add_exception_handler(DBAPIError, answer_bad_value)
