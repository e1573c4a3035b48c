"""Graders for lesson 02: a history sent whole every time, and a trim that keeps it valid."""

from __future__ import annotations

import copy
from typing import Any, Optional

from ..conversation import history_problems
from ..usage import usage_log
from . import correct, grader, hint, is_message, sent_request


def block_kinds(content: Any) -> list[str]:
    if isinstance(content, str):
        return ["text"]
    return [block.get("type", "?") for block in content] if isinstance(content, list) else []


def content_signature(content: Any) -> tuple:
    """What identifies a turn's content, whether it was sent as a string or as blocks.

    Thinking blocks are left out: a reply appended as its text alone is still that reply.
    """
    if isinstance(content, str):
        return (("text", content),)
    parts = []
    for block in content or []:
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            continue
        if kind == "text":
            parts.append(("text", block.get("text")))
        elif kind == "tool_use":
            parts.append(("tool_use", block.get("id")))
        elif kind == "tool_result":
            parts.append(("tool_result", block.get("tool_use_id")))
        else:
            parts.append((kind,))
    return tuple(parts)


def turns_signature(messages: list[dict]) -> list[tuple]:
    return [(m.get("role"), content_signature(m.get("content"))) for m in messages]


def reply_to(prefix: list[dict], content: Any) -> bool:
    """True when ``content`` is the reply the API gave to a request whose messages were ``prefix``."""
    wanted = turns_signature(prefix)
    for record in reversed(usage_log.records):
        if record.status != 200 or not isinstance(record.request, dict):
            continue
        if turns_signature(record.request.get("messages") or []) != wanted:
            continue
        if record.streamed:  # the log keeps no content for streams: the matching request is enough
            return True
        if content_signature((record.response or {}).get("content") or []) == content_signature(content):
            return True
    return False


def is_plain_user(turn: Any) -> bool:
    """A user turn with the user's own words: no tool_result blocks."""
    return (isinstance(turn, dict) and turn.get("role") == "user"
            and "tool_result" not in block_kinds(turn.get("content")))


def alternation_problem(roles: list[str]) -> Optional[str]:
    if roles and roles[0] != "user":
        return "the history you sent starts with an assistant turn: start with the user's first message."
    for i in range(1, len(roles)):
        if roles[i] == roles[i - 1]:
            return (f"turns {i - 1} and {i} are both {roles[i]} turns, which the API merges into one. "
                    "Alternate: append each reply before the next question.")
    return None


def _sent_messages(message: Any, name: str, what: str) -> tuple[Optional[list[dict]], Any]:
    if message is None:
        return None, hint(f"{what}, and keep the Message it returns in `{name}`.")
    if not is_message(message):
        return None, hint(f"`{name}` is a {type(message).__name__}; keep the Message that "
                          "`client.messages.create(...)` returns.")
    sent = sent_request(message)
    if sent is None:
        return None, hint("this reply is not in the usage log: send it with the `client` from `connect()`.")
    return sent.get("messages") or [], None


@grader("02.1 the whole history, every time")
def whole_history(final: Any) -> Any:
    messages, problem = _sent_messages(final, "final", "send the third request of your conversation")
    if problem is not None:
        return problem
    roles = [m.get("role") for m in messages]
    wrong = alternation_problem(roles)
    if wrong:
        return hint(wrong)
    if roles[-1] != "user":
        return hint("the request ended with an assistant turn: each request ends with the user's new question.")
    if len(messages) < 5:
        return hint(f"the request that produced `final` carried {len(messages)} turn(s). In a 3-exchange conversation "
                    "the third request carries 5 (user, assistant, user, assistant, user): append each reply "
                    "and send the whole list every time.")
    for i, turn in enumerate(messages):
        if turn.get("role") == "assistant" and not reply_to(messages[:i], turn.get("content")):
            return hint(f"turn {i} is not the reply the API gave to the {i} turn(s) before it. Send the whole list, "
                        "append the reply it returns (`reply.to_param()`), then add the next question.")
    exchanges = roles.count("user")
    return correct(f"the last request carried all {len(messages)} turns of {exchanges} exchanges, alternating from "
                   "the user, and each assistant turn is the reply to the whole history before it.")


def _weather_chat() -> list[dict]:
    def call(city: str, tool_id: str, intro: bool) -> dict:
        blocks = [{"type": "text", "text": "Let me check."}] if intro else []
        blocks.append({"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": city}})
        return {"role": "assistant", "content": blocks}

    def result(tool_id: str, text: str) -> dict:
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": text}]}

    return [
        {"role": "user", "content": "What's the weather in Paris?"},
        call("Paris", "toolu_paris", True),
        result("toolu_paris", "18°C, sunny"),
        {"role": "assistant", "content": "It is 18°C and sunny in Paris."},
        {"role": "user", "content": "And in Rome?"},
        call("Rome", "toolu_rome", False),
        result("toolu_rome", "22°C, clear"),
        {"role": "assistant", "content": "It is 22°C and clear in Rome."},
        {"role": "user", "content": "Which of the two cities is warmer right now?"},
    ]


