"""Prompt caching through the SDK: writes, reads, expiry, minimums, prefixes and the usage fields.

Source: https://platform.claude.com/docs/en/build-with-claude/prompt-caching (the prefix is
tools, then system, then messages, up to each ``cache_control`` block; the first call reports
``cache_creation_input_tokens``, the next ``cache_read_input_tokens``; the three input fields add up
to the whole input; entries live 5 minutes, or an hour with ``ttl: "1h"``, and a hit refreshes
them; prompts under the model's minimum are not cached; the cache looks back about 20 blocks).
"""

from __future__ import annotations

import uuid

import pytest

from helpers import DEFAULT_MODEL, catalog
from helpers.offline import prompt_cache, tokens

MINIMUM = catalog.get(DEFAULT_MODEL).min_cacheable_tokens
SENTENCE = "Prompt caching keeps the exact prefix of a request for a few minutes. "


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    """A fresh, empty cache on a clock the test moves (every variant starts from nothing)."""
    saved = prompt_cache.cache.clock
    fake = Clock()
    prompt_cache.cache.clock = fake
    prompt_cache.cache.clear()
    yield fake
    prompt_cache.cache.clock = saved
    prompt_cache.cache.clear()


def long_text(tokens_at_least: int) -> str:
    text = f"[{uuid.uuid4().hex}] "
    tokenizer = catalog.get(DEFAULT_MODEL).tokenizer
    while tokens.count_text(text, tokenizer) < tokens_at_least:
        text += SENTENCE * 10
    return text


def cached_system(text: str, **marker) -> list[dict]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral", **marker}}]


def ask(api, question: str = "What is cached?", **params):
    params.setdefault("model", DEFAULT_MODEL)
    params.setdefault("max_tokens", 64)
    params.setdefault("messages", [{"role": "user", "content": question}])
    return api.create(**params)


def total_input(usage) -> int:
    return usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens


def test_first_call_writes_the_next_reads_and_totals_match_count_tokens(api, clock):
    system = cached_system(long_text(MINIMUM + 100))
    first = ask(api, system=system).usage
    second = ask(api, system=system).usage
    counted = api.count_tokens(model=DEFAULT_MODEL, system=system, messages=[{"role": "user", "content": "What is cached?"}])
    assert first.cache_creation_input_tokens >= MINIMUM and first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens > 0  # the question after the breakpoint is never cached
    assert total_input(first) == total_input(second) == counted


def test_an_entry_expires_after_five_minutes_and_a_hit_refreshes_it(api, clock):
    system = cached_system(long_text(MINIMUM + 50))
    written = ask(api, system=system).usage.cache_creation_input_tokens
    clock.now += 299
    assert ask(api, system=system).usage.cache_read_input_tokens == written  # still there, and refreshed
    clock.now += 299
    assert ask(api, system=system).usage.cache_read_input_tokens == written  # 598 s after the write
    clock.now += 301
    expired = ask(api, system=system).usage
    assert expired.cache_read_input_tokens == 0 and expired.cache_creation_input_tokens == written


def test_one_hour_ttl_outlives_five_minutes_and_is_reported_apart(api, clock):
    system = cached_system(long_text(MINIMUM + 50), ttl="1h")
    first = ask(api, system=system).usage
    assert first.cache_creation.ephemeral_1h_input_tokens == first.cache_creation_input_tokens > 0
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    clock.now += 59 * 60
    assert ask(api, system=system).usage.cache_read_input_tokens == first.cache_creation_input_tokens
    clock.now += 60 * 60 + 1
    assert ask(api, system=system).usage.cache_read_input_tokens == 0


def test_a_prompt_under_the_models_minimum_is_not_cached_and_is_no_error(api, clock):
    system = cached_system("A short system prompt.")
    for _ in range(2):
        usage = ask(api, system=system).usage
        assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
        assert usage.input_tokens > 0


