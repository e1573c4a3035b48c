"""Graders for lesson 00: the catalog, retired models, prefill support."""

from __future__ import annotations

from typing import Any

import anthropic

from .. import catalog
from . import correct, grader, hint


@grader("00.1 cheapest current model")
def cheapest(model_id: Any) -> Any:
    if not isinstance(model_id, str):
        return hint("set `cheapest` to a model id string, found by filtering `catalog.available()` "
                              "to current models (not legacy) and comparing `price.input`.")
    entry = catalog.lookup(model_id)
    if entry is None:
        return hint(f"{model_id!r} is not in the catalog: take the id from `catalog.available()`.")
    current = [m for m in catalog.available() if m.lifecycle == "active" and not m.legacy]
    best = min(m.price.input for m in current)
    if entry.retired or entry.legacy or entry.lifecycle != "active":
        return hint(f"{entry.id} is {entry.lifecycle}{' (legacy)' if entry.legacy else ''}: keep only models "
                              "whose lifecycle is 'active' and that are not legacy.")
    if entry.price.input != best:
        return hint(f"{entry.id} costs ${entry.price.input}/MTok of input; a current model costs less. "
                              "Compare `price.input` across all current models.")
    return correct(f"{entry.id} is the cheapest current model, at ${entry.price.input} per million input tokens.")


@grader("00.2 the 404 of a retired model")
def not_found(error: Any) -> Any:
    if error is None:
        return hint("send a request with a retired model id inside try/except and keep the exception: "
                              "`except anthropic.NotFoundError as e: error = e`.")
    if not isinstance(error, anthropic.APIStatusError):
        return hint(f"you kept a {type(error).__name__}, not an API error. Catch `anthropic.NotFoundError`.")
    if error.status_code != 404 or not isinstance(error, anthropic.NotFoundError):
        return hint(f"this error has status {error.status_code}; a retired model answers 404 "
                              "(`anthropic.NotFoundError`). Did the request fail for another reason first?")
    model = str(error.body.get("error", {}).get("message", "")).removeprefix("model: ") if isinstance(error.body, dict) else ""
    entry = catalog.lookup(model)
    if entry is None or not entry.retired:
        return hint("this 404 is not about a retired model: take an id from `catalog.retired()`.")
    return correct(f"{entry.id} retired on {entry.retires_at}, so the API answers 404 not_found_error.")


@grader("00.3 models that accept a prefill")
def prefill_models(model_ids: Any) -> Any:
    if not isinstance(model_ids, (list, tuple, set)) or not model_ids:
        return hint("build a list of ids from `catalog.available()`, keeping models whose "
                              "`supports_prefill` is True.")
    expected = {m.id for m in catalog.available() if m.supports_prefill}
    given = {catalog.lookup(i).id if isinstance(i, str) and catalog.lookup(i) else i for i in model_ids}
    missing, extra = expected - given, given - expected
    if extra:
        return hint(f"these do not accept a prefill (or are not available): {sorted(map(str, extra))}. "
                              "Check `supports_prefill` and skip retired models.")
    if missing:
        return hint(f"{len(missing)} available model(s) that accept a prefill are missing: "
                              "look through every entry of `catalog.available()`.")
    return correct(f"{len(expected)} available models still accept a prefill; every current model refuses it.")
