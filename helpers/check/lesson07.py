"""Graders for lesson 07: text_stream and the final message, recovering from an error mid-stream, raw events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable

import anthropic

from ..catalog import DEFAULT_MODEL
from ..offline import faults
from ..usage import UsageLog, usage_log
from . import correct, grader, grader_client, hint, is_message

STEPS_QUESTION = "Explain in four short steps how a streamed reply reaches my notebook."
COUNT_QUESTION = "Count to ten."
FAIL_AFTER_DELTAS = 4
"""How many text deltas the grader's failing stream lets through (its reply has about forty)."""
HELPER_EVENTS = ("text", "input_json", "citation", "thinking", "signature")
"""Event types that ``messages.stream()`` adds on top of the raw ones."""


def _text(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def _request(question: str, max_tokens: int = 300) -> dict:
    return {"model": DEFAULT_MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": question}]}


def _run(function: Callable, client: anthropic.Anthropic, request: dict) -> tuple[str, Any]:
    """Call the learner's function; returns ("returned", value) or ("raised", error)."""
    try:
        return "returned", function(client, **request)
    except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
        return "raised", error


def _raised_hint(error: Exception, name: str) -> Any:
    if isinstance(error, TypeError) and ("argument" in str(error) or "positional" in str(error)):
        return hint(f"calling your function raised TypeError: {error}. Its signature is `{name}(client, **request)`: "
                    "pass the request on with `client.messages.stream(**request)`.")
    return hint(f"your function raised {type(error).__name__}: {error}.")


@grader("07.1 text_stream and the final message")
def collect(streamed_text: Any, final: Any) -> Any:
    if not is_message(final):
        return hint("keep `stream.get_final_message()` in `final`, inside the `with client.messages.stream(...) as "
                    "stream:` block, after the loop over `stream.text_stream`.")
    record = usage_log.find(final.id)
    if record is None:
        return hint("this Message was not made by a client from `connect()`, so the grader cannot see how it was "
                    "made. Use the lesson's `client`.")
    if record.kind != "stream":
        return hint("this Message came from `client.messages.create(...)` without streaming. Open the stream with "
                    "`with client.messages.stream(...) as stream:` and take `stream.get_final_message()`.")
    if isinstance(streamed_text, (list, tuple)) and all(isinstance(piece, str) for piece in streamed_text):
        return hint("`streamed_text` is a list of pieces: join them into one string, `\"\".join(pieces)`.")
    if not isinstance(streamed_text, str):
        return hint("`streamed_text` should be a string: the pieces of `stream.text_stream`, joined.")
    expected = _text(final)
    if not streamed_text:
        return hint("`streamed_text` is empty. Loop over `stream.text_stream` and add every piece, before you call "
                    "`get_final_message()`: it reads the rest of the stream, so a loop after it gets nothing.")
    if streamed_text != expected:
        if streamed_text.strip() == expected.strip() or streamed_text.replace("\n", "") == expected.replace("\n", ""):
            return hint("`streamed_text` has extra or missing whitespace. Add each piece exactly as it arrives: no "
                        "separators, no stripping.")
        if streamed_text in expected:
            return hint("`streamed_text` holds only part of the reply. Add every piece of `text_stream`, not just "
                        "the first or the last.")
        return hint("`streamed_text` differs from the final message's text. Take both from the same stream: the "
                    "pieces of `stream.text_stream`, then `stream.get_final_message()`.")
    return correct(f"the pieces of text_stream join up to the final message's text ({len(expected)} characters), "
                   f"and the usage log shows the call as a stream ending with {final.stop_reason!r}.")


def _partial_text(request: dict) -> str:
    """What a stream failing after FAIL_AFTER_DELTAS deltas delivers before its error."""
    pieces: list[str] = []
    with faults("stream_error", after_deltas=FAIL_AFTER_DELTAS):
        try:
            with grader_client().messages.stream(**request) as stream:
                for text in stream.text_stream:
                    pieces.append(text)
        except anthropic.APIStatusError:
            pass
    return "".join(pieces)


@grader("07.2 recovering from an error mid-stream")
def recovery(function: Any) -> Any:
    if not callable(function):
        return hint("pass your function itself: `check.lesson07.recovery(stream_with_recovery)`.")
    request = _request(STEPS_QUESTION)
    expected = _text(grader_client().messages.create(**request))
    partial = _partial_text(request)

    log = UsageLog()
    with faults("stream_error", times=1, after_deltas=FAIL_AFTER_DELTAS) as plan:
        outcome, value = _run(function, grader_client(log), request)
    kinds = [record.kind for record in log.records]
    if outcome == "raised":
        if isinstance(value, anthropic.APIStatusError) and value.status_code == 200:
            return hint("the error that arrived mid-stream escaped your function: an `anthropic.APIStatusError` "
                        "with status 200. Catch it around the stream and stream the request again.")
        return _raised_hint(value, "stream_with_recovery")
    if not kinds and plan.remaining == 1:
        return hint("your function never called the API. Stream the request with the client it is given: "
                    "`with client.messages.stream(**request) as stream:`.")
    if not kinds:
        return hint("your function streamed with another client: use the `client` it is given, so the grader can "
                    "make that client's stream fail.")
    if "create" in kinds:
        return hint("your function called `client.messages.create()` without streaming. Stream every attempt, the "
                    "retry included: a request long enough to need streaming needs it the second time too.")
    if plan.remaining == 1:
        return hint("no stream of yours met the injected error. Stream the request with "
                    "`client.messages.stream(**request)`.")
    if not isinstance(value, str):
        return hint(f"your function returned {type(value).__name__}; return the reply's text as one string.")
    if value != expected:
        if partial and value == partial + expected:
            return hint("the text starts with what arrived before the error and then repeats the whole reply. When "
                        "you retry the whole request, start collecting afresh: the retry sends the reply from the "
                        "beginning.")
        if value == partial or (value and expected.startswith(value)):
            return hint("you returned only the text that arrived before the error. After catching it, stream the "
                        "request again and return the text of the attempt that finished.")
        if len(kinds) < 2:
            return hint("after the error your function did not stream again. Catch `anthropic.APIStatusError` and "
                        "retry the whole request with a new stream.")
        return hint("the text differs from an uninterrupted reply to the same request. Retry the whole request "
                    "unchanged and return the text of the attempt that finished.")

    log = UsageLog()
    outcome, value = _run(function, grader_client(log), request)
    if outcome == "raised":
        return _raised_hint(value, "stream_with_recovery")
    if value != expected or [record.kind for record in log.records] != ["stream"]:
        return hint("with no error at all, your function should stream once and return that stream's text.")
    return correct(f"a stream broke after {len(partial)} characters; your function caught the APIStatusError, "
                   f"streamed the request again ({len(kinds)} streams, no create) and returned the complete text.")


def _expected_events(request: dict) -> dict[str, int]:
    with grader_client().messages.create(**request, stream=True) as events:
        return dict(Counter(event.type for event in events))


@grader("07.3 counting raw events")
def event_counts(function: Any) -> Any:
    if not callable(function):
        return hint("pass your function itself: `check.lesson07.event_counts(count_events)`.")
    request = _request(COUNT_QUESTION, max_tokens=200)
    expected = _expected_events(request)
    log = UsageLog()
    outcome, value = _run(function, grader_client(log), request)
    if outcome == "raised":
        return _raised_hint(value, "count_events")
    kinds = [record.kind for record in log.records]
    if not kinds:
        return hint("your function never called the API with the client it is given. Iterate "
                    "`client.messages.create(**request, stream=True)`.")
    if "stream" not in kinds:
        return hint("your function called `create()` without `stream=True`, which returns one Message, not "
                    "events. Pass `stream=True` and iterate what it returns.")
    if not isinstance(value, Mapping):
        return hint("return a dict from event type to count, such as `{\"message_start\": 1, ...}`; "
                    "`collections.Counter` is a dict too.")
    counts = {str(key): count for key, count in value.items() if count}
    added = sorted(set(counts) & set(HELPER_EVENTS))
    if added:
        return hint(f"{added} are not raw events: `messages.stream()` adds them on top of the raw ones. Iterate "
                    "`client.messages.create(**request, stream=True)` for the raw events only.")
    if counts == expected:
        deltas = expected.get("content_block_delta", 0)
        return correct(f"{sum(expected.values())} raw events: one message_start, {deltas} content_block_delta, one "
                       "message_delta, one message_stop, and no ping (the SDK drops them).")
    missing = sorted(set(expected) - set(counts))
    if missing:
        return hint(f"some event types are missing: {missing}. Count every event the stream yields, by "
                    "`event.type`, not only the deltas.")
    extra = sorted(set(counts) - set(expected))
    if extra:
        return hint(f"these are not event types of this stream: {extra}. Count by `event.type`.")
    wrong = sorted(k for k in expected if counts.get(k) != expected[k])
    return hint(f"the counts of {wrong} are off. Add one per event: `counts[event.type] = counts.get(event.type, 0) "
                "+ 1`, over a single stream.")
