"""Graders for lesson 04: a prefilled multiple-choice answer, structured outputs, choosing per model."""

from __future__ import annotations

import json
import re
from typing import Any, Optional

import anthropic
import pydantic

from .. import catalog
from . import correct, draw, grader, kit_function, logged, not_yet, reply_text, same_text, text_of_content
from .made_up import catalog_including, made_up_catalog

OPTION = re.compile(r"\([A-Z]\)")
MAX_LETTER_TOKENS = 5
STRUCTURED_KEYS = ("name", "legs", "flies")
TECHNIQUES = ("prefill", "structured_outputs")
BEE_QUESTION = "Which insect order do bees belong to? (A) Hymenoptera, (B) Coleoptera, (C) Diptera"
"""The question of exercise 04.1 (the lesson's `bee_question`)."""
MADE_UP_MODELS = 8

HINTS = {
    "04.1": (
        "A prefill is a last assistant turn that the reply continues. It only works on a model whose catalog "
        "entry says `supports_prefill`, such as `PREFILL_MODEL`.",
        "Section 2's pattern, on another question: `messages=[{\"role\": \"user\", \"content\": \"Which one is a "
        "mammal? (A) shark (B) whale\"}, {\"role\": \"assistant\", \"content\": \"The answer is (\"}]`, on "
        "`PREFILL_MODEL`, with a `max_tokens` that leaves room for one letter only. Yours asks the exercise's "
        "question.",
    ),
    "04.2": (
        "Structured outputs take a JSON schema in `output_config`; the conversation ends with the user turn.",
        "Section 5, for another object: `city_schema = {\"type\": \"object\", \"properties\": {\"city\": "
        "{\"type\": \"string\"}, \"population\": {\"type\": \"integer\"}}, \"required\": [\"city\", "
        "\"population\"], \"additionalProperties\": False}`, sent with `output_config={\"format\": {\"type\": "
        "\"json_schema\", \"schema\": city_schema}}`; `json.loads` of the reply's text block gives the dict. Yours "
        "describes the insect with the exercise's keys and types.",
    ),
    "04.3": (
        "Don't list ids: the catalog entry knows. `catalog.get(model_id)` accepts aliases and dated snapshot ids.",
        "Section 7 chooses from the entry, not from the id. The same shape on another flag: `return \"forced\" if "
        "catalog.get(model_id).forced_tool_use else \"auto\"`. Yours reads the prefill flag and returns the "
        "exercise's two strings.",
    ),
}


def _explain_prefill(error: BaseException) -> Optional[str]:
    if isinstance(error, anthropic.BadRequestError):
        message = str(getattr(error, "api_message", "") or error)
        if "prefill" in message:
            return ("The model you chose refuses a prefill: send the request to a model whose catalog entry has "
                    "`supports_prefill` True, such as `PREFILL_MODEL`.")
        if "trailing whitespace" in message:
            return "Your prefill ends with a space or a newline: remove it (`prefill.rstrip()`)."
    return None


@grader("04.1 multiple choice with a prefill", explain=_explain_prefill)
def multiple_choice(message: Any) -> Any:
    record, problem = logged(message, "bee_answer", "Send `bee_question` with a prefill")
    if problem is not None:
        return problem
    request = record.request or {}
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    last = messages[-1] if messages else {}
    if last.get("role") != "assistant":
        return not_yet("the request ended with a user turn, so there was no prefill. End the messages with an "
                       "assistant turn: the start of the answer, ending with an open bracket.")
    prefill = text_of_content(last.get("content"))
    if not prefill.endswith("("):
        return not_yet(f"your prefill ends with {prefill[-12:]!r}. End it with an open bracket, \"(\", so the next "
                       "token is an option letter.")
    question = text_of_content(messages[-2].get("content")) if len(messages) > 1 else ""
    if len(messages) < 2 or messages[-2].get("role") != "user" or not same_text(question, BEE_QUESTION):
        return not_yet("the user turn before the prefill is not `bee_question`: this exercise grades the request "
                       "that asks it (the lesson's ant question is another request).")
    entry = catalog.lookup(str(request.get("model")))
    if entry is None or not entry.supports_prefill:
        return not_yet(f"{request.get('model')} does not accept a prefill. Use a model whose `supports_prefill` is "
                       "True, such as `PREFILL_MODEL`.")
    max_tokens = request.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens > MAX_LETTER_TOKENS:
        return not_yet(f"max_tokens was {max_tokens}. The answer is one letter: set `max_tokens` to 1 (at most "
                       f"{MAX_LETTER_TOKENS}).")
    return correct(f"the usage log shows `bee_question` sent to {entry.id}, which accepts a prefill, ending with your "
                   f"prefill {prefill[-15:]!r} and max_tokens {max_tokens}; the reply continued it with "
                   f"{reply_text(message)!r} (stop_reason {message.stop_reason}).")


