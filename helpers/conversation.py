"""``Conversation``: a history kept by the caller, as the stateless Messages API requires.

Each ``send`` posts the whole history and appends the reply, every block of it
(thinking blocks included: the API needs them back unchanged). ``problems()``
explains, before anything is sent, what the API would reject or what would
surprise a learner. ``save``/``load`` use ``helpers/conversation_file.py``: a file
is checked whole before it is used, and a failed save leaves the old file as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import anthropic

from . import catalog, conversation_file, thinking
from .conversation_file import FORMAT, ConversationFileError  # noqa: F401 - both part of this module's face

DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a history: ``blocking`` ones would make the API answer 400."""

    turn: Optional[int]
    message: str
    blocking: bool = True
    kind: str = ""  # a short name for problems that callers treat specially, e.g. "prefill_unsupported"

    def __str__(self) -> str:
        where = f"turn {self.turn}: " if self.turn is not None else ""
        return where + self.message


class ConversationError(ValueError):
    """The history cannot be sent as it is; the message lists every problem and its fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("This conversation can't be sent yet:\n" + "\n".join(f"- {p}" for p in problems))


def as_param(content: Any) -> Any:
    """Content as plain JSON-ready data: strings stay strings, SDK blocks become dicts."""
    if isinstance(content, str):
        return content
    if isinstance(content, anthropic.types.Message):
        content = content.content
    blocks = []
    for block in content:
        if hasattr(block, "model_dump"):
            block = block.model_dump(mode="json", exclude_none=True)
        blocks.append(dict(block))
    return blocks


def plain(message: Any) -> dict:
    """A message whose content is plain data, as ``to_param()`` or ``{"content": reply.content}`` may hold SDK blocks."""
    content = message.get("content", "")
    if isinstance(content, list) and all(isinstance(b, dict) for b in content):
        return message
    if isinstance(content, str) or content is None:
        return message
    return {**message, "content": as_param(content)}


def _blocks(content: Any) -> list[dict]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _is_empty(content: Any) -> bool:
    if isinstance(content, str):
        return content.strip() == ""
    return not content or all(b.get("type") == "text" and not b.get("text", "").strip() for b in content)


def _text(content: Any) -> str:
    return "".join(b.get("text", "") for b in _blocks(content) if b.get("type") == "text")


def history_problems(messages: list[dict], model: Optional[str] = None) -> list[Problem]:
    """Everything the API would reject in ``messages`` (blocking) or silently change (not blocking)."""
    problems: list[Problem] = []
    if not messages:
        return [Problem(None, "the history is empty: add a user turn first.")]
    messages = [plain(m) for m in messages]
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            problems.append(Problem(i, f"role {role!r} is not 'user' or 'assistant'; a system prompt goes in `system=`, not in messages."))
            continue
        last = i == len(messages) - 1
        if _is_empty(message.get("content")) and not (last and role == "assistant"):
            problems.append(Problem(i, f"this {role} turn is empty: write its content or remove the turn."))
        if i > 0 and messages[i - 1].get("role") == role:
            problems.append(Problem(i, f"two {role} turns in a row: the API merges them into one turn. "
                                       "Combine them, or add the missing turn in between.", blocking=False))
    if messages[0].get("role") == "assistant":
        problems.append(Problem(0, "the history starts with an assistant turn: start with the user's turn "
                                   "so the model sees what it is answering.", blocking=False))
    problems += _tool_problems(messages)
    problems += _ending_problems(messages, model)
    return problems


def _tool_problems(messages: list[dict]) -> list[Problem]:
    problems = []
    for i, message in enumerate(messages):
        if message.get("role") == "user":
            previous = messages[i - 1] if i > 0 and messages[i - 1].get("role") == "assistant" else None
            called = {b.get("id") for b in _blocks(previous.get("content", "")) if b.get("type") == "tool_use"} if previous else set()
            for block in _blocks(message.get("content", "")):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in called:
                    problems.append(Problem(i, f"the tool_result for {block.get('tool_use_id')} has no matching tool_use in "
                                               "the assistant turn just before it: keep each tool call and its result together."))
        if message.get("role") != "assistant":
            continue
        uses = [b for b in _blocks(message.get("content", "")) if b.get("type") == "tool_use"]
        if not uses:
            continue
        following = messages[i + 1] if i + 1 < len(messages) else None
        answered = {b.get("tool_use_id") for b in _blocks(following["content"]) if b.get("type") == "tool_result"} if following and following.get("role") == "user" else set()
        for use in uses:
            if use.get("id") not in answered:
                problems.append(Problem(i, f"the call to tool {use.get('name')!r} ({use.get('id')}) has no tool_result: "
                                           "add a user turn right after it with a tool_result block for that id."))
    return problems


def _ending_problems(messages: list[dict], model: Optional[str]) -> list[Problem]:
    last = messages[-1]
    if last.get("role") != "assistant":
        return []
    index = len(messages) - 1
    if any(b.get("type") == "tool_use" for b in _blocks(last.get("content", ""))):
        return []  # reported as a missing tool_result
    entry = catalog.lookup(model) if model else None
    if entry is not None and not entry.supports_prefill:
        return [Problem(index, f"the history ends with an assistant turn (a prefill), and {entry.id} does not accept "
                               "prefills: end with a user turn, or use a model that supports prefill.",
                        kind="prefill_unsupported")]
    text = _text(last.get("content", ""))
    if text != text.rstrip():
        return [Problem(index, "the final assistant turn (the prefill) ends with whitespace, which the API rejects: "
                               "remove the trailing spaces or newlines.")]
    return []


class Conversation:
    """A chat history you keep yourself: ``add_user``, ``add_assistant``, ``send``."""

    def __init__(self, system: Optional[str] = None, model: Optional[str] = None):
        self._messages: list[dict] = []
        self._notes: list[Problem] = []  # what the conversation did on its own, told by problems()
        self._system = system
        self.model = model or catalog.DEFAULT_MODEL

    @property
    def system(self) -> Optional[str]:
        return self._system

    @system.setter
    def system(self, value: Optional[str]) -> None:
        # The system prompt comes before every thinking block: changing it invalidates them all.
        if value != self._system:
            touched = thinking.drop_after(self._messages, 0)
            if touched:
                self._notes.append(Problem(None, thinking.removal_note("the system prompt changed", touched),
                                           blocking=False, kind="thinking_removed"))
        self._system = value

    def _append(self, role: str, content: Any) -> "Conversation":
        if not isinstance(content, (str, list, tuple, anthropic.types.Message)):
            raise TypeError(f"add_{role}() takes text, a list of content blocks or a Message, not {type(content).__name__}")
        content = as_param(content)
        problems = conversation_file.message_problems([{"role": role, "content": content}])
        if problems:
            raise ValueError(f"add_{role}(): " + "; ".join(p.replace("turn 0", "this turn", 1) for p in problems))
        self._messages.append({"role": role, "content": content})
        return self

    def add_user(self, content: Any) -> "Conversation":
        return self._append("user", content)

    def add_assistant(self, content_or_message: Union[str, list, anthropic.types.Message]) -> "Conversation":
        """Append an assistant turn; a Message keeps every block, thinking blocks included."""
        return self._append("assistant", content_or_message)

    @property
    def messages(self) -> list[dict]:
        """The API-ready history (a copy: change the conversation through its methods)."""
        return json.loads(json.dumps(self._messages))

    def __len__(self) -> int:
        return len(self._messages)

    def __repr__(self) -> str:
        roles = " → ".join(m["role"] for m in self._messages) or "empty"
        return f"Conversation({len(self._messages)} turns: {roles}; model={self.model})"

    def problems(self) -> list[Problem]:
        return history_problems(self._messages, self.model) + self._notes

    def check(self) -> None:
        """Raise ``ConversationError`` naming every blocking problem."""
        blocking = [p for p in self.problems() if p.blocking]
        if blocking:
            raise ConversationError(blocking)

    def request(self, **create_options: Any) -> dict:
        """The keyword arguments ``send`` passes to ``client.messages.create``."""
        options = {"model": self.model, "max_tokens": DEFAULT_MAX_TOKENS, **create_options}
        if self.system and "system" not in options:
            options["system"] = self.system
        options["messages"] = self.messages
        return options

    def send(self, client: anthropic.Anthropic, **create_options: Any) -> anthropic.types.Message:
        """Send the whole history, append the reply to it, and return the reply."""
        self.check()
        reply = client.messages.create(**self.request(**create_options))
        self.add_assistant(reply)
        self._notes.clear()
        return reply

    def trim(self, max_input_tokens: int, *, count: Any = None, keep_first: bool = False) -> "Conversation":
        """Drop the oldest turns until the history (and system prompt) fits the budget; see ``trim_to_budget``.

        The turns kept after a dropped one have a new prefix, so their thinking blocks are removed
        (the API would refuse or drop them); ``problems()`` says so until the next ``send``.
        """
        from .trim import trim_to_budget

        before = self._messages
        kept = [dict(m) for m in trim_to_budget(before, max_input_tokens, count=count, system=self.system,
                                                keep_first=keep_first)]
        changed = next((i for i, (old, new) in enumerate(zip(before, kept)) if old != new), len(kept))
        touched = thinking.drop_after(kept, changed)
        self._messages = kept
        if touched:
            dropped = len(before) - len(kept)
            self._notes.append(Problem(None, thinking.removal_note(f"trimming dropped {dropped} earlier "
                                                                   f"turn{'s' if dropped != 1 else ''}", touched),
                                       blocking=False, kind="thinking_removed"))
        return self

    def to_dict(self) -> dict:
        return {"format": FORMAT, "model": self.model, "system": self.system, "messages": self.messages}

    @classmethod
    def from_dict(cls, data: Any) -> "Conversation":
        """A conversation from ``to_dict()`` data; ConversationFileError names every problem, with turn numbers."""
        return cls._built(conversation_file.check(data, "This is not a saved conversation:"))

    @classmethod
    def _built(cls, checked: dict) -> "Conversation":
        conversation = cls(system=checked["system"], model=checked["model"])
        conversation._messages = checked["messages"]
        return conversation

    def save(self, path: Union[str, Path]) -> Path:
        """Write the conversation as JSON. If anything fails, the previous file stays byte for byte."""
        return conversation_file.write(path, self.to_dict())

    @classmethod
    def load(cls, path: Union[str, Path]) -> "Conversation":
        """Read a saved conversation; ConversationFileError (a ValueError) names every problem in the file."""
        return cls._built(conversation_file.read(path))
