"""Property-based: random sequences of Clio events (and locks, replays, edits, voids, deletions,
breaches) against the invariants, after every step.

* every journal balances and moves client money only with a client ledger (I-1, I-3);
* client bank = sum of client columns, per account and in total, at several dates (I-5);
* no client column is below zero at any date, except where a breach was recorded (I-4);
* each source key's journals come to exactly its live posting (I-10), and nothing sent is lost:
  the latest version of every key is live, waiting, rejected, or emptied;
* nothing posts on or before the lock (I-13);
* the incremental balances equal a recomputation from the journals, as of several dates;
* replaying any event changes nothing;
* any order of a set of independent events ends with the same balances.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_domain_builders import (
    bank_account_upserted,
    bill_approved,
    bill_changed,
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
    new_ledger,
    payment_reversed,
    purchase_invoice,
    purchase_invoice_paid,
    source,
    transfer,
)

from cashroom_contracts.events.clio import (
    BillApproved,
    BillChanged,
    BillContent,
    BillPaymentReceived,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClioEvent,
    DisbursementPaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
)
from cashroom_contracts.events.common import AccountKind, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind, ExceptionResolution
from cashroom_contracts.money import Money
from cashroom_ledger.domain.balances import BalanceKey
from cashroom_ledger.domain.decisions import PostingKey
from cashroom_ledger.domain.invariants import (
    client_money_differences,
    client_side_mismatch,
    journal_imbalance,
    overdrawn_client_ledgers,
    posted_more_than_once,
)
from cashroom_ledger.domain.ledger import Ledger
from cashroom_ledger.domain.outcomes import Held, Outcome, Posted, Rejected
from cashroom_ledger.domain.posting_rules import posting_key

MATTERS = (10, 11, 12)
CLIENT_OF = {10: 1, 11: 1, 12: 2}
OFFICE = 100
CLIENT_BANKS = (200, 201)
CHECK_DATES = (date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 20), None)

REFERENCE: tuple[ClioEvent, ...] = (
    client_upserted(1, "Aoife Byrne"),
    client_upserted(2, "Cian Walsh"),
    *(matter_upserted(m, CLIENT_OF[m]) for m in MATTERS),
    bank_account_upserted(OFFICE, AccountKind.OFFICE),
    bank_account_upserted(CLIENT_BANKS[0], AccountKind.CLIENT),
    bank_account_upserted(CLIENT_BANKS[1], AccountKind.CLIENT, name="Client deposit"),
)


def day(n: int) -> date:
    return date(2026, 2, n)


def pence(amount: int) -> str:
    return str(Money(amount_minor=amount, currency="GBP").to_decimal())


# --- a random history: each step a small value, so hypothesis can shrink it ---------------------


@dataclass(frozen=True)
class SendReference:
    n: int


@dataclass(frozen=True)
class ReceiveClientMoney:
    matter_id: int
    bank: int
    day: int
    amount: int


@dataclass(frozen=True)
class PayClientMoney:
    matter_id: int
    bank: int
    day: int
    amount: int


@dataclass(frozen=True)
class ApproveBill:
    matter_id: int
    day: int
    fees: int
    disbursed: int


@dataclass(frozen=True)
class PayBill:
    pick: int
    from_client: bool
    bank: int
    day: int
    amount: int


@dataclass(frozen=True)
class Transfer:
    matter_id: int
    to_matter_id: int
    bank: int
    to_bank: int
    day: int
    amount: int


@dataclass(frozen=True)
class PayDisbursement:
    matter_id: int
    day: int
    amount: int
    standard_rated: bool


@dataclass(frozen=True)
class RecordInvoice:
    matter_id: int | None
    day: int
    amount: int


@dataclass(frozen=True)
class PayInvoice:
    pick: int
    day: int
    amount: int


@dataclass(frozen=True)
class IssueCreditNote:
    matter_id: int
    day: int
    amount: int


@dataclass(frozen=True)
class Edit:
    pick: int
    amount: int
    day: int


@dataclass(frozen=True)
class VoidBill:
    pick: int
    day: int


@dataclass(frozen=True)
class ReversePayment:
    pick: int
    day: int


@dataclass(frozen=True)
class DeleteInClio:
    pick: int


@dataclass(frozen=True)
class Replay:
    pick: int


@dataclass(frozen=True)
class Lock:
    day: int


@dataclass(frozen=True)
class Unlock:
    pass


@dataclass(frozen=True)
class RecordBreach:
    pick: int


Step = (
    SendReference
    | ReceiveClientMoney
    | PayClientMoney
    | ApproveBill
    | PayBill
    | Transfer
    | PayDisbursement
    | RecordInvoice
    | PayInvoice
    | IssueCreditNote
    | Edit
    | VoidBill
    | ReversePayment
    | DeleteInClio
    | Replay
    | Lock
    | Unlock
    | RecordBreach
)

matters = st.sampled_from(MATTERS)
client_banks = st.sampled_from(CLIENT_BANKS)
days = st.integers(1, 28)
# mostly real amounts; now and then a zero or a negative one, which must be rejected
amounts = st.one_of(*[st.integers(1, 200_000)] * 9, st.sampled_from([0, -500]))
picks = st.integers(0, 1_000)

money_moving: st.SearchStrategy[Step] = st.one_of(
    st.builds(ReceiveClientMoney, matters, client_banks, days, amounts),
    st.builds(PayClientMoney, matters, client_banks, days, amounts),
    st.builds(ApproveBill, matters, days, st.integers(0, 100_000), st.integers(0, 50_000)),
    st.builds(PayBill, picks, st.booleans(), client_banks, days, amounts),
    st.builds(Transfer, matters, matters, client_banks, client_banks, days, amounts),
    st.builds(PayDisbursement, matters, days, amounts, st.booleans()),
    st.builds(RecordInvoice, st.one_of(st.none(), matters), days, amounts),
    st.builds(PayInvoice, picks, days, amounts),
    st.builds(IssueCreditNote, matters, days, amounts),
)
corrections: st.SearchStrategy[Step] = st.one_of(
    st.builds(Edit, picks, st.integers(1, 200_000), days),
    st.builds(VoidBill, picks, days),
    st.builds(ReversePayment, picks, days),
    st.builds(DeleteInClio, picks),
    st.builds(Replay, picks),
)
housekeeping: st.SearchStrategy[Step] = st.one_of(
    st.builds(SendReference, st.integers(0, len(REFERENCE) - 1)),
    st.builds(Lock, st.integers(1, 10)),
    st.builds(Unlock),
    st.builds(RecordBreach, picks),
)
# Weighted towards money moving, so most histories post something worth checking.
steps: st.SearchStrategy[Step] = st.one_of(
    money_moving, money_moving, money_moving, money_moving, corrections, corrections, housekeeping
)


@dataclass
class History:
    """The events sent so far, so later steps can edit, void, reverse, delete or replay them,
    and what became of every posting key's latest version."""

    ledger: Ledger = field(default_factory=lambda: new_ledger(reference=False))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    versions: itertools.count[int] = field(default_factory=lambda: itertools.count(2))
    sent: list[ClioEvent] = field(default_factory=list)
    postings: list[ClioEvent] = field(default_factory=list)
    bills: list[int] = field(default_factory=list)
    payments: list[BillPaymentReceived] = field(default_factory=list)
    invoices: list[int] = field(default_factory=list)
    latest: dict[PostingKey, str] = field(default_factory=dict)
    gone: dict[PostingKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    lock: date | None = None
    journals_at_lock: int = 0

    def send(self, event: ClioEvent) -> None:
        outcomes = self.ledger.handle(event)
        self.sent.append(event)
        key = posting_key(event)
        if isinstance(event, RecordDeletedInClio):
            keys = [o.key for o in outcomes if isinstance(o, Posted | Held | Rejected)]
            key = keys[0] if keys else None
        if key is not None:
            self.latest[key] = event.source.version
        self.track(outcomes)

    def track(self, outcomes: list[Outcome]) -> None:
        """A version rejected, or posted as nothing (a void, a deletion), is gone, not lost."""
        for outcome in outcomes:
            if isinstance(outcome, Rejected) or (
                isinstance(outcome, Posted) and self.ledger.live_version(outcome.key) is None
            ):
                self.gone[outcome.key].add(outcome.source.version or "")

    def post(self, event: ClioEvent) -> None:
        self.postings.append(event)
        self.send(event)

    def new_version(self) -> str:
        return f"v{next(self.versions)}"

    def step(self, step: Step) -> None:
        ledger = self.ledger
        match step:
            case SendReference(n):
                self.send(REFERENCE[n])
            case ReceiveClientMoney(m, bank, d, a):
                self.post(
                    client_money_received(
                        next(self.ids), pence(a), day=day(d), matter_id=m, bank_account_id=bank
                    )
                )
            case PayClientMoney(m, bank, d, a):
                self.post(
                    client_money_paid(
                        next(self.ids), pence(a), day=day(d), matter_id=m, bank_account_id=bank
                    )
                )
            case ApproveBill(m, d, fees, disbursed):
                bill_id = next(self.ids)
                self.bills.append(bill_id)
                self.post(bill_approved(a_bill(bill_id, m, d, fees, disbursed)))
            case PayBill(n, from_client, bank, d, a) if self.bills:
                bill_id = self.bills[n % len(self.bills)]
                bill = ledger.posted_bill(bill_id)
                paid_from = AccountKind.CLIENT if from_client else AccountKind.OFFICE
                event = bill_payment(
                    next(self.ids),
                    bill_id,
                    pence(a),
                    paid_from=paid_from,
                    day=day(d),
                    matter_id=bill.facts.matter_id if bill is not None else MATTERS[0],
                    bank_account_id=bank if from_client else OFFICE,
                    office_bank_account_id=OFFICE,
                )
                self.payments.append(event)
                self.post(event)
            case Transfer(m, to_m, bank, to_bank, d, a):
                self.post(
                    transfer(
                        next(self.ids),
                        pence(a),
                        from_account=bank,
                        to_account=to_bank,
                        day=day(d),
                        matter_id=m,
                        to_matter_id=to_m,
                    )
                )
            case PayDisbursement(m, d, a, standard_rated):
                treatment = VatTreatment.STANDARD if standard_rated else VatTreatment.OUTSIDE_SCOPE
                vat_amount = pence(a // 5) if standard_rated and a // 5 > 0 else "0"
                self.post(
                    disbursement_paid(
                        next(self.ids),
                        pence(a),
                        treatment=treatment,
                        vat_amount=vat_amount,
                        day=day(d),
                        matter_id=m,
                        bank_account_id=OFFICE,
                    )
                )
            case RecordInvoice(m_or_none, d, a):
                invoice_id = next(self.ids)
                self.invoices.append(invoice_id)
                self.post(purchase_invoice(invoice_id, pence(a), matter_id=m_or_none, day=day(d)))
            case PayInvoice(n, d, a) if self.invoices:
                invoice_id = self.invoices[n % len(self.invoices)]
                self.post(
                    purchase_invoice_paid(
                        invoice_id,
                        pence(a),
                        day=day(d),
                        payment_id=next(self.ids),
                        bank_account_id=OFFICE,
                    )
                )
            case IssueCreditNote(m, d, a):
                self.post(
                    credit_memo(
                        next(self.ids), pence(a), day=day(d), matter_id=m, client_id=CLIENT_OF[m]
                    )
                )
            case Edit(n, a, d) if self.postings:
                original = self.postings[n % len(self.postings)]
                self.post(edited(original, a, day(d), self.new_version()))
            case VoidBill(n, d) if self.bills:
                self.send(
                    bill_voided(
                        self.bills[n % len(self.bills)], day=day(d), version=self.new_version()
                    )
                )
            case ReversePayment(n, d) if self.payments:
                p = self.payments[n % len(self.payments)]
                self.send(
                    payment_reversed(
                        p.payment_id, p.bill_id, day=day(d), version=self.new_version()
                    )
                )
            case DeleteInClio(n) if self.postings:
                src = self.postings[n % len(self.postings)].source
                self.send(
                    RecordDeletedInClio(
                        source=source(src.object_type, src.object_id, self.new_version())
                    )
                )
            case Replay(n) if self.sent:
                again = self.sent[n % len(self.sent)]
                before = snapshot(ledger)
                ledger.handle(again)
                assert snapshot(ledger) == before, f"replaying {again!r} changed the books"
            case Lock(d) if self.lock is None or day(d) > self.lock:
                ledger.lock_period(day(d), by="COFA", reason="reconciled")
                self.lock, self.journals_at_lock = day(d), len(ledger.journals)
            case Unlock() if self.lock is not None:
                self.track(
                    ledger.unlock_period(locked_through=None, by="COFA", reason="correction")
                )
                self.lock = None
            case RecordBreach(n):
                blocking = [r for r in ledger.exceptions(open_only=True) if r.blocking]
                if blocking:
                    record = blocking[n % len(blocking)]
                    self.track(
                        ledger.resolve_exception(
                            record.exception_id,
                            ExceptionResolution.RECORDED_AS_BREACH,
                            by="COFA",
                            reason="breach",
                        )
                    )
            case _:
                pass  # a step that needs an earlier event of its kind, and there is none


def a_bill(bill_id: int, matter_id: int, d: int, fees: int, disbursed: int) -> BillContent:
    return bill_content(
        bill_id,
        fees=[fee(pence(fees), pence(fees // 5))],
        disbursements=[billed_disbursement(pence(disbursed))] if disbursed else [],
        day=day(d),
        matter_id=matter_id,
        client_id=CLIENT_OF[matter_id],
    )


def edited(event: ClioEvent, amount: int, when: date, version: str) -> ClioEvent:
    """The same Clio record, edited: a new version with another amount (and, for client money,
    another date)."""
    new_source = event.source.model_copy(update={"version": version})
    money = Money(amount_minor=amount, currency="GBP")
    match event:
        case BillApproved() | BillChanged():
            b = event.bill
            return bill_changed(
                a_bill(b.bill_id, b.matter_id, b.issued_on.day, amount % 100_000, 0),
                version=version,
            )
        case ClientMoneyReceived():
            return event.model_copy(
                update={"source": new_source, "amount": money, "received_on": when}
            )
        case ClientMoneyPaid():
            return event.model_copy(update={"source": new_source, "amount": money, "paid_on": when})
        case DisbursementPaid():
            vat = event.vat
            if event.vat_treatment is VatTreatment.STANDARD:
                vat = vat.model_copy(update={"amount": money.with_amount(amount // 5)})
            return event.model_copy(update={"source": new_source, "net": money, "vat": vat})
        case PurchaseInvoiceRecorded():
            return event.model_copy(update={"source": new_source, "net": money})
        case _:
            return event.model_copy(update={"source": new_source, "amount": money})


# --- what must hold after every step ------------------------------------------------------------


def snapshot(ledger: Ledger) -> tuple[object, ...]:
    return (
        len(ledger.journals),
        tuple((k, ledger.balance(k).amount_minor) for k in ledger.balance_keys()),
        tuple((p.submission.key, p.submission.version, p.reason_code) for p in ledger.pending()),
        tuple(sorted(str(r.exception_id) for r in ledger.exceptions(open_only=True))),
        len(ledger.breach_register),
    )


def check_invariants(history: History) -> None:
    ledger = history.ledger
    for journal in ledger.journals:
        assert journal_imbalance(journal) == {}
        assert client_side_mismatch(journal, ledger.chart) == {}
    for as_of in CHECK_DATES:
        assert client_money_differences(ledger, as_of) == []
    breached = {b.matter_id for b in ledger.breach_register}
    for overdrawn in overdrawn_client_ledgers(ledger):
        assert overdrawn.matter_id in breached, overdrawn
    assert posted_more_than_once(ledger, history.latest) == []
    assert sum(m.amount_minor for m in ledger.trial_balance().values()) == 0
    for key, version in history.latest.items():
        pending = ledger.pending_for(key)
        assert (
            ledger.live_version(key) == version
            or (pending is not None and pending.submission.version == version)
            or version in history.gone[key]
        ), f"{key} version {version} was lost"
    if history.lock is not None:
        for journal in ledger.journals[history.journals_at_lock :]:
            assert journal.posted_on > history.lock, journal


def check_balances_against_the_journals(ledger: Ledger) -> None:
    """The incremental balances, recomputed the slow way from every journal line."""
    for as_of in CHECK_DATES:
        expected: dict[BalanceKey, int] = defaultdict(int)
        for journal in ledger.journals:
            if as_of is not None and journal.posted_on > as_of:
                continue
            for line in journal.lines:
                exact = BalanceKey.of_line(line)
                expected[exact] += line.signed_minor
                if not exact.is_roll_up:
                    expected[BalanceKey(line.account_code)] += line.signed_minor
        for key in set(expected) | set(ledger.balance_keys()):
            assert ledger.balance(key, as_of).amount_minor == expected.get(key, 0), (key, as_of)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(steps, min_size=1, max_size=30))
def test_the_invariants_hold_after_every_step_of_any_history(
    reference_first: bool, history_steps: list[Step]
) -> None:
    history = History()
    if reference_first:  # otherwise the clients, matters and accounts arrive among the postings
        for event in REFERENCE:
            history.send(event)
    for step in history_steps:
        history.step(step)
        check_invariants(history)
    for event in REFERENCE:  # everything that waited on reference data can now post
        history.send(event)
        check_invariants(history)
    check_balances_against_the_journals(history.ledger)
    assert all(
        p.reason_code not in ("matter_unknown", "bank_account_unknown")
        for p in history.ledger.pending()
    )


# --- independent events in any order ------------------------------------------------------------


@st.composite
def independent_events(draw: st.DrawFn) -> list[ClioEvent]:
    """Events with distinct keys whose outcome does not depend on their order: client money in
    early, then transfers and payments that the money in covers, bills early and payments on them
    within their totals, disbursements, supplier invoices and their payments, credit notes."""
    ids = itertools.count(1)
    events: list[ClioEvent] = list(REFERENCE[:5])  # clients and matters; bank accounts go first
    funds: dict[tuple[int, int], int] = defaultdict(int)
    for _ in range(draw(st.integers(1, 6))):
        m, bank, a = draw(matters), draw(client_banks), draw(st.integers(1, 100_000))
        events.append(
            client_money_received(
                next(ids),
                pence(a),
                day=day(draw(st.integers(1, 5))),
                matter_id=m,
                bank_account_id=bank,
            )
        )
        funds[(m, bank)] += a
    for _ in range(draw(st.integers(0, 3))):
        (m, bank), to_m, to_bank = (
            draw(st.sampled_from(sorted(funds))),
            draw(matters),
            draw(client_banks),
        )
        if funds[(m, bank)] < 2 or (m, bank) == (to_m, to_bank):
            continue
        a = draw(st.integers(1, funds[(m, bank)] // 2))
        events.append(
            transfer(
                next(ids),
                pence(a),
                from_account=bank,
                to_account=to_bank,
                day=day(draw(st.integers(10, 12))),
                matter_id=m,
                to_matter_id=to_m,
            )
        )
        funds[(m, bank)] -= a
    bills: list[tuple[int, int, int]] = []
    for _ in range(draw(st.integers(0, 3))):
        m, fees = draw(matters), draw(st.integers(1, 50_000))
        bill_id = next(ids)
        events.append(
            bill_approved(
                a_bill(bill_id, m, draw(st.integers(6, 8)), fees, draw(st.integers(0, 9_000)))
            )
        )
        bills.append((bill_id, m, fees + fees // 5))
    for bill_id, m, left in bills:
        for _ in range(draw(st.integers(0, 2))):
            if left < 1:
                break
            from_client = draw(st.booleans())
            bank = draw(client_banks)
            cap = min(left, funds[(m, bank)]) if from_client else left
            if cap < 1:
                continue
            a = draw(st.integers(1, cap))
            paid_from = AccountKind.CLIENT if from_client else AccountKind.OFFICE
            events.append(
                bill_payment(
                    next(ids),
                    bill_id,
                    pence(a),
                    paid_from=paid_from,
                    day=day(draw(st.integers(20, 28))),
                    matter_id=m,
                    bank_account_id=bank if from_client else OFFICE,
                    office_bank_account_id=OFFICE,
                )
            )
            left -= a
            if from_client:
                funds[(m, bank)] -= a
    for (m, bank), left in sorted(funds.items()):
        if left > 0 and draw(st.booleans()):
            events.append(
                client_money_paid(
                    next(ids),
                    pence(draw(st.integers(1, left))),
                    day=day(draw(st.integers(20, 28))),
                    matter_id=m,
                    bank_account_id=bank,
                )
            )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            disbursement_paid(
                next(ids),
                pence(draw(st.integers(1, 9_000))),
                day=day(draw(days)),
                matter_id=draw(matters),
                bank_account_id=OFFICE,
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        invoice_id = next(ids)
        net = draw(st.integers(1, 9_000))
        events.append(
            purchase_invoice(
                invoice_id,
                pence(net),
                matter_id=draw(st.one_of(st.none(), matters)),
                day=day(draw(days)),
            )
        )
        if draw(st.booleans()):
            events.append(
                purchase_invoice_paid(
                    invoice_id,
                    pence(net),
                    day=day(draw(days)),
                    payment_id=next(ids),
                    bank_account_id=OFFICE,
                )
            )
    for _ in range(draw(st.integers(0, 1))):
        m = draw(matters)
        events.append(
            credit_memo(
                next(ids),
                pence(draw(st.integers(1, 5_000))),
                day=day(draw(days)),
                matter_id=m,
                client_id=CLIENT_OF[m],
            )
        )
    return events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_independent_events_in_any_order_give_the_same_balances(data: st.DataObject) -> None:
    events = data.draw(independent_events())
    shuffled = data.draw(st.permutations(events))
    books = []
    for order in (events, shuffled):
        ledger = new_ledger(reference=False)
        for bank in REFERENCE[5:]:  # bank accounts first: their nominals are numbered on arrival
            ledger.handle(bank)
        for event in order:
            ledger.handle(event)
        assert [p.submission.key for p in ledger.pending()] == []
        assert [r for r in ledger.exceptions(open_only=True) if r.blocking] == []
        books.append(
            {
                (key, as_of): ledger.balance(key, as_of).amount_minor
                for key in ledger.balance_keys()
                for as_of in CHECK_DATES
            }
        )
    in_order, in_any_order = books
    assert in_any_order == in_order


def test_a_shrunk_example_of_every_kind_of_step_runs() -> None:
    """Each step kind once, so a refactoring that breaks one cannot hide behind the sampling."""
    history = History()
    for event in REFERENCE:
        history.send(event)
    every_kind: list[Step] = [
        ReceiveClientMoney(10, 200, 1, 50_000),
        PayClientMoney(10, 200, 2, 10_000),
        ApproveBill(10, 3, 20_000, 5_000),
        PayBill(0, True, 200, 4, 10_000),
        Transfer(10, 11, 200, 201, 5, 1_000),
        PayDisbursement(11, 6, 3_000, True),
        RecordInvoice(None, 7, 4_000),
        PayInvoice(0, 8, 4_000),
        IssueCreditNote(10, 9, 500),
        Edit(0, 60_000, 1),
        VoidBill(0, 10),
        ReversePayment(0, 11),
        DeleteInClio(1),
        Replay(3),
        Lock(12),
        PayClientMoney(12, 201, 13, 1_000),
        RecordBreach(0),
        Unlock(),
    ]
    for step in every_kind:
        history.step(step)
        check_invariants(history)
    check_balances_against_the_journals(history.ledger)
    assert len(history.ledger.breach_register) == 1
    assert history.ledger.breach_register[0].kind is ExceptionKind.OVERDRAWN_CLIENT_LEDGER
