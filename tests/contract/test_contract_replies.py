"""Successful replies: shape and ids, determinism, statelessness, and how generation stops."""

from __future__ import annotations

import json

import anthropic
import jsonschema
import pytest

from contract_support import (
    ANT_QUESTION,
    HELLO,
    ID_SHAPE,
    NO_THINKING,
    TIME_TOOL,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    assistant,
    check_error,
    comparable,
    params,
    pieces,
    reply_entry,
    text_of,
    trigger,
    user,
)
from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog
from helpers.offline import tokens
from helpers.offline.replies import texts

REFUSAL_CATEGORIES = {"cyber", "bio", "frontier_llm", "reasoning_extraction", "general_harms", None}


# -- 5. response shape, request ids ------------------------------------------------------


def test_message_shape_and_request_id(api):
    response, message = api.create_raw(**params())
    assert response.status_code == 200
    assert message.type == "message" and message.role == "assistant"
    assert message.model == catalog.get(DEFAULT_MODEL).resolved_id
    assert message.id.startswith("msg_") and ID_SHAPE.match(message.id)
    assert response.headers["request-id"].startswith("req_") and ID_SHAPE.match(response.headers["request-id"])
    assert message._request_id == response.headers["request-id"]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None and message.stop_details is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_creation_input_tokens == 0 and message.usage.cache_read_input_tokens == 0
    assert message.usage.service_tier == "standard"


# The response object of the reference (messages-api.md section 5): every field present, null when unused.
MESSAGE_FIELDS = {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "stop_details", "usage"}
USAGE_FIELDS = {
    "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
    "server_tool_use", "service_tier", "inference_geo", "speed", "output_tokens_details",
}


def test_raw_message_has_every_documented_field(api):
    raw = api.post("/v1/messages", params())
    assert set(raw) == MESSAGE_FIELDS
    assert set(raw["usage"]) == USAGE_FIELDS
    assert raw["usage"]["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    assert raw["usage"]["server_tool_use"] is None
    # The default model thinks by default: a thinking block (text omitted, signature kept), then the text.
    thinking, text = raw["content"]
    assert thinking == {"type": "thinking", "thinking": "", "signature": thinking["signature"]} and thinking["signature"]
    assert text == {"type": "text", "text": text["text"]}
    assert raw["usage"]["output_tokens_details"] == {"thinking_tokens": raw["usage"]["output_tokens_details"]["thinking_tokens"]}
    # Every response recorded in the SDK's own tests says "not_available" (messages-api.md section 11).
    assert raw["usage"]["inference_geo"] == "not_available"


def test_raw_message_without_thinking_has_one_text_block_and_no_details(api):
    raw = api.post("/v1/messages", params(**NO_THINKING))
    assert raw["content"] == [{"type": "text", "text": raw["content"][0]["text"]}]
    assert raw["usage"]["output_tokens_details"] is None


def test_raw_fields_are_known_to_the_sdk(api):
    raw = api.post("/v1/messages", params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]))
    assert set(raw) <= set(anthropic.types.Message.model_fields)
    assert set(raw["usage"]) <= set(anthropic.types.Usage.model_fields)
    required = {name for name, info in anthropic.types.Message.model_fields.items() if info.is_required()}
    assert required <= set(raw)
    for block in raw["content"]:
        model = {
            "text": anthropic.types.TextBlock, "tool_use": anthropic.types.ToolUseBlock,
            "thinking": anthropic.types.ThinkingBlock,
        }[block["type"]]
        assert {n for n, i in model.model_fields.items() if i.is_required()} <= set(block) <= set(model.model_fields)


def test_model_is_reported_as_the_resolved_snapshot(api):
    entry = catalog.get(PREFILL_MODEL)
    assert api.create(**params(model=PREFILL_MODEL)).model == entry.resolved_id
    if entry.snapshot:
        assert api.create(**params(model=entry.snapshot)).model == entry.resolved_id


def test_request_ids_are_fresh_per_response(api):
    first = api.create(**params())
    second = api.create(**params())
    assert first._request_id != second._request_id
    assert first.id != second.id


