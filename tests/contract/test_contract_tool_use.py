"""Tool use through the SDK: tool_choice, parallel calls, inputs that fit the schema, results, server tools.

Sources: https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use (tool_choice auto /
any / tool / none, no text before a forced call, ``disable_parallel_tool_use``, several ``tool_use`` blocks in
one turn answered by one user turn of ``tool_result`` blocks, ``is_error``);
https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool (``server_tool_use`` then
``web_search_tool_result``, its error object, ``usage.server_tool_use.web_search_requests``);
https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (``pause_turn``: send the
response back as-is to continue). Block shapes: anthropic 2.14 ``types/*_block.py``.
"""

from __future__ import annotations

import anthropic
import jsonschema
import pytest

from contract_support import TIME_TOOL, WEATHER_TOOL, params, text_of, trigger, user
from helpers.offline.replies import texts

CONVERT_TOOL = {
    "name": "convert_currency",
    "description": "Convert an amount of money from one currency to another, at today's exchange rate.",
    "input_schema": {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "source": {"type": "string"},
            "target": {"type": "string"},
            "rounding": {"type": "string", "enum": ["none", "cents", "whole"]},
            "days_back": {"type": "integer", "minimum": 0, "maximum": 30},
        },
        "required": ["amount", "source", "target", "rounding"],
    },
}
BOOK_TOOL = {
    "name": "lookup_catalogue",
    "description": "Searches the library's catalogue of books by author or title.",
    "input_schema": {"type": "object", "properties": {"author": {"type": "string"}}, "required": ["author"]},
}
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
NO_THINKING = {"thinking": {"type": "disabled"}}


def calls(message) -> list:
    return [b for b in message.content if b.type == "tool_use"]


def test_auto_chooses_a_tool_by_its_description(api):
    """No word of the name is in the prompt; the description says when to use it."""
    message = api.create(**params(user("Which books by Tolkien does the library hold?"), tools=[WEATHER_TOOL, BOOK_TOOL]))
    (call,) = calls(message)
    assert message.stop_reason == "tool_use" and call.name == "lookup_catalogue"
    assert call.input == {"author": "Tolkien"}


def test_auto_with_an_unrelated_prompt_answers_in_text(api):
    message = api.create(**params(user("Tell me a short story."), tools=[WEATHER_TOOL, BOOK_TOOL]))
    assert message.stop_reason == "end_turn" and not calls(message)


def test_any_forces_a_call_without_text_before_it(api):
    message = api.create(**params(user("Tell me a short story."), tools=[WEATHER_TOOL, BOOK_TOOL],
                                  tool_choice={"type": "any"}))
    assert message.stop_reason == "tool_use" and len(calls(message)) == 1
    assert [b.type for b in message.content] == ["tool_use"]


def test_tool_forces_the_named_tool_even_when_another_fits_better(api):
    message = api.create(**params(user("Which books by Tolkien does the library hold?"),
                                  tools=[WEATHER_TOOL, BOOK_TOOL], tool_choice={"type": "tool", "name": "get_weather"}))
    (call,) = calls(message)
    assert call.name == "get_weather" and [b.type for b in message.content] == ["tool_use"]


def test_none_never_calls_even_when_asked_to(api):
    message = api.create(**params(user("Which books by Tolkien does the library hold? Use the catalogue."),
                                  tools=[BOOK_TOOL], tool_choice={"type": "none"}))
    assert message.stop_reason == "end_turn" and not calls(message)


