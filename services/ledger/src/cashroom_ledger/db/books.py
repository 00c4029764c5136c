"""``Books``: the books of every firm one unit of work touches.

Opening a firm takes its advisory lock (writers of one firm go one at a time: consumer batches
and API commands alike) and loads its row, chart and bank accounts. ``prefetch`` reads, in a
dozen bulk queries, everything a batch of Clio events names (see ``needs_of``). ``flush`` writes
every firm's changes. The books live as long as the unit of work; nothing is kept between
transactions, so memory stays bounded by the batch, not by the firm's history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    BankTransferMade,
    BillApproved,
    BillChanged,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClientUpserted,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    MatterUpserted,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
)
from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.db.connection import Connection
from cashroom_ledger.db.store import FirmRecord, StoredState, bank_account_of, chart_of
from cashroom_ledger.domain.accounts import AccountRole, ChartOfAccounts, Jurisdiction
from cashroom_ledger.domain.balances import BalanceKey
from cashroom_ledger.domain.decisions import OFFICE_ACCOUNT, PostingKey, WaitFor
from cashroom_ledger.domain.ledger import Ledger
from cashroom_ledger.domain.posting_rules import posting_key
from cashroom_ledger.domain.posting_rules.keys import purchase_invoice_key


class Books:
    """One transaction's view of the books of the firms it touches."""

    def __init__(self, session: Session) -> None:
        self.db = Connection.of(session)
        self._states: dict[str, StoredState | None] = {}

    def open(self, firm_ids: Iterable[str]) -> None:
        """Lock and load the firms not opened yet (in firm order, so two writers never wait
        for each other in a circle)."""
        new = sorted(set(firm_ids) - self._states.keys())
        if not new:
            return
        self.db.fetch(
            "SELECT pg_advisory_xact_lock(hashtext('cashroom-ledger:' || f)) "
            "FROM unnest($1::text[]) AS f",
            new,
        )
        firms = self.db.fetch("SELECT * FROM firms WHERE firm_id = ANY($1)", new)
        accounts = self.db.fetch(
            "SELECT firm_id, code, position, name, type, role FROM accounts "
            "WHERE firm_id = ANY($1)",
            new,
        )
        banks = self.db.fetch(
            "SELECT * FROM bank_accounts WHERE firm_id = ANY($1) "
            "ORDER BY arrived_at, bank_account_id",
            new,
        )
        held = self.db.fetch(
            "SELECT DISTINCT firm_id FROM held_postings WHERE firm_id = ANY($1)", new
        )
        anything_held = {row["firm_id"] for row in held}
        for firm_id in new:
            self._states[firm_id] = None
        for row in firms:
            record = FirmRecord(
                firm_id=row["firm_id"],
                firm_name=row["firm_name"],
                jurisdiction=Jurisdiction(row["jurisdiction"]),
                currency=row["currency"],
                standard_vat_rate_basis_points=row["standard_vat_rate_basis_points"],
                default_office_account_id=row["default_office_account_id"],
                books_locked_through=row["books_locked_through"],
            )
            firm_banks = [b for b in banks if b["firm_id"] == record.firm_id]
            self._states[record.firm_id] = StoredState(
                record,
                self.db,
                chart_of(record, [a for a in accounts if a["firm_id"] == record.firm_id]),
                [bank_account_of(b) for b in firm_banks],
                {
                    b["bank_account_id"]: b["locked_through"]
                    for b in firm_banks
                    if b["locked_through"]
                },
                anything_held=record.firm_id in anything_held,
            )

    def state(self, firm_id: str) -> StoredState | None:
        """The firm's books; None while the firm is not set up."""
        if firm_id not in self._states:
            self.open([firm_id])
        return self._states[firm_id]

    def ledger(self, firm_id: str) -> Ledger | None:
        state = self.state(firm_id)
        return Ledger(firm_id, state=state) if state is not None else None

    def set_up(self, firm_id: str, firm_name: str, chart: ChartOfAccounts) -> StoredState:
        """A new firm with its chart of accounts (the caller checked it is new)."""
        self.open([firm_id])
        self.db.execute(
            "INSERT INTO firms (firm_id, firm_name, jurisdiction, currency, "
            "standard_vat_rate_basis_points) VALUES ($1, $2, $3, $4, $5)",
            firm_id,
            firm_name,
            chart.jurisdiction.value,
            chart.currency,
            chart.standard_vat_rate_basis_points,
        )
        self.db.executemany(
            "INSERT INTO accounts (firm_id, code, position, name, type, role) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (firm_id, a.code, n, a.name, a.type.value, a.role.value if a.role else None)
                for n, a in enumerate(chart.accounts)
            ],
        )
        self._states.pop(firm_id)
        state = self.state(firm_id)
        assert state is not None
        return state

    def rename(self, firm_id: str, firm_name: str) -> None:
        self.db.execute("UPDATE firms SET firm_name = $2 WHERE firm_id = $1", firm_id, firm_name)

    def hold_before_setup(self, firm_id: str, event_id: object, topic: str, raw: bytes) -> None:
        """Keep an event for a firm that is not set up yet; it is handled at set-up."""
        self.db.execute(
            "INSERT INTO events_before_setup (firm_id, event_id, topic, envelope) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (firm_id, event_id) DO NOTHING",
            firm_id,
            event_id,
            topic,
            raw,
        )

    def take_events_before_setup(self, firm_id: str) -> list[bytes]:
        rows = self.db.fetch(
            "DELETE FROM events_before_setup WHERE firm_id = $1 RETURNING seq, envelope",
            firm_id,
        )
        return [bytes(row["envelope"]) for row in sorted(rows, key=lambda r: int(r["seq"]))]

    def audit(self, firm_id: str, actor: str, action: str, detail: dict[str, object]) -> None:
        """An audit row written at once (for firms with no books yet as well)."""
        self.db.execute(
            "INSERT INTO audit_log (firm_id, actor, action, detail) VALUES ($1, $2, $3, $4::jsonb)",
            firm_id,
            actor,
            action,
            json.dumps(detail, default=str, sort_keys=True),
        )

    def prefetch(self, firm_id: str, events: Sequence[ClioEvent]) -> None:
        """Load in bulk what these events of the firm will read."""
        state = self.state(firm_id)
        if state is None or not events:
            return
        needs = needs_of(events, state.chart)
        state.load_matters_of_clients(needs.clients_with_matters)
        for client_id in needs.clients_with_matters:
            needs.waits |= {WaitFor.matter(m) for m in state.matters_of_client(client_id)}
        state.load_matters(needs.matters)
        state.load_clients(needs.clients)
        state.load_seen(needs.seen)
        state.load_live(needs.keys)
        state.load_source_keys(needs.sources)
        state.load_pending(needs.keys, needs.waits)
        state.load_bills(needs.bills)
        state.load_invoices(needs.invoices)
        state.load_office_credit(needs.office_matters)
        state.load_series(needs.series)

    def flush(self) -> None:
        for state in self._states.values():
            if state is not None:
                state.flush()


