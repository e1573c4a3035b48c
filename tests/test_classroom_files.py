"""The Files API through the classroom server: a file belongs to the learner who uploaded it; nobody else can see
it, delete it, download it or name it in a message (answered as the API answers an unknown file, with nothing sent
on); uploads are capped per file and per learner; the instructor's key never comes back.

Two upstreams: the kit's offline backend on loopback (checking the instructor's key, as the API would), and a stub
that records every request and quotes the key in everything it answers."""

from __future__ import annotations

import asyncio
import base64
import json
import re

import anthropic
import pytest
from anthropic.types.storage_quota_exceeded_error import StorageQuotaExceededError

from classroom_support import (HI, MODEL, SENTINEL_KEY, KeyCheckingUpstream, RecordingUpstream, add_learners,
                               async_client, classroom, client, raw_request)
from helpers.classroom.limits import FileLimits, RateLimits
from helpers.classroom.store import SqliteStore
from helpers.offline import batches as offline_batches
from helpers.offline import files as offline_files

KEY = SENTINEL_KEY
REPLACED = "[the instructor's key]"


@pytest.fixture(autouse=True)
def fresh_offline_state():
    offline_files.forget()
    offline_batches.forget()
    yield
    offline_files.forget()
    offline_batches.forget()


def _document(file_id: str) -> dict:
    return {"type": "document", "source": {"type": "file", "file_id": file_id}}


