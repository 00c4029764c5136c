"""Clio records in, events in the cashier's words out, with the firm's sync settings applied.

Each ``normalise_*`` function takes one record as Clio returns it (with the fields in
``fields.py``, parsed by ``loads_exact``), the settings, the firm and what was last published for
the record, and returns one ``Outcome``: an event to publish, ``Unchanged``, ``Skipped`` (why) or
``Flagged`` (why). It never raises on bad data and never reads a clock, a database or the network.

How a record's money is read: Clio's numbers are major units; each becomes ``Money`` exactly, and
one with more decimals than its currency has is flagged, never rounded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cashroom_contracts.envelope import deterministic_event_id
from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    BillApproved,
    BillChanged,
    BillContent,
    BilledDisbursementLine,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientKind,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClientPaymentPurpose,
    ClientUpserted,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    FeeLine,
    MatterStatus,
    MatterUpserted,
    PracticeAreaUpserted,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
    RecoverableExpenseLine,
    WorkKind,
    WorkRecorded,
)
from cashroom_contracts.events.common import AccountKind, ClioSource, VatAmount, VatTreatment
from cashroom_contracts.money import Money
from clio_connector.domain import fields
from clio_connector.domain.allocation import allocate_proportionally
from clio_connector.domain.fields import ClioResource
from clio_connector.domain.outcomes import (
    Change,
    Flagged,
    FlagReason,
    Outcome,
    Publish,
    Published,
    RecordRef,
    Skipped,
    SkipReason,
    Unchanged,
)
from clio_connector.domain.records import (
    JsonObject,
    RecordProblem,
    canonical_and_hash,
    canonical_json,
    choice,
    content_hash,
    currency_code,
    get_list,
    get_object,
    money_of,
    nested_id,
    optional_bool,
    optional_date,
    optional_decimal,
    optional_int,
    optional_str,
    problem,
    project,
    require_bool,
    require_date,
    require_int,
    require_money,
    require_str,
    sha256_hex,
    timestamp_date,
)
from clio_connector.domain.settings import (
    DisbursementTreatment,
    DisbursementVat,
    KnownBankAccount,
    RecordImport,
    SyncSettings,
)

# A supplier invoice or disbursement must name its supplier; Clio's hard cost may have no vendor.
NO_VENDOR = "Supplier not named in Clio"

_APPROVED_STATES = ("awaiting_payment", "paid")
_BILL_STATES = ("draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted")
_BILL_KINDS = (
    "revenue_kind",
    "summary_kind",
    "trust_kind",
    "aggregate_all",
    "aggregate_split",
    "aggregate_services",
    "aggregate_expenses",
)
_ACTIVITY_TYPES = ("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry")
_TAX_SETTINGS = ("no_tax", "tax_1_only", "tax_2_only", "tax_1_and_tax_2")
_BANK_ACCOUNT_TYPES = ("Operating", "Trust")
_BILL_FAMILY = {BillChanged.event_type: BillApproved.event_type}


# --- Shared machinery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """One record being normalised: where it came from and what was published for it before."""

    ref: RecordRef
    record: JsonObject
    firm_id: str
    previous: Published | None

    @property
    def record_id(self) -> int:
        assert self.ref.object_id is not None  # _guarded refuses records without an id
        return self.ref.object_id

    @property
    def source(self) -> ClioSource:
        return ClioSource(
            object_type=self.ref.object_type, object_id=self.record_id, version=self.ref.version
        )

    def skip(self, reason: SkipReason, detail: str) -> Skipped:
        return Skipped(self.ref, reason, detail)

    def flag(self, reason: FlagReason, detail: str, held: Publish | None = None) -> Flagged:
        return Flagged(self.ref, reason, detail, held)


def facts_hash(payload: ClioEvent) -> str:
    """What an event says, minus where it came from: equal facts mean nothing new to publish.
    An approved bill and its later change event share a family, so only content counts."""
    return _facts_hash_of(payload, payload.model_dump(mode="json"))


_NOT_FACTS = frozenset({"source", "previous_version"})


def _facts_hash_of(payload: ClioEvent, dumped: Mapping[str, object]) -> str:
    """``facts_hash(payload)`` from ``payload.model_dump(mode="json")`` made already."""
    facts = {name: value for name, value in dumped.items() if name not in _NOT_FACTS}
    family = _BILL_FAMILY.get(payload.event_type, payload.event_type)
    return sha256_hex(canonical_json({"family": family, "facts": facts}))


def _publish(ctx: _Context, payload: ClioEvent) -> Publish | Unchanged:
    dumped = payload.model_dump(mode="json")  # once: the facts hash, then the snapshot
    facts = _facts_hash_of(payload, dumped)
    if ctx.previous is not None and ctx.previous.facts_hash == facts:
        return Unchanged(ctx.ref, facts)
    event_id = deterministic_event_id(
        ctx.firm_id, payload.event_type, ctx.ref.object_type, ctx.record_id, ctx.ref.version
    )
    change = Change.IMPORTED if ctx.previous is None else Change.UPDATED
    return Publish(ctx.ref, payload, event_id, ctx.firm_id, facts, change, dumped)


def _hold(ctx: _Context, payload: ClioEvent, reason: FlagReason, detail: str) -> Outcome:
    """Flag the record and keep the event it would publish for the cashier's decision."""
    held = _publish(ctx, payload)
    if isinstance(held, Unchanged):
        return held
    return ctx.flag(reason, detail, held)


def _bill_hashed(bill: object, items: Sequence[object] | None) -> object:
    """What a bill's content hash covers: the bill's fields and its lines, in a stable order."""
    lines_hashed = sorted(
        (
            project(item, fields.LINE_ITEMS.fields) if isinstance(item, Mapping) else item
            for item in items or ()
        ),
        key=_sort_key,
    )
    bill_hashed = project(bill, fields.BILLS.fields) if isinstance(bill, Mapping) else bill
    return {"bill": bill_hashed, "line_items": lines_hashed}


def _bill_digest(bill: object, items: Sequence[object] | None) -> str:
    """``_digest(_bill_hashed(bill, items))``, each line's canonical JSON made once (it is the
    sort key too): the canonical JSON of ``{"bill": b, "line_items": [l, ...]}`` is those of
    ``b`` and of each ``l`` put together, keys in order."""
    try:
        if not isinstance(bill, Mapping):
            raise TypeError("not a record")
        lines = []
        for item in items or ():
            if not isinstance(item, Mapping):
                raise TypeError("not a record")
            lines.append(canonical_json(project(item, fields.LINE_ITEMS.fields)))
        lines.sort()
        bill_text = canonical_json(project(bill, fields.BILLS.fields))
    except (TypeError, ValueError):
        return _digest(_bill_hashed(bill, items))
    return sha256_hex(f'{{"bill":{bill_text},"line_items":[{",".join(lines)}]}}')


