"""The oracle: what a correct Cashroom ledger must show for a firm, computed from its Clio data.

It imports nothing from Cashroom and reads only Clio records (any :class:`FirmSource`: a firm in
memory, a firm directory, or the live sandbox's store). Every amount is an integer number of
minor units (cents / pence) of :attr:`Oracle.currency`.

Rules (the contract the connector, the ledger and the end-to-end tests are checked against)
-----------------------------------------------------------------------------------------
Dates. A record's business date is ``Bill.issued_at``, ``Allocation.date``,
``BankTransaction.date`` or ``Activity.date``. With a ``cutoff_date``, a record dated **before**
it is skipped (``before_cutoff``); on or after it is imported. What the skipped history leaves
behind is carried as *opening balances* at the cut-off (per matter and per bank account), and
every closing figure below = opening + imported movements. (The generator plants legacy matters
that open and settle wholly before the default cut-off, so with the default settings every
opening balance is zero.)

Bills. Only approved revenue bills post (``awaiting_payment`` and ``paid``; with
``approved_bills_only=False`` also ``awaiting_approval``). Drafts, awaiting approval, void and
deleted bills are skipped with that reason; trust requests (``kind=trust_kind``) are skipped as
``trust_request`` (they are not revenue; their payment is a client receipt). A posted bill gives:
fees = Σ service lines − the bill discount (when ``group_fee_lines_for_discounts``; otherwise the
discount is reported in ``discounts_allowed``), recoverable expenses = Σ expense lines of soft
costs (and expense lines with no activity), disbursements billed = Σ expense lines of hard
costs, VAT output = the bill's ``tax_sum`` (split into VAT on fees = ``services_tax``, on
recoveries and on disbursements = Σ those lines' ``tax``). The bill total goes to the matter's
office side; the disbursement part of it moves from *unbilled* to *billed* (no new value).

Disbursements (``HardCostEntry``). Each posts when recorded (its date): the matter's office side
is debited (an unbilled disbursement); with a vendor it was paid from the office bank (the
operating bank transaction with the same ``confirmation`` as the activity's ``reference`` is its
cash side, not a separate posting), without a vendor it is a linked outlay (owed to the
supplier). Time entries and soft costs post only through bills.

VAT on disbursements. With ``vat_on_disbursements="review"``, every disbursement whose
``tax_setting`` is not ``no_tax`` is flagged ``disbursement_vat_review`` and held (not posted).
Anything that depends on it is held with it and flagged ``held_with_disbursement_under_review``:
a bill carrying its line, that bill's allocations and their bank transactions. With ``"as_clio"``
nothing is held and Clio's treatment is taken as given.

Payments (``Allocation``, not voided). Parent ``Payment`` from a trust account: a client-to-office
transfer (matter client side −, client bank −, office bank +, matter office side −). Parent
``Payment`` with no source account: an office receipt (office bank +, office side −). Parent
``CreditMemo``: a credit (office side −, reported in ``credits_applied``; no VAT adjustment, as
Clio's credit memos carry no VAT). Voided allocations are skipped (``allocation_voided``). The
bank transactions linked to an allocation are its cash side. Allocations to trust requests are
skipped as ``trust_request_payment`` (the trust deposit itself is a client receipt).

Client money. Every trust-account bank transaction not linked to a revenue-bill allocation is a
client receipt (``funds_in``) or payment (``funds_out``) on its matter's client side for that
client account. Running balances are taken per matter and client account in (date, id) order;
a posting that leaves one below zero is flagged ``client_ledger_overdrawn`` (the breach happened:
the money left the bank, so it is posted *and* flagged; the figures include it).

Ties (all must hold, see :meth:`Oracle.check_ties`): for each client account, its balance = Σ
matter client balances on it; client ledger total = Σ client account balances; debtors = Σ billed
outstanding; Σ office balances = debtors + unbilled disbursements; fees + recoveries +
disbursements billed + VAT output − discounts_allowed = total billed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from datetime import date as Date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .money import cents, to_decimal

__all__ = [
    "BankAccountFigures",
    "FlaggedRecord",
    "MatterFigures",
    "Oracle",
    "OracleTotals",
    "SkippedRecord",
    "SyncSettings",
    "compute_oracle",
]

SKIP_REASONS = (
    "bill_draft",
    "bill_awaiting_approval",
    "bill_void",
    "bill_deleted",
    "trust_request",
    "trust_request_payment",
    "before_cutoff",
    "allocation_voided",
    "bill_payments_not_imported",
    "client_transactions_not_imported",
    "non_billable_expense",
    "bill_not_posted",
)
FLAG_REASONS = (
    "client_ledger_overdrawn",
    "disbursement_vat_review",
    "held_with_disbursement_under_review",
)


class SyncSettings(BaseModel):
    """The connector's sync settings that change what the ledger shows (architecture.md §5)."""

    model_config = ConfigDict(frozen=True)

    cutoff_date: date | None = Field(
        default=None,
        description="The first day imported: records dated before it are skipped, records"
        " dated on it or later are imported (Klyant labels the setting 'Import transactions"
        " dated after', but the day itself is imported). None imports everything. compute_oracle(firm) without settings uses the firm's"
        " default_cutoff_date.",
    )
    approved_bills_only: bool = Field(
        default=True, description="Post only approved bills (awaiting_payment / paid)."
    )
    import_bill_payments: bool = True
    import_client_transactions: bool = True
    vat_on_disbursements: Literal["review", "as_clio"] = Field(
        default="review", description="'review' holds VAT-bearing disbursements for the cashier."
    )
    group_fee_lines_for_discounts: bool = Field(
        default=True, description="Allocate a bill-level discount to the fee lines (net fees)."
    )


