"""JSON in and out without floats.

Clio sends money as JSON numbers with decimals (``123.45``, ``1250.0``). The sandbox keeps every
number that is not an integer as :class:`~decimal.Decimal` and writes it back as a JSON number
the way Clio's (Ruby) serialiser prints floats: at least one digit after the point, no exponent,
no trailing zeros beyond the first (``Decimal("100.00")`` → ``100.0``, ``Decimal("12.30")`` →
``12.3``). Nothing ever passes through ``float``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["decimal_text", "dumps", "dumps_bytes", "loads"]

_encode_str = json.encoder.encode_basestring  # escapes like json.dumps(ensure_ascii=False)


def decimal_text(value: Decimal) -> str:
    """The JSON number text for ``value`` (``Decimal("5")`` → ``"5.0"``)."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    if text in ("-0.0",):
        text = "0.0"
    return text


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in sandbox JSON; use Decimal")
    else:
        raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def dumps(value: Any) -> str:
    """Serialise ``value`` (dicts, lists, str, int, bool, None, Decimal) compactly."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal (never a float)."""
    return json.loads(text, parse_float=Decimal)
