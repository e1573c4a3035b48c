"""Request validation: 400 invalid_request_error, 404 for unknown models, 401 without credentials.

Every expected message comes from ``helpers/offline/wording.py`` so that the tests and the
backend share one table of the API's wordings.
"""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from contract_support import (
    ANT_QUESTION,
    ID_SHAPE,
    LOOPBACK_KEY,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    assistant,
    check_error,
    params,
    text_of,
    user,
)
from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog
from helpers.offline.replies import texts
from helpers.offline.wording import say

# A request timeout of our own skips the SDK's local "streaming is required" check for
# large non-streaming max_tokens, so the request reaches the backend.
LONG_TIMEOUT = 60.0


def bad_request(api, **kwargs) -> anthropic.BadRequestError:
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**kwargs)
    return info.value


# -- required fields and unknown fields (low-level post: the SDK's typed args cannot omit them)


def test_low_level_post_sends_any_body_and_returns_the_message(api):
    reply = api.post("/v1/messages", params())
    assert reply["type"] == "message" and reply["role"] == "assistant"
    assert ID_SHAPE.match(reply["id"]) and reply["id"].startswith("msg_")


@pytest.mark.parametrize("missing", ["model", "max_tokens", "messages"])
def test_missing_required_field(api, missing):
    body = params()
    del body[missing]
    with pytest.raises(anthropic.BadRequestError) as info:
        api.post("/v1/messages", body)
    check_error(info.value, 400, "invalid_request_error", say("field_required", field=missing))


@pytest.mark.parametrize("field,value", [("temperature", 0.5), ("top_p", 0.9), ("top_k", 5), ("temperature", 1.0)])
def test_sampling_parameters_are_extra_inputs_under_the_current_version(api, field, value):
    err = bad_request(api, **params(extra_body={field: value}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field=field))


def test_unknown_top_level_field(api):
    err = bad_request(api, **params(extra_body={"frobnicate": True}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field="frobnicate"))


