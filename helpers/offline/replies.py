"""What the offline backend would say, before ``max_tokens`` and stop sequences apply.

``draft(request)`` decides the whole intended reply: the thinking that opens it, if
the model thinks (``thinking.py`` says when and how deeply), its blocks (text, a tool
call, a paused server-tool call) and the stop reason it would end with if nothing cut
it short. Texts come from ``texts.json``: a written reply answers only the lessons' own
prompts (the same words, up to case, spacing and final punctuation). Few-shot
requests get one of the learner's own example labels. Anything else gets the kit's
transparent reply, which opens with a short marker and describes what it received.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from . import citations, media, samples, tokens, tool_calls
from . import thinking as thinking_rules
from .ids import new_id
from .validate import Request

TEXTS_FILE = Path(__file__).with_name("texts.json")
LESSON_TEXTS = Path(__file__).with_name("texts")
"""One file of replies per lesson; their entries are tried after the base file's, in file-name order."""
_OPTION = re.compile(r"\(([A-Z])\)")
_WORD = re.compile(r"[a-z]{4,}")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_LABEL_WORDS = 5
_LABEL_CHARS = 40
_MIN_EXAMPLES = 2
_STOPWORDS = frozenset({"the", "and", "for", "with", "this", "that", "was", "are", "you", "your", "have", "has",
                        "not", "but", "from", "after", "review", "ticket", "what", "when", "can", "did", "does"})
_GENERIC_WORDS = frozenset({"tool", "data", "info", "current", "fetch", "lookup", "find", "list", "search", "query"})
SHORT_QUOTE = 120


@dataclass
class Thought:
    """The thinking that opens a reply: all of it is billed, ``shown`` is what the response displays."""

    full: str
    shown: str  # the summary (display summarized) or "" (display omitted)
    signature: str


@dataclass
class Draft:
    blocks: list[dict]
    stop_reason: str = "end_turn"
    stop_details: Optional[dict] = None
    window_left: Optional[int] = None  # tokens of the reply's text left before the context window is full
    thinking: Optional[Thought] = None


@dataclass
class _Context:
    turns: int
    last_user: str
    history: list[dict]  # every turn before the last user turn, user's and assistant's alike
    system: str
    prefill: str
    examples: list[tuple[str, str]] = field(default_factory=list)  # few-shot pairs: (input, label)
    values: dict = field(default_factory=dict)

    @property
    def earlier(self) -> list[str]:
        """The text of each turn of ``history``: only recalling replies read it, so it is made when asked for."""
        return [_text_of(m["content"]) for m in self.history]


@lru_cache(maxsize=1)
def texts() -> dict:
    base = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
    for path in sorted(LESSON_TEXTS.glob("*.json")):
        base["replies"] = base["replies"] + json.loads(path.read_text(encoding="utf-8"))["replies"]
    return base


def normalise(prompt: str) -> str:
    """A prompt as the written replies are matched: case, quotes, spacing and final punctuation don't count."""
    flat = " ".join(prompt.translate(_QUOTES).casefold().split())
    return flat.rstrip(".!?:; ")


@lru_cache(maxsize=1)
def _entries_by_prompt() -> dict[str, dict]:
    index: dict[str, dict] = {}
    for entry in texts()["replies"]:
        for prompt in entry["prompts"]:
            index.setdefault(normalise(prompt), entry)
    return index


def _text_of(content: list[dict]) -> str:
    return "\n".join(b["text"] for b in content if b.get("type") == "text")


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHORT_QUOTE else flat[: SHORT_QUOTE - 3] + "..."


