"""The HistoryEditor's safety: no markup from outside is ever rendered, a bad import changes nothing,
thinking blocks are kept and removed only when an edit makes them invalid, and set-up errors are shown."""

from __future__ import annotations

import html
import json
import os

import anthropic
import ipywidgets as w
import pytest

from helpers import DEFAULT_MODEL, Conversation, usage_log
from helpers.history_editor import HistoryEditor
from widget_support import client, fresh_log  # noqa: F401 - fixtures
from test_conversation_file import GOOD, malformed_files

MARK = '<img src=x onerror="alert(1)">'
THINKING = {"type": "thinking", "thinking": "", "signature": "sig-from-the-api"}
REDACTED = {"type": "redacted_thinking", "data": "encrypted-by-the-api"}


def rendered_as_html(editor: HistoryEditor) -> list[str]:
    """Every string the front end renders as markup: HTML widget values and descriptions allowed to hold HTML."""
    found, stack = [], [editor]
    while stack:
        widget = stack.pop()
        if isinstance(widget, (w.HTML, w.HTMLMath)):
            found.append(widget.value)
        if getattr(widget, "description_allow_html", False):
            found.append(widget.description)
        stack.extend(getattr(widget, "children", ()))
    return found


def assert_no_markup(editor: HistoryEditor, *, shown: bool = True) -> None:
    rendered = rendered_as_html(editor)
    assert not any("<img" in text for text in rendered), rendered
    if shown:  # the words did reach the screen, as text
        assert any("&lt;img src=x onerror=\"alert(1)\"&gt;" in text for text in rendered), rendered


def _type(editor: HistoryEditor, index: int, text: str) -> None:
    row = next(r for r in editor.rows_box.children if r.index == index)
    row.content.value = text


def test_markup_from_files_learners_and_the_api_is_never_rendered(client, tmp_path):
    editor = HistoryEditor([{"role": "user", "content": "Hello"}], client=client)

    bad_role = tmp_path / "bad.json"
    bad_role.write_text(json.dumps({**GOOD, "messages": [{"role": MARK, "content": "x"}]}))
    editor.file_path.value = str(bad_role)
    editor.load_button.click()
    assert "Could not import" in editor.status.value
    assert_no_markup(editor)

    marked = tmp_path / f"{MARK.replace('/', '')}.json"  # a file name with markup in it
    marked.write_text(json.dumps({"model": MARK, "system": MARK, "messages": [
        {"role": "user", "content": MARK},
        {"role": "assistant", "content": [{**THINKING, "thinking": MARK}, {"type": "text", "text": MARK},
                                          {"type": "tool_use", "id": "toolu_1", "name": MARK, "input": {}}]},
        {"role": "user", "content": "no tool result"}]}))
    editor.file_path.value = str(marked)
    editor.load_button.click()
    assert "Imported 3 turns" in editor.status.value and "which the catalog does not offer" in editor.status.value
    assert_no_markup(editor)
    assert "no tool_result" in editor.problems_box.value  # the tool's name is in that problem
    assert_no_markup(editor)
    assert editor.system == MARK and MARK in editor.rows_box.children[1].thinking_note_text  # shown as text

    editor = HistoryEditor([{"role": "user", "content": [{"type": MARK, "text": "x"}]}], client=client)
    editor.send_button.click()  # the API's error repeats the block type it did not expect
    assert "The API answered 400 invalid_request_error" in editor.status.value
    assert_no_markup(editor)

    _type(editor, 0, f'[{{"type": "{MARK}"')  # typed blocks that are not JSON yet
    assert "not valid JSON" in editor.problems_box.value
    assert_no_markup(editor, shown=False)

    folder = tmp_path / MARK.replace("/", "")
    folder.mkdir()
    editor.file_path.value = str(folder)
    editor.save_button.click()
    assert "Could not export" in editor.status.value
    assert_no_markup(editor)


