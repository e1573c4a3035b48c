"""Graders for lesson 06: a history trimmed to a token budget, the cost of a call, max_tokens that fits the window."""

from __future__ import annotations

import numbers
from typing import Any

import anthropic

from .. import catalog
from ..catalog import DEFAULT_MODEL, PREFILL_MODEL
from ..conversation import history_problems
from ..trim import estimate, trim_to_budget
from ..usage import UsageLog
from . import correct, grader, grader_client, hint
from .lesson02 import is_plain_user

MIN_HISTORY = 10  # the lesson's long_chat has 31 turns; anything much shorter is not it


# --- 06.1 ---------------------------------------------------------------------------------------------------------

def _tokens(messages: list[dict]) -> int:
    return sum(estimate(m) for m in messages)


def _shortest_fair_rest(history: list[dict], budget: int) -> int:
    """How many turns after the first one a careful trim keeps: the longest tail starting at a plain user turn."""
    room = budget - estimate(history[0])
    best, total = 0, 0
    for i in range(len(history) - 1, 0, -1):
        total += estimate(history[i])
        if total > room:
            break
        if is_plain_user(history[i]):
            best = len(history) - i
    return best


@grader("06.1 a history trimmed to a token budget")
def budget_trim(trimmed: Any, history: Any, budget: Any) -> Any:
    if not isinstance(history, list) or len(history) < MIN_HISTORY or not isinstance(budget, int):
        return hint("call the grader as in the exercise: `check.lesson06.budget_trim(trimmed, long_chat, "
                    "EXERCISE_BUDGET)`, after running the cell of section 7 that builds `long_chat`.")
    if trimmed is None:
        return hint("set `trimmed` to the trimmed list of turns, for example with "
                    "`trim_to_budget(long_chat, EXERCISE_BUDGET, keep_first=True)`.")
    if not isinstance(trimmed, list) or not all(isinstance(m, dict) for m in trimmed):
        return hint(f"`trimmed` is a {type(trimmed).__name__}: it should be a list of turns (dicts with a role "
                    "and a content), as `trim_to_budget` returns.")
    if not trimmed:
        return hint("`trimmed` is empty: a history needs at least the first turn and the newest user turn.")
    if trimmed == history:
        return hint(f"`trimmed` is the whole history, {_tokens(history):,} tokens by the offline estimate: drop "
                    f"older turns until it fits the budget of {budget:,}.")
    if trimmed[0] != history[0]:
        return hint("the first turn of `long_chat` (the user's name and plot) is missing or changed: keep it, "
                    "with `keep_first=True`, and trim what comes after it.")
    rest = trimmed[1:]
    if not rest:
        return hint("only the first turn is left: the newest turns, and at least the newest user turn, must "
                    "stay after it.")
    if rest != history[len(history) - len(rest):]:
        return hint("after the first turn, keep the newest turns of the history, in order, without gaps or "
                    "changes: the end of the list, as `long_chat[-k:]`.")
    blocking = [p for p in history_problems(trimmed) if p.blocking]
    if blocking:
        if not is_plain_user(rest[0]) and rest[0].get("role") == "user":
            return hint("after the first turn, the kept part starts with a tool_result whose tool_use was cut off, "
                        "which the API rejects with a 400. Start the kept part at a user's own question (or at "
                        "an assistant turn), so every tool call stays with its result.")
        return hint(f"the trimmed history would be rejected: {blocking[0]}")
    used = _tokens(trimmed)
    if used > budget:
        return hint(f"the trimmed history is {used:,} tokens by the offline estimate (`helpers.trim.estimate` of each "
                    f"turn, added up), over the budget of {budget:,}: drop more of the older turns.")
    fair = _shortest_fair_rest(history, budget)
    if len(rest) < fair:
        best = len(trim_to_budget(history, budget, keep_first=True))
        return hint(f"you kept {len(trimmed)} turns ({used:,} tokens), but {best} fit in the budget of {budget:,} "
                    "with the history still valid: keep as many of the newest turns as fit.")
    return correct(f"{len(trimmed)} of {len(history)} turns, {used:,} tokens within the budget of {budget:,}: the first "
                   "turn, then as many of the newest turns as fit, and no tool call cut off from its result.")


# --- shared: the grader's own offline client ----------------------------------------------------------------------

def _filler(words: int) -> str:
    return "Please read these notes." + " ant" * words


# --- 06.2 ---------------------------------------------------------------------------------------------------------

def _sample_replies() -> dict[str, anthropic.types.Message]:
    api = grader_client()
    default = catalog.get(DEFAULT_MODEL)
    long_prompt = _filler((default.price.long_context_above or 100_000) + 5_000)
    requests = {
        "a short call to the default model": (DEFAULT_MODEL, "How deep should a raised bed be?"),
        "a call to another model, which reports a dated snapshot id": (PREFILL_MODEL, "How deep should a raised bed be?"),
        "a call to the default model with a prompt over 100,000 tokens": (DEFAULT_MODEL, long_prompt),
    }
    return {what: api.messages.create(model=model, max_tokens=60, messages=[{"role": "user", "content": text}])
            for what, (model, text) in requests.items()}


def _expected_cost(message: anthropic.types.Message) -> float:
    u = message.usage
    total_in = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
    return catalog.cost_usd(message.model, total_in, u.output_tokens)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 + 1e-9 * abs(b)