def test_unknown_field_is_reported_by_count_tokens_too(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.call(api.client.messages.count_tokens, model=DEFAULT_MODEL, messages=[user("hi")], extra_body={"max_tokens": 5})
    check_error(info.value, 400, "invalid_request_error", say("extra_input", field="max_tokens"))


# -- messages and content


def test_empty_messages_list(api):
    err = bad_request(api, model=DEFAULT_MODEL, max_tokens=16, messages=[])
    check_error(err, 400, "invalid_request_error", say("messages_empty"))


@pytest.mark.parametrize("empty", ["", []])
def test_empty_content_in_a_non_final_message(api, empty):
    err = bad_request(api, **params(user("Hi there."), assistant(empty), user("Are you there?")))
    check_error(err, 400, "invalid_request_error", say("non_empty_content", index=1))


def test_empty_content_in_the_first_user_message(api):
    err = bad_request(api, **params(user([]), assistant("Hi."), user("Hello?")))
    check_error(err, 400, "invalid_request_error", say("non_empty_content", index=0))


def test_empty_final_assistant_message_is_allowed_where_prefill_is(api):
    message = api.create(**params(user(ANT_QUESTION), assistant(""), model=PREFILL_MODEL))
    assert message.stop_reason == "end_turn"
    assert text_of(message)


def test_empty_text_block(api):
    err = bad_request(api, **params(user([{"type": "text", "text": "Hi"}, {"type": "text", "text": ""}])))
    check_error(err, 400, "invalid_request_error", say("empty_text_block"))


@pytest.mark.parametrize("role", ["robot", "User", ""])
def test_bad_role(api, role):
    err = bad_request(api, **params({"role": role, "content": "hello"}))
    check_error(err, 400, "invalid_request_error")
    assert err.api_message.startswith("messages.0.role: Input should be ")
    assert "'user'" in err.api_message and "'assistant'" in err.api_message


def test_bad_role_is_located_by_index(api):
    err = bad_request(api, **params(user("hi"), {"role": "bot", "content": "hello"}, user("again")))
    assert err.api_message.startswith("messages.1.role: Input should be ")


def test_first_message_may_be_an_assistant_turn(api):
    message = api.create(**params(assistant("Hi, I'm your tutor."), user("Tell me about otters.")))
    assert message.stop_reason == "end_turn"
    assert text_of(message) == texts()["fallback"].format(
        turns=2, messages_word="messages", system_note="", last_user="Tell me about otters."
    )


# -- rules that changed with anthropic-version 2026-10-21 (messages-api.md section 0)

OLD_VERSION = {"anthropic-version": "2023-06-01"}
DOCUMENT = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Otters hold hands."}}
CITATION = {"type": "char_location", "cited_text": "Otters", "document_index": 0, "document_title": None,
            "start_char_index": 0, "end_char_index": 6}


def test_document_block_in_an_assistant_message_is_rejected(api):
    conversation = (user("Quote the document."), assistant([{"type": "text", "text": "Here:"}, DOCUMENT]), user("Thanks."))
    err = bad_request(api, **params(*conversation))
    check_error(err, 400, "invalid_request_error", say("document_in_assistant", index=1, block=1))
    with pytest.raises(anthropic.BadRequestError):
        api.count_tokens(model=DEFAULT_MODEL, messages=list(conversation))


def test_document_block_in_a_user_message_is_fine(api):
    assert api.create(**params(user([DOCUMENT, {"type": "text", "text": "Summarise it."}]))).stop_reason == "end_turn"


def test_user_text_block_with_citations_is_rejected(api):
    block = {"type": "text", "text": "Otters hold hands.", "citations": [CITATION]}
    err = bad_request(api, **params(user([DOCUMENT]), assistant("Noted."), user([block])))
    check_error(err, 400, "invalid_request_error", say("citations_in_user_text", index=2, block=0))


def test_empty_citations_and_assistant_citations_are_fine(api):
    cited = assistant([{"type": "text", "text": "Otters hold hands.", "citations": [CITATION]}])
    message = api.create(**params(user([DOCUMENT, {"type": "text", "text": "Quote it.", "citations": []}]), cited, user("Thanks.")))
    assert message.stop_reason == "end_turn"


def test_the_older_version_still_takes_the_old_forms(api):
    conversation = (user([{"type": "text", "text": "Hi", "citations": [CITATION]}]), assistant([DOCUMENT]), user("Thanks."))
    message = api.create(**params(*conversation, model=PREFILL_MODEL), extra_headers=OLD_VERSION)
    assert message.stop_reason == "end_turn"


def test_sampling_parameters_under_the_older_version(api):
    entry = catalog.get(PREFILL_MODEL)
    assert entry.supports_temperature and not catalog.get(DEFAULT_MODEL).supports_temperature  # the premise
    accepted = api.create(**params(model=PREFILL_MODEL, extra_body={"temperature": 0.3}), extra_headers=OLD_VERSION)
    assert accepted.stop_reason == "end_turn"
    err = bad_request(api, **params(extra_body={"temperature": 0.3}), extra_headers=OLD_VERSION)
    check_error(err, 400, "invalid_request_error", say("temperature_deprecated"))
    err = bad_request(api, **params(model=PREFILL_MODEL, extra_body={"temperature": 0.3, "top_p": 0.9}), extra_headers=OLD_VERSION)
    check_error(err, 400, "invalid_request_error", say("temperature_and_top_p"))
    err = bad_request(api, **params(model=PREFILL_MODEL, extra_body={"temperature": 1.5}), extra_headers=OLD_VERSION)
    check_error(err, 400, "invalid_request_error", say("too_large", field="temperature", limit=1))


# -- limits


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, PREFILL_MODEL])
def test_max_tokens_above_the_model_limit_names_limit_and_resolved_id(api, model_id):
    entry = catalog.get(model_id)
    too_many = entry.max_output_tokens + 1
    err = bad_request(api, **params(model=model_id, max_tokens=too_many), timeout=LONG_TIMEOUT)
    expected = say("max_tokens_too_large", value=too_many, limit=entry.max_output_tokens, model=entry.resolved_id)
    check_error(err, 400, "invalid_request_error", expected)


