"""Lesson 00 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code


LESSON = "00_setup.ipynb"
CHEAPEST, NOT_FOUND, PREFILL = "cell-15", "cell-17", "cell-19"


# 00.1 the cheapest current model

@pytest.mark.parametrize("body", [
    """
current = [m for m in models if m.lifecycle == "active" and not m.legacy]
return min(current, key=lambda m: m.price.input).id""",
    """
best = None
for m in models:
    if m.lifecycle != "active" or m.legacy:
        continue
    if best is None or m.price.input < best.price.input:
        best = m
return best.id""",
])
def test_cheapest_right_answers_pass(learner, body):
    result = learner.answer(CHEAPEST, body)
    assert result.passed, result
    assert "made-up lists" in result.message


@pytest.mark.parametrize("lazy, words", [
    ("return DEFAULT_MODEL", "not one of the models it was given"),     # the id printed in section 4
    ('return "claude-haiku-5-5"', "not one of the models it was given"),  # typed in from the printout
    ("return min(models, key=lambda m: m.price.input).id", "legacy"),     # no filter: a retired or legacy one wins
])
def test_cheapest_lazy_answers_are_refused(learner, lazy, words):
    result = learner.answer(CHEAPEST, lazy)
    assert not result.passed and words in result.message and "seed" in result.message


def test_cheapest_pasting_the_last_hint_is_refused(learner):
    """The last hint picks the newest model with a large window: pasted as it is, it does not do this exercise."""
    steps = [last_hint_code("00.1", "big = "), "return " + last_hint_code("00.1", "max(big, ")]
    result = learner.answer(CHEAPEST, "\n".join(steps))
    assert not result.passed and "on the real catalog" in result.message, result


def test_cheapest_unsolved_gives_nothing_away(learner):
    result = learner.answer(CHEAPEST)
    assert not result.passed and "returned None" in result.message
    assert "price.input" not in result.message and 'check.hint("00.1")' in result.message


# 00.2 the 404 of a retired model

NOT_FOUND_RIGHT = [
    """retired = catalog.retired()[0]
try:
    client.messages.create(model=retired.resolved_id, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
except anthropic.NotFoundError as e:
    error = e""",
    """old = next(m for m in catalog.retired() if m.display_name == "Claude Sonnet 3.5")
try:
    client.messages.create(model=old.resolved_id, max_tokens=5, messages=[{"role": "user", "content": "Hello"}])
except anthropic.APIStatusError as caught:
    error = caught""",
]


@pytest.mark.parametrize("body", NOT_FOUND_RIGHT)
def test_not_found_right_answers_pass(learner, body):
    result = learner.answer(NOT_FOUND, body)
    assert result.passed, result
    assert "HTTP 404" in result.message


def test_not_found_hand_built_error_is_refused(learner):
    result = learner.answer(NOT_FOUND, """
import httpx2
request = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
response = httpx2.Response(404, request=request, headers={"request-id": "req_made_up"})
error = anthropic.NotFoundError("model: claude-3-5-sonnet-20241022", response=response,
                                body={"type": "error", "error": {"type": "not_found_error",
                                                                 "message": "model: claude-3-5-sonnet-20241022"}})
""")
    assert not result.passed and "usage log has no 404" in result.message


def test_not_found_earlier_404_is_refused(learner):
    learner.run("""
try:
    client.messages.create(model=catalog.retired()[0].resolved_id, max_tokens=5, messages=[{"role": "user", "content": "Hi"}])
except anthropic.NotFoundError as e:
    kept = e
""")
    result = learner.answer(NOT_FOUND, "error = kept")
    assert not result.passed and "before this cell's" in result.message


def test_not_found_uncaught_404_becomes_a_message_not_a_traceback(learner):
    result = learner.answer(NOT_FOUND, """client.messages.create(model=catalog.retired()[0].resolved_id, max_tokens=5,
                       messages=[{"role": "user", "content": "Hi"}])""")
    assert not result.passed and "HTTP 404" in result.message and "escaped your code" in result.message


def test_not_found_other_error_is_named(learner):
    result = learner.answer(NOT_FOUND, """try:
    client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=[{"role": "user", "content": ""}])
except anthropic.APIStatusError as e:
    error = e""")
    assert not result.passed and "status 400" in result.message


def test_not_found_unsolved_gives_nothing_away(learner):
    result = learner.answer(NOT_FOUND)
    assert not result.passed and "nothing to grade yet" in result.message and "NotFoundError" not in result.message


# 00.3 models that accept a prefill

@pytest.mark.parametrize("body", [
    "return [m.id for m in models if m.supports_prefill and not m.retired]",
    """
ids = set()
for m in models:
    if m.supports_prefill and m.lifecycle != "retired":
        ids.add(m.id)
return sorted(ids)""",
])
def test_prefill_models_right_answers_pass(learner, body):
    result = learner.answer(PREFILL, body)
    assert result.passed, result


@pytest.mark.parametrize("lazy, words", [
    ('return ["claude-opus-4-5", "claude-haiku-4-5"]', "not in the list"),  # typed in
    ("return [m.id for m in catalog.available() if m.supports_prefill]", "not in the list"),  # ignores `models`
    ("return [m.id for m in models if m.supports_prefill]", "retired"),
])
def test_prefill_models_lazy_answers_are_refused(learner, lazy, words):
    result = learner.answer(PREFILL, lazy)
    assert not result.passed and words in result.message
