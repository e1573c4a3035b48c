"""Lesson 01 graders: a right answer passes, wrong answers get a hint naming the mechanic."""

from __future__ import annotations

import anthropic
import pytest

from helpers import DEFAULT_MODEL, check, connect

QUESTION = "Where does the system prompt go in a request?"
SYSTEM = "You are a workshop assistant. Answer in one short sentence."


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True, max_retries=0)


def send(client, **options):
    return client.messages.create(model=DEFAULT_MODEL, **{
        "max_tokens": 100, "messages": [{"role": "user", "content": QUESTION}], **options})


def passes(result):
    assert result.passed, result.message
    assert repr(result).startswith("✅ Correct")


def hints(result, *words):
    assert not result.passed, result.message
    assert repr(result).startswith("❌ Not yet")
    for word in words:
        assert word in result.message, (word, result.message)


# -- 01.1 a top-level system prompt

def test_system_prompt_top_level_passes(client):
    passes(check.lesson01.system_prompt(send(client, system=SYSTEM, max_tokens=200)))


def test_system_prompt_as_text_blocks_passes(client):
    passes(check.lesson01.system_prompt(send(client, system=[{"type": "text", "text": SYSTEM}])))


def test_system_prompt_unsolved_gets_a_hint():
    hints(check.lesson01.system_prompt(None), "system=")


def test_system_role_inside_messages_is_named(client):
    message = send(client, messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}])
    hints(check.lesson01.system_prompt(message), "role \"system\"", "top-level `system`")


def test_missing_system_is_named(client):
    hints(check.lesson01.system_prompt(send(client)), "no top-level `system`")


def test_too_many_max_tokens_is_named(client):
    hints(check.lesson01.system_prompt(send(client, system=SYSTEM, max_tokens=500)), "max_tokens", "500")


def test_text_instead_of_message_is_named(client):
    message = send(client, system=SYSTEM)
    hints(check.lesson01.system_prompt(next(b.text for b in message.content if b.type == "text")), "whole Message")


def test_message_not_sent_through_connect_is_named():
    made_up = anthropic.types.Message.model_validate({
        "id": "msg_01notsent", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    })
    hints(check.lesson01.system_prompt(made_up), "connect()")


# -- 01.2 the anatomy of a Message

@pytest.fixture(scope="module")
def given(client):
    return client.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=[
        {"role": "user", "content": "List the parts of a Message object, one per line."}])


def right_answer(message):
    return {"text": "".join(b.text for b in message.content if b.type == "text"), "stop_reason": message.stop_reason,
            "output_tokens": message.usage.output_tokens}


def test_anatomy_right_answer_passes(given):
    assert given.stop_reason == "max_tokens"
    assert [b.type for b in given.content] == ["thinking", "text"]  # the premise: thinking first, then cut text
    passes(check.lesson01.anatomy(right_answer(given), given))


def test_anatomy_first_block_as_text_is_named(given):
    hints(check.lesson01.anatomy({**right_answer(given), "text": given.content[0].thinking}, given), "`thinking`")


def test_anatomy_unsolved_gets_a_hint(given):
    hints(check.lesson01.anatomy(None, given), "\"text\"", "\"stop_reason\"", "\"output_tokens\"")


def test_anatomy_missing_key_is_named(given):
    answer = right_answer(given)
    del answer["output_tokens"]
    hints(check.lesson01.anatomy(answer, given), "'output_tokens'")


def test_anatomy_wrong_text_points_to_content_blocks(given):
    hints(check.lesson01.anatomy({**right_answer(given), "text": str(given.content)}, given), "`.text`")


def test_anatomy_assumed_end_turn_points_to_stop_reason(given):
    hints(check.lesson01.anatomy({**right_answer(given), "stop_reason": "end_turn"}, given), "given.stop_reason")


def test_anatomy_input_tokens_is_named(given):
    answer = {**right_answer(given), "output_tokens": given.usage.input_tokens}
    hints(check.lesson01.anatomy(answer, given), "input_tokens", "given.usage.output_tokens")


def test_anatomy_total_tokens_is_named(given):
    answer = {**right_answer(given), "output_tokens": given.usage.input_tokens + given.usage.output_tokens}
    hints(check.lesson01.anatomy(answer, given), "input plus output")


def test_anatomy_needs_the_message(given):
    hints(check.lesson01.anatomy(right_answer(given), None), "second argument")


# -- 01.3 the text of every text block

def test_text_of_right_function_passes():
    passes(check.lesson01.text_of(lambda m: "".join(b.text for b in m.content if b.type == "text")))


def test_text_of_with_newlines_passes():
    passes(check.lesson01.text_of(lambda m: "\n".join(b.text for b in m.content if b.type == "text")))


def test_text_of_unsolved_gets_a_hint():
    def text_of(message):
        ...
    hints(check.lesson01.text_of(text_of), "return")
    hints(check.lesson01.text_of(None), "text_of(message)")


def test_text_of_first_block_only_is_named():
    hints(check.lesson01.text_of(lambda m: m.content[0].text), "Not every block has `.text`", "`.type`")


def test_text_of_without_type_check_is_named():
    hints(check.lesson01.text_of(lambda m: "".join(b.text for b in m.content)), "Not every block has `.text`")


def test_text_of_first_text_block_only_is_named():
    def first_text(message):
        return next((b.text for b in message.content if b.type == "text"), "")
    hints(check.lesson01.text_of(first_text), "several")


def test_text_of_indexing_an_empty_content_is_named():
    def indexed(message):
        message.content[0]  # fails when content is empty
        return "".join(b.text for b in message.content if b.type == "text")
    hints(check.lesson01.text_of(indexed), "empty list")

