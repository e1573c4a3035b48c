"""The offline backend's deterministic token estimate, one rule per tokenizer family.

Real tokenizers are not public, so offline counts are estimates with simple rules.
Every visible character that is not part of a word costs one token, and whitespace
rides along with the token after it. Words cost:

- ``earlier`` tokenizer (Claude Haiku 4.5 and the models before Claude 4.7): one
  token per four characters, rounded up;
- ``4.7+`` tokenizer (Claude 4.7 and later, the 5.x models): one token for the first
  three characters, then one per two. The docs say this tokenizer counts "the same
  text as approximately 30% more tokens than on Claude Haiku 4.5"
  (https://platform.claude.com/docs/en/models/haiku-5-5/whats-new-haiku-5-5); on
  English prose this rule gives about 28% more.

A model's family is a catalog fact (``ModelEntry.tokenizer``). ``pieces`` splits a
text into exactly the tokens it counts, so cutting a reply at ``max_tokens`` and
counting it always agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Iterable

from ..catalog import ImageNative
from . import media

EARLIER = "earlier"
NEWER = "4.7+"
_TOKEN = {
    EARLIER: re.compile(r"\s*(?:\w{1,4}|[^\w\s])"),
    NEWER: re.compile(r"\s*(?:\b\w{1,3}|\w{1,2}|[^\w\s])"),
}
_TRAILING_SPACE = re.compile(r"\s+\Z")

REQUEST_OVERHEAD = 3
"""Tokens for framing the request, as the API adds a few for its prompt format."""
MESSAGE_OVERHEAD = 4
"""Tokens per message for its role marker and separators."""
IMAGE_TOKENS = 1600
"""A flat estimate for an image the backend cannot read (a URL or file source: it fetches nothing)."""
NATIVE = ImageNative()
"""The image size a model reads natively unless the catalog says otherwise (``ModelEntry.image_native``)."""


def _pattern(tokenizer: str) -> re.Pattern:
    try:
        return _TOKEN[tokenizer]
    except KeyError:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; the families are {', '.join(_TOKEN)}") from None


def pieces(text: str, tokenizer: str = EARLIER) -> list[str]:
    """Split ``text`` into tokens whose concatenation is exactly ``text``."""
    found = _pattern(tokenizer).findall(text)
    tail = _TRAILING_SPACE.search(text)
    if tail and found:
        found[-1] += tail.group()
    elif tail:
        found = [tail.group()]
    return found


SHORT_TEXT = 2048
"""Texts up to this many characters are cached by themselves; longer ones by a digest, never by the text."""


@lru_cache(maxsize=4096)  # at most 4,096 texts of at most 2,048 characters: under 9 MB of ASCII, 33 MB at worst
def _count_short(text: str, tokenizer: str) -> int:
    return _count(text, _TOKEN[tokenizer])


class _Counts:
    """Counts of long texts already seen, bounded in entries and keyed by a digest, never by the text itself.

    Every request of a conversation re-sends the earlier turns, so counts are worth keeping; keying long texts by
    the text would keep every prompt ever sent alive (60 unique 4 MB prompts held 246 MB for good).
    """

    LIMIT = 4096  # entries; each holds a 16-byte digest and an int

    def __init__(self) -> None:
        self._counts: OrderedDict[tuple[str, int, bytes], int] = OrderedDict()
        self._lock = threading.Lock()  # the loopback server counts from several threads

    @staticmethod
    def key(text: str, tokenizer: str) -> tuple[str, int, bytes]:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return tokenizer, len(text), digest

    def get(self, key: tuple[str, int, bytes]) -> int | None:
        with self._lock:
            found = self._counts.get(key)
            if found is not None:
                self._counts.move_to_end(key)
            return found

    def put(self, key: tuple[str, int, bytes], count: int) -> None:
        with self._lock:
            self._counts[key] = count
            self._counts.move_to_end(key)
            while len(self._counts) > self.LIMIT:
                self._counts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_counts = _Counts()


def count_text(text: str, tokenizer: str = EARLIER) -> int:
    pattern = _pattern(tokenizer)
    if len(text) <= SHORT_TEXT:
        return _count_short(text, tokenizer)
    key = _Counts.key(text, tokenizer)
    found = _counts.get(key)
    if found is None:
        found = _count(text, pattern)
        _counts.put(key, found)
    return found


def _count(text: str, pattern: re.Pattern) -> int:
    n = sum(1 for _ in pattern.finditer(text))
    return n if n or not text else 1  # whitespace alone is one token, as in pieces()


def count_json(value: Any, tokenizer: str = EARLIER) -> int:
    return count_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), tokenizer)


def _media_tokens(block: dict, native: ImageNative) -> int:
    """An image's visual tokens from its pixels, a PDF's pages at the kit's per-page estimate (``media.py``)."""
    source = block.get("source") or {}
    if source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return IMAGE_TOKENS
    try:
        data = base64.b64decode(source["data"])
    except (binascii.Error, ValueError):
        return IMAGE_TOKENS
    if block.get("type") == "document":
        return _pdf_tokens(data, native)
    found = media.facts(data)
    return media.image_tokens(found.width, found.height, native) if found else IMAGE_TOKENS


