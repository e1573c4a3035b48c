"""Per-learner rate limits: requests per minute (a token bucket with a burst) and calls at once.

Kept in memory: a restart gives everyone a full bucket, which costs nothing (money is limited
by the budgets in the store, not here). A refusal says how long to wait, for ``retry-after``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class RateLimits:
    per_minute: float = 60.0
    """Requests per learner per minute, on average."""
    burst: int = 20
    """Requests a learner may send at once after a quiet spell."""
    concurrent: int = 8
    """Requests of one learner being answered at the same time (open streams included)."""


@dataclass(frozen=True)
class Slowed:
    reason: str  # "rate" or "concurrency"
    retry_after_s: int


class RateLimiter:
    def __init__(self, limits: RateLimits = RateLimits(), clock=time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # learner -> (tokens, when)
        self._open: dict[int, int] = {}

    def enter(self, learner_id: int) -> Optional[Slowed]:
        """None and one request admitted (call ``leave`` when it is answered), or why to wait and how long."""
        now = self._clock()
        rate = self.limits.per_minute / 60.0
        with self._lock:
            if self._open.get(learner_id, 0) >= self.limits.concurrent:
                return Slowed("concurrency", 1)
            level, then = self._buckets.get(learner_id, (float(self.limits.burst), now))
            level = min(float(self.limits.burst), level + (now - then) * rate)
            if level < 1.0:
                self._buckets[learner_id] = (level, now)
                return Slowed("rate", max(1, math.ceil((1.0 - level) / rate)) if rate > 0 else 60)
            self._buckets[learner_id] = (level - 1.0, now)
            self._open[learner_id] = self._open.get(learner_id, 0) + 1
            return None

    def leave(self, learner_id: int) -> None:
        with self._lock:
            left = self._open.get(learner_id, 0) - 1
            if left > 0:
                self._open[learner_id] = left
            else:
                self._open.pop(learner_id, None)
