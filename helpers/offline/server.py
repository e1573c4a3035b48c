"""The loopback adapter: the offline backend as a real HTTP server (ASGI, run by uvicorn).

curl, the TypeScript SDK or a notebook in live mode (``ANTHROPIC_BASE_URL``) can
talk to it. ``running()`` starts one in a background thread for tests and lessons.

It listens on loopback only unless told otherwise (it checks no real key), and it
stays up under misuse: a connection that sends nothing, or a request that never
ends, is closed within seconds (``Limits``); when connections run short, the oldest
one that is not being answered makes room; a body over 32 MB is refused before it
is read; a stream whose client left stops at once; and the log says each kind of
trouble at most once a minute.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOG_WINDOW_S = 60.0
BACKLOG = 128
"""Pending connections the kernel queues, and how many asyncio accepts in one go: a small number keeps a
burst of failed accepts (when no file descriptor is left) small too."""


# -- where it listens ----------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: ``localhost`` or a loopback address (127.0.0.0/8, ::1).

    Other names are not looked up (no DNS query), so they count as not loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 address in brackets (``http://[::1]:8765``)."""
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def exposure_warning(host: str, port: int) -> str:
    where = "every network interface of this machine" if host.strip("[]") in ("0.0.0.0", "::", "") else host
    return (
        f"WARNING: listening on {where} (port {port}), not on loopback. Anyone who can reach this machine "
        "can use this server: it accepts any non-empty API key, answers with the kit's offline text, "
        "and spends this machine's CPU and memory. Use it only on a network you trust."
    )


def check_host(host: str, expose: bool) -> None:
    if not expose and not is_loopback(host):
        raise ValueError(
            f"{host!r} is not a loopback address: the server would be reachable from other machines, and it "
            "checks no real key. Use 127.0.0.1, ::1 or localhost, or pass expose=True (--expose) if you mean it."
        )


# -- limits ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How long a connection may keep the server waiting, and how many may be open at once."""

    idle_timeout_s: float = 5.0
    """A connection that has sent no request yet, or none since its last answer, is closed after this long."""
    read_timeout_s: float = 10.0
    """From a request's first byte to its last (headers and body): a request that takes longer is dropped."""
    max_connections: Optional[int] = None
    """Open connections at most; ``None``: 1,000, or half the open-files limit if that is lower."""

    def connection_cap(self) -> int:
        if self.max_connections is not None:
            return self.max_connections
        try:
            import resource  # noqa: PLC0415 - Unix only

            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ImportError, ValueError, OSError):
            return 500
        if soft == resource.RLIM_INFINITY:
            return 1000
        # asyncio accepts up to BACKLOG sockets before the first of them is counted here; of what is left,
        # half goes to this process's own files (and, in a notebook or a test, the client's sockets).
        return max(16, min(1000, (soft - BACKLOG) // 2))


class _Throttle:
    """Lets each kind of message through at most once per ``LOG_WINDOW_S``, and counts the ones it holds back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[object, float] = {}
        self._held: Counter = Counter()

    def admit(self, key: object) -> Optional[int]:
        """``None`` to hold the message back; otherwise how many like it were held back since the last one."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < LOG_WINDOW_S:
                self._held[key] += 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)


_throttle = _Throttle()


class _Quiet(Exception):
    """An ending that is part of normal work, not worth a traceback."""


class _InjectedDrop(_Quiet, ConnectionAbortedError):
    pass


class _BoundedLog(logging.Filter):
    """uvicorn's error log, with no traceback for quiet endings and each message at most once a minute."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _Quiet):
            return False
        held = _throttle.admit((record.name, record.msg))
        if held is None:
            return False
        if held:
            record.msg = f"{record.msg} [and {held} more like it in the last minute]"
        return True


def _bound_uvicorn_log() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _BoundedLog) for f in logger.filters):
        logger.addFilter(_BoundedLog())


def _loop_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The event loop's error report, at most once a minute per kind.

    When the process runs out of file descriptors, asyncio reports ``socket.accept() out of
    system resource`` once per pending connection, many thousand times a second."""
    held = _throttle.admit(("asyncio", context.get("message")))
    if held is None:
        return
    if held:
        context = dict(context, message=f"{context.get('message')} [and {held} more like it in the last minute]")
    loop.default_exception_handler(context)


# -- connections -----------------------------------------------------------------------------------------------------


class _GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 connection, with the deadlines it leaves out and a cap on open connections.

    uvicorn closes an idle connection only after an answer (keep-alive) and has no deadline
    for reading a request, so a connection that sends nothing, or half a request, stays open
    for ever, and enough of them use up the process's file descriptors."""

    def __init__(self, *args, limits: Limits, cap: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._cap = cap
        self._opened = time.monotonic()
        self._read_deadline: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn's own idle timer, armed from the start and not only after a first answer (any byte stops it)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        if len(self.connections) > self._cap:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_reading()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_reading()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    # a request being read has Limits.read_timeout_s from its first byte to its last
    def _reading(self) -> bool:
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            return True
        return state is h11.IDLE and bool(self.conn.trailing_data[0])  # part of a request line or headers

    def _watch_reading(self) -> None:
        if self.transport.is_closing():
            return
        if not self._reading():
            self._stop_deadline()
        elif self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self._limits.read_timeout_s, self._read_timed_out)

    def _stop_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    # when connections run short, the oldest one that is not being answered makes room
    def _answering(self) -> bool:
        return (
            self.cycle is not None and not self.cycle.response_complete
            and self.conn.their_state in (h11.DONE, h11.MUST_CLOSE)
        )

    def _make_room(self) -> None:
        waiting = [
            c for c in self.connections
            if isinstance(c, _GuardedH11) and c is not self and not c._answering() and not c.transport.is_closing()
        ]
        victim = min(waiting, key=lambda c: c._opened, default=self)
        victim.transport.close()
        logging.getLogger("uvicorn.error").warning(
            "%d connections open (the limit): closed the oldest one that was not being answered.", self._cap,
        )


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        asyncio.get_running_loop().set_exception_handler(_loop_errors)
        await super().startup(sockets=sockets)


# -- requests ----------------------------------------------------------------------------------------------------------


class _ClientGone(_Quiet):
    pass


async def _body(receive, headers: dict[str, str], limit: Optional[int] = None) -> Optional[bytes]:
    """The request body, or ``None`` when it is over ``limit`` (``app.MAX_BODY_BYTES`` unless given; then the rest
    is never read)."""
    limit = app.MAX_BODY_BYTES if limit is None else limit
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _until_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def _stream(outcome: app.Stream, receive, send) -> None:
    """Send the events one by one; stop producing them as soon as the client has gone."""
    await send({"type": "http.response.start", "status": outcome.status, "headers": _raw_headers(outcome.headers)})
    gone = asyncio.ensure_future(_until_disconnect(receive))
    try:
        for chunk in outcome.chunks:
            if gone.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0)  # let a disconnect, and other requests, in between two events
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()
        close = getattr(outcome.chunks, "close", None)
        if close is not None:
            close()


