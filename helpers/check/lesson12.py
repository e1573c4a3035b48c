"""Graders for lesson 12: a cache hit across two calls, the cost of a cached call, whether a prompt will be cached.

Prompt caching as the API documents it: https://platform.claude.com/docs/en/build-with-claude/prompt-caching
(the prefix is tools, then system, then messages, up to a ``cache_control`` block; prefixes under the
model's minimum are not cached, with no error; cache writes and reads have their own prices).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import random
from decimal import Decimal
from typing import Any, Optional

import anthropic

from .. import catalog
from ..catalog import DEFAULT_MODEL, ModelEntry
from ..offline import tokens
from ..usage import UsageLog
from . import (
    billed_tokens, correct, draw, expected_cost, grader, grader_client, grader_only, kit_function, logged, not_yet,
    over_rounded, same_cost, text_of_content,
)
from .made_up import catalog_including, made_up_models

HINTS = {
    "12.1": (
        "Put `inventory` in the system prompt as a list of blocks, and give its block "
        "`\"cache_control\": {\"type\": \"ephemeral\"}`. Then send two requests that differ only in the question.",
        "Section 2 writes on the first call and reads on the next. A breakpoint on a system prompt of other text: "
        "`system=[{\"type\": \"text\", \"text\": style_guide, \"cache_control\": {\"type\": \"ephemeral\"}}]`. "
        "Cache what both of your requests share, and change only what comes after it.",
    ),
    "12.2": (
        "Four kinds of input tokens, four prices: `input_tokens` at the input price, 5-minute writes at "
        "`catalog.cache_prices().write_5m` times it, 1-hour writes at `write_1h` times it, reads at `read` times it. "
        "The split of the writes is in `usage.cache_creation` (it, and the cache counts, may be None).",
        "Section 5 prices 5-minute writes. For a reply that only wrote for 5 minutes: "
        "`catalog.cost_usd(message.model, usage.input_tokens, usage.output_tokens, "
        "cache_write_5m=usage.cache_creation_input_tokens or 0)`. Yours also prices reads and 1-hour writes "
        "(`help(catalog.cost_usd)`), with the split from `usage.cache_creation`, which may be None.",
    ),
    "12.3": (
        "Count the request with `client.messages.count_tokens(model=model, system=system, messages=[...])` (a "
        "one-word user turn is enough) and compare with the catalog's `min_cacheable_tokens` for the model.",
        "Section 3 counts before it compares. The same steps for another question, whether the prompt fits the "
        "window: `counted = client.messages.count_tokens(model=model, messages=[{\"role\": \"user\", \"content\": "
        "text}]).input_tokens`, then `return counted <= catalog.get(model).context_window`. Yours puts `system` "
        "where the request would, and compares with the caching minimum.",
    ),
}

# --- 12.1 ---------------------------------------------------------------------------------------------------------

TOOLS = ("spade", "border spade", "digging fork", "hand fork", "draw hoe", "Dutch hoe", "soil rake", "leaf rake",
         "wheelbarrow", "bypass loppers", "pruning saw", "hedge shears", "watering can", "trowel", "dibber",
         "garden line", "bulb planter", "edging iron", "sieve", "hand shears")
SHELVES = "ABCDEF"
INVENTORY_LINES = 80
"""About 1,700 tokens on the newer tokenizer: well over the 5.5 models' minimum, live or offline."""

_latest_inventory: list[str] = []  # the inventory the exercise cell drew last


def _inventory_line(rng: random.Random, number: int) -> str:
    where = (f"lent to plot {rng.randrange(1, 43)} until day {rng.randrange(1, 366)}" if rng.random() < 0.4
             else "in the shed")
    return (f"Item {number:03d}: {rng.choice(TOOLS)}, shelf {rng.choice(SHELVES)}, {rng.randrange(1, 10)} in stock, "
            f"last serviced on day {rng.randrange(1, 366)}, {where}.")


def _inventory_lines(rng: random.Random, count: int) -> list[str]:
    return [_inventory_line(rng, n) for n in range(1, count + 1)]