@dataclass
class Needs:
    """What a batch of events will ask of the books."""

    matters: set[int] = field(default_factory=set)
    clients: set[int] = field(default_factory=set)
    clients_with_matters: set[int] = field(default_factory=set)
    keys: set[PostingKey] = field(default_factory=set)
    seen: set[tuple[PostingKey, str]] = field(default_factory=set)
    sources: set[tuple[str, str]] = field(default_factory=set)
    bills: set[int] = field(default_factory=set)
    invoices: set[PostingKey] = field(default_factory=set)
    office_matters: set[int] = field(default_factory=set)
    waits: set[WaitFor] = field(default_factory=set)
    series: dict[BalanceKey, date] = field(default_factory=dict)

    def client_column(self, code: str, matter_id: int, bank_account_id: int, on: date) -> None:
        key = BalanceKey(code, matter_id, AccountKind.CLIENT, bank_account_id)
        self.series[key] = min(on, self.series.get(key, on))
        self.waits.add(WaitFor.client_funds(matter_id))


def needs_of(events: Sequence[ClioEvent], chart: ChartOfAccounts) -> Needs:
    """Everything the posting rules and the ledger will look up for ``events``: the matters and
    clients they name, their posting keys (seen versions, live content, pending), bills and
    supplier invoices, the client columns they move (from their dates on), the office columns
    of their matters (latest), and what may be waiting for them."""
    needs = Needs()
    client_money = chart.code_for(AccountRole.CLIENT_MONEY_CONTROL)
    for event in events:
        match event:
            case ClientUpserted():
                needs.clients.add(event.client_id)
                needs.clients_with_matters.add(event.client_id)
                continue
            case MatterUpserted():
                needs.matters.add(event.matter_id)
                needs.clients.add(event.client_id)
                needs.waits.add(WaitFor.matter(event.matter_id))
                continue
            case BankAccountUpserted():
                needs.waits.add(WaitFor.bank_account(event.bank_account_id))
                needs.waits.add(OFFICE_ACCOUNT)
                continue
            case RecordDeletedInClio():
                needs.sources.add((event.source.object_type, str(event.source.object_id)))
                continue
        key = posting_key(event)
        if key is None:
            continue
        needs.keys.add(key)
        needs.seen.add((key, event.source.version))
        needs.sources.add((event.source.object_type, str(event.source.object_id)))
        match event:
            case BillApproved() | BillChanged():
                needs.matters.add(event.bill.matter_id)
                needs.clients.add(event.bill.client_id)
                needs.office_matters.add(event.bill.matter_id)
                needs.bills.add(event.bill.bill_id)
                needs.waits.add(WaitFor.bill(event.bill.bill_id))
            case BillVoided():
                needs.office_matters.add(event.matter_id)
                needs.bills.add(event.bill_id)
                needs.waits.add(WaitFor.bill(event.bill_id))
            case BillPaymentReceived():
                needs.matters.add(event.matter_id)
                needs.office_matters.add(event.matter_id)
                needs.bills.add(event.bill_id)
                needs.waits.add(WaitFor.bill(event.bill_id))
                if event.paid_from is AccountKind.CLIENT:
                    needs.client_column(
                        client_money, event.matter_id, event.bank_account_id, event.paid_on
                    )
            case BillPaymentReversed():
                needs.office_matters.add(event.matter_id)
                needs.bills.add(event.bill_id)
                needs.waits.add(WaitFor.bill(event.bill_id))
                needs.waits.add(WaitFor.client_funds(event.matter_id))
            case ClientMoneyReceived():
                needs.matters.add(event.matter_id)
                needs.client_column(
                    client_money, event.matter_id, event.bank_account_id, event.received_on
                )
            case ClientMoneyPaid():
                needs.matters.add(event.matter_id)
                needs.client_column(
                    client_money, event.matter_id, event.bank_account_id, event.paid_on
                )
            case BankTransferMade():
                on = event.transferred_on
                for matter_id, bank in (
                    (event.matter_id, event.from_bank_account_id),
                    (event.to_matter_id or event.matter_id, event.to_bank_account_id),
                ):
                    if matter_id is not None:
                        needs.matters.add(matter_id)
                        needs.office_matters.add(matter_id)
                        needs.client_column(client_money, matter_id, bank, on)
            case DisbursementPaid():
                needs.matters.add(event.matter_id)
                needs.office_matters.add(event.matter_id)
            case PurchaseInvoiceRecorded():
                needs.invoices.add(key)
                needs.waits.add(WaitFor.purchase_invoice(key))
                if event.matter_id is not None:
                    needs.matters.add(event.matter_id)
                    needs.office_matters.add(event.matter_id)
            case PurchaseInvoicePaid():
                needs.invoices.add(purchase_invoice_key(event.invoice_id))
            case CreditMemoIssued():
                needs.clients.add(event.client_id)
                if event.matter_id is not None:
                    needs.matters.add(event.matter_id)
                    needs.office_matters.add(event.matter_id)
    office_codes = (
        chart.code_for(AccountRole.DEBTORS_CONTROL),
        chart.code_for(AccountRole.UNBILLED_DISBURSEMENTS),
    )
    for matter_id in needs.office_matters:
        for code in office_codes:
            needs.series.setdefault(BalanceKey(code, matter_id, AccountKind.OFFICE), date.max)
    return needs