def record_content_hash(
    resource: ClioResource, record: object, line_items: Sequence[object] | None = None
) -> str:
    """The content hash a normaliser gives the record (``RecordRef.content_hash``): the fields
    read, without bookkeeping ones; a bill's with its line items. Equal hashes, equal content."""
    if resource is fields.BILLS:
        return _bill_digest(record, line_items)
    hashed = project(record, resource.fields) if isinstance(record, Mapping) else record
    return _digest(hashed)


def _digest(hashed: object) -> str:
    try:
        return content_hash(hashed)
    except (TypeError, ValueError):
        return sha256_hex(repr(hashed))


def _record_ref(
    resource: ClioResource, record: object, digest: str, raw: str | None = None
) -> RecordRef:
    object_id: int | None = None
    etag: str | None = None
    if isinstance(record, Mapping):
        raw_id = record.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            object_id = raw_id
        raw_etag = record.get("etag")
        if isinstance(raw_etag, str) and raw_etag:
            etag = raw_etag
    return RecordRef(resource.object_type, object_id, etag or digest, digest, raw)


def _guarded(
    resource: ClioResource,
    record: object,
    *,
    firm_id: str,
    previous: Published | None,
    build: Callable[[_Context], Outcome],
    digest: str | None = None,
) -> Outcome:
    """Run ``build`` on a record, turning every problem with the data into a flagged outcome."""
    raw: str | None = None
    if digest is None:
        both = canonical_and_hash(record, resource.fields) if isinstance(record, Mapping) else None
        if both is not None:
            raw, digest = both
        else:
            hashed = project(record, resource.fields) if isinstance(record, Mapping) else record
            digest = _digest(hashed)
    ref = _record_ref(resource, record, digest, raw)
    if not isinstance(record, Mapping):
        return Flagged(
            ref, FlagReason.MALFORMED_RECORD, f"expected a JSON object, got {type(record).__name__}"
        )
    if ref.object_id is None:
        return Flagged(ref, FlagReason.MALFORMED_RECORD, "the record has no whole-number id")
    ctx = _Context(ref, record, firm_id, previous)
    try:
        return build(ctx)
    except RecordProblem as issue:
        return ctx.flag(issue.reason, issue.detail)
    except (ValueError, TypeError, KeyError, ArithmeticError) as error:  # pydantic errors too
        return ctx.flag(FlagReason.MALFORMED_RECORD, f"{type(error).__name__}: {error}")


def _import_mode(ctx: _Context, mode: RecordImport, what: str) -> Skipped | None:
    if mode is RecordImport.DO_NOT_IMPORT:
        return ctx.skip(SkipReason.IMPORT_TURNED_OFF, f"{what} are not imported (sync settings)")
    return None


def _upsert(ctx: _Context, mode: RecordImport, payload: ClioEvent, what: str) -> Outcome:
    outcome = _publish(ctx, payload)
    if (
        isinstance(outcome, Publish)
        and outcome.change is Change.UPDATED
        and mode is RecordImport.IMPORT_ONLY
    ):
        return ctx.skip(
            SkipReason.UPDATES_TURNED_OFF,
            f"{what} changed in Clio; the sync settings import {what} but do not update them",
        )
    return outcome


def _name(record: JsonObject, key: str) -> str | None:
    nested = get_object(record, key)
    return None if nested is None else optional_str(nested, "name")


def _before_cut_off(ctx: _Context, settings: SyncSettings, day: date, what: str) -> Skipped | None:
    if ctx.previous is None and settings.is_before_cut_off(day):
        cut_off = settings.import_transactions_from
        assert cut_off is not None
        return ctx.skip(
            SkipReason.DATED_BEFORE_CUT_OFF,
            f"{what} dated {day.isoformat()}; only transactions dated on or after "
            f"{cut_off.isoformat()} are imported",
        )
    return None


# --- Who and what: practice areas, clients, matters, bank accounts --------------------------------


def normalise_practice_area(
    record: object, settings: SyncSettings, *, firm_id: str, previous: Published | None = None
) -> Outcome:
    """A Clio practice area → PracticeAreaUpserted (the firm's matter types)."""

    def build(ctx: _Context) -> Outcome:
        if skipped := _import_mode(ctx, settings.practice_areas, "practice areas"):
            return skipped
        payload = PracticeAreaUpserted(
            source=ctx.source,
            practice_area_id=ctx.record_id,
            name=require_str(ctx.record, "name"),
            code=optional_str(ctx.record, "code"),
        )
        return _upsert(ctx, settings.practice_areas, payload, "practice areas")

    return _guarded(fields.PRACTICE_AREAS, record, firm_id=firm_id, previous=previous, build=build)


def normalise_contact(
    record: object, settings: SyncSettings, *, firm_id: str, previous: Published | None = None
) -> Outcome:
    """A Clio contact that is a client → ClientUpserted; any other contact is skipped."""

    def build(ctx: _Context) -> Outcome:
        if skipped := _import_mode(ctx, settings.contacts, "clients"):
            return skipped
        if not require_bool(ctx.record, "is_client"):
            return ctx.skip(SkipReason.NOT_A_CLIENT, "the contact is not a client in Clio")
        kind = choice(ctx.record, "type", ("Person", "Company"))
        name = optional_str(ctx.record, "name") or " ".join(
            part
            for part in (
                optional_str(ctx.record, "first_name"),
                optional_str(ctx.record, "last_name"),
            )
            if part
        )
        if not name:
            problem(FlagReason.MISSING_FIELD, "the client has no name in Clio")
        payload = ClientUpserted(
            source=ctx.source,
            client_id=ctx.record_id,
            name=name,
            kind=ClientKind.PERSON if kind == "Person" else ClientKind.COMPANY,
            email=optional_str(ctx.record, "primary_email_address"),
            vat_number=optional_str(ctx.record, "sales_tax_number"),
        )
        return _upsert(ctx, settings.contacts, payload, "clients")

    return _guarded(fields.CONTACTS, record, firm_id=firm_id, previous=previous, build=build)


def normalise_matter(
    record: object, settings: SyncSettings, *, firm_id: str, previous: Published | None = None
) -> Outcome:
    """A Clio matter → MatterUpserted, with the default matter type when it has no practice area."""

    def build(ctx: _Context) -> Outcome:
        if skipped := _import_mode(ctx, settings.matters, "matters"):
            return skipped
        client_id = nested_id(ctx.record, "client")
        if client_id is None:
            problem(FlagReason.MISSING_CLIENT, "the matter has no client in Clio")
        status = require_str(ctx.record, "status")
        try:
            matter_status = MatterStatus(status.lower())
        except ValueError:
            problem(FlagReason.UNKNOWN_VALUE, f"status {status!r} is not Pending, Open or Closed")
        payload = MatterUpserted(
            source=ctx.source,
            matter_id=ctx.record_id,
            client_id=client_id,
            reference=require_str(ctx.record, "display_number"),
            description=optional_str(ctx.record, "description") or "",
            status=matter_status,
            matter_type=_name(ctx.record, "practice_area") or settings.default_matter_type,
            opened_on=optional_date(ctx.record, "open_date"),
            closed_on=optional_date(ctx.record, "close_date"),
            responsible_fee_earner=_name(ctx.record, "responsible_attorney"),
        )
        return _upsert(ctx, settings.matters, payload, "matters")

    return _guarded(fields.MATTERS, record, firm_id=firm_id, previous=previous, build=build)