def test_max_tokens_error_reports_the_snapshot_id_not_the_alias(api):
    entry = catalog.get(PREFILL_MODEL)
    assert entry.snapshot and entry.resolved_id != PREFILL_MODEL  # the premise of this test
    err = bad_request(api, **params(model=PREFILL_MODEL, max_tokens=entry.max_output_tokens + 1), timeout=LONG_TIMEOUT)
    assert err.api_message.endswith(f"for {entry.snapshot}")


def test_max_tokens_at_the_model_limit_is_accepted(api):
    entry = catalog.get(PREFILL_MODEL)
    message = api.create(**params(model=PREFILL_MODEL, max_tokens=entry.max_output_tokens), timeout=LONG_TIMEOUT)
    assert message.stop_reason == "end_turn"
    assert message.model == entry.resolved_id


def test_negative_max_tokens(api):
    err = bad_request(api, **params(max_tokens=-1))
    check_error(err, 400, "invalid_request_error", say("too_small", field="max_tokens", limit=0))


def test_prompt_longer_than_the_context_window(api):
    entry = catalog.get(PREFILL_MODEL)
    # The prompt's size, extrapolated from two short prompts that count_tokens measures (each "word " adds
    # the same number of tokens), so the test does not depend on whether count_tokens accepts the long one.
    short = api.count_tokens(model=PREFILL_MODEL, messages=[user("word " * 1000)])
    per_word = (api.count_tokens(model=PREFILL_MODEL, messages=[user("word " * 2000)]) - short) / 1000
    expected = round(short + per_word * 249_000)
    assert expected > entry.context_window
    err = bad_request(api, model=PREFILL_MODEL, max_tokens=16, messages=[user("word " * 250_000)])
    check_error(err, 400, "invalid_request_error", say("prompt_too_long", tokens=expected, limit=entry.context_window))


# -- prefill


def test_prefill_rejected_on_the_default_model(api):
    assert not catalog.get(DEFAULT_MODEL).supports_prefill  # the premise of this test
    err = bad_request(api, **params(user(ANT_QUESTION), assistant("The answer is (")))
    check_error(err, 400, "invalid_request_error", say("no_prefill"))


@pytest.mark.parametrize("prefill", ["The answer is ", "The answer is (\n", "Answer:\t"])
def test_prefill_ending_in_whitespace(api, prefill):
    assert catalog.get(PREFILL_MODEL).supports_prefill  # the premise of this test
    err = bad_request(api, **params(user(ANT_QUESTION), assistant(prefill), model=PREFILL_MODEL))
    check_error(err, 400, "invalid_request_error", say("trailing_whitespace"))


# -- tool_use / tool_result pairing


def test_tool_use_without_tool_result(api):
    call = {"type": "tool_use", "id": "toolu_01ValidationCheck", "name": "get_weather", "input": {"location": "Paris"}}
    err = bad_request(
        api, **params(user(WEATHER_QUESTION), assistant([call]), user("Never mind, thanks."), tools=[WEATHER_TOOL])
    )
    check_error(err, 400, "invalid_request_error", say("tool_use_without_result", index=1, ids=call["id"]))


def test_tool_result_without_tool_use(api):
    result = {"type": "tool_result", "tool_use_id": "toolu_01NoSuchCall", "content": "18 degrees"}
    err = bad_request(api, **params(user([result]), tools=[WEATHER_TOOL]))
    check_error(err, 400, "invalid_request_error", say("tool_result_without_use", index=0, block=0, id=result["tool_use_id"]))


# -- models


def _retired_ids() -> list[str]:
    ids = []
    for entry in catalog.retired():
        ids.extend(entry.all_ids)
    return ids


def test_there_are_retired_models_to_test():
    assert _retired_ids()


@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("model_id", [f"{DEFAULT_MODEL}-no-such-snapshot", "not-a-model"] + _retired_ids()[:3])
def test_unknown_or_retired_model_is_404(api, model_id):
    with pytest.raises(anthropic.NotFoundError) as info:
        api.create(**params(model=model_id))
    check_error(info.value, 404, "not_found_error", say("model_not_found", model=model_id))


