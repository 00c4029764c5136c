"""The service's typed errors; the API turns each into its HTTP status, nothing else does."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The request is well formed but the state does not allow it (409)."""

    status = 409


class Invalid(ServiceError):
    status = 422


class Unavailable(ServiceError):
    """Another service this answer needs did not give it (502)."""

    status = 502
