"""Graders for lesson 07: the cost of a call, a max_tokens that fits the window."""

from __future__ import annotations

import numbers
import random
from decimal import Decimal
from typing import Any, Optional

import anthropic

from .. import catalog
from ..catalog import DEFAULT_MODEL, PREFILL_MODEL
from ..usage import UsageLog
from . import correct, draw, grader, grader_client, grader_only, kit_function, not_yet

HINTS = {
    "07.1": (
        "Three fields of `usage` are input: `input_tokens`, `cache_creation_input_tokens` and "
        "`cache_read_input_tokens` (the cache fields may be None). The catalog prices the model that answered.",
        "`catalog.cost_usd(message.model, total_input, message.usage.output_tokens)`: it accepts the snapshot id "
        "in `message.model` and applies the long-context rate.",
    ),
    "07.2": (
        "Count the input first with `client.messages.count_tokens(model=model, messages=messages)`: the room left "
        "is the window minus that count.",
        "`min(wanted, entry.context_window - input_tokens, entry.max_output_tokens)` with "
        "`entry = catalog.get(model)`.",
    ),
}


# --- 07.1 ---------------------------------------------------------------------------------------------------------

def _reply(model: str, input_tokens: int, output_tokens: int, cache_creation: Optional[int],
           cache_read: Optional[int]) -> anthropic.types.Message:
    """A reply as the API sends it, with the usage to price (the offline backend has no prompt cache)."""
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson07grader", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "A reply to price."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read},
    })


def _sample_replies(rng: random.Random) -> list[tuple[str, anthropic.types.Message]]:
    current = [m for m in catalog.available() if m.lifecycle == "active" and not m.legacy]
    cached_model = rng.choice(current)
    default = catalog.get(DEFAULT_MODEL)
    long_above = default.price.long_context_above or 100_000
    dated = catalog.get(PREFILL_MODEL)
    offline = grader_client().messages.create(model=DEFAULT_MODEL, max_tokens=60,
                                              messages=[{"role": "user", "content": "How deep should a raised bed be?"}])
    return [
        ("a short reply from the offline backend", offline),
        (f"a reply from {cached_model.id} that read and wrote the prompt cache",
         _reply(cached_model.resolved_id, rng.randrange(500, 3_000), rng.randrange(200, 2_000),
                rng.randrange(5_000, 30_000), rng.randrange(20_000, 80_000))),
        (f"a reply from {dated.id}, which reports a dated snapshot id, with cache fields set to None",
         _reply(dated.resolved_id, rng.randrange(20_000, 60_000), rng.randrange(500, 3_000), None, None)),
        (f"a reply from {default.id} whose input, cache included, is over {long_above:,} tokens",
         _reply(default.resolved_id, rng.randrange(40_000, 60_000), rng.randrange(1_000, 4_000), 0,
                long_above - 30_000 + rng.randrange(0, 20_000))),
    ]


@grader_only
def _total_input(usage: Any) -> int:
    return usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)


@grader_only
def _expected_cost(message: anthropic.types.Message) -> float:
    return catalog.cost_usd(message.model, _total_input(message.usage), message.usage.output_tokens)


ROUNDING = 5e-7
"""Rounding to 6 decimal places, as lesson 07 prints costs, moves a cost by at most this much."""


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ROUNDING + 1e-9 * abs(b)


def _cost_mistake(got: float, message: anthropic.types.Message, what: str) -> str:
    entry = catalog.get(message.model)
    u = message.usage
    price = entry.price
    total_in = _total_input(u)
    if _close(got, catalog.cost_usd(message.model, u.input_tokens, u.output_tokens)) and total_in != u.input_tokens:
        return (f"on {what}, your cost leaves out the cache: `cache_creation_input_tokens` and "
                "`cache_read_input_tokens` are input tokens too (count None as 0).")
    if _close(got, _expected_cost(message) * 1_000_000):
        return "prices in the catalog are per million tokens: divide tokens × price by 1,000,000 (or let " \
               "`price.cost_usd(input, output)` do it)."
    if _close(got, (total_in * price.output + u.output_tokens * price.input) / 1_000_000):
        return "input and output tokens have different prices: input at `price.input`, output at `price.output`."
    if price.long_context_above is not None and total_in > price.long_context_above and \
            _close(got, (total_in * price.input + u.output_tokens * price.output) / 1_000_000):
        return (f"on {what}, the long-context rate applies: above {price.long_context_above:,} input tokens the "
                "whole call is billed at `price.long_context_input` / `long_context_output`. "
                "`price.cost_usd(input, output)` applies it for you.")
    if _close(got, (total_in + u.output_tokens) * price.input / 1_000_000):
        return "output tokens cost more than input tokens: price them at `price.output`."
    expected = _expected_cost(message)
    for places in range(1, 6):
        if abs(got - round(expected, places)) <= 1e-12:
            return (f"on {what}, your cost was rounded to {places} decimal places, which loses too much of it: "
                    "keep at least 6.")
    return (f"on {what} ({message.model}, {total_in:,} input tokens cache included and {u.output_tokens:,} output), "
            f"message_cost() returned {got!r}, not ${expected:.8f}. Price the model that answered with the total "
            "input of `usage`.")


