"""The demo's path through the service: the sandbox firm's bank statements (written by the
sandbox, with its noise) imported through the API, the cashbook mirrored from the journals the
ledger would post for the same Clio bank transactions, auto-matched and reconciled as of each
statement's last day. The client accounts reconcile three ways with no difference (their bank
charges are replaced from office the same day, and cancel); the office account's difference is
exactly its bank-only items until the cashier posts them. The sum of client ledgers comes from
the stub ledger, computed from the Clio transactions themselves."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from reconciliation_service_fixtures import at, client_for, eventually_true, produce, upload

from cashroom_contracts.envelope import Envelope, new_event
from cashroom_contracts.events.clio import BankAccountUpserted
from cashroom_contracts.events.common import AccountKind, ClioSource
from cashroom_contracts.events.ledger import (
    AccountRole,
    AccountType,
    AccountUpserted,
    JournalLine,
    JournalPosted,
    PostingSource,
)
from cashroom_contracts.money import Money
from clio_sandbox import BankLine, Firm, bank_lines
from clio_sandbox.statements import bank_activity, write_statements
from clio_sandbox.testing import tiny_firm
from conftest import RunningService


def _accounts(firm_id: str, firm: Firm) -> list[Envelope[Any]]:
    events: list[Envelope[Any]] = []
    for n, record in enumerate(sorted(firm.records("bank_accounts"), key=lambda r: r["id"])):
        office = record["id"] == firm.meta.operating_account_id
        kind = AccountKind.OFFICE if office else AccountKind.CLIENT
        events.append(
            new_event(
                AccountUpserted(
                    code=f"{1000 if office else 1100}{n}",
                    name=record["name"],
                    type=AccountType.ASSET,
                    role=AccountRole.OFFICE_BANK if office else AccountRole.CLIENT_BANK,
                    currency=firm.meta.currency,
                    bank_account_id=record["id"],
                ),
                firm_id=firm_id,
                source="cashroom/ledger",
            )
        )
        events.append(
            new_event(
                BankAccountUpserted(
                    source=ClioSource(
                        object_type="BankAccount", object_id=record["id"], version="1"
                    ),
                    bank_account_id=record["id"],
                    name=record["name"],
                    kind=kind,
                    currency=firm.meta.currency,
                    account_number_last4=record["account_number"][-4:],
                ),
                firm_id=firm_id,
                source="cashroom/clio-connector",
            )
        )
    return events


def _journal(firm_id: str, firm: Firm, account: int, nominal: str, line: BankLine) -> Envelope[Any]:
    """What the ledger posts for one Clio bank transaction: the bank nominal against the
    matter's client column (client accounts) or its office side (the office account)."""
    money = Money(amount_minor=abs(line.amount), currency=firm.meta.currency)
    zero = Money(amount_minor=0, currency=firm.meta.currency)
    office = account == firm.meta.operating_account_id
    bank = JournalLine(
        account_code=nominal,
        debit=money if line.amount > 0 else zero,
        credit=zero if line.amount > 0 else money,
        bank_account_id=account,
    )
    other = JournalLine(
        account_code="1200" if office else "2100",
        debit=zero if line.amount > 0 else money,
        credit=money if line.amount > 0 else zero,
        matter_id=line.matter_id,
        ledger_side=AccountKind.OFFICE if office else AccountKind.CLIENT,
        bank_account_id=None if office else account,
    )
    return new_event(
        JournalPosted(
            journal_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{firm_id}/{line.id}"),
            posted_on=line.date,
            kind=line.transaction_type.lower(),
            narrative=f"{line.description} — M{line.matter_id}",
            source=PostingSource(
                system="clio", object_type="BankTransaction", object_id=str(line.id)
            ),
            lines=[bank, other],
        ),
        firm_id=firm_id,
        source="cashroom/ledger",
        time=at(line.date),
    )


async def test_the_sandbox_firms_statements_reconcile_through_the_service(
    service: RunningService, firm: str, tmp_path: Path
) -> None:
    sandbox_firm = tiny_firm()
    meta = sandbox_firm.meta
    nominals: dict[int, str] = {}
    announcements = _accounts(firm, sandbox_firm)
    for event in announcements:
        if isinstance(event.data, AccountUpserted) and event.data.bank_account_id is not None:
            nominals[event.data.bank_account_id] = event.data.code
    clio = {account: bank_lines(sandbox_firm, account) for account in nominals}
    journals = [
        _journal(firm, sandbox_firm, account, nominals[account], line)
        for account, lines in clio.items()
        for line in lines
    ]
    await produce(service.settings, firm, [*announcements, *journals])

    def client_ledgers(account: int, as_of: date) -> int:
        # Each client-account transaction moves its matter's client column by its amount.
        return sum(line.amount for line in clio[account] if line.date <= as_of)

    service.ledger.totals[firm] = client_ledgers
    written = write_statements(sandbox_firm, tmp_path)
    bank_only = {
        banking.bank_account_id: [
            e for e in banking.entries if e.kind in ("bank_charge", "charge_reimbursement")
        ]
        for banking in bank_activity(sandbox_firm)
    }
    await _wait_for_all(service, firm, journals)
    checked = 0
    async with client_for(service.app, firm) as http:
        for statement in written:
            account = statement.bank_account_id
            base = f"/firms/{firm}/bank-accounts/{account}"
            imported = await http.post(
                f"{base}/statements", **upload(statement.path.read_bytes(), statement.path.name)
            )
            assert imported.status_code == 201, (statement.path.name, imported.text)
            assert imported.json()["breaks"] == []
            assert (await http.post(f"{base}/auto-match")).status_code == 200
            view = (
                await http.get(
                    f"{base}/reconciliation", params={"as_of": statement.as_of.isoformat()}
                )
            ).json()
            if account == meta.operating_account_id:
                expected = sum(
                    e.amount for e in bank_only[account] if e.booking_date <= statement.as_of
                )
                assert view["difference"]["amount_minor"] == expected, statement.path.name
                assert view["unexplained_total"]["amount_minor"] == expected
            else:
                assert view["difference"]["amount_minor"] == 0, statement.path.name
                assert view["three_way_difference"]["amount_minor"] == 0, statement.path.name
                assert view["unexplained_items"] == []
                charges = [e for e in bank_only[account] if e.booking_date <= statement.as_of]
                assert len(view["cancelling_bank_items"]) * 2 == len(charges)
            checked += 1
    assert checked == len(written) > 0


async def _wait_for_all(service: RunningService, firm: str, journals: list[Envelope[Any]]) -> None:
    wanted = {str(j.data.journal_id) for j in journals}

    async def complete() -> bool:
        async with client_for(service.app, firm) as http:
            seen: set[str] = set()
            for account in (
                a["bank_account_id"]
                for a in (await http.get(f"/firms/{firm}/bank-accounts")).json()
            ):
                book = (await http.get(f"/firms/{firm}/bank-accounts/{account}/cashbook")).json()
                seen |= {e["entry_id"].split(":")[0] for e in book}
            return wanted <= seen

    await eventually_true(complete)
