"""The offline prompt cache: the exact prefix up to each ``cache_control`` breakpoint, per model, with its TTL.

As the API does (https://platform.claude.com/docs/en/build-with-claude/prompt-caching):

- the prompt is read in the order tools, system, messages, and a breakpoint caches
  everything before it and the block it is on;
- a request first looks for the longest cached prefix: at each breakpoint, then at
  the block boundaries up to ``LOOKBACK`` blocks before it (so a breakpoint that moves
  to the newest turn of a conversation still finds the turn cached before);
- what follows that prefix, up to the last breakpoint, is written to the cache
  (``cache_creation_input_tokens``, split by TTL in ``cache_creation``); what was found
  is read (``cache_read_input_tokens``); the rest is ``input_tokens``, so the three add
  up to the request's whole input, which is what ``count_tokens`` reports;
- a prefix shorter than the model's minimum (``min_cacheable_tokens`` in the catalog)
  is not cached, and that is no error; a model without a minimum caches nothing;
- an entry lives 5 minutes (``ttl: "1h"``: one hour) and each hit starts its time again;
- changing ``tool_choice`` or the thinking settings changes the messages' prefixes
  (the docs' "what invalidates the cache" table), not the tools' or the system's.

Entries are keyed by a digest of the prefix, never by its text, and capped at
``LIMIT`` (least recently used first out). ``clock`` is injectable: tests move time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from ..catalog import ImageNative
from . import tokens

TTL_SECONDS = {"5m": 5 * 60, "1h": 60 * 60}
LOOKBACK = 20
"""Block boundaries checked before a breakpoint for an earlier cached prefix ("about 20 blocks", prompt-caching docs)."""


@dataclass(frozen=True)
class Boundary:
    """The end of one block of the prompt: the tokens up to it and the digest of the prefix it closes."""

    tokens: int
    digest: bytes
    ttl: Optional[str] = None  # the breakpoint's TTL, when the block carries cache_control


@dataclass(frozen=True)
class Accounting:
    """How a request's input splits between the cache and fresh tokens (the usage fields)."""

    input_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h


def _plain(value: Any) -> Any:
    """A block as the cache compares it: without ``None`` fields or the breakpoint marker itself."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None and k != "cache_control"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _encoded(value: Any) -> bytes:
    return json.dumps(_plain(value), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


_PLAIN_TEXT_KEYS = frozenset(("type", "text", "cache_control", "citations"))


def _block_bytes(block: Any) -> bytes:
    """A block as the cache compares it. A plain text block (most of a conversation) is its text with its length in
    front, which needs no JSON; any other block is its canonical JSON, which can never start with ``text``."""
    if (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
            and block.get("citations") is None and block.keys() <= _PLAIN_TEXT_KEYS):
        text = block["text"].encode("utf-8", "surrogatepass")
        return b"text%d:%s" % (len(text), text)
    return _encoded(block)


def _ttl(block: Any) -> Optional[str]:
    marker = block.get("cache_control") if isinstance(block, dict) else None
    if not marker:
        return None
    return marker.get("ttl", "5m")


def _nested_ttl(block: dict) -> Optional[str]:
    """A breakpoint on the block, or on a block inside its content (a tool result's text, say)."""
    found = _ttl(block)
    content = block.get("content")
    if found is None and isinstance(content, list):
        found = next((t for t in map(_ttl, content) if t), None)
    return found


def has_breakpoint(body: dict) -> bool:
    """Whether any boundary of ``boundaries(body)`` carries a TTL: without one, a request reads and writes nothing."""
    if _ttl(body) or any(_ttl(tool) for tool in body.get("tools") or ()):
        return True
    system = body.get("system")
    if isinstance(system, list) and any(_ttl(block) for block in system):
        return True
    for message in body.get("messages") or ():
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(block, dict) and _nested_ttl(block) for block in content):
            return True
    return False


