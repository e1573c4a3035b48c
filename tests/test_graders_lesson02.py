"""Graders of lesson 02: right answers pass, wrong ones get a hint that names the mechanic."""

from __future__ import annotations

import pytest

from helpers import DEFAULT_MODEL, check, connect


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True, max_retries=0)


def send(client, messages):
    return client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=messages)


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


QUESTIONS = ["I'm learning to bake bread.", "Which flour should I start with?", "How long should the dough rise?"]


def test_whole_history_passes_when_every_request_carries_the_whole_list(client):
    history = []
    for question in QUESTIONS:
        history.append({"role": "user", "content": question})
        final = send(client, history)
        history.append(final.to_param())
    result = check.lesson02.whole_history(final)
    assert result.passed, result


def test_whole_history_accepts_replies_appended_as_text(client):
    history = []
    for question in QUESTIONS:
        history.append({"role": "user", "content": question})
        final = send(client, history)
        history.append({"role": "assistant", "content": text_of(final)})
    assert check.lesson02.whole_history(final).passed


def test_whole_history_hints_when_nothing_or_not_a_message(client):
    assert "keep the Message" in check.lesson02.whole_history(None).message
    assert "str" in check.lesson02.whole_history("a reply").message


def test_whole_history_hints_when_each_question_goes_alone(client):
    for question in QUESTIONS:
        final = send(client, [{"role": "user", "content": question}])
    result = check.lesson02.whole_history(final)
    assert not result.passed and "whole list" in result.message and "1 turn" in result.message


def test_whole_history_hints_when_assistant_turns_are_not_the_replies(client):
    history = []
    for question in QUESTIONS:
        history.append({"role": "user", "content": question})
        final = send(client, history)
        history.append({"role": "assistant", "content": "A reply I made up."})
    result = check.lesson02.whole_history(final)
    assert not result.passed and "not the reply" in result.message


def test_whole_history_hints_when_the_earlier_history_was_not_sent_whole(client):
    first = send(client, [{"role": "user", "content": QUESTIONS[0]}])
    second = send(client, [{"role": "user", "content": QUESTIONS[1]}])  # the first exchange was left out
    # As text: the thinking block of `second` belongs to a conversation without the first exchange, so the API
    # would refuse it in this history before any grader could look.
    history = [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": text_of(first)},
               {"role": "user", "content": QUESTIONS[1]}, {"role": "assistant", "content": text_of(second)},
               {"role": "user", "content": QUESTIONS[2]}]
    result = check.lesson02.whole_history(send(client, history))
    assert not result.passed and "turn 3 is not the reply" in result.message


def test_whole_history_hints_when_turns_do_not_alternate(client):
    history = [{"role": "user", "content": q} for q in QUESTIONS] + [{"role": "user", "content": "And another?"},
                                                                      {"role": "user", "content": "One more."}]
    result = check.lesson02.whole_history(send(client, history))
    assert not result.passed and "both user turns" in result.message and "merges" in result.message
    starts_with_assistant = [{"role": "assistant", "content": "Hi."}] + [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"Turn {i}."} for i in range(5)]
    result = check.lesson02.whole_history(send(client, starts_with_assistant))
    assert not result.passed and "starts with an assistant turn" in result.message


def trim_last_turns(messages, n):
    def plain_user(turn):
        content = turn["content"]
        return turn["role"] == "user" and (isinstance(content, str) or all(b["type"] != "tool_result" for b in content))

    start = max(len(messages) - n, 0)
    while start < len(messages) and not plain_user(messages[start]):
        start += 1
    return messages[start:]


def test_valid_trim_passes_a_correct_trim():
    result = check.lesson02.valid_trim(trim_last_turns)
    assert result.passed, result


@pytest.mark.parametrize("wrong, words", [
    (None, "define a function"),
    ([], "pass the function itself"),
    (lambda messages, n: messages[-n:], "tool_result whose tool_use was cut off"),
    (lambda messages, n: messages[-n:] if messages[-n:][0]["role"] == "user" else messages[-n + 1:],
     "tool_result whose tool_use was cut off"),
    (lambda messages, n: messages[-n:] if len(messages) > 8 and n == 4 else trim_last_turns(messages, n),
     "starts with an assistant turn"),
    (lambda messages, n: messages[-1:], "keep as many turns as the rules allow"),
    (lambda messages, n: [], "newest turn must always be kept"),
    (lambda messages, n: messages, "keep at most n"),
    (lambda messages, n: [messages[0]], "not the end of the history"),
    (lambda messages, n: None, "return the list of turns"),
    (lambda messages, n: messages[len(messages)], "raised IndexError"),
    (lambda messages, n: [messages.pop()], "changed the list it was given"),
])
def test_valid_trim_hints_name_the_mechanic(wrong, words):
    result = check.lesson02.valid_trim(wrong)
    assert not result.passed and words in result.message, result
