"""The classroom server against a hostile learner and a hostile upstream: only the allow-listed endpoints are
reached, the instructor's key and account headers never come back, whatever the API sends, and bad bodies get
the API's error shape. The upstream is a stub on loopback that records every request and echoes what it is told."""

from __future__ import annotations

import json
import time
import logging

import anthropic
import httpx2
import pytest

from classroom_support import HI, MODEL, SENTINEL_KEY, RecordingUpstream, add_learners, classroom, client, raw_request
from helpers.classroom import __main__ as cli
from helpers.classroom.limits import RateLimits

KEY = SENTINEL_KEY


def _message(text: str = "hello") -> bytes:
    return json.dumps({
        "id": "msg_stub", "type": "message", "role": "assistant", "model": MODEL, "stop_reason": "end_turn",
        "stop_sequence": None, "content": [{"type": "text", "text": text}],
        "usage": {"input_tokens": 5, "output_tokens": 3}}).encode()


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(text: str, error: str = "") -> list[bytes]:
    """An SSE stream whose text is ``text``, one event per chunk; ``error`` adds an error event before the end."""
    start = {"type": "message_start", "message": {
        "id": "msg_stub", "type": "message", "role": "assistant", "model": MODEL, "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}
    events = [_event("message_start", start),
              _event("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
              _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": text}}),
              _event("content_block_stop", {"type": "content_block_stop", "index": 0})]
    if error:
        events.append(_event("error", {"type": "error", "error": {"type": "overloaded_error", "message": error}}))
    events += [_event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                           "stop_sequence": None},
                                        "usage": {"output_tokens": 3}}),
               _event("message_stop", {"type": "message_stop"})]
    return events


ACCOUNT_HEADERS = {
    "anthropic-organization-id": "org-instructor-0001",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-tokens-remaining": "1999000",
    "anthropic-ratelimit-input-tokens-limit": "2000000",
    "access-control-allow-origin": "*",
    "set-cookie": "session=instructor",
    "x-echo": KEY,
}


def _echo_everything(request: dict) -> tuple[int, dict, list[bytes]]:
    """Quote the key in every place an answer has: headers, a message's text, an error, a stream split mid-key."""
    headers = {**ACCOUNT_HEADERS, "request-id": "req_stub", "x-should-retry": "false"}
    body = json.loads(request["body"] or b"{}")
    if request["path"].startswith("/v1/models"):
        return 200, {**headers, "content-type": "application/json"}, [
            json.dumps({"data": [], "first_id": KEY, "last_id": None, "has_more": False}).encode()]
    if request["path"] == "/v1/messages/count_tokens":
        return 400, {**headers, "content-type": "application/json"}, [json.dumps(
            {"type": "error", "error": {"type": "invalid_request_error", "message": f"bad key {KEY}"},
             "request_id": "req_stub"}).encode()]
    if body.get("stream"):
        chunks = _stream(f"the key is {KEY}.", error=f"upstream quoted {KEY}")
        joined = b"".join(chunks)
        at = joined.index(KEY.encode()) + len(KEY) // 2  # cut the first quote of the key in two
        second = joined.index(KEY.encode(), at)
        pieces = [joined[:at], joined[at:second + 7], joined[second + 7:]]
        return 200, {**headers, "content-type": "text/event-stream"}, pieces
    return 200, {**headers, "content-type": "application/json"}, [_message(f"the key is {KEY}")]


@pytest.fixture
def echoing():
    upstream = RecordingUpstream(_echo_everything)
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture
def live_room(tmp_path, echoing):
    with classroom(tmp_path / "room.db", key=KEY, upstream_url=echoing.url) as room:
        yield room


# -- 1. an allow-list, not a prefix ----------------------------------------------------------------------------

