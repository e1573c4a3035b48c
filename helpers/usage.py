"""The usage log: one record per Messages API call made through ``connect()``/``aconnect()``.

Clients from ``connect`` carry a recording transport around their real one
(offline or live), so every ``create``, ``stream`` and ``count_tokens`` call is
logged with its tokens, stop reason, latency and cost, with no change to lesson
code. Streamed replies are recorded when their stream ends (or is closed, or dropped
unread: then the record says the stream was not complete).

The log is evidence for the graders, so only the kit writes it: a record is frozen and
sealed when the kit's transport makes it (an HMAC under a key made for this process and
held by the transport), the log takes only sealed records, and a learner reads it
through a read-only view. ``sealed_by_kit(record)`` tells whether a record is still
exactly what the transport saw: one changed in place no longer matches its seal.

Recording never changes a call: a listener that raises, or a response the log cannot
read, is reported as a warning, and the SDK never sees an error from here (an error
raised inside the transport would look like a network failure, and the SDK would send
the request again).
"""

from __future__ import annotations

import bisect
import collections
import copy
import dataclasses
import hashlib
import hmac
import json
import marshal
import re
import secrets
import threading
import time
import warnings
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Sequence
from typing import Any, Callable, Iterator, Optional

import httpx2

from . import catalog

RECORDED_PATHS = ("/v1/messages", "/v1/messages/count_tokens")
BATCH_RESULTS = re.compile(r"/v1/messages/batches/[^/]+/results")
"""A Message Batch's results: each succeeded request is logged as a call, at the batch price."""


class RecordingWarning(RuntimeWarning):
    """Something went wrong while recording a call; the call itself was not affected."""


class CallWatcher:
    """Told when the usage of one HTTP attempt is known; the spending limit uses one per call in flight."""

    def claim(self) -> bool:
        """Whether this transport may report this call (only the first transport that asks may)."""
        return False

    def finished(self, record: Optional["Record"], complete: bool) -> None:
        """The call is over: ``record`` is its log entry (None if none could be made); ``complete`` is
        False when a stream ended before the API reported its final usage."""


watching: ContextVar[Optional[CallWatcher]] = ContextVar("kit_call_watcher", default=None)
"""Set around each attempt by the budget guard (SDK middleware, or the recording transport's own guard), read
by the recording transport below it: both run in the caller's thread or task, so the context carries it."""


@dataclass(frozen=True)
class Record:
    time: datetime
    path: str
    status: int
    model: Optional[str]
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0  # the part of the writes kept for an hour (billed higher)
    stop_reason: Optional[str] = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    offline: bool = False
    streamed: bool = False
    request_body: bytes = field(default=b"", repr=False)
    response: Optional[dict] = field(default=None, repr=False)
    request_id: Optional[str] = None
    message_id: Optional[str] = None
    sent_at: float = field(default=0.0, repr=False)  # perf_counter() when the request left: the log's order
    complete: bool = True  # False for a stream closed (or dropped) before the API reported its final usage
    text_deltas: tuple[int, ...] = field(default=(), repr=False)  # a stream's text pieces, by length, as they came
    seal: str = field(default="", repr=False, compare=False)  # set by the kit's transport: see sealed_by_kit()

    @property
    def request(self) -> Optional[dict]:
        """The JSON body that was sent, as a fresh copy each time (parsed when first asked for: most records are
        never read), so that editing what is returned never changes the record."""
        if "_request" not in self.__dict__:
            parsed = _json(self.request_body)
            object.__setattr__(self, "_request", parsed if isinstance(parsed, dict) else None)
        return copy.deepcopy(self.__dict__["_request"])

    @property
    def cache_saved_usd(self) -> float:
        """What the prompt cache saved on this call against plain input (negative when it only wrote)."""
        entry = catalog.lookup(self.model) if self.model else None
        if entry is None or self.kind == "count_tokens" or self.status != 200:
            return 0.0
        return entry.price.cache_saving_usd(
            cache_read=self.cache_read_input_tokens, input_tokens=self.input_tokens,
            cache_write_5m=self.cache_creation_input_tokens - self.cache_creation_1h_input_tokens,
            cache_write_1h=self.cache_creation_1h_input_tokens,
        )

    @property
    def kind(self) -> str:
        if BATCH_RESULTS.fullmatch(self.path):
            return "batch"
        return "count_tokens" if self.path.endswith("count_tokens") else ("stream" if self.streamed else "create")


