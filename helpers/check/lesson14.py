"""Graders for lesson 14: a batch's requests, its results sorted by ``custom_id``, what the batch saved.

Message Batches as the API documents them: https://platform.claude.com/docs/en/build-with-claude/batch-processing
(each request is a ``custom_id``, unique in the batch, and the ``params`` of a ``messages.create``; results come
back in any order, each ``succeeded``, ``errored``, ``canceled`` or ``expired``; a batch costs 50% of the standard
prices, which the catalog keeps as ``batch_multiplier()``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import random
from decimal import Decimal
from typing import Any, Iterator, Optional

import anthropic

from .. import catalog
from ..catalog import ModelEntry
from ..offline import batches as offline_batches
from ..offline import validate
from ..offline.errors import ApiError
from . import correct, draw, grader, grader_only, kit_function, not_yet, over_rounded, same_cost, text_of_content
from .made_up import catalog_including, made_up_models

HINTS = {
    "14.1": (
        "One request per prompt: `{\"custom_id\": ..., \"params\": {...}}`, where `params` is what you would pass "
        "to `client.messages.create` (model, max_tokens, messages). Every `custom_id` must differ from the others, "
        "even when two prompts are the same, and may hold only letters, digits, `-` and `_` (at most 64).",
        "Section 2 builds its requests from a list. For a list of names, ids made from each one's place in it: "
        "`[{\"custom_id\": f\"name-{i}\", \"name\": name} for i, name in enumerate(names)]`. Yours puts a "
        "request's `params` where the name is, with the model you are given.",
    ),
    "14.2": (
        "Go through the results and look at each `result.result.type`, keyed by `result.custom_id` (never by the "
        "result's place in the list). A succeeded one has `result.result.message`; an errored one "
        "`result.result.error.error.type`.",
        "Section 5 sorts results in words. Read an answer's text by block type, as lesson 01 does: "
        "`\"\".join(b.text for b in message.content if b.type == \"text\")`. What to send again: every expired "
        "and canceled request, and every errored one whose error is not an `invalid_request_error` (that one "
        "fails again until the request is fixed).",
    ),
    "14.3": (
        "Only `succeeded` results cost anything. Price each one's usage with `catalog.cost_usd(message.model, "
        "...)`: that is what the same call costs on its own; the batch costs `catalog.batch_multiplier()` "
        "times that.",
        "Section 7 reads both costs from the usage log. From results, for one succeeded `result`: "
        "`usage = result.result.message.usage`, then `catalog.cost_usd(result.result.message.model, "
        "usage.input_tokens, usage.output_tokens)`. Add them up over the succeeded ones, and return "
        "the batch's total first.",
    ),
}

# --- 14.1 ---------------------------------------------------------------------------------------------------------

PROMPTS = (
    "Which herbs grow in shade?", "How deep do I plant garlic?", "When should I sow broad beans?",
    "What eats holes in cabbage leaves?", "How often should a compost heap be turned?",
    "Can I grow tomatoes in a pot on a balcony, and which kinds suit a small space facing west?",
    "Why are my courgette flowers falling off?", "Is rainwater better than tap water for blueberries?",
    "What is a green manure, and when do I dig it in?", "How do I keep slugs off young lettuce without pellets?",
    "Which fruit bushes fruit in their first summer after planting in the autumn of the year before?",
    "What should I plant after early potatoes?",
)


def _draw_prompts(rng: random.Random) -> list[str]:
    """Prompts for one call: a long one (over 64 characters) and the same prompt twice, always."""
    long = [p for p in PROMPTS if len(p) > offline_batches.MAX_CUSTOM_ID]
    short = [p for p in PROMPTS if p not in long]
    prompts = [rng.choice(long), *rng.sample(short, rng.randrange(3, 6))]
    prompts.append(rng.choice(prompts))
    rng.shuffle(prompts)
    return prompts


def _served(rng: random.Random, count: int) -> list[str]:
    current = [m.id for m in catalog.available() if m.lifecycle == "active" and not m.legacy and not m.invite_only]
    return rng.sample(current, count)


def _user_text(params: dict) -> Optional[str]:
    """The text of a request's only user turn, or None when it has not exactly one turn, from the user."""
    messages = params.get("messages")
    if not isinstance(messages, list) or len(messages) != 1 or not isinstance(messages[0], dict):
        return None
    turn = messages[0]
    return " ".join(text_of_content(turn.get("content")).split()) if turn.get("role") == "user" else None


