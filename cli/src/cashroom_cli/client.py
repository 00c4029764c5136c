"""HTTP calls to the services, with every failure turned into one clear line."""

from __future__ import annotations

from typing import Any

import httpx

from cashroom_chassis.auth import Role
from cashroom_cli.target import Target


class ServiceError(Exception):
    """A service answered with an error, or could not be reached (``status`` is then None).
    ``body`` is the error's JSON body, for callers that act on what it names (e.g. the sync
    already running)."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:  # the connector's settings validation
            return "; ".join(
                f"{e.get('field')}: {e.get('message')}" if isinstance(e, dict) else str(e)
                for e in errors
            )
        detail = body.get("detail", body.get("error", body))
        if isinstance(detail, list):  # FastAPI validation errors
            return "; ".join(
                f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
                for item in detail
            )
        if isinstance(detail, dict):
            return str(detail.get("message", detail))
        return str(detail)
    return str(body)


class Api:
    def __init__(self, target: Target, *, timeout: float = 60.0) -> None:
        self.target = target
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def firm_path(self, path: str) -> str:
        return f"/firms/{self.target.firm_id}{path}"

    def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: Role = Role.ADMIN,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        url = self.target.url(service) + path
        headers = {"Authorization": f"Bearer {self.target.bearer(role)}", "Accept": accept}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, url, params=clean, json=json, files=files, data=data, headers=headers
            )
        except httpx.HTTPError as error:
            raise ServiceError(
                f"{service} at {self.target.url(service)} did not answer: {error}"
            ) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise ServiceError(
                f"{service} refused {method} {path} ({response.status_code}): {_detail(response)}",
                status=response.status_code,
                body=body,
            )
        return response

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.request(service, "GET", path, **kwargs).json()

    def send(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(service, method, path, **kwargs)
        return response.json() if response.content else None