def _plain_chat() -> list[dict]:
    lines = ["I'm repainting my kitchen.", "Try a warm white.", "Matte or satin?", "Satin: it wipes clean.",
             "How many coats?", "Two, with a primer first.", "And how long between coats?"]
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": text} for i, text in enumerate(lines)]


def _parallel_tools_chat() -> list[dict]:
    return [
        {"role": "user", "content": "I'm choosing between two trips."},
        {"role": "assistant", "content": "Happy to help compare them."},
        {"role": "user", "content": "Compare the weather in Oslo and Lima."},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking both cities."},
            {"type": "tool_use", "id": "toolu_oslo", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_lima", "name": "get_weather", "input": {"city": "Lima"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_oslo", "content": "4°C, snow"},
            {"type": "tool_result", "tool_use_id": "toolu_lima", "content": "19°C, cloudy"}]},
        {"role": "assistant", "content": "Oslo: 4°C with snow. Lima: 19°C and cloudy."},
        {"role": "user", "content": "Then Lima it is. What should I pack?"},
    ]


def _tool_loop_chat() -> list[dict]:
    """A history that ends in the middle of a tool loop: the newest turn is a tool_result."""
    return _parallel_tools_chat()[:5]


CASES = (
    ("the weather history of section 5", _weather_chat, (3, 4, 5, 6, 20)),
    ("a plain chat of 7 turns", _plain_chat, (1, 2, 3, 4, 7)),
    ("a history with two tool calls in one turn", _parallel_tools_chat, (2, 3, 4, 5, 6)),
    ("a history that ends with a tool_result", _tool_loop_chat, (3, 4, 5)),
)


def longest_valid_tail(messages: list[dict], n: int) -> list[dict]:
    start = max(len(messages) - n, 0)
    while start < len(messages) and not is_plain_user(messages[start]):
        start += 1
    return messages[start:]


def trim_problem(trimmed: Any, history: list[dict], n: int, case: str) -> Optional[str]:
    """What is wrong with ``trimmed`` as a trim of ``history`` to at most ``n`` turns (None if nothing)."""
    where = f"for {case} with n={n}"
    if not isinstance(trimmed, list):
        return f"{where} your function returned a {type(trimmed).__name__}: return the list of turns to send."
    if not trimmed:
        return (f"{where} your function returned no turns, but a valid history of "
                f"{len(longest_valid_tail(history, n))} turn(s) fits. The newest turn must always be kept.")
    if len(trimmed) > n:
        return f"{where} your function kept {len(trimmed)} turns: keep at most n."
    if trimmed != history[-len(trimmed):]:
        return (f"{where} the result is not the end of the history: keep the newest turns, in order, "
                "without leaving gaps or changing them.")
    first = trimmed[0]
    if first.get("role") == "assistant":
        return (f"{where} the result starts with an assistant turn: the model would see an answer to a question "
                "it can't see. Start at a user turn.")
    if not is_plain_user(first):
        return (f"{where} the result starts with a tool_result whose tool_use was cut off, which the API rejects "
                "with a 400. Start at a user turn with the user's own words, so tool calls stay with their results.")
    blocking = [p for p in history_problems(trimmed) if p.blocking]
    if blocking:
        return f"{where} the result would be rejected: {blocking[0]}"
    best = longest_valid_tail(history, n)
    if len(trimmed) < len(best):
        return (f"{where} your function kept {len(trimmed)} turn(s), but the last {len(best)} turns already form "
                "a valid history: keep as many turns as the rules allow.")
    return None


@grader("02.2 a valid trim")
def valid_trim(trim: Any) -> Any:
    if trim is None:
        return hint("define a function `fixed_trim(messages, n)` that returns the trimmed list, and pass the "
                    "function itself: `check.lesson02.valid_trim(fixed_trim)`.")
    if not callable(trim):
        return hint(f"pass the function itself, not its result (you passed a {type(trim).__name__}).")
    for case, build, sizes in CASES:
        for n in sizes:
            history = build()
            given = copy.deepcopy(history)
            try:
                trimmed = trim(given, n)
            except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
                return hint(f"for {case} with n={n} your function raised {type(error).__name__}: {error}.")
            if given != history:
                return hint(f"for {case} with n={n} your function changed the list it was given: "
                            "return a new list (a slice) and leave the history as it is.")
            problem = trim_problem(trimmed, history, n, case)
            if problem:
                return hint(problem)
    return correct("on every history your trim keeps the newest turns, starts at a user's own turn, keeps tool "
                   "calls with their results, and keeps as much as fits in n turns.")
