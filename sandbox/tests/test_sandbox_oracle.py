from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from clio_sandbox import SyncSettings, compute_oracle, generate_firm
from clio_sandbox.books import Books, FirmInfo
from clio_sandbox.firm import Firm
from clio_sandbox.money import cents
from clio_sandbox.store import Store


def test_oracle_ties_from_independent_arithmetic() -> None:
    firm = generate_firm(1, "small", "ie")
    oracle = compute_oracle(firm)
    assert oracle.check_ties() == []
    held = {f.id for f in oracle.flagged if f.resource == "bank_transactions" and not f.posted}
    trust = set(firm.meta.trust_account_ids)
    # client bank per account straight from Clio's bank transactions (default cut-off: the
    # legacy history nets to zero, so every transaction counts)
    per_account: dict[int, int] = Counter()
    per_matter: dict[int, int] = Counter()
    for txn in firm.records("bank_transactions"):
        if txn["bank_account_id"] in trust and txn["id"] not in held:
            amount = cents(txn["funds_in"]) - cents(txn["funds_out"])
            per_account[txn["bank_account_id"]] += amount
            per_matter[txn["matter"]["id"]] += amount
    for acct in oracle.bank_accounts:
        if acct.type == "Trust":
            assert acct.balance == per_account[acct.bank_account_id]
    assert sum(per_account.values()) == sum(m.client_balance for m in oracle.matters)
    assert oracle.totals.client_bank_total == oracle.totals.client_ledger_total
    for m in oracle.matters:
        assert m.client_balance == per_matter[m.matter_id]
    # Clio's own account balance agrees once held items are set aside
    for record in firm.records("bank_accounts"):
        figures = next(a for a in oracle.bank_accounts if a.bank_account_id == record["id"])
        assert figures.clio_balance == cents(record["balance"])
        assert figures.balance + figures.held + figures.not_imported == figures.clio_balance
    # debtors from Clio's bill balances
    posted = {s.id for s in oracle.skipped if s.resource == "bills"} | {
        f.id for f in oracle.flagged if f.resource == "bills"
    }
    debtors = sum(cents(b["balance"]) for b in firm.records("bills") if b["id"] not in posted)
    assert oracle.totals.debtors == debtors


def test_oracle_lists_skipped_and_flagged_with_reasons() -> None:
    firm = generate_firm(1, "small", "ie")
    oracle = compute_oracle(firm)
    skipped = Counter(s.reason for s in oracle.skipped)
    for reason in (
        "bill_draft",
        "bill_awaiting_approval",
        "bill_void",
        "bill_deleted",
        "before_cutoff",
        "allocation_voided",
        "trust_request",
    ):
        assert skipped[reason] >= 1, reason
    flagged = Counter(f.reason for f in oracle.flagged)
    assert flagged["client_ledger_overdrawn"] >= 1
    assert flagged["disbursement_vat_review"] >= 2
    overdraw = next(f for f in oracle.flagged if f.reason == "client_ledger_overdrawn")
    assert overdraw.matter_id in firm.meta.scenarios["overdraw"]
    assert overdraw.amount == 25000 and overdraw.posted
    # legacy matters are wholly before the cut-off: nothing opening
    assert all(
        m.opening_client_balance == 0 and m.opening_office_balance == 0 for m in oracle.matters
    )
    json.loads(oracle.to_json())


def test_settings_change_the_answer() -> None:
    firm = generate_firm(1, "tiny", "ie")
    review = compute_oracle(firm)
    as_clio = compute_oracle(
        firm,
        SyncSettings(cutoff_date=firm.meta.default_cutoff_date, vat_on_disbursements="as_clio"),
    )
    assert as_clio.check_ties() == [] and review.check_ties() == []
    assert not any(f.reason == "disbursement_vat_review" for f in as_clio.flagged)
    assert as_clio.totals.vat_on_disbursements > 0 == review.totals.vat_on_disbursements
    everything = compute_oracle(firm, SyncSettings(cutoff_date=None))
    assert not any(s.reason == "before_cutoff" for s in everything.skipped)
    assert everything.totals.bills_posted > review.totals.bills_posted
    ungrouped = compute_oracle(
        firm, SyncSettings(cutoff_date=None, group_fee_lines_for_discounts=False)
    )
    assert ungrouped.check_ties() == []
    assert ungrouped.totals.fees - ungrouped.totals.discounts_allowed == everything.totals.fees
    late = compute_oracle(firm, SyncSettings(cutoff_date=date(2025, 6, 1)))
    assert late.check_ties() == []
    assert any(m.opening_client_balance or m.opening_office_balance for m in late.matters)


