"""The classroom server as a learner sees it: the SDK's own client, pointed at the server on loopback,
with the kit's offline backend as the API (rehearsal mode)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx2
import pytest

from classroom_support import HI, MODEL, add_learners, async_client, classroom, client
from helpers.classroom import pricing
from helpers.classroom.limits import RateLimits
from helpers.classroom.store import Caps
from helpers.offline import fault_injection
from helpers.offline import server as offline_server


@pytest.fixture
def room(tmp_path):
    with classroom(tmp_path / "room.db") as server:
        yield server


def _counting_client(server, token, **options):
    """A learner's client that counts the HTTP requests it sends (retries included)."""
    sent = []
    http = httpx2.Client(event_hooks={"request": [lambda request: sent.append(request.url.path)]})
    return anthropic.Anthropic(api_key=token, base_url=server.url, http_client=http, **options), sent


def _spent(server, name):
    return next(x for x in server.store.learners() if x.name == name)


def _wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the server did not get there in time")
        time.sleep(0.02)


def test_create_stream_count_tokens_and_models_work_unchanged(room):
    tokens = add_learners(room, ["ann"])
    learner = client(room, tokens["ann"])
    message = learner.messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert any(block.type == "text" for block in message.content)
    with learner.messages.stream(model=MODEL, max_tokens=64, messages=HI) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed_text and final.usage.output_tokens > 0
    events = [event.type for event in learner.messages.create(model=MODEL, max_tokens=32, messages=HI, stream=True)]
    assert events[0] == "message_start" and events[-1] == "message_stop" and "message_delta" in events
    assert learner.messages.count_tokens(model=MODEL, messages=HI).input_tokens > 0
    assert MODEL in {m.id for m in learner.models.list()}
    ann = _spent(room, "ann")
    assert ann.calls == 5 and ann.held_nano == 0 and room.store.reservations() == 0
    # Charged exactly what the three Messages calls reported, at the catalog's prices (count_tokens is free).
    assert ann.spent_nano > 0
    usage_cost = sum(pricing.cost_of(MODEL, u.model_dump())[1] for u in (message.usage, final.usage))
    assert usage_cost < ann.spent_nano < 2 * usage_cost


def test_the_token_is_accepted_as_x_api_key_and_as_bearer(room):
    tokens = add_learners(room, ["ann"])
    body = {"model": MODEL, "max_tokens": 16, "messages": HI}
    base = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    for credential in ({"x-api-key": tokens["ann"]}, {"authorization": f"Bearer {tokens['ann']}"}):
        answer = httpx2.post(f"{room.url}/v1/messages", json=body, headers={**base, **credential})
        assert answer.status_code == 200, answer.text
        assert answer.json()["type"] == "message"


@pytest.mark.parametrize("bad", ["clsrm-1-not-the-secret", "clsrm-99-whatever", "sk-ant-some-real-looking-key", "x",
                                 "clsrm-instructor-nope"])
def test_bad_tokens_get_the_apis_401_and_no_retry(room, bad):
    tokens = add_learners(room, ["ann"])
    learner, sent = _counting_client(room, bad, max_retries=2)
    with pytest.raises(anthropic.AuthenticationError) as raised:
        learner.messages.create(model=MODEL, max_tokens=16, messages=HI)
    body = raised.value.body
    assert raised.value.status_code == 401
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    assert raised.value.response.headers["x-should-retry"] == "false" and len(sent) == 1
    assert tokens["ann"] not in raised.value.response.text


def test_the_instructor_token_does_not_work_as_a_learner_token(room):
    with pytest.raises(anthropic.AuthenticationError):
        client(room, room.instructor_token).messages.create(model=MODEL, max_tokens=16, messages=HI)


def test_a_missing_token_gets_401(room):
    answer = httpx2.post(f"{room.url}/v1/messages", json={}, headers={"anthropic-version": "2023-06-01"})
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "authentication_error"