def _account_kind(value: str) -> AccountKind:
    return AccountKind.CLIENT if value == "Trust" else AccountKind.OFFICE


def normalise_bank_account(
    record: object, settings: SyncSettings, *, firm_id: str, previous: Published | None = None
) -> Outcome:
    """A Clio bank account → BankAccountUpserted: Operating is office, Trust is client money."""

    def build(ctx: _Context) -> Outcome:
        kind = _account_kind(choice(ctx.record, "type", _BANK_ACCOUNT_TYPES))
        digits = "".join(c for c in optional_str(ctx.record, "account_number") or "" if c.isdigit())
        payload = BankAccountUpserted(
            source=ctx.source,
            bank_account_id=ctx.record_id,
            name=require_str(ctx.record, "name"),
            kind=kind,
            currency=currency_code(ctx.record.get("currency"), "the bank account"),
            is_default_client_account=ctx.record_id == settings.default_client_account_id,
            account_number_last4=digits[-4:] if len(digits) >= 4 else None,
        )
        return _publish(ctx, payload)

    return _guarded(fields.BANK_ACCOUNTS, record, firm_id=firm_id, previous=previous, build=build)


# --- Activities: time, recoverable expenses, disbursements ---------------------------------------


def classify_activity(record: JsonObject) -> WorkKind:
    """What a Clio activity is in the cashier's words.

    A hard cost is a disbursement and a soft cost a recoverable expense. A generic expense entry
    (Clio with disbursement tracking off) follows its expense category's entry type; with no
    category type it is a disbursement when a vendor was paid, else a recoverable expense.
    Raises ``RecordProblem`` for an unknown activity type.
    """
    activity_type = choice(record, "type", _ACTIVITY_TYPES)
    if activity_type == "TimeEntry":
        return WorkKind.TIME
    if activity_type == "HardCostEntry":
        return WorkKind.DISBURSEMENT
    if activity_type == "SoftCostEntry":
        return WorkKind.RECOVERABLE_EXPENSE
    category = get_object(record, "expense_category")
    entry_type = None if category is None else optional_str(category, "entry_type")
    if entry_type == "hard_cost":
        return WorkKind.DISBURSEMENT
    if entry_type == "soft_cost":
        return WorkKind.RECOVERABLE_EXPENSE
    has_vendor = nested_id(record, "vendor") is not None
    return WorkKind.DISBURSEMENT if has_vendor else WorkKind.RECOVERABLE_EXPENSE


def normalise_activity(
    record: object,
    settings: SyncSettings,
    *,
    firm_id: str,
    previous: Published | None = None,
    bank_accounts: Mapping[int, KnownBankAccount] | None = None,
) -> Outcome:
    """A Clio activity → WorkRecorded (time, recoverable expense: work in progress), or for a
    disbursement DisbursementPaid (paid from a bank account) or PurchaseInvoiceRecorded (a linked
    outlay), per the settings for disbursements with and without a vendor.

    Clio does not say which account paid a hard cost: it is the settings' disbursement account,
    else the firm's only office account among ``bank_accounts`` (the accounts synced so far).
    """
    known = bank_accounts or {}

    def build(ctx: _Context) -> Outcome:
        kind = classify_activity(ctx.record)
        day = require_date(ctx.record, "date")
        if skipped := _before_cut_off(ctx, settings, day, "entry"):
            return skipped
        matter_id = nested_id(ctx.record, "matter")
        if matter_id is None:
            problem(FlagReason.MISSING_MATTER, "the entry is not on a matter in Clio")
        currency = currency_code(ctx.record.get("currency"), "the entry")
        if optional_bool(ctx.record, "quantity_redacted"):
            problem(
                FlagReason.REDACTED,
                "Clio hid this entry's hours and value from the authorising user; "
                "link Clio with a billing or admin user",
            )
        description = optional_str(ctx.record, "note") or _name(ctx.record, "expense_category")
        if kind is WorkKind.DISBURSEMENT:
            return _disbursement(ctx, settings, known, matter_id, day, currency, description)
        payload = WorkRecorded(
            source=ctx.source,
            activity_id=ctx.record_id,
            matter_id=matter_id,
            kind=kind,
            recorded_on=day,
            description=description or "",
            value=require_money(ctx.record, "total", currency),
            billed=bool(optional_bool(ctx.record, "billed")),
            fee_earner=_name(ctx.record, "user"),
        )
        return _publish(ctx, payload)

    return _guarded(fields.ACTIVITIES, record, firm_id=firm_id, previous=previous, build=build)


def _disbursement_account(
    settings: SyncSettings, known: Mapping[int, KnownBankAccount]
) -> int | None:
    if settings.disbursement_bank_account_id is not None:
        return settings.disbursement_bank_account_id
    office = [a.bank_account_id for a in known.values() if a.kind is AccountKind.OFFICE]
    return office[0] if len(office) == 1 else None


