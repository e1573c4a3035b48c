"""Graders for lesson 09: text_stream and the final message, recovering from an error mid-stream, raw events."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable, Optional

import anthropic

from ..catalog import DEFAULT_MODEL
from ..offline import faults
from ..usage import UsageLog
from . import (
    correct, draw, grader, grader_client, grader_only, kit_function, logged, not_yet, reply_text, same_text,
    text_of_content,
)

EXERCISE_QUESTION = "Describe in three short sentences what a server-sent event is."
"""The question exercise 09.1 streams (the lesson's `exercise_question`)."""
STEPS_QUESTION = "Explain in four short steps how a streamed reply reaches my notebook."
COUNT_QUESTIONS = ("Count to ten.", "List three colors.", STEPS_QUESTION)
HELPER_EVENTS = ("text", "input_json", "citation", "thinking", "signature")
"""Event types that ``messages.stream()`` adds on top of the raw ones."""

HINTS = {
    "09.1": (
        "Everything happens inside `with client.messages.stream(...) as stream:`: first the loop over "
        "`stream.text_stream`, then `stream.get_final_message()`.",
        "Each value the loop over `stream.text_stream` gives is one piece: append it to `pieces` inside the loop; "
        "after the loop, `stream.get_final_message()` is the whole reply. Both go inside the `with` block.",
    ),
    "09.2": (
        "Wrap one whole streaming attempt in `try`/`except anthropic.APIStatusError`; in the except branch, stream "
        "the same request again from the start.",
        "Section 6 shows an error mid-stream. The same shape for a call that does not stream: `try: return "
        "client.messages.create(**request)`, `except anthropic.APIStatusError: return "
        "client.messages.create(**request)`. Yours streams each attempt, and returns the text that attempt "
        "streamed.",
    ),
    "09.3": (
        "`client.messages.create(**request, stream=True)` returns the raw events; each has a `.type`.",
        "Section 2 loops over the raw events. The same loop counting one kind only: `with "
        "client.messages.create(**request, stream=True) as events: deltas = sum(1 for event in events if "
        "event.type == \"content_block_delta\")`. Yours keeps a count for every `event.type` in `counts`.",
    ),
}


@grader("09.1 text_stream and the final message")
def collect(pieces: Any, final: Any) -> Any:
    record, problem = logged(final, "final", "Stream `exercise_question`")
    if problem is not None:
        return problem
    if record.kind != "stream":
        return not_yet("this Message came from `client.messages.create(...)` without streaming. Open the stream with "
                       "`with client.messages.stream(...) as stream:` and take `stream.get_final_message()`.")
    messages = (record.request or {}).get("messages") or []
    if not messages or not same_text(text_of_content(messages[-1].get("content")), EXERCISE_QUESTION):
        return not_yet("the stream behind `final` did not ask `exercise_question`: this exercise grades the stream "
                       "that asks it (the lesson's own streams are other requests).")
    if record.stop_reason is None:
        return not_yet("the usage log shows this stream closed before its end (no stop reason arrived): read it to "
                       "the end, through `text_stream` and `get_final_message()`.")
    if isinstance(pieces, str):
        return not_yet("`pieces` is one string: keep the pieces apart, a list with one entry per piece of "
                       "`stream.text_stream` (`pieces.append(text)`), so the grader can see they came from the stream.")
    if not isinstance(pieces, (list, tuple)) or not all(isinstance(piece, str) for piece in pieces):
        return not_yet("`pieces` should be a list of strings: each piece of `stream.text_stream`, in order.")
    expected = reply_text(final)
    if not pieces:
        return not_yet("`pieces` is empty. Loop over `stream.text_stream` and append every piece, before you call "
                       "`get_final_message()`: it reads the rest of the stream, so a loop after it gets nothing.")
    joined = "".join(pieces)
    if joined != expected:
        if "".join(joined.split()) == "".join(expected.split()):
            return not_yet("the pieces have extra or missing whitespace. Append each piece exactly as it arrives: no "
                           "separators, no stripping.")
        if joined in expected:
            return not_yet("the pieces make up only part of the reply. Append every piece of `text_stream`, not just "
                           "the first or the last.")
        return not_yet("the pieces differ from the final message's text. Take both from the same stream: the pieces "
                       "of `stream.text_stream`, then `stream.get_final_message()`.")
    arrived = list(record.text_deltas)
    if [len(piece) for piece in pieces] != arrived:
        return not_yet(f"the text is right, but it is not in the pieces the stream delivered: {len(arrived)} arrived, "
                       f"and `pieces` has {len(pieces)} of other sizes. Text copied from the final message (or cut up "
                       "afterwards) was not read as it arrived: append each piece inside the loop over "
                       "`stream.text_stream`.")
    return correct(f"the usage log shows `exercise_question` sent as a stream that ran to its end "
                   f"({final.stop_reason!r}), and `pieces` are its {len(arrived)} text pieces as they arrived, joining "
                   f"up to the text of `final` ({len(expected)} characters).")


# --- 09.2 ---------------------------------------------------------------------------------------------------------

def _request(question: str, max_tokens: int) -> dict:
    return {"model": DEFAULT_MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": question}]}


def _run(function: Callable, client: anthropic.Anthropic, request: dict) -> tuple[str, Any]:
    """Call the learner's function; returns ("returned", value) or ("raised", error)."""
    try:
        return "returned", function(client, **request)
    except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
        return "raised", error


def _raised_hint(error: Exception, name: str) -> Any:
    if isinstance(error, TypeError) and ("argument" in str(error) or "positional" in str(error)):
        return not_yet(f"calling your function raised TypeError: {error}. Its signature is `{name}(client, "
                       "**request)`: pass the request on with `client.messages.stream(**request)`.")
    return not_yet(f"your function raised {type(error).__name__}: {error}.")


def _partial_text(request: dict, after_deltas: int) -> str:
    """What a stream failing after ``after_deltas`` deltas delivers before its error."""
    pieces: list[str] = []
    with faults("stream_error", after_deltas=after_deltas):
        try:
            with grader_client().messages.stream(**request) as stream:
                for text in stream.text_stream:
                    pieces.append(text)
        except anthropic.APIStatusError:
            pass
    return "".join(pieces)


@grader("09.2 recovering from an error mid-stream")
def recovery(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson09.recovery(stream_with_recovery)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `stream_with_recovery(...)` yourself.")
    rng, seed = draw(seed)
    request = _request(STEPS_QUESTION, rng.randrange(60, 160))
    expected = reply_text(grader_client().messages.create(**request))
    after = rng.randrange(3, 8)
    partial = _partial_text(request, after)

    log = UsageLog()
    with faults("stream_error", times=1, after_deltas=after) as plan:
        outcome, value = _run(function, grader_client(log), request)
    kinds = [record.kind for record in log.records]
    if outcome == "raised":
        if isinstance(value, anthropic.APIStatusError) and value.status_code == 200:
            return not_yet("the error that arrived mid-stream escaped your function: an `anthropic.APIStatusError` "
                           "with status 200. Catch it around the stream and stream the request again.")
        return _raised_hint(value, "stream_with_recovery")
    if not kinds and plan.remaining == 1:
        return not_yet("your function never called the API. Stream the request with the client it is given "
                       "(`client.messages.stream(...)`).")
    if not kinds:
        return not_yet("your function streamed with another client: use the `client` it is given, so the grader can "
                       "make that client's stream fail.")
    if "create" in kinds:
        return not_yet("your function called `client.messages.create()` without streaming. Stream every attempt, "
                       "the retry included: a request long enough to need streaming needs it the second time too.")
    if plan.remaining == 1:
        return not_yet("no stream of yours met the injected error. Stream the request with "
                       "`client.messages.stream(**request)`.")
    if not isinstance(value, str):
        return not_yet(f"your function returned {type(value).__name__}; return the reply's text as one string.")
    if len(log.records) < 2:
        return not_yet("after the error your function did not stream again (the usage log shows one stream). "
                       "Catch `anthropic.APIStatusError` and stream the whole request once more.")
    broken, retried = log.records[0], log.records[-1]
    if json.loads(retried.request_body or b"{}") != json.loads(broken.request_body or b"{}"):
        return not_yet("the second stream did not send the same request as the first: retry the request unchanged.")
    if value != expected:
        if partial and value == partial + expected:
            return not_yet("the text starts with what arrived before the error and then repeats the whole reply. "
                           "When you retry the whole request, start collecting afresh: the retry sends the reply "
                           "from the beginning.")
        if value == partial or (value and expected.startswith(value)):
            return not_yet("you returned only the text that arrived before the error. After catching it, stream the "
                           "request again and return the text of the attempt that finished.")
        return not_yet(f"the text differs from an uninterrupted reply to the same request (seed {seed}). Retry the "
                       "whole request unchanged and return the text of the attempt that finished.")

    log = UsageLog()
    outcome, value = _run(function, grader_client(log), request)
    if outcome == "raised":
        return _raised_hint(value, "stream_with_recovery")
    if value != expected or [record.kind for record in log.records] != ["stream"]:
        return not_yet("with no error at all, your function should stream once and return that stream's text.")
    return correct("when a stream broke mid-reply, the usage log shows your function streamed the same request a "
                   "second time (streams only, no create), and it returned the text of an uninterrupted reply to that "
                   "request; with no error, it streamed once.")


# --- 09.3 ---------------------------------------------------------------------------------------------------------

@grader_only
def _expected_events(request: dict) -> dict[str, int]:
    with grader_client().messages.create(**request, stream=True) as events:
        return dict(Counter(event.type for event in events))


@grader("09.3 counting raw events")
def event_counts(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson09.event_counts(count_events)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `count_events(...)` yourself.")
    rng, seed = draw(seed)
    request = _request(rng.choice(COUNT_QUESTIONS), rng.randrange(12, 200))
    expected = _expected_events(request)
    log = UsageLog()
    outcome, value = _run(function, grader_client(log), request)
    if outcome == "raised":
        return _raised_hint(value, "count_events")
    kinds = [record.kind for record in log.records]
    if not kinds:
        return not_yet("your function never called the API with the client it is given: iterate the raw events "
                       "of a streaming `create` (`stream=True`).")
    if "stream" not in kinds:
        return not_yet("your function called `create()` without `stream=True`, which returns one Message, not "
                       "events. Pass `stream=True` and iterate what it returns.")
    if not isinstance(value, Mapping):
        return not_yet("return a dict from event type to count, such as `{\"message_start\": 1, ...}`; "
                       "`collections.Counter` is a dict too.")
    counts = {str(key): count for key, count in value.items() if count}
    added = sorted(set(counts) & set(HELPER_EVENTS))
    if added:
        return not_yet(f"{added} are not raw events: `messages.stream()` adds them on top of the raw ones. Iterate "
                       "`client.messages.create(**request, stream=True)` for the raw events only.")
    if counts == expected:
        return correct("your counts match the raw events of a stream made up for this run, event type by event type "
                       "(one message_start, the content blocks' events, one message_delta, one message_stop; the SDK "
                       "drops pings).")
    missing = sorted(set(expected) - set(counts))
    if missing:
        return not_yet(f"some event types are missing: {missing}. Count every event the stream yields, by "
                       "`event.type`, not only the deltas.")
    extra = sorted(set(counts) - set(expected))
    if extra:
        return not_yet(f"these are not event types of this stream: {extra}. Count by `event.type`.")
    wrong = sorted(k for k in expected if counts.get(k) != expected[k])
    return not_yet(f"the counts of {wrong} are off for this run's request (seed {seed}): count the events of the "
                   "one stream your function opens with the request it is given, one per event.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