CRAFTED = [
    ("GET", "/v1/models/../files"), ("GET", "/v1/models/../../v1/files"), ("GET", "/v1/models/x/../../messages/batches"),
    ("GET", "/v1/models/%2e%2e/files"), ("GET", "/v1/models/..%2Ffiles"), ("GET", "/v1/models/x%2F..%2F..%2Ffiles"),
    ("GET", "/v1/models/.."), ("GET", "/v1/models/."), ("GET", "/v1/models/x/y"), ("GET", "/v1/models//files"),
    ("GET", "/v1/models/x\\..\\..\\files"), ("GET", "/v1/models/%2E%2E%2Ffiles"), ("GET", "/v1/files/"),
    ("GET", "/v1/messages/batches/../../files"), ("GET", "/v1/messages/batches/msgbatch_x/../../../files"),
    ("GET", "/v1/messages/batches/not-a-batch"), ("GET", "/v1/messages/batches/msgbatch_x/results/x"),
    ("PUT", "/v1/messages/batches"), ("GET", "/v1/messages/batches/msgbatch_x/cancel"),
    ("GET", "/v1/messages/batches/msgbatch_x%2F..%2F..%2Ffiles"), ("POST", "/v1/messages/../files"),
    ("POST", "/v1/messages/count_tokens/../../files"), ("POST", "/v1//messages"), ("POST", "/v1/messages/"),
    ("POST", "/v1/./messages"), ("POST", "/v1/%6dessages"), ("GET", "/v1/messages"), ("DELETE", "/v1/models/x"),
    ("POST", "/v1/models"), ("GET", "/v1/organizations/me"), ("GET", "/v1/models%2F..%2Ffiles"),
]


@pytest.mark.parametrize("method,target", CRAFTED)
def test_a_crafted_path_is_refused_before_anything_reaches_the_api(live_room, echoing, method, target):
    token = add_learners(live_room, ["ann"])["ann"]
    status, headers, body = raw_request(live_room.url, method, target, {"x-api-key": token,
                                                                        "content-type": "application/json"},
                                        json.dumps({"model": MODEL, "max_tokens": 8, "messages": HI}).encode())
    assert status == 404
    error = json.loads(body)
    assert error["type"] == "error" and error["error"]["type"] == "not_found_error" and error["request_id"]
    assert headers["request-id"] == error["request_id"]
    assert echoing.requests == []


def test_the_upstream_url_is_built_from_the_route_with_only_its_own_query(live_room, echoing):
    token = add_learners(live_room, ["ann"])["ann"]
    json_headers = {"x-api-key": token, "content-type": "application/json", "anthropic-version": "2026-10-21"}
    body = json.dumps({"model": MODEL, "max_tokens": 8, "messages": HI}).encode()
    raw_request(live_room.url, "POST", "/v1/messages?beta=true&x=../../files&limit=5", json_headers, body)
    raw_request(live_room.url, "POST", "/v1/messages/count_tokens", json_headers, body)
    raw_request(live_room.url, "GET", "/v1/models?limit=5&after_id=claude-x&path=/v1/files", json_headers)
    raw_request(live_room.url, "GET", f"/v1/models/{MODEL}?beta=true&limit=3", json_headers)
    assert [(r["method"], r["path"], r["query"]) for r in echoing.requests] == [
        ("POST", "/v1/messages", "beta=true"), ("POST", "/v1/messages/count_tokens", ""),
        ("GET", "/v1/models", "limit=5&after_id=claude-x"), ("GET", f"/v1/models/{MODEL}", "beta=true")]


def test_learners_request_headers_reach_the_api_only_from_an_allow_list(live_room, echoing):
    token = add_learners(live_room, ["ann"])["ann"]
    client(live_room, token, default_headers={
        "anthropic-workspace-id": "wrkspc_other", "anthropic-user-profile-id": "prof_x", "x-forwarded-for": "1.2.3.4",
        "cookie": "a=b", "x-api-key": token}).messages.create(model=MODEL, max_tokens=8, messages=HI)
    seen = echoing.requests[0]["headers"]
    assert seen["authorization"] == f"Bearer {KEY}"
    assert "anthropic-version" in seen and seen["content-type"] == "application/json"
    for name in ("anthropic-workspace-id", "anthropic-user-profile-id", "x-forwarded-for", "cookie", "x-api-key"):
        assert name not in seen
    assert token not in json.dumps(seen)


# -- 2. one redaction point --------------------------------------------------------------------------------------

