"""A spending limit for the clients from ``connect()``: calls beyond it are refused before they are sent.

    helpers.budget(max_usd=0.50)            # refuse new calls once $0.50 is spent
    helpers.budget(max_tokens=200_000)      # ... or once 200,000 tokens (input + output) are used
    helpers.budget(None)                    # no limit

Spending is read from ``helpers.usage_log`` (clearing the log starts the count again).
The check runs once per HTTP attempt, before anything is sent: in the kit's recording
transport for offline clients (``TransportGuard``), as SDK middleware for the others and for
clients given middleware of the caller's (``BudgetGuard``, first, so that the caller's middleware
sees only what the guard let through).

Calls that overlap (threads, ``asyncio.gather``, open streams) are counted before their
usage is known: each call in flight holds the most it can cost (``helpers/call_bound.py``),
and a call is let through only while the spending recorded plus those holds is under the
limit. A hold is settled when the usage log records the call: then the call counts what
the API reported (nothing for an error). When the final usage never arrives (a stream
closed or dropped before its end, a connection lost after the request went out), the call
keeps counting its whole hold, as the API may have generated up to ``max_tokens``.
So spending never passes the limit by more than the cost of one call, the last one let
through, whatever the concurrency.

A Message Batch is admitted the same way, as one call that can cost the sum of its requests'
bounds at the batch discount (``call_bound.batch_bound``). Its hold lasts until its results are
read (then the usage log holds what each succeeded request cost), so a batch that is still
processing, or that was deleted unread, counts in full until the log is cleared.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
import weakref
from urllib.parse import urlsplit
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterator, Optional

import httpx2
from anthropic import AnthropicError, Middleware

from .call_bound import CallBound, batch_bound, bound
from .usage import BATCH_RESULTS, NEVER_SENT, CallWatcher, Record, UsageLog, record_dropped_streams, usage_log, watching

GUARDED_PATHS = ("/v1/messages",)
BATCHES_PATH = "/v1/messages/batches"


class BudgetExceeded(AnthropicError, RuntimeError):
    """A call was refused because the spending limit is reached; nothing was sent.

    Also an ``anthropic.AnthropicError``: raised inside the SDK's HTTP layer (``TransportGuard``), the SDK passes
    such an error up as it is, where another would become an ``APIConnectionError`` and be retried."""


@dataclass
class Budget:
    max_usd: Optional[float] = None
    max_tokens: Optional[int] = None

    @property
    def active(self) -> bool:
        return self.max_usd is not None or self.max_tokens is not None

    def refusal(self, log: UsageLog) -> Optional[str]:
        """Why a new call must be refused now, or None."""
        return ledger_for(log).refusal(self)


_current = Budget()
_watchers: list[Callable[[Budget], None]] = []


def budget(max_usd: Optional[float] = None, *, max_tokens: Optional[int] = None) -> Budget:
    """Set the limit for every client from ``connect()``/``aconnect()``; no arguments removes it."""
    for name, value in (("max_usd", max_usd), ("max_tokens", max_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{name} must be a non-negative number, or None for no limit; got {value!r}")
    _current.max_usd, _current.max_tokens = max_usd, max_tokens
    for watcher in list(_watchers):
        try:
            watcher(_current)
        except Exception:  # noqa: BLE001 - a display that fails must not undo the new limit
            pass
    return _current


def watch(watcher: Callable[[Budget], None]) -> Callable[[], None]:
    """Call ``watcher(limit)`` whenever the limit changes (a viewer redraws its budget line); returns the
    function that stops it."""
    _watchers.append(watcher)
    return lambda: _watchers.remove(watcher) if watcher in _watchers else None


def current() -> Budget:
    return _current


class _Hold(CallWatcher):
    """The most one call in flight can cost, held until the usage log records the call."""

    def __init__(self, ledger: "Ledger", call: CallBound):
        self.ledger = ledger
        self.usd = call.usd or 0.0
        self.tokens = call.tokens
        self._claimed = False
        self._claim_lock = threading.Lock()

    def claim(self) -> bool:
        with self._claim_lock:
            claimed, self._claimed = self._claimed, True
        return not claimed

    @property
    def claimed(self) -> bool:
        return self._claimed

    def finished(self, record: Optional[Record], complete: bool) -> None:
        self.ledger.settle(self, record, complete)


class Ledger:
    """Spending of one usage log, with the holds of the calls still in flight."""

    def __init__(self, log: UsageLog):
        self.log = log
        self._lock = threading.Lock()
        self._holds: set[_Hold] = set()
        self._batches: dict[str, _Hold] = {}  # batches created under a limit whose results are not read yet
        self.held_usd, self.held_tokens = 0.0, 0
        # What calls without a final usage may have cost beyond what their record shows.
        self.unreported_usd, self.unreported_tokens = 0.0, 0
        log.subscribe(self._log_changed)

    def _log_changed(self, record: Optional[Record]) -> None:
        if record is None:  # the log was cleared: the count starts again, unread batches included
            with self._lock:
                self.unreported_usd, self.unreported_tokens = 0.0, 0
                unread, self._batches = list(self._batches.values()), {}
            for hold in unread:
                self.settle(hold, None, True)

    @property
    def spent_usd(self) -> float:
        return self.log.total_cost_usd + self.unreported_usd

    @property
    def used_tokens(self) -> int:
        return self.log.total_input_tokens + self.log.total_output_tokens + self.unreported_tokens

    @property
    def in_flight(self) -> int:
        return len(self._holds)

    def refusal(self, limit: Budget, call: Optional[CallBound] = None, whole: bool = False) -> Optional[str]:
        """Why a new call must be refused now, or None (``whole``: the call is a batch, which must fit entirely)."""
        if limit.max_usd is not None:
            if call is not None and call.usd is None:
                words = (f"This call was not sent: a spending limit of ${limit.max_usd:g} is set, and {call.unpriced}, "
                         "so the limit could not hold. ")
                if call.fix:
                    return words + call.fix + " Or remove the limit with helpers.budget(None)."
                return words + "Remove the limit with helpers.budget(None) to make this call."
            if self.spent_usd + self.held_usd >= limit.max_usd:
                return self._words("Spending limit", f"${self.spent_usd:.6f} spent", f"${self.held_usd:.6f}",
                                   f"the ${limit.max_usd:g} limit", "max_usd")
        if limit.max_tokens is not None and self.used_tokens + self.held_tokens >= limit.max_tokens:
            return self._words("Token limit", f"{self.used_tokens:,} tokens used", f"{self.held_tokens:,} tokens",
                               f"the {limit.max_tokens:,} limit", "max_tokens")
        return self._batch_refusal(limit, call) if whole else None

    def _batch_refusal(self, limit: Budget, call: CallBound) -> Optional[str]:
        """A batch is let through only if all of it fits: its requests, unlike one call, can cost any sum."""
        room_usd = None if limit.max_usd is None else limit.max_usd - self.spent_usd - self.held_usd
        room_tokens = None if limit.max_tokens is None else limit.max_tokens - self.used_tokens - self.held_tokens
        fix = ("Send fewer requests or lower their max_tokens, raise the limit with helpers.budget(...), "
               "or remove it with helpers.budget(None).")
        if room_usd is not None and call.usd is not None and call.usd > room_usd:
            return (f"This batch was not sent: its requests can cost up to ${call.usd:.6f} at the batch price, and "
                    f"${room_usd:.6f} of the ${limit.max_usd:g} limit is left. {fix}")
        if room_tokens is not None and call.tokens > room_tokens:
            return (f"This batch was not sent: its requests can use up to {call.tokens:,} tokens, and "
                    f"{room_tokens:,} of the {limit.max_tokens:,} limit are left. {fix}")
        return None

    def _words(self, what: str, spent: str, held: str, limit: str, option: str) -> str:
        fix = f"aise it with helpers.budget({option}=...), or remove it with helpers.budget(None)."
        if not self._holds and not (self.unreported_usd or self.unreported_tokens):
            return f"{what} reached: {spent} of {limit}, so this call was not sent. R{fix}"
        unreported = (" (counting in full the calls whose final usage never came: streams closed before their end, "
                      "or connections lost after sending)" if self.unreported_usd or self.unreported_tokens else "")
        if not self._holds:
            return f"{what} reached: {spent}{unreported} of {limit}, so this call was not sent. R{fix}"
        calls, batches = len(self._holds) - len(self._batches), len(self._batches)
        holders = " and ".join(part for part in (
            f"{calls} call(s) still in progress" if calls else "",
            f"{batches} batch(es) whose results are not read yet" if batches else "") if part)
        wait = "Wait for those calls to finish" if not batches else "Read the results of those batches"
        return (f"{what} reached: {spent}{unreported} and up to {held} held for {holders}, of {limit}, "
                f"so this call was not sent. {wait}, or r{fix}")

    def admit(self, limit: Budget, body: Any, batch: Optional[CallBound] = None) -> _Hold:
        """A hold for a new call (``batch``: a batch's bound, for a batch), or BudgetExceeded when the limit does not
        leave room for it."""
        record_dropped_streams()
        call = bound(body) if batch is None else batch
        with self._lock:
            reason = self.refusal(limit, call, whole=batch is not None)
            if reason:
                raise BudgetExceeded(reason)
            hold = _Hold(self, call)
            self._holds.add(hold)
            self.held_usd += hold.usd
            self.held_tokens += hold.tokens
        return hold

    def settle(self, hold: _Hold, record: Optional[Record], complete: bool) -> None:
        with self._lock:
            if hold not in self._holds:
                return  # settled already
            self._holds.discard(hold)
            self.held_usd -= hold.usd
            self.held_tokens -= hold.tokens
            if not self._holds:
                self.held_usd, self.held_tokens = 0.0, 0  # no rounding residue once nothing is held
            if not complete:
                counted = record is not None and record.kind != "count_tokens"
                self.unreported_usd += max(0.0, hold.usd - (record.cost_usd if counted else 0.0))
                self.unreported_tokens += max(0, hold.tokens - (record.input_tokens + record.output_tokens if counted else 0))


    def hold_for_batch(self, batch_id: str, hold: _Hold) -> None:
        """Keep a created batch's hold until its results are read."""
        with self._lock:
            if hold in self._holds:
                self._batches[batch_id] = hold

    def batch_results_read(self, batch_id: str) -> None:
        """The batch's results were read and logged: its hold gives way to what its requests cost."""
        with self._lock:
            hold = self._batches.pop(batch_id, None)
        if hold is not None:
            self.settle(hold, None, True)


_ledgers: "weakref.WeakKeyDictionary[UsageLog, Ledger]" = weakref.WeakKeyDictionary()
_ledgers_lock = threading.Lock()


def ledger_for(log: UsageLog = usage_log) -> Ledger:
    with _ledgers_lock:
        if log not in _ledgers:
            _ledgers[log] = Ledger(log)
        return _ledgers[log]


def _batch_results_id(method: str, path: str) -> Optional[str]:
    return path.split("/")[-2] if method.lower() == "get" and BATCH_RESULTS.fullmatch(path) else None


def _admit(ledger: Ledger, method: str, path: str, body: Callable[[], Any]) -> Optional[_Hold]:
    """A hold for a Messages call or a batch about to be sent under a limit, or None when nothing is to be held."""
    if not _current.active or method.lower() != "post":
        return None
    if path == BATCHES_PATH:
        return ledger.admit(_current, None, batch_bound(body()))
    return ledger.admit(_current, body()) if path in GUARDED_PATHS else None


def _never_sent(error: BaseException) -> bool:
    """The attempt failed before its request left (the SDK wraps the transport's error: its cause says)."""
    return any(isinstance(e, NEVER_SENT) or isinstance(e, BudgetExceeded) for e in (error, error.__cause__))


def _after(ledger: Ledger, path: str, hold: _Hold, status: Optional[int] = None, body: Any = None,
           error: Optional[BaseException] = None) -> None:
    if path == BATCHES_PATH:
        if error is not None:
            # Sent or not: a batch may have been created whose id never came back, so it counts in full.
            hold.finished(None, _never_sent(error))
        elif status != 200:
            hold.finished(None, True)  # refused: no batch was made
        elif isinstance(body, dict) and isinstance(body.get("id"), str):
            ledger.hold_for_batch(body["id"], hold)
        else:
            hold.finished(None, False)
    # The recording transport settles the holds it claimed. One it never saw: the call failed before
    # reaching it (nothing was sent), or the client records nothing (its own http_client), so the
    # limit cannot follow that call further.
    elif not hold.claimed:
        hold.finished(None, True)


def _json_or_none(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # noqa: BLE001 - an unreadable answer keeps the batch's hold
        return None


class _Attempt:
    """One HTTP attempt as either guard sees it: the hold it takes under the limit (``None``: nothing to hold),
    and what is settled once it has answered."""

    def __init__(self, ledger: Ledger, method: str, path: str, body: Callable[[], Any]):
        self.ledger, self.path = ledger, path
        self.batch_id = _batch_results_id(method, path)
        self.hold = None if self.batch_id is not None else _admit(ledger, method, path, body)

    @contextmanager
    def watched(self) -> Iterator[None]:
        """While the attempt is sent: the recording transport finds its hold, and a failure settles it."""
        token = watching.set(self.hold)
        try:
            yield
        except BaseException as error:
            _after(self.ledger, self.path, self.hold, error=error)
            raise
        finally:
            watching.reset(token)

    def unheld_answer(self, status: int) -> None:
        if self.batch_id is not None and status == 200:
            self.ledger.batch_results_read(self.batch_id)

    def wants_body(self, status: int) -> bool:
        """A created batch: its id, in the answer's body, is what its hold is kept under."""
        return self.path == BATCHES_PATH and status == 200

    def answered(self, status: int, read_json: Callable[[], Any]) -> None:
        _after(self.ledger, self.path, self.hold, status, _json_or_none(read_json) if self.wants_body(status) else None)


class BudgetGuard(Middleware):
    """SDK middleware refusing Messages calls once the budget is used up."""

    def __init__(self, log: UsageLog = usage_log):
        self.ledger = ledger_for(log)

    @staticmethod
    def _path(request: Any) -> str:
        return urlsplit(request.url).path.rstrip("/")  # the beta endpoints add "?beta=true"; results may be absolute

    def handle(self, request, call_next):
        attempt = _Attempt(self.ledger, request.method, self._path(request), lambda: request.json)
        if attempt.hold is None:
            response = call_next(request)
            attempt.unheld_answer(response.status_code)
            return response
        with attempt.watched():
            response = call_next(request)
        if attempt.wants_body(response.status_code):
            response.http_response.read()
        attempt.answered(response.status_code, response.http_response.json)
        return response

    async def handle_async(self, request, call_next):
        attempt = _Attempt(self.ledger, request.method, self._path(request), lambda: request.json)
        if attempt.hold is None:
            response = await call_next(request)
            attempt.unheld_answer(response.status_code)
            return response
        with attempt.watched():
            response = await call_next(request)
        if attempt.wants_body(response.status_code):
            await response.http_response.aread()
        attempt.answered(response.status_code, response.http_response.json)
        return response


class TransportGuard:
    """The same checks as ``BudgetGuard``, made by the kit's recording transport (``RecordingTransport(guard=...)``)
    for each HTTP attempt it carries, before the attempt goes further. ``connect()`` uses it for offline clients
    with no middleware of the caller's: there the SDK's middleware machinery would cost more per call than the
    check. ``BudgetExceeded`` is an ``anthropic.AnthropicError``, so the SDK raises it from its HTTP layer as it
    is, and never retries it."""

    def __init__(self, log: UsageLog = usage_log):
        self.ledger = ledger_for(log)

    @staticmethod
    def _body(request: httpx2.Request) -> Any:
        return json.loads(request.read() or b"null")

    def handle(self, request: httpx2.Request, send: Callable[[httpx2.Request], httpx2.Response]) -> httpx2.Response:
        if watching.get() is not None:  # a BudgetGuard above (the caller's middleware) has admitted this attempt
            return send(request)
        attempt = _Attempt(self.ledger, request.method, request.url.path.rstrip("/"), lambda: self._body(request))
        if attempt.hold is None:
            response = send(request)
            attempt.unheld_answer(response.status_code)
            return response
        with attempt.watched():
            response = send(request)
        if attempt.wants_body(response.status_code):
            response.read()
        attempt.answered(response.status_code, response.json)
        return response

    async def ahandle(self, request: httpx2.Request,
                      send: Callable[[httpx2.Request], Awaitable[httpx2.Response]]) -> httpx2.Response:
        if watching.get() is not None:
            return await send(request)
        if request.method.lower() == "post":
            await request.aread()  # the hold is the most this body can cost
        attempt = _Attempt(self.ledger, request.method, request.url.path.rstrip("/"), lambda: self._body(request))
        if attempt.hold is None:
            response = await send(request)
            attempt.unheld_answer(response.status_code)
            return response
        with attempt.watched():
            response = await send(request)
        if attempt.wants_body(response.status_code):
            await response.aread()
        attempt.answered(response.status_code, response.json)
        return response