def _asking_about(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": "What does it say?"}]}]


# -- the offline backend on loopback as the API ------------------------------------------------------------------

@pytest.fixture
def offline_room(tmp_path):
    upstream = KeyCheckingUpstream()
    try:
        with classroom(tmp_path / "room.db", key=KEY, upstream_url=upstream.url) as room:
            yield room
    finally:
        upstream.stop()


def test_the_owner_uploads_lists_retrieves_uses_and_deletes_their_file(offline_room):
    tokens = add_learners(offline_room, ["ann", "bob"])
    ann, bob = client(offline_room, tokens["ann"]), client(offline_room, tokens["bob"])
    notes = ann.files.upload(file=("notes.txt", b"The meeting is on Tuesday.", "text/plain"))
    theirs = bob.files.upload(file=("other.txt", b"Bob's own notes.", "text/plain"))
    assert notes.filename == "notes.txt" and notes.size_bytes == 26
    assert [f.id for f in ann.files.list()] == [notes.id]
    assert [f.id for f in bob.files.list()] == [theirs.id]
    assert [f.id for f in ann.beta.files.list()] == [notes.id]
    assert ann.files.retrieve_metadata(notes.id).filename == "notes.txt"
    answer = ann.messages.create(model=MODEL, max_tokens=64, messages=_asking_about(_document(notes.id)))
    assert answer.usage.input_tokens > 0
    counted = ann.messages.count_tokens(model=MODEL, messages=_asking_about(_document(notes.id)))
    assert counted.input_tokens > 0
    with pytest.raises(anthropic.BadRequestError, match="cannot be downloaded"):  # the API's rule, passed on
        ann.files.download(notes.id)
    assert ann.files.delete(notes.id).type == "file_deleted"
    assert list(ann.files.list()) == []
    with pytest.raises(anthropic.NotFoundError):
        ann.files.retrieve_metadata(notes.id)
    assert [f.id for f in bob.files.list()] == [theirs.id]
    assert offline_room.store.file_owner(theirs.id) is not None and offline_room.store.file_owner(notes.id) is None
    for learner in offline_room.store.learners():
        # ann's two errors: the download, and the deleted file
        assert learner.held_nano == 0 and learner.errors == (2 if learner.name == "ann" else 0)


BETA_HEADERS = {"anthropic-version": "2023-06-01", "anthropic-beta": "files-api-2025-04-14"}


def test_the_list_pages_through_the_learners_own_files_only(offline_room):
    tokens = add_learners(offline_room, ["ann", "bob"])
    ann, bob = client(offline_room, tokens["ann"]), client(offline_room, tokens["bob"])
    mine, theirs = [], []
    for i in range(5):
        mine.append(ann.files.upload(file=(f"a{i}.txt", b"ann %d" % i, "text/plain")).id)
        theirs.append(bob.files.upload(file=(f"b{i}.txt", b"bob %d" % i, "text/plain")).id)
    first = ann.files.list(limit=2)
    assert [f.id for f in first.data] == mine[::-1][:2] and first.next_page
    assert [f.id for f in ann.files.list(limit=2)] == mine[::-1]  # the SDK follows next_page by itself
    assert [f.id for f in ann.files.list(ids=[theirs[0], mine[1], "file_01unknown"])] == [mine[1]]
    # A cursor is this server's own: one made up to start at any point shows only the learner's files after it.
    for row in range(0, 30):
        cursor = "page_" + base64.urlsafe_b64encode(f"files:{row}".encode()).decode().rstrip("=")
        assert set(f.id for f in ann.files.list(page=cursor, limit=100).data) <= set(mine)
    with pytest.raises(anthropic.BadRequestError, match="page cursor"):
        ann.files.list(page="page_bm90LWEtY3Vyc29y")
    status, _, body = raw_request(offline_room.url, "GET", f"/v1/files?limit=3&after_id={theirs[4]}",
                                  BETA_HEADERS | {"x-api-key": tokens["ann"]})
    assert status == 200 and json.loads(body)["data"] == []  # another's id pages nowhere
    status, _, body = raw_request(offline_room.url, "GET", "/v1/files?limit=3",
                                  BETA_HEADERS | {"x-api-key": tokens["ann"]})
    page = json.loads(body)
    assert [f["id"] for f in page["data"]] == mine[::-1][:3] and page["has_more"] and page["first_id"] == mine[4]
    listed = json.dumps([f.model_dump(mode="json") for f in ann.files.list(limit=100)])
    assert all(file_id not in listed for file_id in theirs)


def test_the_files_beta_header_is_free_and_goes_on(offline_room):
    token = add_learners(offline_room, ["ann"])["ann"]
    made = client(offline_room, token).files.upload(file=("a.txt", b"text", "text/plain"),
                                                    extra_headers={"anthropic-beta": "files-api-2025-04-14"})
    assert made.id.startswith("file_")


# -- a stub API that records and echoes -----------------------------------------------------------------------------

ECHO_HEADERS = {"anthropic-organization-id": "org-instructor-0001", "x-echo": KEY, "request-id": "req_stub",
                "x-should-retry": "false"}


class FileStub:
    """Answers the Files API and Messages as the API would, quoting the instructor's key in every answer."""

    def __init__(self):
        self.made = 0

    def metadata(self, file_id: str, size: int = 4) -> dict:
        return {"id": file_id, "type": "file", "filename": f"{KEY}.txt", "mime_type": "text/plain",
                "size_bytes": size, "created_at": "2026-01-01T00:00:00Z", "downloadable": True, "expires_at": None}

    def __call__(self, request: dict):
        path, method = request["path"], request["method"]
        json_headers = {**ECHO_HEADERS, "content-type": "application/json"}
        if path == "/v1/files" and method == "POST":
            self.made += 1
            size = offline_files.upload_size(request["body"], request["headers"].get("content-type", ""))
            return 200, json_headers, [json.dumps(self.metadata(f"file_01stub{self.made}", size)).encode()]
        if path == "/v1/files" and method == "GET":
            ids = re.findall(r"ids%5B%5D=([A-Za-z0-9_]+)", request["query"])
            return 200, json_headers, [json.dumps({"data": [self.metadata(i) for i in ids], "next_page": None,
                                                   "echo": KEY}).encode()]
        if path.endswith("/content"):
            content = f"a chart, and the key {KEY} in it".encode()
            at = content.index(KEY.encode()) + 5
            return 200, {**ECHO_HEADERS, "content-type": "application/octet-stream"}, [content[:at], content[at:]]
        if path.startswith("/v1/files/") and method == "DELETE":
            return 200, json_headers, [json.dumps({"id": path.rsplit("/", 1)[1], "type": "file_deleted"}).encode()]
        if path.startswith("/v1/files/"):
            return 200, json_headers, [json.dumps(self.metadata(path.rsplit("/", 1)[1])).encode()]
        if path == "/v1/messages/count_tokens":
            return 200, json_headers, [json.dumps({"input_tokens": 12}).encode()]
        return 200, json_headers, [json.dumps({
            "id": "msg_stub", "type": "message", "role": "assistant", "model": MODEL, "stop_reason": "end_turn",
            "stop_sequence": None, "content": [{"type": "text", "text": f"the key is {KEY}"}],
            "usage": {"input_tokens": 5, "output_tokens": 3}}).encode()]


@pytest.fixture
def stub():
    upstream = RecordingUpstream(FileStub())
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture
def stub_room(tmp_path, stub):
    with classroom(tmp_path / "room.db", key=KEY, upstream_url=stub.url,
                   file_limits=FileLimits(per_file_bytes=1000, per_learner_bytes=2500)) as room:
        yield room


def _batch_request(messages: list[dict]) -> list[dict]:
    return [{"custom_id": "a", "params": {"model": MODEL, "max_tokens": 16, "messages": messages}}]


def test_another_learners_file_is_refused_everywhere_and_nothing_is_sent(stub_room, stub):
    tokens = add_learners(stub_room, ["ann", "bob"])
    ann, bob = client(stub_room, tokens["ann"]), client(stub_room, tokens["bob"])
    hers = ann.files.upload(file=("a.txt", b"ann's", "text/plain")).id
    sent = len(stub.requests)
    for other in (hers, "file_01neverUploaded"):
        image = {"type": "image", "source": {"type": "file", "file_id": other}}
        in_tool_result = [{"role": "user", "content": [{"type": "text", "text": "Look."}]},
                          {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "look",
                                                             "input": {}}]},
                          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                                        "content": [image]}]}]
        refused = [
            lambda: bob.files.retrieve_metadata(other), lambda: bob.files.delete(other),
            lambda: bob.files.download(other), lambda: bob.beta.files.retrieve_metadata(other),
            lambda: bob.messages.create(model=MODEL, max_tokens=16, messages=_asking_about(_document(other))),
            lambda: bob.messages.create(model=MODEL, max_tokens=16, messages=in_tool_result),
            lambda: bob.messages.create(model=MODEL, max_tokens=16, stream=True,
                                        messages=_asking_about(_document(other))),
            lambda: bob.messages.count_tokens(model=MODEL, messages=_asking_about(image)),
            lambda: bob.messages.create(model=MODEL, max_tokens=16, messages=_asking_about(
                {"type": "container_upload", "file_id": other})),
            lambda: bob.messages.batches.create(requests=_batch_request(_asking_about(_document(other)))),
        ]
        for call in refused:
            with pytest.raises(anthropic.NotFoundError) as raised:
                call()
            assert raised.value.body["error"] == {"type": "not_found_error", "message": f"File not found: {other}"}
    assert len(stub.requests) == sent
    assert [f.id for f in bob.files.list()] == []
    assert len(stub.requests) == sent  # an empty list asks the API nothing
    bob_row = next(x for x in stub_room.store.learners() if x.name == "bob")
    assert bob_row.held_nano == 0 and bob_row.spent_nano == 0
    # the owner's own file goes through, in a message as in a batch
    ann.messages.create(model=MODEL, max_tokens=16, messages=_asking_about(_document(hers)))
    assert stub.requests[-1]["path"] == "/v1/messages"
    # a tool's arguments are the model's JSON, never a file the API reads
    ann.messages.create(model=MODEL, max_tokens=16, messages=[
        {"role": "user", "content": "Open it."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "open",
                                           "input": {"file_id": "file_01whatever"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}]}])
    assert len(stub.requests) == sent + 2


