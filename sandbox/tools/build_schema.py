"""Rebuild ``clio_sandbox/data/clio_schema.json`` from the Clio API v4 digest.

Usage: ``.venv/bin/python sandbox/tools/build_schema.py ../shared/reference/clio-api-v4-digest.json``

The digest (field names, types and enums extracted from Clio's published OpenAPI document) is
reduced to what the sandbox needs: per model, each field's kind (scalar type, reference to
another model, or list of references) and enum values; per endpoint, the query parameters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "clio_sandbox" / "data" / "clio_schema.json"


def _norm_ref(name: str, models: dict[str, Any]) -> str | None:
    if name.endswith("_base"):
        plain = name[: -len("_base")]
        if plain in models:
            return plain
    if name in models:
        return name
    return None


def _field(spec: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
    if "ref" in spec:
        return {"kind": "ref", "target": _norm_ref(spec["ref"], models)}
    if spec.get("type") == "array":
        items = spec.get("items", {})
        if "ref" in items:
            return {"kind": "list", "target": _norm_ref(items["ref"], models)}
        return {"kind": "array", "enum": items.get("enum")}
    out: dict[str, Any] = {"kind": spec.get("type", "string")}
    if spec.get("format"):
        out["format"] = spec["format"]
    if spec.get("enum"):
        out["enum"] = spec["enum"]
    return out


def main(digest_path: str) -> None:
    digest = json.loads(Path(digest_path).read_text())
    models = digest["models"]
    out_models = {
        name: {field: _field(spec, models) for field, spec in fields.items()}
        for name, fields in models.items()
    }
    endpoints = {}
    for path, methods in digest["endpoints"].items():
        endpoints[path] = {
            method: {
                "query": sorted(spec.get("query", {})),
                "body": sorted(spec.get("body", {}).get("data", {})) if "body" in spec else None,
            }
            for method, spec in methods.items()
        }
    OUT.write_text(
        json.dumps({"models": out_models, "endpoints": endpoints}, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/clio-api-v4-digest.json")
