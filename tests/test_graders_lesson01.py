"""Lesson 01 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check

LESSON = "01_first_request.ipynb"
ALSO = ("cell-43",)  # the message exercise 2 gives to read
SYSTEM, ANATOMY, TEXT_OF = "cell-41", "cell-45", "cell-47"


# 01.1 a top-level system prompt

@pytest.mark.parametrize("body", [
    """reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=150, system="Answer in one sentence.",
                               messages=[{"role": "user", "content": exercise_question}])""",
    """reply = client.messages.create(
    model=DEFAULT_MODEL, max_tokens=200,
    system=[{"type": "text", "text": "You are a patient tutor."}],
    messages=[{"role": "user", "content": exercise_question}],
)""",
    """prompt = "Reply like a friendly teacher, in plain words and at most two sentences."
reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=120, system=prompt,
                               messages=[{"role": "user", "content": exercise_question}])""",
])
def test_system_prompt_right_answers_pass(learner, body):
    result = learner.answer(SYSTEM, body)
    assert result.passed, result
    assert "`exercise_question`" in result.message and "top-level `system`" in result.message


@pytest.mark.parametrize("system, words", [
    ("x", "different word"),  # the instructor's review: any string passed
    ("tool tool tool tool", "1 different word"),
    ("Be brief.", "2 different word"),
    ("What does max_tokens limit in a request?", "only repeats the question"),
])
def test_system_prompt_filler_is_refused(learner, system, words):
    result = learner.answer(SYSTEM, f"""reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, system={system!r},
                               messages=[{{"role": "user", "content": exercise_question}}])""")
    assert not result.passed and words in result.message and "instruction" in result.message, result


def test_system_prompt_lesson_demo_is_refused(learner):
    result = learner.answer(SYSTEM, "reply = with_system")  # section 6's own request
    assert not result.passed and "before this cell's" in result.message


def test_system_prompt_demo_question_sent_again_is_refused(learner):
    result = learner.answer(SYSTEM, """reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, system="Be brief.",
                               messages=[{"role": "user", "content": "Where does the system prompt go in a request?"}])""")
    assert not result.passed and "exercise_question" in result.message


def test_system_prompt_hand_built_message_is_refused(learner):
    result = learner.answer(SYSTEM, """reply = anthropic.types.Message.model_construct(
    id="msg_01handmade", type="message", role="assistant", model=DEFAULT_MODEL,
    content=[], stop_reason="end_turn", stop_sequence=None, usage=None)""")
    assert not result.passed and "usage log has no request" in result.message


def test_system_prompt_edited_message_is_refused(learner):
    result = learner.answer(SYSTEM, """reply = with_system.model_copy(update={"stop_reason": "max_tokens"})""")
    assert not result.passed and "not what the API sent back" in result.message


@pytest.mark.parametrize("body, words", [
    ("""reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, messages=[
    {"role": "user", "content": "You are terse."}, {"role": "assistant", "content": "OK."},
    {"role": "user", "content": exercise_question}])""", "no top-level `system`"),
    ("""reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=1000, system="Be brief.",
                               messages=[{"role": "user", "content": exercise_question}])""", "at most 200"),
    ("""reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, system="Be brief.",
                               messages=[{"role": "user", "content": exercise_question}]).content""", "keep the whole Message"),
])
def test_system_prompt_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(SYSTEM, body)
    assert not result.passed and words in result.message


def test_system_prompt_error_in_the_cell_becomes_a_message(learner):
    result = learner.answer(SYSTEM, """reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=100, temperature=0.5,
                               messages=[{"role": "user", "content": exercise_question}])""")
    assert not result.passed and "TypeError on line 4 of the cell" in result.message and "temperature" in result.message


def test_system_prompt_unsolved(learner):
    result = learner.answer(SYSTEM)
    assert not result.passed and "nothing to grade yet" in result.message and "system=" not in result.message


# 01.2 the anatomy of a Message

ANATOMY_RIGHT = [
    """return {"text": "".join(b.text for b in message.content if b.type == "text"),
        "stop_reason": message.stop_reason, "output_tokens": message.usage.output_tokens}""",
    """texts = []
for block in message.content:
    if block.type == "text":
        texts.append(block.text)