class AccountAmount(BaseModel):
    bank_account_id: int
    amount: int


class MatterFigures(BaseModel):
    """One matter's client ledger card, as the ledger must show it after the sync."""

    matter_id: int
    display_number: str
    client_id: int
    client_name: str
    client_balance: int = Field(
        description="Client money held for the matter (all client accounts)."
    )
    client_balances: list[AccountAmount] = Field(
        description="Client money per client bank account."
    )
    opening_client_balance: int = Field(description="Client money held at the cut-off.")
    lowest_client_balance: int = Field(description="Lowest running client balance (any account).")
    office_balance: int = Field(
        description="What the client owes the firm: billed_outstanding + unbilled_disbursements."
    )
    billed_outstanding: int
    unbilled_disbursements: int
    opening_office_balance: int
    fees: int
    discounts_allowed: int
    vat_output: int
    recoverable_expenses: int
    disbursements_billed: int
    disbursements_recorded: int = Field(
        description="Disbursements posted (with and without vendor)."
    )
    bills_total: int
    payments_received: int = Field(description="Office receipts plus transfers from client money.")
    transfers_from_client: int
    credits_applied: int
    trust_receipts: int
    trust_payments: int


class BankAccountFigures(BaseModel):
    bank_account_id: int
    name: str
    type: Literal["Operating", "Trust"]
    balance: int = Field(description="Cashbook balance the ledger must show (opening + posted).")
    opening_balance: int = Field(
        description="Balance of the transactions dated before the cut-off."
    )
    receipts: int = Field(description="Posted money in (after the cut-off).")
    payments: int = Field(description="Posted money out (after the cut-off).")
    held: int = Field(description="Net amount of transactions held for review (not in balance).")
    not_imported: int = Field(description="Net amount skipped for a setting (not in balance).")
    clio_balance: int = Field(description="Clio's balance: every transaction.")


class OracleTotals(BaseModel):
    fees: int
    discounts_allowed: int
    vat_output: int
    vat_on_fees: int
    vat_on_recoveries: int
    vat_on_disbursements: int
    recoverable_expenses: int
    disbursements_billed: int
    disbursements_paid_from_office: int = Field(description="Disbursements with a vendor.")
    linked_outlays: int = Field(description="Disbursements without a vendor (owed to suppliers).")
    unbilled_disbursements: int
    bills_posted: int
    bills_total: int
    debtors: int = Field(description="Σ billed_outstanding (what clients owe on bills).")
    office_receipts: int = Field(description="Bill payments received into the office account.")
    transfers_client_to_office: int
    credits_applied: int
    trust_receipts: int
    trust_payments: int
    client_ledger_total: int = Field(description="Σ matter client balances.")
    client_bank_total: int = Field(description="Σ client (trust) bank account balances.")


class SkippedRecord(BaseModel):
    resource: str
    id: int
    reason: str
    detail: str
    matter_id: int | None = None
    date: Date | None = None
    amount: int | None = None


class FlaggedRecord(BaseModel):
    resource: str
    id: int
    reason: str
    detail: str
    matter_id: int | None = None
    date: Date | None = None
    amount: int | None = Field(default=None, description="Amount concerned (e.g. the shortfall).")
    posted: bool = Field(description="True if posted and flagged; False if held until resolved.")


