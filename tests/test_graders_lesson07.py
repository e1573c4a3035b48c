"""Lesson 06 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_MODEL, check, connect, usage_log

LESSON = "06_tokens_and_context.ipynb"
TRIM, COST, FIT = "cell-65", "cell-67", "cell-69"


# 06.1 a history trimmed to a token budget

TRIM_BY_HAND = """first, rest = messages[0], messages[1:]
room = budget - estimate(first)
kept, used, best = [], 0, []
for turn in reversed(rest):
    used += estimate(turn)
    if used > room:
        break
    kept.insert(0, turn)
    content = turn["content"]
    if turn["role"] == "user" and (isinstance(content, str) or all(b["type"] != "tool_result" for b in content)):
        best = list(kept)
return [first] + best"""


@pytest.mark.parametrize("body", ["return trim_to_budget(messages, budget, keep_first=True)", TRIM_BY_HAND])
def test_budget_trim_right_answers_pass(learner, body):
    result = learner.answer(TRIM, body)
    assert result.passed, result


@pytest.mark.parametrize("lazy, words", [
    ("return kept_first", "first turn"),                              # section 7's result, for another history
    ("return long_chat[:1] + long_chat[-6:]", "first turn"),          # typed in for long_chat
    ("return trim_to_budget(messages, budget)", "first turn"),        # forgets keep_first
    ("return [messages[0]] + messages[-3:]", "seed"),                # a fixed count of turns
])
def test_budget_trim_lazy_answers_are_refused(learner, lazy, words):
    result = learner.answer(TRIM, lazy)
    assert not result.passed and words in result.message, result


def test_budget_trim_kit_function_alone_is_refused(learner):
    result = learner.run("check.lesson06.budget_trim(trim_to_budget)")
    assert not result.passed and "keeps it" in result.message


def test_budget_trim_mistakes_name_the_mechanic():
    def over_budget(messages, budget):
        return list(messages)

    def cut_tool_call(messages, budget):
        for i in range(1, len(messages)):
            content = messages[i]["content"]
            if not isinstance(content, str) and any(b["type"] == "tool_result" for b in content):
                return [messages[0]] + messages[i:]
        return [messages[0], messages[-1]]

    def too_short(messages, budget):
        return [messages[0], messages[-1]]

    assert "over the budget" in check.lesson06.budget_trim(over_budget, seed=11).message
    assert "cut off" in check.lesson06.budget_trim(cut_tool_call, seed=11).message or \
           "over the budget" in check.lesson06.budget_trim(cut_tool_call, seed=11).message
    assert "keep as many of the newest turns" in check.lesson06.budget_trim(too_short, seed=11).message


# 06.2 the cost of a call

COST_RIGHT = """usage = message.usage
total_input = usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
return catalog.cost_usd(message.model, total_input, usage.output_tokens)"""


@pytest.mark.parametrize("body", [
    COST_RIGHT,
    COST_RIGHT.replace("return catalog", "return round(catalog") + ", 6)",   # rounded as the lesson prints costs
    """from decimal import Decimal
u = message.usage
price = catalog.get(message.model).price
total = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
rate_in, rate_out = price.input, price.output
if price.long_context_above is not None and total > price.long_context_above:
    rate_in, rate_out = price.long_context_input, price.long_context_output
return (Decimal(total) * Decimal(str(rate_in)) + Decimal(u.output_tokens) * Decimal(str(rate_out))) / Decimal(1_000_000)""",
])
def test_message_cost_right_answers_pass(learner, body):
    result = learner.answer(COST, body)
    assert result.passed, result
    assert "prompt-cache tokens" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return catalog.cost_usd(message.model, message.usage.input_tokens, message.usage.output_tokens)",
     "leaves out the cache"),
    ("return 0.000024", "seed"),                                      # typed in from the solution's printout
    ("""u = message.usage
total = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
return (total * catalog.get(message.model).price.input + u.output_tokens * catalog.get(message.model).price.output) / 1e6""",
     "long-context rate"),
    (COST_RIGHT.replace("return catalog", "return round(catalog") + ", 3)", "decimal places"),
    ("return catalog.cost_usd(DEFAULT_MODEL, message.usage.input_tokens, message.usage.output_tokens)", "seed"),
])
def test_message_cost_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(COST, lazy)
    assert not result.passed and words in result.message, result


# 06.3 a max_tokens that fits the window

FIT_RIGHT = """entry = catalog.get(model)
counted = client.messages.count_tokens(model=model, messages=messages).input_tokens
return max(0, min(wanted, entry.context_window - counted, entry.max_output_tokens))"""


@pytest.mark.parametrize("body", [
    FIT_RIGHT,
    """window = catalog.get(model).context_window
limit = catalog.get(model).max_output_tokens
room = window - client.messages.count_tokens(model=model, messages=messages).input_tokens
return int(min([wanted, room, limit]))""",
])
def test_fit_max_tokens_right_answers_pass(learner, body):
    result = learner.answer(FIT, body)
    assert result.passed, result


@pytest.mark.parametrize("body, words", [
    ("return wanted", "never called"),
    ("""client.messages.count_tokens(model=model, messages=messages)
return 1000""", "1,000"),                                              # the solution's printout, typed in
    ("""client.messages.create(model=model, max_tokens=1, messages=messages)
return wanted""", "only count it"),
    ("""counted = client.messages.count_tokens(model=model, messages=messages).input_tokens
return min(wanted, catalog.get(model).context_window - counted)""", "max_output_tokens"),
    ("""counted = client.messages.count_tokens(model=model, messages=messages).input_tokens
return min(wanted, catalog.get(model).max_output_tokens)""", "overflow"),
])
def test_fit_max_tokens_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(FIT, body)
    assert not result.passed and words in result.message, result


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson06.message_cost(lambda m: 0.0)
    check.lesson06.fit_max_tokens(lambda client, model, messages, wanted: wanted)
    assert len(usage_log) == before


def test_count_tokens_calls_use_no_tokens_in_the_usage_totals():
    client = connect("offline", quiet=True)
    tokens_before = usage_log.total_input_tokens
    client.messages.count_tokens(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "ant " * 5_000}])
    assert usage_log.records[-1].kind == "count_tokens" and usage_log.records[-1].input_tokens > 5_000
    assert usage_log.total_input_tokens == tokens_before