def boundaries(body: dict, tokenizer: str, native: ImageNative = tokens.NATIVE) -> Iterator[Boundary]:
    """Every block boundary of the prompt, in cache order, with the same token counts as ``count_input``."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(body["model"].encode())
    total = tokens.REQUEST_OVERHEAD
    for tool in body.get("tools") or ():
        total += tokens.count_json(tool, tokenizer)
        hasher.update(b"\x00tool" + _encoded(tool))
        yield Boundary(total, hasher.copy().digest(), _ttl(tool))
    system = body.get("system")
    if system:
        system_blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
        total += tokens.MESSAGE_OVERHEAD
        for block in system_blocks:
            total += tokens.count_block(block, tokenizer)
            hasher.update(b"\x00system" + _block_bytes(block))
            yield Boundary(total, hasher.copy().digest(), _ttl(block))
    hasher.update(b"\x00settings" + _encoded({"tool_choice": body.get("tool_choice"), "thinking": body.get("thinking")}))
    messages = body.get("messages") or ()
    automatic = _ttl(body)  # the request-level cache_control: a breakpoint on the last block
    for i, message in enumerate(messages):
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        total += tokens.MESSAGE_OVERHEAD
        hasher.update(b"\x00" + message["role"].encode())
        for j, block in enumerate(blocks):
            total += tokens.count_block(block, tokenizer, native)
            hasher.update(b"\x00block" + _block_bytes(block))
            last = i == len(messages) - 1 and j == len(blocks) - 1
            yield Boundary(total, hasher.copy().digest(), _nested_ttl(block) or (automatic if last else None))


@dataclass
class _Entry:
    expires: float


class PromptCache:
    LIMIT = 4096
    """Entries kept at most; each is a 16-byte digest and a time, so the cache stays well under a megabyte."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # the loopback server answers from several threads

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _live(self, digest: bytes, now: float) -> Optional[_Entry]:
        entry = self._entries.get(digest)
        if entry is not None and entry.expires <= now:
            del self._entries[digest]
            return None
        return entry

    def _keep(self, digest: bytes, ttl: str, now: float) -> None:
        entry = self._entries.get(digest)
        expires = now + TTL_SECONDS[ttl]
        if entry is None:
            self._entries[digest] = _Entry(expires)
        else:
            entry.expires = max(entry.expires, expires)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.LIMIT:
            self._entries.popitem(last=False)

    def account(self, body: dict, total_tokens: int, tokenizer: str, minimum: Optional[int],
                native: ImageNative = tokens.NATIVE) -> Accounting:
        """Read and write the cache for one request; returns how its ``total_tokens`` of input split."""
        if minimum is None or not has_breakpoint(body):  # (not a block encoded when nothing can be cached)
            return Accounting(input_tokens=total_tokens)
        points = list(boundaries(body, tokenizer, native))
        marked = [k for k, point in enumerate(points) if point.ttl is not None]
        if not marked:
            return Accounting(input_tokens=total_tokens)
        with self._lock:
            now = self.clock()
            read_at, read_ttl = -1, "5m"  # the longest cached prefix found, and the breakpoint that found it
            for k in marked:
                for back in range(k, max(-1, k - LOOKBACK - 1), -1):
                    if back <= read_at:
                        break
                    if points[back].tokens >= minimum and self._live(points[back].digest, now):
                        read_at, read_ttl = back, points[k].ttl
                        break
            read = points[read_at].tokens if read_at >= 0 else 0
            written = {"5m": 0, "1h": 0}
            upto = read
            for k in marked:
                point = points[k]
                if point.tokens < minimum:
                    continue
                self._keep(point.digest, point.ttl, now)  # a new entry, or a hit that starts its TTL again
                if point.tokens > upto:
                    written[point.ttl] += point.tokens - upto
                    upto = point.tokens
            if read_at >= 0:
                self._keep(points[read_at].digest, read_ttl, now)  # a hit starts the entry's time again
        created = written["5m"] + written["1h"]
        return Accounting(
            input_tokens=total_tokens - read - created, cache_read_input_tokens=read,
            cache_creation_5m=written["5m"], cache_creation_1h=written["1h"],
        )


cache = PromptCache()
"""The process's one cache: the in-process transport and the loopback server share it, as one API would."""
