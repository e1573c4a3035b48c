"""Lesson 12 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check, usage_log

LESSON = "12_prompt_caching.ipynb"
CACHE_HIT, COST, PREDICT = "cell-40", "cell-42", "cell-44"


def test_the_exercise_cells_are_where_the_tests_look():
    from notebooks_support import NOTEBOOKS, load, source

    cells = {c["id"]: source(c) for c in load(NOTEBOOKS / LESSON)["cells"]}
    assert "check.lesson12.cache_hit(" in cells[CACHE_HIT]
    assert "check.lesson12.cache_cost(" in cells[COST]
    assert "check.lesson12.will_be_cached(" in cells[PREDICT]


# 12.1 a second call that reads the cache

IN_SYSTEM = """system = [{"type": "text", "text": "You answer questions about the tool shed."},
          {"type": "text", "text": inventory, "cache_control": {"type": "ephemeral"}}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,
                               messages=[{"role": "user", "content": "Which tools are on shelf A?"}])
second = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,
                                messages=[{"role": "user", "content": "Which tools are lent out?"}])"""

IN_THE_USER_TURN = """def ask(question):
    return client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=[{"role": "user", "content": [
        {"type": "text", "text": inventory, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": question}]}])
first = ask("How many hoes are there?")
second = ask("What was serviced last?")"""

AS_A_DOCUMENT_WITH_A_TOOL = """tool = {"name": "lend_tool", "description": "Lend a tool to a plot.",
        "input_schema": {"type": "object", "properties": {"item": {"type": "string"}}}}
document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": inventory},
            "cache_control": {"type": "ephemeral"}}
turns = lambda q: [{"role": "user", "content": [document, {"type": "text", "text": q}]}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, tools=[tool], messages=turns("Any rakes?"))
second = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, tools=[tool], messages=turns("Any forks?"))"""


@pytest.mark.parametrize("body", [IN_SYSTEM, IN_THE_USER_TURN, AS_A_DOCUMENT_WITH_A_TOOL])
def test_cache_hit_right_answers_pass(learner, body):
    result = learner.answer(CACHE_HIT, body)
    assert result.passed, result
    assert "wrote it to the cache" in result.message and "read from the cache" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("first, second = first_call, second_call", "before this cell"),            # the lesson's own demo
    ("""import anthropic
fake = {"id": "msg_01fake", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1, "cache_creation_input_tokens": 2000,
                  "cache_read_input_tokens": 0}}
first = anthropic.types.Message.model_construct(**fake)
second = anthropic.types.Message.model_construct(**{**fake, "id": "msg_01fake2"})""", "usage log has no request"),
    (IN_SYSTEM.replace("inventory, ", "handbook, "), "does not carry this run's `inventory`"),
    (IN_SYSTEM.replace(', "cache_control": {"type": "ephemeral"}', ""), "no breakpoint"),
    ("""system = [{"type": "text", "text": "You answer questions about the tool shed.",
           "cache_control": {"type": "ephemeral"}}]
ask = lambda q: client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,
                                       messages=[{"role": "user", "content": inventory + "\\n\\n" + q}])
first, second = ask("Any rakes?"), ask("Any forks?")""", "comes before the inventory"),
    (IN_SYSTEM.replace("Which tools are lent out?", "Which tools are on shelf A?"), "same question"),
    (IN_SYSTEM.replace("model=DEFAULT_MODEL", "model=PREFILL_MODEL"), "4,096"),       # under Haiku 4.5's minimum
    (IN_SYSTEM + "\nfirst, second = second, first", "sent before `first`"),
    (IN_SYSTEM + "\nsecond = first", "same reply"),
    (IN_SYSTEM + """
third = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,
                               messages=[{"role": "user", "content": "Is there a sieve?"}])