CRAFTED = [
    ("GET", "/v1/files/../messages"), ("POST", "/v1/files/../messages"), ("GET", "/v1/files/%2e%2e/messages"),
    ("GET", "/v1/files/..%2Fmessages"), ("GET", "/v1/files/{id}/"), ("GET", "/v1/files/"), ("POST", "/v1/files/"),
    ("GET", "/v1/files/{id}%2Fcontent"), ("GET", "/v1/files/{id}/content/"), ("GET", "/v1/files//{id}"),
    ("GET", "/v1/files/{id}/../../messages/batches"), ("GET", "/v1/files/{id}/contents"), ("PUT", "/v1/files"),
    ("DELETE", "/v1/files"), ("POST", "/v1/files/{id}"), ("POST", "/v1/files/{id}/content"),
    ("GET", "/v1/files/%66ile_01stub1"), ("GET", "/v1/files/{id}/./content"), ("GET", "/v1/files/not-a-file"),
    ("GET", "/v1/files/{id}\\..\\..\\messages"), ("GET", "/v1//files"),
]


@pytest.mark.parametrize("method,target", CRAFTED)
def test_a_crafted_files_path_is_a_404_with_nothing_sent(stub_room, stub, method, target):
    token = add_learners(stub_room, ["ann"])["ann"]
    mine = client(stub_room, token).files.upload(file=("a.txt", b"mine", "text/plain")).id
    sent = len(stub.requests)
    status, headers, body = raw_request(stub_room.url, method, target.replace("{id}", mine),
                                        {"x-api-key": token, "content-type": "application/json"},
                                        json.dumps({"model": MODEL, "max_tokens": 8, "messages": HI}).encode())
    assert status == 404
    error = json.loads(body)
    assert error["type"] == "error" and error["error"]["type"] == "not_found_error"
    assert headers["request-id"] == error["request_id"]
    assert len(stub.requests) == sent


