"""What the service takes from the bus (``ledger.events.v1`` and ``clio.events.v1``), each
event applied inside the unit of work the chassis gives (inbox, commit, retries, dead letters):

- ``ledger.account.upserted`` with a bank role: a bank account and the nominal that mirrors it;
- ``clio.bank_account.upserted``: its name, kind, currency and last four digits;
- ``ledger.journal.posted``: the cashbook mirror (every line on a bank nominal); a reversing
  journal's entries cancel the entries they reverse;
- ``ledger.period.unlocked``: reconciliations signed after the new lock date are reopened.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.clio import BankAccountUpserted
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import (
    AccountRole,
    AccountUpserted,
    JournalPosted,
    PeriodUnlocked,
)
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.db.tables import cashbook_entries, reconciliations
from cashroom_reconciliation.domain import (
    MirroredEntry,
    cashbook_entries_of,
    last4_of,
    pair_reversals,
)

log = logging.getLogger(__name__)

_BANK_ROLES = {
    AccountRole.OFFICE_BANK: AccountKind.OFFICE,
    AccountRole.CLIENT_BANK: AccountKind.CLIENT,
}


HANDLED = (
    JournalPosted.event_type,
    AccountUpserted.event_type,
    BankAccountUpserted.event_type,
    PeriodUnlocked.event_type,
)
"""The event types ``handle_event`` acts on; the consumer passes the others over unread."""


async def handle_event(uow: UnitOfWork, event: Envelope[EventPayload]) -> None:
    data = event.data
    if isinstance(data, JournalPosted):
        await mirror_journal(uow, event.firm_id, data, event)
    elif isinstance(data, AccountUpserted):
        await bank_nominal_upserted(uow, event.firm_id, data)
    elif isinstance(data, BankAccountUpserted):
        await clio_bank_account_upserted(uow, event.firm_id, data)
    elif isinstance(data, PeriodUnlocked):
        await period_unlocked(uow, event.firm_id, data)


async def bank_nominal_upserted(uow: UnitOfWork, firm_id: str, account: AccountUpserted) -> None:
    kind = _BANK_ROLES.get(account.role) if account.role is not None else None
    if kind is None or account.bank_account_id is None:
        return
    await repository.upsert_bank_account(
        uow.session,
        firm_id,
        account.bank_account_id,
        kind=kind.value,
        currency=account.currency,
        nominal_code=account.code,
        known_to_ledger=True,
    )


async def clio_bank_account_upserted(
    uow: UnitOfWork, firm_id: str, account: BankAccountUpserted
) -> None:
    existing = await repository.bank_account_row(uow.session, firm_id, account.bank_account_id)
    ledger_says = existing is not None and existing.known_to_ledger
    await repository.upsert_bank_account(
        uow.session,
        firm_id,
        account.bank_account_id,
        name=account.name,
        account_number_last4=last4_of(account.account_number_last4),
        # The ledger's bank nominal is the authority on kind and currency once it exists.
        kind=None if ledger_says else account.kind.value,
        currency=None if ledger_says else account.currency,
    )


async def mirror_journal(
    uow: UnitOfWork, firm_id: str, journal: JournalPosted, event: Envelope[Any]
) -> None:
    session = uow.session
    nominals = await repository.bank_nominals(session, firm_id)
    entries = cashbook_entries_of(journal, nominals)
    if not entries:
        return
    for bank_account_id in {entry.bank_account_id for entry in entries} - set(nominals.values()):
        # A placeholder until the ledger or Clio describes the account.
        await repository.upsert_bank_account(session, firm_id, bank_account_id)
    inserted = await session.execute(
        insert(cashbook_entries)
        .values(
            [
                {
                    "firm_id": firm_id,
                    "entry_id": entry.entry_id,
                    "bank_account_id": entry.bank_account_id,
                    "journal_id": entry.journal_id,
                    "line_index": entry.line_index,
                    "posted_on": entry.posted_on,
                    "amount_minor": entry.amount.amount_minor,
                    "currency": entry.amount.currency,
                    "reference": entry.reference,
                    "journal_kind": entry.journal_kind,
                    "account_code": entry.account_code,
                    "reverses_journal_id": entry.reverses_journal_id,
                    "event_id": event.id,
                }
                for entry in entries
            ]
        )
        .on_conflict_do_nothing(
            index_elements=[cashbook_entries.c.firm_id, cashbook_entries.c.entry_id]
        )
        .returning(cashbook_entries.c.entry_id)
    )
    new_ids = set(inserted.scalars())
    if journal.reverses_journal_id is not None:
        await _cancel_reversed(uow, firm_id, [e for e in entries if e.entry_id in new_ids], journal)


async def _cancel_reversed(
    uow: UnitOfWork, firm_id: str, reversing: list[MirroredEntry], journal: JournalPosted
) -> None:
    """Pair each reversing entry with the entry it cancels. An original already matched to the
    bank is unmatched first (the bank line goes back to be matched to what replaces it), unless
    a signed reconciliation covers that match: then the reversal is a correction in a later
    period and stays an ordinary cashbook entry."""
    session = uow.session
    result = await session.execute(
        select(cashbook_entries).where(
            cashbook_entries.c.firm_id == firm_id,
            cashbook_entries.c.journal_id == journal.reverses_journal_id,
            cashbook_entries.c.contra_entry_id.is_(None),
        )
    )
    originals = [
        MirroredEntry(
            entry_id=row.entry_id,
            bank_account_id=row.bank_account_id,
            journal_id=row.journal_id,
            line_index=row.line_index,
            posted_on=row.posted_on,
            amount=repository.money(row.amount_minor, row.currency),
            reference=row.reference,
            journal_kind=row.journal_kind,
            account_code=row.account_code,
            reverses_journal_id=row.reverses_journal_id,
        )
        for row in result
    ]
    for reversal, original in pair_reversals(reversing, originals):
        matched = await repository.match_of_entry(session, firm_id, original.entry_id)
        if matched is not None:
            match_id, settled_on = matched
            lock = await repository.locked_through(session, firm_id, original.bank_account_id)
            if lock is not None and settled_on <= lock:
                continue
            await repository.undo_match(
                session,
                firm_id,
                match_id,
                by="ledger",
                reason=f"journal {journal.reverses_journal_id} was reversed by {journal.journal_id}",
            )
        for entry_id, contra in (
            (reversal.entry_id, original.entry_id),
            (original.entry_id, reversal.entry_id),
        ):
            await session.execute(
                cashbook_entries.update()
                .where(
                    cashbook_entries.c.firm_id == firm_id,
                    cashbook_entries.c.entry_id == entry_id,
                )
                .values(contra_entry_id=contra)
            )


async def period_unlocked(uow: UnitOfWork, firm_id: str, unlocked: PeriodUnlocked) -> None:
    """The ledger reopened a bank account's period (audited there): the reconciliations signed
    after the new lock date no longer lock matching, and may be signed again."""
    query = reconciliations.update().where(
        reconciliations.c.firm_id == firm_id,
        reconciliations.c.reopened_at.is_(None),
    )
    if unlocked.bank_account_id is not None:
        query = query.where(reconciliations.c.bank_account_id == unlocked.bank_account_id)
    if unlocked.locked_through is not None:
        query = query.where(reconciliations.c.as_of > unlocked.locked_through)
    await uow.session.execute(
        query.values(reopened_at=func.now(), reopened_by=unlocked.by, reopen_reason=unlocked.reason)
    )