def _requests_problem(got: Any, prompts: list[str], model: str) -> Optional[str]:
    if not isinstance(got, (list, tuple)):
        return f"batch_requests() returned a {type(got).__name__}: return a list of requests, one per prompt."
    if len(got) != len(prompts):
        return f"for {len(prompts)} prompts, batch_requests() returned {len(got)} requests: make one per prompt."
    try:
        checked = offline_batches.check_requests({"requests": list(got)})
    except ApiError as error:
        return (f"the API refuses a batch with these requests (400 invalid_request_error: {error.message}), so "
                "nothing would be created. Each request is `{\"custom_id\": ..., \"params\": {...}}`, and its "
                "`custom_id` is unique, 64 characters at most, of letters, digits, `-` and `_`.")
    carried = []
    for custom_id, params in checked:
        try:
            validate.check_create(params)
        except ApiError as error:
            return (f"the batch would be created, but request {custom_id!r} would end `errored` ({error.message}): "
                    "its `params` must be a valid `messages.create` request.")
        if params.get("model") != model:
            return (f"request {custom_id!r} asks {params.get('model')!r}, not the model that batch_requests() was "
                    f"given ({model}): use the `model` argument.")
        carried.append(_user_text(params))
    if None in carried:
        return "each request's `messages` should be one user turn that holds its prompt."
    if sorted(carried) != sorted(" ".join(p.split()) for p in prompts):
        return ("the requests do not carry the prompts one each: every prompt, as given, goes in exactly one "
                "request (the same prompt given twice goes in two).")
    return None


@grader("14.1 a batch's requests, each with its own custom_id")
def batch_requests(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `batch_requests(prompts, model)` and pass the function itself: "
                       "`check.lesson14.batch_requests(batch_requests)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `batch_requests(prompts, model)` yourself.")
    rng, seed = draw(seed)
    runs = [(_draw_prompts(rng), model) for model in _served(rng, 2)]
    for prompts, model in runs:
        try:
            got = function(list(prompts), model)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"batch_requests() raised {type(error).__name__}: {error} (seed {seed}). Its signature is "
                           "`batch_requests(prompts, model)`: a list of prompt strings and a model id.")
        if got is None:  # unsolved: the same words on every run
            return not_yet("batch_requests() returned None: return the list of requests, one per prompt.")
        problem = _requests_problem(got, prompts, model)
        if problem:
            return not_yet(f"{problem} (The prompts drawn for this run include a long one and one given twice; "
                           f"seed {seed}.)")
    return correct(f"on two lists of prompts drawn for this run, for two models of the catalog, batch_requests() made "
                   "one request per prompt, each with a `custom_id` of its own (the same prompt given twice, and one "
                   "longer than a `custom_id` may be, included) and `params` that `messages.create` accepts, for "
                   "the model it was given: the API would take the batch.")


# --- 14.2 ---------------------------------------------------------------------------------------------------------

WORDS = ("basil", "mint", "chives", "garlic", "beans", "compost", "mulch", "slugs", "lettuce", "shade", "water",
         "spring", "autumn", "frost", "seedlings", "netting", "potatoes", "leeks")
SERVER_ERRORS = (("api_error", "Internal server error"), ("overloaded_error", "Overloaded"))
INVALID = ("messages: the final assistant content cannot end with trailing whitespace",
           "max_tokens: Field required", "messages.0.content: Field required")


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randrange(3, 7))).capitalize() + "."


