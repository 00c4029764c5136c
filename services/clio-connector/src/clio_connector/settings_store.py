"""The firm's sync settings: stored per firm (none stored means the recommended defaults), and
checked before they are saved against the facts they name: the ledger's chart of accounts, the
bank accounts Clio has (synced ones, else asked live), and today's date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import Database
from clio_connector.clio.errors import ClioNotFound
from clio_connector.connections import Connections, NotLinked
from clio_connector.db.tables import record_snapshots, sync_settings
from clio_connector.domain.fields import BANK_ACCOUNTS
from clio_connector.domain.records import loads_exact
from clio_connector.domain.settings import (
    KnownBankAccount,
    SettingsError,
    SyncSettings,
    check_bank_accounts,
    check_cut_off,
    check_nominal_codes,
)
from clio_connector.domain.sync_rules import known_bank_account
from clio_connector.ledger_client import LedgerClient, LedgerHasNoChart


@dataclass(frozen=True)
class StoredSettings:
    settings: SyncSettings
    is_default: bool
    updated_at: datetime | None
    updated_by: str | None


def _today() -> date:
    return datetime.now(UTC).date()


class SettingsStore:
    def __init__(
        self,
        db: Database,
        ledger: LedgerClient,
        connections: Connections,
        today: Callable[[], date] = _today,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._connections = connections
        self._today = today

    async def get(self, firm_id: str) -> SyncSettings:
        return (await self.stored(firm_id)).settings

    async def stored(self, firm_id: str) -> StoredSettings:
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(sync_settings).where(sync_settings.c.firm_id == firm_id)
                )
            ).first()
        if row is None:
            return StoredSettings(SyncSettings(), True, None, None)
        return StoredSettings(
            SyncSettings.model_validate(row.settings), False, row.updated_at, row.updated_by
        )

    async def bank_accounts(self, firm_id: str) -> dict[int, KnownBankAccount]:
        """The firm's bank accounts as last synced from Clio."""
        async with self._db.transaction() as session:
            rows = await session.scalars(
                select(record_snapshots.c.raw).where(
                    record_snapshots.c.firm_id == firm_id,
                    record_snapshots.c.object_type == BANK_ACCOUNTS.object_type,
                    record_snapshots.c.deleted_at.is_(None),
                )
            )
            raws = list(rows)
        accounts = {}
        for raw in raws:
            account = known_bank_account(loads_exact(raw))
            if account is not None:
                accounts[account.bank_account_id] = account
        return accounts

    async def errors(self, firm_id: str, settings: SyncSettings) -> list[SettingsError]:
        """Every reason the settings cannot be saved. Raises ``LedgerUnavailable`` when the
        chart of accounts cannot be fetched (nothing is saved unchecked)."""
        errors = check_cut_off(settings, today=self._today())
        try:
            codes = await self._ledger.account_codes(firm_id)
        except LedgerHasNoChart as missing:
            errors += [
                SettingsError(field, str(missing))
                for field in ("default_fee_nominal", "expense_income_nominal")
            ]
        else:
            errors += check_nominal_codes(settings, nominal_codes=codes)
        accounts = await self.bank_accounts(firm_id)
        wanted = [
            account_id
            for account_id in (
                settings.default_client_account_id,
                settings.disbursement_bank_account_id,
            )
            if account_id is not None and account_id not in accounts
        ]
        for account_id in wanted:  # not synced yet: ask Clio
            try:
                async with self._connections.clio(firm_id) as clio:
                    record = await clio.get_record(BANK_ACCOUNTS, account_id)
            except (ClioNotFound, NotLinked):
                continue
            account = known_bank_account(record)
            if account is not None:
                accounts[account.bank_account_id] = account
        errors += check_bank_accounts(settings, bank_accounts=accounts)
        return errors

    async def save(self, firm_id: str, settings: SyncSettings, *, by: str | None) -> None:
        values = {
            "settings": settings.model_dump(mode="json"),
            "updated_at": datetime.now(UTC),
            "updated_by": by,
        }
        async with self._db.transaction() as session:
            statement = insert(sync_settings).values(firm_id=firm_id, **values)
            await session.execute(
                statement.on_conflict_do_update(index_elements=["firm_id"], set_=values)
            )