def _parsed_data(data: Any) -> Any:
    """The learner's parsed answer as plain data: a dict, or the Pydantic object of `bee.parsed_output`."""
    if isinstance(data, pydantic.BaseModel):
        return data.model_dump(mode="json")
    return data


@grader("04.2 structured output")
def structured(message: Any, data: Any = None) -> Any:
    record, problem = logged(message, "bee", "Describe an insect with structured outputs on `DEFAULT_MODEL`")
    if problem is not None:
        return problem
    request = record.request or {}
    config = request.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        return not_yet("the request had no structured output: pass a JSON schema in `output_config` "
                       "(`{\"format\": {\"type\": \"json_schema\", \"schema\": ...}}`).")
    schema = fmt["schema"]
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    missing = [key for key in STRUCTURED_KEYS if key not in required]
    if missing:
        return not_yet(f"the schema's `required` list lacks {missing}: this exercise's schema requires "
                       f"{list(STRUCTURED_KEYS)} (the lesson's ant schema is another one).")
    if schema.get("additionalProperties") is not False:
        return not_yet("the schema does not set `\"additionalProperties\": False`: objects in a structured-output "
                       "schema close their list of keys.")
    messages = request.get("messages") or []
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
        return not_yet("structured outputs replace the prefill: end the messages with the user turn.")
    if message.stop_reason != "end_turn":
        return not_yet(f"the reply stopped with {message.stop_reason!r}, so its JSON may be incomplete. Check "
                       "`stop_reason` and give it enough `max_tokens` (200 is plenty).")
    try:
        parsed = json.loads(reply_text(message))
    except ValueError:
        return not_yet("the reply's text is not JSON. Was `output_config.format` sent with this request?")
    if not isinstance(parsed, dict) or any(key not in parsed for key in required):
        return not_yet("the reply does not have every key listed in the schema's `required`.")
    if data is None:
        return not_yet("now parse the reply's text into `bee_data` (with `json.loads`), and run the cell again.")
    if _parsed_data(data) != parsed:
        return not_yet("`bee_data` is not the parsed reply: parse the text of `bee`'s text block with `json.loads` "
                       "(or take `bee.parsed_output` from `client.messages.parse`).")
    return correct(f"the usage log shows your schema (required {sorted(required)}, no additional properties) in "
                   f"`output_config`; the reply's text parsed as JSON with every required key, and `bee_data` holds "
                   f"that object, keys {sorted(parsed)}.")


@grader("04.3 choose the technique per model")
def technique(choose: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(choose):
        return not_yet("pass your function itself: `check.lesson04.technique(choose_technique)`.")
    if kit_function(choose):
        return not_yet("that is one of the kit's own functions: write `choose_technique(model_id)` yourself.")
    rng, seed = draw(seed)
    made_up = [m for m in made_up_catalog(rng, MADE_UP_MODELS) if not m.retired]
    real = [i for entry in catalog.available() for i in (entry.id, *((entry.snapshot,) if entry.snapshot else ()))]
    invented = [i for entry in made_up for i in (entry.id, *((entry.snapshot,) if entry.snapshot else ()))]
    cases = real + invented
    rng.shuffle(cases)
    with catalog_including(made_up):
        for model_id in cases:
            entry = catalog.get(model_id)
            expected = "prefill" if entry.supports_prefill else "structured_outputs"
            try:
                got = choose(model_id)
            except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
                return not_yet(f"choose_technique({model_id!r}) raised {type(error).__name__}: {error}. Look the id "
                               "up in the catalog, which knows aliases, dated snapshot ids and any model it lists.")
            if got is None:
                return not_yet("your function returned None: return \"prefill\" or \"structured_outputs\".")
            if got not in TECHNIQUES:
                return not_yet(f"choose_technique({model_id!r}) returned {got!r}. Return \"prefill\" or "
                               "\"structured_outputs\".")
            if got != expected:
                made_up_note = (" (It is a model made up for this run and added to the catalog while grading, "
                                "as a new release of the catalog would add it.)" if model_id in invented else "")
                return not_yet(f"choose_technique({model_id!r}) returned {got!r}, but that model's "
                               f"`supports_prefill` is {entry.supports_prefill}.{made_up_note} Decide from "
                               f"`catalog.get(model_id).supports_prefill`, not from a list of ids (seed {seed}).")
    return correct(f"right for all {len(real)} ids of the catalog and for models made up for this run (added to "
                   "the catalog while grading): your function decides from the catalog entry, not from a list.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