def test_error_body_request_id_matches_header_and_exception(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(max_tokens=-5))
    err = info.value
    check_error(err, 400, "invalid_request_error")
    assert err.request_id.startswith("req_")


def test_request_id_on_count_tokens_and_models(api):
    raw = api.call(api.client.messages.with_raw_response.count_tokens, model=DEFAULT_MODEL, messages=[user("hi")])
    assert ID_SHAPE.match(raw.headers["request-id"])
    assert api.run(raw.parse())._request_id == raw.headers["request-id"]
    raw = api.call(api.client.models.with_raw_response.retrieve, DEFAULT_MODEL)
    assert ID_SHAPE.match(raw.headers["request-id"])
    raw = api.call(api.client.models.with_raw_response.list)
    assert ID_SHAPE.match(raw.headers["request-id"])


def test_request_id_on_a_404_route(api):
    with pytest.raises(anthropic.NotFoundError) as info:
        api.call(api.client.get, "/v1/no-such-route", cast_to=object)
    check_error(info.value, 404, "not_found_error")


# -- 6. determinism and statelessness ------------------------------------------------------


DETERMINISM_CASES = {
    "hello": params(),
    "fallback": params(user("Tell me something about otters."), system="You are terse."),
    "tool_use": params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]),
    "max_tokens": params(max_tokens=7),
    "prefill": params(user(ANT_QUESTION), assistant("The answer is ("), model=PREFILL_MODEL),
}


@pytest.mark.parametrize("case", DETERMINISM_CASES)
def test_same_request_same_reply(api, case):
    first = api.create(**DETERMINISM_CASES[case])
    second = api.create(**DETERMINISM_CASES[case])
    assert first.id != second.id
    assert comparable(first) == comparable(second)
    assert first.usage == second.usage and first.stop_reason == second.stop_reason


def test_fallback_reports_turn_count_and_last_user_message(api):
    conversation = [user("Tell me a fact about otters."), assistant("Otters hold hands while sleeping."), user("And one about beavers?")]
    message = api.create(**params(*conversation))
    expected = texts()["fallback"].format(turns=3, messages_word="messages", system_note="", last_user="And one about beavers?")
    assert text_of(message) == expected
    # the same last message alone: the reply now reports one message, so the server kept no state
    alone = api.create(**params(user("And one about beavers?")))
    assert text_of(alone) == texts()["fallback"].format(
        turns=1, messages_word="message", system_note="", last_user="And one about beavers?"
    )


def test_fallback_notices_a_system_prompt(api):
    without = text_of(api.create(**params(user("Tell me about otters."))))
    with_system = text_of(api.create(**params(user("Tell me about otters."), system="You are a naturalist.")))
    assert without != with_system
    assert "system prompt" in with_system and "system prompt" not in without


def test_recall_fails_without_history(api):
    entry = reply_entry("What is my name?")
    api.create(**params(user("Hi! My name is Ada.")))  # an earlier, separate request: the API keeps nothing
    message = api.create(**params(user("What is my name?")))
    assert text_of(message) == entry["otherwise"]
    assert "Ada" not in text_of(message)


def test_recall_works_with_history(api):
    entry = reply_entry("What is my name?")
    conversation = [user("Hi! My name is Ada."), assistant("Nice to meet you, Ada."), user("What is my name?")]
    message = api.create(**params(*conversation))
    assert text_of(message) == entry["reply"].format(recall="Ada")


def test_recall_never_says_the_history_is_missing_when_it_was_sent(api):
    conversation = [user("Hi! I'm Bob."), assistant("Nice to meet you, Bob."), user("What is my name?")]
    text = text_of(api.create(**params(*conversation)))
    assert text.startswith("[offline]") and "3 messages" in text
    assert text != reply_entry("What is my name?")["otherwise"] and "stateless" not in text


# -- written replies answer the lessons' own prompts only ---------------------------------------------------


@pytest.mark.parametrize("prompt", [
    "List three colors of the French flag.",          # a lesson prompt inside a longer one
    "Is Claude Haiku cheaper than Claude Sonnet?",     # a word of an old entry
    "Please count to ten in French.",
    "What is my name, and what is yours?",
])
def test_other_prompts_get_the_transparent_reply(api, prompt):
    text = text_of(api.create(**params(user(prompt))))
    assert text == texts()["fallback"].format(turns=1, messages_word="message", system_note="", last_user=prompt)