def inventory(seed: Optional[int] = None) -> str:
    """The tool shed's inventory for exercise 12.1, drawn for this run (so no earlier call has cached it)."""
    rng, seed = draw(seed)
    text = "\n".join([f"Tool shed inventory, count number {seed}.", *_inventory_lines(rng, INVENTORY_LINES)])
    _latest_inventory[:] = [text]
    return text


def _blocks_in_cache_order(request: dict) -> list[tuple[Any, bool]]:
    """Every block of a request in the order the cache reads it (tools, system, messages), each with whether it
    is a breakpoint (its own ``cache_control``, one inside its content, or the request-level one on the last block)."""
    def marked(block: Any) -> bool:
        if not isinstance(block, dict):
            return False
        content = block.get("content")
        return bool(block.get("cache_control")) or (
            isinstance(content, list) and any(isinstance(b, dict) and b.get("cache_control") for b in content))

    found: list[tuple[Any, bool]] = [(tool, marked(tool)) for tool in request.get("tools") or []]
    system = request.get("system")
    if isinstance(system, str):
        found.append((system, False))
    elif isinstance(system, list):
        found += [(block, marked(block)) for block in system]
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        found += [(content, False)] if isinstance(content, str) else [(b, marked(b)) for b in content or []]
    if request.get("cache_control") and found:
        found[-1] = (found[-1][0], True)
    return found


def _carries(block: Any, text: str) -> bool:
    if isinstance(block, str):
        return text in block
    return json.dumps(text, ensure_ascii=False)[1:-1] in json.dumps(block, ensure_ascii=False)


def _placement_problem(request: dict, name: str) -> Optional[str]:
    """Why the request does not cache this run's inventory, if it does not."""
    blocks = _blocks_in_cache_order(request)
    drawn = _latest_inventory[0] if _latest_inventory else None
    where = next((i for i, (block, _) in enumerate(blocks) if drawn and _carries(block, drawn)), None)
    if where is None:
        return (f"the request behind `{name}` does not carry this run's `inventory` (drawn by "
                "`check.lesson12.inventory()` in this cell): send the inventory itself, unchanged, in both requests.")
    breakpoints = [i for i, (_, is_breakpoint) in enumerate(blocks) if is_breakpoint]
    if not breakpoints:
        return (f"the request behind `{name}` has no breakpoint: give the block that holds the inventory "
                "`\"cache_control\": {\"type\": \"ephemeral\"}`.")
    if max(breakpoints) < where:
        return (f"in the request behind `{name}`, the breakpoint comes before the inventory, so the inventory is not "
                "part of the cached prefix: put `cache_control` on the inventory's block (or a block after it).")
    return None


def _question(request: dict) -> str:
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    return " ".join(text_of_content(users[-1].get("content")).split()) if users else ""


def _explain_cache_hit(error: BaseException) -> Optional[str]:
    if isinstance(error, anthropic.BadRequestError) and "cache_control" in str(getattr(error, "api_message", error)):
        return ("Mark one block with `\"cache_control\": {\"type\": \"ephemeral\"}` (at most four blocks per "
                "request).")
    return None


