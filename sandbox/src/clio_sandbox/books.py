"""The firm's operations on Clio records: what a Clio user does, and what Clio records for it.

The generator drives a simulated firm through these operations, and the control API calls the
same ones, so generated data and live changes follow one set of rules:

* Money is ``Decimal`` rounded to the cent, half up.
* Line items: ``sub_total`` = quantity × price (less a line discount); ``tax`` = sub_total × rate
  when taxable (rounded per line); ``total`` = ``sub_total + tax``.
* Bills: ``sub_total`` = Σ line sub_totals; the bill-level ``discount`` applies to services only
  (``discount_services_only`` is ``"true"``); ``services_tax`` = (services − discount) × rate,
  rounded once; ``tax_sum`` = ``services_tax`` + Σ expense line taxes; ``total`` = ``due`` =
  ``sub_total − discount + tax_sum``; ``balance`` = ``total − paid − credits_issued``.
  (So Σ line taxes may differ from ``tax_sum`` by the discount's tax and by a cent of rounding,
  as with real Clio: reconcile against the bill header.)
* A payment is a set of allocations (parent ``Payment``) with one bank transaction per allocation
  per account; a payment from trust also has a ``BankTransfer`` (trust → operating).
* ``BankTransaction.amount`` is signed (``funds_in − funds_out``); ``current_account_balance`` is
  the account's balance right after the transaction was recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .money import ZERO, q2, to_decimal
from .store import Record, Store
from .timeutil import format_ts

__all__ = ["BillLine", "Books", "BooksError", "FirmInfo", "OverdrawError"]

HUNDRED = Decimal(100)
SECONDS_PER_HOUR = Decimal(3600)


class BooksError(Exception):
    """An operation Clio would refuse (the API turns it into a 4xx)."""

    def __init__(self, message: str, status: int = 422, error_type: str = "RecordInvalid") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class OverdrawError(BooksError):
    """A trust payment larger than the money held for the matter in that account."""


@dataclass
class FirmInfo:
    """The firm-wide facts the operations need (kept in the store's meta)."""

    name: str
    currency: str
    currency_id: int
    currency_sign: str
    vat_rate: Decimal
    operating_account_id: int
    trust_account_ids: list[int]
    owner_user_id: int

    def currency_ref(self) -> dict[str, Any]:
        return {"id": self.currency_id, "code": self.currency, "sign": self.currency_sign}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "currency": self.currency,
            "currency_id": self.currency_id,
            "currency_sign": self.currency_sign,
            "vat_rate": self.vat_rate,
            "operating_account_id": self.operating_account_id,
            "trust_account_ids": self.trust_account_ids,
            "owner_user_id": self.owner_user_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FirmInfo:
        return cls(
            name=data["name"],
            currency=data["currency"],
            currency_id=int(data["currency_id"]),
            currency_sign=data["currency_sign"],
            vat_rate=to_decimal(data["vat_rate"]),
            operating_account_id=int(data["operating_account_id"]),
            trust_account_ids=[int(x) for x in data["trust_account_ids"]],
            owner_user_id=int(data["owner_user_id"]),
        )


@dataclass
class BillLine:
    """A line not drawn from an activity (e.g. an agreed fixed fee)."""

    description: str
    price: Decimal
    quantity: Decimal = Decimal(1)
    kind: str = "Service"
    taxable: bool = True
    date: date | None = None


@dataclass
class _Counter:
    value: int = 0


def _ref(record_id: int | None) -> dict[str, Any] | None:
    return None if record_id is None else {"id": record_id}


@dataclass
class Books:
    """Operations over a :class:`Store`. ``clock`` gives the instant stamped on each change."""

    store: Store
    info: FirmInfo
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _etags: _Counter = field(default_factory=_Counter)

    # ------------------------------------------------------------------ basics
    def now(self) -> str:
        return format_ts(self.clock())

    def _etag(self, resource: str, record_id: int, stamp: str) -> str:
        self._etags.value += 1
        digest = hashlib.md5(
            f"{resource}:{record_id}:{stamp}:{self._etags.value}".encode(), usedforsecurity=False
        ).hexdigest()
        return f'"{digest}"'

    def create(self, resource: str, fields: dict[str, Any], record_id: int | None = None) -> Record:
        stamp = self.now()
        rid = record_id if record_id is not None else self.store.next_id(resource)
        rec: Record = {"id": rid, "etag": self._etag(resource, rid, stamp)}
        rec.update(fields)
        rec.setdefault("created_at", stamp)
        rec["updated_at"] = stamp
        self.store.put(resource, rec)
        return rec

    def save(self, resource: str, rec: Record) -> Record:
        stamp = self.now()
        rec["updated_at"] = stamp
        rec["etag"] = self._etag(resource, rec["id"], stamp)
        self.store.put(resource, rec)
        return rec

    def get(self, resource: str, record_id: int) -> Record:
        rec = self.store.get(resource, record_id)
        if rec is None:
            raise BooksError(f"{resource} {record_id} not found", 404, "RecordNotFound")
        return rec

    # ------------------------------------------------------------------ activities
    def time_entry(
        self,
        *,
        matter_id: int,
        user_id: int,
        day: date,
        seconds: int,
        price: Decimal,
        note: str,
        activity_description: dict[str, Any] | None = None,
        non_billable: bool = False,
        no_charge: bool = False,
    ) -> Record:
        fields = self._time_fields(seconds, price, non_billable)
        fields.update(
            {
                "type": "TimeEntry",
                "date": day.isoformat(),
                "quantity_redacted": False,
                "note": note,
                "flat_rate": False,
                "billed": False,
                "on_bill": False,
                "contingency_fee": False,
                "reference": None,
                "non_billable": non_billable,
                "no_charge": no_charge,
                "tax_setting": None,
                "currency": self.info.currency_ref(),
                "activity_description": activity_description,
                "expense_category": None,
                "bill": None,
                "matter": _ref(matter_id),
                "user": _ref(user_id),
                "vendor": None,
                "utbms_expense": None,
            }
        )
        return self.create("activities", fields)

    @staticmethod
    def _time_fields(seconds: int, price: Decimal, non_billable: bool) -> dict[str, Any]:
        # Clio rounds time to the firm's increment (6 minutes here), rounding up.
        rounded = -(-seconds // 360) * 360
        hours = Decimal(seconds) / SECONDS_PER_HOUR
        rounded_hours = Decimal(rounded) / SECONDS_PER_HOUR
        value = q2(rounded_hours * price)
        return {
            "quantity": Decimal(seconds),
            "quantity_in_hours": q4(hours),
            "rounded_quantity": Decimal(rounded),
            "rounded_quantity_in_hours": q4(rounded_hours),
            "price": q2(price),
            "total": ZERO if non_billable else value,
            "non_billable_total": value if non_billable else ZERO,
        }

    def expense_entry(
        self,
        *,
        kind: str,
        matter_id: int,
        user_id: int,
        day: date,
        quantity: Decimal,
        price: Decimal,
        note: str,
        category: Record | None,
        tax_setting: str,
        vendor_id: int | None = None,
        reference: str | None = None,
        paid_from_account_id: int | None = None,
        non_billable: bool = False,
    ) -> Record:
        """A ``HardCostEntry`` (disbursement) or ``SoftCostEntry`` (expense recovery).

        A hard cost with a vendor was paid from a bank account: an operating-account withdrawal
        is recorded with the same ``reference`` (its ``confirmation``), matter and date.
        """
        if kind not in ("HardCostEntry", "SoftCostEntry", "ExpenseEntry"):
            raise BooksError(f"unknown expense type {kind}")
        value = q2(quantity * price)
        fields = {
            "type": kind,
            "date": day.isoformat(),
            "quantity": quantity,
            "quantity_in_hours": None,
            "rounded_quantity": quantity,
            "rounded_quantity_in_hours": None,
            "quantity_redacted": False,
            "price": price,
            "note": note,
            "flat_rate": False,
            "billed": False,
            "on_bill": False,
            "total": ZERO if non_billable else value,
            "contingency_fee": False,
            "reference": reference,
            "non_billable": non_billable,
            "non_billable_total": value if non_billable else ZERO,
            "no_charge": False,
            "tax_setting": tax_setting,
            "currency": self.info.currency_ref(),
            "activity_description": None,
            "expense_category": None
            if category is None
            else {
                "id": category["id"],
                "name": category["name"],
                "entry_type": category["entry_type"],
            },
            "bill": None,
            "matter": _ref(matter_id),
            "user": _ref(user_id),
            "vendor": _ref(vendor_id),
            "utbms_expense": None,
        }
        rec = self.create("activities", fields)
        if kind == "HardCostEntry" and vendor_id is not None:
            account_id = paid_from_account_id or self.info.operating_account_id
            vendor = self.get("contacts", vendor_id)
            matter = self.get("matters", matter_id)
            label = category["name"] if category else "Disbursement"
            self.bank_transaction(
                account_id=account_id,
                day=day,
                funds_in=ZERO,
                funds_out=value,
                transaction_type="Withdrawal",
                description=f"{label}: {vendor['name']} – {note}",
                confirmation=reference,
                matter_id=matter_id,
                client_id=matter["client"]["id"],
            )
        return rec

    def edit_activity(self, activity: Record, changes: dict[str, Any]) -> Record:
        """Apply a PATCH (already validated) and recompute the activity's money."""
        if activity.get("billed"):
            raise BooksError("Activity has been billed and cannot be changed")
        for key, value in changes.items():
            activity[key] = value
        if activity["type"] == "TimeEntry":
            activity.update(
                self._time_fields(
                    int(to_decimal(activity["quantity"])),
                    to_decimal(activity["price"]),
                    bool(activity.get("non_billable")),
                )
            )
        else:
            value = q2(to_decimal(activity["quantity"]) * to_decimal(activity["price"]))
            nb = bool(activity.get("non_billable"))
            activity["rounded_quantity"] = activity["quantity"]
            activity["total"] = ZERO if nb else value
            activity["non_billable_total"] = value if nb else ZERO
        self.save("activities", activity)
        if activity.get("bill"):
            bill = self.get("bills", activity["bill"]["id"])
            for line in self.store.find("line_items", "$.activity.id", activity["id"]):
                self._line_from_activity(line, activity, bill)
                self.save("line_items", line)
            self.recompute_bill(bill)
        return activity

    def delete_activity(self, activity: Record) -> None:
        if activity.get("bill"):
            raise BooksError("Activity is on a bill and cannot be deleted")
        self.store.delete("activities", activity["id"])

    # ------------------------------------------------------------------ bills
    def _line_from_activity(self, line: Record, activity: Record, bill: Record) -> None:
        rate = to_decimal(bill["tax_rate"])
        is_time = activity["type"] == "TimeEntry"
        if is_time:
            quantity = to_decimal(activity["rounded_quantity_in_hours"])
        else:
            quantity = to_decimal(activity["quantity"])
        price = to_decimal(activity["price"])
        if activity.get("no_charge"):
            line_type, sub_total = "NoChargeLineItem", ZERO
        else:
            line_type, sub_total = "ActivityLineItem", to_decimal(activity["total"])
        discount = line.get("discount")
        if discount and sub_total:
            sub_total -= _discount_amount(discount, sub_total)
        taxable = True if is_time else activity.get("tax_setting") not in (None, "no_tax")
        tax = q2(sub_total * rate / HUNDRED) if taxable else ZERO
        line.update(
            {
                "type": line_type,
                "kind": "Service" if is_time else "Expense",
                "description": activity.get("note") or "",
                "note": None,
                "date": activity["date"],
                "quantity": quantity,
                "price": price,
                "sub_total": sub_total,
                "taxable": taxable,
                "secondary_taxable": False,
                "tax": tax,
                "secondary_tax": ZERO,
                "total": sub_total + tax,
                "group_ordering": 1 if is_time else 2,
                "bill": _ref(bill["id"]),
                "activity": _ref(activity["id"]),
                "matter": activity["matter"],
                "user": activity["user"],
                "included_line_item_totals": None,
            }
        )

    def create_bill(
        self,
        *,
        matter_id: int,
        activities: Iterable[Record],
        issued_at: date,
        due_at: date,
        state: str = "draft",
        discount: dict[str, Any] | None = None,
        line_discounts: dict[int, dict[str, Any]] | None = None,
        extra_lines: Iterable[BillLine] = (),
        number: str | None = None,
        memo: str | None = None,
    ) -> Record:
        """Generate a bill from unbilled activities (Clio does this in its UI; no POST /bills)."""
        if state not in ("draft", "awaiting_approval", "awaiting_payment"):
            raise BooksError(f"a new bill cannot be {state}")
        matter = self.get("matters", matter_id)
        acts = list(activities)
        for act in acts:
            if act.get("bill"):
                raise BooksError(f"activity {act['id']} is already on a bill")
            if act["matter"]["id"] != matter_id:
                raise BooksError(f"activity {act['id']} belongs to another matter")
            if act.get("non_billable"):
                raise BooksError(f"activity {act['id']} is non-billable")
        dates = [a["date"] for a in acts] + [ln.date.isoformat() for ln in extra_lines if ln.date]
        bill_id = self.store.next_id("bills")
        disc = {
            "rate": ZERO,
            "type": "percentage",
            "note": None,
            "early_payment_rate": 0,
            "early_payment_period": 0,
        }
        if discount:
            disc.update(discount)
            disc["rate"] = to_decimal(disc["rate"])
        bill_fields: dict[str, Any] = {
            "number": number if number is not None else self._next_bill_number(),
            "issued_at": issued_at.isoformat(),
            "due_at": due_at.isoformat(),
            "tax_rate": self.info.vat_rate,
            "secondary_tax_rate": ZERO,
            "subject": None,
            "purchase_order": None,
            "type": "MatterBill",
            "memo": memo,
            "start_at": min(dates) if dates else issued_at.isoformat(),
            "end_at": max(dates) if dates else issued_at.isoformat(),
            "state": state,
            "kind": "revenue_kind",
            "paid": ZERO,
            "paid_at": None,
            "pending": ZERO,
            "discount_services_only": "true",
            "credits_issued": ZERO,
            "shared": False,
            "last_sent_at": None,
            "secondary_tax_sum": ZERO,
            "services_secondary_tax": ZERO,
            "services_secondary_taxable_sub_total": 0,
            "secondary_taxable_sub_total": 0,
            "user": _ref(self.info.owner_user_id),
            "client": _ref(matter["client"]["id"]),
            "discount": disc,
            "interest": {
                "balance": ZERO,
                "period": 30,
                "rate": ZERO,
                "total": ZERO,
                "type": "simple",
            },
            "matters": [{"id": matter_id}],
            "group": None,
            "bill_theme": None,
            "original_bill": None,
            "destination_account": _ref(self.info.operating_account_id),
            "currency": self.info.currency_ref(),
            "billing_setting": None,
            "client_addresses": [],
        }
        bill = self.create("bills", bill_fields, record_id=bill_id)
        for act in acts:
            line: Record = {}
            if line_discounts and act["id"] in line_discounts:
                ld = dict(line_discounts[act["id"]])
                ld["rate"] = to_decimal(ld["rate"])
                line["discount"] = ld
            else:
                line["discount"] = None
            self._line_from_activity(line, act, bill)
            self.create("line_items", line)
            act["bill"] = _ref(bill_id)
            act["on_bill"] = True
            act["billed"] = state == "awaiting_payment"
            self.save("activities", act)
        for extra in extra_lines:
            sub_total = q2(extra.quantity * extra.price)
            tax = q2(sub_total * self.info.vat_rate / HUNDRED) if extra.taxable else ZERO
            self.create(
                "line_items",
                {
                    "type": "LineItem",
                    "kind": extra.kind,
                    "description": extra.description,
                    "note": None,
                    "date": (extra.date or issued_at).isoformat(),
                    "quantity": extra.quantity,
                    "price": extra.price,
                    "sub_total": sub_total,
                    "taxable": extra.taxable,
                    "secondary_taxable": False,
                    "tax": tax,
                    "secondary_tax": ZERO,
                    "total": sub_total + tax,
                    "group_ordering": 1 if extra.kind == "Service" else 2,
                    "bill": _ref(bill_id),
                    "activity": None,
                    "matter": _ref(matter_id),
                    "user": _ref(self.info.owner_user_id),
                    "discount": None,
                    "included_line_item_totals": None,
                },
            )
        return self.recompute_bill(bill)

    def _next_bill_number(self) -> str:
        current = self.store.get_meta("seq:bill_number")
        value = 1001 if current is None else int(current) + 1
        self.store.set_meta("seq:bill_number", value)
        return f"{value:05d}"

    def recompute_bill(self, bill: Record) -> Record:
        """Recompute the bill's money from its lines, allocations and state; save it."""
        if bill.get("kind") == "trust_kind":
            lines = self.store.find("trust_line_items", "$.bill.id", bill["id"])
            total = sum((to_decimal(ln["total"]) for ln in lines), ZERO)
            services = ZERO
            sub_total = total
            discount_amount = ZERO
            services_tax = ZERO
            tax_sum = ZERO
            taxable_base = ZERO
        else:
            lines = self.store.find("line_items", "$.bill.id", bill["id"])
            rate = to_decimal(bill["tax_rate"])
            services = sum(
                (to_decimal(ln["sub_total"]) for ln in lines if ln["kind"] == "Service"), ZERO
            )
            expenses = sum(
                (to_decimal(ln["sub_total"]) for ln in lines if ln["kind"] != "Service"), ZERO
            )
            sub_total = services + expenses
            discount_amount = _discount_amount(bill["discount"], services)
            taxable_services = sum(
                (
                    to_decimal(ln["sub_total"])
                    for ln in lines
                    if ln["kind"] == "Service" and ln.get("taxable")
                ),
                ZERO,
            )
            services_base = max(taxable_services - discount_amount, ZERO)
            services_tax = q2(services_base * rate / HUNDRED)
            expense_tax = sum(
                (to_decimal(ln["tax"]) for ln in lines if ln["kind"] != "Service"), ZERO
            )
            taxable_base = services_base + sum(
                (
                    to_decimal(ln["sub_total"])
                    for ln in lines
                    if ln["kind"] != "Service" and ln.get("taxable")
                ),
                ZERO,
            )
            tax_sum = services_tax + expense_tax
            total = sub_total - discount_amount + tax_sum
        allocations = [
            a for a in self.store.find("allocations", "$.bill.id", bill["id"]) if not a["voided_at"]
        ]
        paid = sum(
            (to_decimal(a["amount"]) for a in allocations if a["parent"]["type"] == "Payment"), ZERO
        )
        credits = sum(
            (to_decimal(a["amount"]) for a in allocations if a["parent"]["type"] == "CreditMemo"),
            ZERO,
        )
        balance = total - paid - credits
        if balance < 0:
            raise BooksError("payments exceed the bill total")
        state = bill["state"]
        if state in ("awaiting_payment", "paid"):
            state = "paid" if balance == 0 and total > 0 else "awaiting_payment"
        matter_id = bill["matters"][0]["id"]
        bill.update(
            {
                "sub_total": sub_total,
                "services_sub_total": services,
                "services_tax": services_tax,
                "services_taxable_sub_total": int(max(services - discount_amount, ZERO)),
                "taxable_sub_total": int(taxable_base),
                "tax_sum": tax_sum,
                "total_tax": tax_sum,
                "total": total,
                "due": total,
                "paid": paid,
                "credits_issued": credits,
                "balance": balance,
                "state": state,
                "balances": [
                    {
                        "id": matter_id,
                        "amount": balance,
                        "type": "Matter",
                        "interest_amount": ZERO,
                        "due": balance,
                    }
                ],
                "matter_totals": [{"id": matter_id, "amount": total}],
                "can_update": state in ("draft", "awaiting_approval")
                or (state == "awaiting_payment" and not allocations),
                "available_state_transitions": _transitions(state, bool(allocations)),
            }
        )
        return self.save("bills", bill)

    def set_bill_state(self, bill: Record, new_state: str) -> Record:
        """PATCH state: draft → awaiting_approval → awaiting_payment; void / deleted as Clio."""
        has_alloc = any(
            not a["voided_at"] for a in self.store.find("allocations", "$.bill.id", bill["id"])
        )
        allowed = _transitions(bill["state"], has_alloc)
        if new_state == bill["state"]:
            return bill
        if new_state not in allowed:
            raise BooksError(f"A {bill['state']} bill cannot become {new_state}")
        bill["state"] = new_state
        if new_state in ("void", "deleted"):
            self._release_activities(bill)
        elif new_state == "awaiting_payment":
            for act in self.store.find("activities", "$.bill.id", bill["id"]):
                act["billed"] = True
                self.save("activities", act)
        return self.recompute_bill(bill)

    def delete_bill(self, bill: Record) -> Record:
        """DELETE /bills/{id}: draft / awaiting approval → deleted; awaiting payment → void."""
        has_alloc = any(
            not a["voided_at"] for a in self.store.find("allocations", "$.bill.id", bill["id"])
        )
        if (
            has_alloc
            or bill["paid"]
            or bill["state"]
            not in (
                "draft",
                "awaiting_approval",
                "awaiting_payment",
            )
        ):
            raise BooksError("Bill cannot be deleted: it has payments or is not open")
        target = "void" if bill["state"] == "awaiting_payment" else "deleted"
        return self.set_bill_state(bill, target)

    def _release_activities(self, bill: Record) -> None:
        for act in self.store.find("activities", "$.bill.id", bill["id"]):
            act["bill"] = None
            act["billed"] = False
            act["on_bill"] = False
            self.save("activities", act)

    def edit_bill(self, bill: Record, changes: dict[str, Any]) -> Record:
        """Edit header fields (discount, tax_rate, dates, number ...) and recompute."""
        if bill["state"] in ("void", "deleted"):
            raise BooksError(f"A {bill['state']} bill cannot be edited")
        for key, value in changes.items():
            if key == "discount":
                disc = dict(bill["discount"])
                disc.update(value)
                disc["rate"] = to_decimal(disc["rate"])
                if disc["type"] not in ("percentage", "money"):
                    raise BooksError("discount type must be percentage or money")
                bill["discount"] = disc
            elif key == "tax_rate":
                bill["tax_rate"] = to_decimal(value)
            else:
                bill[key] = value
        if "tax_rate" in changes:
            for line in self.store.find("line_items", "$.bill.id", bill["id"]):
                self._retax_line(line, to_decimal(bill["tax_rate"]))
        return self.recompute_bill(bill)

    def _retax_line(self, line: Record, rate: Decimal) -> None:
        sub_total = to_decimal(line["sub_total"])
        tax = q2(sub_total * rate / HUNDRED) if line.get("taxable") else ZERO
        line["tax"] = tax
        line["total"] = sub_total + tax
        self.save("line_items", line)

    def edit_line_item(
        self, line: Record, changes: dict[str, Any], update_original: bool
    ) -> Record:
        bill = self.get("bills", line["bill"]["id"])
        if not bill.get("can_update"):
            raise BooksError("The bill cannot be edited")
        for key in ("description", "note", "date", "kind", "group_ordering"):
            if key in changes:
                line[key] = changes[key]
        if "price" in changes:
            line["price"] = to_decimal(changes["price"])
        if "quantity" in changes:
            line["quantity"] = to_decimal(changes["quantity"])
        if "taxable" in changes:
            line["taxable"] = bool(changes["taxable"])
        if "discount" in changes:
            line["discount"] = changes["discount"]
        gross = q2(to_decimal(line["quantity"]) * to_decimal(line["price"]))
        if line["type"] == "NoChargeLineItem":
            gross = ZERO
        if line.get("discount") and gross:
            gross -= _discount_amount(line["discount"], gross)
        line["sub_total"] = gross
        self._retax_line(line, to_decimal(bill["tax_rate"]))
        if update_original and line.get("activity"):
            act = self.get("activities", line["activity"]["id"])
            if "description" in changes:
                act["note"] = changes["description"]
            if "price" in changes:
                act["price"] = to_decimal(changes["price"])
            if act["type"] != "TimeEntry" and "quantity" in changes:
                act["quantity"] = to_decimal(changes["quantity"])
                act["rounded_quantity"] = act["quantity"]
                act["total"] = q2(to_decimal(act["quantity"]) * to_decimal(act["price"]))
            elif act["type"] == "TimeEntry":
                act.update(
                    self._time_fields(
                        int(to_decimal(act["quantity"])), to_decimal(act["price"]), False
                    )
                )
            self.save("activities", act)
        self.recompute_bill(bill)
        return line

    def delete_line_item(self, line: Record) -> None:
        bill = self.get("bills", line["bill"]["id"])
        if not bill.get("can_update"):
            raise BooksError("The bill cannot be edited")
        if line.get("activity"):
            act = self.store.get("activities", line["activity"]["id"])
            if act is not None:
                act["bill"] = None
                act["billed"] = False
                act["on_bill"] = False
                self.save("activities", act)
        self.store.delete("line_items", line["id"])
        self.recompute_bill(bill)

    # ------------------------------------------------------------------ bank
    def bank_transaction(
        self,
        *,
        account_id: int,
        day: date,
        funds_in: Decimal,
        funds_out: Decimal,
        transaction_type: str,
        description: str,
        confirmation: str | None = None,
        matter_id: int | None = None,
        client_id: int | None = None,
        bill_id: int | None = None,
        allocation_id: int | None = None,
        source: str = "manual",
    ) -> Record:
        account = self.get("bank_accounts", account_id)
        amount = funds_in - funds_out
        new_balance = to_decimal(account["balance"]) + amount
        rec = self.create(
            "bank_transactions",
            {
                "type": "liability" if account["type"] == "Trust" else "asset",
                "bank_account_id": account_id,
                "source": source,
                "confirmation": confirmation,
                "date": day.isoformat(),
                "amount": amount,
                "currency": self.info.currency,
                "currency_id": self.info.currency_id,
                "description": description,
                "exchange_rate": Decimal(1),
                "transaction_type": transaction_type,
                "funds_in": funds_in,
                "funds_out": funds_out,
                "clio_payments_transaction": False,
                "current_account_balance": new_balance,
                "read_only_confirmation": False,
                "client": _ref(client_id),
                "matter": _ref(matter_id),
                "bank_account": _ref(account_id),
                "bill": _ref(bill_id),
                "allocation": _ref(allocation_id),
            },
        )
        account["balance"] = new_balance
        account["bank_transactions_count"] = int(account.get("bank_transactions_count") or 0) + 1
        self.save("bank_accounts", account)
        if account["type"] == "Trust" and matter_id is not None:
            self._adjust_trust_balances(matter_id, client_id, account, amount)
        return rec

    def remove_bank_transaction(self, txn: Record) -> None:
        account = self.get("bank_accounts", txn["bank_account_id"])
        amount = to_decimal(txn["amount"])
        account["balance"] = to_decimal(account["balance"]) - amount
        account["bank_transactions_count"] = max(0, int(account["bank_transactions_count"]) - 1)
        self.save("bank_accounts", account)
        if account["type"] == "Trust" and txn.get("matter"):
            client = txn.get("client")
            self._adjust_trust_balances(
                txn["matter"]["id"], client["id"] if client else None, account, -amount
            )
        self.store.delete("bank_transactions", txn["id"])

    def trust_balance(self, matter_id: int, account_id: int) -> Decimal:
        matter = self.get("matters", matter_id)
        for entry in matter.get("account_balances") or []:
            if entry["id"] == account_id:
                return to_decimal(entry["balance"])
        return ZERO

    def _adjust_trust_balances(
        self, matter_id: int, client_id: int | None, account: Record, amount: Decimal
    ) -> None:
        targets: list[tuple[str, int]] = [("matters", matter_id)]
        if client_id is not None:
            targets.append(("contacts", client_id))
        for resource, rid in targets:
            rec = self.store.get(resource, rid)
            if rec is None:
                continue
            balances = list(rec.get("account_balances") or [])
            for entry in balances:
                if entry["id"] == account["id"]:
                    entry["balance"] = to_decimal(entry["balance"]) + amount
                    break
            else:
                balances.append(
                    {
                        "id": account["id"],
                        "balance": amount,
                        "type": "Trust",
                        "name": account["name"],
                        "currency_id": self.info.currency_id,
                    }
                )
            rec["account_balances"] = balances
            self.save(resource, rec)

    def trust_receipt(
        self,
        *,
        matter_id: int,
        amount: Decimal,
        day: date,
        description: str,
        account_id: int | None = None,
        reference: str | None = None,
    ) -> Record:
        if amount <= 0:
            raise BooksError("amount must be positive")
        matter = self.get("matters", matter_id)
        return self.bank_transaction(
            account_id=account_id or self.info.trust_account_ids[0],
            day=day,
            funds_in=amount,
            funds_out=ZERO,
            transaction_type="Deposit",
            description=description,
            confirmation=reference,
            matter_id=matter_id,
            client_id=matter["client"]["id"],
        )

    def trust_payment(
        self,
        *,
        matter_id: int,
        amount: Decimal,
        day: date,
        description: str,
        account_id: int | None = None,
        reference: str | None = None,
        transaction_type: str = "Withdrawal",
        allow_overdraw: bool = False,
    ) -> Record:
        if amount <= 0:
            raise BooksError("amount must be positive")
        account = account_id or self.info.trust_account_ids[0]
        held = self.trust_balance(matter_id, account)
        if amount > held and not allow_overdraw:
            raise OverdrawError(
                f"Insufficient funds in trust: {held} held for the matter, {amount} requested"
            )
        matter = self.get("matters", matter_id)
        return self.bank_transaction(
            account_id=account,
            day=day,
            funds_in=ZERO,
            funds_out=amount,
            transaction_type=transaction_type,
            description=description,
            confirmation=reference,
            matter_id=matter_id,
            client_id=matter["client"]["id"],
        )

    def trust_transfer(
        self,
        *,
        from_matter_id: int,
        to_matter_id: int,
        amount: Decimal,
        day: date,
        account_id: int | None = None,
        to_account_id: int | None = None,
    ) -> tuple[Record, Record]:
        """Move client money between two matters (and/or two client accounts)."""
        src = account_id or self.info.trust_account_ids[0]
        dst = to_account_id or src
        to_matter = self.get("matters", to_matter_id)
        out = self.trust_payment(
            matter_id=from_matter_id,
            amount=amount,
            day=day,
            account_id=src,
            description=f"Transfer to matter {to_matter['display_number']}",
            transaction_type="Transfer",
        )
        from_matter = self.get("matters", from_matter_id)
        inn = self.bank_transaction(
            account_id=dst,
            day=day,
            funds_in=amount,
            funds_out=ZERO,
            transaction_type="Transfer",
            description=f"Transfer from matter {from_matter['display_number']}",
            matter_id=to_matter_id,
            client_id=to_matter["client"]["id"],
        )
        if src != dst:
            self.create(
                "bank_transfers",
                {
                    "amount": amount,
                    "date": self.now(),
                    "description": "Transfer between client accounts",
                    "primary_authorizer": None,
                    "secondary_authorizer": None,
                    "client": from_matter["client"],
                    "matter": _ref(from_matter_id),
                    "source_account": _ref(src),
                    "destination_account": _ref(dst),
                },
            )
        return out, inn

    # ------------------------------------------------------------------ payments
    def record_payment(
        self,
        *,
        allocations: list[tuple[Record, Decimal]],
        day: date,
        source_account_id: int | None = None,
        reference: str | None = None,
        description: str | None = None,
        allow_overdraw: bool = False,
    ) -> list[Record]:
        """Record one payment applied to one or more bills.

        ``source_account_id`` None: the client paid into the operating account. A trust account:
        the bill is paid from client money (a client-to-office transfer).
        """
        if not allocations:
            raise BooksError("a payment needs at least one bill")
        payment_id = self.store.next_id("payments")
        created: list[Record] = []
        from_trust = source_account_id is not None
        if from_trust:
            src = self.get("bank_accounts", source_account_id or 0)
            if src["type"] != "Trust":
                raise BooksError("payments from a bank account must come from a trust account")
        for bill, amount in allocations:
            if amount <= 0:
                raise BooksError("allocation amount must be positive")
            if bill["state"] != "awaiting_payment":
                raise BooksError(f"bill {bill['number']} is {bill['state']}; it cannot be paid")
            if amount > to_decimal(bill["balance"]):
                raise BooksError(f"payment exceeds the balance of bill {bill['number']}")
            matter_id = bill["matters"][0]["id"]
            client_id = bill["client"]["id"]
            if from_trust and source_account_id is not None:
                held = self.trust_balance(matter_id, source_account_id)
                if amount > held and not allow_overdraw:
                    raise OverdrawError(
                        f"Insufficient funds in trust: {held} held, {amount} requested"
                    )
            alloc = self.create(
                "allocations",
                {
                    "date": day.isoformat(),
                    "amount": amount,
                    "interest": False,
                    "voided_at": None,
                    "description": description,
                    "has_online_payment": False,
                    "destroyable": True,
                    "payment_type": None,
                    "bill": _ref(bill["id"]),
                    "source_bank_account": _ref(source_account_id),
                    "destination_bank_account": _ref(self.info.operating_account_id),
                    "matter": _ref(matter_id),
                    "contact": _ref(client_id),
                    "parent": {"id": payment_id, "type": "Payment"},
                },
            )
            created.append(alloc)
            label = f"Payment of bill {bill['number']}"
            if from_trust and source_account_id is not None:
                self.bank_transaction(
                    account_id=source_account_id,
                    day=day,
                    funds_in=ZERO,
                    funds_out=amount,
                    transaction_type="BillPayment",
                    description=f"{label} from client account",
                    confirmation=reference,
                    matter_id=matter_id,
                    client_id=client_id,
                    bill_id=bill["id"],
                    allocation_id=alloc["id"],
                    source="bill_payment",
                )
                self.create(
                    "bank_transfers",
                    {
                        "amount": amount,
                        "date": self.now(),
                        "description": f"{label} (client to office)",
                        "primary_authorizer": None,
                        "secondary_authorizer": None,
                        "client": _ref(client_id),
                        "matter": _ref(matter_id),
                        "source_account": _ref(source_account_id),
                        "destination_account": _ref(self.info.operating_account_id),
                    },
                )
            self.bank_transaction(
                account_id=self.info.operating_account_id,
                day=day,
                funds_in=amount,
                funds_out=ZERO,
                transaction_type="BillPayment",
                description=label,
                confirmation=reference,
                matter_id=matter_id,
                client_id=client_id,
                bill_id=bill["id"],
                allocation_id=alloc["id"],
                source="bill_payment",
            )
            bill["paid_at"] = self.now()
            self.recompute_bill(bill)
        return created

    def void_allocation(self, alloc: Record, *, remove_bank_transactions: bool = True) -> Record:
        """Void a payment allocation (a payment edited or deleted in Clio)."""
        if alloc["voided_at"]:
            raise BooksError("allocation already voided")
        alloc["voided_at"] = self.now()
        alloc["destroyable"] = False
        self.save("allocations", alloc)
        if remove_bank_transactions:
            for txn in self.store.find("bank_transactions", "$.allocation.id", alloc["id"]):
                self.remove_bank_transaction(txn)
        bill = self.get("bills", alloc["bill"]["id"])
        if bill["state"] == "paid":
            bill["state"] = "awaiting_payment"
        return self.recompute_bill(bill)

    def credit_memo(self, *, bill: Record, amount: Decimal, day: date, description: str) -> Record:
        if bill["state"] != "awaiting_payment":
            raise BooksError("credit can only be applied to an unpaid approved bill")
        if amount <= 0 or amount > to_decimal(bill["balance"]):
            raise BooksError("credit must be positive and at most the bill's balance")
        memo = self.create(
            "credit_memos",
            {
                "date": day.isoformat(),
                "amount": amount,
                "description": description,
                "discount": False,
                "voided_at": None,
                "user": _ref(self.info.owner_user_id),
                "contact": bill["client"],
                "allocations": [],
            },
        )
        alloc = self.create(
            "allocations",
            {
                "date": day.isoformat(),
                "amount": amount,
                "interest": False,
                "voided_at": None,
                "description": description,
                "has_online_payment": False,
                "destroyable": True,
                "payment_type": None,
                "bill": _ref(bill["id"]),
                "source_bank_account": None,
                "destination_bank_account": None,
                "matter": bill["matters"][0],
                "contact": bill["client"],
                "parent": {"id": memo["id"], "type": "CreditMemo"},
            },
        )
        memo["allocations"] = [{"id": alloc["id"]}]
        self.save("credit_memos", memo)
        self.recompute_bill(bill)
        return memo

    # ------------------------------------------------------------------ trust requests
    def trust_request(
        self,
        *,
        matter_id: int,
        amount: Decimal,
        issue_date: date,
        due_date: date,
        note: str | None = None,
        approved: bool = True,
    ) -> Record:
        """POST /trust_requests: a bill of kind ``trust_kind`` with trust line items."""
        matter = self.get("matters", matter_id)
        bill_id = self.store.next_id("bills")
        bill = self.create(
            "bills",
            {
                "number": self._next_bill_number(),
                "issued_at": issue_date.isoformat(),
                "due_at": due_date.isoformat(),
                "tax_rate": ZERO,
                "secondary_tax_rate": ZERO,
                "subject": "Request for funds on account",
                "purchase_order": None,
                "type": "MatterBill",
                "memo": note,
                "start_at": issue_date.isoformat(),
                "end_at": issue_date.isoformat(),
                "state": "awaiting_payment" if approved else "draft",
                "kind": "trust_kind",
                "paid": ZERO,
                "paid_at": None,
                "pending": ZERO,
                "discount_services_only": "false",
                "credits_issued": ZERO,
                "shared": False,
                "last_sent_at": None,
                "secondary_tax_sum": ZERO,
                "services_secondary_tax": ZERO,
                "services_secondary_taxable_sub_total": 0,
                "secondary_taxable_sub_total": 0,
                "user": _ref(self.info.owner_user_id),
                "client": matter["client"],
                "discount": {
                    "rate": ZERO,
                    "type": "percentage",
                    "note": None,
                    "early_payment_rate": 0,
                    "early_payment_period": 0,
                },
                "interest": {
                    "balance": ZERO,
                    "period": 30,
                    "rate": ZERO,
                    "total": ZERO,
                    "type": "simple",
                },
                "matters": [{"id": matter_id}],
                "group": None,
                "bill_theme": None,
                "original_bill": None,
                "destination_account": _ref(self.info.trust_account_ids[0]),
                "currency": self.info.currency_ref(),
                "billing_setting": None,
                "client_addresses": [],
            },
            record_id=bill_id,
        )
        self.create(
            "trust_line_items",
            {
                "date": issue_date.isoformat(),
                "total": amount,
                "note": note or "Funds on account",
                "bill": _ref(bill_id),
                "matter": _ref(matter_id),
                "client": matter["client"],
            },
        )
        return self.recompute_bill(bill)

    def pay_trust_request(
        self, *, bill: Record, amount: Decimal, day: date, reference: str | None = None
    ) -> Record:
        """The client pays a trust request: money lands in the trust account."""
        if bill.get("kind") != "trust_kind":
            raise BooksError("not a trust request")
        if bill["state"] != "awaiting_payment" or amount > to_decimal(bill["balance"]):
            raise BooksError("trust request is not open for that amount")
        account_id = bill["destination_account"]["id"]
        matter_id = bill["matters"][0]["id"]
        payment_id = self.store.next_id("payments")
        alloc = self.create(
            "allocations",
            {
                "date": day.isoformat(),
                "amount": amount,
                "interest": False,
                "voided_at": None,
                "description": None,
                "has_online_payment": False,
                "destroyable": True,
                "payment_type": None,
                "bill": _ref(bill["id"]),
                "source_bank_account": None,
                "destination_bank_account": _ref(account_id),
                "matter": _ref(matter_id),
                "contact": bill["client"],
                "parent": {"id": payment_id, "type": "Payment"},
            },
        )
        self.bank_transaction(
            account_id=account_id,
            day=day,
            funds_in=amount,
            funds_out=ZERO,
            transaction_type="Deposit",
            description=f"Payment of trust request {bill['number']}",
            confirmation=reference,
            matter_id=matter_id,
            client_id=bill["client"]["id"],
            bill_id=bill["id"],
            allocation_id=alloc["id"],
            source="trust_request",
        )
        bill["paid_at"] = self.now()
        return self.recompute_bill(bill)


def q4(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001")).normalize() if value else ZERO


def _discount_amount(discount: dict[str, Any] | None, base: Decimal) -> Decimal:
    if not discount:
        return ZERO
    rate = to_decimal(discount.get("rate"))
    if not rate:
        return ZERO
    if discount.get("type") == "money":
        return min(q2(rate), base)
    return min(q2(base * rate / HUNDRED), base)


def _transitions(state: str, has_allocations: bool) -> list[str]:
    if state == "draft":
        return ["awaiting_approval", "awaiting_payment", "deleted"]
    if state == "awaiting_approval":
        return ["awaiting_payment", "deleted"]
    if state == "awaiting_payment":
        return [] if has_allocations else ["void"]
    return []
