"""Graders for lesson 08: a history trimmed to a token budget, a summary put in front of the recent turns."""

from __future__ import annotations

import copy
import random
from typing import Any, Optional

from ..conversation import history_problems
from .. import trim
from ..trim import estimate
from . import correct, draw, grader, grader_only, kit_function, not_yet, text_of_content
from .histories import is_plain_user, random_history

FIRST_TURN = "My name is Ada. I'm planning a vegetable garden on a 6 by 4 metre plot in Lyon, with heavy clay soil."
RANDOM_HISTORIES = 6

HINTS = {
    "08.1": (
        "Keep `messages[0]`; what is left of the budget is `budget - estimate(messages[0])`. Then walk the rest from "
        "the newest turn back, adding up `estimate(turn)`, and stop when the next turn would not fit.",
        "Section 2 shows what a valid trim keeps. Walk from the newest turn back, adding up `estimate(turn)` "
        "against what the first turn leaves of the budget, and stop at the first turn that does not fit; then "
        "start the kept part at the nearest user's own turn (not a `tool_result`) at or after that point.",
    ),
    "08.2": (
        "Three parts, in order: a user turn whose text holds `summary`, an assistant turn of your own, then the "
        "recent turns. The recent turns are chosen as in exercise 1, without a first turn to keep.",
        "Walk `messages` from the newest turn back, adding up `estimate(turn)` while it stays within `keep_tokens`, "
        "and remember the last user's own turn you passed: the recent turns start there. Section 3 shows the "
        "summary's two turns in front of them.",
    ),
}
OWN_TRIM = ("its result is right, but it comes from the kit's `trim_to_budget` (or `Conversation.trim`, which calls "
            "it), and that function is all of this exercise. Write the trimming yourself: walk back from the newest "
            "turn adding up `estimate(turn)`, and start the kept part at a user's own turn.")


def _trim_runs() -> int:
    return trim._runs[0]


# --- 08.1 ---------------------------------------------------------------------------------------------------------

def _tokens(messages: list[dict]) -> int:
    return sum(estimate(m) for m in messages)


@grader_only
def _longest_fair_rest(history: list[dict], budget: int) -> int:
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


def _trim_cases(rng: random.Random) -> list[tuple[list[dict], int]]:
    cases = []
    for n in range(RANDOM_HISTORIES):
        history = random_history(rng, rng.randrange(4, 10), "question" if n % 2 == 0 else "")
        history[0] = {"role": "user", "content": FIRST_TURN}
        newest = max(i for i, turn in enumerate(history) if is_plain_user(turn))
        least = estimate(history[0]) + _tokens(history[newest:])
        total = _tokens(history)
        fits_whole = n == RANDOM_HISTORIES - 1 or least >= total
        budget = total + rng.randrange(0, 50) if fits_whole else rng.randrange(least, total)
        cases.append((history, budget))
    return cases


def _trim_problem(trimmed: Any, history: list[dict], budget: int) -> Optional[str]:
    if not isinstance(trimmed, list) or not all(isinstance(m, dict) for m in trimmed):
        return f"your function returned a {type(trimmed).__name__}: return a list of turns (dicts with a role and a " \
               "content), as `trim_to_budget` does."
    if not trimmed:
        return "your function returned no turns: a history needs at least the first turn and the newest user turn."
    if trimmed[0] != history[0]:
        return "the first turn (the user's name and plot) is missing or changed: keep it, and trim what comes after it."
    used = _tokens(trimmed)
    rest = trimmed[1:]
    if not rest:
        return "only the first turn is left: the newest turns, at least the newest user turn, must stay after it."
    if rest != history[len(history) - len(rest):]:
        return "after the first turn, keep the newest turns of the history, in order, without gaps or changes: " \
               "the end of the list."
    blocking = [p for p in history_problems(trimmed) if p.blocking]
    if blocking:
        if rest and rest[0].get("role") == "user" and not is_plain_user(rest[0]):
            return "after the first turn, the kept part starts with a tool_result whose tool_use was cut off, which " \
                   "the API rejects with a 400: start the kept part at a user's own question."
        return f"the trimmed history would be rejected: {blocking[0]}"
    if used > budget:
        return f"the result is {used:,} tokens by the offline estimate (`helpers.trim.estimate` of each turn, added " \
               f"up), over the budget of {budget:,}: drop more of the older turns."
    fair = _longest_fair_rest(history, budget)
    if len(rest) < fair:
        return f"you kept {len(trimmed)} turns ({used:,} tokens), but {fair + 1} fit in the budget of {budget:,} " \
               "with the history still valid: keep as many of the newest turns as fit."
    return None


@grader("08.1 a history trimmed to a token budget")
def budget_trim(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `trim_keep_first(messages, budget)` and pass the function itself: "
                       "`check.lesson08.budget_trim(trim_keep_first)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `trim_keep_first(messages, budget)` "
                       "yourself, which keeps the first turn.")
    rng, seed = draw(seed)
    cases = _trim_cases(rng)
    runs = _trim_runs()
    for number, (history, budget) in enumerate(cases):
        given = copy.deepcopy(history)
        try:
            trimmed = function(given, budget)
        except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
            return not_yet(f"on a history of {len(history)} turns with a budget of {budget:,} tokens (seed {seed}), "
                           f"your function raised {type(error).__name__}: {error}.")
        if trimmed is None:
            return not_yet("your function returned None: return the trimmed list of turns.")
        if given != history:
            return not_yet("your function changed the list it was given: return a new list and leave the history "
                           "as it is.")
        problem = _trim_problem(trimmed, history, budget)
        if problem:
            return not_yet(f"on a history of {len(history)} turns ({_tokens(history):,} tokens) with a budget of "
                           f"{budget:,} (seed {seed}): {problem}")
    if _trim_runs() != runs:
        return not_yet(f"on {len(cases)} histories made up for this run, {OWN_TRIM}")
    return correct(f"on {len(cases)} histories made up for this run, your function kept the first turn, then as "
                   "many of the newest turns as fit the budget, with no tool call cut off from its result, and left "
                   "the history unchanged.")


