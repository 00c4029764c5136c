"""Which Cashroom the CLI talks to: the services' URLs, the firm, and a token.

`cashroom demo` writes them to the stack file (``~/.cashroom/stack.json``, or
``CASHROOM_STACK_FILE``) so that other terminals can use the running demo. Environment variables
override it: ``CASHROOM_FIRM``, ``CASHROOM_TOKEN`` (or ``AUTH_SIGNING_KEY`` to mint one),
``CONNECTOR_URL``, ``LEDGER_URL``, ``RECONCILIATION_URL``, ``REPORTING_URL``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from cashroom_chassis.auth import Role, issue_token

SERVICES = ("connector", "ledger", "reconciliation", "reporting")


class TargetError(Exception):
    """The CLI does not know where Cashroom is or who it acts for."""


def stack_file() -> Path:
    return Path(os.environ.get("CASHROOM_STACK_FILE", Path.home() / ".cashroom" / "stack.json"))


@dataclass
class Target:
    firm_id: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    signing_key: str = ""
    token: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        url = self.urls.get(service)
        if not url:
            raise TargetError(
                f"no URL for the {service} service: start `cashroom demo` or set "
                f"{service.upper()}_URL"
            )
        return url.rstrip("/")

    def bearer(self, role: Role = Role.ADMIN) -> str:
        if self.token:
            return self.token
        if not self.signing_key:
            raise TargetError("no token: set CASHROOM_TOKEN (or AUTH_SIGNING_KEY to mint one)")
        if not self.firm_id:
            raise TargetError("no firm: set CASHROOM_FIRM")
        return issue_token(
            self.signing_key,
            firm_id=self.firm_id,
            role=role,
            subject="cashroom-cli",
            lifetime=timedelta(hours=1),
        )

    def save(self, path: Path | None = None) -> Path:
        path = path or stack_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)  # it holds the signing key
        return path


def load_target() -> Target:
    target = Target()
    path = stack_file()
    if path.exists():
        try:
            target = Target(**json.loads(path.read_text()))
        except (ValueError, TypeError) as error:
            raise TargetError(f"{path} is not a Cashroom stack file: {error}") from None
    target.firm_id = os.environ.get("CASHROOM_FIRM", target.firm_id)
    target.token = os.environ.get("CASHROOM_TOKEN", target.token)
    target.signing_key = os.environ.get("AUTH_SIGNING_KEY", target.signing_key)
    for service in SERVICES:
        url = os.environ.get(f"{service.upper()}_URL")
        if url:
            target.urls[service] = url
    return target
