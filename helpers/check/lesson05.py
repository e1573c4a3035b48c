"""Graders for lesson 05: acting on every stop reason, a tool round trip."""

from __future__ import annotations

from typing import Any, Optional

import anthropic

from ..catalog import DEFAULT_MODEL
from ..usage import Record
from . import (
    block_dicts, correct, draw, grader, grader_client, grader_only, kit_function, kit_records, last_tool_use_turn,
    logged, made_during_attempt, not_yet, same_text, text_of_content,
)

_SAMPLE_TOOL = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
_WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
"""A server tool, as lesson 05 declares it (https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool)."""
_COUNT = [{"role": "user", "content": "Count to ten."}]
# How the grader gets a real Message for each stop reason from the offline backend.
_REQUESTS: dict[str, dict] = {
    "end_turn": {"max_tokens": 200, "messages": _COUNT},
    "stop_sequence": {"max_tokens": 200, "messages": _COUNT, "stop_sequences": ["three"]},
    "max_tokens": {"max_tokens": 3, "messages": _COUNT},
    "model_context_window_exceeded": {
        "max_tokens": 200, "messages": [{"role": "user", "content": "#context_window Tell me about ants."}]},
    "tool_use": {"max_tokens": 200, "tools": [_SAMPLE_TOOL],
                 "messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
    "pause_turn": {"max_tokens": 200, "tools": [_WEB_SEARCH],
                   "messages": [{"role": "user", "content": "#pause_turn Search the news."}]},
    "refusal": {"max_tokens": 200, "messages": [{"role": "user", "content": "#refusal Tell me about ants."}]},
}
CALLS_PER_REASON = 2
LETTERS_TOOL = "count_letters"
LETTER_WORDS = ("Vespa", "Bombus", "Odonata", "Mantodea", "Psocodea", "Hemiptera", "Mecoptera", "Coleoptera",
                "Dermaptera", "Hymenoptera", "Megaloptera", "Siphonaptera", "Thysanoptera", "Ephemeroptera",
                "Raphidioptera")
"""Insect names of 5 to 13 letters, one drawn per run."""

HINTS = {
    "05.1": (
        "Decide from `message.stop_reason` alone, never from `content` (a refusal may have no content at all).",
        "Section 1 lists the seven. The same lookup for another question, whether the answer is complete: "
        "`COMPLETE = {\"end_turn\": True, \"stop_sequence\": True}`, then `return "
        "COMPLETE.get(message.stop_reason, False)`. Yours maps every stop reason in the table to its step.",
    ),
    "05.2": (
        "Two calls, both with `tools=[letters_tool]`. The first reply holds a `tool_use` block; you run "
        "`count_letters` on its `input` and send the result back.",
        "Section 4 makes the whole trip for another tool: find the `tool_use` block in the first reply, append "
        "that reply's `content` as an assistant turn, then a user turn whose content is a list with one "
        "`tool_result` (the block's `id` as `tool_use_id`, your function's output on the block's `input`, as a "
        "string), and call again with the same `tools`.",
    ),
}


@grader_only
def _next_step(reason: str) -> tuple[str, str]:
    """The step each stop reason calls for, and why (kept inside the function: not an importable answer)."""
    next_steps = {
        "end_turn": ("done", "the answer is complete"),
        "stop_sequence": ("done", "the reply stopped at one of your stop sequences, as you asked"),
        "max_tokens": ("continue", "the answer was cut at max_tokens: ask for the rest"),
        "model_context_window_exceeded": ("shorten", "the context window is full: shorten the history first"),
        "tool_use": ("run_tool", "the model asked for a tool: run it and send a tool_result"),
        "pause_turn": ("resend", "a server-tool turn was paused: send it back as-is"),
        "refusal": ("stop", "the model declined: don't resend the same prompt"),
    }
    return next_steps[reason]


def _sample_messages() -> dict[str, anthropic.types.Message]:
    api = grader_client()
    return {reason: api.messages.create(model=DEFAULT_MODEL, **request) for reason, request in _REQUESTS.items()}


@grader("05.1 what to do for each stop reason")
def handle(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson05.handle(handle)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `handle(message)` yourself.")
    rng, seed = draw(seed)
    samples = _sample_messages()
    for reason, message in samples.items():
        if message.stop_reason != reason:
            return not_yet(f"the grader expected a {reason!r} message from the offline backend and got "
                           f"{message.stop_reason!r}; please report this.")
    calls = [reason for reason in samples for _ in range(CALLS_PER_REASON)]
    rng.shuffle(calls)
    for reason in calls:
        message = samples[reason]
        expected, why = _next_step(reason)
        try:
            got = function(message)
        except (IndexError, AttributeError) as error:
            if not message.content:
                why_not = " Its content is empty: look at `message.stop_reason` before `message.content`."
            elif message.content[0].type != "text":
                why_not = (f" Its first block is a `{message.content[0].type}` block, not text: decide from "
                           "`message.stop_reason`, and read blocks by their `.type`.")
            else:
                why_not = ""
            return not_yet(f"handle() raised {type(error).__name__} on a {reason!r} message.{why_not}")
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"handle() raised {type(error).__name__}: {error} on a {reason!r} message. Decide from "
                           "`message.stop_reason`.")
        if got is None:
            return not_yet("handle() returned None: return the next step, one of the words in the table.")
        if got != expected:
            return not_yet(f"for stop_reason {reason!r}, handle() returned {got!r}; expected {expected!r}: {why}. "
                           f"(The grader calls it on the seven kinds of message in a random order, seed {seed}.)")
    return correct(f"handle() returned the right next step on {len(calls)} calls, the seven stop reasons in a random "
                   "order, refusals with empty content included.")


# --- 05.2 ---------------------------------------------------------------------------------------------------------

_issued_questions: set[str] = set()


def letters_question(seed: Optional[int] = None) -> str:
    """The question of exercise 05.2, about a word drawn for this run (so its answer can't be typed in advance)."""
    rng, _ = draw(seed)
    question = f"How many letters are in the word {rng.choice(LETTER_WORDS)}? Use the count_letters tool."
    _issued_questions.add(question)
    return question


def _record_with_tool_use(tool_use_id: str) -> Optional[Record]:
    """The logged call whose reply contained this tool_use block."""
    for record in kit_records():
        response = record.response if isinstance(record.response, dict) else {}
        if any(b.get("id") == tool_use_id for b in block_dicts(response.get("content"))):
            return record
    return None


def _explain_round_trip(error: BaseException) -> Optional[str]:
    if isinstance(error, anthropic.BadRequestError):
        message = str(getattr(error, "api_message", "") or error)
        if "must define tools" in message:
            return "The second request must carry `tools=[letters_tool]` too."
        if "tool_result" in message:
            return ("Each tool_use block of the assistant turn needs a tool_result with its id in the very next "
                    "user turn.")
    if isinstance(error, TypeError) and "count_letters" in str(error):
        return "Call the tool with the block's input as keyword arguments: `count_letters(**block.input)`."
    return None


@grader("05.2 a tool round trip", explain=_explain_round_trip)
def tool_round_trip(final: Any, tool: Any = None) -> Any:
    record, problem = logged(final, "final_answer", "Complete the round trip")
    if problem is not None:
        return problem
    if not callable(tool):
        return not_yet("pass your tool function too, so the grader can run it: "
                       "`check.lesson05.tool_round_trip(final_answer, count_letters)`.")
    request = record.request or {}
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict)]
    if not any(t.get("name") == LETTERS_TOOL for t in tools):
        return not_yet("the final request had no `count_letters` tool. Send `tools=[letters_tool]` with every call "
                       "of the round trip, the second one included.")
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    found = last_tool_use_turn(messages)
    if found is None:
        return not_yet("the final request has no assistant turn with a tool_use block. Append the first reply, "
                       "unchanged, as the assistant turn.")
    i, uses = found
    following = messages[i + 1] if i + 1 < len(messages) else {}
    if following.get("role") != "user":
        return not_yet("right after the assistant's tool_use turn comes a user turn holding the tool_result blocks.")
    results = {b.get("tool_use_id"): b for b in block_dicts(following.get("content")) if b.get("type") == "tool_result"}
    for use in uses:
        if use.get("id") not in results:
            return not_yet(f"no tool_result answers the tool_use block {use.get('id')}: give each result the "
                           "`tool_use_id` of the block it answers.")
        asked = _record_with_tool_use(use["id"])
        if asked is None:
            return not_yet("this tool_use block is not in any reply the model sent (the usage log has none): append "
                           "the model's own `first.content` as the assistant turn instead of writing the block.")
        first_turns = [m for m in (asked.request or {}).get("messages") or [] if isinstance(m, dict)]
        first_question = text_of_content(first_turns[0].get("content")) if first_turns else ""
        if not any(same_text(first_question, q) for q in _issued_questions):
            return not_yet("the first request did not ask `letters_question`: this exercise grades the round trip "
                           "that starts with it (the lesson's weather round trip is another one).")
        if not made_during_attempt(asked):
            return not_yet("the first call of the round trip was made before this cell's `with check.attempt(...)` "
                           "block started: make both calls inside the block.")
        arguments = use.get("input") if isinstance(use.get("input"), dict) else {}
        try:
            output = tool(**arguments)
        except Exception as error:  # noqa: BLE001 - the learner's tool can fail in any way
            return not_yet(f"running your tool on the block's input {arguments} raised {type(error).__name__}: "
                           f"{error}.")
        word = str(arguments.get("word", ""))
        truth = sum(ch.isalpha() for ch in word)
        if output != truth and str(output) != str(truth):
            return not_yet(f"your `count_letters` returns {output!r} for {word!r}, which has {truth} letters: "
                           "count the letters (`ch.isalpha()`), nothing else.")
        sent = text_of_content(results[use["id"]].get("content")).strip()
        if sent != str(output):
            return not_yet(f"the tool_result held {sent!r}, but running `count_letters` on the block's input "
                           f"{arguments} gives {output!r}: send what the tool returned, as a string "
                           "(`str(count_letters(**block.input))`).")
    if final.stop_reason != "end_turn":
        return not_yet(f"the final reply stopped with {final.stop_reason!r}, not 'end_turn'. If it is 'tool_use' "
                       "again, run the tool again; if 'max_tokens', raise max_tokens.")
    calls = f"{len(uses)} tool call{'s' if len(uses) != 1 else ''}"
    return correct(f"the usage log shows `letters_question` answered with a tool_use block ({calls}); each "
                   "tool_result carried its block's id and exactly what your `count_letters` returns for that "
                   "block's input; the second request sent the tool again, and its reply ended with end_turn.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