def _pdf_tokens(data: bytes, native: ImageNative) -> int:
    """A PDF by its pages: each page's image by the image rule, plus its text from the low end of the docs' range
    up to the high end (``media.PDF_PAGE_TEXT_TOKENS``); the flat per-page estimate for a PDF it cannot read."""
    layout = media.pdf_page_layout(data)
    if layout is None:
        return (media.pdf_pages(data) or 1) * media.PDF_TOKENS_PER_PAGE
    low, high = media.PDF_PAGE_TEXT_TOKENS
    return sum(min(low + count_text(page.text), high) + media.image_tokens(page.width, page.height, native)
               for page in layout)


def count_block(block: Any, tokenizer: str = EARLIER, native: ImageNative = NATIVE) -> int:
    if isinstance(block, str):
        return count_text(block, tokenizer)
    kind = block.get("type")
    if kind == "text":
        return count_text(block.get("text", ""), tokenizer)
    if kind in ("image", "document"):
        source = block.get("source") or {}
        if source.get("type") == "text":
            return count_text(source.get("data", ""), tokenizer)
        return _media_tokens(block, native)
    if kind in ("tool_use", "server_tool_use"):
        return count_text(block.get("name", ""), tokenizer) + count_json(block.get("input", {}), tokenizer)
    if kind == "tool_result":
        content = block.get("content", "")
        return 2 + count_content(content, tokenizer, native)
    if kind == "thinking":
        return count_text(block.get("thinking", ""), tokenizer)
    return count_json(block, tokenizer)


def count_content(content: Any, tokenizer: str = EARLIER, native: ImageNative = NATIVE) -> int:
    if isinstance(content, str):
        return count_text(content, tokenizer)
    if isinstance(content, list):
        return sum(count_block(b, tokenizer, native) for b in content)
    return 0


def count_messages(messages: Iterable[dict], tokenizer: str = EARLIER, native: ImageNative = NATIVE) -> int:
    return sum(MESSAGE_OVERHEAD + count_content(m.get("content", ""), tokenizer, native) for m in messages)


def count_system(system: Any, tokenizer: str = EARLIER) -> int:
    if not system:
        return 0
    return MESSAGE_OVERHEAD + count_content(system, tokenizer)


def count_tools(tools: Any, tokenizer: str = EARLIER) -> int:
    return sum(count_json(t, tokenizer) for t in tools or ())


def count_input(body: dict, tokenizer: str = EARLIER, native: ImageNative = NATIVE) -> int:
    """Input tokens of a request: the same number for ``create`` and ``count_tokens``."""
    total = REQUEST_OVERHEAD + count_system(body.get("system"), tokenizer)
    total += count_messages(body.get("messages") or (), tokenizer, native)
    total += count_tools(body.get("tools"), tokenizer)
    output_format = (body.get("output_config") or {}).get("format")
    if output_format:
        total += count_json(output_format, tokenizer)
    return total
