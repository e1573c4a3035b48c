"""The usage log: one record per Messages API call made through ``connect()``/``aconnect()``.

Clients from ``connect`` carry a recording transport around their real one
(offline or live), so every ``create``, ``stream`` and ``count_tokens`` call is
logged with its tokens, stop reason, latency and cost, with no change to lesson
code. Streamed replies are recorded when their stream ends.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional

import httpx2

from . import catalog

RECORDED_PATHS = ("/v1/messages", "/v1/messages/count_tokens")


@dataclass
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

    @property
    def request(self) -> Optional[dict]:
        """The JSON body that was sent (parsed when first asked for: most records are never read)."""
        if not hasattr(self, "_request"):
            parsed = _json(self.request_body)
            self._request = parsed if isinstance(parsed, dict) else None
        return self._request

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
        return "count_tokens" if self.path.endswith("count_tokens") else ("stream" if self.streamed else "create")


class UsageLog:
    """Process-wide list of ``Record``; listeners are called with each new record."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        # Running totals: reading them stays cheap however long the session.
        self.total_cost_usd = 0.0
        self.total_input_tokens = 0
        self.total_output_tokens = 0
        self._listeners: list[Callable[[Record], None]] = []
        self._lock = threading.Lock()

    def add(self, record: Record) -> None:
        with self._lock:
            # Calls are listed in the order they were made: a stream is recorded when it ends,
            # possibly after a call that started later.
            bisect.insort(self.records, record, key=lambda r: r.sent_at)
            self.total_cost_usd += record.cost_usd
            if record.kind != "count_tokens":  # a count uses no tokens: it only reports how many a request would
                self.total_input_tokens += record.input_tokens
                self.total_output_tokens += record.output_tokens
            listeners = list(self._listeners)
        for listener in listeners:
            listener(record)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()
            self.total_cost_usd, self.total_input_tokens, self.total_output_tokens = 0.0, 0, 0
        for listener in list(self._listeners):
            listener(None)

    def subscribe(self, listener: Callable[[Optional[Record]], None]) -> Callable[[], None]:
        """Call ``listener(record)`` for every new record (``None`` after ``clear``); returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def find(self, message_id: str) -> Optional[Record]:
        """The record of the call that produced the message with this id."""
        for record in reversed(self.records):
            if record.message_id == message_id:
                return record
        return None

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"UsageLog({len(self.records)} calls, {self.total_input_tokens} input / {self.total_output_tokens} output tokens, ${self.total_cost_usd:.6f})"


usage_log = UsageLog()


def _json(data: bytes) -> Optional[Any]:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _cost(model: Optional[str], input_tokens: int, output_tokens: int, usage: dict) -> float:
    entry = catalog.lookup(model) if model else None
    return entry.price.cost_usd(input_tokens, output_tokens, **_cache_split(usage)) if entry else 0.0


def _cache_split(usage: dict) -> dict:
    written = usage.get("cache_creation_input_tokens") or 0
    hour = ((usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0)
    return {"cache_read": usage.get("cache_read_input_tokens") or 0, "cache_write_5m": written - hour,
            "cache_write_1h": hour}


def _record(path: str, request_body: bytes, status: int, response: Optional[dict], headers: httpx2.Headers,
            started: float, offline: bool, streamed: bool) -> Record:
    body = response if isinstance(response, dict) else {}
    usage = body.get("usage") or {}
    model = body.get("model")
    input_tokens = usage.get("input_tokens") or body.get("input_tokens") or 0
    output_tokens = usage.get("output_tokens") or 0
    counted_only = path.endswith("count_tokens")
    return Record(
        time=datetime.now(timezone.utc),
        path=path,
        status=status,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_input_tokens=usage.get("cache_read_input_tokens") or 0,
        cache_creation_input_tokens=usage.get("cache_creation_input_tokens") or 0,
        cache_creation_1h_input_tokens=(usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens") or 0,
        stop_reason=body.get("stop_reason"),
        latency_s=time.perf_counter() - started,
        cost_usd=0.0 if counted_only or status != 200 else _cost(model, input_tokens, output_tokens, usage),
        offline=offline,
        streamed=streamed,
        request_body=request_body,
        response=response,
        request_id=headers.get("request-id"),
        message_id=body.get("id") if body.get("type") == "message" else None,
        sent_at=started,
    )


class _StreamedMessage:
    """Rebuilds the message's id, model, stop reason and usage from the SSE bytes as they pass."""

    def __init__(self) -> None:
        self._buffer = b""
        self.message: dict = {}

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
        if data.get("type") == "message_start":
            self.message = dict(data.get("message") or {})
        elif data.get("type") == "message_delta":
            self.message.update({k: v for k, v in (data.get("delta") or {}).items()})
            usage = dict(self.message.get("usage") or {})
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            self.message["usage"] = usage


class _Tap(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, stream: Any, on_done: Callable[[dict], None]):
        self._stream = stream
        self._on_done = on_done
        self._parser = _StreamedMessage()
        self._done = False

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._on_done(self._parser.message)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            self._parser.feed(chunk)
            yield chunk
        self._finish()

    async def __aiter__(self):
        async for chunk in self._stream:
            self._parser.feed(chunk)
            yield chunk
        self._finish()

    def close(self) -> None:
        self._finish()
        self._stream.close()

    async def aclose(self) -> None:
        self._finish()
        await self._stream.aclose()


class RecordingTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Wraps a real transport and logs each Messages API call in ``log``."""

    def __init__(self, inner: Any, *, offline: bool, log: UsageLog = usage_log):
        self.inner = inner
        self.offline = offline
        self.log = log

    def _recorded(self, request: httpx2.Request) -> bool:
        return request.method == "POST" and request.url.path.rstrip("/") in RECORDED_PATHS

    def _finish(self, request: httpx2.Request, response: httpx2.Response, started: float) -> httpx2.Response:
        path = request.url.path.rstrip("/")
        sent = request.content
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            def done(message: dict) -> None:
                self.log.add(_record(path, sent, response.status_code, message, response.headers, started, self.offline, True))
            response.stream = _Tap(response.stream, done)
            return response
        # A streaming request that failed before its stream began still counts as a stream call.
        parsed = _json(sent) if response.status_code != 200 else None
        asked_to_stream = isinstance(parsed, dict) and parsed.get("stream") is True
        self.log.add(_record(path, sent, response.status_code, _json(response.content), response.headers, started,
                             self.offline, asked_to_stream))
        return response

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self._recorded(request):
            return self.inner.handle_request(request)
        request.read()
        started = time.perf_counter()
        response = self.inner.handle_request(request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()
        return self._finish(request, response, started)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self._recorded(request):
            return await self.inner.handle_async_request(request)
        await request.aread()
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
        return self._finish(request, response, started)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
