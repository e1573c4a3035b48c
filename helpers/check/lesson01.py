"""Graders for lesson 01: the top-level system prompt, the anatomy of a Message, reading content blocks."""

from __future__ import annotations

from typing import Any, Callable

import anthropic

from ..catalog import DEFAULT_MODEL
from . import correct, grader, hint, is_message, sent_request

MAX_TOKENS_LIMIT = 200
ANATOMY_KEYS = ("text", "stop_reason", "output_tokens")
SEPARATORS = ("", "\n", " ", "\n\n")


def _text_blocks(message: anthropic.types.Message) -> list[str]:
    return [block.text for block in message.content if block.type == "text"]


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("type") == "text")
    return ""


@grader("01.1 a top-level system prompt")
def system_prompt(reply: Any) -> Any:
    if reply is None:
        return hint("call `client.messages.create(...)` with a `system=\"...\"` argument next to `model`, "
                    "`max_tokens` and `messages`, and keep the Message it returns in `reply`.")
    if not is_message(reply):
        return hint(f"`reply` is a {type(reply).__name__}; keep the whole Message that `client.messages.create(...)` "
                    "returns (not its text), so the grader can look up the request that produced it.")
    sent = sent_request(reply)
    if sent is None:
        return hint("the grader cannot find the request behind this Message. Send it with the `client` from the "
                    "setup cell (`connect()` records every request it sends).")
    roles = [m.get("role") for m in sent.get("messages", []) if isinstance(m, dict)]
    if "system" in roles:
        return hint("`messages` holds a turn with role \"system\". The system prompt is not a message: pass it as the "
                    "top-level `system` parameter of `create()` and keep only user/assistant turns in `messages`.")
    if "system" not in sent:
        return hint("the request had no top-level `system` parameter. Pass `system=\"...\"` to `create()`, "
                    "next to `model` and `messages`.")
    if not _system_text(sent["system"]).strip():
        return hint("the top-level `system` parameter was empty: give it the instructions the assistant should follow.")
    max_tokens = sent.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens > MAX_TOKENS_LIMIT:
        return hint(f"`max_tokens` was {max_tokens}; set it to at most {MAX_TOKENS_LIMIT}. It caps the length of the "
                    "reply in tokens (a limit, not a target).")
    if reply.type != "message" or reply.role != "assistant":
        return hint("the reply is not an assistant message; send the request again and keep what `create()` returns.")
    return correct(f"the system prompt went in the top-level `system` parameter, `messages` held only "
                   f"{'/'.join(sorted(set(roles)))} turns, max_tokens was {max_tokens}, and an assistant Message "
                   f"came back (stop_reason {reply.stop_reason!r}).")


@grader("01.2 the anatomy of a Message")
def anatomy(answer: Any, message: Any) -> Any:
    if not is_message(message):
        return hint("pass the Message you read from as the second argument: `check.lesson01.anatomy(answer, given)`.")
    if answer is None:
        return hint("set `answer` to a dict with the keys \"text\", \"stop_reason\" and \"output_tokens\", "
                    "each read from `given` in code (not copied by hand).")
    if not isinstance(answer, dict):
        return hint(f"`answer` is a {type(answer).__name__}; make it a dict: "
                    "{\"text\": ..., \"stop_reason\": ..., \"output_tokens\": ...}.")
    missing = [key for key in ANATOMY_KEYS if key not in answer]
    if missing:
        return hint(f"`answer` lacks the key(s) {', '.join(map(repr, missing))}. "
                    "It needs \"text\", \"stop_reason\" and \"output_tokens\".")
    texts = _text_blocks(message)
    text = answer["text"]
    if text is None or not isinstance(text, str):
        return hint("\"text\" should be a string: the reply's text sits in `given.content`, a list of blocks; "
                    "a text block keeps it in `.text`. Pick the blocks whose `.type` is \"text\": the first block "
                    "may be a `thinking` block.")
    if text not in {sep.join(texts) for sep in SEPARATORS}:
        return hint("\"text\" does not match the reply. Read it from the content blocks: "
                    "`given.content` is a list, and a text block's words are in its `.text` attribute. "
                    "Keep the blocks whose `.type` is \"text\": a reply may open with a `thinking` block.")
    stop_reason = answer["stop_reason"]
    if stop_reason != message.stop_reason:
        return hint(f"\"stop_reason\" is {stop_reason!r}, but the Message says otherwise. Read `given.stop_reason`, "
                    "a top-level field: a reply does not always end with 'end_turn'.")
    output_tokens = answer["output_tokens"]
    usage = message.usage
    if isinstance(output_tokens, bool) or output_tokens != usage.output_tokens:
        if output_tokens == usage.input_tokens:
            return hint("that is `input_tokens`, the size of the prompt. The reply's size is `given.usage.output_tokens`.")
        if output_tokens == usage.input_tokens + usage.output_tokens:
            return hint("that is input plus output. \"output_tokens\" is only the reply's part: `given.usage.output_tokens`.")
        return hint("\"output_tokens\" does not match. Token counts live in `given.usage`; "
                    "the reply's count is `given.usage.output_tokens`.")
    cut = ""
    if message.stop_reason == "max_tokens":
        if texts:
            cut = " The reply was cut short by max_tokens, which is why its text stops mid-sentence."
        elif any(block.type == "thinking" for block in message.content):
            cut = " The reply was cut short by max_tokens before any text: its thinking used them all."
        else:
            cut = " The reply was cut short by max_tokens before any text."
    return correct(f"text from the content blocks, stop_reason {message.stop_reason!r} and "
                   f"{usage.output_tokens} output tokens from `usage`.{cut}")


