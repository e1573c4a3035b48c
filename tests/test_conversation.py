"""helpers.Conversation: history kept by the caller, checked before sending, saved losslessly."""

from __future__ import annotations

import re

import json

import pytest

from helpers import DEFAULT_MODEL, PREFILL_MODEL, Conversation, ConversationError, connect, usage_log
from helpers.conversation import history_problems

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


@pytest.fixture
def client():
    return connect("offline", quiet=True, max_retries=0)


def test_send_posts_the_whole_history_and_appends_the_reply(client):
    conversation = Conversation(system="Answer briefly.")
    conversation.add_user("My name is Ada.")
    first = conversation.send(client, max_tokens=100)
    conversation.add_user("What is my name?")
    second = conversation.send(client, max_tokens=100)

    sent = usage_log.find(second.id).request
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"] == [b.model_dump(exclude_none=True) for b in first.content]
    assert sent["system"] == "Answer briefly." and sent["model"] == DEFAULT_MODEL
    assert "Ada" in next(b.text for b in second.content if b.type == "text")
    assert [m["role"] for m in conversation.messages] == ["user", "assistant", "user", "assistant"]


def test_messages_is_a_copy(client):
    conversation = Conversation().add_user("Hello")
    conversation.messages.append({"role": "user", "content": "sneaky"})
    conversation.messages[0]["content"] = "changed"
    assert conversation.messages == [{"role": "user", "content": "Hello"}]


def test_add_assistant_keeps_every_block_of_a_message(client):
    conversation = Conversation(model=DEFAULT_MODEL).add_user("What's the weather in Paris?")
    reply = conversation.send(client, tools=[WEATHER_TOOL])
    assert reply.stop_reason == "tool_use"
    blocks = conversation.messages[-1]["content"]
    assert [b["type"] for b in blocks] == ["thinking", "text", "tool_use"]  # the default model thinks first
    assert blocks[-1]["input"] == {"location": "Paris"}


def test_problems_explain_what_the_api_would_reject():
    cases = {
        "empty": ([], "empty"),
        "empty turn": ([{"role": "user", "content": "  "}], "empty"),
        "system role": ([{"role": "system", "content": "x"}, {"role": "user", "content": "y"}], "`system=`"),
        "tool without result": (
            [{"role": "user", "content": "w?"},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
             {"role": "user", "content": "hello?"}],
            "no tool_result",
        ),
    }
    for name, (messages, words) in cases.items():
        blocking = [p for p in history_problems(messages, DEFAULT_MODEL) if p.blocking]
        assert blocking and words in str(blocking[0]), name


def test_prefill_problems_depend_on_the_model():
    messages = [{"role": "user", "content": "Pick one: (A) or (B)"}, {"role": "assistant", "content": "The answer is ("}]
    assert any("does not accept prefills" in str(p) for p in history_problems(messages, DEFAULT_MODEL))
    assert history_problems(messages, PREFILL_MODEL) == []
    spaced = messages[:1] + [{"role": "assistant", "content": "The answer is "}]
    assert any("whitespace" in str(p) for p in history_problems(spaced, PREFILL_MODEL))


