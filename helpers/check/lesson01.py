"""Graders for lesson 01: the top-level system prompt, the anatomy of a Message, reading content blocks."""

from __future__ import annotations

import random
import re
from typing import Any, Optional

import anthropic

from ..catalog import DEFAULT_MODEL
from . import (
    correct, draw, grader, grader_client, grader_only, kit_function, logged, not_yet, same_text, text_of_content,
)

MAX_TOKENS_LIMIT = 200
ANATOMY_KEYS = ("text", "stop_reason", "output_tokens")
SEPARATORS = ("", "\n", " ", "\n\n")
EXERCISE_QUESTION = "What does max_tokens limit in a request?"
"""The question exercise 01.1 sends (the lesson's `exercise_question`)."""

HINTS = {
    "01.1": (
        "The system prompt is not a message: it is a keyword argument of `create()`, next to `model`, "
        "`max_tokens` and `messages`.",
        "Section 2's pattern, on another question: `client.messages.create(model=DEFAULT_MODEL, max_tokens=100, "
        "system=\"Reply in one sentence, in French.\", messages=[{\"role\": \"user\", \"content\": \"What is a "
        "token?\"}])`. Yours sends the exercise's question, with instructions of your own.",
    ),
    "01.2": (
        "Three places: the text sits in the content blocks, `stop_reason` is a top-level field, the token counts "
        "are in `usage`.",
        "Join the `.text` of the blocks whose `.type` is \"text\"; then `message.stop_reason` and "
        "`message.usage.output_tokens`.",
    ),
    "01.3": (
        "Not every block has `.text`, and `content` can be empty: look at each block's `.type`.",
        "Section 3 reads the blocks by their type. The same filter picks the tool calls instead: `[block.name for "
        "block in message.content if block.type == \"tool_use\"]`. Yours keeps the text blocks, and joins their "
        "`.text` into one string.",
    ),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]{2,}", text.lower())


def instruction_problem(system: str) -> Optional[str]:
    """Why ``system`` cannot be an instruction (a filler string), or None: judged by its words, never its meaning,
    so any sentence that tells the assistant something passes."""
    words = _words(system)
    if len(set(words)) < 3:
        return f"{system.strip()[:40]!r} has {len(set(words))} different word(s)"
    if same_text(system, EXERCISE_QUESTION) or set(words) <= set(_words(EXERCISE_QUESTION)):
        return "only repeats the question"
    return None


@grader("01.1 a top-level system prompt")
def system_prompt(reply: Any) -> Any:
    record, problem = logged(reply, "reply", "Send `exercise_question` with a system prompt of your own")
    if problem is not None:
        return problem
    sent = record.request or {}
    messages = [m for m in sent.get("messages") or [] if isinstance(m, dict)]
    roles = [m.get("role") for m in messages]
    if "system" in roles:
        return not_yet("`messages` holds a turn with role \"system\". The system prompt is not a message: pass it as "
                       "the top-level `system` parameter of `create()` and keep only user/assistant turns in "
                       "`messages`.")
    if not messages or not same_text(text_of_content(messages[-1].get("content")), EXERCISE_QUESTION):
        return not_yet("the request did not end with `exercise_question` as its user turn: this exercise grades the "
                       "request that asks it (an earlier reply from the lesson is another request).")
    if "system" not in sent:
        return not_yet("the request had no top-level `system` parameter. Pass `system=\"...\"` to `create()`, "
                       "next to `model` and `messages`.")
    if not text_of_content(sent["system"]).strip():
        return not_yet("the top-level `system` parameter was empty: give it the instructions the assistant should "
                       "follow.")
    max_tokens = sent.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens > MAX_TOKENS_LIMIT:
        return not_yet(f"`max_tokens` was {max_tokens}; set it to at most {MAX_TOKENS_LIMIT}. It caps the length of "
                       "the reply in tokens (a limit, not a target).")
    unclear = instruction_problem(text_of_content(sent["system"]))
    if unclear:
        return not_yet(f"the system prompt {unclear}. Write an instruction the assistant can follow, such as who it "
                       "is or how to answer (its tone, or how long to be), in a sentence of three words or more.")
    return correct(f"the usage log shows `exercise_question` sent with your system prompt in the top-level `system` "
                   f"parameter, only {'/'.join(sorted(set(roles)))} turns in `messages`, and max_tokens "
                   f"{max_tokens}; an assistant Message came back (stop_reason {reply.stop_reason!r}).")


