"""The usage log records every call made through connect(), offline and live, sync and async, streamed or not."""

from __future__ import annotations

import asyncio

import anthropic
import httpx2
import pytest

from helpers import DEFAULT_MODEL, aconnect, catalog, connect, usage, usage_log
from helpers.offline import faults, running

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(autouse=True)
def empty_log():
    usage_log.clear()
    yield
    usage_log.clear()


def test_create_is_recorded_with_tokens_cost_and_request():
    message = connect("offline", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=HELLO)
    [record] = usage_log.records
    assert record.message_id == message.id and record.request_id == message._request_id
    assert (record.input_tokens, record.output_tokens) == (message.usage.input_tokens, message.usage.output_tokens)
    assert record.stop_reason == message.stop_reason and record.offline and record.kind == "create"
    assert record.cost_usd == pytest.approx(catalog.cost_usd(DEFAULT_MODEL, record.input_tokens, record.output_tokens))
    assert record.request["messages"] == HELLO and record.latency_s > 0


def test_streams_are_recorded_when_they_end():
    client = connect("offline", quiet=True)
    with client.messages.stream(model=DEFAULT_MODEL, max_tokens=25, messages=HELLO) as stream:
        final = stream.get_final_message()
    [record] = usage_log.records
    assert record.kind == "stream" and record.message_id == final.id
    assert record.output_tokens == final.usage.output_tokens == 25 and record.stop_reason == "max_tokens"


def test_count_tokens_is_recorded_without_cost():
    client = connect("offline", quiet=True)
    counted = client.messages.count_tokens(model=DEFAULT_MODEL, messages=HELLO)
    [record] = usage_log.records
    assert record.kind == "count_tokens" and record.input_tokens == counted.input_tokens and record.cost_usd == 0


def test_async_and_live_calls_are_recorded(monkeypatch):
    async def two_calls(client):
        await client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
        async with client.messages.stream(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO) as stream:
            await stream.get_final_message()

    asyncio.run(two_calls(aconnect("offline", quiet=True)))
    with running() as url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "kit-usage-test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        connect("live", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert [(r.kind, r.offline) for r in usage_log.records] == [("create", True), ("stream", True), ("create", False)]


def test_every_attempt_is_a_record_and_failures_cost_nothing():
    client = connect("offline", quiet=True, max_retries=2)
    with faults("rate_limit", times=2, retry_after=0.01):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert [r.status for r in usage_log.records] == [429, 429, 200]
    assert [r.cost_usd > 0 for r in usage_log.records] == [False, False, True]