def _disbursement(
    ctx: _Context,
    settings: SyncSettings,
    known: Mapping[int, KnownBankAccount],
    matter_id: int,
    day: date,
    currency: str,
    description: str | None,
) -> Outcome:
    record = ctx.record
    if optional_bool(record, "non_billable") or optional_bool(record, "no_charge"):
        problem(
            FlagReason.DISBURSEMENT_NOT_BILLABLE,
            "a disbursement marked non-billable or no-charge in Clio will not be recovered from "
            "the client: decide whether it is a firm expense",
        )
    net = require_money(record, "total", currency)
    if not net.is_positive():
        problem(FlagReason.NON_POSITIVE_AMOUNT, f"the disbursement's total is {net}")
    vendor = _name(record, "vendor") if nested_id(record, "vendor") is not None else None
    treatment = (
        settings.disbursements_with_vendor if vendor else settings.disbursements_without_vendor
    )
    tax_setting = optional_str(record, "tax_setting")
    if tax_setting is not None and tax_setting not in _TAX_SETTINGS:
        problem(FlagReason.UNKNOWN_VALUE, f"tax_setting {tax_setting!r} is not a Clio tax setting")
    # "Let me review" holds every disbursement Clio does not mark as untaxed (a tax setting, or
    # none at all); "outside scope" holds only those Clio taxes, which contradict the setting.
    if settings.vat_on_disbursements is DisbursementVat.LET_ME_REVIEW:
        hold = tax_setting != "no_tax"
    else:
        hold = tax_setting not in (None, "no_tax")
    vat_treatment = VatTreatment.UNDER_REVIEW if hold else VatTreatment.OUTSIDE_SCOPE
    vat = VatAmount(rate_basis_points=0, amount=Money.zero(currency))
    text = description or "Disbursement"
    payload: ClioEvent
    if treatment is DisbursementTreatment.PAID_FROM_BANK_ACCOUNT:
        bank_account_id = _disbursement_account(settings, known)
        if bank_account_id is None:
            problem(
                FlagReason.MISSING_BANK_ACCOUNT,
                "choose the office account that pays disbursements in the sync settings",
            )
        payload = DisbursementPaid(
            source=ctx.source,
            activity_id=ctx.record_id,
            matter_id=matter_id,
            paid_on=day,
            description=text,
            vendor=vendor or NO_VENDOR,
            net=net,
            vat_treatment=vat_treatment,
            vat=vat,
            bank_account_id=bank_account_id,
        )
    else:
        payload = PurchaseInvoiceRecorded(
            source=ctx.source,
            invoice_id=ctx.record_id,
            matter_id=matter_id,
            supplier=vendor or None,
            invoiced_on=day,
            description=text,
            net=net,
            vat_treatment=vat_treatment,
            vat=vat,
        )
    if not hold:
        return _publish(ctx, payload)
    if settings.vat_on_disbursements is DisbursementVat.LET_ME_REVIEW:
        return _hold(
            ctx,
            payload,
            FlagReason.DISBURSEMENT_VAT_REVIEW,
            f"Clio's tax setting for this disbursement is {tax_setting or 'missing'} and VAT on "
            "disbursements is set to 'let me review': choose the VAT treatment",
        )
    return _hold(
        ctx,
        payload,
        FlagReason.VAT_SETTING_CONFLICT,
        f"Clio charges tax on this disbursement ({tax_setting}) but the sync settings treat "
        "disbursements as outside the scope of VAT: choose the VAT treatment",
    )


# --- Bills -----------------------------------------------------------------------------------------


def normalise_bill(
    bill: object,
    line_items: Sequence[object],
    settings: SyncSettings,
    *,
    firm_id: str,
    previous: Published | None = None,
    expense_kinds: Mapping[int, WorkKind] | None = None,
    held_activity_ids: Collection[int] = (),
) -> Outcome:
    """A Clio bill and its line items → BillApproved, BillChanged or BillVoided.

    Approved bills only (awaiting payment or paid); a draft or awaiting-approval bill is skipped.
    ``previous`` is what was last published for the bill: with it an edit becomes BillChanged and
    a void BillVoided. ``expense_kinds`` says, per Clio activity id, whether a generic expense
    entry on the bill is a disbursement or a recoverable expense (``classify_activity``).
    A bill that carries a disbursement still held for a VAT decision (``held_activity_ids``) is
    held with it.
    """
    kinds = expense_kinds or {}
    items: Sequence[object] | None = (
        line_items
        if isinstance(line_items, Sequence) and not isinstance(line_items, str | bytes)
        else None
    )
    digest = _bill_digest(bill, items)

    def build(ctx: _Context) -> Outcome:
        record = ctx.record
        kind = choice(record, "kind", _BILL_KINDS)
        state = choice(record, "state", _BILL_STATES)
        if kind == "trust_kind":
            return ctx.skip(
                SkipReason.TRUST_REQUEST,
                "a trust request asks for money on account; the money arrives as a client receipt",
            )
        if not settings.import_bills:
            return ctx.skip(SkipReason.IMPORT_TURNED_OFF, "bills are not imported (sync settings)")
        posted = ctx.previous is not None and ctx.previous.event_type != BillVoided.event_type
        voided = ctx.previous is not None and ctx.previous.event_type == BillVoided.event_type
        if state in ("draft", "awaiting_approval"):
            if posted:
                return ctx.flag(
                    FlagReason.BILL_UNAPPROVED_AFTER_POSTING,
                    f"the bill was approved and posted, and is now {state.replace('_', ' ')} "
                    "in Clio: decide whether to reverse it",
                )
            return ctx.skip(
                SkipReason.BILL_NOT_APPROVED,
                f"the bill is {state.replace('_', ' ')}; only approved bills are imported",
            )
        if state in ("void", "deleted"):
            if posted or voided:
                return _bill_voided(ctx, state)
            if state == "deleted":
                return ctx.skip(
                    SkipReason.BILL_DELETED_BEFORE_APPROVAL, "the bill was deleted before approval"
                )
            return ctx.skip(
                SkipReason.BILL_VOIDED_BEFORE_IMPORT,
                "the bill was voided before it was imported; nothing was posted to reverse",
            )
        if voided:
            return ctx.flag(
                FlagReason.BILL_REVIVED_AFTER_VOID,
                f"the bill was voided and reversed, and is now {state.replace('_', ' ')} in Clio",
            )
        issued_on = require_date(record, "issued_at")
        if skipped := _before_cut_off(ctx, settings, issued_on, "bill"):
            return skipped
        if items is None:
            problem(FlagReason.MALFORMED_RECORD, "the bill's line items are not a list")
        content = _bill_content(ctx, items, settings, kinds)
        payload: ClioEvent
        if ctx.previous is None:
            payload = BillApproved(source=ctx.source, bill=content)
        else:
            payload = BillChanged(
                source=ctx.source, bill=content, previous_version=ctx.previous.version
            )
        on_bill = {line.activity_id for line in content.disbursements if line.activity_id}
        waiting = sorted(on_bill & set(held_activity_ids))
        if waiting:
            return _hold(
                ctx,
                payload,
                FlagReason.HELD_WITH_DISBURSEMENT_UNDER_REVIEW,
                f"the bill carries disbursement {', '.join(map(str, waiting))} whose VAT "
                "treatment is still to be decided",
            )
        return _publish(ctx, payload)

    return _guarded(
        fields.BILLS, bill, firm_id=firm_id, previous=previous, build=build, digest=digest
    )


def _sort_key(value: object) -> str:
    try:
        return canonical_json(value)
    except (TypeError, ValueError):
        return repr(value)


def _single_matter(record: JsonObject) -> int:
    matters = get_list(record, "matters")
    ids = []
    for matter in matters:
        if not isinstance(matter, Mapping):
            problem(FlagReason.MALFORMED_RECORD, "matters should be a list of objects")
        matter_id = nested_id({"matter": matter}, "matter")
        if matter_id is not None:
            ids.append(matter_id)
    if not ids:
        problem(FlagReason.MISSING_MATTER, "the bill is not on a matter in Clio")
    if len(set(ids)) > 1:
        problem(
            FlagReason.MULTI_MATTER_BILL,
            f"the bill covers {len(set(ids))} matters; post it per matter by hand",
        )
    return ids[0]