def test_a_malformed_import_changes_nothing_and_says_why(tmp_path):
    history = [{"role": "user", "content": "Keep me"}, {"role": "assistant", "content": [THINKING, {"type": "text", "text": "Kept"}]}]
    editor = HistoryEditor(history, system="Keep this system prompt", model=DEFAULT_MODEL)
    before = (editor.messages, editor.system, editor.model, [r.content.value for r in editor.rows_box.children])
    for name, path, words in malformed_files(tmp_path):
        editor.file_path.value = str(path)
        editor.load_button.click()
        assert (editor.messages, editor.system, editor.model, [r.content.value for r in editor.rows_box.children]) == before, name
        assert "Could not import" in editor.status.value and "Nothing was changed" in editor.status.value, name
        assert html.escape(words, quote=False) in editor.status.value, name
    assert editor.undo_button.disabled


def test_bad_histories_given_in_code_get_the_same_words():
    with pytest.raises(ValueError, match="turn 1: the content is a number"):
        HistoryEditor([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": 5}])
    editor = HistoryEditor()
    with pytest.raises(ValueError, match="the turn: the content is null"):
        editor.add_turn("user", None)
    assert editor.messages == []


def test_thinking_blocks_are_shown_read_only_and_sent_back_unchanged(client):
    first = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": "Hello"}])
    thinking = [b.model_dump(exclude_none=True) for b in first.content if b.type == "thinking"]
    assert thinking, "DEFAULT_MODEL thinks by default offline: its reply opens with a signed thinking block"
    history = [{"role": "user", "content": "Hello"},
               {"role": "assistant", "content": [*thinking, {"type": "text", "text": "Hi!"}]},
               {"role": "user", "content": "And now?"}]
    editor = HistoryEditor(history, client=client)
    row = editor.rows_box.children[1]
    assert row.content.value == "Hi!" and row.thinking_note_text.startswith("Locked: 1 thinking block from the API")
    assert "editing an earlier turn or the system prompt removes it." in row.thinking_note_text
    # Shown whole, wrapping in its column, as escaped text (a Label cut it to one line).
    assert html.escape(row.thinking_note_text, quote=True) in row.thinking_note.value
    assert "white-space: normal" in row.thinking_note.value
    assert editor.rows_box.children[0].thinking_note.layout.display == "none"
    reply = editor.send()
    assert reply is not None, editor.status.value
    assert usage_log.find(reply.id).request["messages"][1]["content"] == history[1]["content"]
    _type(editor, 1, "Hi there!")  # editing the reply's own text leaves its thinking valid
    assert editor.messages[1]["content"] == [*thinking, {"type": "text", "text": "Hi there!"}]
    two = HistoryEditor([{"role": "user", "content": "Hello"},
                         {"role": "assistant", "content": [THINKING, REDACTED, {"type": "text", "text": "Hi!"}]}])
    assert two.rows_box.children[1].thinking_note_text.startswith("Locked: 2 thinking blocks from the API")


def _with_thinking():
    return HistoryEditor([
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": [THINKING, {"type": "text", "text": "two"}]},
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": [REDACTED, {"type": "text", "text": "four"}]},
        {"role": "user", "content": "five"},
    ], system="Be brief.")


def _thinking_turns(editor):
    return [i for i, m in enumerate(editor.messages) if isinstance(m["content"], list)
            and any(b["type"] in ("thinking", "redacted_thinking") for b in m["content"])]


@pytest.mark.parametrize("change, words, left", [
    (lambda e: _type(e, 2, "three, edited"), "Turn 2 was edited, so the thinking blocks in turn 3 were removed", [1]),
    (lambda e: _type(e, 0, "one, edited"), "Turn 0 was edited, so the thinking blocks in turns 1 and 3 were removed", []),
    (lambda e: e.rows_box.children[2].delete.click(), "Turn 2 was deleted, so the thinking blocks in turn 2 were removed", [1]),
    (lambda e: e.rows_box.children[3].up.click(), "Turn 3 was moved, so the thinking blocks in turn 2 were removed", [1]),
    (lambda e: e.rows_box.children[1].switch.click(), "The role of turn 1 was switched, so the thinking blocks in turns 1 and 3", []),
    (lambda e: setattr(e.system_box, "value", "Be long."), "The system prompt changed, so the thinking blocks in turns 1 and 3", []),
])
def test_a_change_before_thinking_removes_it_says_why_and_undo_brings_it_back(change, words, left):
    editor = _with_thinking()
    original = editor.messages
    change(editor)
    assert _thinking_turns(editor) == left
    assert words in editor.status.value
    assert "refuses (400) or drops" in editor.status.value and "Undo brings them back" in editor.status.value
    assert all(r.thinking_note.layout.display == "none" for r in editor.rows_box.children if r.index not in left)
    editor.undo_button.click()
    assert editor.messages == original


def test_a_change_after_the_thinking_keeps_it():
    editor = _with_thinking()
    _type(editor, 4, "five, edited")
    editor.add_turn("assistant", "six")
    editor.prefill_box.value = "Sure"
    assert _thinking_turns(editor) == [1, 3] and "thinking" not in editor.status.value


def test_blocks_edited_as_json_keep_their_thinking_in_place():
    tool_turn = [THINKING, {"type": "text", "text": "Checking."},
                 {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Oslo"}}]
    editor = HistoryEditor([{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": tool_turn}])
    shown = json.loads(editor.rows_box.children[1].content.value)
    assert [b["type"] for b in shown] == ["text", "tool_use"]
    shown[1]["input"]["location"] = "Bergen"
    _type(editor, 1, json.dumps(shown))
    assert editor.messages[1]["content"][0] == THINKING
    assert editor.messages[1]["content"][2]["input"] == {"location": "Bergen"}

    _type(editor, 1, json.dumps([THINKING, *shown]))
    assert "thinking blocks cannot be typed in" in editor.problems_box.value


def test_blocks_that_are_not_valid_yet_stay_in_their_box_and_block_send(client):
    tool_turn = [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Oslo"}}]
    editor = HistoryEditor([{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": tool_turn},
                            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "5°C"}]}],
                           client=client)
    typed = '[{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Bergen"}'
    _type(editor, 1, typed)
    assert editor.rows_box.children[1].content.value == typed  # nothing typed is lost
    assert editor.messages[1]["content"] == tool_turn  # and nothing half-typed is sent
    assert "turn 1: the blocks typed here are not valid JSON" in editor.problems_box.value
    editor.send_button.click()
    assert "Not sent" in editor.status.value and len(usage_log) == 0
    _type(editor, 1, typed + "}]")
    assert editor.messages[1]["content"][0]["input"] == {"location": "Bergen"} and "not valid JSON" not in editor.problems_box.value


@pytest.fixture
def no_key(tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "KIT_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    assert "ANTHROPIC_API_KEY" not in os.environ


def test_send_in_live_mode_without_a_key_shows_how_to_set_one_up(no_key, monkeypatch):
    monkeypatch.setenv("KIT_MODE", "live")
    editor = HistoryEditor([{"role": "user", "content": "Hello"}])
    editor.send_button.click()
    assert "Not sent: Live mode needs an API key" in editor.status.value and editor.client is None
    monkeypatch.delenv("KIT_MODE")
    editor = HistoryEditor([{"role": "user", "content": "Hello"}], client=anthropic.Anthropic(api_key=None))
    editor.send_button.click()
    assert "this client has no API key" in editor.status.value and "set_api_key()" in editor.status.value


def test_the_static_snapshot_shows_every_text_escaped_and_long_turns_cut(client):
    editor = HistoryEditor([{"role": "user", "content": MARK},
                            {"role": "assistant", "content": [THINKING, {"type": "text", "text": MARK}]},
                            {"role": "user", "content": "x" * 5000}], client=client, system=MARK)
    editor.prefill_box.value = MARK
    bundle = editor._repr_mimebundle_()
    snapshot = bundle["text/html"]
    assert "<img" not in snapshot
    assert snapshot.count(html.escape(MARK, quote=False)) == 4  # the system prompt, two turns and the prefill
    assert "Locked: 1 thinking block" in snapshot
    assert "x" * 2000 + "…" in snapshot and "x" * 2001 not in snapshot
    # The live editor and its text form are still what a notebook with widgets shows.
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/plain"] == repr(editor)