def _message(rng: random.Random, model: str, usage: dict) -> dict:
    blocks = []
    if rng.random() < 0.6:
        blocks.append({"type": "thinking", "thinking": _sentence(rng), "signature": f"sig{rng.randrange(10**6)}"})
    blocks += [{"type": "text", "text": _sentence(rng)} for _ in range(rng.choice((1, 1, 2)))]
    return {"id": f"msg_01batch{rng.randrange(10**9)}", "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}


def _error(rng: random.Random, kind: str, text: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": f"req_01{rng.randrange(10**9)}"}


def _usage(rng: random.Random) -> dict:
    return {"input_tokens": rng.randrange(20, 4_000), "output_tokens": rng.randrange(20, 1_500),
            "cache_creation_input_tokens": rng.choice((0, None)), "cache_read_input_tokens": rng.choice((0, None)),
            "service_tier": "batch"}


def _results(rng: random.Random, models: list[str]) -> list[anthropic.types.messages.MessageBatchIndividualResponse]:
    """Results as ``client.messages.batches.results()`` yields them, of every type, in no particular order."""
    lines: list[dict] = []
    count = rng.randrange(4, 8)
    for _ in range(count):
        lines.append({"type": "succeeded", "message": _message(rng, rng.choice(models), _usage(rng))})
    lines.append({"type": "errored", "error": _error(rng, "invalid_request_error", rng.choice(INVALID))})
    for kind, text in SERVER_ERRORS:
        lines.append({"type": "errored", "error": _error(rng, kind, text)})
    lines += [{"type": "expired"}, {"type": "expired"}, {"type": "canceled"}]
    ids = rng.sample(range(100, 1000), len(lines))
    rng.shuffle(lines)
    return [anthropic.types.messages.MessageBatchIndividualResponse.model_validate(
        {"custom_id": f"question-{n}", "result": result}) for n, result in zip(ids, lines)]


@grader_only
def _expected_sorting(results: list) -> tuple[dict[str, str], set[str]]:
    answers = {r.custom_id: "".join(b.text for b in r.result.message.content if b.type == "text")
               for r in results if r.result.type == "succeeded"}
    resend = {r.custom_id for r in results if r.result.type in ("expired", "canceled")
              or (r.result.type == "errored" and r.result.error.error.type != "invalid_request_error")}
    return answers, resend


def _kind(results: list, custom_id: str) -> str:
    found = next((r for r in results if r.custom_id == custom_id), None)
    if found is None:
        return "not one of the results"
    if found.result.type == "errored":
        return f"errored with an `{found.result.error.error.type}`"
    return found.result.type


def _sorting_problem(got: Any, results: list) -> Optional[str]:
    if not isinstance(got, tuple) or len(got) != 2:
        return (f"sort_results() returned {type(got).__name__ if got is not None else None}: return two things, "
                "`answers, resend` (a dict and a set).")
    answers, resend = got
    if not isinstance(answers, dict):
        return f"the first thing sort_results() returned is a {type(answers).__name__}: make it a dict."
    if isinstance(resend, (str, bytes, dict)) or not isinstance(resend, (set, frozenset, list, tuple)):
        return f"the second thing sort_results() returned is a {type(resend).__name__}: make it a set of custom_ids."
    expected_answers, expected_resend = _expected_sorting(results)
    ids = {r.custom_id for r in results}
    if set(answers) != set(expected_answers):
        if set(answers) & set(range(len(results))) or not set(answers) & ids:
            return "the answers' keys are not the results' `custom_id`s: key each answer by `result.custom_id`."
        extra = sorted(set(answers) - set(expected_answers))
        if extra:
            return (f"the answers include {extra[0]!r}, which {_kind(results, extra[0])}: only a succeeded result "
                    "has an answer.")
        missing = sorted(set(expected_answers) - set(answers))[0]
        return f"the answers leave out {missing!r}, which succeeded."
    for custom_id, text in expected_answers.items():
        if answers[custom_id] != text:
            got_text = answers[custom_id]
            return (f"the answer for {custom_id!r} is {got_text!r}, not the text of its reply ({text!r}): join the "
                    "reply's text blocks, read by their type (a reply may open with a thinking block, and may have "
                    "more than one text block).")
    resend = set(resend)
    if resend != expected_resend:
        wrong = sorted(resend - expected_resend)
        if wrong:
            return (f"you would send {wrong[0]!r} again, which {_kind(results, wrong[0])}: "
                    + ("that one has its answer already." if _kind(results, wrong[0]) == "succeeded" else
                       "an invalid request fails again until it is fixed, so it is not sent again as it is."
                       if "invalid_request_error" in _kind(results, wrong[0]) else "it is not one of the results."))
        missing = sorted(expected_resend - resend)[0]
        return (f"you would not send {missing!r} again, which {_kind(results, missing)}: it was never answered, "
                "and sent again as it is, it can be.")
    return None


@grader("14.2 a batch's results, sorted by custom_id")
def sort_results(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `sort_results(results)` and pass the function itself: "
                       "`check.lesson14.sort_results(sort_results)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `sort_results(results)` yourself.")
    rng, seed = draw(seed)
    runs = [_results(rng, _served(rng, 2)) for _ in range(3)]
    for results in runs:
        try:
            got = function(list(results))
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return not_yet(f"sort_results() raised {type(error).__name__}: {error} (seed {seed}). Each result has "
                           "`custom_id` and `result`; only a succeeded `result` has a `message`, only an errored one "
                           "an `error`.")
        if got is None:  # unsolved: the same words on every run
            return not_yet("sort_results() returned None: return two things, `answers, resend` (a dict and a set).")
        problem = _sorting_problem(got, results)
        if problem:
            return not_yet(f"{problem} (seed {seed})")
    return correct(f"on {len(runs)} lists of results drawn for this run, in no order, sort_results() kept each "
                   "succeeded reply's text under its `custom_id`, and would send again exactly the expired, canceled "
                   "and server-errored requests, not the invalid ones.")


# --- 14.3 ---------------------------------------------------------------------------------------------------------

MULTIPLIERS = (0.3, 0.4, 0.6, 0.7)
"""Batch prices a catalog might list one day (the docs' is 50%): an answer with 0.5 typed in shows on them."""


@contextlib.contextmanager
def batch_price(multiplier: float) -> Iterator[None]:
    """The catalog as if ``models.json`` listed ``multiplier`` as the batch price, for the length of the block."""
    real = catalog.batch_multiplier
    catalog.batch_multiplier = lambda: multiplier
    try:
        yield
    finally:
        catalog.batch_multiplier = real


@grader_only
def _expected_costs(results: list) -> tuple[float, float]:
    alone = sum(catalog.cost_usd(r.result.message.model, r.result.message.usage.input_tokens,
                                 r.result.message.usage.output_tokens)
                for r in results if r.result.type == "succeeded")
    return alone * catalog.batch_multiplier(), alone


def _invented(rng: random.Random) -> list[ModelEntry]:
    return [dataclasses.replace(m, lifecycle="active", legacy=False) for m in made_up_models(rng, 2)]


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        return None
    return float(value)


def _saving_problem(got: Any, results: list, what: str) -> Optional[str]:
    if not isinstance(got, tuple) or len(got) != 2:
        return (f"batch_saving() returned {type(got).__name__ if got is not None else None}: return two numbers, "
                "`batch_usd, one_by_one_usd`.")
    batch, alone = (_number(v) for v in got)
    if batch is None or alone is None:
        return "batch_saving() should return two numbers, in dollars."
    want_batch, want_alone = _expected_costs(results)
    if same_cost(batch, want_batch) and same_cost(alone, want_alone):
        return None
    if same_cost(batch, want_alone) and same_cost(alone, want_batch):
        return "the two costs are swapped: return the batch's cost first, then what the calls cost one by one."
    if same_cost(alone, want_alone):
        if same_cost(batch, want_alone * 0.5):
            return (f"{what}, the batch price is {catalog.batch_multiplier()} times the standard price, and your "
                    "batch cost is half: read the multiple from `catalog.batch_multiplier()`, not a number typed in.")
        return (f"{what}, the one-by-one cost is right (${want_alone:.6f}) but the batch's is not (${want_batch:.6f}, "
                "`catalog.batch_multiplier()` times it).")
    every = sum(catalog.cost_usd(r.result.message.model, r.result.message.usage.input_tokens,
                                 r.result.message.usage.output_tokens) for r in results if r.result.type == "succeeded")
    if same_cost(alone, every * 1_000_000):
        return "prices in the catalog are per million tokens: divide by 1,000,000 (or let `catalog.cost_usd` do it)."
    rounded = over_rounded(alone, want_alone, what) or over_rounded(batch, want_batch, what)
    if rounded:
        return rounded
    return (f"{what}, batch_saving() returned ({got[0]!r}, {got[1]!r}), not (${want_batch:.6f}, ${want_alone:.6f}). "
            "Price each succeeded result's usage on its own model (`message.model`), and nothing for the others.")


@grader("14.3 what a batch cost, and what the same calls cost one by one")
def batch_saving(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `batch_saving(results)` and pass the function itself: "
                       "`check.lesson14.batch_saving(batch_saving)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `batch_saving(results)` yourself.")
    rng, seed = draw(seed)
    invented = _invented(rng)
    multiplier = rng.choice(MULTIPLIERS)
    runs = [(f"on results from {', '.join(models)}, at the catalog's batch price", models, None)
            for models in [_served(rng, 3)]]
    runs.append((f"on results from two models made up for this run, at a batch price of {multiplier} drawn for it",
                 [m.id for m in invented], multiplier))
    with catalog_including(invented):
        for what, models, price in runs:
            results = _results(rng, models)
            with batch_price(price) if price is not None else contextlib.nullcontext():
                try:
                    got = function(list(results))
                except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
                    return not_yet(f"batch_saving() raised {type(error).__name__}: {error} {what} (seed {seed}). "
                                   "Only a succeeded result has a `message`, with `model` and `usage`.")
                if got is None:  # unsolved: the same words on every run
                    return not_yet("batch_saving() returned None: return two numbers, `batch_usd, one_by_one_usd`.")
                problem = _saving_problem(got, results, what)
            if problem:
                return not_yet(f"{problem} (seed {seed})")
    return correct("on results drawn for this run, of every type, batch_saving() priced each succeeded request's usage "
                   "on its own model from the catalog, counted nothing for the others, and applied the catalog's "
                   "batch price, on real models at its own price and on made-up ones at a price drawn for the run.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
