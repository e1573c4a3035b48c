"""A spending limit for the clients from ``connect()``: calls beyond it are refused before they are sent.

    helpers.budget(max_usd=0.50)            # refuse new calls once $0.50 is spent
    helpers.budget(max_tokens=200_000)      # ... or once 200,000 tokens (input + output) are used
    helpers.budget(None)                    # no limit

Spending is read from ``helpers.usage_log`` (clearing the log starts the count again).
The check runs as SDK middleware, so the refusal is raised before any HTTP request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from anthropic import Middleware

from .usage import UsageLog, usage_log

GUARDED_PATHS = ("/v1/messages",)


class BudgetExceeded(RuntimeError):
    """A call was refused because the spending limit is reached; nothing was sent."""


@dataclass
class Budget:
    max_usd: Optional[float] = None
    max_tokens: Optional[int] = None

    def refusal(self, log: UsageLog) -> Optional[str]:
        """Why a new call must be refused now, or None."""
        spent, used = log.total_cost_usd, log.total_input_tokens + log.total_output_tokens
        if self.max_usd is not None and spent >= self.max_usd:
            return (f"Spending limit reached: ${spent:.6f} spent of the ${self.max_usd:g} limit, so this call was not sent. "
                    f"Raise it with helpers.budget(max_usd=...), or remove it with helpers.budget(None).")
        if self.max_tokens is not None and used >= self.max_tokens:
            return (f"Token limit reached: {used:,} tokens used of the {self.max_tokens:,} limit, so this call was not sent. "
                    f"Raise it with helpers.budget(max_tokens=...), or remove it with helpers.budget(None).")
        return None


_current = Budget()


def budget(max_usd: Optional[float] = None, *, max_tokens: Optional[int] = None) -> Budget:
    """Set the limit for every client from ``connect()``/``aconnect()``; no arguments removes it."""
    for name, value in (("max_usd", max_usd), ("max_tokens", max_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{name} must be a non-negative number, or None for no limit; got {value!r}")
    _current.max_usd, _current.max_tokens = max_usd, max_tokens
    return _current


def current() -> Budget:
    return _current


class BudgetGuard(Middleware):
    """SDK middleware refusing Messages calls once the budget is used up."""

    def __init__(self, log: UsageLog = usage_log):
        self.log = log

    def _check(self, request: Any) -> None:
        if _current.max_usd is None and _current.max_tokens is None:
            return
        if request.method.lower() == "post" and request.url.rstrip("/") in GUARDED_PATHS:
            reason = _current.refusal(self.log)
            if reason:
                raise BudgetExceeded(reason)

    def handle(self, request, call_next):
        self._check(request)
        return call_next(request)

    async def handle_async(self, request, call_next):
        self._check(request)
        return await call_next(request)
