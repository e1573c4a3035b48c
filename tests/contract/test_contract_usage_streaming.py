"""Token usage (count_tokens agrees with create) and streaming (event order, same final message)."""

from __future__ import annotations

import json
import re

import anthropic
import httpx2
import pytest

from contract_support import (
    ANT_QUESTION,
    HELLO,
    ID_SHAPE,
    LOOPBACK_KEY,
    NO_THINKING,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    TIME_TOOL,
    assistant,
    check_error,
    comparable,
    params,
    pieces,
    text_of,
    trigger,
    user,
)
from helpers import PREFILL_MODEL
from helpers.offline.wording import say

# -- 8. usage -------------------------------------------------------------------------------

_TOOL_CALL = {"type": "tool_use", "id": "toolu_01UsageCheck", "name": "get_weather", "input": {"location": "Paris"}}
_TOOL_RESULT = {"type": "tool_result", "tool_use_id": "toolu_01UsageCheck", "content": [{"type": "text", "text": "18 degrees"}]}

COUNT_CASES = {
    "plain": params(),
    "system string": params(system="You are a patient teacher."),
    "system blocks": params(system=[{"type": "text", "text": "You are a patient teacher."}, {"type": "text", "text": "Answer briefly."}]),
    "tools": params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL, TIME_TOOL]),
    "system and tools": params(user(WEATHER_QUESTION), system="Use tools when useful.", tools=[WEATHER_TOOL], tool_choice={"type": "any"}),
    "tool round trip": params(user(WEATHER_QUESTION), assistant([_TOOL_CALL]), user([_TOOL_RESULT]), tools=[WEATHER_TOOL]),
    "multi-turn": params(user("My name is Ada."), assistant("Hello Ada."), user("What is my name?")),
    "structured output": params(output_config={"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}),
    "prefill": params(user(ANT_QUESTION), assistant("The answer is ("), model=PREFILL_MODEL),
}
_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "output_config")


@pytest.mark.parametrize("case", COUNT_CASES)
def test_count_tokens_equals_create_input_tokens(api, case):
    request = COUNT_CASES[case]
    counted = api.count_tokens(**{k: v for k, v in request.items() if k in _COUNT_FIELDS})
    created = api.create(**request)
    assert counted == created.usage.input_tokens
    assert counted > 0


def test_system_prompt_and_tools_add_input_tokens(api):
    base = api.count_tokens(model=params()["model"], messages=params()["messages"])
    with_system = api.count_tokens(model=params()["model"], messages=params()["messages"], system="You are a patient teacher.")
    with_tools = api.count_tokens(model=params()["model"], messages=params()["messages"], tools=[WEATHER_TOOL])
    assert with_system > base and with_tools > base


def test_input_tokens_do_not_depend_on_max_tokens_or_stop_sequences(api):
    a = api.create(**params(max_tokens=3)).usage.input_tokens
    b = api.create(**params(max_tokens=500, stop_sequences=["zzz"])).usage.input_tokens
    assert a == b


def test_output_tokens_match_the_text_returned(api):
    message = api.create(**params(**NO_THINKING))
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == len(pieces(text_of(message)))
    cut = api.create(**params(max_tokens=message.usage.output_tokens // 2, **NO_THINKING))
    assert cut.usage.output_tokens == message.usage.output_tokens // 2
    assert cut.usage.output_tokens == len(pieces(text_of(cut)))


# -- 9. streaming ------------------------------------------------------------------------------

# One letter per event: message_start, then per block start / deltas / stop, then message_delta(s), message_stop.
_ORDER = re.compile(r"^S(BD+E)*M+X$")
_CODES = {"message_start": "S", "content_block_start": "B", "content_block_delta": "D", "content_block_stop": "E", "message_delta": "M", "message_stop": "X"}


def _shape(events) -> str:
    return "".join(_CODES[e.type] for e in events)


def _check_order(events) -> None:
    types = [e.type for e in events]
    assert "ping" not in types  # the SDK drops ping events
    assert _ORDER.match(_shape(events)), types
    start = events[0].message
    assert start.stop_reason is None and start.stop_sequence is None and start.content == []
    assert start.id.startswith("msg_") and ID_SHAPE.match(start.id)
    block_starts = [e for e in events if e.type == "content_block_start"]
    assert [e.index for e in block_starts] == list(range(len(block_starts)))
    for event in events:
        if event.type in ("content_block_delta", "content_block_stop"):
            assert event.index == max(e.index for e in block_starts if events.index(e) < events.index(event))


def _accumulate_text(events) -> str:
    return "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")


def test_stream_event_order_for_text(api):
    events = api.stream_events(**params())
    _check_order(events)
    expected = api.create(**params())
    assert _accumulate_text(events) == text_of(expected)
    delta = [e for e in events if e.type == "message_delta"][-1]
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == expected.usage.output_tokens
    assert events[0].message.usage.input_tokens == expected.usage.input_tokens


def test_stream_event_order_for_tool_use(api):
    request = params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL])
    events = api.stream_events(**request)
    _check_order(events)
    starts = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in starts] == ["thinking", "text", "tool_use"]  # the default model thinks first
    assert starts[2].name == "get_weather" and ID_SHAPE.match(starts[2].id)
    partial = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta")
    assert json.loads(partial) == {"location": "Paris"}
    assert [e for e in events if e.type == "message_delta"][-1].delta.stop_reason == "tool_use"