def test_an_exhausted_budget_is_a_payment_required_error_that_says_what_to_do_and_is_not_retried(room):
    tokens = add_learners(room, ["ann"], usd=0.0005)
    learner, sent = _counting_client(room, tokens["ann"], max_retries=2)
    learner.messages.create(model=MODEL, max_tokens=200, messages=HI)
    with pytest.raises(anthropic.PaymentRequiredError) as raised:
        for _ in range(20):
            learner.messages.create(model=MODEL, max_tokens=200, messages=HI)
    error = raised.value
    assert error.status_code == 402 and error.body["error"]["type"] == "billing_error"
    assert error.response.headers["x-should-retry"] == "false"
    words = error.body["error"]["message"]
    assert "budget" in words and "ann" in words and "top-up" in words and "not sent" in words
    refused_at = len(sent)
    with pytest.raises(anthropic.PaymentRequiredError):
        learner.messages.create(model=MODEL, max_tokens=200, messages=HI)
    assert len(sent) == refused_at + 1  # the SDK did not retry it
    ann = _spent(room, "ann")
    assert ann.spent_nano <= ann.budget_nano
    assert ann.last_error.startswith("HTTP 402 billing_error")


def test_a_smaller_max_tokens_still_fits_what_is_left(room):
    tokens = add_learners(room, ["ann"], usd=0.0005)
    learner = client(room, tokens["ann"])
    with pytest.raises(anthropic.PaymentRequiredError, match="Lower max_tokens"):
        learner.messages.create(model=MODEL, max_tokens=5000, messages=HI)
    learner.messages.create(model=MODEL, max_tokens=20, messages=HI)


def test_concurrent_calls_from_threads_never_overspend(room):
    tokens = add_learners(room, ["ann"], usd=0.002)
    learner = client(room, tokens["ann"])
    outcomes = []

    def call(_):
        try:
            learner.messages.create(model=MODEL, max_tokens=300, messages=HI)
            outcomes.append("ok")
        except anthropic.PaymentRequiredError:
            outcomes.append("refused")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(call, range(48)))
    ann = _spent(room, "ann")
    assert "ok" in outcomes and "refused" in outcomes
    assert ann.spent_nano <= ann.budget_nano and ann.held_nano == 0
    assert ann.calls == 48


def test_concurrent_async_streams_never_overspend(room):
    tokens = add_learners(room, ["ann"], tokens=3000, usd=None)
    learner = async_client(room, tokens["ann"])

    async def one():
        try:
            async with learner.messages.stream(model=MODEL, max_tokens=250, messages=HI) as stream:
                await stream.get_final_message()
            return "ok"
        except anthropic.PaymentRequiredError:
            return "refused"

    async def many():
        return await asyncio.gather(*(one() for _ in range(30)))

    outcomes = asyncio.run(many())
    ann = _spent(room, "ann")
    assert "ok" in outcomes and "refused" in outcomes
    assert ann.used_tokens <= ann.budget_tokens and ann.held_tokens == 0


def test_a_top_up_takes_effect_without_a_restart(room):
    tokens = add_learners(room, ["ann", "bob"], usd=0.0003)
    learner = client(room, tokens["ann"])
    with pytest.raises(anthropic.PaymentRequiredError):
        for _ in range(20):
            learner.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert room.store.top_up(["ann"], pricing.to_nano(0.01)) == ["ann"]
    learner.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert _spent(room, "bob").budget_nano == pricing.to_nano(0.0003)  # only ann was topped up


def test_the_class_cap_stops_everyone(room):
    tokens = add_learners(room, ["ann", "bob"], usd=1.0)
    room.store.set_caps(Caps(nano=pricing.to_nano(0.0003)))
    outcomes = []
    for name in ("ann", "bob") * 12:
        try:
            client(room, tokens[name]).messages.create(model=MODEL, max_tokens=150, messages=HI)
            outcomes.append("ok")
        except anthropic.PaymentRequiredError as error:
            assert "class-wide budget" in error.body["error"]["message"]
            outcomes.append("refused")
    assert "ok" in outcomes and "refused" in outcomes
    assert sum(x.spent_nano for x in room.store.learners()) <= pricing.to_nano(0.0003)