def _context(request: Request) -> _Context:
    users = [i for i, m in enumerate(request.messages) if m["role"] == "user"]
    last = users[-1] if users else len(request.messages)
    turns = len(request.messages)
    messages_word = "message" if turns == 1 else "messages"
    system_note = " and a system prompt" if request.system_text else ""
    context = _Context(
        turns=turns,
        last_user=_text_of(request.messages[last]["content"]) if users else "",
        history=request.messages[:last],
        system=request.system_text,
        prefill=request.prefill or "",
        examples=_examples(request.messages[:last]),
    )
    context.values = {
        "turns": turns,
        "messages_word": messages_word,
        "system_note": system_note,
        "last_user": _quote(context.last_user),
        "prefill": context.prefill,
    }
    return context


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(template: str, values: dict) -> str:
    """Fill ``{name}`` placeholders; any other brace (JSON in a reply) stays as written."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


_NOT_SPOKEN = ("thinking", "redacted_thinking")
"""Blocks of an assistant turn that are not what it said: a real reply sent back opens with its thinking."""
_TOOL_BLOCKS = ("tool_use", "tool_result", "server_tool_use", "web_search_tool_result")


def _examples(turns: list[dict]) -> list[tuple[str, str]]:
    """Few-shot pairs, when the turns before the question are user inputs each answered by a short label.

    An exchange that is not an input and a label (a tool call and its result, a reply of the kit's own
    ``[offline]`` text, anything long) is passed over, as long as the labelled pairs still outnumber such
    exchanges: a history that holds the learner's examples and the replies they got stays a few-shot task."""
    if len(turns) < 2 * _MIN_EXAMPLES or len(turns) % 2:
        return []
    pairs, other = [], 0
    exchanges = len(turns) // 2
    for user, assistant in zip(turns[0::2], turns[1::2]):
        if user["role"] != "user" or assistant["role"] != "assistant":
            return []
        if 2 * other >= exchanges:  # the labelled pairs can no longer outnumber the other exchanges
            return []
        spoken = [b for b in assistant["content"] if b.get("type") not in _NOT_SPOKEN]
        if any(b.get("type") in _TOOL_BLOCKS for b in (*user["content"], *spoken)):
            continue  # a tool's call or result: neither an example nor a sign that this is no few-shot task
        label = _text_of(spoken).strip()
        if (any(b.get("type") != "text" for b in (*user["content"], *spoken)) or not label or "\n" in label
                or len(label) > _LABEL_CHARS or len(label.split()) > _LABEL_WORDS or label.startswith("[offline]")):
            other += 1
            continue
        pairs.append((_text_of(user["content"]), label))
    return pairs if len(pairs) >= _MIN_EXAMPLES and len(pairs) > other else []


def _entry_for(last_user: str) -> Optional[dict]:
    return _entries_by_prompt().get(normalise(last_user))


def _entry_text(entry: dict, context: _Context) -> str:
    if "recall" not in entry:
        return _fill(entry["reply"], context.values)
    pattern = re.compile(entry["recall"], re.IGNORECASE)
    # Like the model, the backend reads every earlier turn, the ones you wrote for the assistant too.
    earlier_texts = context.earlier
    for earlier in reversed(earlier_texts):
        found = pattern.search(earlier)
        if found:
            return _fill(entry["reply"], {**context.values, "recall": found.group(1)})
    if not earlier_texts:  # the history was not sent: say so
        return _fill(entry["otherwise"], context.values)
    # The history was sent, but not in the words the backend looks for: never claim it is missing.
    return _fill(texts()["recall_missed"], {**context.values, "looks_for": entry["looks_for"]})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{3,}", text.casefold()) if w not in _STOPWORDS}


def _few_shot_label(examples: list[tuple[str, str]], question: str, entry: Optional[dict]) -> str:
    """One of the learner's own labels, spelled as they wrote it: the one the lesson's written reply names when
    a label of theirs contains it, else the label of the example that shares most words with the question."""
    wanted = (entry or {}).get("label")
    if wanted:
        for _, label in examples:
            if wanted.casefold() in re.findall(r"[a-z]+", label.casefold()):
                return label
    asked = _words(question)
    best = max(range(len(examples)), key=lambda i: (len(asked & _words(examples[i][0])), -i))
    if not asked & _words(examples[best][0]):
        labels = [label for _, label in examples]
        return max(labels, key=lambda label: (labels.count(label), -labels.index(label)))
    return examples[best][1]


