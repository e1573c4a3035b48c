"""The widgets driven as a learner would: through their buttons and fields."""

from __future__ import annotations

import json

import pytest

from helpers import DEFAULT_MODEL, PREFILL_MODEL, BudgetExceeded, Conversation, budget, usage_log
from helpers.history_editor import PAGE_SIZE, HistoryEditor
from helpers.offline import faults
from helpers.usage_viewer import UsageViewer
from widget_support import client, fresh_log  # noqa: F401 - fixtures


def _type(editor: HistoryEditor, index: int, text: str) -> None:
    """Type into the textarea of the turn shown at ``index`` on the current page."""
    row = next(r for r in editor.rows_box.children if r.index == index)
    row.content.value = text


def test_build_a_conversation_with_buttons_and_send(client):
    editor = HistoryEditor(client=client, system="Be brief.")
    editor.add_user_button.click()
    _type(editor, 0, "My name is Ada.")
    editor.add_assistant_button.click()
    _type(editor, 1, "Nice to meet you, Ada.")
    editor.add_user_button.click()
    _type(editor, 2, "What is my name?")
    editor.send_button.click()

    assert [m["role"] for m in editor.messages] == ["user", "assistant", "user", "assistant"]
    sent = usage_log.records[-1].request
    assert sent["system"] == "Be brief." and [m["content"] for m in sent["messages"]][1] == "Nice to meet you, Ada."
    assert "Ada" in next(b["text"] for b in editor.messages[-1]["content"] if b["type"] == "text")
    assert "stop_reason: <b>end_turn</b>" in editor.status.value
    assert editor.last_reply.stop_reason == "end_turn"
    assert "the last turn is the assistant's: add a user turn" in editor.problems_box.value
    assert "prefill)" not in editor.problems_box.value


def test_reorder_switch_delete_and_undo():
    editor = HistoryEditor([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}])
    editor.rows_box.children[2].up.click()
    assert [m["content"] for m in editor.messages] == ["a", "c", "b"]
    editor.rows_box.children[0].switch.click()
    assert editor.messages[0]["role"] == "assistant"
    editor.rows_box.children[1].delete.click()
    assert [m["content"] for m in editor.messages] == ["a", "b"]
    for _ in range(3):
        editor.undo_button.click()
    assert editor.messages == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    assert editor.undo_button.disabled and editor.undo() is False


def test_undo_restores_typed_text_and_settings():
    editor = HistoryEditor([{"role": "user", "content": "first draft"}])
    _type(editor, 0, "second draft")
    editor.system_box.value = "A system prompt"
    editor.undo_button.click()
    assert editor.system == "" and editor.messages[0]["content"] == "second draft"
    editor.undo_button.click()
    assert editor.messages[0]["content"] == "first draft"
    assert editor.rows_box.children[0].content.value == "first draft"


def test_problems_are_shown_inline_before_sending(client):
    editor = HistoryEditor(client=client)
    editor.add_user_button.click()
    assert "this user turn is empty" in editor.problems_box.value
    editor.send_button.click()
    assert "Not sent" in editor.status.value and len(usage_log) == 0

    _type(editor, 0, "Pick one: (A) yes (B) no")
    editor.prefill_box.value = "The answer is ("
    assert "does not accept prefills" in editor.problems_box.value
    editor.model_picker.value = PREFILL_MODEL
    assert editor.problems_box.value == ""
    editor.prefill_box.value = "The answer is "
    assert "ends with whitespace" in editor.problems_box.value


def test_prefill_is_sent_and_kept_in_the_reply(client):
    editor = HistoryEditor([{"role": "user", "content": "What is latin for Ant? (A) Apoidea, (B) Rhopalocera, (C) Formicidae"}],
                           client=client, model=PREFILL_MODEL)
    editor.max_tokens.value = 1
    editor.prefill_box.value = "The answer is ("
    reply = editor.send()
    assert [b.text for b in reply.content if b.type == "text"] == ["C"] and reply.stop_reason == "max_tokens"
    assert editor.messages[-1] == {"role": "assistant", "content": [{"type": "text", "text": "The answer is (C"}]}
    assert editor.prefill_box.value == ""


def test_api_errors_are_shown_and_nothing_is_lost(client):
    editor = HistoryEditor([{"role": "user", "content": "Hello"}], client=client)
    before = editor.messages
    with faults("overloaded"):
        editor.send_button.click()
    assert "529 overloaded_error" in editor.status.value and "Nothing was lost" in editor.status.value
    assert editor.messages == before
    budget(max_usd=0)
    editor.send_button.click()
    assert "BudgetExceeded" in editor.status.value and editor.messages == before


def test_export_and_import_round_trip(client, tmp_path):
    conversation = Conversation(system="Terse.", model=PREFILL_MODEL).add_user("What's the weather in Paris?")
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}
    conversation.send(client, tools=[tool])
    editor = HistoryEditor(conversation, client=client)
    editor.file_path.value = str(tmp_path / "chat.json")
    editor.save_button.click()
    assert json.loads((tmp_path / "chat.json").read_text()) == conversation.to_dict()

    other = HistoryEditor()
    other.file_path.value = str(tmp_path / "chat.json")
    other.load_button.click()
    assert other.conversation.to_dict() == conversation.to_dict()
    assert "Imported 2 turns" in other.status.value
    other.file_path.value = str(tmp_path / "missing.json")
    other.load_button.click()
    assert "Could not import" in other.status.value and other.conversation.to_dict() == conversation.to_dict()