@grader("12.1 a second call that reads the cache", explain=_explain_cache_hit)
def cache_hit(first: Any, second: Any) -> Any:
    first_record, problem = logged(first, "first", "Send the first request, with `inventory` and a breakpoint")
    if problem is not None:
        return problem
    second_record, problem = logged(second, "second", "Send the second request, with the same prefix")
    if problem is not None:
        return problem
    if first.id == second.id:
        return not_yet("`first` and `second` are the same reply: make two calls and keep each one's Message.")
    if second_record.sent_at < first_record.sent_at:
        return not_yet("`second` was sent before `first`: keep the earlier call in `first` and the later in `second`.")
    for name, record in (("first", first_record), ("second", second_record)):
        problem = _placement_problem(record.request or {}, name)
        if problem:
            return not_yet(problem)
    if first.model != second.model:
        return not_yet(f"the two calls went to different models ({first.model} and {second.model}), and each model "
                       "has a cache of its own: send both to the same model.")
    if _question(first_record.request or {}) == _question(second_record.request or {}):
        return not_yet("both calls asked the same question. Ask two different ones: what follows the breakpoint may "
                       "change from call to call, and the cached prefix before it is what stays the same.")
    written, read = first.usage.cache_creation_input_tokens or 0, second.usage.cache_read_input_tokens or 0
    if not written:
        if first.usage.cache_read_input_tokens:
            return not_yet("`first` read the inventory from the cache instead of writing it: an earlier call had "
                           "cached it already. Keep the first call that sends this run's inventory in `first`.")
        entry = catalog.lookup(first.model)
        minimum = entry.min_cacheable_tokens if entry else None
        if minimum is None:
            return not_yet(f"{first.model} wrote nothing to the cache: the catalog lists no prompt caching for it. "
                           "Use `DEFAULT_MODEL`.")
        return not_yet(f"`first` wrote nothing to the cache (`cache_creation_input_tokens` is 0): on {entry.id} "
                       f"a prefix is cached only from {minimum:,} tokens (the catalog's `min_cacheable_tokens`), "
                       "and the inventory is shorter than that there. Use `DEFAULT_MODEL`.")
    cached_by_first = written + (first.usage.cache_read_input_tokens or 0)
    if not read:
        return not_yet("`second` read nothing from the cache (`cache_read_input_tokens` is 0): something before the "
                       "breakpoint differed between the two requests. Keep the tools, the system prompt and every "
                       "block up to the breakpoint exactly the same, and change only what comes after it.")
    if read < cached_by_first:
        return not_yet(f"`second` read {read:,} tokens from the cache, fewer than the {cached_by_first:,} that `first` "
                       "cached: part of the prefix changed between the calls. Keep everything up to the breakpoint "
                       "the same in both.")
    return correct(f"the usage log shows two calls to {first.model} carrying this run's inventory before a breakpoint: "
                   "the first wrote it to the cache (`cache_creation_input_tokens`), and the second, with another "
                   "question, read from the cache all that the first had cached (`cache_read_input_tokens`).")


# --- 12.2 ---------------------------------------------------------------------------------------------------------

def _reply(model: str, usage: dict) -> anthropic.types.Message:
    """A reply as the API sends it, with the usage drawn to price."""
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson12grader", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "A reply to price."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": usage,
    })