def _reply_text(context: _Context) -> tuple[str, Optional[dict]]:
    entry = _entry_for(context.last_user)
    if entry is not None and "label" not in entry:
        return _entry_text(entry, context), entry
    if context.examples and not context.prefill:
        return _few_shot_label(context.examples, context.last_user, entry), None
    return _fill(texts()["fallback"], context.values), None


def _continue_prefill(prefill: str, reply: str, entry: Optional[dict], context: _Context) -> str:
    """The text that follows a prefill: never a repeat of the prefill itself."""
    for ending, continuation in sorted(((entry or {}).get("prefills") or {}).items(), key=lambda kv: -len(kv[0])):
        if prefill.endswith(ending):
            return continuation
    if reply.startswith(prefill):
        return reply[len(prefill):]
    if prefill.endswith("{"):
        body = json.dumps({"offline_reply": reply, "turns": context.turns}, ensure_ascii=False)
        return body[1:]
    if prefill.endswith("["):
        return json.dumps(reply, ensure_ascii=False) + "]"
    if prefill.endswith("("):
        options = _OPTION.findall(context.last_user)
        if options:  # the kit never picks an option: its placeholder is plainly not a letter
            listed = ", ".join(f"({letter})" for letter in options)
            return _fill(texts()["multiple_choice_placeholder"], {"options": listed})
    return _fill(texts()["fallback_continuation"], context.values)


def _tool_results(request: Request) -> list[dict]:
    return [b for b in request.messages[-1]["content"] if b.get("type") == "tool_result"]


def _tool_names_by_id(request: Request) -> dict[str, str]:
    return {b["id"]: b["name"] for m in request.messages for b in m["content"] if b.get("type") == "tool_use"}


def _result_text(request: Request, block: dict) -> str:
    """What a tool result said: its text, and for each image or PDF in it the kit's note on the bytes (a tool_result
    may hold text, image and document blocks: the handle-tool-calls page), never the bytes themselves."""
    content = block.get("content", "")
    if not isinstance(content, list):
        return _quote(str(content))
    said, media = [], []
    for inner in content:
        source = inner.get("source") or {}
        if inner.get("type") == "text":
            said.append(inner.get("text", ""))
        elif inner.get("type") == "document" and source.get("type") == "text":
            said.append(source.get("data", ""))
        elif inner.get("type") in ("image", "document"):
            media.append(inner)
    text = _quote("\n".join(t for t in said if t))
    parts = [part for part in (text, " ".join(_media_notes(request, media))) if part]
    return " ".join(parts) if parts else _quote(json.dumps(content))


def _answer_tool_results(request: Request, results: list[dict]) -> str:
    names = _tool_names_by_id(request)
    lines = []
    for block in results:
        key = "tool_error_reply" if block.get("is_error") else "tool_result_reply"
        tool = names.get(block["tool_use_id"], "tool")
        lines.append(_fill(texts()[key], {"tool": tool, "result": _result_text(request, block)}))
    return "\n".join(lines)


