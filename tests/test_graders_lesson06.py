"""Lesson 06 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import random

import anthropic
import pytest

from helpers import check
from helpers.check import lesson06

LESSON = "06_errors_and_retries.ipynb"
RETRY, WAIT = "cell-53", "cell-53b"


# 06.1 a retry loop for rate limits

RETRY_RIGHT = """for attempt in range(1, max_attempts + 1):
    try:
        return client.messages.create(**request), waits
    except anthropic.RateLimitError as err:
        if attempt == max_attempts:
            raise
        seconds = {convert}(err.response.headers["retry-after"])
        waits.append(seconds)
        time.sleep(seconds)"""


@pytest.mark.parametrize("convert", ["float", "int"])
def test_retry_right_answers_pass(learner, convert):
    result = learner.answer(RETRY, RETRY_RIGHT.format(convert=convert))
    assert result.passed, result
    assert "at least a second later" in result.message


def test_retry_that_never_sleeps_is_refused(learner):
    result = learner.answer(RETRY, RETRY_RIGHT.format(convert="float").replace("        time.sleep(seconds)", ""))
    assert not result.passed and "sleep as long as the header says" in result.message


def test_retry_with_a_fixed_wait_is_refused(learner):
    result = learner.answer(RETRY, RETRY_RIGHT.format(convert="float").replace("waits.append(seconds)", "waits.append(1)"))
    assert not result.passed and "from each error's `retry-after` header" in result.message


@pytest.mark.parametrize("body, words", [
    ("return client.messages.create(**request), waits", "escaped after the first 429"),
    (RETRY_RIGHT.format(convert="float").replace("anthropic.RateLimitError", "anthropic.APIStatusError"), "a 401 got"),
    ("""while True:
    try:
        return client.messages.create(**request), waits
    except anthropic.RateLimitError as err:
        waits.append(float(err.response.headers["retry-after"]))
        time.sleep(waits[-1])""", "raise the last RateLimitError"),
    (RETRY_RIGHT.format(convert="float").replace('err.response.headers["retry-after"]', "err.response.headers['x-wait']"),
     "KeyError"),
])
def test_retry_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(RETRY, body)
    assert not result.passed and words in result.message, result


def test_retry_unsolved(learner):
    result = learner.answer(RETRY)
    assert not result.passed and "never called the API" in result.message and "retry-after" not in result.message


# 06.2 how long to wait before a retry

WAIT_BY_CLASS = """if isinstance(err, anthropic.APIStatusError):
    if err.status_code < 500 and err.status_code not in (408, 409, 429):
        return None
    header = err.response.headers.get("retry-after")
    if header is not None:
        return float(header)
return min(0.5 * 2 ** (attempt - 1), 8.0)"""

WAIT_BY_STATUS = """status = getattr(err, "status_code", None)
retried = status is None or status >= 500 or status in {408, 409, 429}
if not retried:
    return None
response = getattr(err, "response", None)
if response is not None and "retry-after" in response.headers:
    return int(response.headers["retry-after"])
wait = 0.5
for _ in range(attempt - 1):
    wait = min(wait * 2, 8)
return wait"""


@pytest.mark.parametrize("body", [WAIT_BY_CLASS, WAIT_BY_STATUS])
def test_retry_wait_right_answers_pass(learner, body):
    for seed in (1, 2, 3):
        result = learner.run(f"{_define(body)}\ncheck.lesson06.retry_wait(retry_wait, seed={seed})")
        assert result.passed, result
    result = learner.answer(WAIT, body)
    assert result.passed, result
    assert "None for the 400, 401, 402, 403 and 404" in result.message


def _define(body: str) -> str:
    return "def retry_wait(err, attempt):\n" + "\n".join("    " + line for line in body.split("\n"))


@pytest.mark.parametrize("lazy, words", [
    ("return None", "for an error that the SDK retries"),                    # never retry
    ("return 0.5", "seed"),                                                  # a fixed wait, typed in
    ("return 2.0", "seed"),                                                  # the solution's printout for a 429
    ("return float(err.response.headers.get('retry-after', 1))", ("AttributeError", "seed")),  # assumes a response
    ("""if isinstance(err, anthropic.RateLimitError):
    return float(err.response.headers["retry-after"])