def test_an_upload_goes_on_as_it_came_with_only_allowed_headers_and_query(stub_room, stub):
    token = add_learners(stub_room, ["ann"])["ann"]
    boundary = "classroom-boundary-42"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
    status, _, answer = raw_request(stub_room.url, "POST", "/v1/files?beta=true&path=../messages", {
        "x-api-key": token, "content-type": f"multipart/form-data; boundary={boundary}",
        "anthropic-version": "2023-06-01", "anthropic-beta": "files-api-2025-04-14",
        "anthropic-workspace-id": "wrkspc_instructors", "cookie": "a=b"}, body)
    assert status == 200, answer
    seen = stub.requests[-1]
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/v1/files", "beta=true", body)
    assert seen["headers"]["content-type"] == f"multipart/form-data; boundary={boundary}"
    assert seen["headers"]["authorization"] == f"Bearer {KEY}" and "x-api-key" not in seen["headers"]
    assert seen["headers"]["anthropic-beta"] == "files-api-2025-04-14"
    for name in ("anthropic-workspace-id", "cookie"):
        assert name not in seen["headers"]
    file_id = json.loads(answer)["id"]
    raw_request(stub_room.url, "GET", f"/v1/files/{file_id}?beta=true&limit=3&x=/../messages", {"x-api-key": token})
    raw_request(stub_room.url, "GET", f"/v1/files/{file_id}/content?page=2", {"x-api-key": token})
    assert [(r["method"], r["path"], r["query"]) for r in stub.requests[-2:]] == [
        ("GET", f"/v1/files/{file_id}", "beta=true"), ("GET", f"/v1/files/{file_id}/content", "")]
    status, _, answer = raw_request(stub_room.url, "POST", "/v1/files", {
        "x-api-key": token, "content-type": f"multipart/form-data; boundary={boundary}",
        "anthropic-beta": "mcp-client-2025-04-04"}, body)
    assert status == 400 and "mcp-client-2025-04-04" in json.loads(answer)["error"]["message"]
    assert stub.requests[-1]["path"] == f"/v1/files/{file_id}/content"  # the unknown beta went nowhere


def test_the_instructors_key_quoted_by_the_api_never_reaches_the_learner(stub_room, stub):
    token = add_learners(stub_room, ["ann"])["ann"]
    ann = client(stub_room, token)
    upload = ann.files.with_raw_response.upload(file=("a.txt", b"data", "text/plain"))
    file_id = upload.parse().id
    answers = [upload.http_response,
               ann.files.with_raw_response.list().http_response,
               ann.files.with_raw_response.retrieve_metadata(file_id).http_response,
               ann.files.with_raw_response.download(file_id).http_response,
               ann.messages.with_raw_response.create(model=MODEL, max_tokens=16,
                                                     messages=_asking_about(_document(file_id))).http_response]
    for response in answers:
        assert response.status_code == 200
        whole = response.read() + json.dumps(dict(response.headers)).encode()
        assert KEY.encode() not in whole and REPLACED.encode() in whole
        assert "anthropic-organization-id" not in response.headers
    assert ann.files.download(file_id).read() == f"a chart, and the key {REPLACED} in it".encode()
    assert ann.files.retrieve_metadata(file_id).filename == f"{REPLACED}.txt"


def test_uploads_are_capped_per_file_and_per_learner(stub_room, stub):
    tokens = add_learners(stub_room, ["ann", "bob"])
    ann, bob = client(stub_room, tokens["ann"]), client(stub_room, tokens["bob"])
    with pytest.raises(anthropic.APIStatusError) as raised:
        ann.files.upload(file=("big.bin", b"x" * 1001, "application/octet-stream"))
    assert raised.value.status_code == 413
    assert "this classroom server takes files of at most 1000 bytes" in raised.value.message
    assert stub.requests == []
    status, _, answer = raw_request(stub_room.url, "POST", "/v1/files", {
        "x-api-key": tokens["ann"], "content-type": "multipart/form-data; boundary=b"}, b"x" * (200 * 1024))
    assert status == 413 and json.loads(answer)["error"]["type"] == "request_too_large"
    kept = [ann.files.upload(file=(f"{i}.bin", b"x" * 900, "application/octet-stream")).id for i in range(2)]
    with pytest.raises(StorageQuotaExceededError, match="take 1800 bytes of the 2500 bytes") as raised:
        ann.files.upload(file=("third.bin", b"x" * 900, "application/octet-stream"))
    assert raised.value.body["error"]["details"] == {"error_code": "storage_quota_exceeded"}
    assert len(stub.requests) == 2
    bob.files.upload(file=("his.bin", b"x" * 900, "application/octet-stream"))  # each learner has their own room
    ann.files.delete(kept[0])  # deleting frees room
    ann.files.upload(file=("third.bin", b"x" * 900, "application/octet-stream"))
    assert all(x.spent_nano == 0 and x.held_nano == 0 for x in stub_room.store.learners())


