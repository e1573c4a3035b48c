"""The loopback server stays up, quiet and loopback-only under misuse.

Idle connections and requests that never end are closed within seconds; a few hundred
slow sockets do not stop real requests, even with a small open-files limit, and the log
stays small; a body over 32 MB is answered 413 before it is sent; a stream whose client
left stops at once, quietly. Everything here talks to 127.0.0.1 or ::1 only, and every
wait is bounded (socket timeouts), so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anthropic
import pytest

from helpers import DEFAULT_MODEL
from helpers.offline import app, faults, server
from helpers.offline import stream as stream_events
from helpers.offline.server import Limits, LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
KEY = "kit-hardening-test-key"
QUICK = Limits(idle_timeout_s=0.5, read_timeout_s=1.0)
HELLO = {"model": DEFAULT_MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def quick_server():
    started = LoopbackServer(limits=QUICK)
    yield started
    started.stop()


def _connect(srv: LoopbackServer, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((srv.host, srv.port), timeout=timeout)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (anything it sends first is read and dropped)."""
    sock.settimeout(seconds)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            if sock.recv(65536) == b"":
                return True
    except socket.timeout:
        return False
    except ConnectionError:
        return True
    return False


def _request_head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {KEY}\r\n"
        f"anthropic-version: 2026-10-21\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n{extra}\r\n"
    ).encode()


