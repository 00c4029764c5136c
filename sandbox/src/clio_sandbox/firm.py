"""Generated firms: in memory (a :class:`Firm` over a SQLite store) or on disk (a directory).

On disk a firm is a directory::

    firm.json                 meta (seed, size, jurisdiction, currency, dates, scenario matters),
                              firm-wide settings, record counts
    <resource>.jsonl          one Clio record per line (Clio's JSON), in id order
    oracle.json               the oracle under the default sync settings

Writing and reading stream record by record, so a ``large`` firm never has to fit in memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from . import jsonfmt
from .books import Books, FirmInfo
from .generator import AS_OF, FirmSize, Jurisdiction, populate_store
from .money import cents, to_decimal
from .store import RESOURCES, Record, Store

__all__ = [
    "BankLine",
    "Firm",
    "FirmDirectory",
    "FirmMeta",
    "FirmSource",
    "bank_lines",
    "generate_firm",
    "generate_firm_to_dir",
    "load_firm",
    "validate_firm",
    "write_firm",
]


class FirmMeta(BaseModel):
    """What a generated firm is, and where its planted cases are."""

    model_config = ConfigDict(frozen=True)

    generator_version: str
    seed: int
    size: str
    jurisdiction: str
    currency: str
    vat_rate: Decimal = Field(description="Standard VAT rate in percent (23.0 IE, 20.0 E&W).")
    firm_name: str
    as_of: date = Field(description="The last simulated day; nothing is dated after it.")
    history_start: date
    default_cutoff_date: date = Field(
        description="The default 'import transactions dated after' date. Records dated before it"
        " are skipped; the generator puts no dated record on this day itself."
    )
    owner_user_id: int
    operating_account_id: int
    trust_account_ids: list[int]
    scenarios: dict[str, list[int]] = Field(
        description="Planted case → matter ids (overdraw, void, edit_after_approval, legacy ...)."
    )


class FirmSource(Protocol):
    """Anything the oracle can read: a meta and every record of each resource in id order."""

    @property
    def meta(self) -> FirmMeta: ...

    def records(self, resource: str) -> Iterator[Record]: ...


@dataclass
class Firm:
    """A firm held in a :class:`Store` (in memory by default). The server mutates it in place."""

    store: Store

    @property
    def meta(self) -> FirmMeta:
        return FirmMeta.model_validate(self.store.get_meta("firm"))

    @property
    def info(self) -> FirmInfo:
        return FirmInfo.from_json(self.store.get_meta("firm_info"))

    def records(self, resource: str) -> Iterator[Record]:
        return self.store.iter(resource)

    def books(self, clock: Any = None) -> Books:
        if clock is None:
            return Books(self.store, self.info)
        return Books(self.store, self.info, clock)

    def clone(self) -> Firm:
        return Firm(self.store.clone())

    def counts(self) -> dict[str, int]:
        return {res: self.store.count(res) for res in RESOURCES}


class FirmDirectory:
    """A firm written by :func:`write_firm`, read lazily from its JSON lines files."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._doc: dict[str, Any] = jsonfmt.loads((self.path / "firm.json").read_text("utf-8"))

    @property
    def meta(self) -> FirmMeta:
        return FirmMeta.model_validate(self._doc["meta"])

    def records(self, resource: str) -> Iterator[Record]:
        file = self.path / f"{resource}.jsonl"
        if not file.exists():
            return
        with file.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield jsonfmt.loads(line)


# --------------------------------------------------------------------------- generate


def generate_firm(
    seed: int = 1,
    size: FirmSize | str = "small",
    jurisdiction: Jurisdiction | str = "ie",
    *,
    as_of: date = AS_OF,
    db_path: str = ":memory:",
) -> Firm:
    """Generate a firm in a store (in memory unless ``db_path`` names a file)."""
    store = Store(db_path)
    populate_store(store, seed, str(size), str(jurisdiction), as_of)
    return Firm(store)