_SEALED_FIELDS = tuple(f.name for f in dataclasses.fields(Record)
                       if f.name not in ("time", "seal", "request_body", "response"))
_FALLBACK_ENCODER = json.JSONEncoder(sort_keys=True, default=repr)


def _sealed_bytes(value: Any) -> bytes:
    """``value`` as bytes for the seal: ``marshal`` (version 2, which writes no back-references, so equal values
    give equal bytes) for the plain values a record holds, many times faster than JSON; anything else by its
    JSON or ``repr``, under another prefix, so that a value swapped for a look-alike of another type differs."""
    try:
        return b"m" + marshal.dumps(value, 2)
    except ValueError:
        return b"j" + _FALLBACK_ENCODER.encode(value).encode("utf-8", "surrogatepass")


def _make_sealer() -> tuple[Callable[..., Record], Callable[[Any], bool], Callable[[Record], bool]]:
    """(seal, sealed_by_kit, just_sealed) around a key made for this process; the key lives only in their closure."""
    key = secrets.token_bytes(32)
    fresh = threading.local()  # the record this thread sealed last, until the log takes it

    def digest(record: Record) -> str:
        fields = (repr(record.time), *[getattr(record, name) for name in _SEALED_FIELDS])
        mac = hmac.new(key, _sealed_bytes(fields), hashlib.sha256)
        mac.update(b"\0" + record.request_body + b"\0")
        mac.update(_sealed_bytes(record.response))
        return mac.hexdigest()

    def seal(record: Record, *, in_place: bool = False) -> Record:
        """A sealed copy of ``record``; or ``record`` itself, sealed, when its maker holds the only reference
        (the transport, which has just made it)."""
        sealed = record if in_place else dataclasses.replace(record, seal="")
        object.__setattr__(sealed, "seal", digest(sealed))
        fresh.record = sealed
        return sealed

    def sealed_by_kit(record: Any) -> bool:
        """Whether ``record`` was made by the kit's transport and is unchanged since (fields and response alike)."""
        try:
            return type(record) is Record and hmac.compare_digest(record.seal, digest(record))
        except Exception:  # noqa: BLE001 - anything that cannot be digested is not the transport's record
            return False

    def just_sealed(record: Record) -> bool:
        """Whether ``record`` is the one ``seal`` returned last in this thread, asked once: the transport hands
        it straight to the log, so nothing can have changed it since and it need not be digested again."""
        last, fresh.record = getattr(fresh, "record", None), None
        return last is record

    return seal, sealed_by_kit, just_sealed


_seal, sealed_by_kit, _just_sealed = _make_sealer()


class RecordsView(Sequence):
    """The log's records, read-only: index, slice, iterate and count them; records enter only from the transport."""

    def __init__(self, records: list[Record]) -> None:
        self._records = records

    def __getitem__(self, index: Any) -> Any:
        found = self._records[index]
        return tuple(found) if isinstance(index, slice) else found

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records))  # a snapshot: a call that ends meanwhile does not upset the loop

    def __reversed__(self) -> Iterator[Record]:
        return reversed(list(self._records))

    def __repr__(self) -> str:
        return f"<{len(self._records)} usage records, read-only>"


