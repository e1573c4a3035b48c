"""Graders of lesson 06: right answers pass, wrong ones get a hint that names the mechanic."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_MODEL, Conversation, catalog, check, connect, trim_to_budget, usage_log
from helpers.trim import estimate

BUDGET = 250
TOOL = {
    "name": "get_weather",
    "description": "The weather forecast for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True, max_retries=0)


@pytest.fixture(scope="module")
def history(client):
    """A long conversation made of real offline replies, with one tool round trip near the end.

    The tools go with every request: the default model binds its thinking blocks to the conversation before
    them, tools included, so adding tools midway would void the earlier blocks.
    """
    chat = Conversation(model=DEFAULT_MODEL)
    chat.add_user("My name is Ada and my plot is 6 by 4 metres of clay.")
    chat.send(client, max_tokens=60, tools=[TOOL])
    for n in range(1, 11):
        chat.add_user(f"Question {n}: which vegetable should I add to bed {n % 3 + 1}?")
        chat.send(client, max_tokens=60, tools=[TOOL])
    chat.add_user("What is the weather in Lyon this week?")
    chat.send(client, max_tokens=120, tools=[TOOL])  # the offline backend calls get_weather
    call = chat.messages[-1]["content"][-1]
    assert call["type"] == "tool_use"
    chat.add_user([{"type": "tool_result", "tool_use_id": call["id"], "content": "3 to 12 °C, frost on two nights"}])
    chat.send(client, max_tokens=60, tools=[TOOL])
    for n in range(2):
        chat.add_user(f"Follow-up {n}: anything else to plan?")
        # Tool blocks are in the history now, so every request must define the tools.
        chat.send(client, max_tokens=60, tools=[TOOL], tool_choice={"type": "none"})
    chat.add_user("What should I do this weekend?")
    return chat.messages


def tokens_of(messages):
    return sum(estimate(m) for m in messages)


def tool_result_index(history):
    return next(i for i, m in enumerate(history)
                if isinstance(m["content"], list) and m["content"][0].get("type") == "tool_result")


def test_budget_trim_passes_trim_to_budget_with_keep_first(history):
    assert tokens_of(history) > BUDGET
    trimmed = trim_to_budget(history, BUDGET, keep_first=True)
    result = check.lesson06.budget_trim(trimmed, history, BUDGET)
    assert result.passed, result


def test_budget_trim_accepts_a_hand_made_trim_that_starts_at_a_user_question(history):
    room = BUDGET - estimate(history[0])
    start, total = len(history), 0
    for i in range(len(history) - 1, 0, -1):
        total += estimate(history[i])
        if total > room:
            break
        if history[i]["role"] == "user" and isinstance(history[i]["content"], str):
            start = i
    result = check.lesson06.budget_trim([history[0], *history[start:]], history, BUDGET)
    assert result.passed, result


def test_budget_trim_hints_name_the_mechanic(history):
    first, result_at = history[0], tool_result_index(history)

    def hinted(trimmed, words, *, budget=BUDGET, given=history):
        result = check.lesson06.budget_trim(trimmed, given, budget)
        assert not result.passed and words in result.message, result

    hinted(None, "set `trimmed`")
    hinted("turns", "list of turns")
    hinted([], "is empty")
    hinted(list(history), "whole history")
    hinted(trim_to_budget(history, BUDGET), "first turn")
    hinted([first], "newest turns")
    hinted([first, *history[result_at:]], "tool_result whose tool_use was cut off", budget=10_000)
    hinted([first, *history[-9:-2]], "newest turns")
    hinted([first, *history[result_at - 3:]], "over the budget")
    hinted([first, history[-1]], "keep as many of the newest turns as fit")
    hinted(trim_to_budget(history, BUDGET, keep_first=True), "call the grader as in the exercise", given=None)


def test_message_cost_passes_the_catalog_price(client):
    def message_cost(message):
        u = message.usage
        total = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
        return catalog.cost_usd(message.model, total, u.output_tokens)

    result = check.lesson06.message_cost(message_cost)
    assert result.passed, result
    result = check.lesson06.message_cost(lambda m: catalog.get(m.model).price.cost_usd(m.usage.input_tokens, m.usage.output_tokens))
    assert result.passed, result


def by_hand(message):
    price = catalog.get(message.model).price
    return (message.usage.input_tokens * price.input + message.usage.output_tokens * price.output) / 1_000_000


@pytest.mark.parametrize("wrong, words", [
    (None, "define `message_cost(message)`"),
    (lambda m: None, "returned None"),
    (lambda m: "$0.01", "as a number"),
    (lambda m: m.usage.missing, "raised AttributeError"),
    (by_hand, "long-context rate"),
    (lambda m: by_hand(m) * 1_000_000, "per million tokens"),
    (lambda m: catalog.get(m.model).price.cost_usd(m.usage.output_tokens, m.usage.input_tokens), "different prices"),
    (lambda m: (m.usage.input_tokens + m.usage.output_tokens) * catalog.get(m.model).price.input / 1_000_000,
     "output tokens cost more"),
    (lambda m: catalog.cost_usd(DEFAULT_MODEL, m.usage.input_tokens, m.usage.output_tokens), "the model that answered"),
])
def test_message_cost_hints_name_the_mechanic(wrong, words):
    result = check.lesson06.message_cost(wrong)
    assert not result.passed and words in result.message, result


def counted(client, model, messages):
    return client.messages.count_tokens(model=model, messages=messages).input_tokens


def test_fit_max_tokens_passes_a_counted_fit():
    def fit_max_tokens(client, model, messages, wanted):
        entry = catalog.get(model)
        return max(0, min(wanted, entry.context_window - counted(client, model, messages), entry.max_output_tokens))

    result = check.lesson06.fit_max_tokens(fit_max_tokens)
    assert result.passed, result


def sends_it(client, model, messages, wanted):
    client.messages.create(model=model, max_tokens=1, messages=messages)
    return wanted


@pytest.mark.parametrize("wrong, words", [
    (None, "define `fit_max_tokens"),
    (lambda client, model, messages, wanted: wanted, "never called `client.messages.count_tokens`"),
    (sends_it, "only count it"),
    (lambda client, model, messages: 1, "raised TypeError"),
    (lambda c, model, messages, wanted: float(min(wanted, catalog.get(model).max_output_tokens, catalog.get(model).context_window - counted(c, model, messages))),
     "as an int"),
    (lambda c, model, messages, wanted: min(wanted, catalog.get(model).max_output_tokens) + 0 * counted(c, model, messages),
     "would overflow"),
    (lambda c, model, messages, wanted: min(wanted, catalog.get(model).context_window - counted(c, model, messages)),
     "max_output_tokens"),
    (lambda c, model, messages, wanted: catalog.get(model).context_window - counted(c, model, messages),
     "never ask for more than `wanted`"),
    (lambda c, model, messages, wanted: min(wanted, catalog.get(model).max_output_tokens, catalog.get(model).context_window - counted(c, model, messages)) // 2,
     "leaves room unused"),
])
def test_fit_max_tokens_hints_name_the_mechanic(wrong, words):
    result = check.lesson06.fit_max_tokens(wrong)
    assert not result.passed and words in result.message, result


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson06.message_cost(lambda m: 0.0)
    check.lesson06.fit_max_tokens(lambda c, model, messages, wanted: counted(c, model, messages) and wanted)
    assert len(usage_log) == before


def test_count_tokens_calls_use_no_tokens_in_the_usage_totals(client):
    tokens_before = usage_log.total_input_tokens
    client.messages.count_tokens(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "ant " * 5_000}])
    assert usage_log.records[-1].kind == "count_tokens" and usage_log.records[-1].input_tokens > 5_000
    assert usage_log.total_input_tokens == tokens_before
