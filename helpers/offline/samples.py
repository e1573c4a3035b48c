"""Deterministic values that satisfy a JSON schema: tool inputs and structured outputs.

Strings come from the request where that is natural: a run of capitalised words
in the user's message (a place or a name) fills a required string, and the first
number fills a number. Everything else takes the schema's own hints (enum, const,
default, minimum) or a plain value of the right type.
"""

from __future__ import annotations

import re
from typing import Any

_PROPER_NOUNS = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return schema


def _kind(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None and "properties" in schema:
        return "object"
    return kind


def sample(schema: Any, hint: str = "", *, name: str = "value", required_only: bool = False, _root: dict | None = None) -> Any:
    if not isinstance(schema, dict):
        return None
    root = _root if _root is not None else schema
    schema = _resolve(schema, root)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0], hint, name=name, required_only=required_only, _root=root)
    kind = _kind(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        keys = [k for k in properties if not required_only or k in required]
        return {
            key: sample(properties[key], hint, name=key, required_only=required_only, _root=root) for key in keys
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1) or 1))
        return [sample(schema.get("items", {}), hint, name=name, required_only=required_only, _root=root) for _ in range(count)]
    if kind in ("integer", "number"):
        found = _NUMBER.search(hint)
        value: float = float(found.group()) if found else float(schema.get("minimum", 0))
        if "minimum" in schema:
            value = max(value, schema["minimum"])
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        found = _PROPER_NOUNS.search(hint)
        return found.group(1) if found else f"offline {name}"
    return None
