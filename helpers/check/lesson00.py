"""Graders for lesson 00: the catalog, retired models, prefill support."""

from __future__ import annotations

from typing import Any, Callable, Optional

import anthropic

from .. import catalog
from ..catalog import ModelEntry
from . import correct, draw, grader, grader_only, kit_function, kit_records, made_during_attempt, not_yet
from .made_up import made_up_catalog

RANDOM_CATALOGS = 6
"""Made-up model lists each function meets, besides the real catalog."""

HINTS = {
    "00.1": (
        "A model is current when its `lifecycle` is \"active\" and it is not `legacy`. Keep those, then compare "
        "their `price.input`.",
        "Section 4 reads the catalog's fields. The same steps for another question, the newest model with a window "
        "of a million tokens: `big = [m for m in models if m.context_window >= 1_000_000]`, then `max(big, "
        "key=lambda m: m.released).id`. Yours keeps other models and compares another field.",
    ),
    "00.2": (
        "A retired model's id still reaches the API, which answers 404. `catalog.retired()` lists them; each has "
        "a `resolved_id`.",
        "Put the `client.messages.create(...)` call inside `try:`, and in `except anthropic.NotFoundError as e:` "
        "keep `e` in `error` (Python forgets `e` after the except block).",
    ),
    "00.3": (
        "Two flags decide: `supports_prefill`, and whether the model is retired (`lifecycle` \"retired\", or "
        "`.retired`).",
        "Section 5 tells retired models apart (a deprecated model still answers). The same comprehension with "
        "other flags: `[m.id for m in models if m.forced_tool_use and m.lifecycle == \"active\"]`. Yours tests the "
        "prefill flag, and leaves out only what is retired.",
    ),
}


@grader_only
def _current(models: list[ModelEntry]) -> list[ModelEntry]:
    return [m for m in models if m.lifecycle == "active" and not m.legacy]


def _call(function: Callable, models: list[ModelEntry]) -> tuple[Any, Optional[BaseException]]:
    try:
        return function(list(models)), None
    except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
        return None, error


def _describe(models: list[ModelEntry]) -> str:
    return ", ".join(f"{m.id} ({m.lifecycle}{', legacy' if m.legacy else ''}, ${m.price.input:g})" for m in models)


