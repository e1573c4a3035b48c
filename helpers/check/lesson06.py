"""Graders for lesson 06: a retry loop for rate limits, and the wait before a retry, decided from a real error."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Callable, Optional

import anthropic
import httpx2

from ..catalog import DEFAULT_MODEL
from ..connection import OFFLINE_BASE_URL
from ..offline import faults
from ..usage import UsageLog
from . import correct, draw, grader, grader_client, grader_only, kit_function, not_yet

RETRY_QUESTION = "Count to ten."
PATIENCE = 0.98
"""The share of `retry-after` an attempt must wait at least (the clocks agree to well under 2 %)."""
RETRIED_BELOW_500 = (408, 409, 429)
"""Statuses under 500 that the SDK retries (``_should_retry`` in anthropic/_base_client.py)."""
INITIAL_DELAY, MAX_DELAY = 0.5, 8.0
"""The SDK's back-off without ``retry-after``: ``INITIAL_RETRY_DELAY`` doubling up to ``MAX_RETRY_DELAY``
(anthropic/_constants.py), before its random jitter."""

HINTS = {
    "06.1": (
        "A loop of at most `max_attempts` tries: `try` the call, `except anthropic.RateLimitError as err` read "
        "the header, sleep, try again. Other exceptions are not caught.",
        "Section 3 reads headers from `err.response`: the wait is the `retry-after` header, in seconds, as text. "
        "Keep each wait in `waits` before sleeping it, and on the last attempt let the error go on instead of "
        "sleeping.",
    ),
    "06.2": (
        "Three questions in order: is it an `APIStatusError` whose status the SDK does not retry (below 500, and not "
        "408, 409 or 429)? Does its response carry a `retry-after` header? If neither, back off.",
        "Section 3 gives the rules; the order is the point. Only an `anthropic.APIStatusError` has a `status_code` "
        "and a `response`: decide on the status first, then read the header with `err.response.headers.get(...)`, "
        "and back off last. A timeout or a dropped connection has no response to read.",
    ),
}


# --- 06.1 ---------------------------------------------------------------------------------------------------------

def _request() -> dict:
    return {"model": DEFAULT_MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": RETRY_QUESTION}]}


def _run(function: Callable, log: UsageLog, max_attempts: int) -> tuple[str, Any]:
    """Call the learner's function with a fresh client; returns ("returned", value) or ("raised", error)."""
    try:
        return "returned", function(grader_client(log), _request(), max_attempts=max_attempts)
    except Exception as error:  # noqa: BLE001 - raising is part of the expected behaviour
        return "raised", error


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return float(value)


def _waits_problem(waits: Any, expected: list[int], header: str) -> Optional[str]:
    numbers = [_number(w) for w in waits] if isinstance(waits, (list, tuple)) else None
    if numbers is None or None in numbers:
        return f"`waits` was {waits!r}: make it a list of the seconds waited, one number per 429."
    if numbers != [float(e) for e in expected]:
        return (f"after {len(expected)} 429(s) carrying `retry-after: {header}`, `waits` was {list(waits)!r}, not "
                f"{expected}: take the seconds from each error's `retry-after` header rather than a fixed number.")
    return None


def _statuses(log: UsageLog) -> list[int]:
    return [record.status for record in log.records]


def _raised(value: Any) -> str:
    return f"{type(value).__name__}: {value}"