def generate_firm_to_dir(
    directory: str | os.PathLike[str],
    seed: int = 1,
    size: FirmSize | str = "small",
    jurisdiction: Jurisdiction | str = "ie",
    *,
    as_of: date = AS_OF,
    with_oracle: bool = True,
) -> FirmDirectory:
    """Generate straight to a directory with bounded memory (a scratch SQLite file on disk)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        firm = generate_firm(seed, size, jurisdiction, as_of=as_of, db_path=f"{scratch}/build.db")
        write_firm(firm, target, with_oracle=with_oracle)
        firm.store.close()
    return FirmDirectory(target)


# --------------------------------------------------------------------------- disk


def write_firm(firm: Firm, directory: str | os.PathLike[str], *, with_oracle: bool = True) -> Path:
    """Write ``firm`` (streamed, id order) and, by default, its oracle as ``oracle.json``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for resource in RESOURCES:
        if resource == "webhooks":
            continue
        n = 0
        tmp = target / f".{resource}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for record in firm.store.iter(resource):
                fh.write(jsonfmt.dumps(record))
                fh.write("\n")
                n += 1
        tmp.replace(target / f"{resource}.jsonl")
        counts[resource] = n
    doc = {
        "meta": firm.store.get_meta("firm"),
        "firm_info": firm.store.get_meta("firm_info"),
        "billing_settings": firm.store.get_meta("billing_settings"),
        "sequences": {
            key: value for key, value in firm.store._meta.items() if key.startswith("seq:")
        },
        "counts": counts,
    }
    (target / "firm.json").write_text(jsonfmt.dumps(doc) + "\n", encoding="utf-8")
    if with_oracle:
        from .oracle import compute_oracle

        oracle = compute_oracle(firm)
        (target / "oracle.json").write_text(oracle.to_json() + "\n", encoding="utf-8")
    return target


def load_firm(directory: str | os.PathLike[str], *, db_path: str = ":memory:") -> Firm:
    """Load a firm directory into a store (in memory, or a SQLite file for large firms)."""
    source = Path(directory)
    doc = jsonfmt.loads((source / "firm.json").read_text("utf-8"))
    store = Store(db_path)
    store.begin()
    for resource in RESOURCES:
        file = source / f"{resource}.jsonl"
        if not file.exists():
            continue
        with file.open(encoding="utf-8") as fh:
            store.insert_many(resource, (jsonfmt.loads(line) for line in fh if line.strip()))
    store.set_meta("firm", doc["meta"])
    store.set_meta("firm_info", doc["firm_info"])
    store.set_meta("billing_settings", doc["billing_settings"])
    for key, value in doc.get("sequences", {}).items():
        store.set_meta(key, value)
    store.commit()
    return Firm(store)


