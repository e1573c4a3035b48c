"""Citations offline: the checks the API makes on them, and the kit's cited reply, whose every citation points
at a real span of a source the request sent.

Facts (https://platform.claude.com/docs/en/build-with-claude/citations,
https://platform.claude.com/docs/en/build-with-claude/search-results; SDK 2.17 ``types/citation_char_location.py``,
``citation_page_location.py``, ``citation_content_block_location.py``, ``citations_search_result_location.py``,
``citations_delta.py``, ``text_block.py`` and ``lib/streaming/_messages.py``):

- Citations are turned on with ``citations: {"enabled": true}`` on each document; "citations must be enabled on
  all or none of the documents within a request". Claude cites text, not images.
- A plain-text document is cited by characters (``char_location``: ``start_char_index`` from 0, ``end_char_index``
  exclusive), in sentence chunks (the page's example cites "The grass is green. " as characters 0 to 20); a PDF by
  pages (``page_location``: ``start_page_number`` from 1, ``end_page_number`` exclusive); a custom-content document
  by its blocks (``content_block_location``: 0-based, end exclusive, never part of one block); a ``search_result``
  block by its content blocks (``search_result_location``, with ``search_result_index`` counting the request's
  search results, in messages and tool results alike, apart from ``document_index``).
- ``document_index`` counts the request's documents from 0, ``document_title`` is the document's ``title``,
  ``file_id`` the file a document's source named. ``cited_text`` is "not counted toward output tokens, and not
  counted toward input tokens when sent back in subsequent turns".
- A cited text block carries ``citations``; streamed, the block starts empty, its text comes in ``text_delta``
  events and each citation in a ``citations_delta`` event that the SDK appends to the block's ``citations``.
- Citations and structured outputs (``output_config.format``) cannot be combined: a 400 (the structured outputs
  page lists citations among the incompatible features).

What is the kit's own: it cites the first passage (first sentence of prose, first page with text, first text block) of
each citable source, at most ``MAX_CITED``; search results cite only when their ``citations`` say ``enabled``,
and, like documents, all or none of them (UNCONFIRMED both: the search results page shows the setting, not a
default). A PDF whose text the kit cannot read (compressed pages) and a source it cannot fetch (a URL) are named,
not cited: a citation the kit gives always quotes the text it was sent.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from . import media
from .errors import invalid
from .wording import say

MAX_CITED = 8
# A sentence ends at . ! or ? before a space, or at a line's end (a heading, a list item); it takes the spaces after it.
_SENTENCE = re.compile(r".*?(?:[.!?]+(?=\s|$)|(?=\n)|$)\s*", re.S)
MIN_PROSE_WORDS = 4


def _first_sentence(text: str) -> tuple[int, int]:
    """Where the first sentence of prose is: the kit's reply cites a sentence, as the API's plain-text citations
    do, and passes over Markdown headings and short list labels ("## 1. ") to the first one of a few words."""
    fallback, start = None, 0
    while start < len(text):
        found = _SENTENCE.match(text, start)
        end = found.end() if found and found.end() > start else len(text)
        piece = text[start:end].strip()
        if piece and fallback is None:
            fallback = (start, end)
        if len(piece.split()) >= MIN_PROSE_WORDS and not piece.startswith(("#", "|", ">")):
            return start, end
        start = end
    return fallback or (0, len(text))


def _enabled(block: dict) -> bool:
    setting = block.get("citations")
    return isinstance(setting, dict) and setting.get("enabled") is True


def _sources(messages: list) -> Iterator[tuple[str, int, dict, str]]:
    """``(kind, index, block, where)`` for every document and search result, in request order: documents and
    search results are counted apart, tool results' content included; ``where`` is the API's path to the block."""
    counts = {"document": 0, "search_result": 0}
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind in counts:  # (paths are written only for the blocks yielded: most blocks are neither)
                yield kind, counts[kind], block, f"messages.{i}.content.{j}.{kind}"
                counts[kind] += 1
            elif kind == "tool_result" and isinstance(block.get("content"), list):
                for k, item in enumerate(block["content"]):
                    inner = item.get("type") if isinstance(item, dict) else None
                    if inner in counts:
                        yield inner, counts[inner], item, f"messages.{i}.content.{j}.tool_result.content.{k}.{inner}"
                        counts[inner] += 1


def _check_setting(block: dict, where: str) -> None:
    setting = block.get("citations")
    if setting is None:
        return
    if not isinstance(setting, dict):
        raise invalid(say("wrong_type", field=f"{where}.citations", kind="dictionary"))
    for key in setting:
        if key != "enabled":
            raise invalid(say("extra_input", field=f"{where}.citations.{key}"))
    if "enabled" in setting and not isinstance(setting["enabled"], bool):
        raise invalid(say("wrong_type", field=f"{where}.citations.enabled", kind="boolean"))


def check(messages: list, structured: bool) -> None:
    """All or none of the documents (and of the search results) cite; never with a structured output."""
    seen: dict[str, set[bool]] = {"document": set(), "search_result": set()}
    for kind, _, block, where in _sources(messages):
        _check_setting(block, where)
        seen[kind].add(_enabled(block))
    if len(seen["document"]) > 1:
        raise invalid(say("citations_mixed", sources="documents"))
    if len(seen["search_result"]) > 1:
        raise invalid(say("citations_mixed", sources="search results"))
    if structured and True in seen["document"] | seen["search_result"]:
        raise invalid(say("citations_with_structured_output"))


@dataclass
class Cited:
    """One source's citation, or why the kit cannot cite it (then ``citation`` is None)."""

    kind: str  # "document" or "search_result"
    number: int  # its index among its kind, from 0
    title: Optional[str]
    citation: Optional[dict]
    form: str  # "text", "pdf", "content", "search_result", or "unreadable" / "unfetched"


