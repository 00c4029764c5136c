"""Exactly which Clio fields the connector asks for, per resource, in one place.

Clio returns only ``id`` and ``etag`` unless ``fields=`` names more, allows one level of nesting
(``matter{id,display_number}``) and answers ``400 InvalidFields`` to an unknown name. The
normalisers read nothing that is not listed here; ``updated_at`` is listed everywhere because the
sync's high-water mark is built from it. Names follow clio-api-v4-digest.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Nested:
    """A related record and the fields wanted from it (one level deep, as Clio allows)."""

    name: str
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in (self.name, *self.fields):
            _check_name(name)
        if not self.fields:
            raise ValueError(f"{self.name}{{}} names no fields")


FieldSpec = tuple[str | Nested, ...]


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a Clio field name")


def render_fields(spec: FieldSpec) -> str:
    """The ``fields=`` query value, e.g. ``id,etag,matter{id,display_number}``."""
    seen: set[str] = set()
    parts = []
    for item in spec:
        name = item.name if isinstance(item, Nested) else item
        _check_name(name)
        if name in seen:
            raise ValueError(f"field {name} named twice")
        seen.add(name)
        parts.append(
            f"{item.name}{{{','.join(item.fields)}}}" if isinstance(item, Nested) else item
        )
    return ",".join(parts)


def top_level_names(spec: FieldSpec) -> tuple[str, ...]:
    return tuple(item.name if isinstance(item, Nested) else item for item in spec)


# Fields that say when or in which revision, not what: left out of content hashes.
BOOKKEEPING_FIELDS = frozenset({"etag", "updated_at", "created_at"})

_MATTER_REF = Nested("matter", ("id", "display_number"))
_CURRENCY_REF = Nested("currency", ("id", "code"))
_BANK_ACCOUNT_REF = ("id", "name", "type", "currency")

PRACTICE_AREA_FIELDS: FieldSpec = ("id", "etag", "name", "code", "updated_at")

CONTACT_FIELDS: FieldSpec = (
    "id",
    "etag",
    "type",
    "name",
    "first_name",
    "last_name",
    "is_client",
    "primary_email_address",
    "sales_tax_number",
    "updated_at",
)

MATTER_FIELDS: FieldSpec = (
    "id",
    "etag",
    "display_number",
    "description",
    "status",
    "open_date",
    "close_date",
    Nested("client", ("id", "name")),
    Nested("practice_area", ("id", "name")),
    Nested("responsible_attorney", ("id", "name")),
    "updated_at",
)

BANK_ACCOUNT_FIELDS: FieldSpec = (
    "id",
    "etag",
    "name",
    "type",
    "currency",
    "account_number",
    "updated_at",
)

ACTIVITY_FIELDS: FieldSpec = (
    "id",
    "etag",
    "type",
    "date",
    "total",
    "billed",
    "non_billable",
    "no_charge",
    "note",
    "reference",
    "tax_setting",
    "quantity_redacted",
    _MATTER_REF,
    Nested("user", ("id", "name")),
    Nested("vendor", ("id", "name")),
    Nested("expense_category", ("id", "name", "entry_type")),
    _CURRENCY_REF,
    "updated_at",
)

BILL_FIELDS: FieldSpec = (
    "id",
    "etag",
    "number",
    "state",
    "kind",
    "issued_at",
    "due_at",
    "tax_rate",
    "secondary_tax_rate",
    "total_tax",
    "total",
    Nested("discount", ("rate", "type")),
    "discount_services_only",
    Nested("interest", ("total",)),
    _CURRENCY_REF,
    Nested("client", ("id", "name")),
    Nested("matters", ("id", "display_number")),
    "updated_at",
)

LINE_ITEM_FIELDS: FieldSpec = (
    "id",
    "etag",
    "type",
    "kind",
    "description",
    "sub_total",
    Nested("discount", ("rate", "type")),
    "taxable",
    "secondary_taxable",
    "tax",
    "secondary_tax",
    "total",
    Nested("activity", ("id", "type")),
    "updated_at",
)

ALLOCATION_FIELDS: FieldSpec = (
    "id",
    "etag",
    "date",
    "amount",
    "interest",
    "voided_at",
    Nested("bill", ("id", "number")),
    _MATTER_REF,
    Nested("contact", ("id", "name")),
    Nested("source_bank_account", _BANK_ACCOUNT_REF),
    Nested("destination_bank_account", _BANK_ACCOUNT_REF),
    Nested("parent", ("id", "type")),
    "updated_at",
)

BANK_TRANSACTION_FIELDS: FieldSpec = (
    "id",
    "etag",
    "transaction_type",
    "date",
    "amount",
    "funds_in",
    "funds_out",
    "currency",
    "description",
    "confirmation",
    Nested("bank_account", _BANK_ACCOUNT_REF),
    Nested("client", ("id", "name")),
    _MATTER_REF,
    Nested("bill", ("id",)),
    Nested("allocation", ("id",)),
    "updated_at",
)

CREDIT_MEMO_FIELDS: FieldSpec = (
    "id",
    "etag",
    "date",
    "amount",
    "description",
    "voided_at",
    Nested("contact", ("id", "name", "currency")),
    Nested("allocations", ("id", "matter")),
    "updated_at",
)


@dataclass(frozen=True)
class ClioResource:
    """A Clio index endpoint the sync reads, and what the connector asks of it."""

    path: str  # under /api/v4, e.g. "bills"
    object_type: str  # Clio's name for one record, e.g. "Bill" (ClioSource.object_type)
    fields: FieldSpec
    webhook_model: str | None  # None: Clio sends no webhooks, so it is polled

    @property
    def fields_param(self) -> str:
        return render_fields(self.fields)


PRACTICE_AREAS = ClioResource("practice_areas", "PracticeArea", PRACTICE_AREA_FIELDS, None)
CONTACTS = ClioResource("contacts", "Contact", CONTACT_FIELDS, "contact")
MATTERS = ClioResource("matters", "Matter", MATTER_FIELDS, "matter")
BANK_ACCOUNTS = ClioResource("bank_accounts", "BankAccount", BANK_ACCOUNT_FIELDS, None)
ACTIVITIES = ClioResource("activities", "Activity", ACTIVITY_FIELDS, "activity")
BILLS = ClioResource("bills", "Bill", BILL_FIELDS, "bill")
LINE_ITEMS = ClioResource("line_items", "LineItem", LINE_ITEM_FIELDS, None)  # read per bill_id
ALLOCATIONS = ClioResource("allocations", "Allocation", ALLOCATION_FIELDS, None)
BANK_TRANSACTIONS = ClioResource(
    "bank_transactions", "BankTransaction", BANK_TRANSACTION_FIELDS, None
)
CREDIT_MEMOS = ClioResource("credit_memos", "CreditMemo", CREDIT_MEMO_FIELDS, None)

# In the order a sync reads them: whatever a record refers to arrives before it does
# (a matter before its bills, activities before the bills that carry them).
SYNC_ORDER: tuple[ClioResource, ...] = (
    PRACTICE_AREAS,
    CONTACTS,
    MATTERS,
    BANK_ACCOUNTS,
    ACTIVITIES,
    BILLS,
    ALLOCATIONS,
    BANK_TRANSACTIONS,
    CREDIT_MEMOS,
)