def test_stream_message_delta_carries_stop_sequence(api):
    full = text_of(api.create(**params()))
    stop = full.split()[3]
    events = api.stream_events(**params(stop_sequences=[stop]))
    _check_order(events)
    delta = [e for e in events if e.type == "message_delta"][-1].delta
    assert delta.stop_reason == "stop_sequence" and delta.stop_sequence == stop
    assert stop not in _accumulate_text(events)


STREAM_CASES = {
    "text": params(),
    "stop sequence": params(stop_sequences=["deterministic text"]),
    "max_tokens": params(max_tokens=9),
    "tool_use": params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]),
    "tool result": params(user(WEATHER_QUESTION), assistant([_TOOL_CALL]), user([_TOOL_RESULT]), tools=[WEATHER_TOOL]),
    "system": params(system="Be brief."),
    "prefill": params(user(ANT_QUESTION), assistant("The answer is ("), model=PREFILL_MODEL),
    "refusal": params(user(trigger("refusal", "cyber"))),
    "pause_turn": params(user(trigger("pause_turn"))),
    "context window": params(user(trigger("context_window"))),
    "max_tokens zero": params(max_tokens=0),
}


@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_final_message_equals_create(api, case):
    request = STREAM_CASES[case]
    created = api.create(**request)
    streamed = api.stream_final(**request)
    assert streamed.id != created.id and ID_SHAPE.match(streamed.id)
    assert comparable(streamed) == comparable(created)


def test_stream_stop_sequence_case_really_stops_on_a_sequence(api):
    # the premise of the "stop sequence" case above
    assert api.create(**STREAM_CASES["stop sequence"]).stop_reason == "stop_sequence"


def test_stream_text_stream_concatenates_to_the_reply(api):
    text, error = api.stream_text_until_error(**params())
    assert error is None
    assert text == text_of(api.create(**params()))


def test_stream_validation_error_is_raised_before_any_event(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.stream_events(**params(user(HELLO), extra_body={"temperature": 0.2}))
    check_error(info.value, 400, "invalid_request_error", say("extra_input", field="temperature"))


def test_stream_carries_a_request_id(api):
    if api.is_async:

        async def request_id() -> str:
            async with api.client.messages.stream(**params()) as stream:
                await stream.get_final_message()
                return stream.request_id

        found = api.run(request_id())
    else:
        with api.client.messages.stream(**params()) as stream:
            stream.get_final_message()
            found = stream.request_id
    assert found and found.startswith("req_") and ID_SHAPE.match(found)


def test_loopback_raw_sse_framing(loopback_url):
    """What the SDK parses: every event has an ``event:`` line naming its type; a ping follows the first block start."""
    headers = {"x-api-key": LOOPBACK_KEY, "anthropic-version": "2026-10-21"}
    with httpx2.Client(base_url=loopback_url, timeout=10) as raw:
        response = raw.post("/v1/messages", json=params(stream=True), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ID_SHAPE.match(response.headers["request-id"])
    frames = [frame for frame in response.text.split("\n\n") if frame.strip()]
    names = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        name = event_line.removeprefix("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == name
        names.append(name)
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
