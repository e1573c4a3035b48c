"""The offline backend's deterministic token estimate.

Real tokenizers are not public, so offline counts are estimates with simple rules:
a word costs one token per four characters (rounded up), every other visible
character costs one token, and whitespace rides along with the token after it.
``pieces`` splits a text into exactly those tokens, so cutting a reply at
``max_tokens`` and counting it always agree.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable

_TOKEN = re.compile(r"\s*(?:\w{1,4}|[^\w\s])")
_TRAILING_SPACE = re.compile(r"\s+\Z")

REQUEST_OVERHEAD = 3
"""Tokens for framing the request, as the API adds a few for its prompt format."""
MESSAGE_OVERHEAD = 4
"""Tokens per message for its role marker and separators."""
IMAGE_TOKENS = 1600
"""A flat estimate for one image or PDF page: the real cost depends on its pixels."""


def pieces(text: str) -> list[str]:
    """Split ``text`` into tokens whose concatenation is exactly ``text``."""
    found = _TOKEN.findall(text)
    tail = _TRAILING_SPACE.search(text)
    if tail and found:
        found[-1] += tail.group()
    elif tail:
        found = [tail.group()]
    return found


@lru_cache(maxsize=65_536)
def count_text(text: str) -> int:
    # Cached: every request of a conversation re-sends the earlier turns' texts.
    n = len(_TOKEN.findall(text))
    return n if n or not text else 1  # whitespace alone is one token, as in pieces()


def count_json(value: Any) -> int:
    return count_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def count_block(block: Any) -> int:
    if isinstance(block, str):
        return count_text(block)
    kind = block.get("type")
    if kind == "text":
        return count_text(block.get("text", ""))
    if kind in ("image", "document"):
        source = block.get("source") or {}
        if source.get("type") == "text":
            return count_text(source.get("data", ""))
        return IMAGE_TOKENS
    if kind in ("tool_use", "server_tool_use"):
        return count_text(block.get("name", "")) + count_json(block.get("input", {}))
    if kind == "tool_result":
        content = block.get("content", "")
        return 2 + count_content(content)
    if kind == "thinking":
        return count_text(block.get("thinking", ""))
    return count_json(block)


def count_content(content: Any) -> int:
    if isinstance(content, str):
        return count_text(content)
    if isinstance(content, list):
        return sum(count_block(b) for b in content)
    return 0


def count_messages(messages: Iterable[dict]) -> int:
    return sum(MESSAGE_OVERHEAD + count_content(m.get("content", "")) for m in messages)


def count_system(system: Any) -> int:
    if not system:
        return 0
    return MESSAGE_OVERHEAD + count_content(system)


def count_tools(tools: Any) -> int:
    return sum(count_json(t) for t in tools or ())


def count_input(body: dict) -> int:
    """Input tokens of a request: the same number for ``create`` and ``count_tokens``."""
    total = REQUEST_OVERHEAD + count_system(body.get("system"))
    total += count_messages(body.get("messages") or ())
    total += count_tools(body.get("tools"))
    output_format = (body.get("output_config") or {}).get("format")
    if output_format:
        total += count_json(output_format)
    return total
