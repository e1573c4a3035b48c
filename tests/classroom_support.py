"""A classroom server on loopback for the classroom tests, with the offline backend or a key-checking
loopback upstream behind it, and learners' SDK clients pointed at it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator, Optional

import anthropic

from helpers import catalog
from helpers.classroom import roster
from helpers.classroom.limits import RateLimits
from helpers.classroom.pricing import to_nano
from helpers.classroom.service import RunningClassroom, build
from helpers.offline import server as offline_server

SENTINEL_KEY = "sk-ant-SENTINEL-instructor-key-0123456789"
MODEL = catalog.DEFAULT_MODEL
HI = [{"role": "user", "content": "Say hello."}]
GENEROUS = RateLimits(per_minute=6000, burst=1000, concurrent=100)


class KeyCheckingUpstream:
    """The kit's offline backend on loopback, answering only requests that carry ``key`` (as the real API would:
    401 otherwise), and remembering the credential headers it saw."""

    def __init__(self, key: str = SENTINEL_KEY):
        self.key = key
        self.seen: list[dict[str, str]] = []
        self._server = offline_server.LoopbackServer(asgi=self)
        self.url = self._server.url

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.seen.append({k: v for k, v in headers.items() if k in ("authorization", "x-api-key")})
        if headers.get("authorization") != f"Bearer {self.key}":
            body = json.dumps({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                               "request_id": "req_upstream401"}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"request-id", b"req_upstream401")]})
            await send({"type": "http.response.body", "body": body})
            return
        await offline_server.asgi_app(scope, receive, send)

    def stop(self) -> None:
        self._server.stop()


@contextlib.contextmanager
def classroom(db: Path, *, key: Optional[str] = None, upstream_url: str = "", limits: RateLimits = GENEROUS,
              **options) -> Iterator[RunningClassroom]:
    started = build(db, key=key, upstream_url=upstream_url or "http://unused.invalid", limits=limits, **options)
    server = RunningClassroom(started)
    try:
        yield server
    finally:
        server.stop()


def add_learners(server: RunningClassroom, names: list[str], usd: Optional[float] = 1.0,
                 tokens: Optional[int] = None) -> dict[str, str]:
    """name -> token."""
    issued = roster.add(server.store, names, budget_nano=None if usd is None else to_nano(usd), budget_tokens=tokens)
    return {item.name: item.token for item in issued}


def client(server: RunningClassroom, token: str, **options) -> anthropic.Anthropic:
    """A learner's SDK client, as ``connect()`` makes it in live mode from ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL."""
    return anthropic.Anthropic(api_key=token, base_url=server.url, **{"max_retries": 0, **options})


def async_client(server: RunningClassroom, token: str, **options) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=token, base_url=server.url, **{"max_retries": 0, **options})


class RecordingUpstream:
    """A stub API on loopback that records every request that reaches it (method, raw path and query, headers)
    and answers what ``answer(request)`` returns: ``(status, headers, chunks)``, the chunks sent one by one with
    a short pause between them, so that a client sees them apart (a stream split where the test says)."""

    def __init__(self, answer=None, pause_s: float = 0.02):
        self.requests: list[dict] = []
        self.answer = answer or (lambda request: (200, {"content-type": "application/json"}, [b"{}"]))
        self.pause_s = pause_s
        self._server = offline_server.LoopbackServer(asgi=self)
        self.url = self._server.url

    async def __call__(self, scope, receive, send):
        import asyncio

        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = {"method": scope["method"], "path": scope.get("raw_path", b"").decode("latin-1"),
                   "query": scope.get("query_string", b"").decode("latin-1"),
                   "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                   "body": body}
        self.requests.append(request)
        status, headers, chunks = self.answer(request)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        for i, chunk in enumerate(chunks):
            if i:
                await asyncio.sleep(self.pause_s)
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})
        if not chunks:
            await send({"type": "http.response.body", "body": b""})

    def stop(self) -> None:
        self._server.stop()


def raw_request(url: str, method: str, target: str, headers: Optional[dict] = None, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send ``target`` exactly as written (no client normalises its dot segments or encoding): status, headers, body."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in {"content-length": str(len(body)), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
