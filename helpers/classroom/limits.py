"""Per-learner rate limits: requests per minute (a token bucket with a burst) and calls at once; and how much a
learner may store with the Files API (``FileLimits``, kept by the store).

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


MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """What one learner may upload: the API itself takes files of up to 500 MB and 100 GB for the whole
    organisation (https://platform.claude.com/docs/en/build-with-claude/files, "File storage and limits"), which a
    class shares; a lesson's PDFs and images are a few MB."""

    per_file_bytes: int = 32 * MB
    """One file at most (32 MB: as large as a whole Messages request may be)."""
    per_learner_bytes: int = 256 * MB
    """All of a learner's files together at most; deleting one frees its room."""


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


@dataclass(frozen=True)
class Standing:
    """A learner's request limit as the API's ``anthropic-ratelimit-requests-*`` headers give it."""

    limit: int
    remaining: int
    reset_s: float  # seconds until the bucket is full again


def standing(limiter: RateLimiter, learner_id: int) -> Standing:
    now = limiter._clock()
    rate = limiter.limits.per_minute / 60.0
    burst = float(limiter.limits.burst)
    with limiter._lock:
        level, then = limiter._buckets.get(learner_id, (burst, now))
    level = min(burst, level + (now - then) * rate)
    return Standing(int(limiter.limits.per_minute), int(level), (burst - level) / rate if rate > 0 else 0.0)


class GuessThrottle:
    """Slows one address that keeps sending bad tokens: after ``free`` failures, each further request from it
    with a token not seen to work waits out a penalty (1 s, doubling to ``longest_s``) and is answered 429
    without a look at the database. A token that has worked before is checked as usual, so learners who share
    the address (a room behind one router) are not held up by someone else's typos; a success from the address
    does not lift the penalty for other tokens."""

    def __init__(self, free: int = 5, longest_s: float = 60.0, forget_after_s: float = 600.0, clock=time.monotonic,
                 known_size: int = 4096):
        self.free = free
        self.longest_s = longest_s
        self.forget_after_s = forget_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (failures, when the penalty ends)
        self._known: dict[str, None] = {}  # tokens that authenticated, most recent last
        self._known_size = known_size

    def wait_s(self, address: str, token: str) -> int:
        """0 if this request may be checked now, else the seconds to wait before trying again."""
        with self._lock:
            if token in self._known:
                return 0
            failures, until = self._failures.get(address, (0, 0.0))
            left = until - self._clock()
            return max(1, math.ceil(left)) if failures >= self.free and left > 0 else 0

    def failed(self, address: str, token: str) -> None:
        if not token:  # no credential at all is no guess (a browser's first look, a missing variable)
            return
        now = self._clock()
        with self._lock:
            self._known.pop(token, None)
            failures, until = self._failures.get(address, (0, 0.0))
            if until and now - until > self.forget_after_s:
                failures = 0
            failures += 1
            penalty = min(self.longest_s, 2.0 ** (failures - self.free)) if failures >= self.free else 0.0
            self._failures[address] = (failures, now + penalty)
            if len(self._failures) > 65536:  # a flood of addresses: forget the oldest half
                for stale in list(self._failures)[:32768]:
                    del self._failures[stale]

    def worked(self, token: str) -> None:
        with self._lock:
            self._known.pop(token, None)
            self._known[token] = None
            if len(self._known) > self._known_size:
                del self._known[next(iter(self._known))]
