"""Injected faults meet the SDK's real retry loop, error classes and stream parser.

Attempts are counted by an SDK middleware (``Attempts``), which runs once per HTTP
attempt inside the SDK's retry loop, and by the fault plan itself (how many calls took
a fault). Every retry waits ``retry-after: 0.01`` seconds, so retrying costs little time.
"""

from __future__ import annotations

import time

import anthropic
import pytest

from contract_support import Attempts, check_error, params, text_of
from helpers.offline import faults
from helpers.offline.wording import say

FAST = 0.01


def test_rate_limit_sends_retry_after(api):
    with faults("rate_limit", retry_after=FAST):
        with pytest.raises(anthropic.RateLimitError) as info:
            api.create(**params())
    err = info.value
    check_error(err, 429, "rate_limit_error", say("rate_limited"))
    assert err.response.headers["retry-after"] == "0.01"
    assert float(err.response.headers["retry-after"]) == FAST


def test_rate_limit_default_retry_after_is_a_positive_number(api):
    with faults("rate_limit"):
        with pytest.raises(anthropic.RateLimitError) as info:
            api.create(**params())
    assert float(info.value.response.headers["retry-after"]) > 0


def test_two_rate_limits_then_success_after_three_attempts(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=2)
    with faults("rate_limit", times=2, retry_after=FAST) as plan:
        message = client.create(**params())
    assert message.stop_reason == "end_turn"
    assert plan.remaining == 0
    assert attempts.tries == [0, 1, 2]
    assert attempts.retry_counts == ["0", "1", "2"]
    assert attempts.statuses == [429, 429, 200]


def test_always_rate_limited_raises_after_three_attempts(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=2)
    started = time.monotonic()
    with faults("rate_limit", times=10, retry_after=FAST) as plan:
        with pytest.raises(anthropic.RateLimitError) as info:
            client.create(**params())
        assert plan.remaining == 7  # the backend met exactly three calls
    assert attempts.statuses == [429, 429, 429]
    assert attempts.retry_counts == ["0", "1", "2"]
    assert time.monotonic() - started < 2  # retry-after (0.01 s) was honoured, not the 0.5 s+ backoff
    check_error(info.value, 429, "rate_limit_error")


def test_max_retries_zero_means_one_attempt(api):
    attempts = Attempts()
    client = api.with_middleware(attempts)
    with faults("rate_limit", times=3, retry_after=FAST) as plan:
        with pytest.raises(anthropic.RateLimitError):
            client.create(**params())
        assert plan.remaining == 2
    assert attempts.tries == [0]


def test_overloaded_is_529(api):
    assert issubclass(anthropic.OverloadedError, anthropic.InternalServerError)
    with faults("overloaded"):
        with pytest.raises(anthropic.OverloadedError) as info:
            api.create(**params())
    check_error(info.value, 529, "overloaded_error", say("overloaded"))


def test_overloaded_is_retried_like_any_5xx(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=2)
    with faults("overloaded", times=1, retry_after=FAST):
        message = client.create(**params())
    assert message.stop_reason == "end_turn"
    assert attempts.statuses == [529, 200]


def test_api_error_is_500(api):
    with faults("api_error"):
        with pytest.raises(anthropic.InternalServerError) as info:
            api.create(**params())
    assert not isinstance(info.value, anthropic.OverloadedError)
    check_error(info.value, 500, "api_error", say("api_error"))


@pytest.mark.parametrize(
    "kind,error_class,status,error_type",
    [
        ("gateway_timeout", anthropic.GatewayTimeoutError, 504, "timeout_error"),
        ("authentication", anthropic.AuthenticationError, 401, "authentication_error"),
        ("permission", anthropic.PermissionDeniedError, 403, "permission_error"),
        ("billing", anthropic.PaymentRequiredError, 402, "billing_error"),
    ],
)
def test_other_status_faults(api, kind, error_class, status, error_type):
    with faults(kind):
        with pytest.raises(error_class) as info:
            api.create(**params())
    check_error(info.value, status, error_type)


def test_faults_reach_count_tokens_and_models_too(api):
    with faults("overloaded", times=2):
        with pytest.raises(anthropic.OverloadedError):
            api.count_tokens(model=params()["model"], messages=params()["messages"])
        with pytest.raises(anthropic.OverloadedError):
            api.call(api.client.models.retrieve, params()["model"])


def test_fault_is_over_after_its_block(api):
    with faults("overloaded", times=5):
        with pytest.raises(anthropic.OverloadedError):
            api.create(**params())
    assert api.create(**params()).stop_reason == "end_turn"


def test_timeout(api):
    client = api.derive(timeout=0.3)
    started = time.monotonic()
    with faults("timeout", stall_s=1) as plan:
        with pytest.raises(anthropic.APITimeoutError):
            client.create(**params())
    elapsed = time.monotonic() - started
    assert plan.remaining == 0
    assert elapsed < 0.9  # the client gave up at its own timeout, before the 1 s stall ended
    if api.loopback:
        assert elapsed >= 0.25


def test_timeout_is_retried(api):
    attempts = Attempts()
    client = api.with_middleware(attempts, max_retries=1, timeout=0.3)
    with faults("timeout", times=1, stall_s=1) as plan:
        message = client.create(**params())
    assert message.stop_reason == "end_turn"
    assert plan.remaining == 0
    assert attempts.tries == [0, 1]  # the first attempt timed out (no response), the second succeeded
    assert attempts.statuses == [200]


def test_disconnect(api):
    with faults("disconnect") as plan:
        with pytest.raises(anthropic.APIConnectionError) as info:
            api.create(**params())
    assert not isinstance(info.value, anthropic.APITimeoutError)
    assert plan.remaining == 0


def test_stream_error_after_some_text(api):
    full = text_of(api.create(**params()))
    with faults("stream_error") as plan:
        received, error = api.stream_text_until_error(**params())
    assert plan.remaining == 0
    assert isinstance(error, anthropic.APIStatusError)
    assert received, "some text arrives before the error event"
    assert full.startswith(received) and received != full
    assert error.body["error"] == {"type": "overloaded_error", "message": say("overloaded")}
    assert error.status_code == 200  # the HTTP status of the stream that carried the error event


def test_stream_error_via_create_stream(api):
    with faults("stream_error", after_deltas=1):
        with pytest.raises(anthropic.APIStatusError):
            api.stream_events(**params())


def test_stream_error_is_not_taken_by_non_streaming_calls(api):
    with faults("stream_error") as plan:
        assert api.create(**params()).stop_reason == "end_turn"
        assert plan.remaining == 1


def test_a_stream_error_fires_even_after_the_last_content_delta():
    """A fault that lets more deltas through than the reply has still breaks the stream, before message_delta."""
    from helpers import DEFAULT_MODEL, connect
    from helpers.offline import faults

    client = connect("offline", quiet=True, max_retries=0)
    with faults("stream_error", after_deltas=10_000) as plan, pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model=DEFAULT_MODEL, max_tokens=20, messages=[{"role": "user", "content": "Hello"}]) as s:
            "".join(s.text_stream)
    assert plan.remaining == 0