@grader("07.1 the cost of a call")
def message_cost(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `message_cost(message)` and pass the function itself: "
                       "`check.lesson07.message_cost(message_cost)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `message_cost(message)` yourself.")
    rng, seed = draw(seed)
    for what, message in _sample_replies(rng):
        try:
            got = function(message)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"message_cost() raised {type(error).__name__}: {error} on {what}. Read the tokens from "
                           "`message.usage` (the cache fields may be None) and the model from `message.model`.")
        if got is None:
            return not_yet("message_cost() returned None: return the cost in dollars, a number.")
        if isinstance(got, bool) or not isinstance(got, (numbers.Real, Decimal)):
            return not_yet(f"message_cost() returned a {type(got).__name__}: return the cost in dollars as a number.")
        if not _close(float(got), _expected_cost(message)):
            return not_yet(f"{_cost_mistake(float(got), message, what)} (seed {seed})")
    return correct("message_cost() matched the catalog's price on four replies drawn for this run, counting all "
                   "three input fields of `usage`: a reply from the offline backend, one with prompt-cache tokens, "
                   "one reporting a dated snapshot id with its cache fields set to None, and one over the "
                   "long-context threshold.")


# --- 07.2 ---------------------------------------------------------------------------------------------------------

def _filler(words: int) -> str:
    return "Please read these notes." + " ant" * words


def _fit_cases(rng: random.Random) -> list[tuple[str, str, list[dict], int]]:
    window = catalog.get(PREFILL_MODEL).context_window
    short = [{"role": "user", "content": "How deep should a raised bed be?"}]
    nearly_full = [{"role": "user", "content": _filler(window - rng.randrange(800, 3_000))}]
    return [
        ("a short history", DEFAULT_MODEL, short, rng.randrange(200, 4_000)),
        ("a history that nearly fills the window", PREFILL_MODEL, nearly_full, rng.randrange(3_000, 8_000)),
        ("a short history with a huge `wanted`", PREFILL_MODEL, short, window),
    ]


@grader("07.2 a max_tokens that fits the window")
def fit_max_tokens(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `fit_max_tokens(client, model, messages, wanted)` and pass the function itself: "
                       "`check.lesson07.fit_max_tokens(fit_max_tokens)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `fit_max_tokens(...)` yourself.")
    rng, seed = draw(seed)
    for what, model, messages, wanted in _fit_cases(rng):
        entry = catalog.get(model)
        log = UsageLog()
        api = grader_client(log)
        counted = api.messages.count_tokens(model=model, messages=messages).input_tokens
        log.clear()
        expected = min(wanted, entry.max_output_tokens, entry.context_window - counted)
        try:
            got = function(api, model, [dict(m) for m in messages], wanted)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"fit_max_tokens() raised {type(error).__name__}: {error} for {what}. Its signature is "
                           "`fit_max_tokens(client, model, messages, wanted)`.")
        calls = [record.path for record in log.records]
        if "/v1/messages" in calls:
            return not_yet("fit_max_tokens() sent the request with `messages.create`: only count it, with "
                           "`client.messages.count_tokens`, which runs no model and costs nothing.")
        if "/v1/messages/count_tokens" not in calls:
            return not_yet("fit_max_tokens() never called `client.messages.count_tokens`: count the input with the "
                           "client it is given, since only the API knows the real count.")
        if isinstance(got, bool) or not isinstance(got, int):
            return not_yet(f"fit_max_tokens() returned {got!r}: return max_tokens as an int.")
        if got == expected:
            continue
        room = entry.context_window - counted
        if got > entry.max_output_tokens and expected == entry.max_output_tokens:
            return not_yet(f"for {what} on {entry.id}, {got:,} is more than the model's max_output_tokens "
                           f"({entry.max_output_tokens:,}), which the API refuses with a 400: cap it with the catalog "
                           "entry's `max_output_tokens`.")
        if got > room:
            return not_yet(f"for {what}, the input is {counted:,} tokens of a {entry.context_window:,}-token window, "
                           f"so at most {room:,} tokens are left for the reply, and {got:,} would overflow it.")
        if got > wanted:
            return not_yet(f"for {what}, {got:,} is more than the {wanted:,} tokens wanted: never ask for more than "
                           "`wanted`.")
        return not_yet(f"for {what}, {got:,} leaves room unused: {expected:,} fits (wanted {wanted:,}, {room:,} left "
                       f"in the window, at most {entry.max_output_tokens:,} output tokens for {entry.id}; seed {seed}).")
    return correct("fit_max_tokens() counted the input with `count_tokens` (and sent nothing), then returned the "
                   "largest max_tokens that fits the window and the model's output limit, on three requests made up "
                   "for this run.")
