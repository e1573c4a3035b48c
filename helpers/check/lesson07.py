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
from . import (
    BilledTokens, billed_tokens, correct, draw, expected_cost, grader, grader_client, grader_only, kit_function,
    not_yet, over_rounded, same_cost,
)

HINTS = {
    "07.1": (
        "Three fields of `usage` are input: `input_tokens` (plain input), `cache_creation_input_tokens` (written to "
        "the prompt cache) and `cache_read_input_tokens` (read from it); the cache fields may be None. Each has its "
        "own price: `catalog.cache_prices()` gives the cache rates as multiples of the input price.",
        "Section 4 prices a reply. For a call that used no cache, `catalog.cost_usd(message.model, "
        "usage.input_tokens, usage.output_tokens)` is the whole cost (it reads snapshot ids and applies the "
        "long-context rate); `help(catalog.cost_usd)` shows the keyword arguments it takes for cache writes and "
        "reads. Either cache field of `usage` may be None.",
    ),
    "07.2": (
        "Count the input first with `client.messages.count_tokens(model=model, messages=messages)`: the room left "
        "is the window minus that count.",
        "Three limits, and the answer is the smallest: what was asked for, the room the window leaves after the "
        "counted input, and the model's own output maximum. Section 5 shows where the catalog keeps the window "
        "and the maximum (`catalog.get(model)`).",
    ),
}


# --- 07.1 ---------------------------------------------------------------------------------------------------------

def _reply(model: str, input_tokens: int, output_tokens: int, cache_write_5m: Optional[int],
           cache_read: Optional[int]) -> anthropic.types.Message:
    """A reply as the API sends it, with the usage to price: its cache writes, if any, are kept for 5 minutes.

    The API reports the writes both in ``cache_creation_input_tokens`` and, split by TTL, in ``cache_creation``
    (https://platform.claude.com/docs/en/build-with-claude/prompt-caching), so an answer that reads the split
    prices them the same."""
    split = None if cache_write_5m is None else {"ephemeral_5m_input_tokens": cache_write_5m,
                                                  "ephemeral_1h_input_tokens": 0}
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson07grader", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "A reply to price."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": cache_write_5m, "cache_read_input_tokens": cache_read,
                  "cache_creation": split},
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
        # Over the threshold only when the cache reads count, as the catalog counts them: by tokens, not by price.
        (f"a reply from {default.id} whose input, cache included, is over {long_above:,} tokens",
         _reply(default.resolved_id, rng.randrange(40_000, 60_000), rng.randrange(1_000, 4_000), 0,
                long_above - 30_000 + rng.randrange(0, 20_000))),
    ]


def _priced(t: BilledTokens, rate_in: float, rate_out: float, *, write_5m: float, write_1h: float, read: float) -> float:
    """Dollars for these tokens at these rates per million, the cache at these multiples of ``rate_in``."""
    cached = t.write_5m * write_5m + t.write_1h * write_1h + t.read * read
    return ((t.input + cached) * rate_in + t.output * rate_out) / 1_000_000


def _cost_mistake(got: float, message: anthropic.types.Message, what: str) -> str:
    price = catalog.get(message.model).price
    t = billed_tokens(message.usage)
    factors = catalog.cache_prices()
    cache_rates = {"write_5m": factors.write_5m, "write_1h": factors.write_1h, "read": factors.read}
    long_context = price.long_context_above is not None and t.total_input > price.long_context_above
    rate_in, rate_out = (price.long_context_input, price.long_context_output) if long_context else \
        (price.input, price.output)
    at = lambda rates, **cache: _priced(t, *rates, **{**cache_rates, **cache})  # noqa: E731
    if t.written + t.read and same_cost(got, catalog.cost_usd(message.model, t.input, t.output)):
        return (f"on {what}, your cost leaves out the cache: `cache_creation_input_tokens` and "
                "`cache_read_input_tokens` are input tokens too (count None as 0), each with a price of its own.")
    plain = {"write_5m": 1.0, "write_1h": 1.0, "read": 1.0}
    for mispriced, which in ((plain, "cache tokens"), ({"read": 1.0}, "cache reads"),
                             ({"write_5m": 1.0, "write_1h": 1.0}, "cache writes")):
        if any(getattr(t, k) for k in mispriced) and same_cost(got, at((rate_in, rate_out), **mispriced)):
            return (f"on {what}, your cost prices the {which} at the plain input price, but the prompt cache has "
                    "rates of its own, as multiples of the input price (`catalog.cache_prices()`): a 5-minute write "
                    "costs `write_5m` times it, a 1-hour write `write_1h` times, a read `read` times. Pass the "
                    "plain input as `input_tokens` and the cache tokens apart: `catalog.cost_usd(model, "
                    "input_tokens, output_tokens, cache_write_5m=..., cache_read=...)` applies those rates.")
    expected = expected_cost(message)
    if same_cost(got, expected * 1_000_000):
        return "prices in the catalog are per million tokens: divide tokens × price by 1,000,000 (or let " \
               "`catalog.cost_usd(...)` do it)."
    if same_cost(got, at((rate_out, rate_in))):
        return "input and output tokens have different prices: input at `price.input`, output at `price.output`."
    if long_context and same_cost(got, at((price.input, price.output))):
        return (f"on {what}, the long-context rate applies: above {price.long_context_above:,} input tokens, counted "
                "as tokens with the cache writes and reads included, the whole call is billed at "
                "`price.long_context_input` / `long_context_output`. `catalog.cost_usd(...)` applies it for you.")
    if same_cost(got, at((rate_in, rate_in))):
        return "output tokens cost more than input tokens: price them at `price.output`."
    rounded = over_rounded(got, expected, what)
    if rounded:
        return rounded
    return (f"on {what} ({message.model}: {t.input:,} plain input tokens, {t.written:,} written to the cache, "
            f"{t.read:,} read from it, {t.output:,} output), message_cost() returned {got!r}, not ${expected:.8f}. "
            "Price the model that answered, each kind of token at its own rate.")


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
        if not same_cost(float(got), expected_cost(message)):
            return not_yet(f"{_cost_mistake(float(got), message, what)} (seed {seed})")
    return correct("message_cost() matched the catalog's prices on four replies drawn for this run: a reply from the "
                   "offline backend; one that wrote to and read from the prompt cache, priced at the cache rates; one "
                   "reporting a dated snapshot id with its cache fields set to None; and one over the long-context "
                   "threshold once its cache reads are counted.")


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


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
