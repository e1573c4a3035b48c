"""Lesson 07 graders: a right answer passes, wrong answers get a hint naming the mechanic."""

from __future__ import annotations

import collections

import anthropic
import pytest

from helpers import DEFAULT_MODEL, check, connect
from helpers.offline import faults

QUESTION = "Explain in four short steps how a streamed reply reaches my notebook."
REQUEST = {"model": DEFAULT_MODEL, "max_tokens": 300, "messages": [{"role": "user", "content": QUESTION}]}


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True)


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def stream_pieces(client, **request):
    with client.messages.stream(**(request or REQUEST)) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    return pieces, final


# 07.1 text_stream and the final message

def test_collect_passes(client):
    pieces, final = stream_pieces(client)
    result = check.lesson07.collect("".join(pieces), final)
    assert result.passed, result


def test_collect_unsolved():
    result = check.lesson07.collect("", None)
    assert not result.passed and "get_final_message" in result.message


def test_collect_needs_a_stream(client):
    created = client.messages.create(**REQUEST)
    result = check.lesson07.collect(text_of(created), created)
    assert not result.passed and "without streaming" in result.message and "messages.stream" in result.message


def test_collect_text_stream_after_the_final_message(client):
    streamed_text = ""
    with client.messages.stream(**REQUEST) as stream:
        final = stream.get_final_message()
        for text in stream.text_stream:
            streamed_text += text
    result = check.lesson07.collect(streamed_text, final)
    assert not result.passed and "text_stream" in result.message and "before" in result.message


def test_collect_a_list_of_pieces(client):
    pieces, final = stream_pieces(client)
    result = check.lesson07.collect(pieces, final)
    assert not result.passed and "join" in result.message


def test_collect_only_the_last_piece(client):
    pieces, final = stream_pieces(client)
    result = check.lesson07.collect(pieces[-1], final)
    assert not result.passed and "every piece" in result.message


def test_collect_with_separators(client):
    pieces, final = stream_pieces(client)
    result = check.lesson07.collect("\n".join(pieces), final)
    assert not result.passed and "whitespace" in result.message


def test_collect_client_outside_the_kit():
    import httpx2

    from helpers.connection import OFFLINE_BASE_URL, OFFLINE_KEY
    from helpers.offline.transport import OfflineTransport

    bare = anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL,
                               http_client=httpx2.Client(transport=OfflineTransport()))
    pieces, final = stream_pieces(bare)
    result = check.lesson07.collect("".join(pieces), final)
    assert not result.passed and "connect()" in result.message


# 07.2 recovering from an error mid-stream

def right_recovery(client, **request):
    for attempt in range(2):
        pieces = []
        try:
            with client.messages.stream(**request) as stream:
                for text in stream.text_stream:
                    pieces.append(text)
            return "".join(pieces)
        except anthropic.APIStatusError:
            if attempt == 1:
                raise


def test_recovery_passes():
    result = check.lesson07.recovery(right_recovery)
    assert result.passed, result


def test_recovery_with_create_stream_true_passes():
    def stream_with_recovery(client, **request):
        for attempt in range(2):
            pieces = []
            try:
                with client.messages.create(**request, stream=True) as events:
                    for event in events:
                        if event.type == "content_block_delta" and event.delta.type == "text_delta":
                            pieces.append(event.delta.text)
                return "".join(pieces)
            except anthropic.APIStatusError:
                if attempt == 1:
                    raise

    result = check.lesson07.recovery(stream_with_recovery)
    assert result.passed, result


def test_recovery_unsolved():
    result = check.lesson07.recovery(lambda client, **request: None)
    assert not result.passed and "never called the API" in result.message


def test_recovery_not_a_function():
    result = check.lesson07.recovery(None)
    assert not result.passed and "function" in result.message


def test_recovery_without_catching():
    def stream_with_recovery(client, **request):
        with client.messages.stream(**request) as stream:
            return stream.get_final_text()

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "APIStatusError" in result.message and "200" in result.message


