"""Graders for lesson 04: a prefilled multiple-choice answer, structured outputs, choosing per model."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import catalog
from . import correct, grader, hint, is_message, sent_request

OPTION = re.compile(r"\([A-Z]\)")
MAX_LETTER_TOKENS = 5
STRUCTURED_KEYS = ("name", "legs", "flies")
TECHNIQUES = ("prefill", "structured_outputs")


def _text(content: Any) -> str:
    """The text of a message's content, whether a string or a list of blocks."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def _reply_text(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def _not_recorded() -> Any:
    return hint("this Message was not made by a client from `connect()`, so the grader cannot see what was sent. "
                "Use the lesson's `client`.")


@grader("04.1 multiple choice with a prefill")
def multiple_choice(message: Any) -> Any:
    if not is_message(message):
        return hint("keep the Message that `client.messages.create(...)` returns in `bee_answer`: the request ends "
                    "with an assistant turn (the prefill) such as \"The answer is (\".")
    request = sent_request(message)
    if request is None:
        return _not_recorded()
    messages = request.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") != "assistant":
        return hint("the request ended with a user turn, so there was no prefill. Add a final "
                    "`{\"role\": \"assistant\", \"content\": \"The answer is (\"}` after the question.")
    prefill = _text(last.get("content"))
    if not prefill.endswith("("):
        return hint(f"your prefill ends with {prefill[-12:]!r}. End it with an open bracket, \"(\", so the next "
                    "token is an option letter.")
    question = _text(messages[-2].get("content")) if len(messages) > 1 and messages[-2].get("role") == "user" else ""
    if not OPTION.search(question):
        return hint("the user turn before the prefill should be the multiple-choice question, with lettered options "
                    "like (A), (B), (C): send `bee_question`.")
    entry = catalog.lookup(str(request.get("model")))
    if entry is None or not entry.supports_prefill:
        return hint(f"{request.get('model')} does not accept a prefill. Use `PREFILL_MODEL` (or another model whose "
                    "`supports_prefill` is True).")
    max_tokens = request.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens > MAX_LETTER_TOKENS:
        return hint(f"max_tokens was {max_tokens}. The answer is one letter, so set `max_tokens=1` "
                    f"(at most {MAX_LETTER_TOKENS}).")
    return correct(f"the reply continued your prefill with {_reply_text(message)!r} "
                   f"(stop_reason {message.stop_reason}, max_tokens {max_tokens}).")


@grader("04.2 structured output")
def structured(message: Any, data: Any = None) -> Any:
    if not is_message(message):
        return hint("keep the Message that `client.messages.create(...)` returns in `bee`, and pass a schema in "
                    "`output_config={\"format\": {\"type\": \"json_schema\", \"schema\": ...}}`.")
    request = sent_request(message)
    if request is None:
        return _not_recorded()
    config = request.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        return hint("the request had no structured output. Pass `output_config={\"format\": {\"type\": \"json_schema\", "
                    "\"schema\": bee_schema}}` to `create`.")
    schema = fmt["schema"]
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    missing = [key for key in STRUCTURED_KEYS if key not in required]
    if missing:
        return hint(f"the schema's `required` list lacks {missing}. List every key the answer must have: "
                    f"{list(STRUCTURED_KEYS)}.")
    messages = request.get("messages") or []
    if messages and messages[-1].get("role") == "assistant":
        return hint("structured outputs replace the prefill: end the messages with the user turn.")
    if message.stop_reason != "end_turn":
        return hint(f"the reply stopped with {message.stop_reason!r}, so its JSON may be incomplete. Check "
                    "`stop_reason` and give it enough `max_tokens` (200 is plenty).")
    try:
        parsed = json.loads(_reply_text(message))
    except ValueError:
        return hint("the reply's text is not JSON. Was `output_config.format` sent with this request?")
    if not isinstance(parsed, dict) or any(key not in parsed for key in required):
        return hint("the reply does not have every key listed in the schema's `required`.")
    if data is None:
        return hint("now parse the reply's text block: "
                    "`bee_data = json.loads(next(b.text for b in bee.content if b.type == \"text\"))`.")
    if data != parsed:
        return hint("`bee_data` is not the parsed reply. Parse the text block, not the first block (it may be "
                    "`thinking`): `json.loads(next(b.text for b in bee.content if b.type == \"text\"))`.")
    return correct(f"the reply was JSON valid for your schema, parsed into a dict with keys {sorted(parsed)}.")


@grader("04.3 choose the technique per model")
def technique(choose: Any) -> Any:
    if not callable(choose):
        return hint("pass your function itself: `check.lesson04.technique(choose_technique)`.")
    cases = []
    for entry in catalog.available():
        cases.append(entry.id)
        if entry.snapshot:
            cases.append(entry.snapshot)
    for model_id in cases:
        expected = "prefill" if catalog.get(model_id).supports_prefill else "structured_outputs"
        try:
            got = choose(model_id)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return hint(f"choose_technique({model_id!r}) raised {type(error).__name__}: {error}. Look the id up "
                        "with `catalog.get(model_id)`, which knows aliases and dated snapshot ids.")
        if got not in TECHNIQUES:
            return hint(f"choose_technique({model_id!r}) returned {got!r}. Return \"prefill\" or "
                        "\"structured_outputs\".")
        if got != expected:
            flag = catalog.get(model_id).supports_prefill
            return hint(f"choose_technique({model_id!r}) returned {got!r}, but that model's `supports_prefill` is "
                        f"{flag}. Decide from `catalog.get(model_id).supports_prefill`, not from a list of ids.")
    prefill = sum(1 for m in cases if catalog.get(m).supports_prefill)
    return correct(f"right for all {len(cases)} ids: {prefill} take a prefill, the other {len(cases) - prefill} "
                   "need structured outputs.")
