"""Server-tool turns as of SDK 2.17: max_tokens applies to each model call, and both web search versions run.

Sources: SDK 2.17 ``types/message_create_params.py`` (max_tokens: "A request that uses server tools can call
the model more than once, so ``usage.output_tokens`` can exceed ``max_tokens``"); the web search tool page
(``web_search_20260209`` beside ``web_search_20250305``, the same $10 per 1,000 searches).
"""

from __future__ import annotations

import pytest

from contract_support import params, user
from helpers import DEFAULT_MODEL, catalog
from helpers.offline import tokens

SEARCH_PROMPT = user("Search the latest news about ant colonies.")
NO_THINKING = {"thinking": {"type": "disabled"}}


def _search_tool(version: str) -> dict:
    return {"type": version, "name": "web_search", "max_uses": 3}


def _model_calls(message) -> tuple[int, int]:
    """Output tokens of the model call before the search and of the one after it."""
    tokenizer = catalog.get(DEFAULT_MODEL).tokenizer
    blocks = [b.model_dump(mode="json", exclude_none=True) for b in message.content]
    split = next(i for i, b in enumerate(blocks) if b["type"] == "web_search_tool_result")

    def cost(part):
        return sum(tokens.count_text(b["text"], tokenizer) if b["type"] == "text" else tokens.count_block(b, tokenizer)
                   for b in part)

    return cost(blocks[:split]), cost(blocks[split + 1:])


def test_max_tokens_applies_to_each_model_call_of_a_searched_turn(api):
    full = api.create(**params(SEARCH_PROMPT, tools=[_search_tool("web_search_20250305")], max_tokens=4000,
                               **NO_THINKING))
    before, after = _model_calls(full)
    per_call = max(before, after)
    fits = api.create(**params(SEARCH_PROMPT, tools=[_search_tool("web_search_20250305")], max_tokens=per_call,
                               **NO_THINKING))
    assert fits.stop_reason == "end_turn"
    assert [b.type for b in fits.content] == [b.type for b in full.content]
    assert fits.usage.output_tokens == full.usage.output_tokens > per_call  # the turn outgrows max_tokens
    cut = api.create(**params(SEARCH_PROMPT, tools=[_search_tool("web_search_20250305")], max_tokens=per_call - 1,
                              **NO_THINKING))
    assert cut.stop_reason == "max_tokens"


def test_a_call_without_a_server_tool_still_stops_at_max_tokens(api):
    message = api.create(**params(user("Tell me a long story about ants."), max_tokens=5, **NO_THINKING))
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 5


@pytest.mark.parametrize("version", ["web_search_20250305", "web_search_20260209"])
def test_both_web_search_versions_run_as_a_server_tool(api, version):
    message = api.create(**params(SEARCH_PROMPT, tools=[_search_tool(version)]))
    kinds = [b.type for b in message.content if b.type != "thinking"]
    assert kinds == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert message.usage.server_tool_use.web_search_requests == 1
    assert catalog.server_tool_price(version).usd_per_use == 0.01