class Oracle(BaseModel):
    """What a correct ledger shows for the firm under ``settings``. Money in minor units."""

    firm: dict[str, Any]
    currency: str
    vat_rate: str
    settings: SyncSettings
    matters: list[MatterFigures]
    bank_accounts: list[BankAccountFigures]
    totals: OracleTotals
    skipped: list[SkippedRecord]
    flagged: list[FlaggedRecord]

    def matter(self, matter_id: int) -> MatterFigures:
        return next(m for m in self.matters if m.matter_id == matter_id)

    def check_ties(self) -> list[str]:
        """Every identity the figures must satisfy; returns the broken ones (empty = all tie)."""
        broken: list[str] = []
        per_account: dict[int, int] = defaultdict(int)
        for m in self.matters:
            if m.client_balance != sum(a.amount for a in m.client_balances):
                broken.append(f"matter {m.matter_id}: client_balance != Σ per account")
            if m.office_balance != m.billed_outstanding + m.unbilled_disbursements:
                broken.append(f"matter {m.matter_id}: office_balance split")
            for a in m.client_balances:
                per_account[a.bank_account_id] += a.amount
        for acct in self.bank_accounts:
            if acct.type == "Trust" and acct.balance != per_account.get(acct.bank_account_id, 0):
                broken.append(f"client account {acct.bank_account_id}: bank != Σ client balances")
        t = self.totals
        if t.client_ledger_total != sum(m.client_balance for m in self.matters):
            broken.append("client_ledger_total != Σ matters")
        if t.client_bank_total != sum(a.balance for a in self.bank_accounts if a.type == "Trust"):
            broken.append("client_bank_total != Σ client accounts")
        if t.client_bank_total != t.client_ledger_total:
            broken.append("client bank != client ledger")
        if t.debtors != sum(m.billed_outstanding for m in self.matters):
            broken.append("debtors != Σ billed outstanding")
        if t.unbilled_disbursements != sum(m.unbilled_disbursements for m in self.matters):
            broken.append("unbilled disbursements != Σ matters")
        billed = (
            t.fees
            + t.recoverable_expenses
            + t.disbursements_billed
            + t.vat_output
            - (t.discounts_allowed if not self.settings.group_fee_lines_for_discounts else 0)
        )
        if billed != t.bills_total:
            broken.append("fees + recoveries + disbursements + VAT != bills total")
        if t.vat_output != t.vat_on_fees + t.vat_on_recoveries + t.vat_on_disbursements:
            broken.append("VAT split")
        return broken

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)


# ----------------------------------------------------------------------------- computing


@dataclass
class _Bill:
    id: int
    state: str
    kind: str
    issued_at: date
    matter_id: int
    total: int
    tax_sum: int
    services: int
    services_tax: int
    discount: int
    soft: int = 0
    soft_tax: int = 0
    hard: int = 0
    hard_tax: int = 0
    hard_activity_ids: list[int] = field(default_factory=list)
    status: str = "posted"  # posted | skipped | held
    reason: str = ""


@dataclass
class _Disb:
    id: int
    matter_id: int
    day: date
    amount: int
    vendor: bool
    reference: str | None
    taxed: bool
    non_billable: bool
    status: str = "posted"


@dataclass
class _Matter:
    opening_client: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    client: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    opening_debtors: int = 0
    opening_unbilled: int = 0
    billed_total: int = 0
    paid_on_bills: int = 0
    disb_recorded: int = 0
    disb_billed: int = 0
    fees: int = 0
    discounts: int = 0
    vat: int = 0
    soft: int = 0
    bills_total: int = 0
    office_receipts: int = 0
    from_client: int = 0
    credits: int = 0
    trust_in: int = 0
    trust_out: int = 0
    lowest: int = 0


class _Source:
    def __init__(self, source: Any) -> None:
        self.source = source

    def __call__(self, resource: str) -> Iterator[dict[str, Any]]:
        it: Iterator[dict[str, Any]] = self.source.records(resource)
        return it


