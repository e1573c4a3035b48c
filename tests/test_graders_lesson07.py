"""Lesson 07 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_MODEL, catalog, check, connect, usage_log

LESSON = "07_tokens_and_cost.ipynb"
COST, FIT = "cell-67", "cell-69"


# 07.1 the cost of a call

COST_RIGHT = """usage = message.usage
return catalog.cost_usd(message.model, usage.input_tokens, usage.output_tokens,
                        cache_write_5m=usage.cache_creation_input_tokens or 0,
                        cache_read=usage.cache_read_input_tokens or 0)"""

COST_WITH_THE_HOUR_SPLIT = """usage = message.usage
written = usage.cache_creation_input_tokens or 0
hour = (usage.cache_creation.ephemeral_1h_input_tokens or 0) if usage.cache_creation else 0
return catalog.get(message.model).price.cost_usd(usage.input_tokens, usage.output_tokens,
                                                  cache_read=usage.cache_read_input_tokens or 0,
                                                  cache_write_5m=written - hour, cache_write_1h=hour)"""

COST_BY_HAND_IN_DECIMAL = """from decimal import Decimal
u = message.usage
price = catalog.get(message.model).price
cache = catalog.cache_prices()
written, read = u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0
rate_in, rate_out = price.input, price.output
if price.long_context_above is not None and u.input_tokens + written + read > price.long_context_above:
    rate_in, rate_out = price.long_context_input, price.long_context_output
weighted = u.input_tokens + Decimal(str(cache.write_5m)) * written + Decimal(str(cache.read)) * read
return (weighted * Decimal(str(rate_in)) + Decimal(u.output_tokens) * Decimal(str(rate_out))) / Decimal(1_000_000)"""

PLAIN_INPUT_PRICE = """usage = message.usage
total_input = usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
return catalog.cost_usd(message.model, total_input, usage.output_tokens)"""


@pytest.mark.parametrize("body", [
    COST_RIGHT,
    COST_RIGHT.replace("return catalog", "return round(catalog") + ", 6)",   # rounded as the lesson prints costs
    COST_WITH_THE_HOUR_SPLIT,                                               # lesson 12's answer prices these too
    COST_BY_HAND_IN_DECIMAL,
    COST_BY_HAND_IN_DECIMAL.replace("return (", "return round((") + ", 6)",
])
def test_message_cost_right_answers_pass(learner, body):
    result = learner.answer(COST, body)
    assert result.passed, result
    assert "prompt cache, priced at the cache rates" in result.message


def test_the_exercise_asks_for_the_cache_rates(lesson):
    text = "".join(lesson.cells["cell-66"]["source"])
    assert "cache writes and reads" in text and "cache_prices()" in text


@pytest.mark.parametrize("lazy, words", [
    ("return catalog.cost_usd(message.model, message.usage.input_tokens, message.usage.output_tokens)",
     "leaves out the cache"),
    (PLAIN_INPUT_PRICE, "prices the cache tokens at the plain input price"),
    (PLAIN_INPUT_PRICE.replace("+ (usage.cache_read_input_tokens or 0)", "").replace(
        "usage.output_tokens)", "usage.output_tokens, cache_read=usage.cache_read_input_tokens or 0)"),
     "prices the cache writes at the plain input price"),
    (COST_RIGHT.replace("cache_read=usage.cache_read_input_tokens or 0)", ")").replace(
        "usage.input_tokens, usage", "usage.input_tokens + (usage.cache_read_input_tokens or 0), usage"),
     "prices the cache reads at the plain input price"),
    ("return 0.000049", "seed"),                                      # typed in from the solution's printout
    ("return costs[0]", "seed"),                                      # the lesson's own first-turn cost
    (COST_BY_HAND_IN_DECIMAL.replace("u.input_tokens + written + read >", "u.input_tokens >"),
     "long-context rate"),                                           # the threshold without the cache
    ("""u = message.usage
price, cache = catalog.get(message.model).price, catalog.cache_prices()
written, read = u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0
weighted = u.input_tokens + cache.write_5m * written + cache.read * read
return (weighted * price.input + u.output_tokens * price.output) / 1e6""", "long-context rate"),
    (COST_RIGHT.replace("return catalog", "return round(catalog") + ", 3)", "decimal places"),
    (COST_RIGHT.replace("return catalog", "return 1_000_000 * catalog"), "per million"),
    ("return catalog.cost_usd(DEFAULT_MODEL, message.usage.input_tokens, message.usage.output_tokens)", "seed"),
    ("return check.expected_cost(message)", "PermissionError"),            # the grader's reference
])
def test_message_cost_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(COST, lazy)
    assert not result.passed and words in result.message, result


def test_message_cost_refuses_the_kit_function_itself():
    result = check.lesson07.message_cost(check.lesson07.catalog.cost_usd)
    assert not result.passed and "kit's own functions" in result.message, result


def test_the_plain_input_price_is_refused_whatever_the_draw():
    for seed in range(5):
        result = check.lesson07.message_cost(_plain_input_price, seed=seed)
        assert not result.passed and "at the plain input price" in result.message, (seed, result)
        assert "catalog.cache_prices()" in result.message


def _plain_input_price(message):
    usage = message.usage
    total = usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return catalog.cost_usd(message.model, total, usage.output_tokens)


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
