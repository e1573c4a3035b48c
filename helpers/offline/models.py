"""The Models API (``GET /v1/models`` and ``GET /v1/models/{id}``) answered from the catalog.

``capabilities`` has the shape of the SDK's ``ModelCapabilities`` (anthropic 2.14,
``anthropic/types/model_capabilities.py``: every key always present), filled from the
catalog's facts: thinking types and effort levels as the backend enforces them, and
the feature flags of ``models.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from .. import catalog
from . import paging
from .errors import ApiError, invalid
from .wording import say

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def _time(day: Optional[date]) -> Optional[str]:
    return f"{day.isoformat()}T00:00:00Z" if day else None


CONTEXT_MANAGEMENT_STRATEGIES = ("clear_thinking_20251015", "clear_tool_uses_20250919", "compact_20260112")


def _support(flag: bool) -> dict:
    return {"supported": bool(flag)}


def capabilities(entry: catalog.ModelEntry) -> dict:
    features = entry.features
    effort_levels = entry.effort.levels if entry.effort else ()
    context = features["context_management"]
    return {
        "batch": _support(features["batch"]),
        "citations": _support(features["citations"]),
        "code_execution": _support(features["code_execution"]),
        "context_management": {"supported": context, **{s: _support(context) for s in CONTEXT_MANAGEMENT_STRATEGIES}},
        "effort": {"supported": bool(effort_levels), **{level: _support(level in effort_levels) for level in catalog.EFFORT_LEVELS}},
        "image_input": _support(features["image_input"]),
        "pdf_input": _support(features["pdf_input"]),
        "server_tools": {
            "supported": features["web_search"] or features["code_execution_tool"],
            "code_execution": _support(features["code_execution_tool"]),
            "web_search": _support(features["web_search"]),
        },
        "structured_outputs": _support(features["structured_outputs"]),
        "thinking": {
            "supported": entry.thinking.supported,
            "types": {t: _support(entry.thinking.accepts(t)) for t in catalog.THINKING_TYPES},
        },
    }


def info(entry: catalog.ModelEntry) -> dict:
    return {
        "type": "model",
        "id": entry.resolved_id,
        "display_name": entry.display_name,
        "created_at": _time(entry.released),
        "lifecycle": entry.lifecycle,
        "deprecated_at": _time(entry.deprecated_at) if entry.lifecycle != "active" else None,
        "retires_at": _time(entry.retires_at) if entry.lifecycle != "active" else None,
        "line": entry.line,
        "max_input_tokens": entry.context_window,
        "max_tokens": entry.max_output_tokens,
        "capabilities": capabilities(entry),
    }


def _one(query: dict, name: str) -> Optional[str]:
    values = query.get(name)
    return values[-1] if values else None


def _limit(query: dict) -> int:
    raw = _one(query, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise invalid(say("wrong_type", field="limit", kind="integer")) from None
    if limit < 1:
        raise invalid(say("too_small", field="limit", limit=1))
    if limit > MAX_LIMIT:
        raise invalid(say("too_large", field="limit", limit=MAX_LIMIT))
    return limit


def listing(query: dict) -> dict:
    lifecycles = query.get("lifecycle[]") or query.get("lifecycle") or ["active", "deprecated"]
    for value in lifecycles:
        if value not in ("active", "deprecated", "retired"):
            raise invalid(say("bad_literal", field="lifecycle", options="'active', 'deprecated' or 'retired'"))
    entries = [info(m) for m in catalog.models() if m.lifecycle in lifecycles]
    limit = _limit(query)
    start, end, has_more = paging.page([e["id"] for e in entries], _one(query, "after_id"), _one(query, "before_id"),
                                       limit)
    page = entries[start:end]
    return {
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }


def answer(path: str, query: dict) -> dict:
    if path == "/v1/models":
        return listing(query)
    model_id = path.removeprefix("/v1/models/")
    entry = catalog.lookup(model_id)
    if entry is None:
        raise ApiError("not_found_error", say("model_not_found", model=model_id))
    return info(entry)