def test_the_key_comes_back_nowhere_whatever_the_upstream_echoes(tmp_path, live_room, echoing, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    token = add_learners(live_room, ["ann"])["ann"]
    learner = client(live_room, token)
    seen: list[bytes] = []
    plain = learner.messages.with_raw_response.create(model=MODEL, max_tokens=32, messages=HI)
    seen += [plain.http_response.read(), str(plain.http_response.headers).encode()]
    assert "[the instructor's key]" in plain.parse().content[0].text
    # The stream is read raw, chunk by chunk as it arrives, so that a key cut in two could not hide.
    with httpx2.stream("POST", live_room.url + "/v1/messages", headers={"x-api-key": token},
                       json={"model": MODEL, "max_tokens": 32, "messages": HI, "stream": True}) as streamed:
        chunks = list(streamed.iter_raw())
        seen += [str(streamed.headers).encode(), b"".join(chunks)]
    assert len(chunks) >= 2 and b"".join(chunks).count(b"[the instructor's key]") == 2
    with pytest.raises(anthropic.BadRequestError) as raised:
        learner.messages.count_tokens(model=MODEL, messages=HI)
    seen += [raised.value.response.read(), str(raised.value.response.headers).encode()]
    seen.append(learner.models.with_raw_response.list().http_response.read())
    dashboard = httpx2.get(live_room.url + "/classroom/api/room",
                           headers={"authorization": f"Bearer {live_room.instructor_token}"})
    seen += [dashboard.content, httpx2.get(live_room.url + "/classroom/me", headers={"x-api-key": token}).content]
    assert "[the instructor's key]" in dashboard.json()["learners"][0]["last_error"]
    for data in seen:
        assert KEY.encode() not in data
    assert KEY not in caplog.text
    cli.main(["--db", str(tmp_path / "room.db"), "status"])
    out, err = capfd.readouterr()
    assert "ann" in out and KEY not in out + err
    for stored in tmp_path.iterdir():
        assert KEY.encode() not in stored.read_bytes()


def test_a_key_split_in_any_place_of_a_stream_is_still_taken_out(tmp_path):
    """Every cut of the stream's bytes into two chunks, around both quotes of the key."""
    joined = b"".join(_stream(f"key {KEY} end", error=f"also {KEY}"))
    first = joined.index(KEY.encode())
    cuts = list(range(first - 2, first + len(KEY) + 2))
    cut_at = {"at": 0}

    def answer(request):
        at = cut_at["at"]
        return 200, {"content-type": "text/event-stream"}, [joined[:at], joined[at:]]

    upstream = RecordingUpstream(answer, pause_s=0.01)
    try:
        with classroom(tmp_path / "room.db", key=KEY, upstream_url=upstream.url) as room:
            token = add_learners(room, ["ann"])["ann"]
            for at in cuts:
                cut_at["at"] = at
                with httpx2.stream("POST", room.url + "/v1/messages", headers={"x-api-key": token},
                                   json={"model": MODEL, "max_tokens": 32, "messages": HI, "stream": True}) as s:
                    received = b"".join(s.iter_raw())
                assert KEY.encode() not in received, at
                assert received == joined.replace(KEY.encode(), b"[the instructor's key]"), at
    finally:
        upstream.stop()


# -- 3. headers by allow-list ----------------------------------------------------------------------------------

def test_the_instructors_account_headers_never_reach_a_learner(tmp_path, echoing):
    with classroom(tmp_path / "room.db", key=KEY, upstream_url=echoing.url,
                   limits=RateLimits(per_minute=60, burst=20, concurrent=8)) as room:
        token = add_learners(room, ["ann"])["ann"]
        answer = client(room, token).messages.with_raw_response.create(model=MODEL, max_tokens=8, messages=HI)
    headers = {k.lower(): v for k, v in answer.headers.items()}
    assert headers["request-id"] == "req_stub" and headers["x-should-retry"] == "false"
    for name in ("anthropic-organization-id", "anthropic-ratelimit-tokens-remaining",
                 "anthropic-ratelimit-input-tokens-limit", "access-control-allow-origin", "set-cookie", "x-echo"):
        assert name not in headers
    # The request limit is the learner's own (the classroom's 60 a minute, 19 left of a burst of 20 after this
    # call), not the instructor's 4,000.
    assert headers["anthropic-ratelimit-requests-limit"] == "60"
    assert headers["anthropic-ratelimit-requests-remaining"] == "19"
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z")


def test_a_beta_the_catalog_does_not_price_is_refused_and_named(live_room, echoing):
    token = add_learners(live_room, ["ann"])["ann"]
    learner = client(live_room, token)
    for betas in ("mcp-client-2025-04-04", "token-efficient-tools-2025-02-19, managed-agents-2026-04-01"):
        with pytest.raises(anthropic.BadRequestError) as raised:
            learner.messages.create(model=MODEL, max_tokens=8, messages=HI, extra_headers={"anthropic-beta": betas})
        named = betas.split(",")[-1].strip()
        assert named in raised.value.message and "ask your instructor" in raised.value.message
    assert echoing.requests == []
    learner.messages.create(model=MODEL, max_tokens=8, messages=HI,
                            extra_headers={"anthropic-beta": "token-efficient-tools-2025-02-19"})
    assert echoing.requests[0]["headers"]["anthropic-beta"] == "token-efficient-tools-2025-02-19"


# -- 4. hostile bodies ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/v1/messages", "/v1/messages/count_tokens", "/classroom/progress"])
@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
                                  b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"], ids=["list", "object", "bad", "array",
                                                                                       "string", "bytes"])