@pytest.mark.parametrize("prompt", ["Count to ten.", "count to ten", "  COUNT   to ten!", "Count to ten?"])
def test_a_lesson_prompt_matches_up_to_case_spacing_and_final_punctuation(api, prompt):
    assert text_of(api.create(**params(user(prompt)))) == reply_entry("Count to ten.")["reply"]


@pytest.mark.parametrize("limit", [3, 5, 20])
def test_the_transparent_reply_is_recognisable_under_a_small_max_tokens(api, limit):
    # Thinking off: with it on, thinking counts toward max_tokens first (test_contract_thinking.py).
    message = api.create(**params(user("Tell me something about otters."), max_tokens=limit, **NO_THINKING))
    assert message.stop_reason == "max_tokens"
    tokenizer = catalog.get(DEFAULT_MODEL).tokenizer  # the 4.7+ tokenizer cuts "[offline]" into 5 pieces
    assert text_of(message).startswith("[offline"[: len("".join(tokens.pieces("[offline", tokenizer)[:limit]))])
    if limit >= 5:
        assert text_of(message).startswith("[offline]")
    if limit >= 20:  # the marker leaves room for what was received
        assert "I received 1 message" in text_of(message)


# -- few-shot continuations follow the learner's examples -------------------------------------------------


def _few_shot(*pairs: tuple[str, str], question: str) -> list[dict]:
    turns = []
    for example, label in pairs:
        turns += [user(example), assistant(label)]
    return turns + [user(question)]


def test_few_shot_reply_uses_the_learners_spelling_of_the_lessons_label(api):
    turns = _few_shot(("Ticket: The app crashes on login.", "CATEGORY=BUG"),
                      ("Ticket: My card was charged and I got no receipt.", "CATEGORY=BILLING"),
                      ("Ticket: Where is your office?", "CATEGORY=OTHER"),
                      question="Ticket: I was charged twice for my May invoice.")
    message = api.create(**params(*turns, max_tokens=20, **NO_THINKING))
    assert text_of(message) == "CATEGORY=BILLING" and message.stop_reason == "end_turn"


def test_few_shot_reply_with_other_labels_is_one_of_them(api):
    labels = ("bogue", "facturation", "autre")
    turns = _few_shot(("Ticket : l'application plante au démarrage.", labels[0]),
                      ("Ticket : ma carte a été débitée deux fois.", labels[1]),
                      ("Ticket : où est votre bureau ?", labels[2]),
                      question="Ticket : l'application plante quand j'envoie une photo.")
    assert text_of(api.create(**params(*turns, max_tokens=20, **NO_THINKING))) == "bogue"
    other = _few_shot(("Ticket : question", "x-1"), ("Ticket : autre question", "x-2"), question="Bonjour")
    assert text_of(api.create(**params(*other, max_tokens=20, **NO_THINKING))) in {"x-1", "x-2"}


def test_a_lesson_label_alone_gets_the_transparent_reply(api):
    prompt = "Ticket: I was charged twice for my May invoice."
    text = text_of(api.create(**params(user(prompt))))
    assert text.startswith("[offline]") and text != "billing"


def test_a_learners_multiple_choice_gets_a_marked_placeholder_not_a_letter(api):
    question = "Which planet is largest? (A) Mars, (B) Jupiter, (C) Venus"
    one = api.create(**params(user(question), assistant("The answer is ("), model=PREFILL_MODEL, max_tokens=1))
    assert text_of(one) == "?" and one.stop_reason == "max_tokens"
    whole = text_of(api.create(**params(user(question), assistant("The answer is ("), model=PREFILL_MODEL)))
    assert whole.startswith("?) [offline] placeholder") and "(A), (B), (C)" in whole


# -- 7. how generation stops -------------------------------------------------------------------


def _full_hello(api) -> str:
    full = api.create(**params(**NO_THINKING))
    assert full.stop_reason == "end_turn"
    return text_of(full)


