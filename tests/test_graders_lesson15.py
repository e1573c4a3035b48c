"""Lesson 15 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check, usage_log

LESSON = "15_evaluating_a_prompt.ipynb"
LABEL_CHECK, HARNESS, BATCH = "cell-27", "cell-29", "cell-31"


def test_the_exercise_cells_are_where_the_tests_look():
    from notebooks_support import NOTEBOOKS, load, source

    cells = {c["id"]: source(c) for c in load(NOTEBOOKS / LESSON)["cells"]}
    assert "check.lesson15.label_check(" in cells[LABEL_CHECK]
    assert "check.lesson15.harness(" in cells[HARNESS]
    assert "check.lesson15.batch(" in cells[BATCH]


# 15.1 a code-graded check

CHECK_BY_HAND = """text = "".join(block.text for block in reply.content if block.type == "text").strip()
if text.endswith("."):
    text = text[:-1]
return text.strip().casefold() == expected.casefold()"""

CHECK_WITH_A_PATTERN = """import re
text = "".join(b.text for b in reply.content if getattr(b, "type", None) == "text")
return re.fullmatch(rf"\\s*{re.escape(expected)}\\.?\\s*", text, re.IGNORECASE) is not None"""

CHECK_WITH_THE_LESSONS_READER = """text = reply_text(reply).strip().lower()
return text.removesuffix(".").strip() == expected.lower()"""


@pytest.mark.parametrize("body", [CHECK_BY_HAND, CHECK_WITH_A_PATTERN, CHECK_WITH_THE_LESSONS_READER])
def test_label_check_right_answers_pass(learner, body):
    result = learner.answer(LABEL_CHECK, body)
    assert result.passed, result
    assert "failed the 7 wrong ones" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return True", "it should fail"),
    ("return False", "it should pass"),
    ("return exact_label(reply, expected)", "it should pass"),                      # section 2's exact check
    ("return expected in reply_text(reply).lower()", "it should fail"),             # the label anywhere in the text
    ("return reply_text(reply).strip().lower().startswith(expected)", "it should fail"),
    ("return reply.content[0].text.strip().lower().rstrip('.') == expected", "raised"),  # by position
    ("return reply_text(reply).strip().rstrip('.') == expected", "it should pass"),  # case still counts
    ("return 'yes' if reply_text(reply).strip().lower() == expected else 'no'", "True or False"),
])
def test_label_check_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(LABEL_CHECK, lazy)
    assert not result.passed and words in result.message, result


def test_label_check_by_position_is_told_to_read_blocks_by_type(learner):
    result = learner.answer(LABEL_CHECK, "return reply.content[0].text.strip().lower().rstrip('.') == expected")
    assert not result.passed and 'type` is "text"' in result.message, result


def test_label_check_pasting_the_last_hint_is_refused(learner):
    steps = [last_hint_code("15.1", start) for start in ("text = ", "return ")]
    result = learner.answer(LABEL_CHECK, "\n".join(steps))
    assert not result.passed and "it should" in result.message, result


def test_label_check_unsolved_and_the_kit_function_itself(learner):
    result = learner.answer(LABEL_CHECK)
    assert not result.passed and "returned None" in result.message
    result = check.lesson15.label_check(check.lesson15.text_of_content)
    assert not result.passed and "kit's own" in result.message


# 15.2 a harness that runs a prompt over a test set

HARNESS_RIGHT = """rows = []
for case in cases:
    reply = client.messages.create(model=model, max_tokens=200, system=prompt["system"],
                                   messages=[*prompt["examples"], {"role": "user", "content": case["input"]}])
    usage = reply.usage
    rows.append({"id": case["id"], "passed": grade(reply, case["expected"]), "input_tokens": usage.input_tokens,
                 "output_tokens": usage.output_tokens,
                 "cost_usd": catalog.cost_usd(model, usage.input_tokens, usage.output_tokens)})
return rows"""

HARNESS_IN_THREADS = """from concurrent.futures import ThreadPoolExecutor

def one(case):
    reply = client.messages.create(
        model=model, max_tokens=120, system=[{"type": "text", "text": prompt["system"]}],
        messages=prompt["examples"] + [{"role": "user", "content": [{"type": "text", "text": case["input"]}]}])
    price = catalog.get(model).price
    return {"id": case["id"], "passed": grade(reply, case["expected"]),
            "input_tokens": reply.usage.input_tokens, "output_tokens": reply.usage.output_tokens,
            "cost_usd": round(price.cost_usd(reply.usage.input_tokens, reply.usage.output_tokens), 6)}