def test_rate_limits_answer_429_with_retry_after(tmp_path):
    with classroom(tmp_path / "room.db", limits=RateLimits(per_minute=6, burst=2, concurrent=4)) as server:
        tokens = add_learners(server, ["ann"])
        learner = client(server, tokens["ann"])
        learner.messages.count_tokens(model=MODEL, messages=HI)
        learner.messages.count_tokens(model=MODEL, messages=HI)
        with pytest.raises(anthropic.RateLimitError) as raised:
            learner.messages.count_tokens(model=MODEL, messages=HI)
        headers = raised.value.response.headers
        assert int(headers["retry-after"]) >= 1 and headers["x-should-retry"] == "true"
        assert raised.value.body["error"]["type"] == "rate_limit_error"


class _StallingStream:
    """An API whose stream sends its first events, then nothing more until the client leaves."""

    def __init__(self):
        self.server = offline_server.LoopbackServer(asgi=self)
        self.left = threading.Event()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        start = {"type": "message_start", "message": {
            "id": "msg_stall", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"request-id", b"req_stall")]})
        await send({"type": "http.response.body", "more_body": True,
                    "body": f"event: message_start\ndata: {json.dumps(start)}\n\n".encode()})
        while (await receive())["type"] != "http.disconnect":
            pass
        self.left.set()


def test_a_stream_abandoned_half_way_is_charged_its_whole_bound(tmp_path):
    upstream = _StallingStream()
    try:
        with classroom(tmp_path / "room.db", key="sk-test", upstream_url=upstream.server.url) as room:
            tokens = add_learners(room, ["ann"])
            body = {"model": MODEL, "max_tokens": 2000, "messages": HI}
            stream = client(room, tokens["ann"]).messages.create(**body, stream=True)
            assert next(iter(stream)).type == "message_start"  # passed on before the stream's end
            stream.close()
            _wait_until(lambda: room.store.reservations() == 0)
            assert upstream.left.wait(20)  # the server let go of the API's stream too
            ann = _spent(room, "ann")
            assert ann.spent_nano == pricing.hold_for({**body, "stream": True}).nano
            assert "before its end" in ann.last_error
    finally:
        upstream.server.stop()


def test_upstream_errors_pass_through_with_request_id_and_retry_after(room):
    tokens = add_learners(room, ["ann"])
    with fault_injection.faults("rate_limit", retry_after=1):
        with pytest.raises(anthropic.RateLimitError) as raised:
            client(room, tokens["ann"]).messages.create(model=MODEL, max_tokens=16, messages=HI)
    headers = raised.value.response.headers
    assert headers["retry-after"] == "1" and headers["request-id"].startswith("req_")
    assert raised.value.request_id == headers["request-id"]
    with fault_injection.faults("overloaded"):
        with pytest.raises(anthropic.InternalServerError) as raised:
            client(room, tokens["ann"]).messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert raised.value.status_code == 529 and raised.value.body["error"]["type"] == "overloaded_error"
    assert _spent(room, "ann").spent_nano == 0  # the API bills no errors
    # The SDK's own retries go through the server: one overloaded answer, then the call succeeds.
    learner, sent = _counting_client(room, tokens["ann"], max_retries=2)
    with fault_injection.faults("overloaded"):
        learner.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert len(sent) == 2


def test_a_stream_error_mid_way_passes_through_and_is_charged_conservatively(room):
    tokens = add_learners(room, ["ann"])
    body = {"model": MODEL, "max_tokens": 400, "messages": HI}
    with fault_injection.faults("stream_error", after_deltas=1):
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            with client(room, tokens["ann"]).messages.stream(**body) as stream:
                stream.get_final_message()
    _wait_until(lambda: room.store.reservations() == 0)
    ann = _spent(room, "ann")
    assert ann.spent_nano == pricing.hold_for({**body, "stream": True}).nano and "overloaded_error" in ann.last_error