def test_any_change_before_the_breakpoint_misses_and_a_change_after_it_hits(api, clock):
    text = long_text(MINIMUM + 50)
    written = ask(api, system=cached_system(text)).usage.cache_creation_input_tokens
    assert ask(api, "Another question entirely?", system=cached_system(text)).usage.cache_read_input_tokens == written
    changed = ask(api, system=cached_system(text + " One more sentence.")).usage
    assert changed.cache_read_input_tokens == 0 and changed.cache_creation_input_tokens > written
    other_model = next(m for m in catalog.available() if m.id != DEFAULT_MODEL and m.min_cacheable_tokens
                       and m.min_cacheable_tokens <= MINIMUM and not m.invite_only)
    elsewhere = ask(api, model=other_model.id, system=cached_system(text)).usage
    assert elsewhere.cache_read_input_tokens == 0  # the cache is per model


def test_tools_come_first_in_the_prefix(api, clock):
    tool = {"name": "lookup_fact", "description": long_text(MINIMUM + 50),
            "input_schema": {"type": "object", "properties": {}}, "cache_control": {"type": "ephemeral"}}
    first = ask(api, tools=[tool], system="First system prompt.").usage
    assert first.cache_creation_input_tokens > MINIMUM
    # The system prompt comes after the tools: changing it keeps the tools' cache.
    second = ask(api, tools=[tool], system="A different system prompt.").usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens


def test_a_growing_conversation_reads_the_turns_cached_before(api, clock):
    """The breakpoint moves to the newest turn each call; the lookback finds the previous write."""
    history = [{"role": "user", "content": [{"type": "text", "text": long_text(MINIMUM + 50),
                                             "cache_control": {"type": "ephemeral"}}]}]
    first = ask(api, messages=history).usage
    history[0]["content"][0].pop("cache_control")
    history += [{"role": "assistant", "content": "Noted."},
                {"role": "user", "content": [{"type": "text", "text": "And then?", "cache_control": {"type": "ephemeral"}}]}]
    second = ask(api, messages=history).usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens > 0  # the new turns, up to the moved breakpoint
    assert second.input_tokens == 0  # nothing comes after the breakpoint on the last block


def test_request_level_cache_control_caches_up_to_the_last_block(api, clock):
    messages = [{"role": "user", "content": long_text(MINIMUM + 50)}]
    first = ask(api, messages=messages, cache_control={"type": "ephemeral"}).usage
    second = ask(api, messages=messages, cache_control={"type": "ephemeral"}).usage
    assert first.cache_creation_input_tokens > MINIMUM and first.input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens


def test_two_breakpoints_write_each_segment_with_its_own_ttl(api, clock):
    system = [{"type": "text", "text": long_text(MINIMUM + 50), "cache_control": {"type": "ephemeral", "ttl": "1h"}},
              {"type": "text", "text": long_text(200), "cache_control": {"type": "ephemeral"}}]
    first = ask(api, system=system).usage
    split = first.cache_creation
    assert split.ephemeral_1h_input_tokens > MINIMUM and split.ephemeral_5m_input_tokens > 100
    clock.now += 301  # the 5-minute segment is gone, the hour-long one is not
    later = ask(api, system=system).usage
    assert later.cache_read_input_tokens == split.ephemeral_1h_input_tokens
    assert later.cache_creation.ephemeral_5m_input_tokens == split.ephemeral_5m_input_tokens


def test_a_streamed_reply_reports_the_cache_in_message_start(api, clock):
    system = cached_system(long_text(MINIMUM + 50))
    written = ask(api, system=system).usage.cache_creation_input_tokens
    events = api.stream_events(model=DEFAULT_MODEL, max_tokens=32, system=system,
                               messages=[{"role": "user", "content": "Streamed?"}])
    start = events[0].message.usage
    assert start.cache_read_input_tokens == written and start.cache_creation_input_tokens == 0
    assert events[-2].usage.cache_read_input_tokens == written


def test_the_usage_log_prices_cache_reads_and_writes(api, clock):
    if not api.variant.endswith("inprocess"):
        pytest.skip("the usage log records calls made through connect()")
    from helpers import usage_log
    system = cached_system(long_text(MINIMUM + 50))
    ask(api, system=system)
    ask(api, system=system)
    write, read = usage_log.records[-2], usage_log.records[-1]
    price = catalog.get(DEFAULT_MODEL).price
    factors = catalog.cache_prices()
    expected_write = ((write.input_tokens + write.cache_creation_input_tokens * factors.write_5m) * price.input
                      + write.output_tokens * price.output) / 1e6
    expected_read = ((read.input_tokens + read.cache_read_input_tokens * factors.read) * price.input
                     + read.output_tokens * price.output) / 1e6
    assert write.cost_usd == pytest.approx(expected_write)
    assert read.cost_usd == pytest.approx(expected_read)
    assert write.cache_saved_usd < 0 < read.cache_saved_usd
    assert read.cache_saved_usd == pytest.approx(read.cache_read_input_tokens * (1 - factors.read) * price.input / 1e6)