def test_uploads_at_the_same_time_cannot_pass_the_learners_storage_together(stub_room, stub):
    token = add_learners(stub_room, ["ann"])["ann"]

    async def upload_many():
        ann = async_client(stub_room, token)
        return await asyncio.gather(*(ann.files.upload(file=(f"{i}.bin", b"x" * 900, "application/octet-stream"))
                                      for i in range(6)), return_exceptions=True)

    outcomes = asyncio.run(upload_many())
    made = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(made) == 2 and all(isinstance(o, StorageQuotaExceededError) for o in outcomes if o not in made)
    assert len([r for r in stub.requests if r["method"] == "POST"]) == 2


def test_file_calls_cost_nothing_and_count_against_the_learners_rate_limit(tmp_path, stub):
    with classroom(tmp_path / "room.db", key=KEY, upstream_url=stub.url,
                   limits=RateLimits(per_minute=1, burst=3, concurrent=8)) as room:
        token = add_learners(room, ["ann"], usd=0.0)["ann"]  # no money at all: files still work
        ann = client(room, token)
        made = ann.files.upload(file=("a.txt", b"data", "text/plain"))
        ann.files.retrieve_metadata(made.id)
        ann.files.upload(file=("b.txt", b"data", "text/plain"))
        with pytest.raises(anthropic.RateLimitError):
            ann.files.upload(file=("c.txt", b"data", "text/plain"))
        assert len(stub.requests) == 3 and room.store.reservations() == 0


def test_an_upload_that_stopped_run_never_heard_back_about_frees_its_room(tmp_path):
    db = tmp_path / "room.db"
    first = SqliteStore(db, run_id="first")
    learner = first.add_learner("ann", "secret", None, None)
    row, _ = first.hold_upload(learner, 900, 1000)
    assert row is not None and first.hold_upload(learner, 900, 1000)[0] is None
    first.close()
    second = SqliteStore(db, run_id="second")
    second.recover()
    assert second.hold_upload(learner, 900, 1000)[0] is not None
    second.close()


def test_serve_takes_the_file_caps_in_mb_and_refuses_a_size_that_is_none(capsys):
    from helpers.classroom import __main__ as cli

    args = cli._parser().parse_args(["serve", "--file-mb", "5", "--files-mb", "50.5"])
    assert (args.file_mb, args.files_mb) == (5.0, 50.5)
    defaults = cli._parser().parse_args(["serve"])
    assert (defaults.file_mb, defaults.files_mb) == (32, 256) == (FileLimits().per_file_bytes // 2**20,
                                                                  FileLimits().per_learner_bytes // 2**20)
    for bad in ("0", "-1", "lots", "inf"):
        with pytest.raises(SystemExit):
            cli._parser().parse_args(["serve", "--file-mb", bad])
        assert "is not a size in MB" in capsys.readouterr().err


def _files_rows(room) -> int:
    return room.store._read("SELECT COUNT(*) AS n FROM files")[0]["n"]


def test_an_upload_the_api_refuses_or_never_answers_holds_no_room(offline_room, tmp_path):
    token = add_learners(offline_room, ["ann"])["ann"]
    with pytest.raises(anthropic.BadRequestError):  # the API's own check of the name, passed on
        client(offline_room, token).files.upload(file=("a<b>.txt", b"text", "text/plain"))
    assert _files_rows(offline_room) == 0
    closed = RecordingUpstream()
    closed.stop()  # nothing listens there any more
    with classroom(tmp_path / "gone.db", key=KEY, upstream_url=closed.url) as room:
        token = add_learners(room, ["ann"])["ann"]
        with pytest.raises(anthropic.InternalServerError) as raised:
            client(room, token).files.upload(file=("a.txt", b"text", "text/plain"))
        assert raised.value.status_code == 502 and _files_rows(room) == 0