@pytest.mark.parametrize("limit", [1, 2, 5, 17])
def test_max_tokens_cuts_at_exactly_n_tokens(api, limit):
    full = _full_hello(api)
    cut = pieces(full)
    assert len(cut) > limit  # the premise: the full reply is longer than the limit
    message = api.create(**params(max_tokens=limit, **NO_THINKING))
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.usage.output_tokens == limit
    assert text_of(message) == "".join(cut[:limit])


def test_max_tokens_equal_to_the_reply_length_ends_the_turn(api):
    full = _full_hello(api)
    n = len(pieces(full))
    exact = api.create(**params(max_tokens=n, **NO_THINKING))
    assert exact.stop_reason == "end_turn" and text_of(exact) == full and exact.usage.output_tokens == n
    short = api.create(**params(max_tokens=n - 1, **NO_THINKING))
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == n - 1


def test_max_tokens_zero_is_allowed(api):
    message = api.create(**params(max_tokens=0))
    assert message.content == []
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 0
    assert message.usage.input_tokens == api.count_tokens(model=DEFAULT_MODEL, messages=[user(HELLO)])


def _words(text: str) -> list[str]:
    return [w.strip(".,!?:;'\"") for w in text.split() if len(w.strip(".,!?:;'\"")) >= 4]


def test_stop_sequence_cuts_before_the_first_match(api):
    full = _full_hello(api)
    stop = _words(full)[len(_words(full)) // 2]
    cut = full.find(stop)
    assert cut > 0
    message = api.create(**params(stop_sequences=[stop], **NO_THINKING))
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == stop
    text = text_of(message)
    assert stop not in text
    assert full.startswith(text)
    assert text == full[:cut]
    assert 0 < message.usage.output_tokens < len(pieces(full))


def test_the_earliest_stop_sequence_wins(api):
    full = _full_hello(api)
    words = _words(full)
    early, late = words[1], words[-1]
    assert full.find(early) < full.find(late)
    message = api.create(**params(stop_sequences=[late, early], **NO_THINKING))
    assert message.stop_sequence == early
    assert text_of(message) == full[: full.find(early)]


def test_stop_sequence_that_never_occurs(api):
    full = _full_hello(api)
    message = api.create(**params(stop_sequences=["zzz-never-said"], **NO_THINKING))
    assert message.stop_reason == "end_turn" and message.stop_sequence is None and text_of(message) == full


def test_max_tokens_before_a_later_stop_sequence(api):
    full = _full_hello(api)
    stop = _words(full)[-1]
    message = api.create(**params(max_tokens=3, stop_sequences=[stop], **NO_THINKING))
    assert message.stop_reason == "max_tokens" and message.stop_sequence is None
    assert text_of(message) == "".join(pieces(full)[:3])


def test_prefill_is_continued_not_repeated(api):
    prefill = "The answer is ("
    one = api.create(**params(user(ANT_QUESTION), assistant(prefill), model=PREFILL_MODEL, max_tokens=1))
    assert text_of(one) == "C"
    assert one.stop_reason == "max_tokens" and one.usage.output_tokens == 1
    whole = api.create(**params(user(ANT_QUESTION), assistant(prefill), model=PREFILL_MODEL))
    assert whole.stop_reason == "end_turn"
    assert text_of(whole).startswith("C)")
    assert prefill not in text_of(whole)


def test_prefill_of_a_known_reply_gives_the_rest(api):
    question = user("What is an API request, in two sentences?")  # a lesson prompt with a written reply
    reply = text_of(api.create(**params(question, model=PREFILL_MODEL)))
    prefill = reply[: reply.index(" ", 10)]  # the first words, without trailing whitespace
    message = api.create(**params(question, assistant(prefill), model=PREFILL_MODEL))
    assert prefill + text_of(message) == reply


# -- tools


def _tool_calls(message) -> list:
    return [block for block in message.content if block.type == "tool_use"]


def test_tool_use_when_the_request_calls_for_one(api):
    message = api.create(**params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]))
    assert message.stop_reason == "tool_use"
    (call,) = _tool_calls(message)
    assert call.name == "get_weather"
    assert call.id.startswith("toolu_") and ID_SHAPE.match(call.id)
    assert call.input == {"location": "Paris"}
    jsonschema.validate(call.input, WEATHER_TOOL["input_schema"])