first, second = second, third""", "instead of writing it"),
    (IN_SYSTEM.replace("""second = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,""",
                       """second = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
                                system=[{"type": "text", "text": "Be brief."}] + system,"""), "read nothing"),
])
def test_cache_hit_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(CACHE_HIT, lazy)
    assert not result.passed and words in result.message, result


def test_cache_hit_needs_both_calls_on_one_model(learner):
    learner.run("""OTHER = next(m.id for m in catalog.available() if m.id != DEFAULT_MODEL and m.lifecycle == "active"
             and not m.invite_only and m.min_cacheable_tokens == catalog.get(DEFAULT_MODEL).min_cacheable_tokens)""")
    result = learner.answer(CACHE_HIT, IN_SYSTEM.replace(
        "second = client.messages.create(model=DEFAULT_MODEL", "second = client.messages.create(model=OTHER"))
    assert not result.passed and "different models" in result.message, result


def test_cache_hit_unsolved_and_a_failed_call(learner):
    assert "`first` is None" in learner.answer(CACHE_HIT).message
    result = learner.answer(CACHE_HIT, """system = [{"type": "text", "text": inventory,
                                         "cache_control": {"type": "ephemeral"}}] * 5
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, system=system,
                               messages=[{"role": "user", "content": "Any rakes?"}])""")
    assert not result.passed and "400" in result.message and "at most four" in result.message, result


def test_cache_hit_wants_the_inventory_drawn_in_this_run(learner):
    """An inventory from an earlier run of the cell is another prefix: the grader asks for the one just drawn."""
    learner.run("old_inventory = check.lesson12.inventory()")
    result = learner.answer(CACHE_HIT, IN_SYSTEM.replace("inventory, ", "old_inventory, "))
    assert not result.passed and "this run's `inventory`" in result.message, result


# 12.2 the cost of a call that used the cache

COST_RIGHT = """usage = message.usage
split = usage.cache_creation
return catalog.cost_usd(message.model, usage.input_tokens, usage.output_tokens,
                        cache_read=usage.cache_read_input_tokens or 0,
                        cache_write_5m=split.ephemeral_5m_input_tokens if split else 0,
                        cache_write_1h=split.ephemeral_1h_input_tokens if split else 0)"""

COST_BY_HAND_IN_DECIMAL = """from decimal import Decimal
usage = message.usage
factors = catalog.cache_prices()
price = Decimal(str(catalog.get(message.model).price.input))
split = usage.cache_creation
five = (split.ephemeral_5m_input_tokens or 0) if split is not None else 0
hour = (split.ephemeral_1h_input_tokens or 0) if split is not None else 0
read = usage.cache_read_input_tokens or 0
input_cost = price * (usage.input_tokens + five * Decimal(str(factors.write_5m)) + hour * Decimal(str(factors.write_1h))
                      + read * Decimal(str(factors.read)))
output_cost = Decimal(str(catalog.get(message.model).price.output)) * usage.output_tokens
return (input_cost + output_cost) / 1_000_000"""


@pytest.mark.parametrize("body", [
    COST_RIGHT,
    COST_RIGHT.replace("return catalog", "return round(catalog") + ", 6)",   # rounded as the lessons print costs
    COST_BY_HAND_IN_DECIMAL,
])
def test_cache_cost_right_answers_pass(learner, body):
    result = learner.answer(COST, body)
    assert result.passed, result
    assert "1-hour cache writes" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return cost_with_cache(message)", "1-hour writes as 5-minute ones"),             # section 5's function
    ("""u = message.usage
total = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
return catalog.cost_usd(message.model, total, u.output_tokens)""", "plain input price"),  # lesson 07's price
    ("return catalog.cost_usd(message.model, message.usage.input_tokens, message.usage.output_tokens)",
     "leaves out the cache"),
    (COST_RIGHT.replace("cache_read=usage.cache_read_input_tokens or 0,", ""), "leaves out the cache"),
    (COST_RIGHT.replace("usage.input_tokens, usage.output_tokens", "usage.input_tokens + (usage.cache_read_input_tokens "
                        "or 0), usage.output_tokens").replace("cache_read=usage.cache_read_input_tokens or 0,", ""),
     "reads at the full input price"),
    (COST_RIGHT.replace("return catalog", "return round(catalog") + ", 3)", "decimal places"),
    (COST_RIGHT.replace("return catalog", "return 1_000_000 * catalog"), "per million"),
    ("return 0.000358", "seed"),                                                         # typed in from a printout
    ("return usage_log.find(message.id).cost_usd", "raised AttributeError"),             # not a call of this kernel
    ("return check.expected_cost(message)", "PermissionError"),                # the grader's reference
])
def test_cache_cost_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(COST, lazy)
    assert not result.passed and words in result.message, result


def test_cache_cost_pasting_the_last_hint_is_refused(learner):
    """The last hint prices a reply with 5-minute writes only: pasted as it is, reads and 1-hour writes are missed."""
    result = learner.answer(COST, "usage = message.usage\nreturn " + last_hint_code("12.2", "catalog.cost_usd("))
    assert not result.passed, result


def test_cache_cost_refuses_the_kit_function_itself():
    result = check.lesson12.cache_cost(check.lesson12.catalog.cost_usd)
    assert not result.passed and "kit's own" in result.message


# 12.3 will this prompt be cached?

PREDICT_RIGHT = """minimum = catalog.get(model).min_cacheable_tokens
if minimum is None:
    return False
counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return counted.input_tokens >= minimum"""

PREDICT_OTHER = """entry = catalog.lookup(model)
request = {"model": model, "messages": [{"role": "user", "content": "?"}],
           "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]}
size = client.messages.count_tokens(**request).input_tokens
return bool(entry.min_cacheable_tokens) and size >= entry.min_cacheable_tokens"""


@pytest.mark.parametrize("body", [PREDICT_RIGHT, PREDICT_OTHER])
def test_will_be_cached_right_answers_pass(learner, body):
    result = learner.answer(PREDICT, body)
    assert result.passed, result
    assert "predicted what the API then did" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("""client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return True""", "you predicted True"),
    ("""client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return False""", "you predicted False"),                                                 # the short prompt's demo, for all
    ("""counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return counted.input_tokens >= 1024""", "predicted"),                            # one threshold for all
    ("""MINIMUMS = {DEFAULT_MODEL: 512, PREFILL_MODEL: 4096}
counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return counted.input_tokens >= MINIMUMS[model]""", "raised KeyError"),                 # a table typed in
    ("""counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return counted.input_tokens >= (catalog.get(model).min_cacheable_tokens or 0)""", "caches nothing"),
    ("""from helpers.offline import tokens
minimum = catalog.get(model).min_cacheable_tokens
return minimum is not None and tokens.count_text(system, catalog.get(model).tokenizer) >= minimum""",
     "never called"),                                                                     # the offline estimate
    ("""reply = client.messages.create(model=model, max_tokens=1, messages=[{"role": "user", "content": "Hi"}],
                               system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}])
return reply.usage.cache_creation_input_tokens > 0""", "only count it"),               # sends instead of predicting
    ("""client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return check.lesson12._cached_by_the_api(model, system)[0]""", "PermissionError"),      # the grader's own check
    ("""counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "Hi"}])
return "yes" if counted.input_tokens >= (catalog.get(model).min_cacheable_tokens or 10**9) else "no\"""",
     "True or False"),
])
def test_will_be_cached_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(PREDICT, lazy)
    assert not result.passed and words in result.message, result


def test_will_be_cached_pasting_the_last_hint_is_refused(learner):
    """The last hint compares the count with the window: pasted with the exercise's `system`, it does not predict."""
    steps = [last_hint_code("12.3", start) for start in ("counted = ", "return ")]
    result = learner.answer(PREDICT, "\n".join(["text = system", *steps]))
    assert not result.passed and "you predicted" in result.message, result


def test_will_be_cached_unsolved(learner):
    result = learner.answer(PREDICT)
    assert not result.passed and "returned None: return True or False" in result.message


def test_the_same_seed_draws_the_same_cases_and_another_seed_others():
    from helpers.check import lesson12

    seen = []

    def recording(client, model, system):
        seen.append((model, system))
        minimum = lesson12.catalog.get(model).min_cacheable_tokens
        counted = client.messages.count_tokens(model=model, system=system, messages=[{"role": "user", "content": "?"}])
        return minimum is not None and counted.input_tokens >= minimum

    assert lesson12.will_be_cached(recording, seed=5).passed
    first_run, seen[:] = list(seen), []
    assert lesson12.will_be_cached(recording, seed=5).passed
    assert seen == first_run
    seen.clear()
    assert lesson12.will_be_cached(recording, seed=6).passed
    assert seen != first_run


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson12.cache_cost(lambda message: 0.0)
    check.lesson12.will_be_cached(lambda client, model, system: False)
    assert len(usage_log) == before


def test_hints_are_opt_in_and_numbered():
    for exercise in ("12.1", "12.2", "12.3"):
        assert check.hint(exercise).total == 2
        assert "cache" in (check.hint(exercise).text + check.hint(exercise, 2).text).lower()
