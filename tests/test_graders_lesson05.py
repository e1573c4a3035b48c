"""Lesson 05 graders: a right answer passes, wrong answers get a hint naming the mechanic."""

from __future__ import annotations

import time

import anthropic
import pytest

from helpers import DEFAULT_MODEL, check, connect

RIGHT = {
    "end_turn": "done", "stop_sequence": "done", "max_tokens": "continue",
    "model_context_window_exceeded": "shorten", "tool_use": "run_tool", "pause_turn": "resend", "refusal": "stop",
}
LETTERS_TOOL = {
    "name": "count_letters",
    "description": "Count the letters in a word.",
    "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
}
QUESTION = "How many letters are in the word Formicidae? Use the count_letters tool."


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True)


# 05.1 what to do for each stop reason

def test_handle_passes():
    result = check.lesson05.handle(lambda message: RIGHT[message.stop_reason])
    assert result.passed, result


def test_handle_unsolved():
    result = check.lesson05.handle(lambda message: None)
    assert not result.passed and "'end_turn'" in result.message and "'done'" in result.message


def test_handle_reads_content_first():
    def handle(message):
        message.content[0].text  # breaks when the reply opens with a thinking block
        return RIGHT[message.stop_reason]

    result = check.lesson05.handle(handle)
    assert not result.passed and "`thinking` block" in result.message and "stop_reason" in result.message


def test_handle_reads_the_first_text_block_first():
    def handle(message):
        [block.text for block in message.content if block.type == "text"][0]  # breaks where there is no text
        return RIGHT[message.stop_reason]

    result = check.lesson05.handle(handle)
    # The grader's max_tokens sample is cut while thinking, before any text, as a small max_tokens can be.
    assert not result.passed and "IndexError on a 'max_tokens' message" in result.message
    assert "stop_reason" in result.message


@pytest.mark.parametrize("reason", sorted(RIGHT))
def test_handle_names_the_wrong_reason(reason):
    result = check.lesson05.handle(lambda message: "wrong" if message.stop_reason == reason else RIGHT[message.stop_reason])
    assert not result.passed and repr(reason) in result.message and repr(RIGHT[reason]) in result.message


def test_handle_not_a_function():
    result = check.lesson05.handle(None)
    assert not result.passed and "function" in result.message


# 05.2 a tool round trip

def round_trip(client, *, tools_again=True, result_for=None, content=None):
    history = [{"role": "user", "content": QUESTION}]
    first = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[LETTERS_TOOL], messages=history)
    use = next(b for b in first.content if b.type == "tool_use")
    answer = content if content is not None else str(sum(ch.isalpha() for ch in use.input["word"]))
    results = [{"type": "tool_result", "tool_use_id": result_for or use.id, "content": answer}]
    assistant = first.content
    history += [{"role": "assistant", "content": assistant}, {"role": "user", "content": results}]
    extra = {"tools": [LETTERS_TOOL]} if tools_again else {}
    return client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history, **extra)


def test_round_trip_passes(client):
    result = check.lesson05.tool_round_trip(round_trip(client))
    assert result.passed, result


def test_round_trip_unsolved():
    result = check.lesson05.tool_round_trip(None)
    assert not result.passed and "tool_result" in result.message


def test_round_trip_without_tools_again_is_refused_by_the_api(client):
    # The API rejects a history with tool blocks and no tools, before the grader ever sees it.
    with pytest.raises(anthropic.BadRequestError, match="must define tools"):
        round_trip(client, tools_again=False)


def test_round_trip_needs_the_function_output(client):
    result = check.lesson05.tool_round_trip(round_trip(client, content="I don't know"))
    assert not result.passed and "count_letters" in result.message


def test_round_trip_without_tool_use(client):
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[LETTERS_TOOL],
                                   messages=[{"role": "user", "content": "Hello there"}])
    result = check.lesson05.tool_round_trip(final)
    assert not result.passed and "tool_use" in result.message


def test_round_trip_invented_tool_use(client):
    invented = {"type": "tool_use", "id": "toolu_01MadeUpByTheLearner0000", "name": "count_letters", "input": {"word": "ant"}}
    final = client.messages.create(
        model=DEFAULT_MODEL, max_tokens=300, tools=[LETTERS_TOOL],
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [invented]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": invented["id"], "content": "3"}]},
        ],
    )
    result = check.lesson05.tool_round_trip(final)
    assert not result.passed and "first.content" in result.message


def test_round_trip_mismatched_id_is_rejected_by_the_api(client):
    with pytest.raises(anthropic.BadRequestError, match="tool_use"):
        round_trip(client, result_for="toolu_01NotTheRightId000000000")


# 05.3 a retry loop for rate limits

def right_retry(client, request, max_attempts=3):
    waits = []
    for attempt in range(1, max_attempts + 1):
        try:
            return client.messages.create(**request), waits
        except anthropic.RateLimitError as err:
            if attempt == max_attempts:
                raise
            seconds = float(err.response.headers["retry-after"])
            waits.append(seconds)
            time.sleep(seconds)


def test_retry_passes():
    result = check.lesson05.retry(right_retry)
    assert result.passed, result


def test_retry_unsolved():
    def create_with_retry(client, request, max_attempts=3):
        waits = []
        return None, waits

    result = check.lesson05.retry(create_with_retry)
    assert not result.passed and "client.messages.create" in result.message


def test_retry_without_catching():
    result = check.lesson05.retry(lambda client, request, max_attempts=3: (client.messages.create(**request), []))
    assert not result.passed and "RateLimitError" in result.message


def test_retry_fixed_wait():
    def create_with_retry(client, request, max_attempts=3):
        waits = []
        for attempt in range(max_attempts):
            try:
                return client.messages.create(**request), waits
            except anthropic.RateLimitError:
                if attempt == max_attempts - 1:
                    raise
                waits.append(0.03)

    result = check.lesson05.retry(create_with_retry)
    assert not result.passed and "header" in result.message


def test_retry_forever():
    def create_with_retry(client, request, max_attempts=3):
        waits = []
        while True:
            try:
                return client.messages.create(**request), waits
            except anthropic.RateLimitError as err:
                waits.append(float(err.response.headers["retry-after"]))

    result = check.lesson05.retry(create_with_retry)
    assert not result.passed and "max_attempts" in result.message


def test_retry_retries_everything():
    def create_with_retry(client, request, max_attempts=3):
        waits = []
        for attempt in range(max_attempts):
            try:
                return client.messages.create(**request), waits
            except anthropic.APIStatusError as err:
                if attempt == max_attempts - 1:
                    raise
                waits.append(float(err.response.headers.get("retry-after", 0)))

    result = check.lesson05.retry(create_with_retry)
    assert not result.passed and "RateLimitError" in result.message and "401" in result.message


def test_retry_wrong_signature():
    result = check.lesson05.retry(lambda client, request: (client.messages.create(**request), []))
    assert not result.passed and "max_attempts" in result.message