def test_only_the_messages_api_is_forwarded(room):
    tokens = add_learners(room, ["ann"])
    learner = client(room, tokens["ann"])
    for call in (lambda: learner.beta.skills.list(), lambda: learner.get("/v1/organizations/me", cast_to=object)):
        with pytest.raises(anthropic.NotFoundError, match="forwards Messages calls"):
            call()


def test_a_learner_sees_only_their_own_account(room):
    tokens = add_learners(room, ["ann", "bob"])
    client(room, tokens["bob"]).messages.create(model=MODEL, max_tokens=16, messages=HI)
    mine = httpx2.get(f"{room.url}/classroom/me", headers={"x-api-key": tokens["ann"]}).json()
    assert mine["name"] == "ann" and mine["calls"] == 0 and "bob" not in str(mine)
    for token in (tokens["ann"], tokens["bob"]):
        room_view = httpx2.get(f"{room.url}/classroom/api/room", headers={"authorization": f"Bearer {token}"})
        refusal = room_view.json()
        assert room_view.status_code == 401 and refusal["type"] == "error" and set(refusal) == {"type", "error",
                                                                                               "request_id"}
        assert "bob" not in str(refusal["error"])  # not in the random request id, which may spell anything
    assert httpx2.get(f"{room.url}/classroom/api/room",
                      headers={"authorization": f"Bearer {room.instructor_token}"}).status_code == 200


def test_a_call_the_catalog_cannot_price_is_refused_with_a_reason(room):
    tokens = add_learners(room, ["ann"])
    with pytest.raises(anthropic.PermissionDeniedError, match="code_execution_20250825.*Ask your instructor"):
        client(room, tokens["ann"]).messages.create(model=MODEL, max_tokens=16, messages=HI,
                                                    tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
    assert _spent(room, "ann").spent_nano == 0


def test_a_web_search_without_max_uses_is_refused_with_the_fix(room):
    tokens = add_learners(room, ["ann"])
    with pytest.raises(anthropic.PermissionDeniedError, match='no "max_uses".*Add "max_uses": 3'):
        client(room, tokens["ann"]).messages.create(
            model=MODEL, max_tokens=16, messages=HI, tools=[{"type": "web_search_20250305", "name": "web_search"}])


def test_a_bounded_web_search_goes_through_and_is_charged_its_fee(room):
    """$10 per 1,000 searches on top of tokens, held for every use max_uses allows and settled on those made."""
    tokens = add_learners(room, ["ann"])
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    body = {"model": MODEL, "max_tokens": 200, "tools": [search],
            "messages": [{"role": "user", "content": "Search the web for this week's news about ant colonies."}]}
    assert pricing.hold_for(body).nano >= pricing.to_nano(0.03)
    message = client(room, tokens["ann"]).messages.create(**body)
    assert message.usage.server_tool_use.web_search_requests == 1
    tokens_only = pricing.cost_of(MODEL, message.usage.model_dump(exclude={"server_tool_use"}))[1]
    assert _spent(room, "ann").spent_nano == tokens_only + pricing.to_nano(0.01)


def test_a_finished_stream_is_already_charged_when_the_learner_sees_its_end(room):
    """The charge is settled before the stream's last byte leaves: a learner (or a dashboard) reading the spend the
    moment the SDK's stream ends sees the call's usage, not a hold."""
    token = add_learners(room, ["ann"])["ann"]
    learner = client(room, token)
    spent = 0
    for _ in range(15):
        with learner.messages.stream(model=MODEL, max_tokens=64, messages=HI) as stream:
            final = stream.get_final_message()
        spent += pricing.cost_of(final.model, final.usage.model_dump())[1]
        ann = _spent(room, "ann")
        assert ann.held_nano == 0 and ann.spent_nano == spent
