"""Reading Clio's JSON exactly: numbers as Decimal, canonical hashes, and field readers that turn
every surprise into a ``RecordProblem`` (a flag with a reason), never a crash or a guess."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, NoReturn

from cashroom_contracts.money import Money, minor_unit_exponent
from clio_connector.domain.fields import BOOKKEEPING_FIELDS, FieldSpec, top_level_names
from clio_connector.domain.outcomes import FlagReason

JsonObject = Mapping[str, Any]


class RecordProblem(Exception):
    """A Clio record the connector cannot take as it is; becomes a flagged sync-log line."""

    def __init__(self, reason: FlagReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def problem(reason: FlagReason, detail: str) -> NoReturn:
    raise RecordProblem(reason, detail)


# --- JSON in, exactly ---------------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def loads_exact(text: str | bytes) -> Any:
    """Parse Clio's JSON with every non-integer number as a Decimal (never a binary float) and
    NaN / Infinity refused. Raises ``ValueError`` (``json.JSONDecodeError``) on bad JSON."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


# --- Canonical form and hashes --------------------------------------------------------------------


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be hashed")
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def canonical_json(value: object) -> str:
    """One text per value: sorted keys, no spaces, and numbers by value (150, 150.0 and
    Decimal("150.00") are all ``150``), so equal Clio states hash equal."""
    try:
        prepared = _prepared(value)
    except _Unusual:
        return _canonical_json(value)
    return _encoded(prepared)


def canonical_and_hash(record: JsonObject, spec: FieldSpec) -> tuple[str, str] | None:
    """``canonical_json(record)`` and ``content_hash(project(record, spec))``, the record walked
    once; None when the record needs the general path (call the two functions then)."""
    if type(record) is not dict:
        return None
    try:
        prepared = _prepared(record)
    except (_Unusual, ValueError):
        return None
    assert isinstance(prepared, dict)
    projected = {name: prepared[name] for name in _hashed_names(spec) if name in prepared}
    return _encoded(prepared), sha256_hex(_encoded(projected))


def _encoded(prepared: object) -> str:
    text = "".join(_encode(prepared, 0)) if _encode is not None else _ENCODER.encode(prepared)
    if _MARK_TEXT in text:
        text = _MARKED.sub(r"\1", text)
    return text


# The common case goes through the C JSON encoder: numbers become ints or floats whose repr is
# exactly their canonical text; a number no float spells exactly travels as a marked string and
# is unquoted afterwards. Anything unusual (non-text or non-ASCII keys, a NUL in a string, other
# containers) takes the plain recursive path, which gives the same text.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


# The same encoder made once (JSONEncoder.encode makes it at every call). No cycle check: a
# prepared value is a fresh tree.
def _not_json(value: object) -> NoReturn:
    raise TypeError(f"{type(value).__name__} is not JSON")


