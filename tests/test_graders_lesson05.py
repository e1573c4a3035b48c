"""Lesson 05 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check

LESSON = "05_stop_reasons.ipynb"
HANDLE, ROUND_TRIP = "cell-49", "cell-51"

ROUND_TRIP_RIGHT = """history = [{"role": "user", "content": letters_question}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)
results = [{"type": "tool_result", "tool_use_id": block.id, "content": str(count_letters(**block.input))}
           for block in first.content if block.type == "tool_use"]
history += [{"role": "assistant", "content": first.content}, {"role": "user", "content": results}]
final_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)"""


# 05.1 what to do for each stop reason

@pytest.mark.parametrize("body", [
    """return {"end_turn": "done", "stop_sequence": "done", "max_tokens": "continue",
        "model_context_window_exceeded": "shorten", "tool_use": "run_tool", "pause_turn": "resend",
        "refusal": "stop"}[message.stop_reason]""",
    """reason = message.stop_reason
if reason in ("end_turn", "stop_sequence"):
    return "done"
if reason == "max_tokens":
    return "continue"
if reason == "model_context_window_exceeded":
    return "shorten"
if reason == "tool_use":
    return "run_tool"
if reason == "pause_turn":
    return "resend"
return "stop\"""",
])
def test_handle_right_answers_pass(learner, body):
    result = learner.answer(HANDLE, body)
    assert result.passed, result


def test_handle_answers_in_the_graders_old_order_are_refused(learner):
    """The order of the grader's calls was fixed and could be learnt from its messages; now it is drawn per run."""
    learner.run('ORDER = iter(["done", "done", "continue", "shorten", "run_tool", "resend", "stop"] * 2)')
    result = learner.answer(HANDLE, "return next(ORDER)")
    assert not result.passed and "random order" in result.message


def test_handle_reading_content_first_is_named(learner):
    result = learner.answer(HANDLE, """if message.content[0].type == "tool_use":
    return "run_tool"
return {"end_turn": "done"}.get(message.stop_reason, "stop")""")
    assert not result.passed and ("IndexError" in result.message or "expected" in result.message)


def test_handle_pasting_the_last_hint_is_refused(learner):
    """The last hint answers whether a reply is complete: pasted as it is, it returns no next step."""
    steps = [last_hint_code("05.1", "COMPLETE = "), last_hint_code("05.1", "return ")]
    result = learner.answer(HANDLE, "\n".join(steps))
    assert not result.passed and "handle() returned" in result.message, result


def test_handle_unsolved(learner):
    result = learner.answer(HANDLE)
    assert not result.passed and "returned None" in result.message and "'done'" not in result.message


# 05.2 a tool round trip

def test_round_trip_right_answers_pass(learner):
    result = learner.answer(ROUND_TRIP, ROUND_TRIP_RIGHT)
    assert result.passed, result
    assert "exactly what your `count_letters` returns" in result.message


def test_round_trip_with_tool_use_blocks_as_params_passes(learner):
    result = learner.answer(ROUND_TRIP, """history = [{"role": "user", "content": letters_question}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)
history.append(first.to_param())
history.append({"role": "user", "content": [
    {"type": "tool_result", "tool_use_id": b.id, "content": [{"type": "text", "text": str(count_letters(b.input["word"]))}]}
    for b in first.content if b.type == "tool_use"]})
final_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)""")
    assert result.passed, result


def test_round_trip_made_up_tool_result_is_refused(learner):
    result = learner.answer(ROUND_TRIP, ROUND_TRIP_RIGHT.replace("str(count_letters(**block.input))", '"100 (made up)"'))
    assert not result.passed and "running `count_letters` on the block's input" in result.message


def test_round_trip_typed_count_is_refused(learner):
    """The word is drawn for each run: a count typed in from an earlier run (Formicidae, 10) is wrong."""
    question = check.lesson05.letters_question(seed=1)
    assert "Formicidae" not in question
    typed = ROUND_TRIP_RIGHT.replace("str(count_letters(**block.input))", '"10"')
    result = learner.answer(ROUND_TRIP, f"letters_question = {question!r}\n" + typed)
    assert not result.passed and "running `count_letters`" in result.message


def test_round_trip_lesson_demo_is_refused(learner):
    result = learner.answer(ROUND_TRIP, "final_answer = final")  # section 4's weather round trip
    assert not result.passed and ("before this cell's" in result.message or "count_letters" in result.message)


def test_round_trip_wrong_tool_is_named(learner):
    result = learner.answer(ROUND_TRIP, "def count_letters(word):\n    return len(word) + 1\n\n" + ROUND_TRIP_RIGHT)
    assert not result.passed and "count the letters" in result.message


def test_round_trip_without_tools_again_is_a_message_not_a_traceback(learner):
    second_call = "final_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)"
    assert second_call in ROUND_TRIP_RIGHT
    result = learner.answer(ROUND_TRIP, ROUND_TRIP_RIGHT.replace(second_call, second_call.replace("tools=[letters_tool], ", "")))
    assert not result.passed and "HTTP 400" in result.message and "tools=[letters_tool]" in result.message


def test_round_trip_invented_tool_use_is_refused(learner):
    result = learner.answer(ROUND_TRIP, """history = [{"role": "user", "content": letters_question},
           {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01madeup", "name": "count_letters",
                                              "input": {"word": "ant"}}]},
           {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01madeup", "content": "3"}]}]
final_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[letters_tool], messages=history)""")
    assert not result.passed and "not in any reply the model sent" in result.message


def test_round_trip_needs_the_tool_function(learner):
    learner.answer(ROUND_TRIP, ROUND_TRIP_RIGHT)
    result = learner.run("check.lesson05.tool_round_trip(final_answer)")
    assert not result.passed and "pass your tool function" in result.message


def test_letters_questions_vary():
    assert len({check.lesson05.letters_question(seed=s) for s in range(30)}) > 5