def _bill_voided(ctx: _Context, state: str) -> Outcome:
    voided_on = timestamp_date(ctx.record, "updated_at")
    if voided_on is None:
        problem(FlagReason.MISSING_FIELD, f"the bill is {state} but has no updated_at date")
    payload = BillVoided(
        source=ctx.source,
        bill_id=ctx.record_id,
        matter_id=_single_matter(ctx.record),
        voided_on=voided_on,
    )
    return _publish(ctx, payload)


def _m(minor: int, currency: str) -> Money:
    return Money(amount_minor=minor, currency=currency)


def _rate_basis_points(record: JsonObject, key: str) -> int:
    percent = optional_decimal(record, key) or Decimal(0)
    basis_points = percent * 100
    if basis_points != basis_points.to_integral_value() or not 0 <= basis_points <= 10_000:
        problem(
            FlagReason.UNSUPPORTED_TAX_RATE,
            f"{key} {percent}% is not a whole number of basis points between 0 and 100%",
        )
    return int(basis_points)


@dataclass
class _Line:
    """A bill line read from Clio, in minor units of the bill's currency."""

    line_id: int
    kind: WorkKind  # TIME stands for every fee line (time, fixed fee, summary of services)
    is_time_entry: bool  # a time entry's fee line: the only kind that carries a grouped discount
    activity_id: int | None
    description: str
    net: int  # after the line's own discount, before VAT
    line_discount: int
    vat: int
    rate_basis_points: int
    taxable: bool


def _read_line(
    item: object,
    currency: str,
    tax_rates: tuple[int, int],
    expense_kinds: Mapping[int, WorkKind],
) -> _Line | None:
    """One line item, its arithmetic checked; problems name the line."""
    if not isinstance(item, Mapping):
        problem(FlagReason.MALFORMED_RECORD, f"a line item is {type(item).__name__}, not an object")
    line_id = require_int(item, "id")
    try:
        return _line_of(item, line_id, currency, tax_rates, expense_kinds)
    except RecordProblem as issue:
        raise RecordProblem(issue.reason, f"line item {line_id}: {issue.detail}") from issue


def _line_of(
    item: JsonObject,
    line_id: int,
    currency: str,
    tax_rates: tuple[int, int],
    expense_kinds: Mapping[int, WorkKind],
) -> _Line | None:
    """sub_total − the line's discount + tax + secondary tax = total; no-charge lines drop out."""
    line_type = choice(
        item, "type", ("ActivityLineItem", "LineItem", "NoChargeLineItem", "SummaryLineItem")
    )
    line_kind = choice(item, "kind", ("Service", "Expense"))
    taxable = bool(optional_bool(item, "taxable"))
    secondary_taxable = bool(optional_bool(item, "secondary_taxable"))
    sub_total = require_money(item, "sub_total", currency)
    total = require_money(item, "total", currency)
    tax = _line_tax(item, "tax", taxable, currency)
    secondary_tax = _line_tax(item, "secondary_tax", secondary_taxable, currency)
    net = total - tax - secondary_tax
    line_discount = sub_total - net
    # Clio does not document whether a line's sub_total is before or after the line's own
    # discount, so both readings are accepted; any other difference is an error.
    expected_discount = _line_discount(item, sub_total)
    if line_discount not in (Money.zero(currency), expected_discount):
        problem(
            FlagReason.LINE_TOTALS_MISMATCH,
            f"total {total} − tax {tax} − secondary tax {secondary_tax} = {net}, which is "
            f"neither the sub-total {sub_total} nor the sub-total less its discount "
            f"{expected_discount}",
        )
    if line_type == "NoChargeLineItem":
        if not total.is_zero():
            problem(FlagReason.LINE_TOTALS_MISMATCH, f"a no-charge line totals {total}")
        return None
    vat = tax + secondary_tax
    rate = (tax_rates[0] if taxable else 0) + (tax_rates[1] if secondary_taxable else 0)
    if not vat.is_zero() and rate == 0:
        problem(FlagReason.VAT_MISMATCH, f"the line carries tax {vat} but is not taxable")
    activity = get_object(item, "activity")
    activity_id = nested_id(item, "activity")
    activity_type = None if activity is None else optional_str(activity, "type")
    kind, is_time = _line_kind(line_type, line_kind, activity_id, activity_type, expense_kinds)
    return _Line(
        line_id=line_id,
        kind=kind,
        is_time_entry=is_time,
        activity_id=activity_id,
        description=optional_str(item, "description") or "",
        net=net.amount_minor,
        line_discount=line_discount.amount_minor,
        vat=vat.amount_minor,
        rate_basis_points=rate,
        taxable=rate > 0,
    )


def _line_tax(item: JsonObject, key: str, taxable: bool, currency: str) -> Money:
    if item.get(key) is None and not taxable:
        return Money.zero(currency)
    return require_money(item, key, currency)


def _line_discount(item: JsonObject, sub_total: Money) -> Money:
    """The line's own discount, reading ``sub_total`` as the amount before it."""
    discount = get_object(item, "discount")
    rate = None if discount is None else optional_decimal(discount, "rate")
    if discount is None or not rate:
        return Money.zero(sub_total.currency)
    discount_type = choice(discount, "type", ("percentage", "money"))
    if discount_type == "money":
        return money_of(rate, sub_total.currency, "discount.rate")
    return Money.rounded(sub_total.to_decimal() * rate / 100, sub_total.currency)


def _line_kind(
    line_type: str,
    line_kind: str,
    activity_id: int | None,
    activity_type: str | None,
    expense_kinds: Mapping[int, WorkKind],
) -> tuple[WorkKind, bool]:
    if line_kind == "Service":
        is_time = activity_type == "TimeEntry" or line_type == "SummaryLineItem"
        return WorkKind.TIME, is_time
    if line_type == "SummaryLineItem":
        problem(
            FlagReason.UNKNOWN_EXPENSE_KIND,
            "a summary line hides whether its expenses are disbursements or recoverable expenses",
        )
    if activity_id is None:
        return WorkKind.RECOVERABLE_EXPENSE, False  # an expense typed onto the bill itself
    by_type = {
        "HardCostEntry": WorkKind.DISBURSEMENT,
        "SoftCostEntry": WorkKind.RECOVERABLE_EXPENSE,
    }
    if activity_type in by_type:
        return by_type[activity_type], False
    if activity_type not in (None, "ExpenseEntry"):
        problem(
            FlagReason.UNKNOWN_VALUE,
            f"an expense line comes from a {activity_type} activity {activity_id}",
        )
    known = expense_kinds.get(activity_id)
    if known is None or known is WorkKind.TIME:
        problem(
            FlagReason.UNKNOWN_EXPENSE_KIND,
            f"expense entry {activity_id} has not been synced, so it is not known whether it is "
            "a disbursement; sync activities first",
        )
    return known, False


