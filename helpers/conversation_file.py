"""The saved-conversation file: checked whole before it is used, written so that a failed save changes nothing.

A file is read, parsed and checked turn by turn before anything is built from it; every
problem is named in words with its turn number. A save serializes the whole conversation
first, writes it to a temporary file in the same folder, flushes it to disk and then
replaces the old file in one step (``os.replace``), so the old file stays byte for byte
when anything fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

from .safe_file import replace_file

FORMAT = "claude-messages-kit/conversation"
MAX_FILE_BYTES = 32 * 1024 * 1024
"""The API refuses requests over 32 MB (413 request_too_large), so a larger history could never be sent."""
MAX_DEPTH = 100
MAX_LISTED = 10
ROLES = ("user", "assistant")
THINKING_TYPES = ("thinking", "redacted_thinking")
REQUIRED = {  # block type -> (field, expected kind) the API needs in it
    "text": (("text", str),),
    "thinking": (("thinking", str), ("signature", str)),
    "redacted_thinking": (("data", str),),
    "tool_use": (("id", str), ("name", str), ("input", dict)),
    "tool_result": (("tool_use_id", str),),
    "image": (("source", dict),),
    "document": (("source", dict),),
}
KIND_WORDS = {str: "text", dict: "an object", list: "a list"}


class ConversationFileError(ValueError):
    """A conversation file (or history) that cannot be used; the message names every problem."""

    def __init__(self, headline: str, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_LISTED]
        more = [f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
        super().__init__(headline + "\n" + "\n".join(f"- {p}" for p in shown + more))


def describe(value: Any) -> str:
    """A value in words, for error messages: 'a number (5)', 'null', 'an object'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"true/false ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({_short(value)!r})"
    return KIND_WORDS.get(type(value), type(value).__name__)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _depth_exceeded(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _block_problems(where: str, role: str, block: Any) -> list[str]:
    if not isinstance(block, dict):
        return [f"{where} is {describe(block)}, not a content block (an object with a \"type\")"]
    kind = block.get("type")
    if not isinstance(kind, str):
        return [f"{where} has no \"type\" (it is {describe(kind)})"]
    problems = [f"{where}: a {kind} field \"{name}\" must be {KIND_WORDS[expected]}, not {describe(block.get(name))}"
                for name, expected in REQUIRED.get(kind, ()) if not isinstance(block.get(name), expected)]
    if kind in THINKING_TYPES and role != "assistant":
        problems.append(f"{where}: a {kind} block belongs to an assistant turn, not a {role} turn")
    return problems


def message_problems(messages: Any) -> list[str]:
    """Everything that keeps ``messages`` from being a history of turns, in words with turn numbers."""
    if not isinstance(messages, list):
        return [f"\"messages\" is {describe(messages)}; it must be a list of turns"]
    problems: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            problems.append(f"turn {i} is {describe(message)}, not a turn (an object with \"role\" and \"content\")")
            continue
        role = message.get("role")
        if role not in ROLES:
            shown = repr(_short(role)) if isinstance(role, str) else describe(role)
            problems.append(f"turn {i}: the role is {shown}; it must be \"user\" or \"assistant\"")
        if "content" not in message:
            problems.append(f"turn {i} has no \"content\"")
            continue
        content = message["content"]
        if isinstance(content, list):
            for j, block in enumerate(content):
                problems += _block_problems(f"turn {i}, block {j}", role if isinstance(role, str) else "?", block)
        elif not isinstance(content, str):
            problems.append(f"turn {i}: the content is {describe(content)}; it must be text or a list of content blocks")
        if _depth_exceeded(content):
            problems.append(f"turn {i}: the content nests more than {MAX_DEPTH} levels deep")
    return problems


def check(data: Any, headline: str) -> dict:
    """The saved conversation in ``data`` (format, model, system, messages), or ConversationFileError."""
    if not isinstance(data, dict):
        raise ConversationFileError(headline, [f"it holds {describe(data)}, not a conversation "
                                               "(an object with a \"messages\" list)"])
    problems = []
    if "format" in data and data["format"] != FORMAT:
        problems.append(f"\"format\" is {describe(data['format'])}; a conversation saved by the kit has {FORMAT!r}")
    for name in ("model", "system"):
        if data.get(name) is not None and not isinstance(data[name], str):
            problems.append(f"\"{name}\" is {describe(data[name])}; it must be text or null")
    if "messages" not in data:
        problems.append("there is no \"messages\" list")
    else:
        problems += message_problems(data["messages"])
    if problems:
        raise ConversationFileError(headline, problems)
    return {"model": data.get("model"), "system": data.get("system"),
            "messages": [{"role": m["role"], "content": m["content"]} for m in data["messages"]]}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def read(path: Union[str, Path]) -> dict:
    """Read and check a saved conversation; OSError if it cannot be read, ConversationFileError if it is not one."""
    path = Path(path)
    headline = f"{path.name} is not a conversation the kit can load:"
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ConversationFileError(headline, [f"the file is {size / 1_000_000:.1f} MB; the API refuses requests over "
                                               "32 MB, so a history this large could never be sent"])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConversationFileError(headline, [f"the file is not UTF-8 text (byte {error.start} cannot be read)"]) from None
    if not text.strip():
        raise ConversationFileError(headline, ["the file is empty"])
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise ConversationFileError(headline, [f"the file is not valid JSON: {error.msg} "
                                               f"(line {error.lineno}, column {error.colno})"]) from None
    except ValueError as error:
        raise ConversationFileError(headline, [f"the file is not valid JSON: {error}"]) from None
    except RecursionError:
        raise ConversationFileError(headline, ["the file nests lists or objects too deeply to be a conversation"]) from None
    return check(data, headline)


def _unwritable_text(data: dict) -> Optional[str]:
    """Where ``data`` holds text that is not valid Unicode (a lone surrogate), in words."""
    def bad(value: Any) -> bool:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
            return False
        except UnicodeEncodeError:
            return True
    if bad(data.get("system")):
        return "the system prompt"
    for i, message in enumerate(data.get("messages") or []):
        if bad(message):
            return f"turn {i}"
    return None


def serialize(data: dict) -> bytes:
    """The file's bytes, or ConversationFileError naming what cannot be written (nothing is touched)."""
    headline = "The conversation was not saved (the previous file, if any, is unchanged):"
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        raise ConversationFileError(headline, [f"it holds a value that is not JSON ({error})"]) from None
    except RecursionError:
        raise ConversationFileError(headline, ["it nests lists or objects too deeply to be written"]) from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        where = _unwritable_text(data) or "the conversation"
        bad = error.object[error.start:error.end].encode("unicode_escape").decode("ascii")
        raise ConversationFileError(headline, [
            f"{where} holds a lone surrogate ({bad}), which is not valid text (often half of an emoji that was "
            "cut in two): remove it or replace it, then save again"]) from None


def write(path: Union[str, Path], data: dict) -> Path:
    """Save ``data``; ConversationFileError or OSError leave any previous file unchanged."""
    content = serialize(data)
    try:
        replace_file(path, content)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OSError(error.errno, f"could not write {Path(path).name}: {reason}. "
                                   "The previous file, if any, is unchanged") from error
    return Path(path)
