"""The ``anthropic-ratelimit-*`` headers a successful Messages API response carries.

The rate-limits page (https://platform.claude.com/docs/en/api/rate-limits, "Response
headers"; mirrored at https://docs.aws.amazon.com/claude-platform/latest/userguide/rate-limits.html)
lists, for requests, tokens (input + output), input tokens and output tokens, a ``-limit``,
a ``-remaining`` and a ``-reset``: the RFC 3339 time at which that bucket is full again.
The limits below are those of a real exchange recorded in tidyllm's test fixtures
(https://rdrr.io/cran/tidyllm/src/tests/testthat/claude/api.anthropic.com/v1/messages-e050b5-POST.R):
1,000 requests, 80,000 input and 16,000 output tokens a minute, 96,000 tokens in all.

The offline backend behaves like an organization with no other traffic: each response
reports its buckets after this one request alone, so the values depend only on the
request's usage and on ``clock`` (replace it in tests: no result depends on today's date).
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

WINDOW_S = 60  # the limits are per minute, and the buckets refill continuously
REQUESTS_LIMIT = 1_000
INPUT_TOKENS_LIMIT = 80_000
OUTPUT_TOKENS_LIMIT = 16_000

clock: Callable[[], float] = time.time
"""Seconds since the epoch, as ``time.time``; the reset times are counted from it."""


def _reset(used: int, limit: int, now: float) -> str:
    """When a bucket that ``used`` took from is full again, to the second (rounded up)."""
    refill_s = WINDOW_S * min(used, limit) / limit
    return _rfc3339(math.ceil(now + refill_s))


@lru_cache(maxsize=256)  # calls in the same few seconds share their reset times
def _rfc3339(second: int) -> str:
    return datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bucket(name: str, limit: int, used: int, now: float) -> dict[str, str]:
    prefix = f"anthropic-ratelimit-{name}"
    return {
        f"{prefix}-limit": str(limit),
        f"{prefix}-remaining": str(max(0, limit - used)),
        f"{prefix}-reset": _reset(used, limit, now),
    }


def headers(input_tokens: int, output_tokens: int) -> dict[str, str]:
    """The rate-limit headers of a Messages API response that used these tokens."""
    now = clock()
    return {
        **_bucket("requests", REQUESTS_LIMIT, 1, now),
        **_bucket("tokens", INPUT_TOKENS_LIMIT + OUTPUT_TOKENS_LIMIT, input_tokens + output_tokens, now),
        **_bucket("input-tokens", INPUT_TOKENS_LIMIT, input_tokens, now),
        **_bucket("output-tokens", OUTPUT_TOKENS_LIMIT, output_tokens, now),
    }