return None""", "the SDK retries"),                              # only 429s are worth a retry
    ("""if isinstance(err, anthropic.APIStatusError) and err.status_code < 500 and err.status_code != 429:
    return None
return min(0.5 * 2 ** (attempt - 1), 8.0)""", "retry-after"),             # ignores the header
    ("""if isinstance(err, anthropic.APIStatusError):
    if err.status_code < 500 and err.status_code not in (408, 409, 429):
        return None
    if "retry-after" in err.response.headers:
        return float(err.response.headers["retry-after"])
return 0.5 * 2 ** (attempt - 1)""", "stops growing at 8 seconds"),           # no cap
    ("""if isinstance(err, anthropic.APIStatusError):
    if err.status_code < 500 and err.status_code not in (408, 409, 429):
        return None
    if "retry-after" in err.response.headers:
        return float(err.response.headers["retry-after"])
return min(0.5 * 2 ** attempt, 8.0)""", "first retry waits 0.5"),           # off by one
    ("""if isinstance(err, anthropic.APIStatusError) and err.status_code < 500 and err.status_code not in (408, 409, 429):
    return None
if isinstance(err, anthropic.APIStatusError) and "retry-after" in err.response.headers:
    return err.response.headers["retry-after"]
return min(0.5 * 2 ** (attempt - 1), 8.0)""", "as a number"),              # the header's string
    ("""if isinstance(err, anthropic.APIStatusError) and err.status_code != 404:
    return None
return 1.0""", ("seed", "the SDK retries")),                                 # retries only 404s and no-answer errors
    # the instructor's review: 408 and 409 taken for errors that fail the same way again (never drawn before)
    ("""if isinstance(err, anthropic.APIStatusError):
    if err.status_code < 500 and err.status_code != 429:
        return None
    if "retry-after" in err.response.headers:
        return float(err.response.headers["retry-after"])
return min(0.5 * 2 ** (attempt - 1), 8.0)""", "returned None, but the SDK retries it"),
    ("""if isinstance(err, anthropic.APIStatusError):
    if err.status_code in (408, 409):
        return float(err.response.headers["retry-after"])
    if err.status_code < 500 and err.status_code != 429:
        return None
    if "retry-after" in err.response.headers:
        return float(err.response.headers["retry-after"])
return min(0.5 * 2 ** (attempt - 1), 8.0)""", "KeyError"),
])
def test_retry_wait_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(WAIT, lazy)
    words = (words,) if isinstance(words, str) else words
    assert not result.passed and any(w in result.message for w in words), result


def test_retry_wait_refuses_the_graders_own_reference(learner):
    learner.run("from helpers.check.lesson06 import _expected_wait")
    result = learner.answer(WAIT, "return _expected_wait(err, attempt)")
    assert not result.passed and "PermissionError" in result.message
    assert not learner.run("check.lesson06.retry_wait(check.lesson06._expected_wait)").passed


def test_retry_wait_unsolved(learner):
    result = learner.answer(WAIT)
    assert not result.passed and "for an error that the SDK retries" in result.message
    assert "0.5 * 2" not in result.message and "seed" not in result.message


def test_retry_wait_meets_every_kind_of_error_on_every_run():
    for seed in (1, 2, 3):
        cases = lesson06._cases(random.Random(seed))
        kinds = sorted(str(getattr(error, "status_code", type(error).__name__)) for _, error, _ in cases)
        assert kinds == sorted(["400", "401", "402", "403", "404", "408", "409", "429", "429", "529", "529", "500",
                                "504", "APITimeoutError", "APIConnectionError"])
        backing_off = [attempt for _, error, attempt in cases if not isinstance(error, anthropic.APIStatusError)
                       or (error.status_code >= 500 and "retry-after" not in error.response.headers)]
        assert len(backing_off) == 5 and 6 in backing_off and len(set(backing_off)) == 5
        conflicts = [error for _, error, _ in cases if getattr(error, "status_code", None) in (408, 409)]
        assert conflicts and all("retry-after" not in error.response.headers for error in conflicts)
