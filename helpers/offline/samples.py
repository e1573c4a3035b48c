"""Deterministic values that satisfy a JSON schema: tool inputs and structured outputs.

Strings come from the request where that is natural: the runs of capitalised words
in the user's message (places, names) fill string fields in turn, and its numbers
fill number fields in turn. Everything else takes the schema's own hints (enum, const,
default, minimum; an enum value the message names, else the first) or a plain value of
the right type.
"""

from __future__ import annotations

import re
from typing import Any

PROPER_NOUNS = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORDS = re.compile(r"[\w-]+")
MAX_DEPTH = 32  # a recursive schema (a $ref cycle) ends in null this deep
MAX_VALUES = 2000  # values in one sample at most, however many items minItems asks for


def as_number(token: str) -> int | float:
    """A number as the user wrote it: "250" is the integer 250, as a model would send it; "36.6" a float."""
    if "." in token:
        return float(token)
    try:
        return int(token)
    except ValueError:  # more digits than int() converts: far out of range anyway
        return float(token)


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


class _Draw:
    """What one sample may still use: a value budget, and the hint's names and numbers, each used once in turn."""

    def __init__(self, hint: str, names: list[str] | None = None, numbers: list[int | float] | None = None):
        self.budget = MAX_VALUES
        self.words = set(_WORDS.findall(hint.lower()))
        self.names = list(names) if names is not None else [m.group(1) for m in PROPER_NOUNS.finditer(hint)]
        self.numbers = list(numbers) if numbers is not None else [as_number(m.group()) for m in NUMBER.finditer(hint)]

    def mentioned(self, options: list) -> Any:
        """The first option the hint names as a word ("in fahrenheit" picks "fahrenheit"), or the first option."""
        for option in options:
            if isinstance(option, str) and option.lower() in self.words:
                return option
        return options[0]

    def take(self, pool: list) -> Any:
        return pool.pop(0) if pool else None


def sample(
    schema: Any, hint: str = "", *, name: str = "value", required_only: bool = False, _root: dict | None = None,
    _depth: int = 0, _draw: _Draw | None = None, names: list[str] | None = None,
    numbers: list[int | float] | None = None,
) -> Any:
    """A value for ``schema``; ``names`` and ``numbers``, when given, replace those found in ``hint``."""
    draw = _draw if _draw is not None else _Draw(hint, names, numbers)
    if not isinstance(schema, dict) or _depth > MAX_DEPTH or draw.budget <= 0:
        return None
    draw.budget -= 1
    root = _root if _root is not None else schema
    deeper = {"required_only": required_only, "_root": root, "_depth": _depth + 1, "_draw": draw}
    schema = _resolve(schema, root)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return draw.mentioned(schema["enum"])
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
        count = min(draw.budget, max(1, int(_number(schema.get("minItems"), 1))))
        return [sample(schema.get("items", {}), hint, name=name, **deeper) for _ in range(count)]
    if kind in ("integer", "number"):
        found = draw.take(draw.numbers)
        value: int | float = _number(found) if found is not None else _number(schema.get("minimum"), 0)
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
        found = draw.take(draw.names)
        return found if found is not None else f"offline {name}"
    return None