with ThreadPoolExecutor(4) as pool:
    return list(pool.map(one, cases))"""


@pytest.mark.parametrize("body", [HARNESS_RIGHT, HARNESS_IN_THREADS])
def test_harness_right_answers_pass(learner, body):
    result = learner.answer(HARNESS, body)
    assert result.passed, result
    assert "one request per case" in result.message and "catalog's prices" in result.message


@pytest.mark.parametrize("lazy, words", [
    (HARNESS_RIGHT.replace("client.messages", "globals()['client'].messages"), "sent nothing with the client"),
    (HARNESS_RIGHT.replace("create(model=model", "create(model=DEFAULT_MODEL"), "not to `model`"),
    (HARNESS_RIGHT.replace("catalog.cost_usd(model", "catalog.cost_usd(DEFAULT_MODEL"), "`DEFAULT_MODEL`'s prices"),
    (HARNESS_RIGHT.replace('"passed": grade(reply, case["expected"])', '"passed": True'), "never called `grade`"),
    (HARNESS_RIGHT.replace('"passed": grade(', '"passed": True or grade('), "never called `grade`"),  # never reached
    (HARNESS_RIGHT.replace('"passed": grade(reply, case["expected"])', '"passed": grade(reply, case["expected"]) or 1'),
     "but `grade` returned"),                                                      # graded, the verdict changed
    (HARNESS_RIGHT.replace('grade(reply, case["expected"])', 'grade(reply, case)'), "as the expected label"),
    (HARNESS_RIGHT.replace('[*prompt["examples"], ', "["), "examples"),
    (HARNESS_RIGHT.replace('system=prompt["system"],', 'system="Answer with one word.",'), "system prompt"),
    (HARNESS_RIGHT.replace("return rows", "return rows[::-1]"), "in the order of `cases`"),
    (HARNESS_RIGHT.replace("for case in cases:\n    reply", "first = cases[0]\nfor case in cases:\n    reply")
     .replace('case["input"]}])', 'first["input"]}])'), "was sent"),
    (HARNESS_RIGHT.replace("for case in cases:", "for case in cases[:-1]:"), "no request carried"),
    (HARNESS_RIGHT.replace("usage.output_tokens)})", "usage.output_tokens) * 1_000_000})"), "per million"),
    (HARNESS_RIGHT.replace("usage.output_tokens)})", "usage.output_tokens), 3)})")
     .replace('"cost_usd": catalog', '"cost_usd": round(catalog'), "decimal places"),
    (HARNESS_RIGHT.replace('"input_tokens": usage.input_tokens,', ""), "has no 'input_tokens'"),
    (HARNESS_RIGHT.replace('"output_tokens": usage.output_tokens,', '"output_tokens": usage.output_tokens + 1,'),
     "reply's usage says"),
    (HARNESS_RIGHT.replace("catalog.cost_usd(model, usage.input_tokens, usage.output_tokens)",
                           "usage_log.find(reply.id).cost_usd"), "raised AttributeError"),  # not this kernel's call
    ("return [{'id': c['id'], 'passed': True, 'input_tokens': 0, 'output_tokens': 0, 'cost_usd': 0} for c in cases]",
     "sent nothing"),
])
def test_harness_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(HARNESS, lazy)
    assert not result.passed and words in result.message, result


def test_harness_unsolved_and_the_kit_function_itself(learner):
    result = learner.answer(HARNESS)
    assert not result.passed and "returned None" in result.message
    result = check.lesson15.harness(check.lesson15.grader_client)
    assert not result.passed and "kit's own" in result.message


def test_the_same_seed_draws_the_same_cases_and_another_seed_others():
    from helpers.check import lesson15

    seen = []

    def recording(client, model, prompt, cases, grade):
        seen.append((model, prompt["system"], [case["input"] for case in cases]))
        rows = []
        for case in cases:
            reply = client.messages.create(model=model, max_tokens=50, system=prompt["system"],
                                           messages=[*prompt["examples"], {"role": "user", "content": case["input"]}])
            usage = reply.usage
            rows.append({"id": case["id"], "passed": grade(reply, case["expected"]), "input_tokens": usage.input_tokens,
                         "output_tokens": usage.output_tokens,
                         "cost_usd": lesson15.catalog.cost_usd(model, usage.input_tokens, usage.output_tokens)})
        return rows

    assert lesson15.harness(recording, seed=5).passed
    first_run, seen[:] = list(seen), []
    assert lesson15.harness(recording, seed=5).passed
    assert seen == first_run
    seen.clear()
    assert lesson15.harness(recording, seed=6).passed
    assert seen != first_run


# 15.3 the eval as a Message Batch

BATCH_RIGHT = """import time
requests = [{"custom_id": case["id"],
             "params": {"model": model, "max_tokens": 200, "system": prompt["system"],
                        "messages": [*prompt["examples"], {"role": "user", "content": case["input"]}]}}
            for case in cases]
batch = client.messages.batches.create(requests=requests)
while batch.processing_status != "ended":
    time.sleep(0.5)
    batch = client.messages.batches.retrieve(batch.id)