def _usage(rng: random.Random, write_5m: int, write_1h: int, read: int) -> dict:
    return {"input_tokens": rng.randrange(20, 3_000), "output_tokens": rng.randrange(50, 2_000),
            "cache_creation_input_tokens": write_5m + write_1h, "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h}}


def _system(text: str, ttl: Optional[str] = None) -> list[dict]:
    marker = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": marker}]


def _sample_replies(rng: random.Random) -> list[tuple[str, anthropic.types.Message]]:
    """Replies with every kind of cache usage: three provoked from the offline backend, three drawn."""
    api = grader_client()
    text = "\n".join(_inventory_lines(rng, INVENTORY_LINES))
    ask = dict(model=DEFAULT_MODEL, max_tokens=60, messages=[{"role": "user", "content": "Where is the spade?"}])
    hour_write = api.messages.create(system=_system(text, "1h"), **ask)
    hour_read = api.messages.create(system=_system(text, "1h"), **ask)
    five_write = api.messages.create(system=_system("Answer in one sentence.\n" + text), **ask)
    current = [m for m in catalog.available() if m.lifecycle == "active" and not m.legacy and m.min_cacheable_tokens]
    drawn, plain = rng.choice(current), rng.choice(current)
    return [
        ("a reply from the offline backend that wrote a 1-hour cache entry", hour_write),
        ("a reply from the offline backend that read that entry", hour_read),
        ("a reply from the offline backend that wrote a 5-minute cache entry", five_write),
        (f"a reply from {drawn.id} that wrote 5-minute and 1-hour entries and read another",
         _reply(drawn.resolved_id, _usage(rng, rng.randrange(1_000, 20_000), rng.randrange(1_000, 20_000),
                                          rng.randrange(5_000, 50_000)))),
        (f"a reply from {plain.id} whose cache fields are all None",
         _reply(plain.resolved_id, {"input_tokens": rng.randrange(500, 5_000), "output_tokens": rng.randrange(50, 900),
                                    "cache_creation_input_tokens": None, "cache_read_input_tokens": None,
                                    "cache_creation": None})),
        (f"a reply from {drawn.id} that only read the cache",
         _reply(drawn.resolved_id, _usage(rng, 0, 0, rng.randrange(5_000, 50_000)))),
    ]


def _cost_mistake(got: float, message: anthropic.types.Message, what: str) -> str:
    s = billed_tokens(message.usage)
    cost = lambda **c: catalog.cost_usd(message.model, c.pop("input", s.input), s.output, **c)  # noqa: E731
    cached = s.write_5m + s.write_1h + s.read
    if cached and same_cost(got, cost()):
        return (f"on {what}, your cost leaves out the cache: `cache_creation_input_tokens` and "
                "`cache_read_input_tokens` are input tokens too, with prices of their own.")
    if s.read and same_cost(got, cost(input=s.input + s.read, cache_write_5m=s.write_5m, cache_write_1h=s.write_1h)):
        return f"on {what}, your cost prices the cache reads at the full input price: a read costs `read` times it."
    if cached and same_cost(got, cost(input=s.input + cached)):
        return (f"on {what}, your cost prices the cache tokens at the plain input price: a 5-minute write costs "
                "`catalog.cache_prices().write_5m` times the input price, a 1-hour write `write_1h` times, a read "
                "`read` times.")
    if s.write_1h and same_cost(got, cost(cache_read=s.read, cache_write_5m=s.write_5m + s.write_1h)):
        return (f"on {what}, your cost prices the 1-hour writes as 5-minute ones: they cost more "
                "(`write_1h`), and `usage.cache_creation.ephemeral_1h_input_tokens` says how many there were.")
    if s.write_5m and same_cost(got, cost(cache_read=s.read, cache_write_1h=s.write_5m + s.write_1h)):
        return (f"on {what}, your cost prices every write as a 1-hour one: the 5-minute writes "
                "(`usage.cache_creation.ephemeral_5m_input_tokens`) cost `write_5m` times the input price.")
    expected = expected_cost(message)
    if same_cost(got, expected * 1_000_000):
        return "prices in the catalog are per million tokens: divide by 1,000,000 (or let `catalog.cost_usd` do it)."
    rounded = over_rounded(got, expected, what)
    if rounded:
        return rounded
    return (f"on {what} ({message.model}: {s.input:,} input, {s.write_5m:,} written for 5 minutes, {s.write_1h:,} "
            f"for an hour, {s.read:,} read, {s.output:,} output), your function returned {got!r}, not "
            f"${expected:.8f}.")


@grader("12.2 the cost of a call that used the cache")
def cache_cost(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `cache_cost(message)` and pass the function itself: "
                       "`check.lesson12.cache_cost(cache_cost)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `cache_cost(message)` yourself.")
    rng, seed = draw(seed)
    samples = _sample_replies(rng)
    for what, message in samples:
        try:
            got = function(message)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"cache_cost() raised {type(error).__name__}: {error} on {what}. Read the tokens from "
                           "`message.usage` (the cache fields and `cache_creation` may be None) and the model from "
                           "`message.model`.")
        if got is None:
            return not_yet("cache_cost() returned None: return the cost in dollars, a number.")
        if isinstance(got, bool) or not isinstance(got, (numbers.Real, Decimal)):
            return not_yet(f"cache_cost() returned a {type(got).__name__}: return the cost in dollars as a number.")
        if not same_cost(float(got), expected_cost(message)):
            return not_yet(f"{_cost_mistake(float(got), message, what)} (seed {seed})")
    return correct(f"cache_cost() matched the catalog's prices on {len(samples)} replies drawn for this run: "
                   "5-minute and 1-hour cache writes, cache reads, plain input and output, on several models, one "
                   "with its cache fields set to None.")


# --- 12.3 ---------------------------------------------------------------------------------------------------------

BELOW, ABOVE = (0.35, 0.7), (1.4, 2.0)
"""How far from the minimum the drawn prompts are (as a share of it): a one-word user turn never tips them over."""


def _text_of(rng: random.Random, tokenizer: str, wanted: int) -> str:
    """Inventory lines up to about ``wanted`` tokens (a line break rides along with the token after it)."""
    lines, counted = [], 0
    while counted < wanted:
        lines.append(_inventory_line(rng, len(lines) + 1))
        counted += tokens.count_text(lines[-1], tokenizer)
    return "\n".join(lines)


