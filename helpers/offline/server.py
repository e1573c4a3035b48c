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


@contextmanager
def running(host: str = DEFAULT_HOST, port: int = 0) -> Iterator[str]:
    """A server in a background thread for the duration of the block; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(_config(host, sock.getsockname()[1]))
    server.install_signal_handlers = lambda: None  # the main thread keeps its own handlers
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the offline backend's loopback server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