_encode = (
    c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", True, False, False)
    if c_make_encoder is not None
    else None
)
_MARK = "\x00#"
_MARK_TEXT = "\\u0000#"
_MARKED = re.compile(r'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


class _Unusual(Exception):
    pass


def _number(value: Decimal) -> int | float | str:
    try:
        return _NUMBERS[value]  # equal Decimals have one canonical text: 82.5 == 82.50
    except (KeyError, TypeError):  # TypeError: a signalling NaN cannot be hashed
        pass
    text = _decimal_text(value)
    number: int | float | str
    if "." not in text:
        number = int(text)
    else:
        approximate = float(text)
        number = approximate if repr(approximate) == text else f"{_MARK}{text}\x00"
    if len(_NUMBERS) >= _NUMBERS_KEPT:
        _NUMBERS.clear()
    _NUMBERS[value] = number
    return number


# Keys known to be ASCII text (field names: a small vocabulary).
_TEXT_KEYS: set[str] = set()
_KEYS_KEPT = 4096

# Amounts repeat (rates, fixed fees, zeros): each Decimal value's canonical number, remembered.
_NUMBERS: dict[Decimal, int | float | str] = {}
_NUMBERS_KEPT = 4096


def _prepared(value: object) -> object:
    # Exact types first, by identity: most of a record is plain text, whole numbers and nulls,
    # kept as they are without a call each. Subclasses take the general path below.
    kind = type(value)
    if kind is dict:
        prepared: dict[str, object] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if key not in _TEXT_KEYS:
                if not isinstance(key, str) or not key.isascii():
                    raise _Unusual
                if len(_TEXT_KEYS) < _KEYS_KEPT:
                    _TEXT_KEYS.add(key)
            item_kind = type(item)
            if item_kind is str:
                if "\x00" in item:
                    raise _Unusual
                prepared[key] = item
            elif item is None or item_kind is int or item_kind is bool:
                prepared[key] = item
            elif item_kind is Decimal:
                prepared[key] = _number(item)
            else:
                prepared[key] = _prepared(item)
        return prepared
    if kind is str:
        if "\x00" in value:  # type: ignore[operator]
            raise _Unusual
        return value
    if value is None or kind is bool or kind is int:
        return value
    if kind is Decimal:
        return _number(value)  # type: ignore[arg-type]
    if kind is list:
        return [_prepared(item) for item in value]  # type: ignore[attr-defined]
    return _prepared_other(value)


def _prepared_other(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise _Unusual
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        return _number(Decimal(repr(value)))
    if isinstance(value, dict):
        return _prepared(dict(value))
    if isinstance(value, list | tuple):
        return [_prepared(item) for item in value]
    raise _Unusual


def _canonical_json(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        return _decimal_text(Decimal(repr(value)))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_canonical_json(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def project(record: JsonObject, spec: FieldSpec) -> dict[str, Any]:
    """The fields of ``spec`` the record has, without the bookkeeping ones (etag, updated_at)."""
    return {name: record[name] for name in _hashed_names(spec) if name in record}


@cache
def _hashed_names(spec: FieldSpec) -> tuple[str, ...]:
    return tuple(name for name in top_level_names(spec) if name not in BOOKKEEPING_FIELDS)


def content_hash(value: object) -> str:
    """A stable hash of a (projected) record: the canonical JSON of the fields used."""
    return sha256_hex(canonical_json(value))


# --- Field readers ---------------------------------------------------------------------------------


def get_object(record: JsonObject, key: str) -> JsonObject | None:
    """A nested record (``matter{id,...}``): a JSON object or null."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problem(FlagReason.MALFORMED_RECORD, f"{key} should be an object, got {_show(value)}")
    return value


def get_list(record: JsonObject, key: str) -> Sequence[Any]:
    value = record.get(key)
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        problem(FlagReason.MALFORMED_RECORD, f"{key} should be a list, got {_show(value)}")
    return value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def optional_int(record: JsonObject, key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problem(FlagReason.MALFORMED_RECORD, f"{key} should be a whole number, got {_show(value)}")
    return value


def require_int(record: JsonObject, key: str) -> int:
    value = optional_int(record, key)
    if value is None:
        problem(FlagReason.MISSING_FIELD, f"{key} is missing")
    return value


def nested_id(record: JsonObject, key: str) -> int | None:
    """The id of a related record, e.g. ``matter.id``; None when there is none."""
    nested = get_object(record, key)
    if nested is None:
        return None
    value = nested.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problem(FlagReason.MALFORMED_RECORD, f"{key}.id should be a whole number")
    return value


def optional_str(record: JsonObject, key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problem(FlagReason.MALFORMED_RECORD, f"{key} should be text, got {_show(value)}")
    stripped = value.strip()
    return stripped or None


def require_str(record: JsonObject, key: str) -> str:
    value = optional_str(record, key)
    if value is None:
        problem(FlagReason.MISSING_FIELD, f"{key} is missing or blank")
    return value


def optional_bool(record: JsonObject, key: str) -> bool | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        problem(FlagReason.MALFORMED_RECORD, f"{key} should be true or false, got {_show(value)}")
    return value


def require_bool(record: JsonObject, key: str) -> bool:
    value = optional_bool(record, key)
    if value is None:
        problem(FlagReason.MISSING_FIELD, f"{key} is missing")
    return value


def optional_date(record: JsonObject, key: str) -> date | None:
    """A business date (``YYYY-MM-DD``), never shifted by a time zone."""
    value = optional_str(record, key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problem(FlagReason.MALFORMED_RECORD, f"{key} is not a date: {_show(value)}")


def require_date(record: JsonObject, key: str) -> date:
    value = optional_date(record, key)
    if value is None:
        problem(FlagReason.MISSING_FIELD, f"{key} is missing")
    return value


def timestamp_date(record: JsonObject, key: str) -> date | None:
    """The calendar date of a timestamp as Clio wrote it (its own offset, no shifting)."""
    value = optional_str(record, key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        problem(FlagReason.MALFORMED_RECORD, f"{key} is not a timestamp: {_show(value)}")


def choice(record: JsonObject, key: str, allowed: Sequence[str]) -> str:
    """A required enum value, exactly as Clio's documentation spells it."""
    value = record.get(key)
    if value is None:
        problem(FlagReason.MISSING_FIELD, f"{key} is missing")
    if value not in allowed:
        problem(
            FlagReason.UNKNOWN_VALUE,
            f"{key} {_show(value)} is not one of {', '.join(allowed)}",
        )
    return str(value)


def decimal_of(value: object, where: str) -> Decimal:
    """A JSON number as an exact Decimal. A binary float means the JSON was parsed without
    ``loads_exact`` and its digits may already be wrong: refused, never guessed."""
    if isinstance(value, bool):
        problem(FlagReason.MALFORMED_RECORD, f"{where} should be a number, got {value}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            problem(FlagReason.MALFORMED_RECORD, f"{where} is not a finite number")
        return value
    if isinstance(value, float):
        problem(
            FlagReason.MALFORMED_RECORD,
            f"{where} arrived as a binary float; parse Clio's JSON with loads_exact",
        )
    problem(FlagReason.MALFORMED_RECORD, f"{where} should be a number, got {_show(value)}")


def optional_decimal(record: JsonObject, key: str) -> Decimal | None:
    value = record.get(key)
    if value is None:
        return None
    return decimal_of(value, key)


def money_of(value: object, currency: str, where: str) -> Money:
    """Clio's major-unit number as Money, exactly; too many decimals is a flag, never rounded."""
    if value is None:
        problem(FlagReason.NULL_MONEY, f"{where} is null")
    amount = decimal_of(value, where)
    try:
        return Money.of(amount, currency)
    except (ValueError, InvalidOperation):
        places = minor_unit_exponent(currency)
        problem(
            FlagReason.MONEY_PRECISION,
            f"{where} {amount} has more than {places} decimal places for {currency}; "
            "not rounded: correct it in Clio",
        )


def require_money(record: JsonObject, key: str, currency: str) -> Money:
    return money_of(record.get(key), currency, key)


def optional_money(record: JsonObject, key: str, currency: str) -> Money | None:
    value = record.get(key)
    return None if value is None else money_of(value, currency, key)


def currency_code(value: object, where: str) -> str:
    """An ISO 4217 code, from a string (``"EUR"``) or a currency object (``{"code": "EUR"}``)."""
    code = value.get("code") if isinstance(value, Mapping) else value
    if code is None:
        problem(FlagReason.MISSING_CURRENCY, f"{where} has no currency")
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        problem(FlagReason.MISSING_CURRENCY, f"{where} currency {_show(code)} is not an ISO code")
    return code
