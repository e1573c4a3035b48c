"""Graders for lesson 05: acting on every stop reason, a tool round trip, a retry loop for rate limits."""

from __future__ import annotations

from typing import Any, Callable

import anthropic

from ..catalog import DEFAULT_MODEL
from ..offline import faults
from ..usage import usage_log
from . import correct, grader, grader_client, hint, is_message, sent_request

NEXT_STEP = {
    "end_turn": ("done", "the answer is complete"),
    "stop_sequence": ("done", "the reply stopped at one of your stop sequences, as you asked"),
    "max_tokens": ("continue", "the answer was cut at max_tokens: ask for the rest"),
    "model_context_window_exceeded": ("shorten", "the context window is full: shorten the history first"),
    "tool_use": ("run_tool", "the model asked for a tool: run it and send a tool_result"),
    "pause_turn": ("resend", "a server-tool turn was paused: send it back as-is"),
    "refusal": ("stop", "the model declined: don't resend the same prompt"),
}
_SAMPLE_TOOL = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
_COUNT = [{"role": "user", "content": "Count to ten."}]
# How the grader gets a real Message for each stop reason from the offline backend.
_REQUESTS: dict[str, dict] = {
    "end_turn": {"max_tokens": 200, "messages": _COUNT},
    "stop_sequence": {"max_tokens": 200, "messages": _COUNT, "stop_sequences": ["three"]},
    "max_tokens": {"max_tokens": 3, "messages": _COUNT},
    "model_context_window_exceeded": {
        "max_tokens": 200, "messages": [{"role": "user", "content": "#context_window Tell me about ants."}]},
    "tool_use": {"max_tokens": 200, "tools": [_SAMPLE_TOOL],
                 "messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
    "pause_turn": {"max_tokens": 200, "messages": [{"role": "user", "content": "#pause_turn Search the news."}]},
    "refusal": {"max_tokens": 200, "messages": [{"role": "user", "content": "#refusal Tell me about ants."}]},
}
LETTERS_TOOL = "count_letters"
RETRY_REQUEST = {"model": DEFAULT_MODEL, "max_tokens": 20, "messages": _COUNT}


def _sample_messages() -> dict[str, anthropic.types.Message]:
    api = grader_client()
    return {reason: api.messages.create(model=DEFAULT_MODEL, **request) for reason, request in _REQUESTS.items()}


@grader("05.1 what to do for each stop reason")
def handle(function: Any) -> Any:
    if not callable(function):
        return hint("pass your function itself: `check.lesson05.handle(handle)`.")
    samples = _sample_messages()
    for reason, message in samples.items():
        if message.stop_reason != reason:
            return hint(f"the grader expected a {reason!r} message from the offline backend and got "
                        f"{message.stop_reason!r}; please report this.")
    for reason, message in samples.items():
        expected, why = NEXT_STEP[reason]
        try:
            got = function(message)
        except (IndexError, AttributeError) as error:
            if not message.content:
                why_not = " Its content is empty: look at `message.stop_reason` before `message.content`."
            elif message.content[0].type != "text":
                why_not = (f" Its first block is a `{message.content[0].type}` block, not text: decide from "
                           "`message.stop_reason`, and read blocks by their `.type`.")
            else:
                why_not = ""
            return hint(f"handle() raised {type(error).__name__} on a {reason!r} message.{why_not}")
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return hint(f"handle() raised {type(error).__name__}: {error} on a {reason!r} message. Decide from "
                        "`message.stop_reason`.")
        if got != expected:
            return hint(f"for stop_reason {reason!r}, handle() returned {got!r}; expected {expected!r}: {why}.")
    return correct("handle() picks the right next step for all seven stop reasons, refusals with empty content "
                   "included.")


def _blocks(content: Any) -> list[dict]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in _blocks(content) if b.get("type") == "text")


def _came_from_model(tool_use_id: str) -> bool:
    """Whether a response in the usage log contained this tool_use block."""
    for record in usage_log.records:
        response = record.response if isinstance(record.response, dict) else {}
        if any(b.get("id") == tool_use_id for b in _blocks(response.get("content"))):
            return True
    return False


