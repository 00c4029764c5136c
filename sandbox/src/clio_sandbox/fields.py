"""Clio's ``fields`` parameter: parsing, validation against the v4 schema, and rendering.

``fields=id,total,matter{id,display_number}``: a comma list, one level of braces. Without
``fields`` a record renders as ``id`` and ``etag``; a nested record without braces renders its
defaults (``id``, ``etag``); value objects (discount, balances, addresses ...) render whole.
An unknown field, braces on a plain field, or a second nesting level is a 400 ``InvalidFields``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from .store import MODEL_TO_RESOURCE, Record

__all__ = ["FieldSpec", "FieldsError", "parse_fields", "render", "schema"]

DEFAULT_FIELDS = ("id", "etag")
SECONDS_PER_HOUR = Decimal(3600)


class FieldsError(ValueError):
    """An invalid ``fields`` value (400 InvalidFields)."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    sub: tuple[str, ...] | None = None


@cache
def schema() -> dict[str, Any]:
    text = resources.files("clio_sandbox").joinpath("data/clio_schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def model_fields(model: str) -> dict[str, Any]:
    fields: dict[str, Any] = schema()["models"].get(model, {})
    return fields


def parse_fields(text: str | None, model: str) -> list[FieldSpec]:
    if text is None or text.strip() == "":
        return [FieldSpec(n) for n in DEFAULT_FIELDS]
    specs: list[FieldSpec] = []
    depth = 0
    token = ""
    parts: list[str] = []
    for ch in text:
        if ch == "{":
            depth += 1
            if depth > 1:
                raise FieldsError("Fields can only be nested one level deep")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise FieldsError("Unbalanced braces in fields")
        if ch == "," and depth == 0:
            parts.append(token)
            token = ""
        else:
            token += ch
    if depth != 0:
        raise FieldsError("Unbalanced braces in fields")
    parts.append(token)
    known = model_fields(model)
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        if "{" in part:
            name, _, rest = part.partition("{")
            name = name.strip()
            if not rest.endswith("}"):
                raise FieldsError(f"Malformed nested fields for {name}")
            subs = tuple(s.strip() for s in rest[:-1].split(",") if s.strip())
            spec = known.get(name)
            if spec is None:
                raise FieldsError(f"Invalid field: {name}")
            if spec["kind"] not in ("ref", "list"):
                raise FieldsError(f"{name} is not a nested resource")
            target = spec.get("target")
            if target is not None:
                target_fields = model_fields(target)
                for sub in subs:
                    if sub not in target_fields:
                        raise FieldsError(f"Invalid field: {name}{{{sub}}}")
            specs.append(FieldSpec(name, subs or DEFAULT_FIELDS))
        else:
            if part not in known:
                raise FieldsError(f"Invalid field: {part}")
            specs.append(FieldSpec(part))
    return specs


Lookup = Callable[[str, int], Record | None]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def render(
    record: Record, model: str, specs: list[FieldSpec], lookup: Lookup, version: str
) -> dict[str, Any]:
    """The record as Clio returns it for these fields."""
    known = model_fields(model)
    out: dict[str, Any] = {}
    hours = model == "Activity" and _version_tuple(version) < (4, 0, 4)
    for spec in specs:
        value = record.get(spec.name)
        fspec = known.get(spec.name, {"kind": "string"})
        kind = fspec["kind"]
        if kind == "ref":
            out[spec.name] = _render_ref(value, fspec.get("target"), spec.sub, lookup, version)
        elif kind == "list":
            items = value or []
            out[spec.name] = [
                _render_ref(item, fspec.get("target"), spec.sub, lookup, version) for item in items
            ]
        else:
            if (
                hours
                and spec.name in ("quantity", "rounded_quantity")
                and record.get("type") == "TimeEntry"
                and value is not None
            ):
                value = (Decimal(value) / SECONDS_PER_HOUR).quantize(Decimal("0.0001")).normalize()
            out[spec.name] = value
    return out


def _render_ref(
    value: Any,
    target: str | None,
    sub: tuple[str, ...] | None,
    lookup: Lookup,
    version: str,
) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        return value
    resource = MODEL_TO_RESOURCE.get(target or "")
    if resource is not None and "id" in value:
        if sub is None:
            sub = DEFAULT_FIELDS
        record = lookup(resource, value["id"])
        if record is None:
            return {k: value.get(k) for k in sub}
        return render(record, target or "", [FieldSpec(s) for s in sub], lookup, version)
    if sub is None:
        return value
    return {k: value.get(k) for k in sub}
