"""Graders for lesson 02: a history sent whole every time, and a trim that keeps whole exchanges."""

from __future__ import annotations

import copy
from typing import Any, Optional

from . import correct, draw, grader, grader_only, kit_function, kit_records, logged, not_yet, same_text, text_of_content
from .histories import exchange_starts, random_history
from .histories import is_plain_user as is_plain_user

QUESTIONS = ("My favourite colour is green.", "Which flowers would suit a balcony in that colour?",
             "What is my favourite colour?")
"""The three questions of exercise 02.1 (the lesson's `questions`)."""

HINTS = {
    "02.1": (
        "One list holds the whole conversation. For each question: append it as a user turn, send the whole "
        "list, append the reply as an assistant turn.",
        "Section 2 appends each reply. One exchange on a list `chat`: append `{\"role\": \"user\", \"content\": "
        "line}`, send `messages=chat`, append `reply.to_param()`. Do that on one list for each of the three "
        "questions, and keep the last reply.",
    ),
    "02.2": (
        "Find where each exchange starts: the indexes of the user turns with the user's own words (not a "
        "tool_result). The answer is the list from one of those indexes to the end.",
        "Section 6 starts a valid trim at a plain user turn. The same search for another kind of turn, where the "
        "replies are: `[i for i, turn in enumerate(messages) if turn[\"role\"] == \"assistant\"]`. Yours finds the "
        "user turns that are not tool results, and slices from the k-th of them from the end.",
    ),
}


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
    """True when ``content`` is the reply the API gave to a request whose messages were ``prefix``
    (appended whole, or as its text alone)."""
    wanted = turns_signature(prefix)
    for record in kit_records():
        if record.status != 200 or not isinstance(record.request, dict):
            continue
        if turns_signature(record.request.get("messages") or []) != wanted:
            continue
        if record.streamed:  # the log keeps no content for streams: the matching request is enough
            return True
        returned = (record.response or {}).get("content") or []
        if content_signature(returned) == content_signature(content):
            return True
        text = text_of_content(content)
        if text and text == text_of_content(returned) and "tool_use" not in block_kinds(returned):
            return True
    return False


def alternation_problem(roles: list[str]) -> Optional[str]:
    if roles and roles[0] != "user":
        return "the history you sent starts with an assistant turn: start with the user's first message."
    for i in range(1, len(roles)):
        if roles[i] == roles[i - 1]:
            return (f"turns {i - 1} and {i} are both {roles[i]} turns, which the API merges into one. "
                    "Alternate: append each reply before the next question.")
    return None


@grader("02.1 the whole history, every time")
def whole_history(final: Any) -> Any:
    record, problem = logged(final, "final", "Send the third request of the conversation")
    if problem is not None:
        return problem
    messages = [m for m in (record.request or {}).get("messages") or [] if isinstance(m, dict)]
    roles = [m.get("role") for m in messages]
    wrong = alternation_problem(roles)
    if wrong:
        return not_yet(wrong)
    if not roles or roles[-1] != "user":
        return not_yet("the request ended with an assistant turn: each request ends with the user's new question.")
    asked = [text_of_content(m.get("content")) for m in messages if m.get("role") == "user"]
    if not same_text(asked[-1], QUESTIONS[-1]):
        return not_yet("the request behind `final` did not end with the third of `questions`: this exercise grades "
                       "the conversation made of those three questions.")
    if len(messages) < 5:
        return not_yet(f"the request that produced `final` carried {len(messages)} turn(s). The third request of a "
                       "3-question conversation carries 5 (user, assistant, user, assistant, user): append each "
                       "reply and send the whole list every time.")
    if len(asked) != 3 or not all(same_text(a, q) for a, q in zip(asked, QUESTIONS)):
        return not_yet("the user turns of the last request are not the three `questions`, in order: start from an "
                       "empty list and add only those.")
    for i, turn in enumerate(messages):
        if turn.get("role") == "assistant" and not reply_to(messages[:i], turn.get("content")):
            return not_yet(f"turn {i} is not the reply the API gave to the {i} turn(s) before it (the usage log has "
                           "no such request and reply). Send the whole list, append the reply it returns "
                           "(`reply.to_param()`), then add the next question.")
    return correct("the last request carried all 5 turns, the three `questions` in order, and the usage log shows "
                   "each assistant turn is the API's reply to the whole history before it.")


# --- 02.2 ---------------------------------------------------------------------------------------------------------

RANDOM_CASES = 10


@grader_only
def _expected(messages: list[dict], k: int) -> list[dict]:
    starts = exchange_starts(messages)
    return messages[starts[-k]:] if len(starts) >= k else messages[starts[0]:] if starts else []


def _shape(messages: list[dict]) -> str:
    labels = []
    for turn in messages:
        kinds = "+".join(block_kinds(turn.get("content")))
        labels.append(f"{turn.get('role')}:{kinds}")
    return " | ".join(labels)


@grader("02.2 the last k exchanges")
def last_exchanges(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `keep_exchanges(messages, k)` and pass the function itself: "
                       "`check.lesson02.last_exchanges(keep_exchanges)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `keep_exchanges(messages, k)` yourself.")
    rng, seed = draw(seed)
    cases = [(random_history(rng, 4, "answered"), 2), (random_history(rng, 3, "tool_result"), 1)]
    for _ in range(RANDOM_CASES):
        history = random_history(rng, rng.randrange(1, 7))
        cases.append((history, rng.randrange(1, 6)))
    for history, k in cases:
        given = copy.deepcopy(history)
        where = f"on a history of {len(exchange_starts(history))} exchanges with k={k} (seed {seed})"
        try:
            kept = function(given, k)
        except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
            return not_yet(f"{where}, your function raised {type(error).__name__}: {error}.")
        if kept is None:
            return not_yet("your function returned None: return the list of turns to keep.")
        if given != history:
            return not_yet(f"{where}, your function changed the list it was given: return a new list (a slice) "
                           "and leave the history as it is.")
        expected = _expected(history, k)
        if kept == expected:
            continue
        if not isinstance(kept, list):
            return not_yet(f"your function returned a {type(kept).__name__}: return a list of turns.")
        if not kept:
            return not_yet(f"{where}, your function returned no turns: the last exchange always fits, so keep at "
                           "least that one. Count exchanges, not turns.")
        if kept != history[-len(kept):]:
            return not_yet(f"{where}, the result is not the end of the history: keep the newest turns, in order, "
                           "without gaps or changes.")
        if not is_plain_user(kept[0]):
            return not_yet(f"{where}, the result starts with {_shape(kept[:1])}, in the middle of an exchange: an "
                           "exchange starts at a user turn with the user's own words (not a tool_result).")
        found = len(exchange_starts(kept))
        return not_yet(f"{where}, your function kept {found} exchange(s) ({len(kept)} turns), expected "
                       f"{len(exchange_starts(expected))} ({len(expected)} turns): count exchanges, not turns. The "
                       f"history was: {_shape(history)}.")
    return correct(f"on {len(cases)} histories made up for this run (tool calls, two calls in one turn, histories "
                   "that end mid-loop), your function kept exactly the last k exchanges, whole, and left the "
                   "history unchanged.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