def _message(*blocks: dict, stop_reason: str = "end_turn") -> anthropic.types.Message:
    """A Message shaped like the API's, for trying the learner's function on different contents."""
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson01grader", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
        "content": list(blocks), "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 8},
    })


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


_TOOL_USE = {"type": "tool_use", "id": "toolu_01lesson01grader", "name": "get_weather", "input": {"city": "Lisbon"}}
_THINKING = {"type": "thinking", "thinking": "The user wants the weather.", "signature": "c2lnbmF0dXJl"}

CASES: tuple[tuple[str, Callable[[], anthropic.types.Message], list[str]], ...] = (
    ("one text block", lambda: _message(_text("Plain text.")), ["Plain text."]),
    ("a tool_use block and no text", lambda: _message(_TOOL_USE, stop_reason="tool_use"), []),
    ("a thinking block before the text", lambda: _message(_THINKING, _text("After thinking.")), ["After thinking."]),
    ("two text blocks around a tool_use block",
     lambda: _message(_text("First part."), _TOOL_USE, _text("Second part."), stop_reason="tool_use"),
     ["First part.", "Second part."]),
    ("no blocks at all (as after a refusal)", lambda: _message(stop_reason="refusal"), []),
)


@grader("01.3 the text of every text block")
def text_of(function: Any) -> Any:
    if not callable(function):
        return hint("define a function `text_of(message)` that returns the text of every text block "
                    "in `message.content`, joined into one string.")
    for name, build, texts in CASES:
        message = build()
        try:
            result = function(message)
        except AttributeError as error:
            return hint(f"on a message with {name}, your function failed ({error}). Not every block has `.text`: "
                        "loop over `message.content` and keep only blocks whose `.type` is \"text\".")
        except IndexError:
            return hint(f"on a message with {name}, your function indexed past the end of `message.content`. "
                        "Content can be an empty list: loop over the blocks instead of reading `content[0]`.")
        except Exception as error:  # noqa: BLE001 - the learner's code can fail in any way
            return hint(f"on a message with {name}, your function raised {type(error).__name__}: {error}. "
                        "Loop over `message.content` and join the `.text` of the text blocks.")
        if result is None:
            return hint("your function returned None: end it with `return` and the joined text of the text blocks.")
        if not isinstance(result, str):
            return hint(f"on a message with {name}, your function returned {type(result).__name__}, not a string. "
                        "Return the joined text (an empty string when there is no text block).")
        if result in {sep.join(texts) for sep in SEPARATORS}:
            continue
        if len(texts) > 1 and result in texts:
            return hint(f"on a message with {name}, your function kept only one of the text blocks. "
                        "A message can hold several: join the `.text` of all of them.")
        return hint(f"on a message with {name}, your function returned {result!r}, expected {''.join(texts)!r}. "
                    "Join the `.text` of the blocks whose `.type` is \"text\", in order, and nothing else.")
    return correct(f"your function handled {len(CASES)} shapes of content: one text block, no text, a thinking "
                   "block first, several text blocks, and no blocks at all.")