return dict(text="\\n".join(texts), stop_reason=message.stop_reason, output_tokens=message.usage.output_tokens)""",
]


@pytest.mark.parametrize("body", ANATOMY_RIGHT)
def test_anatomy_right_answers_pass(learner, body):
    result = learner.answer(ANATOMY, body)
    assert result.passed, result


def test_anatomy_typed_in_from_the_printout_is_refused(learner):
    typed = learner.run('{"text": text_of_given, "stop_reason": given.stop_reason, "output_tokens": given.usage.output_tokens}'
                        .replace("text_of_given", '"".join(b.text for b in given.content if b.type == "text")'))
    result = learner.answer(ANATOMY, f"return {typed!r}")
    assert not result.passed and "seed" in result.message


@pytest.mark.parametrize("body, words", [
    ('return {"text": TEXT, "stop_reason": "end_turn", "output_tokens": message.usage.output_tokens}',
     "stop_reason"),
    ('return {"text": TEXT, "stop_reason": message.stop_reason, "output_tokens": message.usage.input_tokens}',
     "input_tokens"),
    ('return {"text": str(message.content), "stop_reason": message.stop_reason, "output_tokens": message.usage.output_tokens}',
     "content blocks"),
    ('return {"text": "", "stop_reason": message.stop_reason}', "output_tokens"),
])
def test_anatomy_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(ANATOMY, body.replace("TEXT", '"".join(b.text for b in message.content if b.type == "text")'))
    assert not result.passed and words in result.message


def test_anatomy_unsolved(learner):
    result = learner.answer(ANATOMY)
    assert not result.passed and "returned None" in result.message and "usage." not in result.message


# 01.3 the text of every text block

@pytest.mark.parametrize("body", [
    'return "".join(block.text for block in message.content if block.type == "text")',
    """parts = []
for block in message.content:
    if getattr(block, "type", None) == "text":
        parts.append(block.text)
return "\\n".join(parts)""",
])
def test_text_of_right_answers_pass(learner, body):
    result = learner.answer(TEXT_OF, body)
    assert result.passed, result


@pytest.mark.parametrize("body, words", [
    # the cases come in a random order, so the first one to fail can be any that the mistake breaks
    ("return message.content[0].text", ("indexed past the end", "Not every block", "only one of the text blocks")),
    ("return message.content[-1].text if message.content else ''", ("Not every block", "only one of the text blocks")),
    ("return next((b.text for b in message.content if b.type == 'text'), '')", ("only one of the text blocks",)),
    ("return ''.join(getattr(b, 'text', '') or getattr(b, 'thinking', '') for b in message.content)", ("expected",)),
])
def test_text_of_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(TEXT_OF, body)
    assert not result.passed and any(w in result.message for w in words), result


def test_text_of_pasting_the_last_hint_is_refused(learner):
    """The last hint filters the blocks for another type: pasted as it is, it does not do this exercise."""
    result = learner.answer(TEXT_OF, "return " + last_hint_code("01.3", "[block.name"))
    assert not result.passed and "not a string" in result.message, result


def test_text_of_answers_typed_from_an_earlier_run_are_refused():
    """The texts are drawn anew each run: what one run's message printed passes no other run."""
    printed = check.lesson01.text_of(lambda message: "?", seed=1).message
    typed = printed.split("expected ")[1].split(" (seed")[0].strip("'")
    assert not check.lesson01.text_of(lambda message: typed, seed=2).passed


def test_text_of_same_seed_same_verdict():
    def shout(message):
        return "".join(block.text for block in message.content if block.type == "text") + "!"

    one = check.lesson01.text_of(shout, seed=42)
    two = check.lesson01.text_of(shout, seed=42)
    assert not one.passed and one.message == two.message and "seed 42" in one.message


def test_kit_functions_are_refused():
    from helpers.check import reply_text

    result = check.lesson01.text_of(reply_text)
    assert not result.passed and "kit's own functions" in result.message


def test_system_prompt_with_the_last_hint_pasted_is_refused(learner):
    """The last hint shows `system=` on another question: pasted as it stands, the request does not ask the exercise's."""
    result = learner.answer(SYSTEM, "reply = " + last_hint_code("01.1", "client.messages.create("))
    assert not result.passed and "did not end with `exercise_question`" in result.message, result
