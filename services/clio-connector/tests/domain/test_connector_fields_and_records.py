"""What the connector asks Clio for, and how it reads what comes back: exact numbers, canonical
hashes, and readers that turn surprises into reasons."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from clio_connector.domain import fields
from clio_connector.domain.fields import Nested, render_fields
from clio_connector.domain.outcomes import FlagReason
from clio_connector.domain.records import (
    RecordProblem,
    canonical_and_hash,
    canonical_json,
    choice,
    content_hash,
    currency_code,
    loads_exact,
    money_of,
    project,
    timestamp_date,
)

# Clio's published schema, digested (shared reference); the field tests skip where it is absent.
DIGEST = Path("/work/shared/reference/clio-api-v4-digest.json")

# Field names per model in clio-api-v4-digest.json that the connector asks for.
DIGEST_MODEL = {
    fields.PRACTICE_AREAS: "PracticeArea",
    fields.CONTACTS: "Contact",
    fields.MATTERS: "Matter",
    fields.BANK_ACCOUNTS: "BankAccount",
    fields.ACTIVITIES: "Activity",
    fields.BILLS: "Bill",
    fields.LINE_ITEMS: "LineItem",
    fields.ALLOCATIONS: "Allocation",
    fields.BANK_TRANSACTIONS: "BankTransaction",
    fields.CREDIT_MEMOS: "CreditMemo",
}


# The schema of each related record the connector nests into.
NESTED_MODEL = {
    "matter": "Matter",
    "matters": "Matter",
    "client": "Contact",
    "contact": "Contact",
    "vendor": "Contact",
    "practice_area": "PracticeArea",
    "responsible_attorney": "User",
    "user": "User",
    "expense_category": "ExpenseCategory",
    "currency": "Currency",
    "bill": "Bill",
    "activity": "Activity",
    "discount": "Discount_base",
    "interest": "Interest_base",
    "bank_account": "BankAccount",
    "source_bank_account": "BankAccount",
    "destination_bank_account": "BankAccount",
    "allocation": "Allocation",
    "allocations": "Allocation",
    "parent": "PolymorphicObject_base",
}


class TestFieldLists:
    def test_render_with_one_level_of_nesting(self) -> None:
        spec = ("id", "etag", Nested("matter", ("id", "display_number")))
        assert render_fields(spec) == "id,etag,matter{id,display_number}"

    def test_a_field_named_twice_is_a_mistake(self) -> None:
        with pytest.raises(ValueError, match="twice"):
            render_fields(("id", "id"))

    @pytest.mark.parametrize("name", ["matter{id}", "Total", "", "a b"])
    def test_only_plain_field_names_are_allowed(self, name: str) -> None:
        with pytest.raises(ValueError, match="not a Clio field name"):
            render_fields(("id", name))

    def test_every_resource_asks_for_id_etag_and_updated_at(self) -> None:
        for resource in fields.SYNC_ORDER:
            names = fields.top_level_names(resource.fields)
            assert {"id", "etag", "updated_at"} <= set(names), resource.path

    @pytest.mark.parametrize("resource", list(DIGEST_MODEL), ids=lambda r: r.path)
    def test_every_top_level_field_exists_in_clios_published_schema(
        self, resource: fields.ClioResource
    ) -> None:
        digest = _digest()
        if digest is None:
            pytest.skip("clio-api-v4-digest.json is not on this machine")
        model = digest["models"][DIGEST_MODEL[resource]]
        unknown = set(fields.top_level_names(resource.fields)) - set(model)
        assert unknown == set(), f"{resource.path}: Clio would answer 400 InvalidFields"

    @pytest.mark.parametrize("resource", list(DIGEST_MODEL), ids=lambda r: r.path)
    def test_every_nested_field_exists_on_the_related_record(
        self, resource: fields.ClioResource
    ) -> None:
        digest = _digest()
        if digest is None:
            pytest.skip("clio-api-v4-digest.json is not on this machine")
        for item in resource.fields:
            if isinstance(item, Nested):
                model = digest["models"][NESTED_MODEL[item.name]]
                unknown = set(item.fields) - set(model)
                assert unknown == set(), f"{resource.path}: {item.name}{{{unknown}}}"

    def test_webhooks_exist_only_for_the_models_clio_sends_them_for(self) -> None:
        with_hooks = {r.path for r in fields.SYNC_ORDER if r.webhook_model is not None}
        assert with_hooks == {"contacts", "matters", "activities", "bills"}


def _digest() -> dict[str, dict[str, dict[str, object]]] | None:
    path = DIGEST
    if not path.exists():
        return None
    loaded: dict[str, dict[str, dict[str, object]]] = json.loads(path.read_text())
    return loaded


class TestExactJson:
    def test_numbers_with_a_point_are_decimals_never_floats(self) -> None:
        parsed = loads_exact('{"total": 0.1, "count": 3, "big": 12345678901234567.89}')
        assert parsed == {
            "total": Decimal("0.1"),
            "count": 3,
            "big": Decimal("12345678901234567.89"),
        }
        assert isinstance(parsed["total"], Decimal)

    @pytest.mark.parametrize("text", ['{"total": NaN}', '{"total": Infinity}', '{"total": 1'])
    def test_not_numbers_and_broken_json_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            loads_exact(text)


class TestCanonicalHashes:
    def test_equal_values_hash_equal_whatever_the_spelling(self) -> None:
        a = {"total": Decimal("150.0"), "matter": {"id": 1, "n": "x"}, "ok": True}
        b = {"ok": True, "matter": {"n": "x", "id": 1}, "total": 150}
        assert (
            canonical_json(a)
            == canonical_json(b)
            == '{"matter":{"id":1,"n":"x"},"ok":true,"total":150}'
        )
        assert content_hash(a) == content_hash(b)

    def test_different_values_hash_differently(self) -> None:
        assert content_hash({"total": Decimal("150.01")}) != content_hash({"total": 150})

    def test_numbers_are_written_by_value_every_time_they_are_met(self) -> None:
        # The same values in other spellings, met twice (the second time from memory), and a
        # number no binary float spells exactly, which stays exactly as Clio wrote it.
        for _ in range(2):
            assert canonical_json([Decimal("82.50"), Decimal("82.5"), Decimal("1E+2")]) == (
                "[82.5,82.5,100]"
            )
            assert canonical_json({"a": Decimal("-0.00"), "b": Decimal("0.10000000000000001")}) == (
                '{"a":0,"b":0.10000000000000001}'
            )
        with pytest.raises(ValueError):
            canonical_json({"total": Decimal("NaN")})
        with pytest.raises(ValueError):
            canonical_json({"total": Decimal("sNaN")})

    def test_canonical_and_hash_walk_the_record_once_for_both(self) -> None:
        record = {
            "updated_at": "2026-01-02T03:04:05+00:00",
            "etag": '"e1"',
            "name": "Chloé Ní Mhurchú",
            "id": 7,
            "surprise": None,
            "total": Decimal("12.50"),
            "matter": {"id": 3, "display_number": "00001"},
        }
        raw = (
            '{"etag":"\\"e1\\"","id":7,"matter":{"display_number":"00001","id":3},'
            '"name":"Chloé Ní Mhurchú","surprise":null,"total":12.5,'
            '"updated_at":"2026-01-02T03:04:05+00:00"}'
        )
        spec = ("id", "etag", "name", "total", Nested("matter", ("id", "display_number")))
        projected = '{"id":7,"matter":{"display_number":"00001","id":3},"name":"Chloé Ní Mhurchú","total":12.5}'
        assert canonical_and_hash(record, spec) == (raw, content_hash(json.loads(projected)))
        assert canonical_json(record) == raw

    @pytest.mark.parametrize(
        "record",
        [{"ké": 1}, {"note": "a\x00b"}, {1: "x"}],
    )
    def test_records_needing_the_general_path_are_left_to_it(self, record: object) -> None:
        assert canonical_and_hash(record, ("note",)) is None  # type: ignore[arg-type]

    def test_project_keeps_the_fields_used_and_drops_bookkeeping(self) -> None:
        record = {"id": 1, "etag": '"x"', "updated_at": "t", "name": "A", "surprise": 1}
        assert project(record, fields.PRACTICE_AREA_FIELDS) == {"id": 1, "name": "A"}


class TestReaders:
    def test_money_is_exact_and_too_many_decimals_is_a_reason_not_a_rounding(self) -> None:
        assert money_of(Decimal("0.10"), "EUR", "total").amount_minor == 10
        assert money_of(1250, "JPY", "total").amount_minor == 1250
        with pytest.raises(RecordProblem) as problem:
            money_of(Decimal("10.005"), "EUR", "total")
        assert problem.value.reason is FlagReason.MONEY_PRECISION
        with pytest.raises(RecordProblem) as problem:
            money_of(Decimal("1.5"), "JPY", "total")
        assert problem.value.reason is FlagReason.MONEY_PRECISION

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (None, FlagReason.NULL_MONEY),
            (1.5, FlagReason.MALFORMED_RECORD),
            ("1.50", FlagReason.MALFORMED_RECORD),
            (True, FlagReason.MALFORMED_RECORD),
            (Decimal("NaN"), FlagReason.MALFORMED_RECORD),
        ],
    )
    def test_money_that_is_not_a_number_is_a_reason(
        self, value: object, reason: FlagReason
    ) -> None:
        with pytest.raises(RecordProblem) as problem:
            money_of(value, "EUR", "total")
        assert problem.value.reason is reason

    def test_an_enum_value_outside_the_documented_set_is_unknown(self) -> None:
        assert choice({"state": "paid"}, "state", ("paid", "void")) == "paid"
        with pytest.raises(RecordProblem) as problem:
            choice({"state": "Paid"}, "state", ("paid", "void"))
        assert problem.value.reason is FlagReason.UNKNOWN_VALUE

    def test_a_timestamps_date_is_taken_in_its_own_offset(self) -> None:
        record = {"voided_at": "2026-02-11T23:30:00-05:00"}
        assert timestamp_date(record, "voided_at").isoformat() == "2026-02-11"  # type: ignore[union-attr]

    @pytest.mark.parametrize("value", ["EUR", {"id": 3, "code": "EUR"}])
    def test_a_currency_is_a_code_or_an_object_with_one(self, value: object) -> None:
        assert currency_code(value, "bill") == "EUR"

    @pytest.mark.parametrize("value", [None, "eur", "EURO", {"id": 3}])
    def test_anything_else_is_a_missing_currency(self, value: object) -> None:
        with pytest.raises(RecordProblem) as problem:
            currency_code(value, "bill")
        assert problem.value.reason is FlagReason.MISSING_CURRENCY