def _media_notes(request: Request, blocks: Optional[list[dict]] = None) -> list[str]:
    """One note per image or PDF of the last user turn (or of ``blocks``): what the kit computed from the bytes,
    nothing seen."""
    words = texts()["media"]
    notes = []
    if blocks is None:
        blocks = [b for b in request.messages[-1]["content"] if b.get("type") in ("image", "document")]
    for n, block in enumerate(blocks, start=1):
        source = block.get("source") or {}
        values = {"n": n, "model": request.model.id}
        if block["type"] == "document" and source.get("type") == "text":
            notes.append(_fill(words["text"], {**values, "chars": f"{len(str(source.get('data', ''))):,}"}))
            continue
        if block["type"] == "document" and source.get("type") == "content":
            inner = source.get("content")
            notes.append(_fill(words["content"], {**values, "count": len(inner) if isinstance(inner, list) else 1}))
            continue
        if source.get("type") != "base64":
            values["where"] = _quote(str(source.get("url") or source.get("file_id") or source.get("type")))
            values["tokens"] = f"{tokens.IMAGE_TOKENS:,}"
            notes.append(_fill(words["unread"], values))
            continue
        data = base64.b64decode(source["data"])
        if block["type"] == "document":
            pages = media.pdf_pages(data)
            key = "pdf" if pages else "pdf_pages_unknown"
            notes.append(_fill(words[key], {**values, "pages": pages, "size": len(data)}))
            continue
        found = media.facts(data)
        colour = media.dominant_colour(data)
        values.update(format=found.media_type.split("/")[1].upper(), width=found.width, height=found.height,
                      tokens=media.image_tokens(found.width, found.height, request.model.image_native),
                      colour=_fill(words["colour"], {"colour": colour}) if colour else words["no_colour"])
        notes.append(_fill(words["image"], values))
    return notes


def _cited_draft(request: Request) -> Optional[Draft]:
    """The kit's cited reply: one text block per source whose citations are on, citing its first passage."""
    found = citations.cited(request.messages, request.file_ids)
    if not found:
        return None
    words = texts()["citations"]
    blocks = [{"type": "text", "text": words["intro"]}]
    for source in found:
        values = {"what": "Document" if source.kind == "document" else "Search result", "n": source.number + 1,
                  "title": _fill(words["title"], {"title": _quote(source.title)}) if source.title else ""}
        if source.citation is None:
            blocks.append({"type": "text", "text": _fill(words[source.form], values)})
        else:
            blocks.append({"type": "text", "text": _fill(words["cited"], values), "citations": [source.citation]})
    return Draft(blocks)