def test_listeners_hear_each_record_and_clear():
    heard = []
    unsubscribe = usage_log.subscribe(heard.append)
    connect("offline", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    usage_log.clear()
    unsubscribe()
    connect("offline", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert len(heard) == 2 and heard[0].status == 200 and heard[1] is None


def test_errors_are_recorded_with_their_status():
    client = connect("offline", quiet=True)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=[])
    [record] = usage_log.records
    assert record.status == 400 and record.stop_reason is None and record.cost_usd == 0


def test_a_stream_refused_before_it_began_is_still_a_stream_call():
    client = connect("offline", quiet=True, max_retries=0)
    with faults("rate_limit", retry_after=0.01), pytest.raises(anthropic.RateLimitError):
        with client.messages.stream(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO) as stream:
            stream.get_final_message()
    [record] = usage_log.records
    assert (record.status, record.kind) == (429, "stream")


def test_gathered_streams_are_logged_in_the_order_they_started():
    async def one(client, content):
        async with client.messages.stream(model=DEFAULT_MODEL, max_tokens=60, messages=[{"role": "user", "content": content}]) as stream:
            return await stream.get_final_message()

    async def both():
        client = aconnect("offline", quiet=True)
        return await asyncio.gather(one(client, "Hello"), one(client, "Count to ten"))

    first, second = asyncio.run(both())
    assert [r.message_id for r in usage_log.records] == [first.id, second.id]


def test_a_record_that_ends_late_is_listed_where_its_call_started():
    from helpers.usage import Record, UsageLog

    log = UsageLog()
    made = lambda name, sent_at: usage._seal(Record(time=None, path="/v1/messages", status=200, model=None, request_id=name, sent_at=sent_at))  # noqa: E731
    for name, sent_at in (("a", 1.0), ("c", 3.0), ("b", 2.0)):
        log._add(made(name, sent_at))
    assert [r.request_id for r in log.records] == ["a", "b", "c"]


@pytest.mark.parametrize("tamper", [
    lambda record: record.response["usage"].update(output_tokens=float(record.response["usage"]["output_tokens"])),
    lambda record: record.response["content"][0].update(type=record.response["content"][0]["type"] + " "),
    lambda record: record.response.update(stop_sequence=False),  # None and False, 1 and True: not the same
    lambda record: object.__setattr__(record, "offline", 1),
    lambda record: object.__setattr__(record, "latency_s", record.latency_s + 1e-12),
    lambda record: object.__setattr__(record, "text_deltas", [5]),
])
def test_a_sealed_record_changed_in_place_no_longer_matches(tamper):
    connect("offline", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=HELLO)
    [record] = usage_log.records
    assert usage.sealed_by_kit(record) and usage.sealed_by_kit(record)  # checking it changes nothing
    tamper(record)
    assert not usage.sealed_by_kit(record)
    log = usage.UsageLog()
    with pytest.raises(PermissionError):
        log._add(record)


def test_a_listener_that_raises_never_repeats_or_breaks_a_call():
    """An error inside the transport looks like a network failure to the SDK, which would send the request again."""
    from call_counter import CallCounter

    from helpers.usage import RecordingWarning

    counter = CallCounter()
    client = connect("offline", quiet=True, middleware=[counter])  # the SDK's default: two retries

    def broken(record):
        raise ValueError("a bug in a listener")

    unsubscribe = usage_log.subscribe(broken)
    try:
        with pytest.warns(RecordingWarning, match="a bug in a listener"):
            message = client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
        with pytest.warns(RecordingWarning, match="a bug in a listener"):
            with client.messages.stream(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO) as stream:
                final = stream.get_final_message()
        with pytest.warns(RecordingWarning, match="a bug in a listener"):
            usage_log.clear()
    finally:
        unsubscribe()
    assert counter.sent == 2 and message.stop_reason and final.stop_reason
    assert len(usage_log) == 0


def test_a_response_the_log_cannot_read_is_not_sent_again(monkeypatch):
    from call_counter import CallCounter

    from helpers.usage import RecordingWarning

    def unreadable(*args, **kwargs):
        raise KeyError("usage")

    monkeypatch.setattr(usage, "_record", unreadable)
    counter = CallCounter()
    client = connect("offline", quiet=True, middleware=[counter])
    with pytest.warns(RecordingWarning, match="could not record"):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert counter.sent == 1 and len(usage_log) == 0


def test_prompt_cache_writes_and_reads_are_priced():
    from helpers.usage import _record

    price = catalog.get(DEFAULT_MODEL).price
    usage = {"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 2000,
             "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400}}
    response = {"type": "message", "id": "msg_1", "model": DEFAULT_MODEL, "usage": usage}
    record = _record("/v1/messages", b"{}", 200, response, httpx2.Headers(), 0.0, True, False)
    expected = ((100 + 600 * 1.25 + 400 * 2 + 2000 * 0.1) * price.input + 10 * price.output) / 1_000_000
    assert record.cost_usd == pytest.approx(expected)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_batchs_results_are_logged_once_each_at_the_batch_price(use_async):
    from helpers.offline import batches

    batches.forget()
    request = lambda i, **p: {"custom_id": i, "params": {"model": DEFAULT_MODEL, "max_tokens": 60,  # noqa: E731
                                                        "messages": [{"role": "user", "content": f"Hi {i}"}], **p}}
    requests = [request("a"), request("b"), request("too-long", max_tokens=10**7)]

    async def read_async(client, batch_id):
        return [line async for line in await client.messages.batches.results(batch_id)]

    if use_async:
        client = aconnect("offline", quiet=True)
        made = asyncio.run(client.messages.batches.create(requests=requests))
        batches.advance(batches.PROCESSING_S)
        lines = asyncio.run(read_async(client, made.id))
        again = asyncio.run(read_async(client, made.id))
    else:
        client = connect("offline", quiet=True)
        made = client.messages.batches.create(requests=requests)
        batches.advance(batches.PROCESSING_S)
        lines = list(client.messages.batches.results(made.id))
        again = list(client.messages.batches.results(made.id))
    batches.forget()
    succeeded = [line.result.message for line in lines if line.result.type == "succeeded"]
    assert len(succeeded) == 2 and len(again) == 3
    records = [r for r in usage_log.records if r.kind == "batch"]
    assert sorted(r.message_id for r in records) == sorted(m.id for m in succeeded)  # read twice, logged once
    for record in records:
        message = next(m for m in succeeded if m.id == record.message_id)
        standard = catalog.cost_usd(message.model, message.usage.input_tokens, message.usage.output_tokens)
        assert record.cost_usd == pytest.approx(standard * catalog.batch_multiplier()) and record.cost_usd > 0
        assert record.input_tokens == message.usage.input_tokens and usage.sealed_by_kit(record)
    assert usage_log.total_cost_usd == pytest.approx(sum(r.cost_usd for r in records))