def test_tool_result_follow_up_ends_the_turn(api):
    first = api.create(**params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]))
    (call,) = _tool_calls(first)
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "18 degrees and sunny"}
    follow_up = api.create(**params(user(WEATHER_QUESTION), first.to_param(), user([result]), tools=[WEATHER_TOOL]))
    assert follow_up.stop_reason == "end_turn"
    assert not _tool_calls(follow_up)
    assert text_of(follow_up) == texts()["tool_result_reply"].format(tool="get_weather", result="18 degrees and sunny")


def test_tool_error_result_is_acknowledged(api):
    first = api.create(**params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]))
    (call,) = _tool_calls(first)
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "service unavailable", "is_error": True}
    follow_up = api.create(**params(user(WEATHER_QUESTION), first.to_param(), user([result]), tools=[WEATHER_TOOL]))
    assert follow_up.stop_reason == "end_turn"
    assert text_of(follow_up) == texts()["tool_error_reply"].format(tool="get_weather", result="service unavailable")


def test_tool_choice_none_never_calls(api):
    message = api.create(**params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL], tool_choice={"type": "none"}))
    assert message.stop_reason == "end_turn" and not _tool_calls(message)


def test_tool_choice_auto_skips_tools_the_request_does_not_need(api):
    message = api.create(**params(tools=[WEATHER_TOOL], tool_choice={"type": "auto"}))
    assert message.stop_reason == "end_turn" and not _tool_calls(message)


def test_tool_choice_any_forces_a_call(api):
    message = api.create(**params(tools=[WEATHER_TOOL], tool_choice={"type": "any"}))
    assert message.stop_reason == "tool_use"
    (call,) = _tool_calls(message)
    assert call.name == "get_weather"
    jsonschema.validate(call.input, WEATHER_TOOL["input_schema"])


def test_tool_choice_tool_forces_that_tool(api):
    message = api.create(
        **params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL, TIME_TOOL], tool_choice={"type": "tool", "name": "get_time"})
    )
    assert message.stop_reason == "tool_use"
    (call,) = _tool_calls(message)
    assert call.name == "get_time"
    jsonschema.validate(call.input, TIME_TOOL["input_schema"])


def test_tool_choice_naming_a_missing_tool_is_rejected(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_time"}))
    check_error(info.value, 400, "invalid_request_error")


# -- structured outputs

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "height_m": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "role": {"type": "string", "enum": ["engineer", "artist", "doctor"]},
        "employed": {"type": "boolean"},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "height_m", "tags", "role", "employed", "address"],
    "additionalProperties": False,
}


def test_structured_output_is_valid_json_for_the_schema(api):
    message = api.create(
        **params(
            user("Extract the person: Grace Hopper, 85 years old, a rear admiral and computer scientist from Arlington."),
            output_config={"format": {"type": "json_schema", "schema": PERSON_SCHEMA}},
        )
    )
    assert message.stop_reason == "end_turn"
    value = json.loads(text_of(message))
    jsonschema.validate(value, PERSON_SCHEMA)


def test_structured_output_schema_with_refs(api):
    schema = {
        "type": "object",
        "$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}, "required": ["sku", "qty"], "additionalProperties": False}},
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "required": ["items"],
        "additionalProperties": False,
    }
    message = api.create(**params(user("Two apples please."), output_config={"format": {"type": "json_schema", "schema": schema}}))
    jsonschema.validate(json.loads(text_of(message)), schema)


# -- special stop reasons (trigger prompts from texts.json)


@pytest.mark.parametrize("category", [None, "cyber", "bio"])
def test_refusal_is_http_200_with_stop_details(api, category):
    response, message = api.create_raw(**params(user(trigger("refusal", category))))
    assert response.status_code == 200
    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.type == "refusal"
    assert message.stop_details.category == category
    assert message.stop_details.category in REFUSAL_CATEGORIES
    assert message.stop_details.explanation


def test_pause_turn_then_sending_it_back_continues_to_end_turn(api):
    question = user(trigger("pause_turn"))
    paused = api.create(**params(question))
    assert paused.stop_reason == "pause_turn"
    assert any(block.type == "server_tool_use" for block in paused.content)
    resumed = api.create(**params(question, paused.to_param()))
    assert resumed.stop_reason == "end_turn"
    assert text_of(resumed)


