"""The ledger's HTTP API, as this service needs it: the sum of the client ledgers held in one
client bank account on a date (the third figure of a three-way reconciliation).

``GET {LEDGER_URL}/firms/{firm_id}/balances/client-ledgers?as_of=&bank_account_id=`` with a
service token for the firm (role ``service``, signed with the shared ``AUTH_SIGNING_KEY``).
"""

from __future__ import annotations

from datetime import date

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from cashroom_chassis.auth import Role, issue_token
from cashroom_contracts.money import Money


class LedgerUnavailable(Exception):
    """The ledger did not give the figure (unreachable, refused, or an answer we cannot read)."""


class _ClientLedgers(BaseModel):
    model_config = ConfigDict(extra="ignore")

    as_of: date
    bank_account_id: int
    total: Money


class LedgerClient:
    def __init__(
        self,
        base_url: str,
        signing_key: str,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._signing_key = signing_key
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_seconds, transport=transport
        )

    async def client_ledgers_total(self, firm_id: str, bank_account_id: int, as_of: date) -> Money:
        token = issue_token(
            self._signing_key, firm_id=firm_id, role=Role.SERVICE, subject="reconciliation"
        )
        try:
            response = await self._http.get(
                f"/firms/{firm_id}/balances/client-ledgers",
                params={"as_of": as_of.isoformat(), "bank_account_id": bank_account_id},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as error:
            raise LedgerUnavailable(f"the ledger did not answer: {error!r}") from None
        if response.status_code != 200:
            raise LedgerUnavailable(
                f"the ledger answered {response.status_code}: {response.text[:300]}"
            )
        try:
            figure = _ClientLedgers.model_validate_json(response.content)
        except ValidationError as error:
            raise LedgerUnavailable(f"the ledger's answer is not readable: {error}") from None
        if figure.bank_account_id != bank_account_id or figure.as_of != as_of:
            raise LedgerUnavailable(
                f"the ledger answered for account {figure.bank_account_id} as of {figure.as_of}, "
                f"not {bank_account_id} as of {as_of}"
            )
        return figure.total

    async def close(self) -> None:
        await self._http.aclose()
