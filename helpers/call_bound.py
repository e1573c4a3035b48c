"""The most a Messages call can cost, worked out from its request before it is sent.

The spending limit reserves this much for every call in flight, so that calls made at
the same time cannot together pass the limit (see ``helpers/budget.py``).

- Output: at most ``max_tokens``, thinking included (the API stops there), for each model call: a server
  tool's use (web search) ends one call and the model is called again with the same ``max_tokens``, so
  with tools that allow ``max_uses`` uses the call can output up to ``(1 + max_uses) * max_tokens``
  (SDK 2.17 ``message_create_params.py``: ``usage.output_tokens`` can exceed ``max_tokens``).
- Input: at most one token per byte of the request body, plus a margin for the prompt the
  API adds when tools are defined (token text is cut from the request's UTF-8 bytes, so a
  token never stands for less than one byte). Content the body only points to (an image or
  file by URL or file id, a PDF whose pages count as images) can be far larger than its
  reference, so such requests are bounded by the model's whole context window instead.
- Price: the catalog's rates for that many tokens, long-context rates included; with
  ``cache_control`` anywhere, input may be written to the cache at up to twice the input
  rate (the 1-hour cache). An Anthropic-defined tool with a per-use fee (web search) adds
  that fee times the uses its definition allows (``max_uses``); without that limit, or
  with a tool whose fee the catalog does not list, the call has no price bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from . import catalog
from .catalog import cache_prices

TOOL_PROMPT_MARGIN = 1_000
"""Tokens allowed for the system prompt the API adds when ``tools`` are given: at most 530 in the
table at https://docs.anthropic.com/en/docs/tool-use-pricing-and-tokens."""

REFERENCED_SOURCES = ("url", "file")


@dataclass(frozen=True)
class CallBound:
    tokens: int  # input + output tokens the call can use at most
    usd: Optional[float]  # the most it can cost; None when the kit cannot price it
    unpriced: str = ""  # why ``usd`` is None, in words
    fix: str = ""  # what the caller can change so that the call has a price bound, when anything can


def _walk(value: Any) -> Iterator[dict]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _references_content(body: dict) -> bool:
    for item in _walk(body.get("messages")):
        source = item.get("source")
        if item.get("type") == "document" or (isinstance(source, dict) and source.get("type") in REFERENCED_SOURCES):
            return True
    return False


def _anthropic_tools(body: dict) -> list[str]:
    """Tools defined by Anthropic (web search, code execution, ...): some carry fees the catalog does not list."""
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    return [str(t.get("type")) for t in tools
            if isinstance(t, dict) and "input_schema" not in t and t.get("type") not in (None, "custom")]


def _tool_fees(body: dict) -> tuple[float, int, str, str]:
    """The most the Anthropic-defined tools can add in per-use fees and how many uses they allow in all,
    or why that has no bound and the fix."""
    fees, all_uses = 0.0, 0
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    for kind in _anthropic_tools(body):
        price = catalog.server_tool_price(kind)
        if price is None:
            return 0.0, 0, (f"the Anthropic-defined tool {kind!r} may add per-use fees that the kit's catalog does "
                            "not list (it prices tokens only)"), ""
        definition = next(t for t in tools if isinstance(t, dict) and str(t.get("type")) == kind)
        uses = _count(definition.get(price.limit_field))
        if not uses:
            return 0.0, 0, (f"the {price.name} tool sets no \"{price.limit_field}\", so its uses "
                            f"(${price.usd_per_use:g} each) have no upper bound"), (
                f"Add \"{price.limit_field}\": 3 (or another cap) to the {price.name} tool's definition.")
        fees += uses * price.usd_per_use
        all_uses += uses
    return fees, all_uses, "", ""


def _unpriced_model(body: dict, entry: Optional[catalog.ModelEntry]) -> str:
    """Why the model's token rates for this call are not in the catalog (empty when they are)."""
    if entry is None:
        return f"the kit's catalog has no price for the model {body.get('model')!r}"
    if body.get("speed") == "fast":
        return "fast mode (speed='fast') is billed at premium rates that the kit's catalog does not list"
    return ""


def bound(body: Any) -> CallBound:
    """The most the call with this JSON body can use and cost."""
    if not isinstance(body, dict):
        return CallBound(0, 0.0)
    model = body.get("model")
    entry = catalog.lookup(model) if isinstance(model, str) else None
    output = _count(body.get("max_tokens"))
    size = len(json.dumps(body, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))
    input_tokens = size + (TOOL_PROMPT_MARGIN if body.get("tools") else 0)
    if entry is not None:
        window = entry.context_window
        input_tokens = window if _references_content(body) or _anthropic_tools(body) else min(input_tokens, window)
    model_reason = _unpriced_model(body, entry)
    if model_reason:
        return CallBound(input_tokens + output, None, model_reason)
    fees, uses, reason, fix = _tool_fees(body)
    if reason:
        return CallBound(input_tokens + output, None, reason, fix)
    output *= 1 + uses  # each use can end a model call; the next has its own max_tokens
    priced_input = input_tokens * (cache_prices().write_1h if any("cache_control" in d for d in _walk(body)) else 1)
    return CallBound(input_tokens + output, entry.price.cost_usd(int(priced_input), output) + fees)


def batch_bound(body: Any) -> CallBound:
    """The most a Message Batch with this JSON body (``{"requests": [{"custom_id", "params"}, ...]}``) can use
    and cost: each request's bound, with the dollars at the batch discount (``catalog.batch_multiplier()``)."""
    requests = body.get("requests") if isinstance(body, dict) else None
    tokens, usd, unpriced = 0, 0.0, None
    for request in requests if isinstance(requests, list) else []:
        one = bound(request.get("params") if isinstance(request, dict) else None)
        tokens += one.tokens
        if one.usd is None and unpriced is None:
            custom_id = request.get("custom_id") if isinstance(request, dict) else None
            unpriced = CallBound(0, None, f"in the batch's request {custom_id!r}, {one.unpriced}", one.fix)
        usd += one.usd or 0.0
    if unpriced is not None:
        return CallBound(tokens, None, unpriced.unpriced, unpriced.fix)
    return CallBound(tokens, usd * catalog.batch_multiplier())