# --- 08.2 ---------------------------------------------------------------------------------------------------------

CROPS = ("beans", "chard", "courgettes", "garlic", "leeks", "lettuce", "onions", "peas", "radishes", "spinach",
         "squash", "tomatoes")
CITIES = ("Bergen", "Brno", "Cork", "Ghent", "Lyon", "Malmo", "Porto", "Tartu")


def _summary(rng: random.Random) -> str:
    """A summary made up for one case, so no summary typed in advance can match it."""
    crops = ", ".join(rng.sample(CROPS, 3))
    return (f"The user gardens a {rng.randrange(3, 12)} by {rng.randrange(2, 8)} metre plot in {rng.choice(CITIES)} "
            f"and grows {crops}; they water twice a week (note {rng.randrange(1000, 10000)}).")


@grader_only
def _longest_fair_tail(history: list[dict], budget: int) -> int:
    """How many of the newest turns a careful trim keeps: the longest tail that fits and starts at a plain user turn."""
    best, total = 0, 0
    for i in range(len(history) - 1, -1, -1):
        total += estimate(history[i])
        if total > budget:
            break
        if is_plain_user(history[i]):
            best = len(history) - i
    return best


def _summary_cases(rng: random.Random) -> list[tuple[list[dict], str, int]]:
    cases = []
    for _ in range(RANDOM_HISTORIES):
        history = random_history(rng, rng.randrange(4, 10), "question")
        least = estimate(history[-1])  # the newest question, which is the last turn
        cases.append((history, _summary(rng), rng.randrange(least, _tokens(history[1:]))))
    return cases


def _summary_problem(result: Any, history: list[dict], summary: str, keep: int) -> Optional[str]:
    if not isinstance(result, list) or not all(isinstance(m, dict) for m in result):
        return f"your function returned a {type(result).__name__}: return a list of turns (dicts with a role and a " \
               "content)."
    first = result[0] if result else {}
    first_text = text_of_content(first.get("content")) if first.get("role") == "user" else ""
    if not isinstance(first_text, str) or " ".join(summary.split()) not in " ".join(first_text.split()):
        return "the first turn must be a user turn whose text carries `summary`, word for word (the summary given to " \
               "your function, not one from the lesson)."
    if len(result) < 3:
        return f"your function returned {len(result)} turn(s): the summary's user turn, an assistant turn that " \
               "acknowledges it, then at least the newest user turn."
    second, rest = result[1], result[2:]
    second_text = text_of_content(second.get("content")) if second.get("role") == "assistant" else ""
    if not second_text or not second_text.strip():
        return "the second turn must be an assistant turn with some text that acknowledges the summary: it keeps the " \
               "roles alternating (two user turns in a row would be merged into one by the API)."
    if rest != history[len(history) - len(rest):]:
        return "after the summary and its acknowledgement, keep the newest turns of `messages`, in order, without " \
               "gaps or changes: the end of the list."
    if not is_plain_user(rest[0]):
        return "the recent turns start with a tool_result or an assistant turn: start them at a user's own turn, so " \
               "that no tool call is cut off from its result and the roles alternate."
    used = _tokens(rest)
    if used > keep:
        return f"the recent turns are {used:,} tokens by the offline estimate, over `keep_tokens` = {keep:,}: keep " \
               "fewer of them."
    fair = _longest_fair_tail(history, keep)
    if len(rest) < fair:
        return f"you kept {len(rest)} recent turns ({used:,} tokens), but {fair} fit in {keep:,} tokens with the " \
               "history still valid: keep as many of the newest turns as fit."
    problems = history_problems(result)
    if problems:
        return f"the new history has a problem: {problems[0]}"
    return None


@grader("08.2 a summary in front of the recent turns")
def summary_history(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `summarised_history(messages, summary, keep_tokens)` and pass the function itself: "
                       "`check.lesson08.summary_history(summarised_history)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `summarised_history(...)` yourself.")
    rng, seed = draw(seed)
    cases = _summary_cases(rng)
    runs = _trim_runs()
    for history, summary, keep in cases:
        given = copy.deepcopy(history)
        try:
            result = function(given, summary, keep)
        except Exception as error:  # noqa: BLE001 - the learner's function can fail in any way
            return not_yet(f"on a history of {len(history)} turns with keep_tokens={keep:,} (seed {seed}), your "
                           f"function raised {type(error).__name__}: {error}.")
        if result is None:
            return not_yet("your function returned None: return the new list of turns.")
        if given != history:
            return not_yet("your function changed the list it was given: build a new list and leave `messages` as it "
                           "is.")
        problem = _summary_problem(result, history, summary, keep)
        if problem:
            return not_yet(f"on a history of {len(history)} turns ({_tokens(history):,} tokens) with keep_tokens="
                           f"{keep:,} (seed {seed}): {problem}")
    if _trim_runs() != runs:
        return not_yet(f"on {len(cases)} histories and summaries made up for this run, {OWN_TRIM}")
    return correct(f"on {len(cases)} histories and summaries made up for this run, your function put a user turn "
                   "carrying the summary and an assistant turn acknowledging it in front of as many of the newest "
                   "turns as fit `keep_tokens`, starting at a user's own turn and unchanged; every new history "
                   "alternated roles with no problem found, and the histories given were left as they were.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