# --- 01.2 ---------------------------------------------------------------------------------------------------------

QUESTIONS = (
    "List the parts of a Message object, one per line.",
    "Name three fields of a Messages API response.",
    "What does stop_reason tell you about a reply?",
    "Why is content a list of blocks?",
    "What is counted in usage.output_tokens?",
)


def _sample_replies(rng: random.Random) -> list[tuple[str, anthropic.types.Message]]:
    """Real replies from the offline backend: cut by max_tokens, finished, and stopped at a stop sequence."""
    api = grader_client()
    asked = rng.sample(QUESTIONS, 3)
    cut = api.messages.create(model=DEFAULT_MODEL, max_tokens=rng.randrange(4, 16),
                              messages=[{"role": "user", "content": asked[0]}])
    whole = api.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=[{"role": "user", "content": asked[1]}])
    stopped = api.messages.create(model=DEFAULT_MODEL, max_tokens=300, stop_sequences=["I received"],
                                  messages=[{"role": "user", "content": asked[2]}])
    return [("a reply cut short by max_tokens", cut), ("a finished reply", whole), ("another reply", stopped)]


@grader_only
def _texts(message: anthropic.types.Message) -> list[str]:
    return [block.text for block in message.content if block.type == "text"]


def _anatomy_problem(answer: Any, message: anthropic.types.Message, what: str) -> Optional[str]:
    if answer is None:
        return "your function returned None: return a dict with the keys \"text\", \"stop_reason\" and " \
               "\"output_tokens\"."
    if not isinstance(answer, dict):
        return f"your function returned a {type(answer).__name__}; return a dict: " \
               "{\"text\": ..., \"stop_reason\": ..., \"output_tokens\": ...}."
    missing = [key for key in ANATOMY_KEYS if key not in answer]
    if missing:
        return f"the dict lacks the key(s) {', '.join(map(repr, missing))}."
    texts = _texts(message)
    if answer["text"] not in {sep.join(texts) for sep in SEPARATORS}:
        return f"on {what}, \"text\" was {answer['text']!r}, not the reply's text. Read it from the content " \
               "blocks: `message.content` is a list, and a text block's words are in its `.text`."
    if answer["stop_reason"] != message.stop_reason:
        return f"on {what}, \"stop_reason\" was {answer['stop_reason']!r} but the Message says " \
               f"{message.stop_reason!r}: read `message.stop_reason` (a reply does not always end with 'end_turn')."
    tokens, usage = answer["output_tokens"], message.usage
    if isinstance(tokens, bool) or tokens != usage.output_tokens:
        if tokens == usage.input_tokens:
            return "\"output_tokens\" holds `input_tokens`, the size of the prompt. The reply's size is " \
                   "`usage.output_tokens`."
        if tokens == usage.input_tokens + usage.output_tokens:
            return "\"output_tokens\" holds input plus output: only the reply's part counts here."
        return f"on {what}, \"output_tokens\" was {tokens!r}, not the Message's: token counts live in " \
               "`message.usage`."
    return None


