"""The ledger's HTTP API: thin routes over the use cases (``handlers``) and the queries
(``db.queries``). Every route is ``/firms/{firm_id}/...`` under a bearer token for that firm
(another firm's token gets 404). Money is ``{"amount_minor": int, "currency": "EUR"}``; dates
are ISO. A command the books refuse answers 4xx with the reason in the cashier's words and
changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cashroom_chassis.auth import Principal, Role, require
from cashroom_chassis.db import Database
from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind, ExceptionResolution, PostingSource
from cashroom_contracts.money import Money
from cashroom_ledger import handlers
from cashroom_ledger.db import codec, queries
from cashroom_ledger.db.books import Books
from cashroom_ledger.domain import (
    AlreadyApplied,
    BankTransferEntry,
    ChartError,
    ExceptionRaised,
    Held,
    Jurisdiction,
    LedgerError,
    ManualEntry,
    OfficePaymentEntry,
    Outcome,
    Posted,
    Rejected,
    SupplierInvoiceEntry,
    SupplierInvoicePaymentEntry,
)
from cashroom_ledger.domain.journals import Entry, Journal

Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Cashier = Annotated[Principal, Depends(require(Role.CASHIER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
T = TypeVar("T")

JURISDICTIONS = {"ie": Jurisdiction.IRELAND, "ew": Jurisdiction.ENGLAND_AND_WALES}
CODES = {j: code for code, j in JURISDICTIONS.items()}


# --- request and response shapes -----------------------------------------------------------------


class SetupRequest(BaseModel):
    jurisdiction: Literal["ie", "ew"] = Field(
        description="ie: Ireland (EUR, VAT 23%); ew: England & Wales (GBP, VAT 20%)."
    )
    firm_name: str = Field(min_length=1, max_length=200)


class SetupResponse(BaseModel):
    firm_id: str
    firm_name: str
    jurisdiction: Literal["ie", "ew"]
    currency: str
    created: bool = Field(description="False when the books were already set up (nothing changed).")
    accounts: int = Field(description="Nominals in the chart of accounts.")


class AccountOut(BaseModel):
    code: str
    name: str
    type: str = Field(description="asset, liability, equity, income or expense")
    role: str | None = Field(description="What the posting rules use it for, if anything.")
    currency: str
    bank_account_id: int | None = Field(
        description="The bank account this nominal is the cashbook of."
    )


class NewAccount(BaseModel):
    code: str = Field(description="1-16 letters, digits, dots or dashes.")
    name: str
    type: str | None = Field(description="asset, liability, equity, income or expense")


class AccountChange(BaseModel):
    name: str | None = None
    type: str | None = Field(default=None, description="Only while the account has no postings.")


class BankAccountOut(BaseModel):
    bank_account_id: int = Field(description="Clio's id of the bank account.")
    name: str
    kind: AccountKind = Field(description="office (the firm's money) or client (trust money)")
    currency: str
    nominal_code: str
    locked_through: date | None
    default_office_account: bool


class DefaultOfficeAccount(BaseModel):
    bank_account_id: int


class LineOut(BaseModel):
    account_code: str
    debit: Money
    credit: Money
    matter_id: int | None
    ledger_side: AccountKind | None = Field(description="office or client column of the matter")
    bank_account_id: int | None
    vat_tag: str | None
    narrative: str | None


class JournalOut(BaseModel):
    journal_id: uuid.UUID
    posting_key: str = Field(description="The record posted, e.g. bill:5550012.")
    kind: str
    posted_on: date
    narrative: str
    source: PostingSource
    reverses_journal_id: uuid.UUID | None
    reason: str | None
    linked_journal_id: uuid.UUID | None = Field(description="The other half of a transfer.")
    entered_by: str | None
    recorded_at: datetime
    lines: list[LineOut]


class MatterHolding(BaseModel):
    matter_id: int
    balance: Money = Field(description="Money held for the matter in this client account.")


class ClientLedgers(BaseModel):
    as_of: date
    bank_account_id: int
    total: Money = Field(description="The sum of the client ledgers (client columns).")
    client_bank_balance: Money = Field(description="The client account's cashbook balance.")
    matters: list[MatterHolding]


class NominalBalance(BaseModel):
    code: str
    name: str
    type: str
    balance: Money = Field(description="Debits less credits: credit balances are negative.")


class TrialBalance(BaseModel):
    as_of: date | None = Field(description="None: the latest balances.")
    accounts: list[NominalBalance]
    total: Money = Field(description="Zero when the books balance.")


class BankBalance(BaseModel):
    bank_account_id: int
    name: str
    kind: AccountKind
    nominal_code: str
    balance: Money = Field(description="The cashbook balance: money in the bank is positive.")


class AccountHolding(BaseModel):
    bank_account_id: int
    balance: Money = Field(description="Money held for the matter in this client account.")


class MatterBalances(BaseModel):
    as_of: date | None = Field(description="None: the latest balances.")
    matter_id: int
    office: Money = Field(description="Office column: what the client owes the firm.")
    client: Money = Field(description="Client column: money held for the client, all accounts.")
    client_by_account: list[AccountHolding]


class CardColumn(BaseModel):
    debit: Money
    credit: Money
    balance: Money


class CardRowOut(BaseModel):
    posted_on: date
    journal_id: uuid.UUID
    kind: str
    narrative: str
    source: str
    office: CardColumn = Field(description="Office column: a debit balance is owed to the firm.")
    client: CardColumn = Field(description="Client column: a credit balance is money held.")
    client_bank_account_id: int | None


class LedgerCard(BaseModel):
    matter_id: int
    reference: str
    description: str
    client_id: int
    client_name: str | None
    start: date | None = Field(alias="from")
    end: date | None = Field(alias="to")
    office_opening: Money
    client_opening: Money
    rows: list[CardRowOut]
    office_closing: Money
    client_closing: Money

    model_config = {"populate_by_name": True}


class ExceptionOut(BaseModel):
    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    raised_on: date
    amount: Money | None
    detail: str
    source: PostingSource | None
    posting_key: str | None
    blocking: bool = Field(description="True: a posting waits on it; false: a state reported.")
    open: bool
    resolution: ExceptionResolution | None
    resolved_by: str | None
    resolution_reason: str | None
    raised_at: datetime
    resolved_at: datetime | None


class Resolution(BaseModel):
    resolution: ExceptionResolution = Field(
        description="fixed_at_source: the cause was fixed, try the posting again; "
        "recorded_as_breach: post it as it is and enter it in the breach register."
    )
    reason: str = Field(min_length=1)


class BreachOut(BaseModel):
    exception_id: uuid.UUID
    kind: ExceptionKind
    matter_id: int | None
    amount: Money | None
    detail: str
    recorded_by: str
    reason: str
    journal_ids: list[uuid.UUID]
    recorded_at: datetime


class LockChange(BaseModel):
    locked_through: date | None
    bank_account_id: int | None
    locked: bool = Field(description="True: locked or moved on; false: lifted or moved back.")
    by: str
    reason: str
    at: datetime


class BankLock(BaseModel):
    bank_account_id: int
    locked_through: date


class Locks(BaseModel):
    books_locked_through: date | None
    bank_accounts: list[BankLock]
    history: list[LockChange]


class LockRequest(BaseModel):
    locked_through: date
    bank_account_id: int | None = Field(default=None, description="None locks the whole books.")
    reason: str = Field(min_length=1)


class UnlockRequest(BaseModel):
    locked_through: date | None = Field(
        default=None, description="The new lock date; none lifts it."
    )
    bank_account_id: int | None = None
    reason: str = Field(min_length=1)


class HeldOut(BaseModel):
    posting_key: str
    version: str
    source: PostingSource
    reason_code: str
    reason: str
    waiting_for: list[str] = Field(description="What it waits for, e.g. matter:42, bill:7, unlock.")
    exception_id: uuid.UUID | None
    entered_by: str | None
    held_since: datetime


class HeldPostings(BaseModel):
    held: list[HeldOut] = Field(description="This page of the postings that wait.")
    total: int = Field(description="How many postings wait in all (every page).")
    events_before_setup: int = Field(description="Events kept until the firm's books are set up.")


class _Entry(BaseModel):
    entry_id: str | None = Field(
        default=None, max_length=100, description="Yours, to correct it later; one is made if none."
    )
    revision: int = Field(default=1, ge=1, description="A correction is the next revision.")


class OfficePaymentIn(_Entry):
    kind: Literal["office_payment"]
    paid_on: date
    bank_account_id: int
    account_code: str = Field(description="The nominal the cost goes to, e.g. 6100 rent.")
    net: Money
    vat: Money | None = None
    vat_treatment: VatTreatment = VatTreatment.STANDARD
    payee: str = Field(min_length=1)
    description: str = Field(min_length=1)


class BankTransferIn(_Entry):
    kind: Literal["bank_transfer"]
    transferred_on: date
    from_bank_account_id: int
    to_bank_account_id: int
    amount: Money
    description: str = Field(min_length=1)
    matter_id: int | None = None
    to_matter_id: int | None = None


class SupplierInvoiceIn(_Entry):
    kind: Literal["supplier_invoice"]
    invoiced_on: date
    supplier: str = Field(min_length=1)
    net: Money
    description: str = Field(min_length=1)
    matter_id: int | None = Field(default=None, description="Set for a linked outlay.")
    account_code: str | None = None
    vat: Money | None = None
    vat_treatment: VatTreatment = VatTreatment.STANDARD


class SupplierInvoicePaymentIn(_Entry):
    kind: Literal["supplier_invoice_payment"]
    invoice_entry_id: str
    paid_on: date
    bank_account_id: int
    amount: Money


ManualEntryIn = Annotated[
    OfficePaymentIn | BankTransferIn | SupplierInvoiceIn | SupplierInvoicePaymentIn,
    Field(discriminator="kind"),
]


class ManualEntryOut(BaseModel):
    entry_id: str
    revision: int
    outcome: Literal["posted", "held", "referred", "already_entered"]
    reason_code: str | None = None
    reason: str | None = None
    journal_ids: list[uuid.UUID] = []
    exception_id: uuid.UUID | None = None


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


# --- routes -------------------------------------------------------------------------------------


def install(app: FastAPI, db: Database) -> None:
    router = APIRouter(prefix="/firms/{firm_id}", tags=["ledger"])

    async def command(fn: Callable[[Books], T]) -> T:
        async with db.unit_of_work() as uow:
            result = await uow.session.run_sync(lambda session: fn(Books(session)))
            await uow.commit()
        return result

    async def books(firm_id: str) -> queries.Firm:
        async with db.transaction() as session:
            found = await queries.firm(session, firm_id)
        if found is None:
            raise handlers.NotSetUp(
                f"the books of firm {firm_id} are not set up: PUT /firms/{firm_id}/setup first"
            )
        return found

    @router.put(
        "/setup",
        response_model=SetupResponse,
        summary="Set up the firm's books",
        description="Creates the chart of accounts from the jurisdiction's template and "
        "announces every nominal. Again with the same jurisdiction changes nothing (the name is "
        "updated); with another it is refused (409). Clio events that arrived before are "
        "posted now.",
    )
    async def set_up(
        firm_id: str, body: SetupRequest, principal: Admin, response: Response
    ) -> SetupResponse:
        jurisdiction = JURISDICTIONS[body.jurisdiction]
        created, _ = await command(
            lambda b: handlers.set_up_firm(
                b, firm_id, jurisdiction, body.firm_name, by=principal.subject
            )
        )
        firm = await books(firm_id)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return SetupResponse(
            firm_id=firm_id,
            firm_name=firm.record.firm_name,
            jurisdiction=CODES[firm.chart.jurisdiction],
            currency=firm.currency,
            created=created,
            accounts=len(firm.chart.accounts),
        )

    @router.get(
        "/accounts",
        response_model=list[AccountOut],
        summary="The chart of accounts",
        description="Every nominal with its type, its role for the posting rules and, for a bank "
        "nominal, the bank account whose cashbook it is.",
    )
    async def accounts(firm_id: str, principal: Viewer) -> list[AccountOut]:
        return _accounts(await books(firm_id))

    @router.post(
        "/accounts",
        response_model=AccountOut,
        status_code=status.HTTP_201_CREATED,
        summary="Add a nominal to the chart",
    )
    async def add_account(firm_id: str, body: NewAccount, principal: Admin) -> AccountOut:
        await command(
            lambda b: handlers.add_account(
                b, firm_id, code=body.code, name=body.name, type=body.type, by=principal.subject
            )
        )
        return await _account(firm_id, body.code)

    @router.patch(
        "/accounts/{code}",
        response_model=AccountOut,
        summary="Rename a nominal, or change its type while it has no postings",
    )
    async def change_account(
        firm_id: str, code: str, body: AccountChange, principal: Admin
    ) -> AccountOut:
        await command(
            lambda b: handlers.change_account(
                b, firm_id, code, name=body.name, type=body.type, by=principal.subject
            )
        )
        return await _account(firm_id, code)

    @router.delete(
        "/accounts/{code}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Remove a nominal that has no postings and that the posting rules do not need",
    )
    async def remove_account(firm_id: str, code: str, principal: Admin) -> Response:
        await command(lambda b: handlers.remove_account(b, firm_id, code, by=principal.subject))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def _account(firm_id: str, code: str) -> AccountOut:
        for account in _accounts(await books(firm_id)):
            if account.code == code:
                return account
        raise queries.NotFound(f"no account {code} in the chart of accounts")

    @router.get(
        "/bank-accounts",
        response_model=list[BankAccountOut],
        summary="The firm's office and client bank accounts",
    )
    async def bank_accounts(firm_id: str, principal: Viewer) -> list[BankAccountOut]:
        firm = await books(firm_id)
        default = firm.record.default_office_account_id
        return [
            BankAccountOut(
                bank_account_id=b.bank_account_id,
                name=b.name,
                kind=b.kind,
                currency=b.currency,
                nominal_code=b.nominal_code,
                locked_through=firm.locks.get(b.bank_account_id),
                default_office_account=b.bank_account_id == default,
            )
            for b in firm.bank_accounts
        ]

    @router.put(
        "/default-office-account",
        response_model=list[BankAccountOut],
        summary="Choose the office account client-to-office transfers land in by default",
    )
    async def default_office_account(
        firm_id: str, body: DefaultOfficeAccount, principal: Admin
    ) -> list[BankAccountOut]:
        await command(
            lambda b: handlers.set_default_office_account(
                b, firm_id, body.bank_account_id, by=principal.subject
            )
        )
        return await bank_accounts(firm_id, principal)

    @router.get(
        "/journals",
        response_model=list[JournalOut],
        summary="Journals, by matter, nominal, date or Clio record",
        description="In the order they were posted. Reversals name the journal they reverse.",
    )
    async def journals(
        firm_id: str,
        principal: Viewer,
        matter_id: int | None = None,
        account_code: str | None = None,
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        source_type: Annotated[
            str | None, Query(description="The Clio record type, e.g. Bill.")
        ] = None,
        source_id: Annotated[str | None, Query(description="The Clio record's id.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[JournalOut]:
        await books(firm_id)
        where = queries.JournalFilter(
            matter_id, account_code, start, end, source_type, source_id, limit, offset
        )
        async with db.transaction() as session:
            found = await queries.journals(session, firm_id, where)
        return [_journal(journal, extra) for journal, extra in found]

    @router.get(
        "/journals/{journal_id}", response_model=JournalOut, summary="One journal and its lines"
    )
    async def journal(firm_id: str, journal_id: uuid.UUID, principal: Viewer) -> JournalOut:
        await books(firm_id)
        async with db.transaction() as session:
            found, extra = await queries.journal(session, firm_id, journal_id)
        return _journal(found, extra)

    @router.get(
        "/matters/{matter_id}/ledger-card",
        response_model=LedgerCard,
        response_model_by_alias=True,
        summary="The matter's ledger card",
        description="Every journal that moved the matter's office or client column, in date "
        "order, with both running balances.",
    )
    async def ledger_card(
        firm_id: str,
        matter_id: int,
        principal: Viewer,
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
    ) -> LedgerCard:
        _dates_in_order(start, end)
        firm = await books(firm_id)
        async with db.transaction() as session:
            card = await queries.ledger_card(session, firm, matter_id, start, end)
        money = _money(firm.currency)
        rows = [
            CardRowOut(
                posted_on=r.posted_on,
                journal_id=r.journal_id,
                kind=r.kind,
                narrative=r.narrative,
                source=r.source,
                office=CardColumn(
                    debit=money(r.office_debit),
                    credit=money(r.office_credit),
                    balance=money(r.office_balance),
                ),
                client=CardColumn(
                    debit=money(r.client_debit),
                    credit=money(r.client_credit),
                    balance=money(r.client_balance),
                ),
                client_bank_account_id=r.client_bank_account_id,
            )
            for r in card.rows
        ]
        return LedgerCard(
            matter_id=matter_id,
            reference=card.matter["reference"],
            description=card.matter["description"],
            client_id=card.matter["client_id"],
            client_name=card.matter["client_name"],
            start=start,
            end=end,
            office_opening=money(card.office_opening),
            client_opening=money(card.client_opening),
            rows=rows,
            office_closing=rows[-1].office.balance if rows else money(card.office_opening),
            client_closing=rows[-1].client.balance if rows else money(card.client_opening),
        )

    @router.get(
        "/balances",
        response_model=TrialBalance,
        summary="Every nominal's balance as of a date (a trial balance)",
    )
    async def balances(firm_id: str, principal: Viewer, as_of: date | None = None) -> TrialBalance:
        firm = await books(firm_id)
        day = as_of or date.max
        async with db.transaction() as session:
            found = await queries.nominal_balances(session, firm_id, day)
        money = _money(firm.currency)
        return TrialBalance(
            as_of=as_of,
            accounts=[
                NominalBalance(
                    code=a.code, name=a.name, type=a.type.value, balance=money(found[a.code])
                )
                for a in firm.chart.accounts
                if a.code in found
            ],
            total=money(sum(found.values())),
        )

    @router.get(
        "/balances/bank-accounts",
        response_model=list[BankBalance],
        summary="Each bank account's cashbook balance as of a date",
    )
    async def bank_balances(
        firm_id: str, principal: Viewer, as_of: date | None = None
    ) -> list[BankBalance]:
        firm = await books(firm_id)
        async with db.transaction() as session:
            found = await queries.bank_balances(session, firm, as_of or date.max)
        money = _money(firm.currency)
        return [
            BankBalance(
                bank_account_id=b.bank_account_id,
                name=b.name,
                kind=b.kind,
                nominal_code=b.nominal_code,
                balance=money(found.get(b.bank_account_id, 0)),
            )
            for b in firm.bank_accounts
        ]

    @router.get(
        "/balances/client-ledgers",
        response_model=ClientLedgers,
        summary="Client ledger balances in one client account as of a date",
        description="The three-way reconciliation's figures: the money held for each matter, "
        "their total, and the client account's cashbook balance.",
    )
    async def client_ledgers(
        firm_id: str, principal: Viewer, as_of: date, bank_account_id: int
    ) -> ClientLedgers:
        firm = await books(firm_id)
        bank = firm.bank_account(bank_account_id)
        if bank.kind is not AccountKind.CLIENT:
            raise LedgerError(
                f"bank account {bank_account_id} is an office account; client ledgers are kept "
                "for client accounts only"
            )
        async with db.transaction() as session:
            held = await queries.client_ledger_balances(session, firm, as_of, bank_account_id)
            cashbook = await queries.bank_balances(session, firm, as_of)
        money = _money(firm.currency)
        return ClientLedgers(
            as_of=as_of,
            bank_account_id=bank_account_id,
            total=money(sum(held.values())),
            client_bank_balance=money(cashbook.get(bank_account_id, 0)),
            matters=[
                MatterHolding(matter_id=m, balance=money(amount))
                for m, amount in sorted(held.items())
            ],
        )

    @router.get(
        "/matters/{matter_id}/balances",
        response_model=MatterBalances,
        summary="A matter's office and client columns as of a date",
    )
    async def matter_balances(
        firm_id: str, matter_id: int, principal: Viewer, as_of: date | None = None
    ) -> MatterBalances:
        firm = await books(firm_id)
        day = as_of or date.max
        async with db.transaction() as session:
            office, client = await queries.matter_balances(session, firm, matter_id, day)
        money = _money(firm.currency)
        return MatterBalances(
            as_of=as_of,
            matter_id=matter_id,
            office=money(office),
            client=money(sum(client.values())),
            client_by_account=[
                AccountHolding(bank_account_id=bank, balance=money(amount))
                for bank, amount in sorted(client.items())
            ],
        )

    @router.get(
        "/exceptions",
        response_model=list[ExceptionOut],
        summary="Exceptions for the cashier: overdrawn client ledgers, transfers beyond a bill, "
        "office columns in credit",
    )
    async def exceptions(
        firm_id: str,
        principal: Viewer,
        response: Response,
        open: bool = False,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[ExceptionOut]:
        await books(firm_id)
        async with db.transaction() as session:
            rows, total = await queries.exceptions(
                session, firm_id, open_only=open, limit=limit, offset=offset
            )
        response.headers["X-Total-Count"] = str(total)
        return [_exception(row) for row in rows]

    @router.post(
        "/exceptions/{exception_id}/resolve",
        response_model=ExceptionOut,
        summary="Resolve an exception",
        description="fixed_at_source tries the waiting posting again and is refused (422) while "
        "it still breaks the rule; recorded_as_breach posts it as it is and enters it in the "
        "breach register.",
    )
    async def resolve(
        firm_id: str, exception_id: uuid.UUID, body: Resolution, principal: Cashier
    ) -> ExceptionOut:
        await books(firm_id)
        async with db.transaction() as session:
            if await queries.exception(session, firm_id, exception_id) is None:
                raise queries.NotFound(f"the firm has no exception {exception_id}")
        await command(
            lambda b: handlers.resolve_exception(
                b, firm_id, exception_id, body.resolution, by=principal.subject, reason=body.reason
            )
        )
        async with db.transaction() as session:
            row = await queries.exception(session, firm_id, exception_id)
        assert row is not None
        return _exception(row)

    @router.get("/breaches", response_model=list[BreachOut], summary="The breach register")
    async def breaches(firm_id: str, principal: Viewer) -> list[BreachOut]:
        firm = await books(firm_id)
        async with db.transaction() as session:
            rows = await queries.breaches(session, firm_id)
        return [
            BreachOut(
                exception_id=r["exception_id"],
                kind=ExceptionKind(r["kind"]),
                matter_id=r["matter_id"],
                amount=codec.maybe_money(r["amount_minor"], r["currency"] or firm.currency),
                detail=r["detail"],
                recorded_by=r["recorded_by"],
                reason=r["reason"],
                journal_ids=list(r["journal_ids"]),
                recorded_at=r["recorded_at"],
            )
            for r in rows
        ]

    @router.get(
        "/period-locks",
        response_model=Locks,
        summary="Period locks now, and every lock and unlock with who and why",
    )
    async def locks(firm_id: str, principal: Viewer) -> Locks:
        firm = await books(firm_id)
        async with db.transaction() as session:
            rows = await queries.lock_history(session, firm_id)
        return Locks(
            books_locked_through=firm.record.books_locked_through,
            bank_accounts=[
                BankLock(bank_account_id=b, locked_through=d) for b, d in sorted(firm.locks.items())
            ],
            history=[
                LockChange(
                    locked_through=r["locked_through"],
                    bank_account_id=r["bank_account_id"],
                    locked=r["locked"],
                    by=r["changed_by"],
                    reason=r["reason"],
                    at=r["changed_at"],
                )
                for r in rows
            ],
        )

    @router.post(
        "/period-locks",
        response_model=Locks,
        summary="Lock a period",
        description="Nothing may then post on or before the date (for one bank account, or the "
        "whole books); postings dated there wait until an unlock.",
    )
    async def lock(firm_id: str, body: LockRequest, principal: Cashier) -> Locks:
        await command(
            lambda b: handlers.lock_period(
                b,
                firm_id,
                body.locked_through,
                bank_account_id=body.bank_account_id,
                by=principal.subject,
                reason=body.reason,
            )
        )
        return await locks(firm_id, principal)

    @router.post(
        "/period-locks/unlock",
        response_model=Locks,
        summary="Move a lock back, or lift it",
        description="Audited: who and why. Postings that waited for the unlock post now.",
    )
    async def unlock(firm_id: str, body: UnlockRequest, principal: Admin) -> Locks:
        await command(
            lambda b: handlers.unlock_period(
                b,
                firm_id,
                body.locked_through,
                bank_account_id=body.bank_account_id,
                by=principal.subject,
                reason=body.reason,
            )
        )
        return await locks(firm_id, principal)

    @router.post(
        "/manual-entries",
        response_model=ManualEntryOut,
        status_code=status.HTTP_201_CREATED,
        summary="Enter an office payment, a bank transfer, a supplier invoice or its payment",
        description="Posted under the same rules and checks as Clio's records: 201 posted; 202 "
        "held (e.g. a locked period) or referred to the exceptions; 422 refused, with why.",
    )
    async def manual_entry(
        firm_id: str, body: ManualEntryIn, principal: Cashier, response: Response
    ) -> ManualEntryOut:
        entry = _manual_entry(body, principal.subject)
        outcomes, _ = await command(lambda b: handlers.enter_manual(b, firm_id, entry))
        out = _entry_outcome(entry, outcomes)
        if out.outcome in ("held", "referred"):
            response.status_code = status.HTTP_202_ACCEPTED
        elif out.outcome == "already_entered":
            response.status_code = status.HTTP_200_OK
        return out

    @router.get(
        "/held-postings",
        response_model=HeldPostings,
        summary="Postings that wait, and what for",
    )
    async def held_postings(
        firm_id: str,
        principal: Viewer,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> HeldPostings:
        async with db.transaction() as session:
            found = await queries.firm(session, firm_id)
            waiting = await queries.events_before_setup(session, firm_id)
            rows, total = (
                await queries.held_postings(session, firm_id, limit=limit, offset=offset)
                if found
                else ([], 0)
            )
        return HeldPostings(
            held=[
                HeldOut(
                    posting_key=f"{r['key_kind']}:{r['key_id']}",
                    version=r["version"],
                    source=codec.source_of(codec.loads(r["source"])),
                    reason_code=r["reason_code"],
                    reason=r["reason"],
                    waiting_for=list(r["waiting_for"]),
                    exception_id=r["exception_id"],
                    entered_by=r["entered_by"],
                    held_since=r["held_since"],
                )
                for r in rows
            ],
            total=total,
            events_before_setup=waiting,
        )

    @router.get("/audit-log", response_model=list[AuditEntry], summary="The audit log")
    async def audit_log(
        firm_id: str,
        principal: Viewer,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[AuditEntry]:
        async with db.transaction() as session:
            rows = await queries.audit_log(session, firm_id, limit, offset)
        return [
            AuditEntry(
                seq=r["seq"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                detail=codec.loads(r["detail"]),
            )
            for r in rows
        ]

    app.include_router(router)
    _install_errors(app)


# --- helpers ------------------------------------------------------------------------------------


def _accounts(firm: queries.Firm) -> list[AccountOut]:
    bank_of = {b.nominal_code: b.bank_account_id for b in firm.bank_accounts}
    return [
        AccountOut(
            code=a.code,
            name=a.name,
            type=a.type.value,
            role=a.role.value if a.role else None,
            currency=firm.currency,
            bank_account_id=bank_of.get(a.code),
        )
        for a in firm.chart.accounts
    ]


def _money(currency: str) -> Callable[[int], Money]:
    def money(amount_minor: int) -> Money:
        return Money(amount_minor=amount_minor, currency=currency)

    return money


def _dates_in_order(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise LedgerError(f"to ({end}) is before from ({start})")


def _journal(journal: Journal, extra: dict[str, Any]) -> JournalOut:
    lines = []
    for line in journal.lines:
        zero = Money.zero(line.amount.currency)
        debit = line.entry is Entry.DEBIT
        lines.append(
            LineOut(
                account_code=line.account_code,
                debit=line.amount if debit else zero,
                credit=zero if debit else line.amount,
                matter_id=line.matter_id,
                ledger_side=line.ledger_side,
                bank_account_id=line.bank_account_id,
                vat_tag=line.vat_tag.value if line.vat_tag else None,
                narrative=line.narrative,
            )
        )
    return JournalOut(
        journal_id=journal.journal_id,
        posting_key=extra["posting_key"],
        kind=journal.kind.value,
        posted_on=journal.posted_on,
        narrative=journal.narrative,
        source=journal.source,
        reverses_journal_id=journal.reverses,
        reason=journal.reason,
        linked_journal_id=journal.linked_journal_id,
        entered_by=journal.entered_by,
        recorded_at=extra["recorded_at"],
        lines=lines,
    )


def _exception(row: dict[str, Any]) -> ExceptionOut:
    record = codec.exception_of(row)
    return ExceptionOut(
        exception_id=record.exception_id,
        kind=record.kind,
        matter_id=record.matter_id,
        raised_on=record.raised_on,
        amount=record.amount,
        detail=record.detail,
        source=record.source,
        posting_key=str(record.key) if record.key is not None else None,
        blocking=record.blocking,
        open=record.is_open,
        resolution=record.resolution,
        resolved_by=record.resolved_by,
        resolution_reason=record.resolution_reason,
        raised_at=row["raised_at"],
        resolved_at=row["resolved_at"],
    )


def _manual_entry(body: Any, by: str) -> ManualEntry:
    entry_id = body.entry_id or uuid.uuid4().hex
    match body:
        case OfficePaymentIn():
            return OfficePaymentEntry(
                entry_id=entry_id,
                revision=body.revision,
                paid_on=body.paid_on,
                bank_account_id=body.bank_account_id,
                account_code=body.account_code,
                net=body.net,
                payee=body.payee,
                description=body.description,
                entered_by=by,
                vat=body.vat,
                vat_treatment=body.vat_treatment,
            )
        case BankTransferIn():
            return BankTransferEntry(
                entry_id=entry_id,
                revision=body.revision,
                transferred_on=body.transferred_on,
                from_bank_account_id=body.from_bank_account_id,
                to_bank_account_id=body.to_bank_account_id,
                amount=body.amount,
                description=body.description,
                entered_by=by,
                matter_id=body.matter_id,
                to_matter_id=body.to_matter_id,
            )
        case SupplierInvoiceIn():
            return SupplierInvoiceEntry(
                entry_id=entry_id,
                revision=body.revision,
                invoiced_on=body.invoiced_on,
                supplier=body.supplier,
                net=body.net,
                description=body.description,
                entered_by=by,
                matter_id=body.matter_id,
                account_code=body.account_code,
                vat=body.vat,
                vat_treatment=body.vat_treatment,
            )
        case SupplierInvoicePaymentIn():
            return SupplierInvoicePaymentEntry(
                entry_id=entry_id,
                revision=body.revision,
                invoice_entry_id=body.invoice_entry_id,
                paid_on=body.paid_on,
                bank_account_id=body.bank_account_id,
                amount=body.amount,
                entered_by=by,
            )
    raise LedgerError(f"unknown manual entry {body!r}")


def _entry_outcome(entry: ManualEntry, outcomes: list[Outcome]) -> ManualEntryOut:
    base = {"entry_id": entry.entry_id, "revision": entry.revision}
    for outcome in outcomes:
        match outcome:
            case Posted() if outcome.source.object_id == entry.entry_id:
                return ManualEntryOut(
                    **base, outcome="posted", journal_ids=[j.journal_id for j in outcome.journals]
                )
            case Held() if outcome.source.object_id == entry.entry_id:
                return ManualEntryOut(
                    **base, outcome="held", reason_code=outcome.reason_code, reason=outcome.reason
                )
            case ExceptionRaised() if outcome.record.source and (
                outcome.record.source.object_id == entry.entry_id
            ):
                return ManualEntryOut(
                    **base,
                    outcome="referred",
                    reason_code=outcome.record.kind.value,
                    reason=outcome.record.detail,
                    exception_id=outcome.record.exception_id,
                )
            case Rejected() if outcome.source.object_id == entry.entry_id:
                raise LedgerError(f"{outcome.reason} ({outcome.reason_code})")
            case AlreadyApplied():
                return ManualEntryOut(**base, outcome="already_entered")
    return ManualEntryOut(**base, outcome="posted")


def _install_errors(app: FastAPI) -> None:
    def problem(status_code: int) -> Callable[[Request, Exception], Any]:
        async def answer(request: Request, error: Exception) -> JSONResponse:
            detail: Any = str(error)
            if isinstance(error, ChartError):
                detail = {"message": str(error), "problems": error.problems}
            return JSONResponse({"detail": detail}, status_code=status_code)

        return answer

    app.add_exception_handler(handlers.NotSetUp, problem(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(queries.NotFound, problem(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(handlers.Conflict, problem(status.HTTP_409_CONFLICT))
    app.add_exception_handler(ChartError, problem(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(LedgerError, problem(status.HTTP_422_UNPROCESSABLE_CONTENT))
