"""A spending limit for the clients from ``connect()``: calls beyond it are refused before they are sent.

    helpers.budget(max_usd=0.50)            # refuse new calls once $0.50 is spent
    helpers.budget(max_tokens=200_000)      # ... or once 200,000 tokens (input + output) are used
    helpers.budget(None)                    # no limit

Spending is read from ``helpers.usage_log`` (clearing the log starts the count again).
The check runs as SDK middleware, once per HTTP attempt, so a refusal is raised before
anything is sent.

Calls that overlap (threads, ``asyncio.gather``, open streams) are counted before their
usage is known: each call in flight holds the most it can cost (``helpers/call_bound.py``),
and a call is let through only while the spending recorded plus those holds is under the
limit. A hold is settled when the usage log records the call: then the call counts what
the API reported (nothing for an error). When the final usage never arrives (a stream
closed or dropped before its end, a connection lost after the request went out), the call
keeps counting its whole hold, as the API may have generated up to ``max_tokens``.
So spending never passes the limit by more than the cost of one call, the last one let
through, whatever the concurrency.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional

from anthropic import Middleware

from .call_bound import CallBound, bound
from .usage import CallWatcher, Record, UsageLog, record_dropped_streams, usage_log, watching

GUARDED_PATHS = ("/v1/messages",)
BATCHES_PATH = "/v1/messages/batches"


class BudgetExceeded(RuntimeError):
    """A call was refused because the spending limit is reached; nothing was sent."""


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
        self.held_usd, self.held_tokens = 0.0, 0
        # What calls without a final usage may have cost beyond what their record shows.
        self.unreported_usd, self.unreported_tokens = 0.0, 0
        log.subscribe(self._log_changed)

    def _log_changed(self, record: Optional[Record]) -> None:
        if record is None:  # the log was cleared: the count starts again
            with self._lock:
                self.unreported_usd, self.unreported_tokens = 0.0, 0

    @property
    def spent_usd(self) -> float:
        return self.log.total_cost_usd + self.unreported_usd

    @property
    def used_tokens(self) -> int:
        return self.log.total_input_tokens + self.log.total_output_tokens + self.unreported_tokens

    @property
    def in_flight(self) -> int:
        return len(self._holds)

    def refusal(self, limit: Budget, call: Optional[CallBound] = None) -> Optional[str]:
        """Why a new call must be refused now, or None."""
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
        return None

    def _words(self, what: str, spent: str, held: str, limit: str, option: str) -> str:
        fix = f"aise it with helpers.budget({option}=...), or remove it with helpers.budget(None)."
        if not self._holds and not (self.unreported_usd or self.unreported_tokens):
            return f"{what} reached: {spent} of {limit}, so this call was not sent. R{fix}"
        unreported = (" (counting in full the calls whose final usage never came: streams closed before their end, "
                      "or connections lost after sending)" if self.unreported_usd or self.unreported_tokens else "")
        if not self._holds:
            return f"{what} reached: {spent}{unreported} of {limit}, so this call was not sent. R{fix}"
        return (f"{what} reached: {spent}{unreported} and up to {held} held for {len(self._holds)} call(s) still in "
                f"progress, of {limit}, so this call was not sent. Wait for those calls to finish, or r{fix}")

    def admit(self, limit: Budget, body: Any) -> _Hold:
        """A hold for a new call, or BudgetExceeded when the limit does not leave room for it."""
        record_dropped_streams()
        call = bound(body)
        with self._lock:
            reason = self.refusal(limit, call)
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


_ledgers: "weakref.WeakKeyDictionary[UsageLog, Ledger]" = weakref.WeakKeyDictionary()
_ledgers_lock = threading.Lock()


def ledger_for(log: UsageLog = usage_log) -> Ledger:
    with _ledgers_lock:
        if log not in _ledgers:
            _ledgers[log] = Ledger(log)
        return _ledgers[log]


class BudgetGuard(Middleware):
    """SDK middleware refusing Messages calls once the budget is used up."""

    def __init__(self, log: UsageLog = usage_log):
        self.ledger = ledger_for(log)

    def _admit(self, request: Any) -> Optional[_Hold]:
        if not _current.active or request.method.lower() != "post":
            return None
        path = request.url.split("?", 1)[0].rstrip("/")  # the beta endpoints add "?beta=true"
        if path == BATCHES_PATH:
            raise BudgetExceeded("This batch was not sent: a spending limit is set, and a batch's cost is known only "
                                 "when its results arrive, so the limit could not hold. Remove the limit with "
                                 "helpers.budget(None) to send batches.")
        return self.ledger.admit(_current, request.json) if path in GUARDED_PATHS else None

    @staticmethod
    def _after(hold: _Hold) -> None:
        # The recording transport settles the holds it claimed. One it never saw: the call failed before
        # reaching it (nothing was sent), or the client records nothing (its own http_client), so the
        # limit cannot follow that call further.
        if not hold.claimed:
            hold.finished(None, True)

    def handle(self, request, call_next):
        hold = self._admit(request)
        if hold is None:
            return call_next(request)
        token = watching.set(hold)
        try:
            response = call_next(request)
        except BaseException:
            self._after(hold)
            raise
        finally:
            watching.reset(token)
        self._after(hold)
        return response

    async def handle_async(self, request, call_next):
        hold = self._admit(request)
        if hold is None:
            return await call_next(request)
        token = watching.set(hold)
        try:
            response = await call_next(request)
        except BaseException:
            self._after(hold)
            raise
        finally:
            watching.reset(token)
        self._after(hold)
        return response
