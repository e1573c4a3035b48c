"""trim_to_budget: the longest valid suffix within the budget, never splitting a tool call, never losing the newest turn."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import DEFAULT_MODEL, Conversation, TrimError, api_counter, connect, trim_to_budget
from helpers.conversation import history_problems
from helpers.trim import estimate

WORDS = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=40).map(lambda s: s.strip() or "x")


@st.composite
def histories(draw):
    """Valid histories: user turns, plain or tool-calling assistant turns, tool results answered."""
    messages, n = [], 0
    for _ in range(draw(st.integers(1, 12))):
        messages.append({"role": "user", "content": draw(WORDS)})
        if draw(st.booleans()):
            n += 1
            tool_id = f"toolu_{n:04d}"
            messages.append({"role": "assistant", "content": [
                {"type": "text", "text": draw(WORDS)},
                {"type": "tool_use", "id": tool_id, "name": "lookup", "input": {"q": draw(WORDS)}}]})
            messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": draw(WORDS)}]})
        messages.append({"role": "assistant", "content": draw(WORDS)})
    if draw(st.booleans()):
        messages.append({"role": "user", "content": draw(WORDS)})
    return messages


def _cost(messages):
    return sum(estimate(m) for m in messages)


def _starts(messages):
    return [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], str)]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(histories(), st.floats(0, 1))
def test_trimmed_histories_are_valid_within_budget_and_keep_the_newest_turn(messages, share):
    newest = _starts(messages)[-1]
    least = _cost(messages[newest:])
    budget = int(least + share * (_cost(messages) - least))
    trimmed = trim_to_budget(messages, budget)

    assert not [p for p in history_problems(trimmed) if p.blocking]
    assert trimmed[0]["role"] == "user" and isinstance(trimmed[0]["content"], str)
    assert _cost(trimmed) <= budget
    assert trimmed[-1] is messages[-1] and trimmed == messages[len(messages) - len(trimmed):]
    assert len(trimmed) <= len(messages)
    assert trim_to_budget(trimmed, budget) == trimmed
    # Longest: the next valid start further back would not fit.
    earlier = [i for i in _starts(messages) if i < len(messages) - len(trimmed)]
    if earlier:
        assert _cost(messages[earlier[-1]:]) > budget


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(histories())
def test_a_budget_below_the_newest_turn_is_a_clear_error(messages):
    newest = _starts(messages)[-1]
    with pytest.raises(TrimError, match=rf"turn {newest}.*more than the budget"):
        trim_to_budget(messages, _cost(messages[newest:]) - 1)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(histories(), st.floats(0, 1))
def test_keep_first_keeps_the_first_turn_and_stays_valid(messages, share):
    newest = _starts(messages)[-1]
    least = _cost(messages[newest:]) + (estimate(messages[0]) if newest else 0)
    budget = int(least + share * (_cost(messages) - least))
    trimmed = trim_to_budget(messages, budget, keep_first=True)
    assert trimmed[0] is messages[0] and trimmed[-1] is messages[-1]
    assert _cost(trimmed) <= budget
    assert not [p for p in history_problems(trimmed) if p.blocking]


def test_the_system_prompt_counts_against_the_budget():
    messages = [{"role": "user", "content": "a " * 20}, {"role": "assistant", "content": "b " * 20}, {"role": "user", "content": "c"}]
    budget = _cost(messages)
    assert trim_to_budget(messages, budget) == messages
    assert trim_to_budget(messages, budget, system="be brief") == messages[2:]


def test_counts_are_cached_so_a_new_turn_is_the_only_new_count():
    calls = []

    def count(message):
        calls.append(message["content"])
        return estimate(message)

    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(201)]
    trim_to_budget(messages, 500, count=count)
    assert len(calls) == 201
    messages += [{"role": "assistant", "content": "turn 201"}, {"role": "user", "content": "turn 202"}]
    trim_to_budget(messages, 500, count=count)
    assert calls[201:] == ["turn 201", "turn 202"]


def test_no_user_turn_and_bad_keep_first_are_explained():
    with pytest.raises(TrimError, match="no plain user turn"):
        trim_to_budget([{"role": "assistant", "content": "hi"}], 100)
    with pytest.raises(TrimError, match="first turn.*plain user turn"):
        trim_to_budget([{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}], 100, keep_first=True)
    assert trim_to_budget([], 10) == []


def test_conversation_trim_and_the_api_counter():
    client = connect("offline", quiet=True)
    conversation = Conversation(system="Answer briefly.")
    for question in ("Hello", "List three colors", "Count to ten"):
        conversation.add_user(question)
        conversation.send(client, max_tokens=40)
    count = api_counter(client, DEFAULT_MODEL)
    for message in conversation.messages:
        assert count(message) == estimate(message)  # offline, count_tokens uses the same estimate
    full = _cost(conversation.messages) + estimate({"role": "system", "content": "Answer briefly."})
    conversation.trim(full - 1)
    assert conversation.messages[0]["content"] == "List three colors" and len(conversation) == 4


def test_histories_holding_sdk_blocks_from_to_param_are_trimmed():
    client = connect("offline", quiet=True)
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=messages, tools=[tool])
    messages.append(reply.to_param())  # content: SDK block objects, not dicts
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": reply.content[-1].id, "content": "18 C"}]})
    messages.append({"role": "assistant", "content": "It is 18 C."})
    messages.append({"role": "user", "content": "Thanks"})
    assert history_problems(messages) == []
    assert trim_to_budget(messages, 10_000) == messages
    assert trim_to_budget(messages, _cost(messages) - 1) == messages[-1:]
    assert estimate(messages[1]) > estimate({"role": "assistant", "content": ""})
