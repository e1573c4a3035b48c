"""Lesson 14 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check, usage_log

LESSON = "14_message_batches.ipynb"
REQUESTS, SORT, SAVING = "cell-35", "cell-37", "cell-39"


def test_the_exercise_cells_are_where_the_tests_look():
    from notebooks_support import NOTEBOOKS, load, source

    cells = {c["id"]: source(c) for c in load(NOTEBOOKS / LESSON)["cells"]}
    assert "check.lesson14.batch_requests(" in cells[REQUESTS]
    assert "check.lesson14.sort_results(" in cells[SORT]
    assert "check.lesson14.batch_saving(" in cells[SAVING]


# 14.1 a batch's requests, each with its own custom_id

REQUESTS_RIGHT = """return [{"custom_id": f"prompt-{i}",
         "params": {"model": model, "max_tokens": 300, "messages": [{"role": "user", "content": prompt}]}}
        for i, prompt in enumerate(prompts)]"""

REQUESTS_WITH_BLOCKS = """import uuid
requests = []
for prompt in prompts:
    turn = {"role": "user", "content": [{"type": "text", "text": prompt}]}
    requests.append({"custom_id": uuid.uuid4().hex, "params": {"model": model, "max_tokens": 64, "messages": [turn],
                                                               "system": "Answer briefly."}})
return requests"""


@pytest.mark.parametrize("body", [REQUESTS_RIGHT, REQUESTS_WITH_BLOCKS])
def test_batch_requests_right_answers_pass(learner, body):
    result = learner.answer(REQUESTS, body)
    assert result.passed, result
    assert "the API would take the batch" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return requests", "make one per prompt"),                                   # the lesson's own four
    (REQUESTS_RIGHT.replace('f"prompt-{i}"', "prompt"), "the API refuses a batch"),  # the prompt as its id
    (REQUESTS_RIGHT.replace('f"prompt-{i}"', 'prompt[:60].replace(" ", "-").strip("?")'), "the API refuses"),
    (REQUESTS_RIGHT.replace('f"prompt-{i}"', 'f"p{abs(hash(prompt))}"'), "more than once"),  # same prompt, same id
    (REQUESTS_RIGHT.replace('"model": model', '"model": DEFAULT_MODEL'), "not the model"),
    (REQUESTS_RIGHT.replace('"max_tokens": 300, ', ""), "would end `errored`"),
    (REQUESTS_RIGHT.replace('"max_tokens": 300', '"max_tokens": 300, "stream": True'), "streaming"),
    # a prefill: refused by a model that refuses it (errored), and by one that takes it (not one user turn)
    (REQUESTS_RIGHT.replace("prompt}]", 'prompt}, {"role": "assistant", "content": "Well,"}]'), "user"),
    (REQUESTS_RIGHT.replace("for i, prompt in enumerate(prompts)", "for i, prompt in enumerate(sorted(set(prompts)))"),
     "one per prompt"),
    (REQUESTS_RIGHT.replace('"content": prompt', '"content": prompts[0]'), "one each"),
    ('return {f"prompt-{i}": p for i, p in enumerate(prompts)}', "return a list"),
])
def test_batch_requests_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(REQUESTS, lazy)
    assert not result.passed and words in result.message, result


def test_batch_requests_unsolved_and_pasting_the_last_hint(learner):
    assert "returned None" in learner.answer(REQUESTS).message
    pasted = last_hint_code("14.1", "[{")
    result = learner.answer(REQUESTS, f"names = prompts\nreturn {pasted}")
    assert not result.passed, result


# 14.2 a batch's results, sorted by custom_id

SORT_RIGHT = """answers, resend = {}, set()
for result in results:
    outcome = result.result
    if outcome.type == "succeeded":
        answers[result.custom_id] = "".join(b.text for b in outcome.message.content if b.type == "text")
    elif outcome.type in ("expired", "canceled"):
        resend.add(result.custom_id)
    elif outcome.error.error.type != "invalid_request_error":
        resend.add(result.custom_id)
return answers, resend"""

SORT_BY_DUMPING = """lines = [r.model_dump() for r in results]
answers = {line["custom_id"]: "".join(b["text"] for b in line["result"]["message"]["content"] if b["type"] == "text")
           for line in lines if line["result"]["type"] == "succeeded"}
retry = [line["custom_id"] for line in lines if line["result"]["type"] in ("canceled", "expired")
         or (line["result"]["type"] == "errored" and line["result"]["error"]["error"]["type"] in
             ("api_error", "overloaded_error"))]
return answers, retry"""


@pytest.mark.parametrize("body", [SORT_RIGHT, SORT_BY_DUMPING])
def test_sort_results_right_answers_pass(learner, body):
    result = learner.answer(SORT, body)
    assert result.passed, result
    assert "not the invalid ones" in result.message


@pytest.mark.parametrize("lazy, words", [
    (SORT_RIGHT.replace("answers[result.custom_id] = ", "answers[results.index(result)] = "), "`custom_id`"),
    (SORT_RIGHT.replace('"".join(b.text for b in outcome.message.content if b.type == "text")',
                        "outcome.message.content[0].text"), "raised AttributeError"),   # a thinking block first
    (SORT_RIGHT.replace('"".join(b.text for b in outcome.message.content if b.type == "text")',
                        "outcome.message.content[-1].text"), "by their type"),
    (SORT_RIGHT.replace('elif outcome.error.error.type != "invalid_request_error":', "else:"), "fails again"),
    (SORT_RIGHT.replace('("expired", "canceled")', '("expired",)').replace(
        'elif outcome.error.error.type != "invalid_request_error":', 'elif outcome.type == "never":'),
     "would not send"),
    (SORT_RIGHT.replace("return answers, resend", "return answers, resend | set(answers)"), "answer already"),
    (SORT_RIGHT.replace("return answers, resend", "return answers"), "return two things"),
    (SORT_RIGHT.replace("return answers, resend", 'return answers, ",".join(resend)'), "set of custom_ids"),
    (SORT_RIGHT.replace("answers, resend = {}, set()", "answers, resend = {'question-1': 'x'}, set()"), "answers include"),
    ("return check.lesson14._expected_sorting(results)", "PermissionError"),              # the grader's reference
])
def test_sort_results_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(SORT, lazy)
    assert not result.passed and words in result.message, result


def test_sort_results_unsolved(learner):
    assert "returned None" in learner.answer(SORT).message


# 14.3 what a batch cost, and what the same calls cost one by one

SAVING_RIGHT = """one_by_one = 0.0
for result in results:
    if result.result.type == "succeeded":
        message = result.result.message
        one_by_one += catalog.cost_usd(message.model, message.usage.input_tokens, message.usage.output_tokens)