def test_recovery_with_create_only():
    def stream_with_recovery(client, **request):
        return text_of(client.messages.create(**request))

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "create()" in result.message and "without streaming" in result.message


def test_recovery_retry_with_create():
    def stream_with_recovery(client, **request):
        try:
            with client.messages.stream(**request) as stream:
                return stream.get_final_text()
        except anthropic.APIStatusError:
            return text_of(client.messages.create(**request))

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "create()" in result.message and "retry" in result.message


def test_recovery_keeps_the_failed_text():
    def stream_with_recovery(client, **request):
        pieces = []
        for attempt in range(2):
            try:
                with client.messages.stream(**request) as stream:
                    for text in stream.text_stream:
                        pieces.append(text)
                return "".join(pieces)
            except anthropic.APIStatusError:
                continue

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "afresh" in result.message


def test_recovery_returns_the_partial_text():
    def stream_with_recovery(client, **request):
        pieces = []
        try:
            with client.messages.stream(**request) as stream:
                for text in stream.text_stream:
                    pieces.append(text)
        except anthropic.APIStatusError:
            pass
        return "".join(pieces)

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "before the error" in result.message and "stream the request again" in result.message


def test_recovery_uses_another_client(client):
    def stream_with_recovery(_client, **request):
        return right_recovery(client, **request)

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "`client` it is given" in result.message


def test_recovery_returns_a_message():
    def stream_with_recovery(client, **request):
        for _ in range(2):
            try:
                with client.messages.stream(**request) as stream:
                    return stream.get_final_message()
            except anthropic.APIStatusError:
                pass

    result = check.lesson07.recovery(stream_with_recovery)
    assert not result.passed and "string" in result.message


def test_recovery_wrong_signature():
    result = check.lesson07.recovery(lambda client, request: right_recovery(client, **request))
    assert not result.passed and "**request" in result.message


def test_the_fault_fires_mid_reply():
    """The grader's failing stream must break inside the reply, not after it (else the fault never fires)."""
    api = connect("offline", quiet=True, max_retries=0)
    received = []
    with faults("stream_error", after_deltas=check.lesson07.FAIL_AFTER_DELTAS):
        with pytest.raises(anthropic.APIStatusError) as caught:
            with api.messages.stream(**REQUEST) as stream:
                received.extend(stream.text_stream)
    full, _ = stream_pieces(api)
    # The default model's thinking block sends a signature_delta first: the fault still falls inside the text.
    assert caught.value.status_code == 200 and 0 < len(received) < len(full)


# 07.3 counting raw events

def right_count(client, **request):
    with client.messages.create(**request, stream=True) as events:
        return collections.Counter(event.type for event in events)


def test_event_counts_passes():
    result = check.lesson07.event_counts(right_count)
    assert result.passed, result
    assert "ping" in result.message


def test_event_counts_unsolved():
    def count_events(client, **request):
        counts = {}
        return counts

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "stream=True" in result.message


def test_event_counts_without_stream_true():
    def count_events(client, **request):
        client.messages.create(**request)
        return {}

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "stream=True" in result.message


def test_event_counts_with_the_helper():
    def count_events(client, **request):
        with client.messages.stream(**request) as stream:
            return collections.Counter(event.type for event in stream)

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "'text'" in result.message and "raw" in result.message


def test_event_counts_only_deltas():
    def count_events(client, **request):
        with client.messages.create(**request, stream=True) as events:
            return collections.Counter(event.type for event in events if event.type == "content_block_delta")

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "missing" in result.message and "message_start" in result.message


def test_event_counts_counted_once_each():
    def count_events(client, **request):
        with client.messages.create(**request, stream=True) as events:
            return {event.type: 1 for event in events}

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "content_block_delta" in result.message


def test_event_counts_not_a_dict():
    def count_events(client, **request):
        with client.messages.create(**request, stream=True) as events:
            return [event.type for event in events]

    result = check.lesson07.event_counts(count_events)
    assert not result.passed and "dict" in result.message
