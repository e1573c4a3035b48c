"""Lesson 07 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_MODEL, check, connect, usage_log

LESSON = "07_tokens_and_cost.ipynb"
COST, FIT = "cell-67", "cell-69"


# 07.1 the cost of a call

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


# 07.2 a max_tokens that fits the window

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
    check.lesson07.message_cost(lambda m: 0.0)
    check.lesson07.fit_max_tokens(lambda client, model, messages, wanted: wanted)
    assert len(usage_log) == before


def test_count_tokens_calls_use_no_tokens_in_the_usage_totals():
    client = connect("offline", quiet=True)
    tokens_before = usage_log.total_input_tokens
    client.messages.count_tokens(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "ant " * 5_000}])
    assert usage_log.records[-1].kind == "count_tokens" and usage_log.records[-1].input_tokens > 5_000
    assert usage_log.total_input_tokens == tokens_before