async def asgi_app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    try:
        body = await _body(receive, headers, app.body_limit(scope["method"], target))
    except _ClientGone:
        return  # nobody is left to answer (the client went, or took too long and was cut off)
    if body is None:
        outcome: app.Outcome = app.too_large()
    else:
        # In a worker thread: a large body takes a while to parse, and other requests should not wait for it.
        outcome = await asyncio.to_thread(app.handle, scope["method"], target, headers, body)
    if isinstance(outcome, app.Stall):
        await asyncio.sleep(outcome.seconds)
        outcome = app.Drop()
    if isinstance(outcome, app.Drop):
        # Promise a body and end the connection without it: the client sees a dropped connection.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise _InjectedDrop("offline backend: injected dropped connection")
    if isinstance(outcome, app.Stream):
        await _stream(outcome, receive, send)
        return
    await send({"type": "http.response.start", "status": outcome.status, "headers": _raw_headers(outcome.headers)})
    await send({"type": "http.response.body", "body": outcome.body})


# -- running it ----------------------------------------------------------------------------------------------------------


def _config(host: str, port: int, limits: Limits, asgi=None, **options) -> uvicorn.Config:
    """uvicorn's settings; ``asgi`` serves another ASGI app with the same limits, ``options`` go to uvicorn
    (``ssl_certfile``, ``ssl_keyfile``)."""
    protocol = functools.partial(_GuardedH11, limits=limits, cap=limits.connection_cap())
    config = uvicorn.Config(
        asgi or asgi_app, host=host, port=port, http=protocol, lifespan="off",  # type: ignore[arg-type]
        log_level="warning", access_log=False,  # no line per request
        timeout_keep_alive=limits.idle_timeout_s,  # type: ignore[arg-type]
        backlog=BACKLOG, **options,
    )
    _bound_uvicorn_log()
    return config


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, expose: bool = False, limits: Limits = Limits(),
          asgi=None, **options) -> None:
    """Serve until interrupted. A host that is not loopback needs ``expose=True``."""
    check_host(host, expose)
    _Server(_config(host.strip("[]"), port, limits, asgi, **options)).run()


class LoopbackServer:
    """A server running in a background thread of this process; ``stop()`` ends it."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, expose: bool = False, limits: Limits = Limits(),
                 asgi=None):
        check_host(host, expose)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP (not 0) lets asyncio turn on TCP_NODELAY; without it each reply waits ~40 ms.
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        self.url = base_url(host, self.port)
        self._server = _Server(_config(host, self.port, limits, asgi))
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


def start(host: str = DEFAULT_HOST, port: int = 0, *, expose: bool = False, limits: Limits = Limits()) -> LoopbackServer:
    """Start a loopback server (port 0 picks a free one); call ``.stop()`` when done."""
    return LoopbackServer(host, port, expose=expose, limits=limits)


@contextmanager
def running(host: str = DEFAULT_HOST, port: int = 0, *, expose: bool = False, limits: Limits = Limits()) -> Iterator[str]:
    """A loopback server for the duration of the block; yields its base URL."""
    server = LoopbackServer(host, port, expose=expose, limits=limits)
    try:
        yield server.url
    finally:
        server.stop()