def compute_oracle(firm: Any, settings: SyncSettings | None = None) -> Oracle:
    """Compute the oracle for ``firm`` (any FirmSource) under ``settings``.

    Without ``settings``, the defaults with the firm's ``default_cutoff_date``.
    """
    meta = firm.meta
    if settings is None:
        settings = SyncSettings(cutoff_date=meta.default_cutoff_date)
    records = _Source(firm)
    cutoff = settings.cutoff_date
    review = settings.vat_on_disbursements == "review"

    def before(day: date) -> bool:
        return cutoff is not None and day < cutoff

    skipped: list[SkippedRecord] = []
    flagged: list[FlaggedRecord] = []

    accounts = {a["id"]: a for a in records("bank_accounts")}
    contact_names: dict[int, str] = {}
    for c in records("contacts"):
        if c.get("is_client"):
            contact_names[c["id"]] = c["name"]
    matters_info: dict[int, tuple[str, int]] = {}
    for matter_rec in records("matters"):
        matters_info[matter_rec["id"]] = (matter_rec["display_number"], matter_rec["client"]["id"])
    mat: dict[int, _Matter] = defaultdict(_Matter)

    # --- disbursements
    disbs: dict[int, _Disb] = {}
    soft_ids: set[int] = set()
    for act in records("activities"):
        if act["type"] == "SoftCostEntry" or act["type"] == "ExpenseEntry":
            soft_ids.add(act["id"])
        if act["type"] != "HardCostEntry":
            continue
        d = _Disb(
            id=act["id"],
            matter_id=act["matter"]["id"],
            day=date.fromisoformat(act["date"]),
            amount=cents(act["total"]),
            vendor=act.get("vendor") is not None,
            reference=act.get("reference"),
            taxed=act.get("tax_setting") not in (None, "no_tax"),
            non_billable=bool(act.get("non_billable")),
        )
        disbs[d.id] = d
        if d.non_billable:
            d.status = "skipped"
            skipped.append(
                _skip(
                    "activities",
                    d.id,
                    "non_billable_expense",
                    "not recoverable",
                    d.matter_id,
                    d.day,
                    d.amount,
                )
            )
        elif before(d.day):
            d.status = "skipped"
            skipped.append(
                _skip(
                    "activities",
                    d.id,
                    "before_cutoff",
                    "disbursement before cut-off",
                    d.matter_id,
                    d.day,
                    d.amount,
                )
            )
        elif review and d.taxed:
            d.status = "held"
            flagged.append(
                FlaggedRecord(
                    resource="activities",
                    id=d.id,
                    reason="disbursement_vat_review",
                    detail="disbursement carries VAT (tax_setting not no_tax): VAT treatment to be chosen",
                    matter_id=d.matter_id,
                    date=d.day,
                    amount=d.amount,
                    posted=False,
                )
            )
    disb_by_ref: dict[tuple[int, str], _Disb] = {
        (d.matter_id, d.reference): d for d in disbs.values() if d.vendor and d.reference
    }

    # --- bills and their lines
    bills: dict[int, _Bill] = {}
    for b in records("bills"):
        disc = _discount(b)
        bills[b["id"]] = _Bill(
            id=b["id"],
            state=b["state"],
            kind=b["kind"],
            issued_at=date.fromisoformat(b["issued_at"]),
            matter_id=b["matters"][0]["id"],
            total=cents(b["total"]),
            tax_sum=cents(b["tax_sum"]),
            services=cents(b["services_sub_total"]),
            services_tax=cents(b["services_tax"]),
            discount=disc,
        )
    for line in records("line_items"):
        bill = bills.get(line["bill"]["id"])
        if bill is None or line["kind"] == "Service":
            continue
        act_id = line["activity"]["id"] if line.get("activity") else None
        if act_id is not None and act_id in disbs:
            bill.hard += cents(line["sub_total"])
            bill.hard_tax += cents(line["tax"])
            bill.hard_activity_ids.append(act_id)
        else:
            bill.soft += cents(line["sub_total"])
            bill.soft_tax += cents(line["tax"])

    approved_states = {"awaiting_payment", "paid"}
    if not settings.approved_bills_only:
        approved_states.add("awaiting_approval")
    state_reason = {
        "draft": "bill_draft",
        "awaiting_approval": "bill_awaiting_approval",
        "void": "bill_void",
        "deleted": "bill_deleted",
    }
    for bill in bills.values():
        if bill.kind == "trust_kind":
            bill.status, bill.reason = "skipped", "trust_request"
        elif bill.state not in approved_states:
            bill.status, bill.reason = "skipped", state_reason.get(bill.state, "bill_not_posted")
        elif before(bill.issued_at):
            bill.status, bill.reason = "skipped", "before_cutoff"
        elif any(disbs[a].status == "held" for a in bill.hard_activity_ids):
            bill.status = "held"
        if bill.status == "skipped":
            skipped.append(
                _skip(
                    "bills",
                    bill.id,
                    bill.reason,
                    f"bill in state {bill.state}",
                    bill.matter_id,
                    bill.issued_at,
                    bill.total,
                )
            )
        elif bill.status == "held":
            flagged.append(
                FlaggedRecord(
                    resource="bills",
                    id=bill.id,
                    reason="held_with_disbursement_under_review",
                    detail="bill carries a disbursement whose VAT is under review",
                    matter_id=bill.matter_id,
                    date=bill.issued_at,
                    amount=bill.total,
                    posted=False,
                )
            )
        m = mat[bill.matter_id]
        counts_as_approved = bill.kind != "trust_kind" and bill.state in approved_states
        if counts_as_approved and bill.status == "skipped" and bill.reason == "before_cutoff":
            m.opening_debtors += bill.total
            m.opening_unbilled -= bill.hard
        if bill.status == "posted":
            m.billed_total += bill.total
            m.bills_total += bill.total
            m.disb_billed += bill.hard
            m.vat += bill.tax_sum
            m.soft += bill.soft
            if settings.group_fee_lines_for_discounts:
                m.fees += bill.services - bill.discount
            else:
                m.fees += bill.services
                m.discounts += bill.discount

    for d in disbs.values():
        m = mat[d.matter_id]
        if d.status == "skipped" and not d.non_billable and before(d.day):
            m.opening_unbilled += d.amount
        elif d.status == "posted":
            m.disb_recorded += d.amount

    # --- allocations
    alloc_status: dict[int, str] = {}
    alloc_kind: dict[int, str] = {}  # trust | office | credit | trust_request
    for a in records("allocations"):
        aid = a["id"]
        day = date.fromisoformat(a["date"])
        amount = cents(a["amount"])
        bill = bills.get(a["bill"]["id"]) if a.get("bill") else None
        mid = a["matter"]["id"] if a.get("matter") else (bill.matter_id if bill else None)
        src = a.get("source_bank_account")
        if a["parent"]["type"] == "CreditMemo":
            kind = "credit"
        elif src and accounts.get(src["id"], {}).get("type") == "Trust":
            kind = "trust"
        else:
            kind = "office"
        if bill is not None and bill.kind == "trust_kind":
            kind = "trust_request"
        alloc_kind[aid] = kind
        if a.get("voided_at"):
            alloc_status[aid] = "skipped"
            skipped.append(
                _skip(
                    "allocations",
                    aid,
                    "allocation_voided",
                    "payment voided or edited",
                    mid,
                    day,
                    amount,
                )
            )
            continue
        if kind == "trust_request":
            alloc_status[aid] = "skipped"
            skipped.append(
                _skip(
                    "allocations",
                    aid,
                    "trust_request_payment",
                    "payment of a trust request (client money)",
                    mid,
                    day,
                    amount,
                )
            )
            continue
        am: _Matter | None = mat[mid] if mid is not None else None
        if before(day):
            alloc_status[aid] = "skipped"
            skipped.append(
                _skip(
                    "allocations", aid, "before_cutoff", "payment before cut-off", mid, day, amount
                )
            )
            if am is not None and bill is not None and bill.state in approved_states:
                am.opening_debtors -= amount
            continue
        if not settings.import_bill_payments:
            alloc_status[aid] = "skipped"
            skipped.append(
                _skip("allocations", aid, "bill_payments_not_imported", "setting", mid, day, amount)
            )
            continue
        if bill is not None and bill.status == "held":
            alloc_status[aid] = "held"
            flagged.append(
                FlaggedRecord(
                    resource="allocations",
                    id=aid,
                    reason="held_with_disbursement_under_review",
                    detail=f"payment of held bill {bill.id}",
                    matter_id=mid,
                    date=day,
                    amount=amount,
                    posted=False,
                )
            )
            continue
        if bill is not None and bill.status == "skipped" and bill.reason != "before_cutoff":
            alloc_status[aid] = "skipped"
            skipped.append(
                _skip(
                    "allocations",
                    aid,
                    "bill_not_posted",
                    f"bill {bill.id} not posted",
                    mid,
                    day,
                    amount,
                )
            )
            continue
        alloc_status[aid] = "posted"
        if am is None:
            continue
        am.paid_on_bills += amount
        if kind == "credit":
            am.credits += amount
        elif kind == "trust":
            am.from_client += amount
        else:
            am.office_receipts += amount

    # --- bank transactions
    acct_open: dict[int, int] = defaultdict(int)
    acct_in: dict[int, int] = defaultdict(int)
    acct_out: dict[int, int] = defaultdict(int)
    acct_held: dict[int, int] = defaultdict(int)
    acct_skip: dict[int, int] = defaultdict(int)
    acct_clio: dict[int, int] = defaultdict(int)
    trust_events: dict[tuple[int, int], list[tuple[date, int, int]]] = defaultdict(list)
    for t in records("bank_transactions"):
        tid = t["id"]
        aid = t["bank_account_id"]
        day = date.fromisoformat(t["date"])
        fin, fout = cents(t["funds_in"]), cents(t["funds_out"])
        net = fin - fout
        acct_clio[aid] += net
        is_trust = accounts[aid]["type"] == "Trust"
        mid = t["matter"]["id"] if t.get("matter") else None
        alloc_id = t["allocation"]["id"] if t.get("allocation") else None
        # what governs this transaction's fate
        status: str
        reason = ""
        if alloc_id is not None and alloc_kind.get(alloc_id) != "trust_request":
            status = alloc_status.get(alloc_id, "posted")
            reason = "part of allocation"
        elif not is_trust and mid is not None and (mid, t.get("confirmation") or "") in disb_by_ref:
            status = disb_by_ref[(mid, t.get("confirmation") or "")].status
            reason = "cash side of a disbursement"
        elif before(day):
            status = "skipped"
            skipped.append(
                _skip(
                    "bank_transactions",
                    tid,
                    "before_cutoff",
                    "transaction before cut-off",
                    mid,
                    day,
                    net,
                )
            )
        elif is_trust and not settings.import_client_transactions:
            status = "not_imported"
            skipped.append(
                _skip(
                    "bank_transactions",
                    tid,
                    "client_transactions_not_imported",
                    "setting",
                    mid,
                    day,
                    net,
                )
            )
        else:
            status = "posted"
        if status == "skipped" and before(day):
            acct_open[aid] += net
            if is_trust and mid is not None:
                mat[mid].opening_client[aid] += net
                mat[mid].client[aid] += net
            continue
        if status == "held":
            acct_held[aid] += net
            if reason == "part of allocation" or reason == "cash side of a disbursement":
                flagged.append(
                    FlaggedRecord(
                        resource="bank_transactions",
                        id=tid,
                        reason="held_with_disbursement_under_review",
                        detail=reason,
                        matter_id=mid,
                        date=day,
                        amount=net,
                        posted=False,
                    )
                )
            continue
        if status != "posted":
            acct_skip[aid] += net
            continue
        acct_in[aid] += fin
        acct_out[aid] += fout
        if is_trust and mid is not None:
            trust_events[(mid, aid)].append((day, tid, net))
            m = mat[mid]
            m.trust_in += fin
            m.trust_out += fout

    # --- running client balances and the overdraw flag
    for (mid, aid), events in trust_events.items():
        m = mat[mid]
        balance = m.opening_client[aid]
        events.sort()
        for day, tid, net in events:
            before_balance = balance
            balance += net
            m.lowest = min(m.lowest, balance)
            if net < 0 and balance < 0:
                flagged.append(
                    FlaggedRecord(
                        resource="bank_transactions",
                        id=tid,
                        reason="client_ledger_overdrawn",
                        detail=f"client money paid out beyond the {before_balance / 100:.2f} held for the matter",
                        matter_id=mid,
                        date=day,
                        amount=-balance,
                        posted=True,
                    )
                )
        m.client[aid] = balance

    # --- assemble
    matter_rows: list[MatterFigures] = []
    for mid in sorted(matters_info):
        display, client_id = matters_info[mid]
        m = mat[mid]
        billed_outstanding = m.opening_debtors + m.billed_total - m.paid_on_bills
        unbilled = m.opening_unbilled + m.disb_recorded - m.disb_billed
        per_account = [
            AccountAmount(bank_account_id=aid, amount=m.client[aid])
            for aid in sorted(m.client)
            if m.client[aid] or aid in m.opening_client
        ]
        matter_rows.append(
            MatterFigures(
                matter_id=mid,
                display_number=display,
                client_id=client_id,
                client_name=contact_names.get(client_id, ""),
                client_balance=sum(m.client.values()),
                client_balances=per_account,
                opening_client_balance=sum(m.opening_client.values()),
                lowest_client_balance=m.lowest,
                office_balance=billed_outstanding + unbilled,
                billed_outstanding=billed_outstanding,
                unbilled_disbursements=unbilled,
                opening_office_balance=m.opening_debtors + m.opening_unbilled,
                fees=m.fees,
                discounts_allowed=m.discounts,
                vat_output=m.vat,
                recoverable_expenses=m.soft,
                disbursements_billed=m.disb_billed,
                disbursements_recorded=m.disb_recorded,
                bills_total=m.bills_total,
                payments_received=m.office_receipts + m.from_client,
                transfers_from_client=m.from_client,
                credits_applied=m.credits,
                trust_receipts=m.trust_in,
                trust_payments=m.trust_out,
            )
        )
    account_rows = [
        BankAccountFigures(
            bank_account_id=aid,
            name=acct["name"],
            type=acct["type"],
            balance=acct_open[aid] + acct_in[aid] - acct_out[aid],
            opening_balance=acct_open[aid],
            receipts=acct_in[aid],
            payments=acct_out[aid],
            held=acct_held[aid],
            not_imported=acct_skip[aid],
            clio_balance=acct_clio[aid],
        )
        for aid, acct in sorted(accounts.items())
    ]
    posted_bills = [b for b in bills.values() if b.status == "posted"]
    posted_disbs = [d for d in disbs.values() if d.status == "posted"]
    totals = OracleTotals(
        fees=sum(r.fees for r in matter_rows),
        discounts_allowed=sum(r.discounts_allowed for r in matter_rows),
        vat_output=sum(b.tax_sum for b in posted_bills),
        vat_on_fees=sum(b.services_tax for b in posted_bills),
        vat_on_recoveries=sum(b.soft_tax for b in posted_bills),
        vat_on_disbursements=sum(b.hard_tax for b in posted_bills),
        recoverable_expenses=sum(b.soft for b in posted_bills),
        disbursements_billed=sum(b.hard for b in posted_bills),
        disbursements_paid_from_office=sum(d.amount for d in posted_disbs if d.vendor),
        linked_outlays=sum(d.amount for d in posted_disbs if not d.vendor),
        unbilled_disbursements=sum(r.unbilled_disbursements for r in matter_rows),
        bills_posted=len(posted_bills),
        bills_total=sum(b.total for b in posted_bills),
        debtors=sum(r.billed_outstanding for r in matter_rows),
        office_receipts=sum(m.office_receipts for m in mat.values()),
        transfers_client_to_office=sum(m.from_client for m in mat.values()),
        credits_applied=sum(m.credits for m in mat.values()),
        trust_receipts=sum(m.trust_in for m in mat.values()),
        trust_payments=sum(m.trust_out for m in mat.values()),
        client_ledger_total=sum(r.client_balance for r in matter_rows),
        client_bank_total=sum(a.balance for a in account_rows if a.type == "Trust"),
    )
    skipped.sort(key=lambda s: (s.resource, s.id))
    flagged.sort(key=lambda f: (f.resource, f.id, f.reason))
    return Oracle(
        firm={
            "seed": meta.seed,
            "size": meta.size,
            "jurisdiction": meta.jurisdiction,
            "firm_name": meta.firm_name,
            "as_of": meta.as_of.isoformat(),
        },
        currency=meta.currency,
        vat_rate=str(meta.vat_rate),
        settings=settings,
        matters=matter_rows,
        bank_accounts=account_rows,
        totals=totals,
        skipped=skipped,
        flagged=flagged,
    )


def _skip(
    resource: str,
    rid: int,
    reason: str,
    detail: str,
    matter_id: int | None,
    day: date | None,
    amount: int | None,
) -> SkippedRecord:
    return SkippedRecord(
        resource=resource,
        id=rid,
        reason=reason,
        detail=detail,
        matter_id=matter_id,
        date=day,
        amount=amount,
    )


def _discount(bill: dict[str, Any]) -> int:
    from .money import q2

    disc = bill.get("discount") or {}
    rate = to_decimal(disc.get("rate"))
    if not rate:
        return 0
    services = to_decimal(bill["services_sub_total"])
    if disc.get("type") == "money":
        return cents(min(q2(rate), services))
    return cents(min(q2(services * rate / 100), services))
