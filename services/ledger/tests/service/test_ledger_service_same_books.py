"""The books kept in PostgreSQL are the books kept in memory: the same random history of Clio
events (late reference data, overdrawing payments, edits, voids, replays, locks, breaches),
applied to the in-memory ``Ledger`` one event at a time and to the service in batches of random
sizes, leaves the same journals, balances as of every date, waiting postings and exceptions —
read back both through the domain's own queries over the stored state and through the API's
SQL."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import date

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ledger_domain_builders import (
    bank_account_upserted,
    bill_approved,
    bill_content,
    bill_payment,
    bill_voided,
    billed_disbursement,
    client_money_paid,
    client_money_received,
    client_upserted,
    credit_memo,
    disbursement_paid,
    fee,
    matter_upserted,
    purchase_invoice,
    purchase_invoice_paid,
    source,
    transfer,
)
from ledger_service_fixtures import Service, envelopes, firm_id
from sqlalchemy import text

from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events.clio import ClioEvent, RecordDeletedInClio
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionResolution
from cashroom_contracts.money import Money
from cashroom_ledger import handlers
from cashroom_ledger.db import queries
from cashroom_ledger.db.books import Books
from cashroom_ledger.domain import (
    Jurisdiction,
    Ledger,
    OfficePaymentEntry,
    england_and_wales_chart,
)

MATTERS = {10: 1, 11: 1, 12: 2}  # matter -> client
OFFICE, CLIENT_BANKS = 100, (200, 201)
DATES = (date(2026, 2, 1), date(2026, 2, 7), date(2026, 2, 14), date(2026, 2, 28))


def pence(amount: int) -> str:
    return str(Money(amount_minor=amount, currency="GBP").to_decimal())


def day(n: int) -> date:
    return date(2026, 2, n)


REFERENCE: tuple[ClioEvent, ...] = (
    client_upserted(1, "Aoife Byrne"),
    client_upserted(2, "Cian Walsh"),
    *(matter_upserted(m, c) for m, c in MATTERS.items()),
    bank_account_upserted(OFFICE, AccountKind.OFFICE),
    *(bank_account_upserted(b, AccountKind.CLIENT, name=f"Client {b}") for b in CLIENT_BANKS),
)


@dataclass(frozen=True)
class Step:
    what: str
    matter: int
    bank: int
    day: int
    amount: int
    pick: int
    batch_ends: bool


steps = st.builds(
    Step,
    st.sampled_from(
        ["receive"] * 5
        + ["pay"] * 3
        + ["bill"] * 2
        + ["pay_bill"] * 3
        + ["disburse"]
        + ["edit"] * 3
        + ["void", "void", "replay", "reference", "lock", "unlock"]
        + ["transfer", "invoice", "pay_invoice", "credit_note", "delete", "rent"]
        + ["breach"] * 2
    ),
    st.sampled_from(sorted(MATTERS)),
    st.sampled_from(CLIENT_BANKS),
    st.integers(1, 20),
    st.integers(1, 90_000),
    st.integers(0, 1_000),
    st.booleans(),
)


class Twins:
    """The same history twice: in memory, and through the service's books in batches."""

    def __init__(self, service: Service, firm: str) -> None:
        self.service, self.firm = service, firm
        self.memory = Ledger(firm, england_and_wales_chart())
        self.batch: list[Envelope[EventPayload]] = []
        self.sent: list[Envelope[EventPayload]] = []
        self.with_amounts: list[ClioEvent] = []  # postings an edit can change
        self.ids = itertools.count(1)
        self.versions = itertools.count(2)
        self.bills: list[tuple[int, int]] = []
        self.invoices: list[int] = []
        self.lock: date | None = None

    def event(self, event: ClioEvent) -> None:
        [envelope] = envelopes(self.firm, event)
        self.memory.handle(event, event_id=envelope.id)
        self.batch.append(envelope)
        self.sent.append(envelope)
        if "amount" in type(event).model_fields:
            self.with_amounts.append(event)

    async def flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, []
            await self.in_books(lambda books: handlers.handle_batch(books, batch))

    async def in_books(self, command: object) -> None:
        async with self.service.db.unit_of_work() as uow:
            await uow.session.run_sync(lambda session: command(Books(session)))  # type: ignore[operator]
            await uow.commit()

    async def step(self, step: Step) -> None:
        match step.what:
            case "receive":
                self.event(
                    client_money_received(
                        next(self.ids),
                        pence(step.amount),
                        day=day(step.day),
                        matter_id=step.matter,
                        bank_account_id=step.bank,
                    )
                )
            case "pay":
                self.event(
                    client_money_paid(
                        next(self.ids),
                        pence(step.amount),
                        day=day(step.day),
                        matter_id=step.matter,
                        bank_account_id=step.bank,
                    )
                )
            case "bill":
                bill_id = next(self.ids)
                self.bills.append((bill_id, step.matter))
                disbursed = [billed_disbursement(pence(step.amount // 3))] if step.pick % 2 else []
                self.event(
                    bill_approved(
                        bill_content(
                            bill_id,
                            fees=[fee(pence(step.amount), pence(step.amount // 5))],
                            disbursements=disbursed,
                            day=day(step.day),
                            matter_id=step.matter,
                            client_id=MATTERS[step.matter],
                        )
                    )
                )
            case "pay_bill" if self.bills:
                bill_id, matter = self.bills[step.pick % len(self.bills)]
                from_client = step.pick % 3 != 0
                self.event(
                    bill_payment(
                        next(self.ids),
                        bill_id,
                        pence(step.amount // 2),
                        paid_from=AccountKind.CLIENT if from_client else AccountKind.OFFICE,
                        day=day(step.day),
                        matter_id=matter,
                        bank_account_id=step.bank if from_client else OFFICE,
                        office_bank_account_id=OFFICE,
                    )
                )
            case "disburse":
                self.event(
                    disbursement_paid(
                        next(self.ids),
                        pence(step.amount),
                        day=day(step.day),
                        matter_id=step.matter,
                        bank_account_id=OFFICE,
                    )
                )
            case "edit" if self.with_amounts:
                original = self.with_amounts[step.pick % len(self.with_amounts)]
                version = f"v{next(self.versions)}"
                self.event(
                    original.model_copy(
                        update={
                            "source": original.source.model_copy(update={"version": version}),
                            "amount": Money(amount_minor=step.amount, currency="GBP"),
                        }
                    )
                )
            case "void" if self.bills:
                bill_id, _ = self.bills[step.pick % len(self.bills)]
                self.event(
                    bill_voided(bill_id, day=day(step.day), version=f"v{next(self.versions)}")
                )
            case "transfer":  # client to client, across matters and client accounts
                other = CLIENT_BANKS[(CLIENT_BANKS.index(step.bank) + step.pick) % 2]
                self.event(
                    transfer(
                        next(self.ids),
                        pence(step.amount // 4),
                        from_account=step.bank,
                        to_account=other,
                        day=day(step.day),
                        matter_id=step.matter,
                        to_matter_id=sorted(MATTERS)[step.pick % len(MATTERS)],
                    )
                )
            case "invoice":  # a linked outlay, or a cost of the firm
                invoice_id = next(self.ids)
                self.invoices.append(invoice_id)
                linked: int | None = step.matter if step.pick % 2 else None  # or the firm's own
                self.event(
                    purchase_invoice(
                        invoice_id, pence(step.amount), matter_id=linked, day=day(step.day)
                    )
                )
            case "pay_invoice" if self.invoices:
                invoice_id = self.invoices[step.pick % len(self.invoices)]
                self.event(
                    purchase_invoice_paid(
                        invoice_id,
                        pence(step.amount // 2),
                        day=day(step.day),
                        payment_id=next(self.ids),
                        bank_account_id=OFFICE,
                    )
                )
            case "credit_note":
                self.event(
                    credit_memo(
                        next(self.ids),
                        pence(step.amount // 10),
                        day=day(step.day),
                        matter_id=step.matter,
                        client_id=MATTERS[step.matter],
                    )
                )
            case "delete" if self.with_amounts:
                gone = self.with_amounts[step.pick % len(self.with_amounts)].source
                version = f"v{next(self.versions)}"
                self.event(
                    RecordDeletedInClio(source=source(gone.object_type, gone.object_id, version))
                )
            case "rent":  # a cashier's own entry: an office payment, or a correction of one
                await self.flush()
                entry = OfficePaymentEntry(
                    entry_id=f"rent-{step.pick % 3}",
                    revision=next(self.versions),
                    paid_on=day(step.day),
                    bank_account_id=OFFICE,
                    account_code="6100",
                    net=Money(amount_minor=step.amount, currency="GBP"),
                    payee="Landlord Ltd",
                    description="rent",
                    entered_by="mary",
                )
                self.memory.enter(entry)
                await self.in_books(lambda b: handlers.enter_manual(b, self.firm, entry))
            case "replay" if self.sent:
                again = self.sent[step.pick % len(self.sent)]
                self.event(again.data)  # type: ignore[arg-type]
            case "reference":
                self.event(REFERENCE[step.pick % len(REFERENCE)])
            case "lock" if self.lock is None:
                await self.flush()
                self.lock = day(step.day % 5 + 1)  # early in the month: most postings are later
                self.memory.lock_period(self.lock, by="COFA", reason="reconciled")
                await self.in_books(
                    lambda b: handlers.lock_period(
                        b,
                        self.firm,
                        day(step.day % 5 + 1),
                        bank_account_id=None,
                        by="COFA",
                        reason="reconciled",
                    )
                )
            case "unlock" if self.lock is not None:
                await self.flush()
                self.lock = None
                self.memory.unlock_period(locked_through=None, by="COFA", reason="correction")
                await self.in_books(
                    lambda b: handlers.unlock_period(
                        b, self.firm, None, bank_account_id=None, by="COFA", reason="correction"
                    )
                )
            case "breach":
                blocking = [r for r in self.memory.exceptions(open_only=True) if r.blocking]
                if blocking:
                    await self.flush()
                    record = blocking[step.pick % len(blocking)]
                    breach = ExceptionResolution.RECORDED_AS_BREACH
                    self.memory.resolve_exception(
                        record.exception_id, breach, by="COFA", reason="breach"
                    )
                    await self.in_books(
                        lambda b: handlers.resolve_exception(
                            b, self.firm, record.exception_id, breach, by="COFA", reason="breach"
                        )
                    )
            case _:
                pass
        if step.batch_ends:
            await self.flush()


def books_of(ledger: Ledger) -> dict[str, object]:
    """Everything a cashier could ask the books, read through the domain's queries."""
    keys = ledger.balance_keys()
    return {
        "journals": ledger.journals,
        "balances": {
            (k, d): ledger.balance(k, d).amount_minor for k in keys for d in (*DATES, None)
        },
        "pending": [
            (p.submission.key, p.submission.version, p.reason_code) for p in ledger.pending()
        ],
        "exceptions": sorted(
            (str(r.exception_id), r.kind.value, r.is_open) for r in ledger.exceptions()
        ),
        "breaches": [(b.exception_id, b.journal_ids) for b in ledger.breach_register],
        "locks": ledger.lock_history,
        "client_columns": {b: ledger.matters_with_client_money_in(b) for b in CLIENT_BANKS},
    }


@settings(
    max_examples=int(os.environ.get("LEDGER_SAME_BOOKS_EXAMPLES", 25)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.lists(steps, min_size=4, max_size=20), st.sampled_from([True, True, True, False]))
async def test_the_books_in_the_database_are_the_books_in_memory(
    service: Service, history: list[Step], reference_first: bool
) -> None:
    twins = Twins(service, firm_id())
    await twins.in_books(
        lambda b: handlers.set_up_firm(
            b, twins.firm, Jurisdiction.ENGLAND_AND_WALES, "Twins", by="test"
        )
    )
    if reference_first:
        for reference in REFERENCE:
            twins.event(reference)
    for step in history:
        await twins.step(step)
    await twins.flush()

    async with service.db.unit_of_work() as uow:
        stored = await uow.session.run_sync(
            lambda s: books_of(Ledger(twins.firm, state=Books(s).state(twins.firm)))
        )
        firm = await queries.firm(uow.session, twins.firm)
        assert firm is not None
        by_sql = {d: await queries.nominal_balances(uow.session, twins.firm, d) for d in DATES}
        client_by_sql = {
            (b, d): await queries.client_ledger_balances(uow.session, firm, d, b)
            for b in CLIENT_BANKS
            for d in DATES
        }
        # Each dated balance row's movement is its day's change: the difference from the row
        # before it (zero before the first), whatever order the days were written in.
        inconsistent = await uow.session.scalar(
            text(
                "SELECT count(*) FROM (SELECT movement, cumulative - coalesce(lag(cumulative) "
                "OVER (PARTITION BY account_code, matter_id, ledger_side, bank_account_id "
                "ORDER BY balance_date), 0) AS change FROM balances WHERE firm_id = :f) r "
                "WHERE movement <> change"
            ),
            {"f": twins.firm},
        )
    assert inconsistent == 0
    assert stored == books_of(twins.memory)
    memory = twins.memory
    event(f"waiting postings: {bool(memory.pending())}")
    event(f"exceptions: {bool(memory.exceptions())}")
    event(f"breaches: {bool(memory.breach_register)}")
    event(f"reversals: {any(j.reverses for j in memory.journals)}")
    event(f"supplier payments: {any(j.kind.value == 'supplier_payment' for j in memory.journals)}")
    event(f"transfers: {any(j.kind.value == 'client_to_client' for j in memory.journals)}")
    for d in DATES:
        expected = {code: m.amount_minor for code, m in memory.trial_balance(d).items()}
        # A nominal that had not moved by then has no row yet: it stands at zero.
        for code in set(by_sql[d]) | set(expected):
            assert by_sql[d].get(code, 0) == expected.get(code, 0), (code, d)
        for bank in CLIENT_BANKS:
            held = {
                m: memory.client_balance(m, bank, d).amount_minor
                for m in memory.matters_with_client_money_in(bank)
            }
            assert client_by_sql[(bank, d)] == {m: v for m, v in held.items() if v}