@grader("06.1 a retry loop for rate limits")
def retry(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson06.retry(create_with_retry)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `create_with_retry(...)` yourself.")
    rng, seed = draw(seed)

    # One 429 asking for a 1-second wait: the usage log's clock shows how long the loop really waited.
    log = UsageLog()
    with faults("rate_limit", times=1, retry_after=1):
        outcome, value = _run(function, log, max_attempts=3)
    if not log.records:
        if outcome == "raised":
            return not_yet(f"your function raised {_raised(value)} before calling the API. Its signature is "
                           "`create_with_retry(client, request, max_attempts=3)`.")
        return not_yet("your function never called the API. Call `client.messages.create(**request)` with the "
                       "client it is given.")
    if outcome == "raised":
        if isinstance(value, anthropic.RateLimitError):
            return not_yet("a RateLimitError escaped after the first 429. Catch `anthropic.RateLimitError`, wait, and "
                           "call again.")
        if isinstance(value, (ValueError, TypeError, KeyError)):
            return not_yet(f"your function raised {_raised(value)} after a 429. The header is a string of whole "
                           "seconds, here \"1\": `float(...)` or `int(...)` turns it into a number.")
        return not_yet(f"your function raised {_raised(value)} after a 429.")
    if _statuses(log) != [429, 200]:
        return not_yet(f"after one 429, your function made the calls {_statuses(log)} (HTTP statuses, from the "
                       "usage log); expected one retry: [429, 200].")
    first, second = log.records
    waited = second.sent_at - (first.sent_at + first.latency_s)
    if waited < PATIENCE * 1:
        return not_yet(f"the 429 said `retry-after: 1`, but the usage log shows your next attempt {waited:.2f} s "
                       "after it arrived: sleep as long as the header says (`time.sleep(seconds)`) before retrying.")
    if not (isinstance(value, tuple) and len(value) == 2):
        return not_yet("return a pair: `(message, waits)`, the Message from the successful attempt and the list of "
                       "seconds waited.")
    message, waits = value
    if not (isinstance(message, anthropic.types.Message) and message.id == second.message_id):
        return not_yet("the first item of the pair is not the Message of the attempt that succeeded: return what "
                       "`client.messages.create(**request)` returned.")
    problem = _waits_problem(waits, [1], "1")
    if problem:
        return not_yet(problem)

    # Two 429s asking for no wait at all: waits must follow the header.
    log = UsageLog()
    with faults("rate_limit", times=2, retry_after=0):
        outcome, value = _run(function, log, max_attempts=3)
    if outcome == "raised":
        return not_yet(f"with two 429s and max_attempts=3, your function raised {_raised(value)}: the third attempt "
                       "should succeed.")
    if _statuses(log) != [429, 429, 200]:
        return not_yet(f"after two 429s, your function made the calls {_statuses(log)}; expected [429, 429, 200].")
    problem = _waits_problem(value[1] if isinstance(value, tuple) and len(value) == 2 else None, [0, 0], "0")
    if problem:
        return not_yet(problem)

    # A 429 on every attempt: give up after max_attempts, raising the last error.
    max_attempts = rng.choice((2, 3, 4))
    log = UsageLog()
    with faults("rate_limit", times=10, retry_after=0):
        outcome, value = _run(function, log, max_attempts=max_attempts)
    attempts = len(log.records)
    if outcome != "raised" or not isinstance(value, anthropic.RateLimitError):
        return not_yet("when every attempt gets a 429, raise the last RateLimitError after `max_attempts` attempts "
                       "instead of returning.")
    if attempts != max_attempts:
        return not_yet(f"with max_attempts={max_attempts}, your function made {attempts} attempts: stop after "
                       f"`max_attempts` (seed {seed}).")
    if getattr(value, "request_id", None) != log.records[-1].request_id:
        return not_yet("the RateLimitError your function raised is not the one of the last attempt: re-raise the "
                       "last error (a bare `raise` inside the except block).")

    # A 401 would fail the same way again: no retry.
    log = UsageLog()
    with faults("authentication", times=3):
        outcome, value = _run(function, log, max_attempts=3)
    if outcome != "raised" or not isinstance(value, anthropic.AuthenticationError) or len(log.records) != 1:
        return not_yet(f"a 401 got {len(log.records)} attempt(s). Only a RateLimitError is worth retrying: let other "
                       "errors propagate at once (catch `anthropic.RateLimitError`, not `Exception` or "
                       "`APIStatusError`).")
    return correct("with a 429 saying `retry-after: 1`, the usage log shows your next attempt at least a second "
                   "later, and `waits` was [1]; with two 429s saying 0, three attempts and waits [0, 0]; with a 429 "
                   "every time, the last RateLimitError was raised after max_attempts attempts; a 401 was raised "
                   "after one attempt.")


# --- 06.2 ---------------------------------------------------------------------------------------------------------

HEADER_SECONDS = (1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60)
"""Whole seconds for ``retry-after``, as the API sends them (and within what the SDK honours)."""
NOT_FOUND_MODEL = "made-up-model-for-a-404"
# (what the grader calls it, how to provoke it: a fault kind or a request the API refuses, retry-after or None)
_RETRYABLE_WITHOUT_HEADER = (("a 529 overloaded with no retry-after header", "overloaded"),
                             ("a 500 api_error", "api_error"), ("a 504 timeout_error", "gateway_timeout"),
                             ("a timeout (APITimeoutError)", "timeout"),
                             ("a dropped connection (APIConnectionError)", "disconnect"))
_NOT_RETRIED = (("a 400 invalid_request_error", "bad_request"), ("a 401 authentication_error", "authentication"),
                ("a 402 billing_error", "billing"), ("a 403 permission_error", "permission"),
                ("a 404 not_found_error", "not_found"))


_RETRIED_CONFLICTS = (("a 408 request timeout with no retry-after header", 408, "timeout_error"),
                      ("a 409 conflict with no retry-after header", 409, "conflict_error"))
"""Statuses under 500 that the SDK retries, drawn with no header, so the rule for them is checked on every run."""


def _status_error(status: int, error_type: str) -> anthropic.APIStatusError:
    """The exception the SDK raises for an answer with this status and no retry-after header."""
    body = {"type": "error", "error": {"type": error_type, "message": f"HTTP {status}, from the grader"}}
    response = httpx2.Response(status, json=body, headers={"request-id": f"req_grader_{status}"},
                               request=httpx2.Request("POST", f"{OFFLINE_BASE_URL}/v1/messages"))
    kind = anthropic.RequestTimeoutError if status == 408 else anthropic.ConflictError
    return kind(body["error"]["message"], response=response, body=body)


def _provoke(kind: str, retry_after: Optional[float]) -> anthropic.APIError:
    """The SDK's own exception for one failure of the offline backend."""
    request = {"model": DEFAULT_MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": RETRY_QUESTION}]}
    if kind == "bad_request":
        request["messages"] = [{"role": "user", "content": ""}]  # empty content: always a 400
    if kind == "not_found":
        request["model"] = NOT_FOUND_MODEL
    try:
        if kind in ("bad_request", "not_found"):
            grader_client().messages.create(**request)
        else:
            with faults(kind, retry_after=retry_after):
                grader_client().messages.create(**request)
    except anthropic.APIError as error:
        return error
    raise RuntimeError(f"the offline backend answered where the grader provoked {kind!r}")


def _cases(rng: random.Random) -> list[tuple[str, anthropic.APIError, int]]:
    cases = [(f"a 429 with `retry-after: {seconds}`", _provoke("rate_limit", seconds), rng.randrange(1, 7))
             for seconds in rng.sample(HEADER_SECONDS, 2)]
    seconds = rng.choice(HEADER_SECONDS)
    cases.append((f"a 529 with `retry-after: {seconds}`", _provoke("overloaded", seconds), rng.randrange(1, 7)))
    # Attempt 6 (past the cap at 8 s) and four of attempts 1 to 5 (the first wait and its doublings).
    attempts = [6, *rng.sample(range(1, 6), len(_RETRYABLE_WITHOUT_HEADER) - 1)]
    rng.shuffle(attempts)
    for (what, kind), attempt in zip(_RETRYABLE_WITHOUT_HEADER, attempts):
        cases.append((what, _provoke(kind, None), attempt))
    # The offline backend never answers 408 or 409, yet the SDK retries both: the SDK's own exceptions for them.
    cases += [(what, _status_error(status, kind), rng.randrange(1, 7)) for what, status, kind in _RETRIED_CONFLICTS]
    cases += [(what, _provoke(kind, None), rng.randrange(1, 7)) for what, kind in _NOT_RETRIED]
    rng.shuffle(cases)
    return cases


@grader_only
def _expected_wait(error: anthropic.APIError, attempt: int) -> Optional[float]:
    if isinstance(error, anthropic.APIStatusError):
        if error.status_code < 500 and error.status_code not in RETRIED_BELOW_500:
            return None
        header = error.response.headers.get("retry-after")
        if header is not None:
            return float(header)
    return min(INITIAL_DELAY * 2 ** (attempt - 1), MAX_DELAY)


def _seconds(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return float(value)


def _wait_mistake(got: Any, expected: Optional[float], error: anthropic.APIError, what: str, attempt: int) -> str:
    status = getattr(error, "status_code", None)
    if expected is None:
        return (f"for {what} your function returned {got!r}, but a {status} fails the same way however often it is "
                "sent, so the SDK never retries it: return None. (It retries statuses of 500 and above, 408, 409 "
                "and 429, and errors with no answer at all.)")
    if got is None:
        return (f"for {what} your function returned None, but the SDK retries it: return the seconds to wait "
                "before the next attempt.")
    seconds = _seconds(got)
    if seconds is None:
        return (f"for {what} your function returned {got!r}, a {type(got).__name__}: return the seconds as a number "
                "(the header is a string: `float(...)` reads it).")
    header = error.response.headers.get("retry-after") if isinstance(error, anthropic.APIStatusError) else None
    backoff = min(INITIAL_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    if header is not None:
        return (f"{what} came after attempt {attempt}, and your function returned {got!r}: when the error's response "
                f"carries `retry-after`, wait exactly that long, here {expected:g} seconds "
                "(`err.response.headers.get(\"retry-after\")`).")
    if abs(seconds - INITIAL_DELAY * 2 ** (attempt - 1)) < 1e-9 and backoff == MAX_DELAY:
        return (f"after attempt {attempt}, your function returned {got!r} for {what}: the back-off stops growing at "
                f"{MAX_DELAY:g} seconds (`min(..., 8)`).")
    if abs(seconds - min(INITIAL_DELAY * 2 ** attempt, MAX_DELAY)) < 1e-9:
        return (f"after attempt {attempt}, your function returned {got!r} for {what}: the first retry waits "
                f"{INITIAL_DELAY:g} s, so the wait after attempt n is `0.5 * 2 ** (n - 1)`.")
    return (f"for {what} after attempt {attempt} your function returned {got!r}, not {expected:g}: with no "
            "`retry-after` header, back off `0.5 * 2 ** (attempt - 1)` seconds, at most 8.")


def _never_answers(function: Callable, cases: list) -> bool:
    """Whether ``function`` returns None for every error of the run: an unsolved exercise, named the same way
    whichever error came first (a function that answers some is told about the one it got wrong)."""
    for _, error, attempt in cases:
        try:
            if function(error, attempt) is not None:
                return False
        except Exception:  # noqa: BLE001 - the learner's function can raise anything; raising is not None
            return False
    return True


@grader("06.2 how long to wait before a retry")
def retry_wait(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `retry_wait(err, attempt)` and pass the function itself: "
                       "`check.lesson06.retry_wait(retry_wait)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `retry_wait(err, attempt)` yourself.")
    rng, seed = draw(seed)
    cases = _cases(rng)
    answered = False  # whether the function has returned anything but None yet
    for what, error, attempt in cases:
        try:
            got = function(error, attempt)
        except AttributeError as problem:
            if not isinstance(error, anthropic.APIStatusError):
                return not_yet(f"on {what}, your function raised AttributeError: {problem}. When no answer came back "
                               "there is no response, status or header to read: check "
                               "`isinstance(err, anthropic.APIStatusError)` first, and back off otherwise.")
            return not_yet(f"on {what}, your function raised AttributeError: {problem}.")
        except Exception as problem:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"on {what} (after attempt {attempt}), your function raised {type(problem).__name__}: "
                           f"{problem}.")
        expected = _expected_wait(error, attempt)
        seconds = _seconds(got)
        if expected is None and got is None:
            continue
        if got is None and not answered and _never_answers(function, cases):  # the same words on every run
            return not_yet("your function returned None for an error that the SDK retries (429s and 529s, 500s and "
                           "504s, 408s and 409s, timeouts and dropped connections): return the seconds to wait before the next "
                           "attempt.")
        answered = True
        if expected is not None and seconds is not None and abs(seconds - expected) < 1e-9:
            continue
        return not_yet(f"{_wait_mistake(got, expected, error, what, attempt)} (seed {seed})")
    return correct(f"on {len(cases)} errors raised by the SDK for this run, in a random order: None for the 400, "
                   "401, 402, 403 and 404, which would fail the same way again; the `retry-after` seconds for the 429s "
                   "and the 529 that carried the header; and `0.5 * 2 ** (attempt - 1)` seconds, at most 8, for a 529, "
                   "a 500, a 504, a 408 and a 409 without it, a timeout and a dropped connection, on attempt numbers drawn from 1 to 6.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
