"""Typed errors of the Clio adapter. The class says whether trying again can help."""

from __future__ import annotations


class ClioError(Exception):
    """Something went wrong talking to Clio."""


class ClioRequestError(ClioError):
    """Clio refused the request (a 4xx other than 401 and 429): retrying the same request will
    not help. Carries Clio's own error type and message."""

    def __init__(self, status: int, error_type: str | None, message: str, url: str) -> None:
        detail = f"{error_type}: {message}" if error_type else message
        super().__init__(f"Clio answered {status} for {url}: {detail}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.url = url


class ClioForbidden(ClioRequestError):
    """403: the app lacks a permission, or the user's role or redaction forbids it."""


class ClioNotFound(ClioRequestError):
    """404: no such record, or not visible to the authorising user."""


class ClioApiVersionRejected(ClioRequestError):
    """410: the pinned X-API-VERSION is invalid or retired."""


class ClioPreconditionFailed(ClioRequestError):
    """412: the record changed since its etag was read (If-Match); read it again."""


class ClioUnauthorized(ClioError):
    """401 even after refreshing the access token: the firm must link Clio again."""


class ClioUnavailable(ClioError):
    """Clio kept failing (5xx, timeouts, broken connections or bodies) for every attempt."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class ClioRateLimitExhausted(ClioUnavailable):
    """Clio kept answering 429 past the number of waits the client allows."""


class ClioProtocolError(ClioError):
    """Clio's answer breaks the API's own rules (e.g. a next-page link to another host)."""


class ClioOAuthError(ClioError):
    """The OAuth server refused: ``error`` is the OAuth code, e.g. ``invalid_grant``."""

    def __init__(self, status: int, error: str, description: str | None) -> None:
        super().__init__(f"OAuth {status} {error}" + (f": {description}" if description else ""))
        self.status = status
        self.error = error
        self.description = description


class OAuthStateMismatch(ClioError):
    """The ``state`` coming back from Clio is not the one we sent: a forged or stale callback."""


class OAuthDeclined(ClioError):
    """The user declined to authorise Cashroom in Clio (``error=access_denied``)."""
