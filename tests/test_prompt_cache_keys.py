"""The offline prompt cache's keys: the same prefix gives the same digests however its text is written, a
different one never does, and a request without a breakpoint is known as such without encoding it."""

from __future__ import annotations

import pytest

from helpers.offline import prompt_cache

TOKENIZER = "4.7+"
TEXT = "Summarise the garden handbook. " * 40


def _digests(body: dict) -> list[bytes]:
    return [point.digest for point in prompt_cache.boundaries(body, TOKENIZER)]


def _body(*contents, **extra) -> dict:
    roles = ("user", "assistant")
    return {"model": "claude-haiku-5-5", "max_tokens": 10, **extra,
            "messages": [{"role": roles[i % 2], "content": c} for i, c in enumerate(contents)]}


def test_a_string_a_text_block_and_a_marked_text_block_are_the_same_prefix():
    plain = _digests(_body(TEXT, "Sure.", "Now in French."))
    assert _digests(_body([{"type": "text", "text": TEXT}], "Sure.", "Now in French.")) == plain
    assert _digests(_body([{"type": "text", "text": TEXT, "citations": None,
                            "cache_control": {"type": "ephemeral"}}], "Sure.", "Now in French.")) == plain


@pytest.mark.parametrize("other", [
    _body(TEXT + " ", "Sure.", "Now in French."),
    _body(TEXT, "Sure", "Now in French."),
    _body([{"type": "text", "text": TEXT}, {"type": "text", "text": "Sure."}], "Now in French."),
    _body(TEXT, "Sure.Now in French."),
    _body([{"type": "text", "text": TEXT, "citations": []}], "Sure.", "Now in French."),
    _body(TEXT, "Sure.", "Now in French.", system="Be brief."),
], ids=["a space more", "a dot less", "turns moved", "two turns joined", "citations", "a system prompt"])
def test_any_other_prefix_gets_other_digests(other):
    plain = _digests(_body(TEXT, "Sure.", "Now in French."))
    assert _digests(other)[-1] != plain[-1]


@pytest.mark.parametrize("body", [
    _body(TEXT),
    _body(TEXT, system="Be brief."),
    _body([{"type": "text", "text": TEXT, "cache_control": {"type": "ephemeral"}}]),
    _body(TEXT, cache_control={"type": "ephemeral", "ttl": "1h"}),
    _body(TEXT, system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]),
    _body(TEXT, tools=[{"name": "t", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}]),
    _body([{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": TEXT, "cache_control": {"type": "ephemeral"}}]}]),
    _body([{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": TEXT}]}]),
], ids=["none", "system, none", "on a block", "request-level", "on the system", "on a tool", "in a tool result",
        "tool result, none"])
def test_has_breakpoint_is_whether_any_boundary_carries_a_ttl(body):
    expected = any(point.ttl for point in prompt_cache.boundaries(body, TOKENIZER))
    assert prompt_cache.has_breakpoint(body) is expected