def test_a_closing_instruction_adds_no_call_of_its_own(api):
    tool = {"name": "count_letters", "description": "Count the letters in a word.",
            "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}
    message = api.create(**params(user("How many letters are in the word Formicidae? Use the count_letters tool."),
                                  tools=[tool]))
    assert [c.input for c in calls(message)] == [{"word": "Formicidae"}]


def test_several_requests_get_several_calls_in_one_turn(api):
    question = "What's the weather in Paris and in Tokyo, and what time is it in Tokyo?"
    message = api.create(**params(user(question), tools=[WEATHER_TOOL, TIME_TOOL]))
    made = [(c.name, c.input) for c in calls(message)]
    assert made == [("get_weather", {"location": "Paris"}), ("get_weather", {"location": "Tokyo"}),
                    ("get_time", {"timezone": "Tokyo"})]
    assert len({c.id for c in calls(message)}) == 3
    assert message.stop_reason == "tool_use"


def test_disable_parallel_tool_use_makes_at_most_one_call(api):
    question = "What's the weather in Paris and in Tokyo, and what time is it in Tokyo?"
    for kind in ("auto", "any"):
        message = api.create(**params(user(question), tools=[WEATHER_TOOL, TIME_TOOL],
                                      tool_choice={"type": kind, "disable_parallel_tool_use": True}))
        assert len(calls(message)) == 1


def test_a_single_call_takes_its_input_from_the_clause_that_asks_for_it(api):
    """Only the second clause calls for a tool: its place is Tokyo, not the Lisbon of the first clause."""
    message = api.create(**params(user("I live in Lisbon, but what time is it in Tokyo?"), tools=[TIME_TOOL, BOOK_TOOL]))
    assert [(c.name, c.input) for c in calls(message)] == [("get_time", {"timezone": "Tokyo"})]


def test_a_clause_without_a_place_of_its_own_takes_the_one_named_just_before(api):
    question = "What's the weather in Paris and in Oslo, and what time is it there?"
    message = api.create(**params(user(question), tools=[WEATHER_TOOL, TIME_TOOL]))
    assert [(c.name, c.input) for c in calls(message)] == [
        ("get_weather", {"location": "Paris"}), ("get_weather", {"location": "Oslo"}), ("get_time", {"timezone": "Oslo"})]


@pytest.mark.parametrize("question", ["Is it raining in Lisbon?", "Will it be snowy in Oslo?"])
def test_an_inflected_word_of_the_description_calls_the_tool(api, question):
    """"raining" meets "rain", "snowy" meets "snow": words too short for the five-letter stem rule."""
    tool = {"name": "forecast", "description": "The rain and snow forecast for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    message = api.create(**params(user(question), tools=[tool, BOOK_TOOL]))
    assert [c.name for c in calls(message)] == ["forecast"]


def test_whole_numbers_come_back_as_integers_as_a_model_writes_them(api):
    message = api.create(**params(user("Please convert 250 Euro to Yen, and 12.5 Euro to Pound."), tools=[CONVERT_TOOL]))
    amounts = [c.input["amount"] for c in calls(message)]
    assert amounts == [250, 12.5] and type(amounts[0]) is int and type(amounts[1]) is float


def test_a_number_longer_than_python_converts_still_gets_a_reply(api):
    """int() refuses more than 4,300 digits; the call still comes back, with an amount the schema accepts."""
    message = api.create(**params(user("Please convert " + "9" * 5000 + " Euro to Yen."), tools=[CONVERT_TOOL]))
    (call,) = calls(message)
    jsonschema.validate(call.input, CONVERT_TOOL["input_schema"])


def test_inputs_satisfy_the_schema_from_the_users_words(api):
    message = api.create(**params(user("Please convert 250 Euro to Yen, rounded to whole units."), tools=[CONVERT_TOOL]))
    (call,) = calls(message)
    jsonschema.validate(call.input, CONVERT_TOOL["input_schema"])
    assert call.input == {"amount": 250, "source": "Euro", "target": "Yen", "rounding": "whole"}


def test_every_call_is_answered_and_the_reply_quotes_each_result(api):
    question = user("What's the weather in Paris and in Tokyo?")
    first = api.create(**params(question, tools=[WEATHER_TOOL], **NO_THINKING))
    paris, tokyo = calls(first)
    results = user([
        {"type": "tool_result", "tool_use_id": paris.id, "content": "18 degrees, light rain"},
        {"type": "tool_result", "tool_use_id": tokyo.id, "content": "lookup failed: no station", "is_error": True},
    ])
    final = api.create(**params(question, first.to_param(), results, tools=[WEATHER_TOOL]))
    assert final.stop_reason == "end_turn" and not calls(final)
    text = text_of(final)
    assert texts()["tool_result_reply"].format(tool="get_weather", result="18 degrees, light rain") in text
    assert texts()["tool_error_reply"].format(tool="get_weather", result="lookup failed: no station") in text


def test_a_call_left_unanswered_is_rejected(api):
    question = user("What's the weather in Paris and in Tokyo?")
    first = api.create(**params(question, tools=[WEATHER_TOOL], **NO_THINKING))
    paris, _ = calls(first)
    only_one = user([{"type": "tool_result", "tool_use_id": paris.id, "content": "18 degrees"}])
    with pytest.raises(anthropic.BadRequestError):
        api.create(**params(question, first.to_param(), only_one, tools=[WEATHER_TOOL]))


def test_a_declared_web_search_runs_as_a_server_tool_and_says_it_found_nothing(api):
    message = api.create(**params(user("Search the latest news about ant colonies."), tools=[WEB_SEARCH]))
    kinds = [b.type for b in message.content if b.type != "thinking"]
    assert kinds == ["text", "server_tool_use", "web_search_tool_result", "text"]
    use = next(b for b in message.content if b.type == "server_tool_use")
    result = next(b for b in message.content if b.type == "web_search_tool_result")
    assert use.name == "web_search" and use.id.startswith("srvtoolu_") and "ant colonies" in use.input["query"]
    assert result.tool_use_id == use.id
    assert result.content.type == "web_search_tool_result_error" and result.content.error_code == "unavailable"
    assert message.stop_reason == "end_turn"
    assert message.usage.server_tool_use.web_search_requests == 1
    streamed = api.stream_final(**params(user("Search the latest news about ant colonies."), tools=[WEB_SEARCH]))
    assert [b.type for b in streamed.content if b.type != "thinking"] == kinds


def test_web_search_is_not_used_without_a_reason_or_when_tool_choice_is_none(api):
    plain = api.create(**params(user("Tell me a short story."), tools=[WEB_SEARCH]))
    refused = api.create(**params(user("Search the news."), tools=[WEB_SEARCH], tool_choice={"type": "none"}))
    for message in (plain, refused):
        assert not any(b.type == "server_tool_use" for b in message.content)
        assert message.usage.server_tool_use is None


def test_pause_turn_with_a_declared_search_continues_with_its_result(api):
    question = user(trigger("pause_turn") + " Find this week's news about ant colonies.")
    paused = api.create(**params(question, tools=[WEB_SEARCH]))
    assert paused.stop_reason == "pause_turn"
    use = next(b for b in paused.content if b.type == "server_tool_use")
    assert "#" not in use.input["query"]  # the kit's trigger is not part of the search
    resumed = api.create(**params(question, paused.to_param(), tools=[WEB_SEARCH]))
    result = next(b for b in resumed.content if b.type == "web_search_tool_result")
    assert result.tool_use_id == use.id and resumed.stop_reason == "end_turn"
    assert resumed.usage.server_tool_use.web_search_requests == 1
    assert text_of(resumed)


def test_forced_calls_repeat_after_results_while_auto_answers(api):
    question = user("Which books by Tolkien does the library hold?")
    first = api.create(**params(question, tools=[BOOK_TOOL], **NO_THINKING))
    (call,) = calls(first)
    results = user([{"type": "tool_result", "tool_use_id": call.id, "content": "The Hobbit; The Silmarillion"}])
    history = (question, first.to_param(), results)
    assert calls(api.create(**params(*history, tools=[BOOK_TOOL], tool_choice={"type": "any"})))
    answer = api.create(**params(*history, tools=[BOOK_TOOL]))
    assert "The Hobbit; The Silmarillion" in text_of(answer) and not calls(answer)


def test_an_assistant_turn_with_the_search_blocks_can_be_sent_back(api):
    message = api.create(**params(user("Search the latest news about ant colonies."), tools=[WEB_SEARCH]))
    follow = api.create(**params(user("Search the latest news about ant colonies."), message.to_param(),
                                 user("Thanks. Tell me a short story instead."), tools=[WEB_SEARCH]))
    assert follow.stop_reason == "end_turn" and text_of(follow)
    assert not any(b.type == "server_tool_use" for b in follow.content)


def test_forcing_the_search_tool_runs_it_without_text_before_it(api):
    for choice in ({"type": "tool", "name": "web_search"}, {"type": "any"}):
        message = api.create(**params(user("Tell me a short story."), tools=[WEB_SEARCH], tool_choice=choice,
                                      **NO_THINKING))
        assert [b.type for b in message.content][:2] == ["server_tool_use", "web_search_tool_result"]