def _worked_example_firm() -> Firm:
    """legacy-accounting.md §6 worked example (E&W, 20% VAT), built with the firm operations."""
    store = Store()
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    for cid, code in ((4, "GBP"),):
        store.put(
            "currencies",
            {
                "id": cid,
                "etag": '"c"',
                "code": code,
                "sign": "£",
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00+00:00",
            },
        )
    stamp = "2026-01-01T09:00:00+00:00"
    for aid, name, typ in (
        (7001, "Office Account", "Operating"),
        (7002, "Client Account", "Trust"),
    ):
        store.put(
            "bank_accounts",
            {
                "id": aid,
                "etag": '"b"',
                "name": name,
                "type": typ,
                "balance": Decimal(0),
                "bank_transactions_count": 0,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
    store.put(
        "users",
        {
            "id": 344001,
            "etag": '"u"',
            "name": "Owner",
            "rate": Decimal("250"),
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    store.put(
        "contacts",
        {
            "id": 1840012001,
            "etag": '"k"',
            "name": "Aoife Byrne",
            "is_client": True,
            "account_balances": [],
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    store.put(
        "contacts",
        {
            "id": 1840012002,
            "etag": '"k"',
            "name": "HM Courts",
            "is_client": False,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    store.put(
        "matters",
        {
            "id": 2231104001,
            "etag": '"m"',
            "display_number": "00001-Byrne",
            "client": {"id": 1840012001},
            "account_balances": [],
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    info = FirmInfo(
        name="Example",
        currency="GBP",
        currency_id=4,
        currency_sign="£",
        vat_rate=Decimal("20.0"),
        operating_account_id=7001,
        trust_account_ids=[7002],
        owner_user_id=344001,
    )
    store.set_meta("firm_info", info.to_json())
    store.set_meta(
        "firm",
        {
            "generator_version": "test",
            "seed": 0,
            "size": "example",
            "jurisdiction": "ew",
            "currency": "GBP",
            "vat_rate": Decimal("20.0"),
            "firm_name": "Example",
            "as_of": "2026-03-31",
            "history_start": "2026-01-01",
            "default_cutoff_date": "2026-01-01",
            "owner_user_id": 344001,
            "operating_account_id": 7001,
            "trust_account_ids": [7002],
            "scenarios": {},
        },
    )
    books = Books(store, info, lambda: now)
    m = 2231104001
    books.trust_receipt(
        matter_id=m, amount=Decimal("1000.00"), day=date(2026, 1, 5), description="(1) on account"
    )
    books.trust_payment(
        matter_id=m, amount=Decimal("200.00"), day=date(2026, 1, 6), description="(2) search fee"
    )
    court = books.expense_entry(
        kind="HardCostEntry",
        matter_id=m,
        user_id=344001,
        day=date(2026, 1, 7),
        quantity=Decimal(1),
        price=Decimal("300.00"),
        note="(3) court fee",
        category=None,
        tax_setting="no_tax",
        vendor_id=1840012002,
        reference="CHQ1",
    )
    fee = books.time_entry(
        matter_id=m,
        user_id=344001,
        day=date(2026, 1, 8),
        seconds=4 * 3600,
        price=Decimal("250.00"),
        note="work",
    )
    bill = books.create_bill(
        matter_id=m,
        activities=[fee, court],
        issued_at=date(2026, 1, 10),
        due_at=date(2026, 2, 10),
        state="awaiting_payment",
    )
    assert bill["total"] == Decimal("1500.00")  # 1,000 fees + 200 VAT + 300 court fee
    books.record_payment(
        allocations=[(bill, Decimal("800.00"))], day=date(2026, 1, 11), source_account_id=7002
    )
    return Firm(store)


def test_worked_example_matches_the_reference() -> None:
    firm = _worked_example_firm()
    oracle = compute_oracle(firm)
    m = oracle.matter(2231104001)
    # after step 5: client side 0.00, office side 700.00
    assert (m.client_balance, m.office_balance) == (0, 70000)
    assert (m.fees, m.vat_output, m.disbursements_billed, m.unbilled_disbursements) == (
        100000,
        20000,
        30000,
        0,
    )
    assert m.transfers_from_client == 80000
    books = firm.books(lambda: datetime(2026, 1, 20, tzinfo=UTC))
    bill = next(firm.records("bills"))
    books.record_payment(allocations=[(bill, Decimal("700.00"))], day=date(2026, 1, 20))
    m = compute_oracle(firm).matter(2231104001)
    assert (m.client_balance, m.office_balance) == (0, 0)  # after step 6
    assert compute_oracle(firm).check_ties() == []