def test_tool_blocks_stay_blocks_when_edited_as_json(client):
    conversation = Conversation().add_user("What's the weather in Oslo?")
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}
    conversation.send(client, tools=[tool])
    editor = HistoryEditor(conversation)
    blocks = json.loads(editor.rows_box.children[1].content.value)
    blocks[-1]["input"]["location"] = "Bergen"
    _type(editor, 1, json.dumps(blocks))
    assert editor.messages[1]["content"][-1]["input"] == {"location": "Bergen"}


def test_long_histories_are_paged():
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(3 * PAGE_SIZE + 5)]
    editor = HistoryEditor(messages)
    assert len(editor.rows_box.children) == 5 and editor.rows_box.children[0].index == 3 * PAGE_SIZE
    editor.previous_page.click()
    assert [r.index for r in editor.rows_box.children] == list(range(2 * PAGE_SIZE, 3 * PAGE_SIZE))
    assert editor.page_label.value == f"turns {2 * PAGE_SIZE}–{3 * PAGE_SIZE - 1} of {len(messages)}"
    editor.add_turn("user", "newest")
    assert editor.rows_box.children[-1].content.value == "newest"


def test_programmatic_face(client):
    editor = HistoryEditor(client=client)
    editor.add_turn("user", "Hello")
    editor.add_turn("assistant", "Hi! How can I help?")
    editor.add_turn("user", "List three colors")
    editor.move_turn(2, 0)
    editor.move_turn(0, 2)
    editor.remove_turn(1)
    editor.add_turn("assistant", "Sure.")
    editor.remove_turn(2)
    reply = editor.send()
    assert reply is not None and editor.conversation.messages[-1]["role"] == "assistant"
    assert repr(editor).startswith("HistoryEditor(3 turns: user, user, assistant")
    with pytest.raises(ValueError):
        editor.add_turn("system", "x")


def test_usage_viewer_updates_as_calls_happen(client):
    viewer = UsageViewer()
    assert "No calls yet" in viewer.table.value
    client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hello"}])
    with client.messages.stream(model=DEFAULT_MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hello"}]) as s:
        s.get_final_message()
    assert viewer.table.value.count('class="kit-usage-row"') == 2
    assert viewer.table.value.count(f'title="{usage_log.records[0].input_tokens} in / {usage_log.records[0].output_tokens} out"') == 2
    assert "<b>2</b> calls" in viewer.totals.value
    last = usage_log.records[-1]
    assert viewer.gauge.value == pytest.approx((last.input_tokens + last.output_tokens) / 1_000_000)
    viewer.clear_button.click()
    assert "No calls yet" in viewer.table.value and len(usage_log) == 0
    viewer.close()


def test_usage_viewer_shows_cache_reads_writes_and_the_money_they_saved(client):
    """https://platform.claude.com/docs/en/build-with-claude/prompt-caching: a write, then a read of the same prefix."""
    from helpers import catalog
    from helpers.offline import prompt_cache

    prompt_cache.cache.clear()
    viewer = UsageViewer()
    system = [{"type": "text", "text": "A long shared instruction for every call. " * 200,
               "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=10, system=system,
                               messages=[{"role": "user", "content": "Hello"}])
    client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hello"}])
    write, read, plain = usage_log.records
    assert write.cache_creation_input_tokens > 0 and read.cache_read_input_tokens == write.cache_creation_input_tokens
    rows = viewer.table.value.split('class="kit-usage-row"')[1:]
    assert f"read 0<br>wrote {write.cache_creation_input_tokens:,}<br>cost ${-write.cache_saved_usd:.6f} more" in rows[0]
    assert f"read {read.cache_read_input_tokens:,}<br>wrote 0<br>saved ${read.cache_saved_usd:.6f}" in rows[1]
    assert "read " not in rows[2] and plain.cache_saved_usd == 0
    price = catalog.get(DEFAULT_MODEL).price.input
    factors = catalog.cache_prices()
    assert read.cache_saved_usd == pytest.approx(read.cache_read_input_tokens * (1 - factors.read) * price / 1e6)
    total = write.cache_saved_usd + read.cache_saved_usd
    assert f"prompt cache {'saved' if total >= 0 else 'cost'} ${abs(total):.6f}" in viewer.totals.value
    viewer.close()
    prompt_cache.cache.clear()


def test_usage_viewer_budget_refuses_calls_before_they_are_sent(client):
    viewer = UsageViewer(budget_usd=0.00001)
    client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello " * 200}])
    with pytest.raises(BudgetExceeded, match=r"\$1e-05 limit.*helpers\.budget\(max_usd=\.\.\.\)"):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hello"}])
    assert len(usage_log) == 1 and "budget $1e-05" in viewer.totals.value
    viewer.close()