def test_the_cache_stays_bounded(clock):
    limit = prompt_cache.cache.LIMIT
    try:
        prompt_cache.PromptCache.LIMIT = 8
        small = prompt_cache.PromptCache(clock=clock)
        for n in range(20):
            body = {"model": DEFAULT_MODEL, "system": cached_system(long_text(MINIMUM + 10)),
                    "messages": [{"role": "user", "content": "hi"}]}
            total = tokens.count_input(body, "4.7+")
            assert small.account(body, total, "4.7+", MINIMUM).cache_creation_input_tokens > 0
        assert len(small) == 8
    finally:
        prompt_cache.PromptCache.LIMIT = limit


def test_changing_tool_choice_misses_the_messages_cache_but_keeps_the_systems(api, clock):
    """The docs' invalidation table: tool_choice changes invalidate message blocks, not tools or system."""
    tool = {"name": "lookup_fact", "description": "Looks up a fact.", "input_schema": {"type": "object", "properties": {}}}
    system = cached_system(long_text(MINIMUM + 50))
    turn = [{"role": "user", "content": [{"type": "text", "text": long_text(200), "cache_control": {"type": "ephemeral"}}]}]
    first = ask(api, system=system, messages=turn, tools=[tool]).usage
    same = ask(api, system=system, messages=turn, tools=[tool]).usage
    changed = ask(api, system=system, messages=turn, tools=[tool], tool_choice={"type": "none"}).usage
    assert same.cache_read_input_tokens == first.cache_creation_input_tokens
    system_part = first.cache_creation_input_tokens - (same.cache_read_input_tokens - changed.cache_read_input_tokens)
    assert 0 < changed.cache_read_input_tokens < same.cache_read_input_tokens  # the system's entry only
    assert changed.cache_creation_input_tokens == same.cache_read_input_tokens - changed.cache_read_input_tokens
    assert system_part == changed.cache_read_input_tokens


def test_concurrent_requests_through_the_loopback_server_write_the_prefix_once(loopback_url, clock):
    """The server answers in worker threads; the cache reads and writes each request's prefixes in one step."""
    from concurrent.futures import ThreadPoolExecutor

    import anthropic

    from contract_support import LOOPBACK_KEY

    system = cached_system(long_text(MINIMUM + 50))
    with anthropic.Anthropic(api_key=LOOPBACK_KEY, base_url=loopback_url, max_retries=0) as client:
        def one(n: int):
            return client.messages.create(model=DEFAULT_MODEL, max_tokens=16, system=system,
                                          messages=[{"role": "user", "content": f"Question {n}?"}]).usage

        with ThreadPoolExecutor(max_workers=6) as pool:
            usages = list(pool.map(one, range(24)))
    writes = [u for u in usages if u.cache_creation_input_tokens]
    assert len(writes) == 1
    assert all(u.cache_read_input_tokens == writes[0].cache_creation_input_tokens for u in usages if u not in writes)


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_refused(api, clock):
    """Prompt-caching docs: "cache entries with longer TTL must appear before shorter TTLs"."""
    import anthropic

    from contract_support import check_error
    from helpers.offline.wording import say

    hour = {"type": "ephemeral", "ttl": "1h"}
    five = {"type": "ephemeral"}
    tool = {"name": "lookup_fact", "description": "Looks up a fact.", "input_schema": {"type": "object"}}
    turn = [{"role": "user", "content": [{"type": "text", "text": "Hello", "cache_control": hour}]}]
    with pytest.raises(anthropic.BadRequestError) as info:
        ask(api, tools=[dict(tool, cache_control=five)], messages=turn)
    check_error(info.value, 400, "invalid_request_error", say("cache_ttl_order"))
    assert ask(api, tools=[dict(tool, cache_control=hour)], messages=[
        {"role": "user", "content": [{"type": "text", "text": "Hello", "cache_control": five}]}]).content