@grader("05.2 a tool round trip")
def tool_round_trip(final: Any) -> Any:
    if not is_message(final):
        return hint("keep the Message of the second call, the one sent after your tool_result, in `final_answer`.")
    request = sent_request(final)
    if request is None:
        return hint("this Message was not made by a client from `connect()`, so the grader cannot see what was "
                    "sent. Use the lesson's `client`.")
    if not any(isinstance(t, dict) and t.get("name") == LETTERS_TOOL for t in request.get("tools") or []):
        return hint("the final request had no `tools`. Send `tools=[letters_tool]` with every call of the round "
                    "trip, the second one included.")
    messages = request.get("messages") or []
    found = None
    for i, turn in enumerate(messages):
        uses = [b for b in _blocks(turn.get("content")) if b.get("type") == "tool_use"]
        if turn.get("role") == "assistant" and uses:
            found = i, uses
    if found is None:
        return hint("the final request has no assistant turn with a tool_use block. Append the first reply, "
                    "unchanged: `{\"role\": \"assistant\", \"content\": first.content}`.")
    i, uses = found
    following = messages[i + 1] if i + 1 < len(messages) else {}
    if following.get("role") != "user":
        return hint("right after the assistant's tool_use turn comes a user turn holding the tool_result blocks.")
    results = {b.get("tool_use_id"): b for b in _blocks(following.get("content")) if b.get("type") == "tool_result"}
    for use in uses:
        if use.get("id") not in results:
            return hint(f"no tool_result answers the tool_use block {use.get('id')}. Give each result "
                        "`\"tool_use_id\": block.id` of the block it answers.")
        if not _came_from_model(use["id"]):
            return hint("this tool_use block is not in any reply the model sent. Append the model's own "
                        "`first.content` as the assistant turn instead of writing the block yourself.")
        word = (use.get("input") or {}).get("word", "")
        expected = str(sum(ch.isalpha() for ch in str(word)))
        if expected not in _text(results[use["id"]].get("content")):
            return hint(f"the tool_result should hold what `count_letters(**block.input)` returned, {expected}, as "
                        "a string.")
    if final.stop_reason != "end_turn":
        return hint(f"the final reply stopped with {final.stop_reason!r}, not 'end_turn'. If it is 'tool_use' "
                    "again, run the tool again; if 'max_tokens', raise max_tokens.")
    return correct(f"tool_use → count_letters → tool_result with the matching id ({len(uses)} call{'s' if len(uses) != 1 else ''}), then "
                   "an end_turn answer.")


def _run(function: Callable, max_attempts: int = 3) -> tuple[str, Any]:
    """Call the learner's function; returns ("returned", value) or ("raised", error)."""
    try:
        return "returned", function(grader_client(), dict(RETRY_REQUEST), max_attempts=max_attempts)
    except Exception as error:  # noqa: BLE001 - raising is part of the expected behaviour
        return "raised", error


def _same_seconds(waits: Any, expected: list[float]) -> bool:
    try:
        return len(waits) == len(expected) and all(abs(float(w) - e) < 1e-6 for w, e in zip(waits, expected))
    except (TypeError, ValueError):
        return False


@grader("05.3 a retry loop for rate limits")
def retry(function: Any) -> Any:
    if not callable(function):
        return hint("pass your function itself: `check.lesson05.retry(create_with_retry)`.")

    with faults("rate_limit", times=2, retry_after=0.03) as plan:
        outcome, value = _run(function)
    if plan.remaining == 2 and outcome == "raised":
        return hint(f"your function raised {type(value).__name__} before calling the API: {value}. Its signature "
                    "is `create_with_retry(client, request, max_attempts=3)`.")
    if plan.remaining == 2:
        return hint("your function never called the API. Call `client.messages.create(**request)` with the "
                    "client it is given.")
    if outcome == "raised":
        if isinstance(value, anthropic.RateLimitError):
            return hint("a RateLimitError escaped after the first 429. Catch `anthropic.RateLimitError`, wait, "
                        "and call again.")
        return hint(f"your function raised {type(value).__name__}: {value}.")
    if not (isinstance(value, tuple) and len(value) == 2 and is_message(value[0])):
        return hint("return a pair: `(message, waits)`, the Message from the successful attempt and the list of "
                    "seconds waited.")
    if plan.remaining != 0:
        return hint("two 429s should mean three attempts in all.")
    if not _same_seconds(value[1], [0.03, 0.03]):
        return hint(f"after two 429s with `retry-after: 0.03`, waits was {value[1]!r}, not [0.03, 0.03]. Read the "
                    "seconds from `err.response.headers[\"retry-after\"]` (a string: convert it with float).")

    with faults("rate_limit", times=1, retry_after=0.02):
        outcome, value = _run(function)
    if outcome != "returned" or not isinstance(value, tuple) or not _same_seconds(value[1], [0.02]):
        return hint("with one 429 and `retry-after: 0.02`, waits should be [0.02]: take the value from the "
                    "header each time rather than a fixed number.")

    with faults("rate_limit", times=5, retry_after=0.01) as plan:
        outcome, value = _run(function, max_attempts=3)
    attempts = 5 - plan.remaining
    if outcome != "raised" or not isinstance(value, anthropic.RateLimitError):
        return hint("when every attempt gets a 429, raise the last RateLimitError after `max_attempts` attempts "
                    "instead of returning.")
    if attempts != 3:
        return hint(f"with max_attempts=3 your function made {attempts} attempts. Stop after `max_attempts`.")

    with faults("authentication", times=3) as plan:
        outcome, value = _run(function)
    attempts = 3 - plan.remaining
    if outcome != "raised" or not isinstance(value, anthropic.AuthenticationError) or attempts != 1:
        return hint(f"a 401 got {attempts} attempts. Only a RateLimitError is worth retrying: let other errors "
                    "propagate at once (catch `anthropic.RateLimitError`, not `Exception` or `APIStatusError`).")
    return correct("your loop waits as long as `retry-after` says, gives up after max_attempts, and does not "
                   "retry errors that would fail again.")