results = {entry.custom_id: entry.result for entry in client.messages.batches.results(batch.id)}
rows = []
for case in cases:
    result = results[case["id"]]
    if result.type != "succeeded":
        rows.append({"id": case["id"], "passed": False, "cost_usd": 0.0})
        continue
    usage = result.message.usage
    cost = catalog.cost_usd(model, usage.input_tokens, usage.output_tokens) * catalog.batch_multiplier()
    rows.append({"id": case["id"], "passed": grade(result.message, case["expected"]), "cost_usd": cost})
return rows"""

BATCH_WITH_REQUEST_OBJECTS = """import time
from anthropic.types.messages.batch_create_params import Request
batch = client.messages.batches.create(requests=[
    Request(custom_id=c["id"], params={"model": model, "max_tokens": 100, "system": prompt["system"],
                                       "messages": prompt["examples"] + [{"role": "user", "content": c["input"]}]})
    for c in cases])
while client.messages.batches.retrieve(batch.id).processing_status != "ended":
    time.sleep(0.5)
by_id = {}
for entry in client.messages.batches.results(batch.id):
    ok = entry.result.type == "succeeded"
    price = catalog.get(model).price
    by_id[entry.custom_id] = {
        "id": entry.custom_id, "passed": ok and grade(entry.result.message, next(c["expected"] for c in cases
                                                                               if c["id"] == entry.custom_id)),
        "cost_usd": ok and round(price.cost_usd(entry.result.message.usage.input_tokens,
                                                entry.result.message.usage.output_tokens)
                                 * catalog.batch_multiplier(), 7) or 0}
return [by_id[c["id"]] for c in cases]"""


@pytest.mark.parametrize("body", [BATCH_RIGHT, BATCH_WITH_REQUEST_OBJECTS])
def test_batch_right_answers_pass(learner, body):
    result = learner.answer(BATCH, body)
    assert result.passed, result
    assert "one Message Batch" in result.message and "batch price" in result.message


BY_POSITION = BATCH_RIGHT.replace(
    'results = {entry.custom_id: entry.result for entry in client.messages.batches.results(batch.id)}',
    'results = {case["id"]: entry.result for case, entry in zip(cases, client.messages.batches.results(batch.id))}')


@pytest.mark.parametrize("lazy, words", [
    (BY_POSITION, "position"),
    (HARNESS_RIGHT, "one at a time"),                                           # exercise 2's harness
    (BATCH_RIGHT.replace(" * catalog.batch_multiplier()", ""), "standard price"),
    (BATCH_RIGHT.replace('"custom_id": case["id"]', '"custom_id": f"r{cases.index(case)}"')
     .replace("{entry.custom_id: entry.result", '{cases[int(entry.custom_id[1:])]["id"]: entry.result'), "custom_id"),
    (BATCH_RIGHT.replace('rows.append({"id": case["id"], "passed": False, "cost_usd": 0.0})\n        continue',
                         'continue'), "5 rows for 6 cases"),                 # the errored case dropped
    (BATCH_RIGHT.replace('"passed": False, "cost_usd": 0.0', '"passed": True, "cost_usd": 0.0'), "did not succeed"),
    (BATCH_RIGHT.replace("for case in cases]\nbatch", "for case in cases if case['input']]\nbatch")
     .replace('result = results[case["id"]]', 'result = results.get(case["id"])')
     .replace("if result.type", "if result is None or result.type"), "no requests of the batch"),  # empty one skipped
    (BATCH_RIGHT.replace('"system": prompt["system"],', ''), "system prompt"),
    ("""batch = client.messages.batches.create(requests=[{"custom_id": c["id"], "params": {"model": model,
    "max_tokens": 100, "system": prompt["system"], "messages": [*prompt["examples"],
    {"role": "user", "content": c["input"]}]}} for c in cases])
return [{"id": c["id"], "passed": False, "cost_usd": 0} for c in cases]""", "never read the batch's results"),
    ("return [{'id': c['id'], 'passed': False, 'cost_usd': 0} for c in cases]", "created no Message Batch"),
])
def test_batch_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(BATCH, lazy)
    assert not result.passed and words in result.message, result


def test_batch_unsolved_and_the_kit_function_itself(learner):
    result = learner.answer(BATCH)
    assert not result.passed and "returned None" in result.message
    result = check.lesson15.batch(check.lesson15.grader_client)
    assert not result.passed and "kit's own" in result.message


def test_graders_leave_the_usage_log_alone():
    before = len(usage_log)
    check.lesson15.label_check(lambda reply, expected: False)
    check.lesson15.harness(lambda client, model, prompt, cases, grade: [])
    check.lesson15.batch(lambda client, model, prompt, cases, grade: [])
    assert len(usage_log) == before


def test_hints_are_opt_in_and_numbered():
    for exercise in ("15.1", "15.2", "15.3"):
        assert check.hint(exercise).total == 2
