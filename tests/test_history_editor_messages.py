"""The history editor's messages fit the moment: what stops Send, what comes next, what is only a note."""

from __future__ import annotations

from helpers import DEFAULT_MODEL, PREFILL_MODEL, usage_log
from helpers.history_editor import NEXT_STEP, HistoryEditor
from widget_support import client, fresh_log  # noqa: F401 - fixtures


def _type(editor: HistoryEditor, index: int, text: str) -> None:
    next(r for r in editor.rows_box.children if r.index == index).content.value = text


def _shown(editor: HistoryEditor, kind: str) -> int:
    return editor.problems_box.value.count(f'class="kit-problem-{kind}"')


def test_after_send_the_next_step_is_shown_not_a_problem(client):
    editor = HistoryEditor([{"role": "user", "content": "Hello"}], client=client, model=DEFAULT_MODEL)
    assert editor.send() is not None
    assert _shown(editor, "blocking") == 0 and _shown(editor, "next") == 1
    assert "Next step:</b> turn 1: the last turn is the assistant's: add a user turn" in editor.problems_box.value
    calls = len(usage_log)
    editor.send_button.click()  # the current model takes no prefill: this history cannot be sent as it is
    assert "Not sent: do the next step above first." in editor.status.value and len(usage_log) == calls


def test_a_new_user_turn_is_a_next_step_until_written_and_then_nothing_is_left(client):
    editor = HistoryEditor([{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi."}], client=client)
    editor.add_user_button.click()
    assert _shown(editor, "blocking") == 0 and "turn 2: this user turn is empty" in editor.problems_box.value
    assert [p.kind for p in editor.problems()] == [NEXT_STEP]
    _type(editor, 2, "What did I say?")
    assert editor.problems_box.value == ""
    assert editor.send() is not None


def test_a_new_synthetic_turn_says_to_write_it_then_to_add_the_question():
    editor = HistoryEditor([{"role": "user", "content": "Hello"}], model=DEFAULT_MODEL)
    editor.add_assistant_button.click()
    assert "write this assistant turn" in editor.problems_box.value and _shown(editor, "blocking") == 0
    _type(editor, 1, "Hi, I am a synthetic turn.")
    assert "add a user turn" in editor.problems_box.value and _shown(editor, "blocking") == 0


def test_a_mistake_is_shown_as_cannot_send_and_send_refuses_it(client):
    editor = HistoryEditor([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                            {"role": "user", "content": "c"}], client=client)
    _type(editor, 1, "  ")
    assert _shown(editor, "blocking") == 1 and "turn 1: this assistant turn is empty" in editor.problems_box.value
    editor.send_button.click()
    assert "Not sent: fix the problems above first." in editor.status.value and len(usage_log) == 0
    _type(editor, 1, "b again")
    assert _shown(editor, "blocking") == 0 and editor.send() is not None


def test_a_refused_prefill_names_the_prefill_box_not_a_turn_number():
    editor = HistoryEditor([{"role": "user", "content": "Pick (A) or (B)"}], model=DEFAULT_MODEL)
    editor.prefill_box.value = "The answer is ("
    shown = editor.problems_box.value
    assert _shown(editor, "blocking") == 1
    assert f"the Prefill box: {DEFAULT_MODEL} does not accept prefills" in shown and "turn 1" not in shown
    assert PREFILL_MODEL in shown  # names a model that would take it
    editor.prefill_box.value = "The answer is "
    editor.model_picker.value = PREFILL_MODEL
    assert "the Prefill box: the final assistant turn (the prefill) ends with whitespace" in editor.problems_box.value


def test_on_a_prefill_model_an_assistant_ending_is_a_next_step_that_does_not_stop_send(client):
    editor = HistoryEditor([{"role": "user", "content": "Count to five"}, {"role": "assistant", "content": "One, two,"}],
                           client=client, model=PREFILL_MODEL)
    assert _shown(editor, "blocking") == 0 and "continues this turn as a prefill" in editor.problems_box.value
    assert editor.send() is not None and len(usage_log) == 1


def test_typing_in_one_box_is_one_undo_step():
    editor = HistoryEditor([{"role": "user", "content": "first"}])
    for text in ("s", "se", "sec", "second"):
        _type(editor, 0, text)
    editor.undo_button.click()
    assert editor.messages[0]["content"] == "first" and editor.undo_button.disabled
    for text in ("T", "Th", "The"):
        editor.prefill_box.value = text
    editor.undo_button.click()
    assert editor.prefill_box.value == "" and editor.undo_button.disabled


def test_turns_and_the_prefill_box_reach_the_kernel_as_they_are_typed():
    editor = HistoryEditor([{"role": "user", "content": "x"}])
    assert editor.rows_box.children[0].content.continuous_update and editor.prefill_box.continuous_update


def test_problem_text_is_escaped(client):
    editor = HistoryEditor([{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "<img src=x onerror=alert(1)>", "content": "ok"}]}])
    assert "<img" not in editor.problems_box.value and "&lt;img src=x onerror=alert(1)&gt;" in editor.problems_box.value