def _first_text_block(content: Any) -> Optional[tuple[int, str]]:
    if isinstance(content, str):
        return (0, content) if content.strip() else None
    for k, item in enumerate(content if isinstance(content, list) else ()):
        if isinstance(item, dict) and item.get("type") == "text" and str(item.get("text", "")).strip():
            return k, item["text"]
    return None


def _document(index: int, block: dict, file_id: Optional[str]) -> Cited:
    source = block.get("source") or {}
    title = block.get("title") if isinstance(block.get("title"), str) else None
    common = {"document_index": index, "document_title": title, "file_id": file_id}
    kind = source.get("type")
    if kind == "text" and str(source.get("data", "")).strip():
        text = source["data"]
        start, end = _first_sentence(text)
        return Cited("document", index, title, {"type": "char_location", "cited_text": text[start:end],
                                                 "start_char_index": start, "end_char_index": end, **common}, "text")
    if kind == "base64":
        layout = media.pdf_page_layout(base64.b64decode(source.get("data", "")))
        for number, page in enumerate(layout or (), start=1):
            if page.text.strip():
                return Cited("document", index, title, {"type": "page_location", "cited_text": page.text,
                                                         "start_page_number": number, "end_page_number": number + 1,
                                                         **common}, "pdf")
        return Cited("document", index, title, None, "unreadable")
    if kind == "content":
        first = _first_text_block(source.get("content"))
        if first is not None:
            return Cited("document", index, title, {"type": "content_block_location", "cited_text": first[1],
                                                     "start_block_index": first[0], "end_block_index": first[0] + 1,
                                                     **common}, "content")
        return Cited("document", index, title, None, "unreadable")
    return Cited("document", index, title, None, "unfetched" if kind == "url" else "unreadable")


def _search_result(index: int, block: dict) -> Cited:
    title = block.get("title") if isinstance(block.get("title"), str) else None
    first = _first_text_block(block.get("content"))
    if first is None:
        return Cited("search_result", index, title, None, "unreadable")
    return Cited("search_result", index, title, {
        "type": "search_result_location", "cited_text": first[1], "search_result_index": index,
        "source": block.get("source"), "title": title, "start_block_index": first[0],
        "end_block_index": first[0] + 1}, "search_result")


def cited(messages: list, file_ids: dict[int, str]) -> list[Cited]:
    """The sources the reply cites: every document and search result whose citations are on, the first
    ``MAX_CITED`` of them."""
    found = []
    for kind, index, block, _ in _sources(messages):
        if not _enabled(block):
            continue
        found.append(_document(index, block, file_ids.get(index)) if kind == "document"
                     else _search_result(index, block))
    return found[:MAX_CITED]
