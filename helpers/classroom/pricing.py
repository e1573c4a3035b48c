"""What a call may cost before it is sent, and what it cost once the API reported its usage.

Money is counted in whole nano-dollars (10**-9 USD, rounded up), so sums of many small
calls stay exact and a budget comparison never depends on floating-point residue.

The bound comes from ``helpers/call_bound.py`` (the spending limit's own upper bound).
A model the catalog does not know is priced at the highest rates in the catalog, both for
the bound and for the usage it reports, so a new model never spends for free; the API
answers 404 (nothing billed) for a model that does not exist. A web search adds its fee
(catalog) for each search its ``max_uses`` allows, and is charged for the searches the
usage reports. Calls the catalog cannot price at all (a web search without ``max_uses``,
other Anthropic-defined tools with per-use fees, fast mode) are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from .. import catalog
from ..call_bound import bound
from ..usage import _cache_split, _count

NANO = 1_000_000_000


def to_nano(usd: float) -> int:
    return int(math.ceil(round(usd * NANO, 3)))


def to_usd(nano: int) -> float:
    return nano / NANO


@dataclass(frozen=True)
class Hold:
    """The most one call can use: tokens and nano-dollars; ``refusal`` says why it cannot be priced."""

    tokens: int
    nano: int
    refusal: str = ""
    fix: str = ""  # what the learner can change so that the call can be priced, when anything can


@lru_cache(maxsize=1)
def _highest_rate_per_token() -> float:
    """USD per token at the highest input or output rate of any model in the catalog (long context included)."""
    rates = []
    for entry in catalog.models():
        price = entry.price
        rates += [r for r in (price.input, price.output, price.long_context_input, price.long_context_output) if r]
    return max(rates) * catalog.cache_prices().write_1h / 1_000_000


def hold_for(body: Any) -> Hold:
    call = bound(body)
    if call.usd is not None:
        return Hold(call.tokens, to_nano(call.usd))
    model = body.get("model") if isinstance(body, dict) else None
    if isinstance(model, str) and catalog.lookup(model) is None and call.unpriced.startswith("the kit's catalog"):
        return Hold(call.tokens, to_nano(call.tokens * _highest_rate_per_token()))
    return Hold(call.tokens, 0, call.unpriced, call.fix)


def cost_of(model: Optional[str], usage: dict) -> tuple[int, int]:
    """Tokens (input, cache reads and writes, output) and nano-dollars for a reported ``usage``."""
    input_tokens, output_tokens = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    split = _cache_split(usage)
    tokens = input_tokens + output_tokens + sum(split.values())
    entry = catalog.lookup(model) if isinstance(model, str) else None
    if entry is None:
        return tokens, to_nano(tokens * _highest_rate_per_token())
    return tokens, to_nano(entry.price.cost_usd(input_tokens, output_tokens, **split) + catalog.server_tool_fees_usd(usage))
