"""Thinking as today's models do it, through the SDK: blocks first, per-model settings, cost, streams, round trips.

Sources (each test names the one it checks):
  [MIG]   https://platform.claude.com/docs/en/models/haiku-5-5/migration-guide
  [NEW]   https://platform.claude.com/docs/en/models/haiku-5-5/whats-new-haiku-5-5
  [S55]   https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5
  [TS]    https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting (the per-model table)
  [THINK] https://platform.claude.com/docs/en/build-with-claude/thinking
  [EFF]   https://platform.claude.com/docs/en/build-with-claude/effort
Wordings come from ``helpers/offline/wording.py``, which names the source of each.
"""

from __future__ import annotations

import anthropic
import pytest

from contract_support import (
    ANT_QUESTION,
    HELLO,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    assistant,
    check_error,
    comparable,
    params,
    pieces,
    text_of,
    trigger,
    user,
)
from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog
from helpers.offline import thinking as thinking_rules
from helpers.offline.replies import texts
from helpers.offline.wording import say

# Some tests go through every available model: the SDK warns locally about deprecated ones and about
# thinking.type enabled where adaptive replaced it, which is what those tests check.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using Claude with .* deprecated:UserWarning"),
]

SUMMARIZED = {"type": "adaptive", "display": "summarized"}
DISABLED = {"type": "disabled"}


def _blocks(message) -> list[str]:
    return [block.type for block in message.content]


def _thinking_tokens(message) -> int:
    return message.usage.output_tokens_details.thinking_tokens


def bad_request(api, **kwargs) -> anthropic.BadRequestError:
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**kwargs)
    return info.value


def _model_where(condition) -> catalog.ModelEntry:
    found = [m for m in catalog.available() if condition(m)]
    if not found:
        pytest.skip("no model in the catalog fits this case")
    return found[0]


# -- replies open with a thinking block --------------------------------------------------------------------------


def test_the_default_model_opens_with_an_omitted_thinking_block(api):
    # [MIG] "If your code reads the first content block as the answer, select content blocks by type instead";
    # [NEW] thinking text is omitted by default: an empty `thinking` and a signature.
    message = api.create(**params())
    assert _blocks(message) == ["thinking", "text"]
    block = message.content[0]
    assert block.thinking == "" and block.signature
    assert text_of(message)  # the answer is the text block, read by type


def test_thinking_tokens_are_billed_as_output_even_when_omitted(api):
    # [THINK] "the tokens Claude spends reasoning are billed as output tokens, even when the thinking text isn't
    # returned to you"; the SDK's OutputTokensDetails: thinking_tokens <= output_tokens.
    message = api.create(**params())
    thinking = _thinking_tokens(message)
    assert 0 < thinking < message.usage.output_tokens
    assert message.usage.output_tokens == thinking + len(pieces(text_of(message)))


def test_summarized_display_shows_the_kits_own_short_text(api):
    # [THINK] display "summarized" returns the thinking text; offline it is the kit's stand-in and says so.
    message = api.create(**params(thinking=SUMMARIZED))
    shown = message.content[0].thinking
    assert shown == texts()["thinking"]["summary"].format(turns=1, messages_word="message")
    assert "kit's" in shown and "not Claude's" in shown
    omitted = api.create(**params())
    assert _thinking_tokens(message) == _thinking_tokens(omitted)  # display changes what is shown, not the cost


def test_thinking_disabled_gives_text_only(api):
    message = api.create(**params(thinking=DISABLED))
    assert _blocks(message) == ["text"]
    assert message.usage.output_tokens_details is None


def test_thinking_uses_max_tokens_before_the_text(api):
    # [NEW] "Existing max_tokens values stay valid, but thinking tokens count toward them."
    thinking = _thinking_tokens(api.create(**params()))
    cut = api.create(**params(max_tokens=thinking - 1))
    assert _blocks(cut) == ["thinking"] and cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == thinking - 1 == _thinking_tokens(cut)
    just_text = api.create(**params(max_tokens=thinking + 3))
    assert _blocks(just_text) == ["thinking", "text"] and just_text.stop_reason == "max_tokens"
    assert len(pieces(text_of(just_text))) == 3


