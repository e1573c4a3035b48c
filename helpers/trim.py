"""Trimming a history to a token budget, keeping it valid.

Keeping "the last N messages" can leave a history that starts with an assistant
turn, or a ``tool_result`` whose ``tool_use`` was cut off (the API answers 400).
``trim_to_budget`` keeps the longest suffix that fits the budget and starts at a
plain user turn, so tool calls stay with their results, and it never drops the
newest user turn.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from . import catalog
from .conversation import plain
from .offline import tokens

Counter = Callable[[dict], int]
CACHE_LIMIT = 200_000
_runs = [0]
"""How many times ``trim_to_budget`` ran: lesson 08's exercises ask for trimming of one's own, and their graders
tell it from this function by the count."""


class TrimError(ValueError):
    """The budget cannot hold even the newest user turn; the message says how much it needs."""


def estimate(message: dict, model: str = catalog.DEFAULT_MODEL) -> int:
    """One message's tokens by the offline backend's estimate for ``model`` (what ``count_tokens`` adds for it offline).

    The estimate follows the model's tokenizer family and the image size it reads natively (catalog facts): the
    same text costs more on a newer model, and so may a large image.
    """
    entry = catalog.get(model)
    content = plain(message).get("content", "")
    return tokens.MESSAGE_OVERHEAD + tokens.count_content(content, entry.tokenizer, entry.image_native)


_caches: dict[Counter, dict] = {}


def _cache_key(message: dict) -> tuple:
    content = message.get("content", "")
    # Strings are immutable and hash once; block lists are keyed by their JSON.
    key = content if isinstance(content, str) else json.dumps(content, sort_keys=True, ensure_ascii=False)
    return message.get("role"), isinstance(content, str), key


def _counted(message: dict, count: Counter) -> int:
    cache = _caches.setdefault(count, {})
    key = _cache_key(message)
    found = cache.get(key)
    if found is None:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        found = cache[key] = count(message)
    return found


def _blocks(message: dict) -> list:
    content = message.get("content", "")
    return content if isinstance(content, list) else []


def _is_plain_user_turn(message: dict) -> bool:
    """A user turn that carries no tool_result: a history may start here without splitting a tool call."""
    return message.get("role") == "user" and not any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in _blocks(message)
    )


def trim_to_budget(
    messages: list[dict],
    max_input_tokens: int,
    *,
    count: Optional[Counter] = None,
    system: Any = None,
    keep_first: bool = False,
) -> list[dict]:
    """The longest valid suffix of ``messages`` (after the first turn, with ``keep_first``) within the budget.

    The budget is compared with the sum of ``count(message)`` over the kept messages, plus the system
    prompt's count when ``system`` is given. ``count`` defaults to the offline estimate; counts are cached
    per message content, so trimming again after one more turn only counts the new turn.
    """
    _runs[0] += 1
    count = count or estimate
    if not messages:
        return []
    plain_messages = [plain(m) for m in messages]  # SDK blocks (from to_param()) as dicts; the originals are returned
    newest_user = max((i for i, m in enumerate(plain_messages) if _is_plain_user_turn(m)), default=None)
    if newest_user is None:
        raise TrimError("the history has no plain user turn to keep: a trimmed history must start with one.")
    if keep_first and not _is_plain_user_turn(plain_messages[0]):
        raise TrimError("keep_first keeps the first turn, so it must be a plain user turn.")
    keep_first = keep_first and newest_user > 0
    costs = [_counted(m, count) for m in plain_messages]
    total = (_counted({"role": "system", "content": system}, count) if system else 0) + sum(costs[newest_user:])
    total += costs[0] if keep_first else 0
    if total > max_input_tokens:
        extra = (" with the system prompt" if system else "") + (" and the first turn" if keep_first else "")
        raise TrimError(
            f"the newest user turn (turn {newest_user}) and what follows it need {total:,} tokens{extra}, "
            f"more than the budget of {max_input_tokens:,}: raise the budget or shorten that message."
        )
    # Walk back from the newest user turn, adding earlier turns while they fit.
    best = newest_user
    lowest = 1 if keep_first else 0
    for i in range(newest_user - 1, lowest - 1, -1):
        total += costs[i]
        if total > max_input_tokens:
            break
        if _is_plain_user_turn(plain_messages[i]) or (keep_first and plain_messages[i].get("role") == "assistant"):
            best = i
    if keep_first:
        return [messages[0], *messages[best:]]
    return list(messages[best:])


def api_counter(client: Any, model: str) -> Counter:
    """A ``count`` for live mode, built on the API's ``count_tokens``: one request per new message.

    A message is counted on its own, minus the request's fixed overhead. Tool calls and results can't
    be counted alone (the API wants them in pairs), so their blocks are counted as JSON text.
    """
    probe = {"role": "user", "content": "."}
    overhead = client.messages.count_tokens(model=model, messages=[probe]).input_tokens - estimate(probe) + tokens.MESSAGE_OVERHEAD

    def count(message: dict) -> int:
        content = message.get("content", "")
        if any(isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result") for b in _blocks(message)):
            content = json.dumps(content, ensure_ascii=False)
        counted = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": content or "."}])
        return max(1, counted.input_tokens - overhead + tokens.MESSAGE_OVERHEAD)

    return count