def _bill_discount(record: JsonObject, lines: Sequence[_Line], currency: str) -> int:
    """The bill-level discount in minor units (Clio gives a rate, not an amount)."""
    discount = get_object(record, "discount")
    rate = None if discount is None else optional_decimal(discount, "rate")
    if discount is None or not rate:
        return 0
    if rate < 0:
        problem(FlagReason.MALFORMED_RECORD, f"the bill's discount rate is negative ({rate})")
    if choice(discount, "type", ("percentage", "money")) == "money":
        return money_of(rate, currency, "the bill's discount").amount_minor
    services_only = str(record.get("discount_services_only")).lower() in ("true", "1", "yes")
    base = sum(line.net for line in lines if line.kind is WorkKind.TIME or not services_only)
    return Money.rounded(_m(base, currency).to_decimal() * rate / 100, currency).amount_minor


def _bill_content(
    ctx: _Context,
    line_items: Sequence[object],
    settings: SyncSettings,
    expense_kinds: Mapping[int, WorkKind],
) -> BillContent:
    record = ctx.record
    currency = currency_code(record.get("currency"), "the bill")
    client_id = nested_id(record, "client")
    if client_id is None:
        problem(FlagReason.MISSING_CLIENT, "the bill has no client in Clio")
    matter_id = _single_matter(record)
    tax_rates = (
        _rate_basis_points(record, "tax_rate"),
        _rate_basis_points(record, "secondary_tax_rate"),
    )
    lines = [
        line
        for item in line_items
        if (line := _read_line(item, currency, tax_rates, expense_kinds)) is not None
    ]

    # The bill-level discount: grouped onto the time-entry fee lines, or kept as its own line.
    discount = _bill_discount(record, lines, currency)
    time_lines = [i for i, line in enumerate(lines) if line.is_time_entry]
    time_fees = sum(lines[i].net for i in time_lines)
    grouped = settings.group_fee_lines_for_discounts and discount > 0
    shares = [0] * len(lines)
    if grouped:
        if time_fees <= 0 or discount > time_fees:
            problem(
                FlagReason.DISCOUNT_NOT_ALLOCATABLE,
                f"the bill's discount {_m(discount, currency)} cannot be grouped onto "
                f"time-entry fees of {_m(time_fees, currency)}",
            )
        for i, share in zip(
            time_lines,
            allocate_proportionally(discount, [lines[i].net for i in time_lines]),
            strict=True,
        ):
            shares[i] = share

    vats = _reconcile_vat(record, lines, shares, discount, currency)

    fees: list[FeeLine] = []
    recoverable: list[RecoverableExpenseLine] = []
    disbursements: list[BilledDisbursementLine] = []
    for line, share, vat_minor in zip(lines, shares, vats, strict=True):
        vat = VatAmount(rate_basis_points=line.rate_basis_points, amount=_m(vat_minor, currency))
        net = _m(line.net - share, currency)
        if line.kind is WorkKind.TIME:
            fees.append(
                FeeLine(
                    line_id=line.line_id,
                    description=line.description,
                    net=net,
                    discount=_m(line.line_discount + share, currency),
                    vat=vat,
                    income_nominal=settings.default_fee_nominal,
                )
            )
        elif line.kind is WorkKind.RECOVERABLE_EXPENSE:
            recoverable.append(
                RecoverableExpenseLine(
                    line_id=line.line_id,
                    description=line.description,
                    net=net,
                    vat=vat,
                    income_nominal=settings.expense_income_nominal,
                )
            )
        else:
            disbursements.append(
                BilledDisbursementLine(
                    line_id=line.line_id,
                    activity_id=line.activity_id,
                    description=line.description,
                    net=net,
                    vat_treatment=(
                        VatTreatment.STANDARD if vat_minor else VatTreatment.OUTSIDE_SCOPE
                    ),
                    vat=vat,
                )
            )

    # Clio's total, less any interest (charged later, and not a bill of costs), must be the sum.
    vat_total = sum(vats)
    nets = sum(line.net for line in lines) - discount
    interest = get_object(record, "interest")
    interest_total = 0
    if interest is not None and interest.get("total") is not None:
        interest_total = money_of(interest.get("total"), currency, "interest.total").amount_minor
    clio_total = require_money(record, "total", currency).amount_minor - interest_total
    if nets + vat_total != clio_total:
        lines_net = sum(line.net for line in lines)
        problem(
            FlagReason.BILL_TOTALS_MISMATCH,
            f"lines {_m(lines_net, currency)} − bill discount {_m(discount, currency)} "
            f"+ VAT {_m(vat_total, currency)} = {_m(nets + vat_total, currency)}, but Clio's "
            f"total less interest is {_m(clio_total, currency)}",
        )
    return BillContent(
        bill_id=ctx.record_id,
        bill_number=require_str(record, "number"),
        matter_id=matter_id,
        client_id=client_id,
        issued_on=require_date(record, "issued_at"),
        due_on=optional_date(record, "due_at"),
        currency=currency,
        fees=fees,
        recoverable_expenses=recoverable,
        disbursements=disbursements,
        bill_level_discount=_m(0 if grouped else discount, currency),
        vat_total=_m(vat_total, currency),
        total=_m(clio_total, currency),
    )


def _reconcile_vat(
    record: JsonObject,
    lines: Sequence[_Line],
    shares: Sequence[int],
    discount: int,
    currency: str,
) -> list[int]:
    """Each line's VAT, adjusted so that together they are the bill's VAT exactly.

    Clio's lines carry VAT before a bill-level discount; the bill's VAT is after it. The
    difference goes to the lines the discount went to (grouped), or to the taxable lines in
    proportion to their value. A difference with no discount is tax rounding: at most one minor
    unit per taxable line, else the VAT does not add up and the bill is flagged.
    """
    bill_vat = require_money(record, "total_tax", currency).amount_minor
    vats = [line.vat for line in lines]
    difference = bill_vat - sum(vats)
    if difference == 0:
        return vats
    mismatch = (
        f"the lines carry VAT {_m(sum(vats), currency)} "
        f"but the bill's VAT is {_m(bill_vat, currency)}"
    )
    by_value = [max(line.net, 0) if line.taxable else 0 for line in lines]
    if discount > 0 and -discount <= difference < 0:
        by_share = [share if line.taxable else 0 for line, share in zip(lines, shares, strict=True)]
        weights = by_share if any(shares) else by_value
    elif abs(difference) <= sum(line.taxable for line in lines):
        weights = by_value
    else:
        problem(FlagReason.VAT_MISMATCH, mismatch)
    if sum(weights) == 0:
        problem(
            FlagReason.VAT_MISMATCH, f"{mismatch}, and no taxable line can carry the difference"
        )
    adjusted = [
        vat + change
        for vat, change in zip(vats, allocate_proportionally(difference, weights), strict=True)
    ]
    if any(vat < 0 for vat in adjusted):
        problem(FlagReason.VAT_MISMATCH, f"{mismatch}; a line's VAT would go below zero")
    return adjusted


# --- Money moving: bill payments, client money, credit notes ---------------------------------------