def test_a_summarized_block_cut_by_max_tokens_shows_what_was_written(api):
    cut = api.create(**params(max_tokens=4, thinking=SUMMARIZED))
    assert cut.content[0].thinking == "".join(pieces(texts()["thinking"]["summary"].format(turns=1, messages_word="message"))[:4])


def test_effort_sets_how_much_the_model_thinks(api):
    # [EFF] effort affects all tokens, thinking included; [THINK] at lower effort Claude may skip thinking.
    spent = {}
    for effort in catalog.get(DEFAULT_MODEL).effort.levels:
        message = api.create(**params(output_config={"effort": effort}))
        spent[effort] = _thinking_tokens(message)
        assert ("thinking" in _blocks(message)) == (spent[effort] > 0)
    assert spent["low"] == 0
    assert spent["medium"] < spent["high"] < spent["xhigh"] < spent["max"]
    assert _thinking_tokens(api.create(**params())) == spent[catalog.get(DEFAULT_MODEL).effort.default]


def test_no_thinking_before_a_refusal(api):
    refused = api.create(**params(user("Please answer this. #refusal")))
    assert refused.content == [] and refused.stop_reason == "refusal"


def test_a_paused_turn_goes_back_as_it_came_whether_or_not_it_thought(api):
    # Adaptive thinking may skip a turn's thinking, so a turn without a thinking block is sent back as it is.
    question = user(trigger("pause_turn"))
    for effort in ("low", "medium"):
        paused = api.create(**params(question, output_config={"effort": effort}))
        assert paused.stop_reason == "pause_turn"
        assert ("thinking" in _blocks(paused)) == (effort != "low")
        resumed = api.create(**params(question, paused.to_param()))
        assert resumed.stop_reason == "end_turn" and "thinking" not in _blocks(resumed)


# -- streams -------------------------------------------------------------------------------------------------------


def test_stream_sends_the_thinking_block_first_with_its_signature(api):
    # [S55] streams: thinking blocks come first; their signature arrives in a signature_delta.
    events = api.stream_events(**params())
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == ["thinking", "text"]
    first_block = [e for e in events if getattr(e, "index", None) == 0 and e.type == "content_block_delta"]
    assert [e.delta.type for e in first_block] == ["signature_delta"]  # display omitted: no thinking text at all
    created = api.create(**params())
    assert first_block[0].delta.signature == created.content[0].signature


def test_summarized_stream_sends_thinking_deltas_then_the_signature(api):
    events = api.stream_events(**params(thinking=SUMMARIZED))
    deltas = [e.delta for e in events if e.type == "content_block_delta" and e.index == 0]
    assert [d.type for d in deltas[:-1]] == ["thinking_delta"] * (len(deltas) - 1) and deltas[-1].type == "signature_delta"
    assert "".join(d.thinking for d in deltas[:-1]) == api.create(**params(thinking=SUMMARIZED)).content[0].thinking


@pytest.mark.parametrize("thinking", [None, SUMMARIZED, DISABLED], ids=["default", "summarized", "disabled"])
def test_streamed_final_message_equals_create_with_thinking(api, thinking):
    request = params(**({"thinking": thinking} if thinking else {}))
    created, streamed = api.create(**request), api.stream_final(**request)
    assert comparable(streamed) == comparable(created)
    assert streamed.usage.output_tokens_details == created.usage.output_tokens_details


# -- per-model thinking settings, from the catalog ([TS]: the per-model table) ------------------------------------


def _config(thinking_type: str) -> dict:
    return {"type": "enabled", "budget_tokens": 1024} if thinking_type == "enabled" else {"type": thinking_type}


@pytest.mark.parametrize("thinking_type", catalog.THINKING_TYPES)
def test_each_model_accepts_exactly_its_thinking_types(api, thinking_type):
    for entry in catalog.available():
        request = params(model=entry.id, max_tokens=4096, thinking=_config(thinking_type))
        if entry.thinking.accepts(thinking_type):
            assert api.create(**request).stop_reason == "end_turn", entry.id
        else:
            err = bad_request(api, **request)
            check_error(err, 400, "invalid_request_error")
            assert thinking_type in err.api_message, (entry.id, err.api_message)


def test_omitted_thinking_follows_each_models_default(api):
    for entry in catalog.available():
        message = api.create(**params(model=entry.id, max_tokens=4096))
        assert ("thinking" in _blocks(message)) == entry.thinking.on_by_default, entry.id
        if entry.thinking.on_by_default:
            shown = message.content[0].thinking
            assert (shown == "") == (entry.thinking.display == "omitted"), entry.id


