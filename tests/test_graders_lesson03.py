"""Graders of lesson 03: right answers pass, wrong ones get a hint that names the mechanic."""

from __future__ import annotations

import copy

import pytest

from helpers import DEFAULT_MODEL, PREFILL_MODEL, check, connect


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True, max_retries=0)


def send(client, messages, model=DEFAULT_MODEL):
    return client.messages.create(model=model, max_tokens=200, messages=messages)


QUESTION = {"role": "user", "content": "Ticket: I was charged twice for my May invoice."}
EXAMPLES = [("Ticket: The app crashes when I open settings.", "bug"),
            ("Ticket: Can I get a copy of last month's receipt?", "billing")]


def pairs(examples=EXAMPLES):
    turns = []
    for ticket, label in examples:
        turns += [{"role": "user", "content": ticket}, {"role": "assistant", "content": label}]
    return turns


def test_few_shot_passes_with_two_written_pairs_then_the_question(client):
    answer = send(client, pairs() + [QUESTION])
    result = check.lesson03.few_shot(answer)
    assert result.passed and "2 example pairs" in result.message, result


def test_few_shot_hints_when_nothing_was_sent():
    assert "keep the Message" in check.lesson03.few_shot(None).message


def test_few_shot_hints_when_there_is_only_one_pair(client):
    result = check.lesson03.few_shot(send(client, pairs()[:2] + [QUESTION]))
    assert not result.passed and "1 example pair" in result.message and "at least two pairs" in result.message


def test_few_shot_hints_when_examples_sit_in_one_user_turn(client):
    result = check.lesson03.few_shot(send(client, [QUESTION]))
    assert not result.passed and "0 example pair" in result.message


def test_few_shot_hints_when_roles_do_not_alternate(client):
    examples = [{"role": "user", "content": ticket} for ticket, _ in EXAMPLES]
    result = check.lesson03.few_shot(send(client, examples + [{"role": "assistant", "content": "bug"}, QUESTION]))
    assert not result.passed and "both user turns" in result.message and "assistant turn you write" in result.message


def test_few_shot_hints_when_the_request_ends_with_an_assistant_turn(client):
    answer = send(client, pairs() + [QUESTION, {"role": "assistant", "content": "Label:"}], model=PREFILL_MODEL)
    result = check.lesson03.few_shot(answer)
    assert not result.passed and "prefill" in result.message


def test_few_shot_hints_when_the_question_is_one_of_the_examples(client):
    result = check.lesson03.few_shot(send(client, pairs() + [{"role": "user", "content": EXAMPLES[0][0]}]))
    assert not result.passed and "also one of the examples" in result.message


def test_few_shot_hints_when_the_answers_are_real_replies(client):
    history = []
    for ticket, _ in EXAMPLES:
        history.append({"role": "user", "content": ticket})
        history.append(send(client, history).to_param())
    result = check.lesson03.few_shot(send(client, history + [QUESTION]))
    assert not result.passed and "reply the API generated" in result.message


REFUND_HISTORY = [
    {"role": "user", "content": "How long do refunds take?"},
    {"role": "assistant", "content": "Refunds take 30 days."},
]
NEXT = {"role": "user", "content": "I returned my kettle today. When will my refund arrive?"}


def edited(text):
    history = copy.deepcopy(REFUND_HISTORY)
    history[1]["content"] = text
    return history


def test_corrected_passes_when_the_assistant_turn_was_edited(client):
    result = check.lesson03.corrected(send(client, edited("Refunds take 5 business days.") + [NEXT]))
    assert result.passed and "5 business days" in result.message, result


def test_corrected_accepts_an_edited_turn_in_blocks(client):
    history = edited([{"type": "text", "text": "Refunds take 5 business days."}])
    assert check.lesson03.corrected(send(client, history + [NEXT])).passed


def test_corrected_hints_when_nothing_was_sent():
    assert "keep the Message" in check.lesson03.corrected(None).message


def test_corrected_hints_when_the_wrong_answer_was_sent_unchanged(client):
    result = check.lesson03.corrected(send(client, REFUND_HISTORY + [NEXT]))
    assert not result.passed and "still says" in result.message and "change the `content`" in result.message


def test_corrected_hints_when_a_user_correction_was_added_instead(client):
    history = REFUND_HISTORY + [{"role": "user", "content": "Correction: refunds take 5 business days."},
                                {"role": "assistant", "content": "Noted."}, NEXT]
    result = check.lesson03.corrected(send(client, history))
    assert not result.passed and "edit the assistant turn itself" in result.message


def test_corrected_hints_when_the_history_was_not_the_refund_history(client):
    result = check.lesson03.corrected(send(client, [NEXT]))
    assert not result.passed and "start from `refund_history`" in result.message


def test_corrected_hints_when_the_assistant_turn_was_dropped(client):
    result = check.lesson03.corrected(send(client, [REFUND_HISTORY[0], NEXT]))
    assert not result.passed and "assistant turn after the refund question is missing" in result.message


def test_corrected_hints_when_extra_turns_follow_a_correct_edit(client):
    history = edited("Refunds take 5 business days.") + [NEXT, {"role": "assistant", "content": "Soon."}, NEXT]
    result = check.lesson03.corrected(send(client, history))
    assert not result.passed and "three turns in all" in result.message


def test_corrected_hints_when_the_request_ends_with_an_assistant_turn(client):
    history = edited("Refunds take 5 business days.") + [NEXT, {"role": "assistant", "content": "It will"}]
    result = check.lesson03.corrected(send(client, history, model=PREFILL_MODEL))
    assert not result.passed and "prefill" in result.message