class UsageLog:
    """Process-wide list of ``Record``, read-only for its readers; listeners are called with each new record."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        # Running totals: reading them stays cheap however long the session.
        self._totals = [0.0, 0, 0]  # cost, input tokens, output tokens
        self._listeners: list[Callable[[Record], None]] = []
        self._lock = threading.Lock()

    @property
    def records(self) -> RecordsView:
        return RecordsView(self._records)

    @property
    def total_cost_usd(self) -> float:
        return self._totals[0]

    @property
    def total_input_tokens(self) -> int:
        return self._totals[1]

    @property
    def total_output_tokens(self) -> int:
        return self._totals[2]

    def add(self, record: Any) -> None:
        raise PermissionError("the usage log is written only by the kit's own transport, one record per call a "
                              "client from connect() makes: make the call to have it logged.")

    def _add(self, record: Record) -> None:
        """The transport's way in: only a record it sealed is taken."""
        if not (_just_sealed(record) or sealed_by_kit(record)):
            raise PermissionError("this record was not made by the kit's transport (or was changed since)")
        with self._lock:
            # Calls are listed in the order they were made: a stream is recorded when it ends,
            # possibly after a call that started later.
            bisect.insort(self._records, record, key=lambda r: r.sent_at)
            self._totals[0] += record.cost_usd
            if record.kind != "count_tokens":  # a count uses no tokens: it only reports how many a request would
                self._totals[1] += record.input_tokens
                self._totals[2] += record.output_tokens
            listeners = list(self._listeners)
        _notify(listeners, record)

    def _restore(self, records: Sequence[Record]) -> None:
        """Put back records this log (or another) held before, as a test does between learners: sealed ones only."""
        if not all(sealed_by_kit(r) for r in records):
            raise PermissionError("only records made by the kit's transport can be put back")
        with self._lock:
            self._records[:] = sorted(records, key=lambda r: r.sent_at)
            counted = [r for r in self._records if r.kind != "count_tokens"]
            self._totals = [sum(r.cost_usd for r in self._records), sum(r.input_tokens for r in counted),
                            sum(r.output_tokens for r in counted)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._totals = [0.0, 0, 0]
            listeners = list(self._listeners)
        _notify(listeners, None)

    def subscribe(self, listener: Callable[[Optional[Record]], None]) -> Callable[[], None]:
        """Call ``listener(record)`` for every new record (``None`` after ``clear``); returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def find(self, message_id: str) -> Optional[Record]:
        """The record of the call that produced the message with this id."""
        for record in reversed(self._records):
            if record.message_id == message_id:
                return record
        return None

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"UsageLog({len(self._records)} calls, {self.total_input_tokens} input / {self.total_output_tokens} output tokens, ${self.total_cost_usd:.6f})"


usage_log = UsageLog()


def _notify(listeners: list[Callable[[Optional[Record]], None]], record: Optional[Record]) -> None:
    """Call every listener; one that raises is reported and skipped, never passed on to the call."""
    for listener in listeners:
        try:
            listener(record)
        except Exception as error:  # noqa: BLE001 - a listener must never break or repeat a call
            name = getattr(listener, "__qualname__", None) or repr(listener)
            warnings.warn(f"A usage log listener ({name}) raised {type(error).__name__}: {error}. "
                          "The call itself was made once and recorded; only this listener missed it.",
                          RecordingWarning, stacklevel=2)


def _json(data: bytes) -> Optional[Any]:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _cost(model: Optional[str], input_tokens: int, output_tokens: int, usage: Optional[dict] = None,
          split: Optional[dict] = None) -> float:
    """Dollars for one call: input, output, the prompt-cache writes and reads (``split``: ``_cache_split(usage)``,
    when made already) and the server-tool uses (web searches) the usage reports, at the catalog's prices."""
    entry = catalog.lookup(model) if model else None
    if entry is None:
        return 0.0
    return entry.price.cost_usd(input_tokens, output_tokens, **(split or _cache_split(usage or {}))) + \
        catalog.server_tool_fees_usd(usage or {})


def _cache_split(usage: dict) -> dict:
    written = _count(usage.get("cache_creation_input_tokens"))
    split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
    hour = min(_count(split.get("ephemeral_1h_input_tokens")), written)
    return {"cache_read": _count(usage.get("cache_read_input_tokens")), "cache_write_5m": written - hour,
            "cache_write_1h": hour}


def _record(path: str, request_body: bytes, status: int, response: Optional[dict], headers: httpx2.Headers,
            started: float, offline: bool, streamed: bool, complete: bool = True,
            text_deltas: tuple[int, ...] = ()) -> Record:
    body = response if isinstance(response, dict) else {}
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    model = body.get("model") if isinstance(body.get("model"), str) else None
    input_tokens = _count(usage.get("input_tokens")) or _count(body.get("input_tokens"))
    output_tokens = _count(usage.get("output_tokens"))
    counted_only = path.endswith("count_tokens")
    split = _cache_split(usage)
    return Record(
        time=datetime.now(timezone.utc),
        path=path,
        status=status,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_input_tokens=_count(usage.get("cache_read_input_tokens")),
        cache_creation_input_tokens=_count(usage.get("cache_creation_input_tokens")),
        cache_creation_1h_input_tokens=split["cache_write_1h"],
        stop_reason=body.get("stop_reason") if isinstance(body.get("stop_reason"), str) else None,
        latency_s=time.perf_counter() - started,
        cost_usd=0.0 if counted_only or status != 200 else _cost(model, input_tokens, output_tokens, usage, split) * (
            catalog.batch_multiplier() if BATCH_RESULTS.fullmatch(path) else 1.0),
        offline=offline,
        streamed=streamed,
        request_body=request_body,
        response=response,
        request_id=headers.get("request-id"),
        message_id=body.get("id") if body.get("type") == "message" and isinstance(body.get("id"), str) else None,
        sent_at=started,
        complete=complete,
        text_deltas=text_deltas,
    )


def _count(value: Any) -> int:
    """A token count from a response; anything that is not a non-negative integer counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class _StreamedMessage:
    """Rebuilds the message's id, model, stop reason and usage from the SSE bytes as they pass."""

    def __init__(self) -> None:
        self._buffer = b""
        self.message: dict = {}
        self.ended = False  # message_stop seen: the usage in ``message`` is the API's final count
        self.text_deltas: list[int] = []  # the length of each text_delta, in order: the pieces text_stream yields

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            for line in event.splitlines():
                if line.startswith(b"data:"):
                    self._apply(_json(line[5:].strip()))

    def _apply(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if data.get("type") == "message_start" and isinstance(data.get("message"), dict):
            self.message = dict(data["message"])
        elif data.get("type") == "message_delta":
            delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
            self.message.update(delta)
            usage = dict(self.message.get("usage") or {}) if isinstance(self.message.get("usage"), dict) else {}
            extra = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            usage.update({k: v for k, v in extra.items() if v is not None})
            self.message["usage"] = usage
        elif data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict):
            if data["delta"].get("type") == "text_delta" and isinstance(data["delta"].get("text"), str):
                self.text_deltas.append(len(data["delta"]["text"]))
        elif data.get("type") == "message_stop":
            self.ended = True


class _StreamRecording:
    """What a tapped stream needs to record itself once; kept apart from the tap so that a
    finalizer can hold it without keeping the tap alive."""

    def __init__(self, on_done: Callable[["_StreamedMessage"], None]):
        self.parser = _StreamedMessage()
        self._on_done = on_done
        self._lock = threading.Lock()
        self._done = False

    def finish(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._on_done(self.parser)


# Streams dropped without being read to the end or closed. Their finalizer runs during garbage
# collection, possibly while this thread holds a lock, so it only queues them (deque.append is
# atomic); they are recorded at the next recorded request or spending check.
_dropped: "collections.deque[_StreamRecording]" = collections.deque()


def record_dropped_streams() -> None:
    """Record the streams that were dropped unread since the last call."""
    while True:
        try:
            recording = _dropped.popleft()
        except IndexError:
            return
        recording.finish()


class _Tap(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, stream: Any, recording: _StreamRecording):
        self._stream = stream
        self._recording = recording
        self._finalizer = weakref.finalize(self, _dropped.append, recording)
        self._finalizer.atexit = False

    def _finish(self) -> None:
        self._finalizer.detach()
        self._recording.finish()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            self._recording.parser.feed(chunk)
            yield chunk
        self._finish()

    async def __aiter__(self):
        async for chunk in self._stream:
            self._recording.parser.feed(chunk)
            yield chunk
        self._finish()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._finish()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._finish()


# Failures that happen before the request reaches the server: nothing can have been generated.
NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.UnsupportedProtocol, httpx2.LocalProtocolError)


def _no_response(watcher: Optional[CallWatcher], error: BaseException) -> None:
    """The transport raised. If the request may have reached the server (a read timeout, a dropped
    connection), the API may still have generated and billed the reply: the call is not complete."""
    if watcher is not None:
        watcher.finished(None, isinstance(error, NEVER_SENT))


def _is_stream(response: httpx2.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _kit_transports() -> tuple[type, ...]:
    """The transports whose calls the log records: the offline backend's and the SDK's own (live)."""
    from .offline.transport import OfflineTransport  # here: the offline backend imports more than the log needs

    return OfflineTransport, httpx2.HTTPTransport, httpx2.AsyncHTTPTransport


class RecordingTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Wraps a real transport and logs each Messages API call in ``log``."""

    def __init__(self, inner: Any, *, offline: bool, log: UsageLog = usage_log, guard: Any = None):
        self.inner = inner
        self.offline = offline
        self.log = log
        self.guard = guard  # a budget.TransportGuard: the spending limit checked here, for each attempt
        # Only what the kit's own transports carried is evidence: a made-up transport's replies are not sealed.
        self._seals = type(inner) in _kit_transports()

    def _recorded(self, request: httpx2.Request) -> bool:
        return request.method == "POST" and request.url.path.rstrip("/") in RECORDED_PATHS

    @staticmethod
    def _batch_results(request: httpx2.Request) -> bool:
        return request.method == "GET" and BATCH_RESULTS.fullmatch(request.url.path.rstrip("/")) is not None

    def _log_batch_results(self, request: httpx2.Request, response: httpx2.Response, started: float) -> None:
        """One record per succeeded request of a batch's results, once however often they are read."""
        if response.status_code != 200:
            return
        path = request.url.path.rstrip("/")
        for line in response.content.splitlines():
            entry = _json(line)
            result = entry.get("result") if isinstance(entry, dict) else None
            message = result.get("message") if isinstance(result, dict) and result.get("type") == "succeeded" else None
            if not isinstance(message, dict) or (isinstance(message.get("id"), str) and self.log.find(message["id"])):
                continue
            self._add(lambda m=message: _record(path, b"", 200, m, response.headers, started, self.offline, False),
                      None, True)

    def _add(self, make: Callable[[], Record], watcher: Optional[CallWatcher], complete: bool) -> None:
        """Make and add the record, then tell the watcher; nothing raised here reaches the SDK."""
        record = None
        try:
            record = make()
            if self._seals:
                record = _seal(record, in_place=True)  # made just above: nobody else holds it yet
            self.log._add(record)
        except Exception as error:  # noqa: BLE001 - see the module docstring
            warnings.warn(f"The usage log could not record a call ({type(error).__name__}: {error}); "
                          "the call itself was not affected.", RecordingWarning, stacklevel=2)
            complete = False  # the spending limit then counts the most the call could have cost
        if watcher is not None:
            watcher.finished(record, complete)

    def _finish(self, request: httpx2.Request, response: httpx2.Response, started: float,
                watcher: Optional[CallWatcher], streamed: bool) -> httpx2.Response:
        path = request.url.path.rstrip("/")
        sent = request.content
        if streamed:
            status, headers = response.status_code, response.headers  # not the response: it holds the tap

            def done(parser: _StreamedMessage) -> None:
                self._add(lambda: _record(path, sent, status, parser.message, headers, started, self.offline, True,
                                          complete=parser.ended, text_deltas=tuple(parser.text_deltas)),
                          watcher, parser.ended)
            response.stream = _Tap(response.stream, _StreamRecording(done))
            return response

        def made() -> Record:
            # A streaming request that failed before its stream began still counts as a stream call.
            parsed = _json(sent) if response.status_code != 200 else None
            asked_to_stream = isinstance(parsed, dict) and parsed.get("stream") is True
            return _record(path, sent, response.status_code, _json(response.content), response.headers, started,
                           self.offline, asked_to_stream)
        self._add(made, watcher, True)
        return response

    def _watcher(self) -> Optional[CallWatcher]:
        watcher = watching.get()
        return watcher if watcher is not None and watcher.claim() else None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.guard is not None:
            return self.guard.handle(request, self._recorded_request)
        return self._recorded_request(request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.guard is not None:
            return await self.guard.ahandle(request, self._recorded_async_request)
        return await self._recorded_async_request(request)

    def _recorded_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._batch_results(request):
            started = time.perf_counter()
            response = self.inner.handle_request(request)
            response.read()
            self._log_batch_results(request, response, started)
            return response
        if not self._recorded(request):
            return self.inner.handle_request(request)
        record_dropped_streams()
        watcher = self._watcher()
        request.read()
        started = time.perf_counter()
        response = self._send(lambda: self.inner.handle_request(request), watcher)
        streamed = _is_stream(response)
        if not streamed:
            response.read()
        return self._finish(request, response, started, watcher, streamed)

    async def _recorded_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._batch_results(request):
            started = time.perf_counter()
            response = await self.inner.handle_async_request(request)
            await response.aread()
            self._log_batch_results(request, response, started)
            return response
        if not self._recorded(request):
            return await self.inner.handle_async_request(request)
        record_dropped_streams()
        watcher = self._watcher()
        await request.aread()
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as error:
            _no_response(watcher, error)
            raise
        streamed = _is_stream(response)
        if not streamed:
            await response.aread()
        return self._finish(request, response, started, watcher, streamed)

    @staticmethod
    def _send(send: Callable[[], httpx2.Response], watcher: Optional[CallWatcher]) -> httpx2.Response:
        try:
            return send()
        except BaseException as error:
            _no_response(watcher, error)
            raise

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