def test_enabled_is_refused_with_the_documented_words_where_adaptive_replaced_it(api):
    # [TS] 4.7 and later reject thinking.type enabled; the message names adaptive and effort.
    err = bad_request(api, **params(thinking={"type": "enabled", "budget_tokens": 2048}, max_tokens=4096))
    check_error(err, 400, "invalid_request_error", say("thinking_enabled_unsupported"))


def test_adaptive_is_refused_on_budget_only_models(api):
    # [TS] 4.5-era models take only enabled + budget_tokens; adaptive is a 400.
    err = bad_request(api, **params(model=PREFILL_MODEL, thinking={"type": "adaptive"}))
    check_error(err, 400, "invalid_request_error", say("thinking_adaptive_unsupported"))
    message = api.create(**params(model=PREFILL_MODEL, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024}))
    assert _blocks(message) == ["thinking", "text"] and message.content[0].thinking  # 4.5 models summarize


def test_disabled_points_to_between_tools_where_that_turns_thinking_off(api):
    # [S55] "a request that sends thinking: {"type": "disabled"} returns 400 ... that points you to between_tools"
    entry = _model_where(lambda m: m.thinking.off_type == "between_tools")
    err = bad_request(api, **params(model=entry.id, thinking=DISABLED))
    assert "between_tools" in err.api_message
    message = api.create(**params(model=entry.id, thinking={"type": "between_tools"}))
    assert _blocks(message) == ["text"]  # no up-front thinking (and no tools here, so no progress notes)


def test_always_on_models_refuse_to_turn_thinking_off(api):
    # [TS] always-on models (Fable 5 and others) reject disabled.
    entry = _model_where(lambda m: m.thinking.always_on)
    err = bad_request(api, **params(model=entry.id, thinking=DISABLED))
    check_error(err, 400, "invalid_request_error")
    assert "always on" in err.api_message


def test_thinking_off_is_refused_at_efforts_the_model_does_not_allow_with_it(api):
    # [S55] between_tools at xhigh or max returns a 400; Haiku 5.5 and Opus 5 disable thinking at high or lower.
    for entry in [m for m in catalog.available() if m.thinking.off_efforts is not None]:
        off = {"type": entry.thinking.off_type}
        too_high = [level for level in entry.effort.levels if level not in entry.thinking.off_efforts]
        err = bad_request(api, **params(model=entry.id, thinking=off, output_config={"effort": too_high[0]}))
        assert too_high[0] in err.api_message and entry.thinking.off_type in err.api_message
        allowed = entry.thinking.off_efforts[-1]
        assert api.create(**params(model=entry.id, thinking=off, output_config={"effort": allowed})).stop_reason == "end_turn"


def test_effort_is_refused_where_the_model_takes_none_or_not_that_level(api):
    # [EFF] effort is supported on listed models only; max and xhigh on some of them.
    without = _model_where(lambda m: m.effort is None)
    err = bad_request(api, **params(model=without.id, output_config={"effort": "low"}))
    check_error(err, 400, "invalid_request_error", say("effort_unsupported"))
    partial = _model_where(lambda m: m.effort is not None and "max" not in m.effort.levels)
    err = bad_request(api, **params(model=partial.id, output_config={"effort": "max"}))
    assert err.api_message.startswith("output_config.effort: 'max' is not supported")


def test_a_budget_must_be_at_least_1024_and_below_max_tokens(api):
    for budget, max_tokens in ((1023, 4096), (4096, 4096)):
        err = bad_request(api, **params(model=PREFILL_MODEL, max_tokens=max_tokens,
                                        thinking={"type": "enabled", "budget_tokens": budget}))
        check_error(err, 400, "invalid_request_error", say("thinking_budget"))


def test_unknown_keys_and_displays_in_thinking_are_refused(api):
    err = bad_request(api, **params(thinking={"type": "adaptive", "budget_tokens": 2048}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field="thinking.adaptive.budget_tokens"))
    err = bad_request(api, **params(thinking={"type": "adaptive", "display": "full"}))
    assert err.api_message.startswith("thinking.adaptive.display: Input should be 'summarized' or 'omitted'")