def test_merged_turns_and_assistant_first_are_notes_not_blockers():
    messages = [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    problems = history_problems(messages, DEFAULT_MODEL)
    assert len(problems) == 2 and not any(p.blocking for p in problems)
    assert any("merges" in str(p) for p in problems)


def test_send_refuses_an_invalid_history_before_sending_and_keeps_it(client):
    conversation = Conversation().add_user("Hello").add_assistant("Hi").add_user("")
    before = len(usage_log.records)
    with pytest.raises(ConversationError, match="turn 2: this user turn is empty"):
        conversation.send(client)
    assert len(usage_log.records) == before
    assert len(conversation) == 3


def test_save_and_load_round_trip_losslessly(client, tmp_path):
    conversation = Conversation(system="Be terse.", model=PREFILL_MODEL).add_user("What's the weather in Paris?")
    conversation.send(client, tools=[WEATHER_TOOL], max_tokens=200)
    path = conversation.save(tmp_path / "chat.json")
    loaded = Conversation.load(path)
    assert loaded.messages == conversation.messages
    assert (loaded.system, loaded.model) == ("Be terse.", PREFILL_MODEL)
    assert json.loads(path.read_text())["messages"] == conversation.messages


def test_add_refuses_content_that_is_not_a_turn():
    with pytest.raises(TypeError, match=r"add_user\(\) takes text, a list of content blocks or a Message, not int"):
        Conversation().add_user(5)
    with pytest.raises(ValueError, match="this turn, block 0 has no \"type\""):
        Conversation().add_user([{"text": "no type"}])


THINKING = {"type": "thinking", "thinking": "", "signature": "sig-from-the-api"}
REDACTED = {"type": "redacted_thinking", "data": "encrypted-by-the-api"}


def _reply_with_thinking(text: str, *thinking_blocks: dict):
    """A Message as the SDK parses one from a current model: thinking first, then the answer."""
    import anthropic

    return anthropic.types.Message.model_validate({
        "id": "msg_hand_made", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
        "content": [*thinking_blocks, {"type": "text", "text": text}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 5},
    })


def test_thinking_blocks_are_kept_and_sent_back_unchanged(client):
    conversation = Conversation().add_user("Hello")
    first = conversation.send(client, max_tokens=300)  # DEFAULT_MODEL thinks by default: a signed thinking block
    thinking = [b.model_dump(exclude_none=True) for b in first.content if b.type == "thinking"]
    assert thinking, "the offline backend should open this reply with a thinking block"
    assert conversation.messages[1]["content"][: len(thinking)] == thinking
    conversation.add_user("And now?")
    reply = conversation.send(client, max_tokens=300)
    assert usage_log.find(reply.id).request["messages"][1]["content"][: len(thinking)] == thinking
    assert not any(p.kind == "thinking_removed" for p in conversation.problems())
    # Redacted blocks are kept the same way (sent back only to the API that made them, so not sent here).
    kept = Conversation().add_user("Hello").add_assistant(_reply_with_thinking("Hi!", THINKING, REDACTED))
    assert kept.messages[1]["content"] == [THINKING, REDACTED, {"type": "text", "text": "Hi!"}]


def test_changing_the_system_prompt_removes_thinking_and_says_why():
    conversation = Conversation(system="Be brief.").add_user("Hello")
    conversation.add_assistant(_reply_with_thinking("Hi!", THINKING)).add_user("More?")
    conversation.add_assistant(_reply_with_thinking("Sure.", REDACTED)).add_user("Thanks")
    conversation.system = "Be brief."  # unchanged: nothing happens
    assert conversation.messages[1]["content"][0] == THINKING
    conversation.system = "Be very brief."
    assert [b["type"] for m in conversation.messages for b in (m["content"] if isinstance(m["content"], list) else [])] \
        == ["text", "text"]
    [note] = [p for p in conversation.problems() if p.kind == "thinking_removed"]
    assert not note.blocking
    assert "the system prompt changed, so the thinking blocks in turns 1 and 3 were removed" in str(note).lower()
    assert "refuses (400) or drops" in str(note)


def test_trimming_removes_thinking_from_the_turns_kept_after_a_gap():
    conversation = Conversation()
    for i in range(4):
        conversation.add_user(f"Question {i}: " + "words " * 30)
        conversation.add_assistant(_reply_with_thinking(f"Answer {i}", THINKING))
    conversation.add_user("Last question")
    conversation.trim(150, keep_first=True)
    kept = conversation.messages
    assert kept[0]["content"].startswith("Question 0") and len(kept) < 9
    assert not any(b.get("type") == "thinking" for m in kept[1:] if isinstance(m["content"], list) for b in m["content"])
    dropped = 9 - len(kept)
    assert any(re.match(rf"Trimming dropped {dropped} earlier turns, so the thinking blocks in turns? [0-9, and]+ were "
                        "removed", str(p)) for p in conversation.problems())