def _models(rng: random.Random) -> tuple[list[ModelEntry], list[ModelEntry]]:
    """The models to predict for (real ones with three different minimums, and made-up ones), and the made-up ones."""
    current = [m for m in catalog.available() if m.lifecycle == "active" and not m.invite_only]
    minimums = sorted({m.min_cacheable_tokens for m in current if m.min_cacheable_tokens})
    real = [rng.choice([m for m in current if m.min_cacheable_tokens == low]) for low in minimums]
    template = catalog.get(DEFAULT_MODEL)
    invented = [dataclasses.replace(entry, lifecycle="active", legacy=False, thinking=template.thinking,
                                    effort=template.effort, tokenizer=template.tokenizer, min_cacheable_tokens=low)
                for entry, low in zip(made_up_models(rng, 2), (rng.choice((640, 768, 1536, 2048, 3072)), None))]
    return real + invented, invented


def _prediction_cases(rng: random.Random, models: list[ModelEntry]) -> list[tuple[ModelEntry, str]]:
    cases = []
    for entry in models:
        low = entry.min_cacheable_tokens
        if low is None:
            cases.append((entry, _text_of(rng, entry.tokenizer, rng.randrange(1_500, 3_000))))
            continue
        for share in (rng.uniform(*BELOW), rng.uniform(*ABOVE)):
            cases.append((entry, _text_of(rng, entry.tokenizer, int(low * share))))
    rng.shuffle(cases)
    return cases


@grader_only
def _cached_by_the_api(model: str, system: str) -> tuple[bool, int]:
    """Whether the API caches this system prompt behind a breakpoint, and the request's whole input."""
    usage = grader_client().messages.create(model=model, max_tokens=16, system=_system(system),
                                            messages=[{"role": "user", "content": "Where is the spade?"}]).usage
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return cached > 0, usage.input_tokens + cached


@grader("12.3 will this prompt be cached?")
def will_be_cached(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `will_be_cached(client, model, system)` and pass the function itself: "
                       "`check.lesson12.will_be_cached(will_be_cached)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `will_be_cached(client, model, system)` "
                       "yourself.")
    rng, seed = draw(seed)
    models, invented = _models(rng)
    cases = _prediction_cases(rng, models)
    cached_count = 0
    with catalog_including(invented):
        for entry, system in cases:
            log = UsageLog()
            try:
                got = function(grader_client(log), entry.id, system)
            except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
                return not_yet(f"will_be_cached() raised {type(error).__name__}: {error} on {entry.id} (seed {seed}). "
                               "Its signature is `will_be_cached(client, model, system)`; look the model up with "
                               "`catalog.get(model)`.")
            paths = [record.path for record in log.records]
            if "/v1/messages" in paths:
                return not_yet("will_be_cached() sent the request with `messages.create`: a prediction costs "
                               "nothing, so only count it, with `client.messages.count_tokens`.")
            if not isinstance(got, bool):
                return not_yet(f"will_be_cached() returned {got!r}: return True or False.")
            if "/v1/messages/count_tokens" not in paths and entry.min_cacheable_tokens is not None:
                return not_yet("will_be_cached() never called `client.messages.count_tokens` with the client it is "
                               "given: the minimum is in tokens, and only the API knows the real count.")
            truth, size = _cached_by_the_api(entry.id, system)
            cached_count += truth
            if got == truth:
                continue
            low = entry.min_cacheable_tokens
            if low is None:
                return not_yet(f"on {entry.id}, a model made up for this run whose `min_cacheable_tokens` is None, "
                               f"you predicted True: a model without a minimum caches nothing (seed {seed}).")
            did = "cached it" if truth else "cached nothing"
            return not_yet(f"for a system prompt of about {size:,} tokens on {entry.id}, whose minimum is {low:,} "
                           f"tokens, you predicted {got}, but the API {did}. Compare the count with "
                           f"`catalog.get(model).min_cacheable_tokens` (seed {seed}).")
    real = len(models) - len(invented)
    return correct(f"on {len(cases)} system prompts drawn for this run, on {real} models of the catalog with different "
                   "minimums and two made up for this run (one of them caches nothing), your function counted each "
                   f"with `count_tokens` (where the model has a minimum), sent nothing, and predicted what the API then did: it cached {cached_count} "
                   "of them and not the others.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