@grader("06.2 the cost of a call")
def message_cost(function: Any) -> Any:
    if not callable(function):
        return hint("define `message_cost(message)` and pass the function itself: "
                    "`check.lesson06.message_cost(message_cost)`.")
    samples = _sample_replies()
    for what, message in samples.items():
        expected = _expected_cost(message)
        try:
            got = function(message)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return hint(f"message_cost() raised {type(error).__name__}: {error} on {what}. Read the tokens from "
                        "`message.usage` and the model from `message.model`.")
        if got is None:
            return hint("message_cost() returned None: return the cost in dollars, a number such as "
                        "`catalog.cost_usd(message.model, input_tokens, output_tokens)`.")
        if isinstance(got, bool) or not isinstance(got, numbers.Real):
            return hint(f"message_cost() returned a {type(got).__name__}: return the cost in dollars as a number.")
        got = float(got)
        entry = catalog.get(message.model)
        u = message.usage
        if _close(got, expected):
            continue
        if _close(got, expected * 1_000_000):
            return hint("prices in the catalog are per million tokens: divide tokens × price by 1,000,000 (or let "
                        "`price.cost_usd(input, output)` do it).")
        if _close(got, (u.input_tokens * entry.price.output + u.output_tokens * entry.price.input) / 1_000_000):
            return hint("input and output tokens have different prices: input tokens at `price.input`, output "
                        "tokens at `price.output`.")
        if _close(got, (u.input_tokens * entry.price.input + u.output_tokens * entry.price.output) / 1_000_000) \
                and entry.price.long_context_above is not None and u.input_tokens > entry.price.long_context_above:
            return hint(f"on {what}, the long-context rate applies: above {entry.price.long_context_above:,} input "
                        "tokens the whole call is billed at `price.long_context_input` / `long_context_output`. "
                        "`price.cost_usd(input, output)` applies it for you.")
        if _close(got, (u.input_tokens + u.output_tokens) * entry.price.input / 1_000_000):
            return hint("output tokens cost more than input tokens: price them at `price.output`.")
        return hint(f"on {what} ({message.model}, {u.input_tokens:,} input and {u.output_tokens:,} output tokens) "
                    f"message_cost() returned {got!r}, not ${expected:.8f}. Price the model that answered, "
                    "`catalog.get(message.model).price.cost_usd(input, output)`, with the total input of `usage`.")
    return correct("message_cost() matches `catalog.cost_usd` on every reply, the long-context rate and dated "
                   "snapshot ids included.")


# --- 06.3 ---------------------------------------------------------------------------------------------------------

def _fit_cases() -> list[tuple[str, str, list[dict], int]]:
    window = catalog.get(PREFILL_MODEL).context_window
    short = [{"role": "user", "content": "How deep should a raised bed be?"}]
    nearly_full = [{"role": "user", "content": _filler(window - 1_500)}]
    return [
        ("a short history", DEFAULT_MODEL, short, 1_000),
        ("a history that nearly fills the window", PREFILL_MODEL, nearly_full, 4_000),
        ("a short history with a huge `wanted`", PREFILL_MODEL, short, window),
    ]


@grader("06.3 a max_tokens that fits the window")
def fit_max_tokens(function: Any) -> Any:
    if not callable(function):
        return hint("define `fit_max_tokens(client, model, messages, wanted)` and pass the function itself: "
                    "`check.lesson06.fit_max_tokens(fit_max_tokens)`.")
    for what, model, messages, wanted in _fit_cases():
        entry = catalog.get(model)
        log = UsageLog()
        api = grader_client(log)
        counted = api.messages.count_tokens(model=model, messages=messages).input_tokens
        log.clear()
        expected = min(wanted, entry.max_output_tokens, entry.context_window - counted)
        try:
            got = function(api, model, [dict(m) for m in messages], wanted)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            return hint(f"fit_max_tokens() raised {type(error).__name__}: {error} for {what}. Its signature is "
                        "`fit_max_tokens(client, model, messages, wanted)`.")
        calls = [record.path for record in log.records]
        if "/v1/messages" in calls:
            return hint("fit_max_tokens() sent the request with `messages.create`: only count it, with "
                        "`client.messages.count_tokens(model=model, messages=messages)`, which runs no model and "
                        "costs nothing.")
        if "/v1/messages/count_tokens" not in calls:
            return hint("fit_max_tokens() never called `client.messages.count_tokens`: count the input with the "
                        "client it is given, since only the API knows the real count.")
        if isinstance(got, bool) or not isinstance(got, int):
            return hint(f"fit_max_tokens() returned {got!r}: return max_tokens as an int.")
        if got == expected:
            continue
        room = entry.context_window - counted
        if got > entry.max_output_tokens and expected == entry.max_output_tokens:
            return hint(f"for {what} on {entry.id}, {got:,} is more than the model's max_output_tokens "
                        f"({entry.max_output_tokens:,}), which the API refuses with a 400: cap it with "
                        "`catalog.get(model).max_output_tokens`.")
        if got > room:
            return hint(f"for {what}, the input is {counted:,} tokens of a {entry.context_window:,}-token window, "
                        f"so at most {room:,} tokens are left for the reply, and {got:,} would overflow it: return "
                        "`min(wanted, window - input_tokens, max_output_tokens)`.")
        if got > wanted:
            return hint(f"for {what}, {got:,} is more than the {wanted:,} tokens wanted: never ask for more than "
                        "`wanted`.")
        return hint(f"for {what}, {got:,} leaves room unused: {expected:,} fits (wanted {wanted:,}, {room:,} left in "
                    f"the window, at most {entry.max_output_tokens:,} output tokens for {entry.id}).")
    return correct("fit_max_tokens() counts the input first and returns the largest max_tokens that fits both the "
                   "window and the model's output limit.")
