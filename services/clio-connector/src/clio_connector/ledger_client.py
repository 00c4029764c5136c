"""The ledger's API, as the connector uses it: the firm's chart of accounts (to check the nominal
codes in the sync settings). Called with a service token signed with the shared key."""

from __future__ import annotations

from typing import Any

import httpx

from cashroom_chassis.auth import Role, issue_token
from clio_connector.settings import Settings


class LedgerUnavailable(Exception):
    """The ledger could not be asked (not configured, unreachable, or it failed)."""


class LedgerHasNoChart(Exception):
    """The ledger has no chart of accounts for the firm yet (it is not set up there)."""


class LedgerClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._settings = settings
        self._transport = transport

    async def account_codes(self, firm_id: str) -> set[str]:
        """Every nominal code in the firm's chart of accounts."""
        return {str(account["code"]) for account in await self.accounts(firm_id)}

    async def accounts(self, firm_id: str) -> list[dict[str, Any]]:
        settings = self._settings
        if not settings.ledger_url:
            raise LedgerUnavailable("LEDGER_URL is not set: nominal codes cannot be checked")
        token = issue_token(
            settings.auth_signing_key.get_secret_value(),
            firm_id=firm_id,
            role=Role.SERVICE,
            subject="clio-connector",
        )
        url = f"{settings.ledger_url.rstrip('/')}/firms/{firm_id}/accounts"
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=settings.ledger_timeout_seconds
            ) as http:
                response = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise LedgerUnavailable(f"the ledger did not answer ({error})") from error
        if response.status_code == 404:
            raise LedgerHasNoChart(
                "the ledger has no chart of accounts for this firm: set the firm up in the "
                "ledger first"
            )
        if response.status_code != 200:
            raise LedgerUnavailable(
                f"the ledger answered {response.status_code} for its chart of accounts"
            )
        try:
            body = response.json()
        except ValueError as error:
            raise LedgerUnavailable("the ledger's chart of accounts is not JSON") from error
        if not isinstance(body, list) or not all(
            isinstance(item, dict) and "code" in item for item in body
        ):
            raise LedgerUnavailable("the ledger's chart of accounts is not a list of accounts")
        return body