def _search_result(call_id: str) -> dict:
    """What a search returns offline: the API's own error object, as no search can run.

    Shapes: ``WebSearchToolResultBlock`` and ``WebSearchToolResultErrorObject`` (anthropic 2.14,
    ``anthropic/types/web_search_tool_result_*.py``); ``unavailable`` is one of its documented error codes
    (https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool).
    """
    return {"type": "web_search_tool_result", "tool_use_id": call_id,
            "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}}


def _search_call(name: str, query: str) -> dict:
    for marker in texts()["triggers"].values():
        query = re.sub(re.escape(marker) + r"(?::\w+)?", "", query)
    return {"type": "server_tool_use", "id": new_id("srvtoolu"), "name": name, "input": {"query": _quote(query.strip())}}


def _searched(call: dict) -> list[dict]:
    """The search's result and the kit's honest answer to it."""
    note = _fill(texts()["web_search_unavailable"], {"query": call["input"].get("query", "")})
    return [_search_result(call["id"]), {"type": "text", "text": note}]


def _resume(request: Request, context: _Context) -> Draft:
    """The continuation of a paused turn: the declared search it was running, then the answer."""
    paused = [b for b in request.messages[-1]["content"] if b.get("type") == "server_tool_use"]
    answered = {b.get("tool_use_id") for b in request.messages[-1]["content"] if b.get("type") == "web_search_tool_result"}
    pending = [b for b in paused if b["id"] not in answered]
    search = tool_calls.web_search_tool(request.tools)
    if search is not None and pending and pending[-1]["name"] == search["name"]:
        return Draft(_searched(pending[-1]))
    return Draft([{"type": "text", "text": _fill(texts()["pause_turn_resumed"], context.values)}])


def _tool_use_draft(request: Request, made: list[tool_calls.Call]) -> Draft:
    uses = [{"type": "tool_use", "id": new_id("toolu"), "name": c.tool["name"], "input": c.input} for c in made]
    if request.tool_choice["type"] in ("any", "tool"):  # the API writes no text before a forced call
        return Draft(uses, stop_reason="tool_use")
    if len(uses) == 1:
        intro = _fill(texts()["tool_call_intro"], {"tool": uses[0]["name"]})
    else:
        names = ", ".join(dict.fromkeys(u["name"] for u in uses))
        intro = _fill(texts()["tool_calls_intro"], {"count": len(uses), "tools": names})
    return Draft([{"type": "text", "text": intro}, *uses], stop_reason="tool_use")


@lru_cache(maxsize=1)
def _trigger_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    return tuple((kind, re.compile(re.escape(marker) + r"(?::(\w+))?")) for kind, marker in texts()["triggers"].items())


def _trigger(last_user: str) -> Optional[tuple[str, str]]:
    for kind, pattern in _trigger_patterns():
        found = pattern.search(last_user)
        if found:
            return kind, found.group(1) or ""
    return None


def _thought(request: Request, context: _Context) -> Optional[Thought]:
    """The kit's thinking for this request, or None where the model would not think."""
    steps = request.thinking.steps
    if steps == 0:
        return None
    words = texts()["thinking"]
    summary = _fill(words["summary"], context.values)
    full = " ".join([summary, *words["steps"][: steps]])
    shown = summary if request.thinking.display == "summarized" else ""
    prefix = thinking_rules.conversation_digest(request.body)
    return Thought(full=full, shown=shown, signature=thinking_rules.sign(request.model.resolved_id, prefix))


def draft(request: Request) -> Draft:
    context = _context(request)
    plan = _draft(request, context)
    forced = request.tool_choice["type"] in ("any", "tool")  # a forced call skips the thinking step
    if plan.stop_reason != "refusal" and not request.continues_pause and not forced:
        plan.thinking = _thought(request, context)
    return plan


def _draft(request: Request, context: _Context) -> Draft:
    if request.continues_pause:
        return _resume(request, context)

    results = _tool_results(request) if request.messages[-1]["role"] == "user" else []
    trigger = _trigger(context.last_user) if not results else None
    if trigger and trigger[0] == "refusal":
        details = {"type": "refusal", "category": trigger[1] or None, "explanation": texts()["refusal_explanation"]}
        return Draft([], stop_reason="refusal", stop_details=details)
    search = tool_calls.web_search_tool(request.tools)
    if trigger and trigger[0] == "pause_turn":
        # A long server-tool turn paused: the declared search tool's call, or web_search where none is declared.
        call = _search_call(search["name"] if search else "web_search", context.last_user)
        return Draft([{"type": "text", "text": texts()["pause_turn_intro"]}, call], stop_reason="pause_turn")

    forced = request.tool_choice["type"] in ("any", "tool")
    if request.prefill is None and (not results or forced):
        made = tool_calls.calls(request.tools, request.tool_choice, context.last_user)
        if made:
            return _tool_use_draft(request, made)
        search = tool_calls.wants_search(request.tools, request.tool_choice, context.last_user)
        if search is not None:
            call = _search_call(search["name"], context.last_user)
            intro = [] if forced else [{"type": "text", "text": texts()["pause_turn_intro"]}]
            return Draft([*intro, call, *_searched(call)])

    if request.prefill is None and request.output_schema is None and request.blocks_sent and (
            cited := _cited_draft(request)):
        return cited
    if results:
        text = _answer_tool_results(request, results)
    elif request.output_schema is not None and request.prefill is None:
        value = samples.sample(request.output_schema, context.last_user)
        text = json.dumps(value, ensure_ascii=False)
    elif request.prefill is None and (notes := _media_notes(request)):
        text = _fill(texts()["media"]["reply"], {"notes": " ".join(notes)})
    else:
        text, entry = _reply_text(context)
        if request.prefill is not None:
            text = _continue_prefill(request.prefill, text, entry, context)
    window_left = 10 if trigger and trigger[0] == "context_window" else None
    return Draft([{"type": "text", "text": text}], window_left=window_left)
