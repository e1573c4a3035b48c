"""Lesson 09 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check

LESSON = "09_streaming.ipynb"
COLLECT, RECOVERY, EVENTS = "cell-39", "cell-41", "cell-43"


# 09.1 text_stream and the final message

STREAM = """with client.messages.stream(model=DEFAULT_MODEL, max_tokens=300,
                            messages=[{"role": "user", "content": exercise_question}]) as stream:
"""


@pytest.mark.parametrize("body", [
    STREAM + """    for text in stream.text_stream:
        pieces.append(text)
    final = stream.get_final_message()""",
    STREAM + """    pieces = [text for text in stream.text_stream]
    final = stream.get_final_message()""",
    STREAM + """    seen = []
    for n, piece in enumerate(stream.text_stream):
        seen.insert(n, piece)
    final = stream.get_final_message()
pieces = tuple(seen)""",
])
def test_collect_right_answers_pass(learner, body):
    result = learner.answer(COLLECT, body)
    assert result.passed, result
    assert "ran to its end" in result.message and "text pieces as they arrived" in result.message


def test_collect_lesson_demo_is_refused(learner):
    result = learner.answer(COLLECT, """final = streamed
pieces = [text_of(streamed)]""")  # section 4's stream of another question
    assert not result.passed and "before this cell's" in result.message


def test_collect_demo_question_streamed_again_is_refused(learner):
    result = learner.answer(COLLECT, """with client.messages.stream(model=DEFAULT_MODEL, max_tokens=300, messages=steps) as stream:
    pieces = list(stream.text_stream)
    final = stream.get_final_message()""")
    assert not result.passed and "did not ask `exercise_question`" in result.message


def test_collect_create_instead_of_stream_is_refused(learner):
    result = learner.answer(COLLECT, """final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                               messages=[{"role": "user", "content": exercise_question}])
pieces = [text_of(final)]""")
    assert not result.passed and "without streaming" in result.message


@pytest.mark.parametrize("body", [
    # the instructor's review: the text copied from the final message, text_stream never read
    STREAM + """    final = stream.get_final_message()
pieces = [text_of(final)]""",
    STREAM + """    final = stream.get_final_message()
pieces = text_of(final).split(" ")
pieces = [p + " " for p in pieces[:-1]] + pieces[-1:]""",
])
def test_collect_text_copied_from_the_final_message_is_refused(learner, body):
    result = learner.answer(COLLECT, body)
    assert not result.passed and "not read as it arrived" in result.message, result


@pytest.mark.parametrize("body, words", [
    (STREAM + """    final = stream.get_final_message()
    for text in stream.text_stream:
        pieces.append(text)""", "empty"),
    (STREAM + """    pieces = "".join(stream.text_stream)
    final = stream.get_final_message()""", "one string"),
    (STREAM + """    for text in stream.text_stream:
        pieces = [text]
    final = stream.get_final_message()""", "only part of the reply"),
    (STREAM + """    for text in stream.text_stream:
        pieces.append(text + " ")
    final = stream.get_final_message()""", "whitespace"),
])
def test_collect_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(COLLECT, body)
    assert not result.passed and words in result.message, result


# 09.2 recovering from an error mid-stream

RECOVERY_RIGHT = """for attempt in range(2):
    pieces = []
    try:
        with client.messages.stream(**request) as stream:
            for text in stream.text_stream:
                pieces.append(text)
        return "".join(pieces)
    except anthropic.APIStatusError:
        if attempt == 1:
            raise"""


@pytest.mark.parametrize("body", [
    RECOVERY_RIGHT,
    """def once():
    with client.messages.create(**request, stream=True) as events:
        return "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
try:
    return once()
except anthropic.APIStatusError:
    return once()""",
])
def test_recovery_right_answers_pass(learner, body):
    result = learner.answer(RECOVERY, body)
    assert result.passed, result
    assert "same request a second time" in result.message


@pytest.mark.parametrize("lazy, words", [
    # the demo's reply, typed in, after a stream that is never retried
    ("""try:
    with client.messages.stream(**request) as stream:
        stream.get_final_message()
except anthropic.APIStatusError:
    pass
return text_of(retried)""", "did not stream again"),
    # the retry without streaming
    ("""try:
    with client.messages.stream(**request) as stream:
        return stream.get_final_text()
except anthropic.APIStatusError:
    return text_of(client.messages.create(**request))""", "without streaming"),
    # only what arrived before the error
    ("""pieces = []
try:
    with client.messages.stream(**request) as stream:
        for text in stream.text_stream:
            pieces.append(text)
except anthropic.APIStatusError:
    pass
return "".join(pieces)""", "did not stream again"),
])
def test_recovery_lazy_answers_are_refused(learner, lazy, words):
    result = learner.answer(RECOVERY, lazy)
    assert not result.passed and words in result.message, result


def test_recovery_pasting_the_last_hint_is_refused(learner):
    """The last hint retries a call that does not stream: pasted as it is, nothing is streamed."""
    steps = [last_hint_code("09.2", "try: "), last_hint_code("09.2", "except anthropic.APIStatusError")]
    result = learner.answer(RECOVERY, "\n".join(steps))
    assert not result.passed and "without streaming" in result.message, result


def test_recovery_keeping_the_broken_text_is_named(learner):
    result = learner.answer(RECOVERY, """pieces = []
for attempt in range(2):
    try:
        with client.messages.stream(**request) as stream:
            for text in stream.text_stream:
                pieces.append(text)
        return "".join(pieces)
    except anthropic.APIStatusError:
        pass""")
    assert not result.passed and "start collecting afresh" in result.message


def test_recovery_unsolved(learner):
    result = learner.answer(RECOVERY)
    assert not result.passed and "never called the API" in result.message


# 09.3 counting raw events

@pytest.mark.parametrize("body", [
    """with client.messages.create(**request, stream=True) as events:
    for event in events:
        counts[event.type] = counts.get(event.type, 0) + 1""",
    """import collections
counts = collections.Counter(event.type for event in client.messages.create(**request, stream=True))""",
])
def test_event_counts_right_answers_pass(learner, body):
    result = learner.answer(EVENTS, body)
    assert result.passed, result


@pytest.mark.parametrize("lazy, words", [
    # the counts printed by section 2's loop, typed in, after a stream for show
    ("""client.messages.create(**request, stream=True).close()
counts = {"message_start": 1, "content_block_start": 1, "content_block_delta": 8, "content_block_stop": 1,
          "message_delta": 1, "message_stop": 1}""", "seed"),
    ("""with client.messages.stream(**request) as stream:
    for event in stream:
        counts[event.type] = counts.get(event.type, 0) + 1""", "not raw events"),
])
def test_event_counts_lazy_answers_are_refused(learner, lazy, words):
    results = [learner.answer(EVENTS, lazy) for _ in range(3)]  # a typed dict can match one run's stream, not three
    assert any(not r.passed for r in results)
    assert any(words in r.message for r in results if not r.passed)


def test_event_counts_pasting_the_last_hint_is_refused(learner):
    """The last hint counts one kind of event: pasted as it is, `counts` stays empty."""
    result = learner.answer(EVENTS, last_hint_code("09.3", "with client.messages.create("))
    assert not result.passed and "some event types are missing" in result.message, result


def test_event_counts_requests_vary():
    requests = set()
    for seed in range(10):
        seen = {}

        def spy(client, **request):
            seen.update(request)
            return {}

        check.lesson09.event_counts(spy, seed=seed)
        requests.add((seen["max_tokens"], seen["messages"][0]["content"]))
    assert len(requests) > 5