def copy_firm_dir(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


# --------------------------------------------------------------------------- bank lines


@dataclass(frozen=True, slots=True)
class BankLine:
    """One bank transaction as a statement line (for statement generation)."""

    id: int
    bank_account_id: int
    date: date
    amount: int  # signed minor units: + money in, − money out
    running_balance: int  # balance after this line, in (date, id) order
    reference: str | None
    description: str
    transaction_type: str
    matter_id: int | None


def bank_lines(source: FirmSource, bank_account_id: int) -> list[BankLine]:
    """The account's bank transactions in date order (ties by id), with running balances."""
    rows: list[tuple[str, int, Record]] = []
    for txn in source.records("bank_transactions"):
        if txn["bank_account_id"] == bank_account_id:
            slim = {
                "confirmation": txn.get("confirmation"),
                "description": txn.get("description") or "",
                "transaction_type": txn.get("transaction_type") or "",
                "matter": txn.get("matter"),
                "funds_in": txn["funds_in"],
                "funds_out": txn["funds_out"],
            }
            rows.append((txn["date"], txn["id"], slim))
    rows.sort(key=lambda r: (r[0], r[1]))
    out: list[BankLine] = []
    balance = 0
    for day, tid, txn in rows:
        amount = cents(txn["funds_in"]) - cents(txn["funds_out"])
        balance += amount
        matter = txn["matter"]
        out.append(
            BankLine(
                id=tid,
                bank_account_id=bank_account_id,
                date=date.fromisoformat(day),
                amount=amount,
                running_balance=balance,
                reference=txn["confirmation"],
                description=txn["description"],
                transaction_type=txn["transaction_type"],
                matter_id=matter["id"] if matter else None,
            )
        )
    return out


# --------------------------------------------------------------------------- validation


def validate_firm(source: FirmSource) -> list[str]:
    """Check that every money field agrees with every other; returns the problems found."""
    problems: list[str] = []
    bills = {b["id"]: b for b in source.records("bills")}
    line_sums: dict[int, dict[str, int]] = {}
    for line in source.records("line_items"):
        sums = line_sums.setdefault(line["bill"]["id"], {"services": 0, "expenses": 0, "etax": 0})
        if line["sub_total"] is not None and (
            cents(line["sub_total"]) + cents(line["tax"]) != cents(line["total"])
        ):
            problems.append(f"line item {line['id']}: sub_total + tax != total")
        key = "services" if line["kind"] == "Service" else "expenses"
        sums[key] += cents(line["sub_total"])
        if key == "expenses":
            sums["etax"] += cents(line["tax"])
    trust_lines: dict[int, int] = {}
    for tl in source.records("trust_line_items"):
        trust_lines[tl["bill"]["id"]] = trust_lines.get(tl["bill"]["id"], 0) + cents(tl["total"])
    paid: dict[int, int] = {}
    credited: dict[int, int] = {}
    for alloc in source.records("allocations"):
        if alloc["voided_at"] or alloc["bill"] is None:
            continue
        target = paid if alloc["parent"]["type"] == "Payment" else credited
        bid = alloc["bill"]["id"]
        target[bid] = target.get(bid, 0) + cents(alloc["amount"])
    for bid, bill in bills.items():
        total = cents(bill["total"])
        if bill["kind"] == "trust_kind":
            if trust_lines.get(bid, 0) != total:
                problems.append(f"trust request {bid}: lines do not sum to total")
        else:
            sums = line_sums.get(bid, {"services": 0, "expenses": 0, "etax": 0})
            if sums["services"] != cents(bill["services_sub_total"]):
                problems.append(f"bill {bid}: services_sub_total != Σ service lines")
            if sums["services"] + sums["expenses"] != cents(bill["sub_total"]):
                problems.append(f"bill {bid}: sub_total != Σ lines")
            if cents(bill["services_tax"]) + sums["etax"] != cents(bill["tax_sum"]):
                problems.append(f"bill {bid}: tax_sum != services_tax + Σ expense taxes")
            disc = _discount_cents(bill)
            if cents(bill["sub_total"]) - disc + cents(bill["tax_sum"]) != total:
                problems.append(f"bill {bid}: total != sub_total − discount + tax")
        if cents(bill["paid"]) != paid.get(bid, 0):
            problems.append(f"bill {bid}: paid != Σ payment allocations")
        if cents(bill["credits_issued"]) != credited.get(bid, 0):
            problems.append(f"bill {bid}: credits_issued != Σ credit allocations")
        if total - cents(bill["paid"]) - cents(bill["credits_issued"]) != cents(bill["balance"]):
            problems.append(f"bill {bid}: balance != total − paid − credits")
        if bill["state"] == "paid" and cents(bill["balance"]) != 0:
            problems.append(f"bill {bid}: paid but balance not zero")
        if bill["state"] in ("draft", "awaiting_approval", "void", "deleted") and paid.get(bid):
            problems.append(f"bill {bid}: {bill['state']} with payments")
    # bank accounts and trust balances
    acct_sum: dict[int, int] = {}
    matter_trust: dict[tuple[int, int], int] = {}
    acct_types = {a["id"]: a["type"] for a in source.records("bank_accounts")}
    for txn in source.records("bank_transactions"):
        amount = cents(txn["funds_in"]) - cents(txn["funds_out"])
        if amount != cents(txn["amount"]):
            problems.append(f"bank transaction {txn['id']}: amount != funds_in − funds_out")
        aid = txn["bank_account_id"]
        acct_sum[aid] = acct_sum.get(aid, 0) + amount
        if acct_types.get(aid) == "Trust" and txn.get("matter"):
            mkey = (txn["matter"]["id"], aid)
            matter_trust[mkey] = matter_trust.get(mkey, 0) + amount
        if txn.get("allocation") is not None and txn["bill"] is None:
            problems.append(f"bank transaction {txn['id']}: allocation without bill")
    for acct in source.records("bank_accounts"):
        if cents(acct["balance"]) != acct_sum.get(acct["id"], 0):
            problems.append(f"bank account {acct['id']}: balance != Σ transactions")
    for matter in source.records("matters"):
        for entry in matter.get("account_balances") or []:
            held = matter_trust.get((matter["id"], entry["id"]), 0)
            if cents(entry["balance"]) != held:
                problems.append(f"matter {matter['id']}: account_balances != Σ trust transactions")
    for act in source.records("activities"):
        on_bill = bills.get(act["bill"]["id"]) if act.get("bill") else None
        if on_bill is not None:
            approved = on_bill["state"] in ("awaiting_payment", "paid")
            if bool(act["billed"]) != approved:
                problems.append(f"activity {act['id']}: billed flag disagrees with bill state")
            if on_bill["state"] in ("void", "deleted"):
                problems.append(f"activity {act['id']}: still on a {on_bill['state']} bill")
        elif act.get("billed") or act.get("on_bill"):
            problems.append(f"activity {act['id']}: billed/on_bill without a bill")
    return problems


def _discount_cents(bill: Record) -> int:
    disc = bill.get("discount") or {}
    rate = to_decimal(disc.get("rate"))
    services = to_decimal(bill["services_sub_total"])
    if not rate:
        return 0
    if disc.get("type") == "money":
        return cents(min(rate, services))
    from .money import q2

    return cents(min(q2(services * rate / 100), services))
