"""Strict request checks the API makes and the kit makes too: images, cache breakpoints, tool names,
unknown keys inside blocks, tool_choice and metadata, and beta-only fields.

Each of these is a 400 from the real API (messages-api.md section 11); the expected messages come from
``helpers/offline/wording.py``, which names the public report each wording was quoted from.
"""

from __future__ import annotations

import base64

import anthropic
import pytest

import sample_media
from contract_support import WEATHER_QUESTION, WEATHER_TOOL, assistant, check_error, params, user
from helpers import DEFAULT_MODEL
from helpers.offline.wording import say

PNG = sample_media.b64(sample_media.png(4, 3))
JPEG = sample_media.b64(sample_media.jpeg(4, 3))
IMAGE_TYPES = "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"


def bad_request(api, **kwargs) -> anthropic.BadRequestError:
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**kwargs)
    return info.value


def image(data: str, media_type: str) -> dict:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def describe(*blocks: dict) -> dict:
    return user([*blocks, {"type": "text", "text": "Describe this image."}])


# -- images (https://platform.claude.com/docs/en/build-with-claude/vision: jpeg, png, gif, webp) -------------------


def test_a_supported_image_is_accepted(api):
    assert api.create(**params(describe(image(PNG, "image/png")))).stop_reason == "end_turn"


@pytest.mark.parametrize("media_type", ["image/bmp", "image/svg+xml", "application/pdf"])
def test_an_unsupported_media_type_is_refused(api, media_type):
    # anthropics/claude-code#8184 quotes this message from the API.
    err = bad_request(api, **params(describe(image(PNG, media_type))))
    check_error(err, 400, "invalid_request_error",
                say("bad_literal", field="messages.0.content.0.image.source.base64.media_type", options=IMAGE_TYPES))


def test_bytes_that_do_not_match_the_declared_type_are_refused(api):
    # vybestack/llxprt-code#2130 quotes this message from the API.
    err = bad_request(api, **params(describe(image(PNG, "image/jpeg"))))
    check_error(err, 400, "invalid_request_error", say(
        "image_type_mismatch", field="messages.0.content.0.image.source.base64", declared="image/jpeg", actual="image/png"))
    assert api.create(**params(describe(image(JPEG, "image/jpeg")))).stop_reason == "end_turn"


@pytest.mark.parametrize("data", ["not base64 at all!", base64.b64encode(b"plain text, not an image").decode()])
def test_data_that_is_no_image_is_refused(api, data):
    err = bad_request(api, **params(describe(image(data, "image/png"))))
    check_error(err, 400, "invalid_request_error", say("image_invalid"))


def test_images_inside_tool_results_are_checked_at_their_own_path(api):
    call = {"type": "tool_use", "id": "toolu_01StrictImage", "name": "get_weather", "input": {"location": "Paris"}}
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": [image(PNG, "image/tiff")]}
    err = bad_request(api, **params(user(WEATHER_QUESTION), assistant([call]), user([result]), tools=[WEATHER_TOOL]))
    assert err.api_message.startswith("messages.2.content.0.tool_result.content.0.image.source.base64.media_type: ")


# -- cache breakpoints (https://platform.claude.com/docs/en/build-with-claude/prompt-caching) ----------------------


def _cached(text: str, **cache) -> dict:
    return {"type": "text", "text": text, "cache_control": {"type": "ephemeral", **cache}}


def test_four_cache_breakpoints_are_the_most(api):
    four = [_cached(f"Part {n}.") for n in range(4)]
    assert api.create(**params(user(four))).stop_reason == "end_turn"
    err = bad_request(api, **params(user([*four, _cached("Part 5.")])))
    check_error(err, 400, "invalid_request_error", say("cache_control_limit", found=5))


def test_breakpoints_in_system_tools_and_the_request_count_too(api):
    system = [_cached("You are terse."), _cached("Answer in English.")]
    tool = dict(WEATHER_TOOL, cache_control={"type": "ephemeral"})
    err = bad_request(api, **params(user([_cached("Hi.")]), system=system, tools=[tool],
                                    extra_body={"cache_control": {"type": "ephemeral"}}))
    check_error(err, 400, "invalid_request_error", say("cache_control_limit", found=5))


@pytest.mark.parametrize("ttl", ["10m", "2h", "1d"])
def test_a_ttl_other_than_5m_or_1h_is_refused(api, ttl):
    err = bad_request(api, **params(user([_cached("Hi.", ttl=ttl)])))
    check_error(err, 400, "invalid_request_error",
                say("bad_literal", field="messages.0.content.0.text.cache_control.ephemeral.ttl", options="'5m' or '1h'"))


@pytest.mark.parametrize("ttl", ["5m", "1h"])
def test_the_two_ttls_are_accepted(api, ttl):
    assert api.create(**params(user([_cached("Hi.", ttl=ttl)]))).stop_reason == "end_turn"


# -- tool names (modelcontextprotocol/modelcontextprotocol#1345 quotes the message) -------------------------------


@pytest.mark.parametrize("name", ["get weather", "get.weather", "météo", "x" * 129, ""])
def test_a_tool_name_outside_the_pattern_is_refused(api, name):
    err = bad_request(api, **params(tools=[dict(WEATHER_TOOL, name=name)]))
    check_error(err, 400, "invalid_request_error", say("tool_name_pattern", field="tools.0.custom.name"))


def test_a_tool_name_inside_the_pattern_is_accepted(api):
    assert api.create(**params(tools=[dict(WEATHER_TOOL, name="get_weather-v2")])).stop_reason == "end_turn"


# -- unknown keys ("messages.N.content.M.<type>.<key>: Extra inputs are not permitted") ----------------------------


@pytest.mark.parametrize("block,where", [
    ({"type": "text", "text": "Hi", "colour": "red"}, "messages.0.content.0.text.colour"),
    (dict(image(PNG, "image/png"), alt="a dot"), "messages.0.content.0.image.alt"),
])
def test_unknown_keys_inside_blocks_are_refused(api, block, where):
    err = bad_request(api, **params(user([block])))
    check_error(err, 400, "invalid_request_error", say("extra_input", field=where))


def test_unknown_keys_in_tool_choice_and_metadata_are_refused(api):
    err = bad_request(api, **params(tools=[WEATHER_TOOL], tool_choice={"type": "auto", "parallel": False}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field="tool_choice.auto.parallel"))
    err = bad_request(api, **params(metadata={"user_id": "learner-1", "session": "x"}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field="metadata.session"))
    ok = params(tools=[WEATHER_TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True},
                metadata={"user_id": "learner-1"})
    assert api.create(**ok).stop_reason == "end_turn"


# -- beta-only fields need their beta header ------------------------------------------------------------------------

CONTEXT_MANAGEMENT = {"edits": [{"type": "clear_tool_uses_20250919"}]}


def test_a_beta_field_without_its_beta_header_is_unknown(api):
    err = bad_request(api, **params(extra_body={"context_management": CONTEXT_MANAGEMENT}))
    check_error(err, 400, "invalid_request_error", say("extra_input", field="context_management"))


def test_a_beta_field_with_its_beta_header_is_taken(api):
    beta = {"anthropic-beta": "context-management-2025-06-27"}
    message = api.create(**params(extra_body={"context_management": CONTEXT_MANAGEMENT}), extra_headers=beta)
    assert message.stop_reason == "end_turn" and message.model == DEFAULT_MODEL
