"""The HTTP boundary as the SDK sees it: retry hints, rate-limit headers, credentials, strict JSON, body size.

Sources: the errors page (https://platform.claude.com/docs/en/api/errors: error shapes, 413
``request_too_large`` over 32 MB), the rate-limits page (https://platform.claude.com/docs/en/api/rate-limits,
"Response headers": ``anthropic-ratelimit-*``, resets in RFC 3339), the SDK's retry rule
(``anthropic/_base_client.py``, ``_should_retry``: an ``x-should-retry`` header overrides the status).
Every test runs through the SDK's own clients, in process and against the loopback server.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import anthropic
import httpx2
import pytest

from contract_support import WEATHER_TOOL, Attempts, check_error, params, user
from helpers import DEFAULT_MODEL
from helpers.offline import faults, rate_limits
from helpers.offline.app import MAX_BODY_BYTES
from helpers.offline.wording import say

FAST = 0.01
FIXED_NOW = datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)  # any moment: nothing may depend on today's date


def _strict(text: bytes) -> object:
    """Parse JSON as every strict parser does: ``NaN`` and ``Infinity`` are not JSON."""
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a response body: not JSON")
    return json.loads(text, parse_constant=refuse)


# -- x-should-retry -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error_class", "status", "retry"),
    [
        ("rate_limit", anthropic.RateLimitError, 429, "true"),
        ("api_error", anthropic.InternalServerError, 500, "true"),
        ("gateway_timeout", anthropic.GatewayTimeoutError, 504, "true"),
        ("overloaded", anthropic.OverloadedError, 529, "true"),
        ("authentication", anthropic.AuthenticationError, 401, "false"),
        ("permission", anthropic.PermissionDeniedError, 403, "false"),
        ("billing", anthropic.PaymentRequiredError, 402, "false"),
    ],
)
def test_injected_errors_say_whether_to_retry(api, fault, error_class, status, retry):
    with faults(fault, retry_after=FAST):
        with pytest.raises(error_class) as info:
            api.create(**params())
    assert info.value.status_code == status
    assert info.value.response.headers["x-should-retry"] == retry


def test_invalid_request_says_do_not_retry(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(max_tokens=-1))
    assert info.value.response.headers["x-should-retry"] == "false"


def test_unknown_model_says_do_not_retry(api):
    with pytest.raises(anthropic.NotFoundError) as info:
        api.create(**params(model="claude-no-such-model"))
    assert info.value.response.headers["x-should-retry"] == "false"


def test_the_sdk_still_retries_a_rate_limit_that_says_retry(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=2)
    with faults("rate_limit", times=2, retry_after=FAST):
        message = client.create(**params())
    assert message.stop_reason == "end_turn"
    assert attempts.statuses == [429, 429, 200]


def test_the_sdk_does_not_retry_an_error_that_says_do_not_retry(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=2)
    with faults("permission", times=3):
        with pytest.raises(anthropic.PermissionDeniedError):
            client.create(**params())
    assert attempts.statuses == [403]


# -- anthropic-ratelimit-* --------------------------------------------------------------------------------------------

BUCKETS = ("requests", "tokens", "input-tokens", "output-tokens")


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(rate_limits, "clock", FIXED_NOW.timestamp)
    return FIXED_NOW


def _reset(headers, bucket: str) -> datetime:
    value = headers[f"anthropic-ratelimit-{bucket}-reset"]
    assert value.endswith("Z"), value  # RFC 3339, UTC
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check_rate_limits(headers, usage, now: datetime) -> None:
    used = {
        "requests": 1,
        "input-tokens": usage.input_tokens,
        "output-tokens": usage.output_tokens,
        "tokens": usage.input_tokens + usage.output_tokens,
    }
    for bucket in BUCKETS:
        limit = int(headers[f"anthropic-ratelimit-{bucket}-limit"])
        remaining = int(headers[f"anthropic-ratelimit-{bucket}-remaining"])
        assert limit > 0 and remaining == limit - used[bucket], (bucket, limit, remaining, used[bucket])
        reset = _reset(headers, bucket)
        assert now < reset <= now + timedelta(seconds=60), (bucket, reset)  # within the one-minute window
    tokens = int(headers["anthropic-ratelimit-tokens-limit"])
    assert tokens == int(headers["anthropic-ratelimit-input-tokens-limit"]) + int(headers["anthropic-ratelimit-output-tokens-limit"])


def test_a_message_carries_rate_limit_headers(api, fixed_clock):
    response, message = api.create_raw(**params())
    _check_rate_limits(response.headers, message.usage, fixed_clock)


def test_rate_limit_headers_are_deterministic(api, fixed_clock):
    first, _ = api.create_raw(**params())
    second, _ = api.create_raw(**params())
    names = [f"anthropic-ratelimit-{bucket}-{part}" for bucket in BUCKETS for part in ("limit", "remaining", "reset")]
    assert [first.headers[n] for n in names] == [second.headers[n] for n in names]


def test_a_stream_carries_rate_limit_headers(api, fixed_clock):
    if not api.is_async:
        with api.client.messages.stream(**params()) as stream:
            headers = stream.response.headers
            final = stream.get_final_message()
    else:
        async def consume():
            async with api.client.messages.stream(**params()) as stream:
                return stream.response.headers, await stream.get_final_message()
        headers, final = api.run(consume())
    _check_rate_limits(headers, final.usage, fixed_clock)


def test_errors_carry_no_rate_limit_headers(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(max_tokens=-1))
    assert not [name for name in info.value.response.headers if name.startswith("anthropic-ratelimit-")]


# -- credentials: the key is a Bearer token (or x-api-key); other schemes carry none -----------------------------------


def test_basic_authorization_is_not_a_key(api):
    client = api.derive(default_headers={"authorization": "Basic a2l0OmtpdA=="})
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.create(**params())
    check_error(info.value, 401, "authentication_error", say("missing_key"))
    assert info.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("scheme", ["Token", "Digest", "ApiKey"])
def test_other_authorization_schemes_are_not_keys(api, scheme):
    client = api.derive(default_headers={"authorization": f"{scheme} kit-test-key"})
    with pytest.raises(anthropic.AuthenticationError):
        client.count_tokens(model=DEFAULT_MODEL, messages=[user("hi")])


def test_x_api_key_still_counts_beside_another_scheme(api):
    client = api.derive(default_headers={"authorization": "Basic a2l0OmtpdA==", "x-api-key": "kit-test-key"})
    assert client.create(**params()).stop_reason == "end_turn"


def test_lower_case_bearer_is_a_bearer_token(api):
    client = api.derive(default_headers={"authorization": "bearer kit-test-key"})
    assert client.create(**params()).stop_reason == "end_turn"


# -- strict JSON, in and out ----------------------------------------------------------------------------------------------

NAN_TOOL_BODY = (
    '{"model": "%s", "max_tokens": 300, "messages": [{"role": "user", "content": "Use the tool"}],'
    ' "tool_choice": {"type": "any"}, "tools": [{"name": "measure", "description": "Measure something.",'
    ' "input_schema": {"type": "object", "properties": {"x": {"type": "number", "default": %s}}, "required": ["x"]}}]}'
)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_json_numbers_in_a_request_are_invalid_json(api, constant):
    body = (NAN_TOOL_BODY % (DEFAULT_MODEL, constant)).encode()
    with pytest.raises(anthropic.BadRequestError) as info:
        api.call(api.client.post, "/v1/messages", content=body, cast_to=object,
                 options={"headers": {"content-type": "application/json"}})
    check_error(info.value, 400, "invalid_request_error", say("invalid_json"))
    _strict(info.value.response.content)


@pytest.mark.parametrize("constant", ["NaN", "Infinity"])
def test_non_json_numbers_in_count_tokens_are_invalid_json(api, constant):
    body = json.dumps({"model": DEFAULT_MODEL, "messages": [user("hi")], "tools": [WEATHER_TOOL]})
    body = body.replace('"Get the current weather in a given location."', constant).encode()
    with pytest.raises(anthropic.BadRequestError) as info:
        api.call(api.client.post, "/v1/messages/count_tokens", content=body, cast_to=object,
                 options={"headers": {"content-type": "application/json"}})
    check_error(info.value, 400, "invalid_request_error", say("invalid_json"))


def test_a_tool_input_from_schema_defaults_is_strict_json(api):
    body = (NAN_TOOL_BODY % (DEFAULT_MODEL, "2.5")).encode()
    response = api.call(api.client.post, "/v1/messages", content=body, cast_to=httpx2.Response,
                        options={"headers": {"content-type": "application/json"}})
    assert response.status_code == 200
    payload = _strict(response.content)
    tool_inputs = [block["input"] for block in payload["content"] if block["type"] == "tool_use"]
    assert tool_inputs and all(isinstance(value, (int, float)) for entry in tool_inputs for value in entry.values())


# -- body size: 413 request_too_large over 32 MB, before the body is parsed -----------------------------------------------


def test_a_body_over_32_mb_gets_413(api):
    text = "x" * (MAX_BODY_BYTES + 1)  # the JSON around it makes the body larger still
    with pytest.raises(anthropic.RequestTooLargeError) as info:
        api.create(**params(user(text)))
    check_error(info.value, 413, "request_too_large", say("request_too_large"))
    assert info.value.response.headers["x-should-retry"] == "false"


def test_count_tokens_over_32_mb_gets_413(api):
    if api.variant not in ("sync-inprocess", "sync-loopback"):
        pytest.skip("one client per adapter is enough for a second 33 MB body")
    with pytest.raises(anthropic.RequestTooLargeError):
        api.count_tokens(model=DEFAULT_MODEL, messages=[user("x" * (MAX_BODY_BYTES + 1))])


def test_a_body_of_exactly_32_mb_is_read_and_validated(api):
    if api.variant not in ("sync-inprocess", "sync-loopback"):
        pytest.skip("one client per adapter is enough for a 32 MB body")
    filler = json.dumps(params())[:-1] + ', "padding": "'
    body = (filler + "x" * (MAX_BODY_BYTES - len(filler) - 2) + '"}').encode()
    assert len(body) == MAX_BODY_BYTES
    with pytest.raises(anthropic.BadRequestError) as info:  # read and parsed: the unknown field is reported
        api.call(api.client.post, "/v1/messages", content=body, cast_to=object,
                 options={"headers": {"content-type": "application/json"}})
    check_error(info.value, 400, "invalid_request_error", say("extra_input", field="padding"))


def test_a_reply_json_cannot_hold_is_a_500_never_a_nan(api, monkeypatch):
    """Should the backend ever produce a value JSON cannot hold, the client gets the API's 500, not a NaN."""
    from helpers.offline import respond  # noqa: PLC0415

    real = respond.message

    def with_nan(request, *args, **kwargs):
        message = real(request, *args, **kwargs)
        message["usage"]["output_tokens_details"] = {"ratio": float("nan")}
        return message

    monkeypatch.setattr(respond, "message", with_nan)
    for stream in (False, True):
        with pytest.raises(anthropic.InternalServerError) as info:
            if stream:
                api.stream_events(**params())
            else:
                api.create(**params())
        check_error(info.value, 500, "api_error")
        _strict(info.value.response.content)
        assert info.value.response.headers["x-should-retry"] == "true"