def _read_response(sock: socket.socket, seconds: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a content-length or chunked body."""
    sock.settimeout(seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    if "content-length" in headers:
        while len(rest) < int(headers["content-length"]):
            rest += sock.recv(65536)
        return int(status_line.split()[1]), headers, rest
    body = b""
    while True:  # chunked
        while b"\r\n" not in rest:
            rest += sock.recv(65536)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        while len(rest) < size + 2:
            rest += sock.recv(65536)
        body, rest = body + rest[:size], rest[size + 2:]
        if size == 0:
            return int(status_line.split()[1]), headers, body


def _client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=url, max_retries=0, timeout=20)


# -- deadlines ----------------------------------------------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed(quick_server):
    with _connect(quick_server) as sock:
        assert _closed_within(sock, 10)


def test_a_request_body_that_never_ends_is_closed(quick_server):
    with _connect(quick_server) as sock:
        sock.sendall(_request_head("/v1/messages", 100) + b"{}")  # 2 of the 100 bytes promised
        assert _closed_within(sock, 10)


def test_headers_sent_a_byte_at_a_time_are_cut_off(quick_server):
    with _connect(quick_server) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        closed = False
        for _ in range(40):  # 8 s of trickle, far longer than the 1 s read deadline
            try:
                sock.sendall(b"x")
            except OSError:
                closed = True
                break
            time.sleep(0.2)
        assert closed or _closed_within(sock, 0.5)


def test_keep_alive_connection_that_goes_quiet_is_closed(quick_server):
    with _connect(quick_server) as sock:
        body = json.dumps(HELLO).encode()
        sock.sendall(_request_head("/v1/messages", len(body)) + body)
        status, _, _ = _read_response(sock)
        assert status == 200
        assert _closed_within(sock, 10)


def test_a_slow_but_complete_request_is_answered(quick_server):
    body = json.dumps(HELLO).encode()
    with _connect(quick_server) as sock:
        sock.sendall(_request_head("/v1/messages", len(body)))
        time.sleep(0.3)  # well within the 1 s deadline
        sock.sendall(body[:10])
        time.sleep(0.3)
        sock.sendall(body[10:])
        status, headers, payload = _read_response(sock)
    assert status == 200 and json.loads(payload)["type"] == "message"
    assert headers["request-id"].startswith("req_")


def test_default_limits_close_idle_and_incomplete_requests_within_seconds():
    with server.running() as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        idle = socket.create_connection((host, int(port)), timeout=5)
        incomplete = socket.create_connection((host, int(port)), timeout=5)
        incomplete.sendall(_request_head("/v1/messages", 100) + b"{}")
        try:
            assert _closed_within(idle, 30)
            assert _closed_within(incomplete, 30)
        finally:
            idle.close()
            incomplete.close()


# -- many slow sockets ---------------------------------------------------------------------------------------------------


def test_idle_sockets_make_room_for_real_requests():
    limits = Limits(idle_timeout_s=60, read_timeout_s=60, max_connections=20)
    srv = LoopbackServer(limits=limits)
    idle = []
    try:
        for _ in range(100):
            idle.append(_connect(srv))
        client = _client(srv.url)
        for _ in range(3):
            assert client.messages.create(**HELLO).type == "message"
        time.sleep(0.5)
        closed = sum(_closed_within(sock, 0.05) for sock in idle)
        assert closed >= 100 - 20  # the oldest idle ones made room, long before their own deadline
    finally:
        for sock in idle:
            sock.close()
        srv.stop()


def test_a_connection_being_answered_is_never_the_one_closed():
    limits = Limits(idle_timeout_s=60, read_timeout_s=60, max_connections=10)
    srv = LoopbackServer(limits=limits)
    idle = []
    try:
        with faults("timeout", stall_s=1.5):  # the answer takes 1.5 s, then the connection drops
            body = json.dumps(HELLO).encode()
            busy = _connect(srv)
            busy.sendall(_request_head("/v1/messages", len(body)) + body)
            time.sleep(0.3)  # it is being answered now
            for _ in range(40):
                idle.append(_connect(srv))
            busy.settimeout(10)
            first = busy.recv(100)
        assert first.startswith(b"HTTP/1.1 200"), first  # answered (then dropped, as injected), not closed early
        busy.close()
    finally:
        for sock in idle:
            sock.close()
        srv.stop()


def _limited_server(port: int, log_path: Path, open_files: int) -> subprocess.Popen:
    import resource  # noqa: PLC0415 - Unix only

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit, cwd=ROOT,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="open-files limits are a Unix matter")
def test_hundreds_of_idle_sockets_under_a_small_open_files_limit(tmp_path):
    """300 idle sockets against a server allowed 256 open files: real requests still pass, the log stays small."""
    port, log_path = _free_port(), tmp_path / "server.log"
    process = _limited_server(port, log_path, 256)
    idle: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while True:  # importing the SDK takes a few seconds on a busy machine
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        client = _client(f"http://127.0.0.1:{port}")
        for _ in range(5):
            assert client.messages.create(**HELLO).type == "message"
        assert client.messages.count_tokens(model=DEFAULT_MODEL, messages=HELLO["messages"]).input_tokens > 0
        time.sleep(2)
        size = log_path.stat().st_size
        assert size < 4096, log_path.read_text()[:3000]
    finally:
        for sock in idle:
            sock.close()
        process.terminate()
        process.wait(timeout=20)


# -- bodies over 32 MB ------------------------------------------------------------------------------------------------------


def test_a_declared_body_over_32_mb_gets_413_before_it_is_sent(quick_server):
    with _connect(quick_server) as sock:
        sock.sendall(_request_head("/v1/messages", app.MAX_BODY_BYTES + 1))
        status, headers, payload = _read_response(sock)  # no byte of the body was sent
    assert status == 413
    error = json.loads(payload)
    assert error["type"] == "error" and error["error"]["type"] == "request_too_large"
    assert error["request_id"] == headers["request-id"] and headers["x-should-retry"] == "false"


def test_a_chunked_body_over_32_mb_gets_413_and_the_rest_is_not_kept(quick_server):
    piece = b"x" * (1 << 20)
    with _connect(quick_server, timeout=20) as sock:
        sock.sendall(_request_head("/v1/messages", 0).replace(b"content-length: 0\r\n", b"transfer-encoding: chunked\r\n"))
        for _ in range(33):
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        status, _, payload = _read_response(sock, seconds=20)
    assert status == 413 and json.loads(payload)["error"]["type"] == "request_too_large"


def test_a_large_upload_does_not_hold_up_other_requests(quick_server):
    uploading = _connect(quick_server)
    try:
        uploading.sendall(_request_head("/v1/messages", 30 * (1 << 20)) + b"x" * (1 << 20))
        client = _client(quick_server.url)
        for _ in range(3):  # while 29 MB are still to come on the other connection
            assert client.messages.create(**HELLO).type == "message"
    finally:
        uploading.close()


# -- streams whose client left --------------------------------------------------------------------------------------------


class _Counting:
    """Wraps a stream's events: how many were produced, and whether the stream was closed."""

    def __init__(self, events):
        self._events = events
        self.produced = 0
        self.total = None
        self.closed = threading.Event()

    def __iter__(self):
        try:
            for chunk in self._events:
                self.produced += 1
                yield chunk
        finally:
            self.closed.set()


def _long_stream_body() -> bytes:
    """A streamed tool call whose input is long: thousands of input_json_delta events, over a megabyte in all, so
    that a client's socket buffers (about 200 KB on loopback until it reads) cannot take in most of the stream
    however late the test's close reaches the server."""
    tool = {
        "name": "store_note", "description": "Store a note.",
        "input_schema": {"type": "object", "properties": {"note": {"type": "string", "const": "n" * 150_000}},
                         "required": ["note"]},
    }
    return json.dumps({
        "model": DEFAULT_MODEL, "max_tokens": 100_000, "stream": True, "tools": [tool],
        "tool_choice": {"type": "tool", "name": "store_note"},
        "messages": [{"role": "user", "content": "Store the note."}],
    }).encode()


def test_a_stream_stops_as_soon_as_its_client_leaves(quick_server, monkeypatch, caplog):
    made: list[_Counting] = []
    original = stream_events.sse

    def counted(*args, **kwargs):
        made.append(_Counting(original(*args, **kwargs)))
        return iter(made[-1])

    monkeypatch.setattr(stream_events, "sse", counted)
    body = _long_stream_body()
    with caplog.at_level(logging.WARNING):
        with _connect(quick_server) as sock:
            sock.sendall(_request_head("/v1/messages", len(body)) + body)
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert made and made[0].closed.wait(10), "the stream went on after its client left"
        total = sum(1 for _ in original(*_sse_args(body)))
        assert made[0].produced < total // 2, (made[0].produced, total)
        time.sleep(0.3)
    noise = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noise == [], noise[:5]


def _sse_args(body: bytes) -> tuple:
    """The arguments ``app`` passes to ``stream.sse`` for this body (to count the events of a full stream)."""
    from helpers.offline import respond, validate  # noqa: PLC0415

    request = validate.check_create(json.loads(body), "2026-10-21")
    return (respond.message(request),)


def test_the_sdk_closing_a_stream_early_ends_it_in_process_too(monkeypatch):
    import helpers  # noqa: PLC0415

    made: list[_Counting] = []
    original = stream_events.sse

    def counted(*args, **kwargs):
        made.append(_Counting(original(*args, **kwargs)))
        return iter(made[-1])

    monkeypatch.setattr(stream_events, "sse", counted)
    client = helpers.connect("offline", quiet=True, max_retries=0)
    events = client.messages.create(**{**json.loads(_long_stream_body()), "stream": True})
    next(iter(events))
    events.close()
    assert made and made[0].closed.is_set()


def test_an_injected_dropped_connection_logs_nothing(quick_server, caplog):
    client = _client(quick_server.url)
    with caplog.at_level(logging.WARNING), faults("disconnect"):
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(**HELLO)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


# -- where it listens ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host):
    assert server.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.1", "example.com", "::ffff:10.0.0.1"])
def test_other_hosts_are_not_loopback(host):
    assert not server.is_loopback(host)


class _NoBind:
    """Stands in for ``socket.socket`` so that a regression fails without ever listening beyond loopback."""

    def __init__(self, *args, **kwargs):
        pass

    def setsockopt(self, *args):
        pass

    def bind(self, address):
        raise AssertionError(f"bound {address} without expose=True")


def _no_serving(*args, **kwargs):
    raise AssertionError("started serving without expose=True")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_a_non_loopback_host_needs_expose(host, monkeypatch):
    monkeypatch.setattr(server.socket, "socket", _NoBind)
    monkeypatch.setattr(server.uvicorn, "Server", _no_serving)
    with pytest.raises(ValueError, match="expose"):
        server.start(host=host)
    with pytest.raises(ValueError, match="expose"):
        server.serve(host=host)


def test_base_urls_bracket_ipv6():
    assert server.base_url("127.0.0.1", 8765) == "http://127.0.0.1:8765"
    assert server.base_url("::1", 8765) == "http://[::1]:8765"
    assert server.base_url("[::1]", 8765) == "http://[::1]:8765"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_an_ipv6_loopback_server_answers_the_sdk():
    with server.running(host="::1") as url:
        assert url.startswith("http://[::1]:")
        assert _client(url).messages.create(**HELLO).type == "message"