@grader("00.1 cheapest current model")
def cheapest(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson00.cheapest(cheapest_current)`. It takes a list of "
                       "catalog entries and returns one model id.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `cheapest_current(models)` yourself.")
    rng, seed = draw(seed)
    cases = [list(catalog.available())] + [made_up_catalog(rng, rng.randrange(4, 9)) for _ in range(RANDOM_CATALOGS)]
    for number, models in enumerate(cases):
        got, error = _call(function, models)
        where = "the real catalog" if number == 0 else f"a made-up list of models (seed {seed})"
        if error is not None:
            return not_yet(f"on {where}, your function raised {type(error).__name__}: {error}.")
        if got is None:
            return not_yet("your function returned None: return the id (a string) of the cheapest current model.")
        if isinstance(got, ModelEntry):
            return not_yet("your function returned a whole catalog entry: return its `.id`, a string.")
        current = _current(models)
        best = min(m.price.input for m in current)
        expected = {m.id for m in current if m.price.input == best}
        if got in expected:
            continue
        entry = next((m for m in models if m.id == got), None)
        if entry is None:
            return not_yet(f"on {where}, your function returned {got!r}, which is not one of the models it was "
                           "given: pick from the list passed in, not from a list of ids you know.")
        if entry.lifecycle != "active" or entry.legacy:
            return not_yet(f"on {where}, your function returned {got}, which is {entry.lifecycle}"
                           f"{' and legacy' if entry.legacy else ''}: keep only models whose lifecycle is \"active\" "
                           "and that are not legacy.")
        return not_yet(f"on {where}, your function returned {got} at ${entry.price.input:g} per million input tokens, "
                       f"but a current model costs ${best:g}: compare `price.input` across every current model. "
                       + (f"The models were: {_describe(models)}." if number else ""))
    return correct(f"your function picked the cheapest current model from the real catalog and from "
                   f"{RANDOM_CATALOGS} made-up lists, leaving out legacy, deprecated and retired models.")


def _explain_not_found(error: BaseException) -> Optional[str]:
    if isinstance(error, anthropic.NotFoundError):
        return ("That 404 is the one the exercise is about, but it escaped your code: catch it with try/except "
                "and keep the exception in `error`.")
    return None


@grader("00.2 the 404 of a retired model", explain=_explain_not_found)
def not_found(error: Any) -> Any:
    if error is None:
        return not_yet("nothing to grade yet: `error` is None. Send a request with a retired model id, catch the "
                       "exception it raises, keep it in `error`, and run the cell again.")
    if not isinstance(error, anthropic.APIStatusError):
        return not_yet(f"you kept a {type(error).__name__}, not an API error. Keep the exception that "
                       "`client.messages.create(...)` raised for the retired model.")
    if error.status_code != 404 or not isinstance(error, anthropic.NotFoundError):
        return not_yet(f"this error has status {error.status_code}; a retired model answers 404 "
                       "(`anthropic.NotFoundError`). Did the request fail for another reason first?")
    record = next((r for r in kit_records()
                   if r.request_id and r.request_id == getattr(error, "request_id", None)), None)
    if record is None or record.status != 404:
        return not_yet("the usage log has no 404 with this error's request id: keep the exception that a request "
                       "from the lesson's `client` raised (an error built by hand proves nothing was sent).")
    if not made_during_attempt(record):
        return not_yet("this 404 came from a request sent before this cell's `with check.attempt(...)` block "
                       "started: send the request inside the block.")
    model = str((record.request or {}).get("model", ""))
    entry = catalog.lookup(model)
    if entry is None or not entry.retired:
        return not_yet(f"this 404 is for {model!r}, which is not a retired model of the catalog: take an id from "
                       "`catalog.retired()`.")
    return correct(f"the request for {model} (retired on {entry.retires_at}) came back as HTTP 404 not_found_error, "
                   "and you kept the NotFoundError it raised.")


@grader("00.3 models that accept a prefill")
def prefill_models(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson00.prefill_models(accepts_prefill)`. It takes a "
                       "list of catalog entries and returns a list of ids.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `accepts_prefill(models)` yourself.")
    rng, seed = draw(seed)
    cases = [list(catalog.models())] + [made_up_catalog(rng, rng.randrange(4, 9)) for _ in range(RANDOM_CATALOGS)]
    for number, models in enumerate(cases):
        got, error = _call(function, models)
        where = "the whole catalog" if number == 0 else f"a made-up list of models (seed {seed})"
        if error is not None:
            return not_yet(f"on {where}, your function raised {type(error).__name__}: {error}.")
        if got is None:
            return not_yet("your function returned None: return the list of ids.")
        if isinstance(got, str) or not isinstance(got, (list, tuple, set, frozenset)):
            return not_yet(f"your function returned a {type(got).__name__}: return a list of ids (strings).")
        given = {m.id for m in models if m.supports_prefill and not m.retired}
        got_ids = {g.id if isinstance(g, ModelEntry) else g for g in got}
        by_id = {m.id: m for m in models}
        extra = sorted(map(str, got_ids - given))
        if extra:
            wrong = by_id.get(extra[0])
            why = ("it is not in the list your function was given" if wrong is None else
                   "it is retired" if wrong.retired else "it does not accept a prefill")
            return not_yet(f"on {where}, your function listed {extra[0]}, but {why}. Decide from each entry's "
                           "`supports_prefill` and lifecycle.")
        if got_ids != given:
            return not_yet(f"on {where}, {len(given - got_ids)} model(s) that are not retired and accept a prefill "
                           "are missing: look at every entry in `models`.")
    return correct(f"your function listed the models that accept a prefill and are not retired, in the whole "
                   f"catalog and in {RANDOM_CATALOGS} made-up lists.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