@grader("01.2 the anatomy of a Message")
def anatomy(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson01.anatomy(anatomy)`. It takes a Message and "
                       "returns a dict.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `anatomy(message)` yourself.")
    rng, seed = draw(seed)
    samples = _sample_replies(rng)
    for what, message in samples:
        try:
            answer = function(message)
        except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
            return not_yet(f"on {what}, your function raised {type(error).__name__}: {error}.")
        problem = _anatomy_problem(answer, message, what)
        if problem:
            return not_yet(problem if answer is None else f"{problem} (seed {seed})")
    return correct(f"your function returned the text of the content blocks, the stop_reason and "
                   f"usage.output_tokens of {len(samples)} fresh replies, one of them cut short by max_tokens.")


# --- 01.3 ---------------------------------------------------------------------------------------------------------

WORDS = ("ant", "bee", "moth", "wasp", "beetle", "cricket", "mantis", "firefly", "termite", "weevil", "aphid")


def _message(*blocks: dict, stop_reason: str = "end_turn") -> anthropic.types.Message:
    """A Message shaped like the API's, for trying the learner's function on different contents."""
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson01grader", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
        "content": list(blocks), "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 8},
    })


def _cases(rng: random.Random) -> list[tuple[str, anthropic.types.Message, list[str]]]:
    def text() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6))).capitalize() + "."

    def block(value: str) -> dict:
        return {"type": "text", "text": value}

    city = rng.choice(("Lisbon", "Oslo", "Lima", "Kyoto", "Accra"))
    tool_use = {"type": "tool_use", "id": f"toolu_01grader{rng.randrange(10**6)}", "name": "get_weather",
                "input": {"city": city}}
    thinking = {"type": "thinking", "thinking": f"The user asks about {city}.", "signature": "c2lnbmF0dXJl"}
    one, first, second, after = text(), text(), text(), text()
    cases = [
        ("one text block", _message(block(one)), [one]),
        ("a tool_use block and no text", _message(tool_use, stop_reason="tool_use"), []),
        ("a thinking block before the text", _message(thinking, block(after)), [after]),
        ("two text blocks around a tool_use block",
         _message(block(first), tool_use, block(second), stop_reason="tool_use"), [first, second]),
        ("no blocks at all (as after a refusal)", _message(stop_reason="refusal"), []),
    ]
    rng.shuffle(cases)
    return cases


@grader("01.3 the text of every text block")
def text_of(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define a function `text_of(message)` that returns the text of every text block "
                       "in `message.content`, joined into one string, and pass the function itself.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `text_of(message)` yourself.")
    rng, seed = draw(seed)
    cases = _cases(rng)
    for name, message, texts in cases:
        try:
            result = function(message)
        except AttributeError as error:
            return not_yet(f"on a message with {name}, your function failed ({error}). Not every block has `.text`: "
                           "look at each block's `.type` and keep only the text blocks.")
        except IndexError:
            return not_yet(f"on a message with {name}, your function indexed past the end of `message.content`. "
                           "Content can be an empty list: loop over the blocks instead of reading `content[0]`.")
        except Exception as error:  # noqa: BLE001 - the learner's code can fail in any way
            return not_yet(f"on a message with {name}, your function raised {type(error).__name__}: {error}.")
        if result is None:
            return not_yet("your function returned None: end it with `return` and the joined text of the text "
                           "blocks.")
        if not isinstance(result, str):
            return not_yet(f"on a message with {name}, your function returned {type(result).__name__}, not a string. "
                           "Return the joined text (an empty string when there is no text block).")
        if result in {sep.join(texts) for sep in SEPARATORS}:
            continue
        if len(texts) > 1 and result in texts:
            return not_yet(f"on a message with {name}, your function kept only one of the text blocks. "
                           "A message can hold several: join the `.text` of all of them.")
        return not_yet(f"on a message with {name}, your function returned {result!r}, expected {''.join(texts)!r} "
                       f"(seed {seed}). Join the `.text` of the text blocks, in order, and nothing else.")
    return correct(f"your function returned the right text for {len(cases)} shapes of content, with texts made up "
                   "for this run: one text block, no text, a thinking block first, several text blocks, and no "
                   "blocks at all.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