def _bank_account(
    record: JsonObject, key: str, known: Mapping[int, KnownBankAccount]
) -> tuple[int | None, str | None, str | None]:
    """(id, Clio type, currency) of a nested bank account; all None when there is none. What
    the nested record leaves out is taken from the bank accounts synced before."""
    account = get_object(record, key)
    if account is None:
        return None, None, None
    account_id = nested_id(record, key)
    account_type = optional_str(account, "type")
    if account_type is not None and account_type not in _BANK_ACCOUNT_TYPES:
        problem(FlagReason.UNKNOWN_VALUE, f"{key}.type {account_type!r} is not Operating or Trust")
    currency = account.get("currency")
    code = None if currency is None else currency_code(currency, key)
    synced = None if account_id is None else known.get(account_id)
    if synced is not None:
        account_type = account_type or (
            "Trust" if synced.kind is AccountKind.CLIENT else "Operating"
        )
        code = code or synced.currency
    return account_id, account_type, code


def normalise_allocation(
    record: object,
    settings: SyncSettings,
    *,
    firm_id: str,
    previous: Published | None = None,
    bank_accounts: Mapping[int, KnownBankAccount] | None = None,
    held_bill_ids: Collection[int] = (),
) -> Outcome:
    """A Clio allocation (money applied to a bill) → BillPaymentReceived, or BillPaymentReversed
    when it is voided after it was published.

    Paid from a Trust account it is a client-to-office transfer for the bill (paid_from client);
    otherwise the client paid the office account. Money paid into a Trust account (a trust
    request) arrives as a client receipt from the bank transaction instead. ``bank_accounts``
    (the accounts synced so far) fills in an account's type or currency when Clio leaves it out.
    A payment of a bill that is itself held (``held_bill_ids``) is held with it.
    """
    known = bank_accounts or {}

    def build(ctx: _Context) -> Outcome:
        record = ctx.record
        parent = get_object(record, "parent")
        parent_type = None if parent is None else optional_str(parent, "type")
        if parent_type == "CreditMemo":
            return ctx.skip(
                SkipReason.CREDIT_NOTE_ALLOCATION,
                "a credit note applied to a bill; it arrives as the credit note",
            )
        if parent_type not in (None, "Payment"):
            problem(FlagReason.UNKNOWN_VALUE, f"the allocation's parent is a {parent_type}")
        if not settings.import_bill_payments:
            return ctx.skip(
                SkipReason.IMPORT_TURNED_OFF, "bill payments are not imported (sync settings)"
            )
        voided_on = timestamp_date(record, "voided_at")
        if voided_on is not None and ctx.previous is None:
            return ctx.skip(
                SkipReason.PAYMENT_VOIDED_BEFORE_IMPORT,
                "the payment was voided before it was imported; nothing to reverse",
            )
        paid_on = require_date(record, "date")
        if skipped := _before_cut_off(ctx, settings, paid_on, "payment"):
            return skipped
        bill_id = nested_id(record, "bill")
        if bill_id is None:
            if optional_bool(record, "interest"):
                problem(
                    FlagReason.INTEREST_WITHOUT_BILL,
                    "an interest payment whose interest bill is gone: post it by hand",
                )
            problem(FlagReason.MISSING_BILL, "the payment is not applied to a bill")
        matter_id = nested_id(record, "matter")
        if matter_id is None:
            problem(FlagReason.MISSING_MATTER, "the payment is not on a matter in Clio")
        if voided_on is not None:
            return _publish(
                ctx,
                BillPaymentReversed(
                    source=ctx.source,
                    payment_id=ctx.record_id,
                    bill_id=bill_id,
                    matter_id=matter_id,
                    reversed_on=voided_on,
                ),
            )
        source_id, source_type, source_currency = _bank_account(
            record, "source_bank_account", known
        )
        target_id, target_type, target_currency = _bank_account(
            record, "destination_bank_account", known
        )
        if target_type == "Trust":
            if source_type == "Trust":
                problem(
                    FlagReason.UNEXPECTED_BANK_ACCOUNTS,
                    "the payment moves money between client accounts; a bill payment must "
                    "land in an office account",
                )
            return ctx.skip(
                SkipReason.RECEIPT_INTO_CLIENT_ACCOUNT,
                "money paid into a client account; it arrives as a client receipt",
            )
        if source_currency and target_currency and source_currency != target_currency:
            problem(
                FlagReason.CURRENCY_MISMATCH,
                f"paid from a {source_currency} account into a {target_currency} account",
            )
        from_client = source_type == "Trust"
        if from_client:
            if not settings.import_client_transactions:
                return ctx.skip(
                    SkipReason.IMPORT_TURNED_OFF,
                    "client account transactions are not imported (sync settings)",
                )
            bank_account_id = source_id or settings.default_client_account_id
            office_account_id = target_id
            currency = source_currency or target_currency
        else:
            bank_account_id = target_id
            office_account_id = None
            currency = target_currency
        if bank_account_id is None:
            problem(
                FlagReason.MISSING_BANK_ACCOUNT,
                "Clio does not say which bank account the payment "
                + ("came from" if from_client else "was paid into"),
            )
        if currency is None:
            problem(FlagReason.MISSING_CURRENCY, "the payment's bank account has no currency")
        amount = require_money(record, "amount", currency)
        if not amount.is_positive():
            problem(FlagReason.NON_POSITIVE_AMOUNT, f"the payment's amount is {amount}")
        payload = BillPaymentReceived(
            source=ctx.source,
            payment_id=ctx.record_id,
            bill_id=bill_id,
            matter_id=matter_id,
            paid_on=paid_on,
            amount=amount,
            paid_from=AccountKind.CLIENT if from_client else AccountKind.OFFICE,
            bank_account_id=bank_account_id,
            office_bank_account_id=office_account_id,
        )
        if bill_id in held_bill_ids:
            return _hold(
                ctx,
                payload,
                FlagReason.HELD_WITH_DISBURSEMENT_UNDER_REVIEW,
                f"bill {bill_id} is held until the VAT on a disbursement on it is decided",
            )
        return _publish(ctx, payload)

    return _guarded(fields.ALLOCATIONS, record, firm_id=firm_id, previous=previous, build=build)