# -- forced tool use ------------------------------------------------------------------------------------------------

FORCED = {"type": "tool", "name": "get_weather"}


def test_forced_tool_use_is_refused_where_documented(api):
    # [S55] "Forced tool use returns an error" (tool_choice any or tool).
    entry = _model_where(lambda m: not m.forced_tool_use)
    for choice in ({"type": "any"}, FORCED):
        err = bad_request(api, **params(user(WEATHER_QUESTION), model=entry.id, tools=[WEATHER_TOOL], tool_choice=choice))
        check_error(err, 400, "invalid_request_error", say("forced_tool_use_unsupported"))
    assert api.create(**params(user(WEATHER_QUESTION), model=entry.id, tools=[WEATHER_TOOL])).stop_reason == "tool_use"


def test_a_forced_call_skips_the_default_thinking_step(api):
    message = api.create(**params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL], tool_choice=FORCED))
    assert _blocks(message) == ["tool_use"] and message.stop_reason == "tool_use"


def test_thinking_asked_for_and_forced_tool_use_do_not_mix(api):
    # Extended thinking docs: "Thinking isn't compatible with ... forced tool use."
    err = bad_request(api, **params(user(WEATHER_QUESTION), tools=[WEATHER_TOOL], tool_choice=FORCED,
                                    thinking={"type": "adaptive"}))
    check_error(err, 400, "invalid_request_error", say("thinking_forced_tool"))


# -- prefill and thinking ----------------------------------------------------------------------------------------


def test_prefill_with_thinking_on_is_refused_with_the_real_message(api):
    # [THINK] prefill is incompatible with thinking (real message quoted in n8n-io/n8n#22550).
    err = bad_request(api, **params(user(ANT_QUESTION), assistant("The answer is ("), model=PREFILL_MODEL,
                                    max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024}))
    check_error(err, 400, "invalid_request_error", say("thinking_first_block", index=1, found="text"))
    assert api.create(**params(user(ANT_QUESTION), assistant("The answer is ("), model=PREFILL_MODEL)).stop_reason == "end_turn"


def test_prefill_on_the_default_model_is_refused_before_thinking_matters(api):
    err = bad_request(api, **params(user(ANT_QUESTION), assistant("The answer is (")))
    check_error(err, 400, "invalid_request_error", say("no_prefill"))


def test_a_final_assistant_turn_with_thinking_while_thinking_is_off(api):
    first = api.create(**params(model=PREFILL_MODEL, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024}))
    err = bad_request(api, **params(user(HELLO), first.to_param(), model=PREFILL_MODEL))
    check_error(err, 400, "invalid_request_error", say("thinking_in_final_turn", index=1, block=0))


def test_budget_thinking_needs_the_thinking_block_back_before_tool_results(api):
    budget = {"type": "enabled", "budget_tokens": 1024}
    request = params(user(WEATHER_QUESTION), model=PREFILL_MODEL, max_tokens=4096, tools=[WEATHER_TOOL], thinking=budget)
    first = api.create(**request)
    call = next(b for b in first.content if b.type == "tool_use")
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": "18 degrees"}])
    kept = api.create(**dict(request, messages=[*request["messages"], first.to_param(), result]))
    assert kept.stop_reason == "end_turn"
    without_thinking = assistant([b.model_dump(exclude_none=True) for b in first.content if b.type != "thinking"])
    err = bad_request(api, **dict(request, messages=[*request["messages"], without_thinking, result]))
    check_error(err, 400, "invalid_request_error", say("thinking_first_block", index=1, found="text"))


# -- thinking blocks sent back ---------------------------------------------------------------------------------------


def _first_exchange(api, model: str = DEFAULT_MODEL, question: str = "Tell me about otters.") -> list[dict]:
    reply = api.create(**params(user(question), model=model, max_tokens=4096))
    return [user(question), reply.to_param()]


def test_thinking_blocks_go_back_unchanged_in_an_append_only_conversation(api):
    # [MIG] keep earlier turns unchanged when you send thinking blocks back.
    history = _first_exchange(api)
    second = api.create(**params(*history, user("And beavers?")))
    third = api.create(**params(*history, user("And beavers?"), second.to_param(), user("Thanks.")))
    assert third.stop_reason == "end_turn"


