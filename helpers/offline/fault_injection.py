"""Fault injection: make the next calls fail the way the real API or network can.

    with faults("rate_limit", times=2, retry_after=0.1):
        client.messages.create(...)   # two 429s, then the SDK's third try succeeds

Faults are process-wide, so they reach the in-process transport and a loopback
server running in the same process. Each call takes one fault from the oldest
active plan; a ``stream_error`` plan is only taken by streaming calls.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

from .errors import ApiError
from .wording import say

STATUS_FAULTS = {
    "rate_limit": ("rate_limit_error", "rate_limited"),
    "overloaded": ("overloaded_error", "overloaded"),
    "api_error": ("api_error", "api_error"),
    "gateway_timeout": ("timeout_error", "timeout_error"),
    "authentication": ("authentication_error", "authentication_error"),
    "permission": ("permission_error", "permission_error"),
    "billing": ("billing_error", "billing_error"),
}
NETWORK_FAULTS = ("timeout", "disconnect")
STREAM_FAULTS = ("stream_error",)
KINDS = tuple(STATUS_FAULTS) + NETWORK_FAULTS + STREAM_FAULTS
DEFAULT_RETRY_AFTER = {"rate_limit": 1.0}


@dataclass(eq=False)
class Fault:
    kind: str
    remaining: int
    retry_after: Optional[float] = None
    after_deltas: int = 2
    stall_s: float = 2.0

    def error(self) -> ApiError:
        """The API error for a status fault, with its retry-after header when it has one."""
        error_type, wording = STATUS_FAULTS[self.kind]
        headers = {"retry-after": f"{self.retry_after:g}"} if self.retry_after is not None else {}
        return ApiError(error_type, say(wording), headers=headers)

    def stream_error(self) -> dict:
        return {"type": "error", "error": {"type": "overloaded_error", "message": say("overloaded")}}


_lock = threading.Lock()
_plans: list[Fault] = []


@contextmanager
def faults(
    kind: str,
    times: int = 1,
    *,
    retry_after: Optional[float] = None,
    after_deltas: int = 2,
    stall_s: float = 2.0,
) -> Iterator[Fault]:
    """Make the next ``times`` calls fail with ``kind`` (one of ``KINDS``) inside the block.

    ``retry_after`` (seconds) is sent as the ``retry-after`` header; ``after_deltas`` is how
    many content deltas a ``stream_error`` lets through; ``stall_s`` is how long the loopback
    server stalls before dropping a ``timeout`` call (the in-process transport times out at once).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}; choose one of: {', '.join(KINDS)}")
    if times < 1:
        raise ValueError("times must be at least 1")
    if retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER.get(kind)
    plan = Fault(kind, times, retry_after, after_deltas, stall_s)
    with _lock:
        _plans.append(plan)
    try:
        yield plan
    finally:
        with _lock:
            if plan in _plans:
                _plans.remove(plan)


def take(streaming: bool) -> Optional[Fault]:
    """The fault this call meets, if any (and one fewer left in its plan)."""
    with _lock:
        for plan in _plans:
            if plan.remaining > 0 and (streaming or plan.kind not in STREAM_FAULTS):
                plan.remaining -= 1
                return plan
    return None


def clear() -> None:
    with _lock:
        _plans.clear()
