"""The loopback adapter: the offline backend as a real HTTP server (ASGI, run by uvicorn).

curl, the TypeScript SDK or a notebook in live mode (``ANTHROPIC_BASE_URL``) can
talk to it. ``running()`` starts one in a background thread for tests and lessons.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import uvicorn

from . import app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def asgi_app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = await _body(receive)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    outcome = app.handle(scope["method"], target, headers, body)
    if isinstance(outcome, app.Stall):
        await asyncio.sleep(outcome.seconds)
        outcome = app.Drop()
    if isinstance(outcome, app.Drop):
        # Promise a body and end the connection without it: the client sees a dropped connection.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise ConnectionAbortedError("offline backend: injected dropped connection")
    if isinstance(outcome, app.Stream):
        await send({"type": "http.response.start", "status": outcome.status, "headers": _raw_headers(outcome.headers)})
        for chunk in outcome.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": outcome.status, "headers": _raw_headers(outcome.headers)})
    await send({"type": "http.response.body", "body": outcome.body})


def _config(host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(asgi_app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted."""
    uvicorn.Server(_config(host, port)).run()


class LoopbackServer:
    """A server running in a background thread of this process; ``stop()`` ends it."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0):
        # IPPROTO_TCP (not 0) lets asyncio turn on TCP_NODELAY; without it each reply waits ~40 ms.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(host, self.port))
        self._server.install_signal_handlers = lambda: None  # the main thread keeps its own handlers
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the offline backend's loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __repr__(self) -> str:
        return f"LoopbackServer({self.url})"


def start(host: str = DEFAULT_HOST, port: int = 0) -> LoopbackServer:
    """Start a loopback server (port 0 picks a free one); call ``.stop()`` when done."""
    return LoopbackServer(host, port)


@contextmanager
def running(host: str = DEFAULT_HOST, port: int = 0) -> Iterator[str]:
    """A loopback server for the duration of the block; yields its base URL."""
    server = LoopbackServer(host, port)
    try:
        yield server.url
    finally:
        server.stop()