def test_model_context_window_exceeded(api):
    response, message = api.create_raw(**params(user(trigger("context_window")), max_tokens=4096))
    assert response.status_code == 200
    assert message.stop_reason == "model_context_window_exceeded"
    assert 0 < message.usage.output_tokens < 4096
    assert message.stop_details is None and message.stop_sequence is None


# -- the two adapters are one backend


ADAPTER_CASES = {
    "hello": params(),
    "tool_use": params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL]),
    "stop sequence": params(stop_sequences=["backend"]),
    "refusal": params(user(trigger("refusal", "bio"))),
}


@pytest.mark.parametrize("case", ADAPTER_CASES)
def test_in_process_and_loopback_give_the_same_reply(clients, case):
    in_process = clients["sync-inprocess"].messages.create(**ADAPTER_CASES[case])
    loopback = clients["sync-loopback"].messages.create(**ADAPTER_CASES[case])
    assert comparable(in_process) == comparable(loopback)


def test_tool_inputs_take_the_request_names_and_numbers_in_turn():
    """Two string fields get two different names from the message, and numbers fill number fields."""
    from helpers.offline import samples

    schema = {"type": "object", "required": ["base", "quote", "amount"],
              "properties": {"base": {"type": "string"}, "quote": {"type": "string"}, "amount": {"type": "number"}}}
    assert samples.sample(schema, "Please convert 250 Euro to Yen", required_only=True) == {
        "base": "Euro", "quote": "Yen", "amount": 250.0}
    assert samples.sample(schema, "convert some money", required_only=True) == {
        "base": "offline base", "quote": "offline quote", "amount": 0.0}


def test_the_backend_reads_assistant_turns_written_by_hand():
    """Like the model, the backend takes an edited assistant turn as what it said earlier."""
    from helpers import DEFAULT_MODEL, connect

    client = connect("offline", quiet=True)
    question = {"role": "user", "content": "I returned my kettle today. When will my refund arrive?"}

    def answer(earlier_answer):
        history = [{"role": "user", "content": "How long do refunds take?"}, {"role": "assistant", "content": earlier_answer}]
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=history + [question])
        return text_of(reply)

    assert "30 days" in answer("Refunds take 30 days.")
    assert "5 business days" in answer("Refunds take 5 business days.")


REVIEWS = (("Review: The pasta arrived hot and tasted great.", "positive"),
           ("Review: Two hours late, and the box was crushed.", "negative"),
           ("Review: It works. Nothing special.", "neutral"))


def test_few_shot_goes_on_after_a_real_reply_with_its_thinking_block_is_sent_back(api):
    turns = _few_shot(*REVIEWS, question="Review: The screen cracked within a week.")
    first = api.create(**params(*turns, max_tokens=300))
    assert first.content[0].type == "thinking"  # the premise: the reply sent back opens with a thinking block
    assert text_of(first) in {label for _, label in REVIEWS}
    history = turns + [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                       user("Review: The soup arrived hot and tasted great too.")]
    second = api.create(**params(*history, max_tokens=300))
    assert text_of(second) == "positive" and second.stop_reason == "end_turn"


def test_few_shot_passes_over_the_kits_own_reply_and_a_tool_exchange(api):
    turns = _few_shot(*REVIEWS, question="Tell me about your day.")
    tool_use = {"type": "tool_use", "id": "toolu_01kit", "name": "lookup", "input": {"q": "x"}}
    history = turns + [assistant("[offline] I received 7 messages. Your last one: \"Tell me about your day.\" (the "
                                 "kit's deterministic text, not Claude's)."),
                       {"role": "user", "content": "Check the order."},
                       {"role": "assistant", "content": [tool_use]},
                       {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01kit",
                                                     "content": "order 7: delivered"}]},
                       assistant("[offline] The order was delivered, the kit's own words say."),
                       user("Review: Two hours late, and the bag was crushed.")]
    tools = [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    reply = api.create(**params(*history, max_tokens=300, tools=tools, **NO_THINKING))
    assert text_of(reply) == "negative"