def test_a_malformed_body_is_a_400_in_the_apis_shape_and_costs_nothing(live_room, echoing, target, body):
    token = add_learners(live_room, ["ann"])["ann"]
    status, headers, answer = raw_request(live_room.url, "POST", target, {"x-api-key": token,
                                                                          "content-type": "application/json"}, body)
    assert status == 400, answer[:300]
    error = json.loads(answer)
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert headers["x-should-retry"] == "false"
    assert echoing.requests == []
    assert live_room.store.learners()[0].spent_nano == 0 and live_room.store.reservations() == 0


# -- 5. throttled guessing, exact exercise ids -------------------------------------------------------------------

def _stop_the_throttles_clock(room) -> None:
    """The penalty lasts a second at first: on a busy machine, a dozen requests can outlast it. With its clock
    stopped, the test sees what one address sees within that second, however slow the machine."""
    now = time.monotonic()
    room.started.app.guesses._clock = lambda: now


def test_bad_tokens_from_one_address_are_slowed_and_a_valid_learner_is_not(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        _stop_the_throttles_clock(room)
        tokens = add_learners(room, ["ann", "bob"])
        ann = client(room, tokens["ann"])
        ann.messages.create(model=MODEL, max_tokens=8, messages=HI)  # ann's token has worked from this address
        answers = [httpx2.post(room.url + "/v1/messages", headers={"x-api-key": f"clsrm-1-guess{i}"},
                               json={"model": MODEL, "max_tokens": 8, "messages": HI}) for i in range(12)]
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
        slowed = answers[-1]
        assert int(slowed.headers["retry-after"]) >= 1 and slowed.json()["error"]["type"] == "rate_limit_error"
        assert "tokens that are not valid" in slowed.json()["error"]["message"]
        # Learners who share the address go on as before; the guesses did not touch their rows.
        ann.messages.create(model=MODEL, max_tokens=8, messages=HI)
        assert httpx2.get(room.url + "/classroom/me", headers={"x-api-key": tokens["ann"]}).status_code == 200
        assert [x.calls for x in room.store.learners()] == [2, 0]


@pytest.mark.parametrize("exercise", ["07.1\n", "07.1 ", " 07.1", "07.1\x00", "7.1", "07.1.2"])
def test_an_exercise_id_is_matched_exactly(tmp_path, exercise):
    with classroom(tmp_path / "room.db") as room:
        token = add_learners(room, ["ann"])["ann"]
        answer = httpx2.post(room.url + "/classroom/progress", headers={"x-api-key": token},
                             json={"exercise": exercise, "passed": True})
        assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"
        assert room.store.learners(with_progress=True)[0].progress == []


def test_guesses_at_the_instructor_token_are_slowed_and_the_instructor_is_not(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        _stop_the_throttles_clock(room)
        room_url = room.url + "/classroom/api/room"
        mine = {"authorization": f"Bearer {room.instructor_token}"}
        assert httpx2.get(room_url, headers=mine).status_code == 200
        for _ in range(3):  # a page opened without a token is no guess
            assert httpx2.get(room_url).status_code == 401
        statuses = [httpx2.get(room_url, headers={"authorization": f"Bearer clsrm-instructor-guess{i}"}).status_code
                    for i in range(8)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
        assert httpx2.get(room_url, headers=mine).status_code == 200