return one_by_one * catalog.batch_multiplier(), one_by_one"""

SAVING_BY_HAND_IN_DECIMAL = """from decimal import Decimal
alone = Decimal(0)
for result in results:
    if result.result.type != "succeeded":
        continue
    usage, price = result.result.message.usage, catalog.get(result.result.message.model).price
    alone += (usage.input_tokens * Decimal(str(price.input)) + usage.output_tokens * Decimal(str(price.output)))
alone /= 1_000_000
return round(alone * Decimal(str(catalog.batch_multiplier())), 8), round(alone, 8)"""


@pytest.mark.parametrize("body", [SAVING_RIGHT, SAVING_BY_HAND_IN_DECIMAL])
def test_batch_saving_right_answers_pass(learner, body):
    result = learner.answer(SAVING, body)
    assert result.passed, result
    assert "made-up ones at a price drawn for the run" in result.message


@pytest.mark.parametrize("lazy, words", [
    (SAVING_RIGHT.replace("catalog.batch_multiplier()", "0.5"), "not a number typed in"),
    (SAVING_RIGHT.replace("return one_by_one * catalog.batch_multiplier(), one_by_one",
                          "return one_by_one, one_by_one * catalog.batch_multiplier()"), "swapped"),
    (SAVING_RIGHT.replace("message.model, message", "DEFAULT_MODEL, message"), "own model"),
    (SAVING_RIGHT.replace("return one_by_one * catalog", "return 1_000_000 * one_by_one * catalog").replace(
        ", one_by_one\"", "").replace("batch_multiplier(), one_by_one", "batch_multiplier(), 1_000_000 * one_by_one"),
     "per million"),
    (SAVING_RIGHT.replace("return one_by_one * catalog.batch_multiplier(), one_by_one",
                          "return round(one_by_one * catalog.batch_multiplier(), 3), round(one_by_one, 3)"),
     "decimal places"),
    ("return sum(usage_log.find(r.result.message.id).cost_usd for r in results), 0.0", "raised AttributeError"),
    ("return check.lesson14._expected_costs(results)", "PermissionError"),               # the grader's reference
    ("return 0.000097, 0.000193", "own model"),                                           # typed in from a printout
])
def test_batch_saving_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(SAVING, lazy)
    assert not result.passed and words in result.message, result


def test_batch_saving_pasting_the_last_hint_is_refused(learner):
    """The last hint prices one result at the standard price: returned as both costs, the batch's is wrong."""
    result = learner.answer(SAVING, "\n".join([
        "total = 0.0",
        "for result in results:",
        "    if result.result.type == 'succeeded':",
        "        " + last_hint_code("14.3", "usage = "),
        "        total += " + last_hint_code("14.3", "catalog.cost_usd("),
        "return total, total",
    ]))
    assert not result.passed and "batch's is not" in result.message, result


def test_batch_saving_puts_the_catalogs_price_back():
    from helpers import catalog

    real = catalog.batch_multiplier
    check.lesson14.batch_saving(lambda results: (0.0, 0.0))
    assert catalog.batch_multiplier is real

    def raising_at_the_drawn_price(results):
        if catalog.batch_multiplier() != real():
            raise RuntimeError("boom")
        alone = sum(catalog.cost_usd(r.result.message.model, r.result.message.usage.input_tokens,
                                     r.result.message.usage.output_tokens)
                    for r in results if r.result.type == "succeeded")
        return alone * real(), alone

    assert "boom" in check.lesson14.batch_saving(raising_at_the_drawn_price).message
    assert catalog.batch_multiplier is real


# shared

def test_the_same_seed_draws_the_same_cases_and_another_seed_others():
    seen = []

    def recording(prompts, model):
        seen.append((tuple(prompts), model))
        return [{"custom_id": f"p-{i}", "params": {"model": model, "max_tokens": 50,
                                                   "messages": [{"role": "user", "content": p}]}}
                for i, p in enumerate(prompts)]

    assert check.lesson14.batch_requests(recording, seed=5).passed
    first_run, seen[:] = list(seen), []
    assert check.lesson14.batch_requests(recording, seed=5).passed
    assert seen == first_run
    seen.clear()
    assert check.lesson14.batch_requests(recording, seed=6).passed
    assert seen != first_run


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson14.batch_requests(lambda prompts, model: [])
    check.lesson14.sort_results(lambda results: ({}, set()))
    check.lesson14.batch_saving(lambda results: (0.0, 0.0))
    assert len(usage_log) == before


def test_the_kits_functions_are_refused():
    from helpers import catalog

    assert "kit's own" in check.lesson14.batch_saving(catalog.batch_multiplier).message


def test_hints_are_opt_in_and_numbered():
    for exercise in ("14.1", "14.2", "14.3"):
        assert check.hint(exercise).total == 2
