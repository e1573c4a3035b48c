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
MAX_DEPTH = 32  # a recursive schema (a $ref cycle) ends in null this deep
MAX_VALUES = 2000  # values in one sample at most, however many items minItems asks for


def _number(value: Any, default: float = 0.0) -> float:
    """A number from a schema keyword or a hint, as given; ``default`` for non-numbers, NaN and huge values."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value if abs(value) < 1e300 else default


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


def sample(
    schema: Any, hint: str = "", *, name: str = "value", required_only: bool = False, _root: dict | None = None,
    _depth: int = 0, _budget: list[int] | None = None,
) -> Any:
    budget = _budget if _budget is not None else [MAX_VALUES]
    if not isinstance(schema, dict) or _depth > MAX_DEPTH or budget[0] <= 0:
        return None
    budget[0] -= 1
    root = _root if _root is not None else schema
    deeper = {"required_only": required_only, "_root": root, "_depth": _depth + 1, "_budget": budget}
    schema = _resolve(schema, root)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0], hint, name=name, **deeper)
    kind = _kind(schema)
    if kind == "object":
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        keys = [k for k in properties if not required_only or k in required]
        return {key: sample(properties[key], hint, name=key, **deeper) for key in keys}
    if kind == "array":
        count = min(budget[0], max(1, int(_number(schema.get("minItems"), 1))))
        return [sample(schema.get("items", {}), hint, name=name, **deeper) for _ in range(count)]
    if kind in ("integer", "number"):
        found = _NUMBER.search(hint)
        value: float = _number(float(found.group())) if found else float(_number(schema.get("minimum")))
        if "minimum" in schema:
            value = max(value, _number(schema["minimum"], value))
        if "maximum" in schema:
            value = min(value, _number(schema["maximum"], value))
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        found = _PROPER_NOUNS.search(hint)
        return found.group(1) if found else f"offline {name}"
    return None