@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("model_id", _retired_ids())
def test_every_retired_id_is_404_for_create_and_count_tokens(api, model_id):
    with pytest.raises(anthropic.NotFoundError) as info:
        api.create(**params(model=model_id))
    assert info.value.api_message == say("model_not_found", model=model_id)
    with pytest.raises(anthropic.NotFoundError):
        api.count_tokens(model=model_id, messages=[user("hi")])


# -- consecutive turns of one role are merged, not rejected


def test_consecutive_user_turns_are_merged(api):
    split = api.create(**params(user("First part of my question."), user("Second part of my question.")))
    joined = api.create(
        **params(user([{"type": "text", "text": "First part of my question."}, {"type": "text", "text": "Second part of my question."}]))
    )
    assert split.stop_reason == "end_turn"
    assert text_of(split) == text_of(joined)
    expected = texts()["fallback"].format(
        turns=1, messages_word="message", system_note="",
        last_user="First part of my question. Second part of my question.",
    )
    assert text_of(split) == expected


def test_consecutive_assistant_turns_are_merged(api):
    message = api.create(
        **params(user("Tell me about otters."), assistant("Otters are mammals."), assistant("They hold hands."), user("And beavers?"))
    )
    expected = texts()["fallback"].format(turns=3, messages_word="messages", system_note="", last_user="And beavers?")
    assert text_of(message) == expected


# -- loopback only: headers the SDK always sends, checked with raw HTTP


@pytest.fixture
def raw(loopback_url):
    with httpx2.Client(base_url=loopback_url, timeout=10) as client:
        yield client


VERSION = {"anthropic-version": "2026-10-21"}


def _raw_error(response, status: int, error_type: str, message: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body == {"type": "error", "error": {"type": error_type, "message": message}, "request_id": body["request_id"]}
    assert ID_SHAPE.match(body["request_id"]) and response.headers["request-id"] == body["request_id"]


def test_sdk_sends_the_version_the_backend_accepts():
    from anthropic._constants import ANTHROPIC_API_VERSION  # noqa: PLC0415

    assert ANTHROPIC_API_VERSION == VERSION["anthropic-version"]


def test_loopback_missing_credentials(raw):
    _raw_error(raw.post("/v1/messages", json=params(), headers=VERSION), 401, "authentication_error", say("missing_key"))


# ("Bearer " with its trailing space cannot be sent: h11 rejects a header value ending in whitespace.)
@pytest.mark.parametrize("authorization", ["Bearer", ""])
def test_loopback_empty_bearer(raw, authorization):
    response = raw.post("/v1/messages", json=params(), headers={**VERSION, "authorization": authorization})
    _raw_error(response, 401, "authentication_error", say("invalid_key"))


def test_loopback_empty_x_api_key(raw):
    response = raw.post("/v1/messages", json=params(), headers={**VERSION, "x-api-key": ""})
    _raw_error(response, 401, "authentication_error", say("invalid_key"))


def test_loopback_missing_version_header(raw):
    response = raw.post("/v1/messages", json=params(), headers={"authorization": f"Bearer {LOOPBACK_KEY}"})
    _raw_error(response, 400, "invalid_request_error", say("version_required"))


@pytest.mark.parametrize(
    "credentials", [{"x-api-key": LOOPBACK_KEY}, {"authorization": f"Bearer {LOOPBACK_KEY}"}], ids=["x-api-key", "bearer"]
)
def test_loopback_accepts_x_api_key_and_bearer(raw, credentials):
    response = raw.post("/v1/messages", json=params(), headers={**VERSION, **credentials})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "message" and body["stop_reason"] == "end_turn"
    assert ID_SHAPE.match(body["id"]) and ID_SHAPE.match(response.headers["request-id"])


def test_loopback_credentials_checked_on_every_route(raw):
    for method, path in (("POST", "/v1/messages/count_tokens"), ("GET", "/v1/models"), ("GET", f"/v1/models/{DEFAULT_MODEL}")):
        response = raw.request(method, path, json={"model": DEFAULT_MODEL, "messages": [user("hi")]} if method == "POST" else None, headers=VERSION)
        _raw_error(response, 401, "authentication_error", say("missing_key"))