def test_editing_an_earlier_turn_invalidates_its_thinking_blocks(api):
    # [S55] thinking blocks are tied to the model and the conversation; [MIG] "modifying earlier turns invalidates
    # thinking blocks" (a 400, decided before any output; count_tokens runs the same check).
    assert catalog.get(DEFAULT_MODEL).thinking.binds_blocks  # the premise
    history = _first_exchange(api)
    edited = [user("Tell me about sea otters."), history[1], user("And beavers?")]
    err = bad_request(api, **params(*edited))
    check_error(err, 400, "invalid_request_error", say("thinking_bound_elsewhere", index=1, block=0))
    with pytest.raises(anthropic.BadRequestError):
        api.count_tokens(model=DEFAULT_MODEL, messages=edited)
    for change in ({"system": "Be brief."}, {"tools": [WEATHER_TOOL]}):  # the system prompt and tools are part of it
        with pytest.raises(anthropic.BadRequestError) as info:
            api.create(**params(*history, user("And beavers?"), **change))
        assert "bound to a different conversation" in info.value.api_message
    dropped = [history[0], assistant(text_of_param(history[1])), user("And beavers?")]
    assert api.create(**params(*dropped)).stop_reason == "end_turn"  # the fix: drop the blocks, keep the text


def text_of_param(turn: dict) -> str:
    return "".join(b.text for b in turn["content"] if b.type == "text")


def test_a_thinking_block_is_bound_to_the_model_that_wrote_it(api):
    other = _model_where(lambda m: m.thinking.binds_blocks and m.id != DEFAULT_MODEL and m.thinking.accepts("adaptive"))
    history = _first_exchange(api)
    err = bad_request(api, **params(*history, user("And beavers?"), model=other.id))
    assert "bound to a different conversation" in err.api_message


def test_models_that_do_not_bind_blocks_take_them_after_an_edit(api):
    entry = catalog.get(PREFILL_MODEL)
    assert not entry.thinking.binds_blocks  # the premise
    budget = {"type": "enabled", "budget_tokens": 1024}
    reply = api.create(**params(user("Tell me about otters."), model=PREFILL_MODEL, max_tokens=4096, thinking=budget))
    edited = [user("Tell me about sea otters."), reply.to_param(), user("And beavers?")]
    assert api.create(**params(*edited, model=PREFILL_MODEL, max_tokens=4096, thinking=budget)).stop_reason == "end_turn"


def test_a_signature_that_is_not_the_kits_is_refused(api):
    history = _first_exchange(api)
    forged = assistant([{"type": "thinking", "thinking": "", "signature": "c2lnbmF0dXJl"},
                        {"type": "text", "text": text_of_param(history[1])}])
    err = bad_request(api, **params(history[0], forged, user("And beavers?")))
    check_error(err, 400, "invalid_request_error", say("thinking_signature_invalid", index=1, block=0))


def test_redacted_thinking_blocks_are_accepted_back(api):
    redacted = assistant([{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"},
                          {"type": "text", "text": "Otters hold hands."}])
    assert api.create(**params(user("Tell me about otters."), redacted, user("And beavers?"))).stop_reason == "end_turn"


def test_signatures_say_plainly_whose_they_are():
    entry = catalog.get(DEFAULT_MODEL)
    signature = thinking_rules.sign(entry.resolved_id, "0" * 32)
    import base64  # noqa: PLC0415

    assert base64.b64decode(signature).startswith(b"kit-offline-thinking:")
    assert thinking_rules.read(signature).model == entry.resolved_id
    assert thinking_rules.read(signature[:-4] + "AAA=") is None  # altered: not the kit's any more


# -- tokenizers ----------------------------------------------------------------------------------------------------


def test_the_newer_tokenizer_counts_about_thirty_percent_more(api):
    # [NEW] "the same text counts as approximately 30% more tokens than on Claude Haiku 4.5"
    text = texts()["fallback"] * 20
    newer = api.count_tokens(model=DEFAULT_MODEL, messages=[user(text)])
    earlier = api.count_tokens(model=PREFILL_MODEL, messages=[user(text)])
    assert 1.15 < newer / earlier < 1.45
    assert newer == api.create(**params(user(text), **{"thinking": DISABLED})).usage.input_tokens
    assert earlier == api.create(**params(user(text), model=PREFILL_MODEL)).usage.input_tokens
