"""Which tools the offline backend calls, and with what input, as ``tool_choice`` allows.

The rules follow the tool-use docs
(https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use):

- ``auto``: a tool is called when the user's words meet its name or its description
  (the docs ask descriptions to say when a tool should be used; "raining" meets "rain");
  otherwise no call;
- ``any``: at least one call, the best-matching tool or else the first declared;
- ``tool``: a call to that tool;
- ``none``: never a call;
- ``disable_parallel_tool_use``: at most one call in the turn.

A message that asks for several things ("the weather in Paris and in Tokyo, and the
time in Tokyo") is read clause by clause: each clause that names a tool, or names a new
place for the tool of the clause before it, gets its own call in the same turn, as a
model calls tools in parallel. Inputs satisfy the tool's schema (required fields, types,
enums) from the words of their clause (``samples.py``); a clause that names no place or
number of its own ("and what time is it there?") takes the one named just before it.

Server tools (``web_search``) run on the API's side; the backend declares a search only
where one is declared in ``tools`` and the user asks to search or for recent news.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from . import samples

_WORD = re.compile(r"[a-z]{4,}")
STEM = 5
"""Words match when equal, or when both are at least this long and share this many first letters (search, searching)."""
_ENDINGS = frozenset({"s", "es", "ed", "d", "er", "ers", "est", "ing", "y", "ly"})
"""Endings that make a short word match its inflected form (rain, raining), where the stem rule cannot."""
_STOP_WORDS = frozenset("""
    tool tools data info current fetch lookup find list query given return returns about from into with this that
    what when where which whose will would could should does have there their them they then than also only some
    such each other more most like used uses using your user asks want wants need needs make makes name input output
    value values string number call calls example please tell know just very much many here
""".split())
_CLAUSE_BREAK = re.compile(r"[,;?!]|\.(?:\s|$)|\b(?:and|then|also|plus)\b", re.IGNORECASE)
SEARCH_WORDS = frozenset({"search", "news", "latest", "recent", "online", "look"})
"""Words that ask for a web search, when a server web search tool is declared."""
WEB_SEARCH_PREFIX = "web_search_"


@dataclass(frozen=True)
class Call:
    tool: dict
    input: dict


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOP_WORDS


def _inflected(short: str, long: str) -> bool:
    """Whether ``long`` is ``short`` with an English ending: rain, raining; snow, snowy; time, times."""
    return long.startswith(short) and long[len(short):] in _ENDINGS


def _meets(word: str, others: set[str]) -> bool:
    return word in others or any(
        (len(word) >= STEM and len(o) >= STEM and o[:STEM] == word[:STEM]) or _inflected(word, o) or _inflected(o, word)
        for o in others)


def score(tool: dict, text: str) -> int:
    """How strongly ``text`` calls for ``tool``: words of its name count twice, words of its description once."""
    said = _words(text)
    name_words = _words(tool["name"].replace("_", " ").replace("-", " "))
    described = _words(str(tool.get("description", ""))) - name_words
    return 2 * sum(_meets(w, said) for w in name_words) + sum(_meets(w, said) for w in described)


def _clauses(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for found in _CLAUSE_BREAK.finditer(text):
        if text[start:found.start()].strip():
            spans.append((start, found.start()))
        start = found.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _in_clause(found: list[tuple[int, Any]], span: tuple[int, int]) -> list:
    """The values found in the clause; for a clause with none ("... and what time is it?"), those of the
    message, nearest before the clause first, as a reader takes "it" to mean the place just named."""
    inside = [value for at, value in found if span[0] <= at < span[1]]
    if inside:
        return inside
    before = [value for at, value in reversed(found) if at < span[0]]
    return before + [value for at, value in found if at >= span[1]]


def _names_in(text: str, span: tuple[int, int]) -> list[str]:
    return [m.group(1) for m in samples.PROPER_NOUNS.finditer(text) if span[0] <= m.start(1) < span[1]]


def _numbers_in(text: str, span: tuple[int, int]) -> list[int | float]:
    return [samples.as_number(m.group()) for m in samples.NUMBER.finditer(text) if span[0] <= m.start() < span[1]]


def _input(tool: dict, text: str, span: Optional[tuple[int, int]] = None) -> dict:
    if span is None:
        value = samples.sample(tool["input_schema"], text, required_only=True)
    else:
        # Names and numbers come from the clause; an enum value may be named anywhere in the message.
        names = _in_clause([(m.start(1), m.group(1)) for m in samples.PROPER_NOUNS.finditer(text)], span)
        numbers = _in_clause([(m.start(), samples.as_number(m.group())) for m in samples.NUMBER.finditer(text)], span)
        value = samples.sample(tool["input_schema"], text, required_only=True, names=names, numbers=numbers)
    return value if isinstance(value, dict) else {}


def custom_tools(tools: list[dict]) -> list[dict]:
    return [t for t in tools if "input_schema" in t]


def web_search_tool(tools: list[dict]) -> Optional[dict]:
    return next((t for t in tools if str(t.get("type", "")).startswith(WEB_SEARCH_PREFIX)), None)


def _per_clause(custom: list[dict], text: str) -> list[tuple[dict, tuple[int, int]]]:
    chosen: list[tuple[dict, tuple[int, int]]] = []
    for span in _clauses(text):
        clause = text[span[0]:span[1]]
        scored = [(score(t, clause), -k, t) for k, t in enumerate(custom)]
        best = max(scored, key=lambda s: s[:2])
        own_values = bool(_names_in(text, span) or _numbers_in(text, span))
        tool = best[2] if best[0] > 0 else (chosen[-1][0] if chosen and own_values else None)
        # "... in Paris and Tokyo": the same tool for a new place; "... Use the tool." adds no call of its own.
        if tool is not None and (own_values or all(t["name"] != tool["name"] for t, _ in chosen)):
            chosen.append((tool, span))
    return chosen


def calls(tools: list[dict], choice: dict, text: str) -> list[Call]:
    """The custom-tool calls for a user message ``text``; empty when the reply should not call one."""
    custom = custom_tools(tools)
    kind = choice["type"]
    if not custom or kind == "none":
        return []
    if kind == "tool":
        named = next((t for t in custom if t["name"] == choice["name"]), None)
        return [Call(named, _input(named, text))] if named is not None else []
    chosen = _per_clause(custom, text)
    if len(chosen) <= 1 or choice.get("disable_parallel_tool_use"):
        if chosen:  # its input from the clause that asked for it, not from another clause's place
            return [Call(chosen[0][0], _input(chosen[0][0], text, chosen[0][1]))]
        return [Call(custom[0], _input(custom[0], text))] if kind == "any" else []
    made: list[Call] = []
    for tool, span in chosen:
        call = Call(tool, _input(tool, text, span))
        if all(c.tool["name"] != tool["name"] or c.input != call.input for c in made):
            made.append(call)
    return made


def wants_search(tools: list[dict], choice: dict, text: str) -> Optional[dict]:
    """The declared web search tool, when this turn should use it."""
    found = web_search_tool(tools)
    if found is None or choice["type"] == "none":
        return None
    if choice["type"] == "tool":
        return found if choice["name"] == found["name"] else None
    if choice["type"] == "any" and not custom_tools(tools):
        return found
    return found if set(_WORD.findall(text.lower())) & SEARCH_WORDS else None