def normalise_bank_transaction(
    record: object,
    settings: SyncSettings,
    *,
    firm_id: str,
    previous: Published | None = None,
    bank_accounts: Mapping[int, KnownBankAccount] | None = None,
) -> Outcome:
    """A Clio bank transaction on a Trust account → ClientMoneyReceived or ClientMoneyPaid.

    Direction comes only from ``funds_in`` / ``funds_out``. Client money paid out to a bill
    arrives as that bill payment (the allocation); office-account transactions arrive through
    bills, payments and disbursements. Each leg of a transfer between matters or client accounts
    is a payment out of one and a receipt into the other.
    """
    known = bank_accounts or {}

    def build(ctx: _Context) -> Outcome:
        record = ctx.record
        account_id = nested_id(record, "bank_account") or optional_int(record, "bank_account_id")
        if account_id is None:
            problem(FlagReason.MISSING_BANK_ACCOUNT, "Clio does not say which bank account")
        nested = {**(get_object(record, "bank_account") or {}), "id": account_id}
        _, account_type, account_currency = _bank_account(
            {"bank_account": nested}, "bank_account", known
        )
        if account_type is None:
            problem(
                FlagReason.MISSING_BANK_ACCOUNT,
                f"bank account {account_id} is not known to be an office or a client account",
            )
        if account_type == "Operating":
            return ctx.skip(
                SkipReason.OFFICE_ACCOUNT_TRANSACTION,
                "office account money reaches the ledger through bill payments and disbursements",
            )
        if not settings.import_client_transactions:
            return ctx.skip(
                SkipReason.IMPORT_TURNED_OFF,
                "client account transactions are not imported (sync settings)",
            )
        day = require_date(record, "date")
        if skipped := _before_cut_off(ctx, settings, day, "transaction"):
            return skipped
        raw_currency = record.get("currency")
        currency = (
            currency_code(raw_currency, "the transaction")
            if raw_currency is not None
            else account_currency
        )
        if currency is None:
            problem(FlagReason.MISSING_CURRENCY, "the transaction has no currency")
        if account_currency is not None and account_currency != currency:
            problem(
                FlagReason.CURRENCY_MISMATCH,
                f"a {currency} transaction on a {account_currency} account",
            )
        funds_in = require_money(record, "funds_in", currency)
        funds_out = require_money(record, "funds_out", currency)
        if funds_in.amount_minor < 0 or funds_out.amount_minor < 0:
            problem(FlagReason.MISMATCHED_MONEY, f"funds in {funds_in}, funds out {funds_out}")
        if funds_in.is_zero() == funds_out.is_zero():
            problem(
                FlagReason.MISMATCHED_MONEY,
                f"funds in {funds_in} and funds out {funds_out}: exactly one must be non-zero",
            )
        amount = funds_in if funds_in.is_positive() else funds_out
        to_a_bill = nested_id(record, "allocation") or nested_id(record, "bill")
        if funds_out.is_positive() and to_a_bill is not None:
            return ctx.skip(
                SkipReason.BILL_PAYMENT_TRANSACTION,
                "client money paid to a bill; it arrives as the bill payment (allocation)",
            )
        stated = record.get("amount")
        if stated is not None:
            stated_money = money_of(stated, currency, "amount")
            if abs(stated_money.amount_minor) != amount.amount_minor:
                problem(
                    FlagReason.MISMATCHED_MONEY,
                    f"amount {stated_money} disagrees with funds in {funds_in} / out {funds_out}",
                )
        transaction_type = optional_str(record, "transaction_type")
        matter_id = nested_id(record, "matter")
        if matter_id is None:
            problem(
                FlagReason.MISSING_MATTER,
                "client money held for a client but no matter: allocate it to a matter in Clio",
            )
        client = _name(record, "client")
        reference = optional_str(record, "confirmation")
        payload: ClioEvent
        if funds_in.is_positive():
            payload = ClientMoneyReceived(
                source=ctx.source,
                transaction_id=ctx.record_id,
                matter_id=matter_id,
                bank_account_id=account_id,
                received_on=day,
                amount=amount,
                payer=client,
                reference=reference,
            )
        else:
            refund = transaction_type is not None and transaction_type.lower() == "refund"
            payload = ClientMoneyPaid(
                source=ctx.source,
                transaction_id=ctx.record_id,
                matter_id=matter_id,
                bank_account_id=account_id,
                paid_on=day,
                amount=amount,
                purpose=ClientPaymentPurpose.REFUND if refund else ClientPaymentPurpose.OTHER,
                payee=client if refund else None,
                reference=reference,
            )
        return _publish(ctx, payload)

    return _guarded(
        fields.BANK_TRANSACTIONS, record, firm_id=firm_id, previous=previous, build=build
    )


def normalise_credit_memo(
    record: object, settings: SyncSettings, *, firm_id: str, previous: Published | None = None
) -> Outcome:
    """A Clio credit memo → CreditMemoIssued (a credit note reducing what the client owes)."""

    def build(ctx: _Context) -> Outcome:
        record = ctx.record
        if not settings.import_bills:
            return ctx.skip(
                SkipReason.IMPORT_TURNED_OFF, "bills and credit notes are not imported (settings)"
            )
        if timestamp_date(record, "voided_at") is not None:
            if ctx.previous is None:
                return ctx.skip(
                    SkipReason.CREDIT_NOTE_VOIDED_BEFORE_IMPORT,
                    "the credit note was voided before it was imported",
                )
            problem(
                FlagReason.CREDIT_NOTE_VOIDED_AFTER_IMPORT,
                "the credit note was voided in Clio after it was posted: reverse it by hand",
            )
        issued_on = require_date(record, "date")
        if skipped := _before_cut_off(ctx, settings, issued_on, "credit note"):
            return skipped
        contact = get_object(record, "contact")
        client_id = nested_id(record, "contact")
        if contact is None or client_id is None:
            problem(FlagReason.MISSING_CLIENT, "the credit note has no client in Clio")
        currency = currency_code(contact.get("currency"), "the credit note's client")
        amount = require_money(record, "amount", currency)
        if not amount.is_positive():
            problem(FlagReason.NON_POSITIVE_AMOUNT, f"the credit note's amount is {amount}")
        matters = set()
        for allocation in get_list(record, "allocations"):
            if not isinstance(allocation, Mapping):
                problem(FlagReason.MALFORMED_RECORD, "allocations should be a list of objects")
            matter = nested_id(allocation, "matter")
            if matter is not None:
                matters.add(matter)
        payload = CreditMemoIssued(
            source=ctx.source,
            credit_memo_id=ctx.record_id,
            client_id=client_id,
            matter_id=matters.pop() if len(matters) == 1 else None,
            issued_on=issued_on,
            amount=amount,
            description=optional_str(record, "description"),
        )
        return _publish(ctx, payload)

    return _guarded(fields.CREDIT_MEMOS, record, firm_id=firm_id, previous=previous, build=build)


# --- Gone from Clio --------------------------------------------------------------------------------


def record_deleted(
    resource: ClioResource, object_id: int, *, firm_id: str, last_version: str
) -> Publish:
    """A record the connector had published is absent from a full sync: RecordDeletedInClio."""
    ref = RecordRef(resource.object_type, object_id, last_version, last_version)
    source = ClioSource(object_type=resource.object_type, object_id=object_id, version=last_version)
    payload = RecordDeletedInClio(source=source)
    event_id = deterministic_event_id(
        firm_id, payload.event_type, resource.object_type, object_id, last_version
    )
    return Publish(ref, payload, event_id, firm_id, facts_hash(payload), Change.UPDATED)
