"""Thinking blocks in a history: kept as the API returned them, removed when what came before them changes.

Current models open replies with ``thinking`` (or ``redacted_thinking``) blocks, and a
history sent back must carry them unchanged. Each block is tied to its prefix: the system
prompt, tools and everything before it. If that prefix changes, "that block and every
later thinking block are invalid, and the API rejects the request with a 400 error or
drops the invalid blocks"; a thinking block left out or moved between others fails the
same check (https://platform.claude.com/docs/en/build-with-claude/preserved-thinking and
its "prefix checks" page). So after an edit the kit removes every thinking block that
comes after the first change, and says so.
"""

from __future__ import annotations

from typing import Any

THINKING_TYPES = ("thinking", "redacted_thinking")
DOCS = "https://platform.claude.com/docs/en/build-with-claude/preserved-thinking"


def is_thinking(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") in THINKING_TYPES


def count(content: Any) -> int:
    return sum(1 for block in content if is_thinking(block)) if isinstance(content, list) else 0


def drop_after(messages: list[dict], turn: int, block: int = 0) -> list[int]:
    """Remove the thinking blocks at or after block ``block`` of turn ``turn`` (the first change); the turns touched."""
    touched = []
    for index in range(max(turn, 0), len(messages)):
        content = messages[index].get("content")
        if not isinstance(content, list):
            continue
        start = block if index == turn else 0
        kept = [b for position, b in enumerate(content) if position < start or not is_thinking(b)]
        if len(kept) != len(content):
            messages[index]["content"] = kept
            touched.append(index)
    return touched


def first_change(before: Any, after: Any) -> int:
    """The index of the first content block that differs between two versions of a turn."""
    before = [{"type": "text", "text": before}] if isinstance(before, str) else list(before or [])
    after = [{"type": "text", "text": after}] if isinstance(after, str) else list(after or [])
    for index, (old, new) in enumerate(zip(before, after)):
        if old != new:
            return index
    return min(len(before), len(after))


def _turns(turns: list[int]) -> str:
    names = [str(t) for t in turns]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return ("turn " if len(names) == 1 else "turns ") + listed


def removal_note(change: str, turns: list[int]) -> str:
    """Why thinking blocks were removed, in words: ``change`` says what changed ("turn 2 was edited")."""
    return (f"{change[0].upper()}{change[1:]}, so the thinking blocks in {_turns(turns)} were removed. The API checks that "
            "nothing before a thinking block has changed since the model wrote it, and refuses (400) or drops the blocks "
            "that fail; the text of those replies stays.")
