"""Lesson 02 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import random

import pytest

from helpers import check
from helpers.check.histories import random_history

LESSON = "02_multi_turn.ipynb"
WHOLE, EXCHANGES = "cell-40", "cell-42"


# 02.1 the whole history, every time

@pytest.mark.parametrize("body", [
    """history = []
for question in questions:
    history.append({"role": "user", "content": question})
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)
    history.append(final.to_param())""",
    # replies appended as their text, and a Conversation doing the bookkeeping
    """chat = Conversation()
for question in questions:
    chat.add_user(question)
    final = chat.send(client, max_tokens=200)""",
    """history = []
for question in questions:
    history.append({"role": "user", "content": question})
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)
    history.append({"role": "assistant", "content": text_of(final)})""",
])
def test_whole_history_right_answers_pass(learner, body):
    result = learner.answer(WHOLE, body)
    assert result.passed, result
    assert "5 turns" in result.message and "usage log" in result.message


def test_whole_history_lesson_demo_is_refused(learner):
    result = learner.answer(WHOLE, "final = more")  # section 4's restored conversation, 5 turns
    assert not result.passed and "before this cell's" in result.message


def test_whole_history_other_questions_are_refused(learner):
    result = learner.answer(WHOLE, """history = []
for question in ["I'm learning to bake bread.", "Which flour?", "How long should it rise?"]:
    history.append({"role": "user", "content": question})
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)
    history.append(final.to_param())""")
    assert not result.passed and "third of `questions`" in result.message


@pytest.mark.parametrize("body, words", [
    ("""for question in questions:
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": question}])""",
     "1 turn(s)"),
    ("""history = []
for question in questions:
    history.append({"role": "user", "content": question})
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)
    history.append({"role": "assistant", "content": "A reply I made up."})""", "not the reply the API gave"),
    ("""history = [{"role": "user", "content": questions[0]}, {"role": "assistant", "content": "Noted."},
           {"role": "user", "content": questions[1]}, {"role": "assistant", "content": "Sunflowers."},
           {"role": "user", "content": questions[2]}]
final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)""", "not the reply the API gave"),
    ("""history = []
for question in questions:
    history.append({"role": "user", "content": question})
    final = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)""", "merges into one"),
])
def test_whole_history_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(WHOLE, body)
    assert not result.passed and words in result.message, result


def test_whole_history_unsolved(learner):
    result = learner.answer(WHOLE)
    assert not result.passed and "nothing to grade yet" in result.message and "to_param" not in result.message


# 02.2 the last k exchanges

KEEP_RIGHT = [
    """starts = [i for i, t in enumerate(messages)
          if t["role"] == "user" and (isinstance(t["content"], str) or all(b["type"] != "tool_result" for b in t["content"]))]
return messages[starts[-k]:] if len(starts) > k else list(messages)""",
    """kept, seen = [], 0
for turn in reversed(messages):
    kept.insert(0, turn)
    content = turn["content"]
    if turn["role"] == "user" and (isinstance(content, str) or not any(b.get("type") == "tool_result" for b in content)):
        seen += 1
        if seen == k:
            break
return kept""",
]


@pytest.mark.parametrize("body", KEEP_RIGHT)
def test_keep_exchanges_right_answers_pass(learner, body):
    result = learner.answer(EXCHANGES, body)
    assert result.passed, result


def test_keep_exchanges_lesson_function_is_refused(learner):
    result = learner.answer(EXCHANGES, "return trim_last_turns(messages, k)")  # section 6's function counts turns
    assert not result.passed and "Count exchanges, not turns".lower() in result.message.lower()


def test_keep_exchanges_typed_answer_is_refused(learner):
    result = learner.answer(EXCHANGES, "return messages[-4:]")
    assert not result.passed and "seed" in result.message


@pytest.mark.parametrize("body, words", [
    ("return messages[-2 * k:]", "seed"),
    ("""starts = [i for i, t in enumerate(messages) if t["role"] == "user"]
return messages[starts[-k]:] if len(starts) >= k else messages[:]""", "exchange"),  # a tool_result counted as one
    ("""del messages[:-2]
return messages""", "changed the list"),
])
def test_keep_exchanges_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(EXCHANGES, body)
    assert not result.passed and words in result.message, result


def test_keep_exchanges_unsolved(learner):
    result = learner.answer(EXCHANGES)
    assert not result.passed and "returned None" in result.message and "starts" not in result.message


def test_random_histories_are_valid_and_varied():
    from helpers.conversation import history_problems

    rng = random.Random(7)
    shapes = set()
    for _ in range(40):
        history = random_history(rng, rng.randrange(1, 6))
        assert not [p for p in history_problems(history) if p.blocking], history
        shapes.add(history[-1]["role"] + ("+tool_result" if not isinstance(history[-1]["content"], str) else ""))
    assert shapes == {"user", "user+tool_result", "assistant"}


def test_keep_exchanges_same_seed_same_cases():
    def lazy(messages, k):
        return messages[-2:]

    assert check.lesson02.last_exchanges(lazy, seed=5).message == check.lesson02.last_exchanges(lazy, seed=5).message
