"""Graders for lesson 13: a runaway loop stopped within a budget that still answers, a loop that continues
``pause_turn``, and the SDK's tool runner for a requirement it fits.

Sources: https://platform.claude.com/docs/build-with-claude/handling-stop-reasons (``pause_turn``: "Send the
assistant content back to continue"; ``max_tokens``: raise it), https://platform.claude.com/docs/en/
agents-and-tools/tool-use/implement-tool-use (``tool_choice`` ``none``: no tool call, tools still declared), the
SDK's tool runner (anthropic 2.17, ``lib/tools/_beta_runner.py``: ``max_iterations``, ``pause_turn`` resumed, a
tool's exception sent back with ``is_error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import anthropic
import httpx2

from ..catalog import DEFAULT_MODEL, cost_usd
from ..connection import OFFLINE_BASE_URL, OFFLINE_KEY
from ..offline.transport import OfflineTransport
from ..usage import Record, RecordingTransport, UsageLog
from . import (
    block_dicts, correct, draw, grader, grader_only, is_message, kit_function, kit_records, made_during_attempt,
    not_yet, same_text, text_of_content,
)
from .lesson10 import _CappedTransport, _RunawayLoop, _answer_problem, _bad_request, _dicts, _signatures

MESSAGES_PATH = "/v1/messages"
LOOP_MAX_TOKENS = 100
"""The grader's requests in 13.1 and 13.2: room for a tool call, or for a short answer after some thinking."""
GRADER_CAP = 80
"""The grader's client stops answering after this many requests (count_tokens included)."""
EARLY_STOP_ROOM = 3
"""13.1: a loop that sends its final call while the budget left could pay for this many more calls like it stopped
early (the lesson's rule keeps room for two: this call and the answer)."""
SMALL_BUDGET = (2.6, 2.9)
LARGE_BUDGET = (6.0, 7.0)
"""13.1's budgets, in units of the most the first call can cost: room for about one tool call and the answer, or
for several. A loop that ignores the budget overspends one of them or stops early in the other."""
TOPICS = ("ant colonies", "lighthouses", "tea clippers", "glaciers", "beekeeping", "paper mills", "canal locks")

ARCHIVE_TOOL = {
    "name": "read_archive",
    "description": "Read the next page of the archive about a topic. Use it whenever the user asks to research a "
                   "topic.",
    "input_schema": {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"],
                     "additionalProperties": False},
}
"""The grader's tool in 13.1 and 13.2."""
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}

LESSON_STOCK = {"Darjeeling": 120, "Assam": 45, "Sencha": 0, "Oolong": 18, "Rooibos": 260, "Keemun": 7}
"""The lesson's sample stock of tea, in tins (section 1): 13.3 is graded against the lesson's own function."""
UNKNOWN_ITEMS = ("Gyokuro", "Lapsang", "Genmaicha", "Kukicha")
REQUEST_LIMITS = (3, 4, 5)

HINTS = {
    "13.1": (
        "Before each call, work out the most it can cost: `client.messages.count_tokens(...)` for its input, and "
        "`max_tokens` for its output, priced with `catalog.cost_usd`. Send a call that may use tools only while "
        "the budget holds that twice (this call, and an answer after it); otherwise send the final call.",
        "The final call is the same request with `tool_choice={\"type\": \"none\"}`: the tools stay declared (the "
        "history holds tool blocks), and the reply is text. Add each reply's cost "
        "(`catalog.cost_usd(reply.model, reply.usage.input_tokens, reply.usage.output_tokens)`) to what was spent.",
    ),
    "13.2": (
        "A reply that stopped with `pause_turn` is not finished and asks for nothing: there is no tool to run. "
        "Send the conversation again with that reply as the last assistant turn.",
        "In the loop: `if reply.stop_reason == \"pause_turn\": messages.append({\"role\": \"assistant\", "
        "\"content\": reply.content})` and `continue`, with no user turn after it; on `tool_use`, answer the "
        "calls as in lesson 10.",
    ),
    "13.3": (
        "The requirement has a cap on requests and failures reported to the model, and nothing the loop must do "
        "between steps: that is what the SDK's tool runner does by itself (section 2).",
        "Wrap the function with `@beta_tool`, then `client.beta.messages.tool_runner(model=..., max_tokens=..., "
        "tools=[...], messages=[...], max_iterations=..., thread=False)`, and `until_done()` for the last message.",
    ),
}


def _messages_records(log: UsageLog) -> list[Record]:
    return [r for r in log.records if r.path == MESSAGES_PATH]


def _grader_client(log: UsageLog) -> anthropic.Anthropic:
    """An in-process offline client recorded in ``log``, with no retries, that ends a loop that never stops."""
    transport = _CappedTransport(RecordingTransport(OfflineTransport(), offline=True, log=log), GRADER_CAP)
    return anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


@grader_only
def _most_it_costs(client: anthropic.Anthropic, body: dict) -> float:
    """What the call with ``body`` can cost at most: its input, counted, and all of ``max_tokens``."""
    keys = ("model", "messages", "tools", "tool_choice", "system")
    counted = client.messages.count_tokens(**{k: body[k] for k in keys if k in body}).input_tokens
    return cost_usd(body["model"], counted, body["max_tokens"])


def _raised(case: str, error: BaseException) -> str:
    if isinstance(error, _RunawayLoop) or isinstance(error.__cause__, _RunawayLoop):
        return (f"in the case '{case}', your loop sent more than {GRADER_CAP} requests, so the grader stopped "
                "answering: it never stopped on its own.")
    if isinstance(error, anthropic.BadRequestError):
        message = _bad_request(error)
        if "must define tools" in message:
            return (f"in the case '{case}', the API answered HTTP 400: {message} Once the history holds tool "
                    "blocks the tools stay declared: forbid calls with `tool_choice` instead.")
        return f"in the case '{case}', the API answered HTTP 400: {message}"
    if isinstance(error, AttributeError) and "Block" in str(error):
        return (f"in the case '{case}', your loop raised `AttributeError: {error}`. Read a reply's blocks by "
                "`block.type`.")
    return f"in the case '{case}', your loop raised `{type(error).__name__}: {error}`."


def _chain_problem(records: list[Record], request: dict, function_for: Callable[[dict], Callable],
                   *, final_choice_may_change: bool = False) -> Optional[str]:
    """What is wrong with the requests a loop sent for ``request``: each the same request with the history grown by
    the reply, unchanged, and the answers to its calls (none after a ``pause_turn``)."""
    for n, record in enumerate(records):
        sent = record.request or {}
        last = n == len(records) - 1
        for key in ("model", "tools", "max_tokens") + (() if last and final_choice_may_change else ("tool_choice",)):
            if sent.get(key) != request.get(key):
                return (f"request {n + 1} sent `{key}` = {sent.get(key)!r}, not the request's own "
                        f"{request.get(key)!r}: send the same request each time, with the messages grown.")
        messages = _dicts(sent.get("messages"))
        if n == 0:
            if messages != request["messages"]:
                return "the first request should send the request's messages as given."
            continue
        before = records[n - 1]
        previous = _dicts((before.request or {}).get("messages"))
        if messages[:len(previous)] != previous:
            return f"request {n + 1} changed the earlier turns: keep the history and append to it."
        added = messages[len(previous):]
        response = before.response or {}
        appended = added[0] if added else {}
        if appended.get("role") != "assistant" or _signatures(appended.get("content")) != _signatures(
                response.get("content")):
            return (f"request {n + 1} should append the previous reply as the assistant turn, unchanged "
                    "(`{\"role\": \"assistant\", \"content\": reply.content}`).")
        stop = response.get("stop_reason")
        if stop == "pause_turn":
            if len(added) != 1:
                return (f"after the reply that stopped with pause_turn, request {n + 1} added "
                        f"{[t.get('role') for t in added[1:]]} after it: send the paused reply back as the last "
                        "turn, with nothing after it, and the API continues the turn.")
            continue
        if stop != "tool_use":
            return f"your loop sent request {n + 1} after a reply that stopped with {stop!r}: that reply was final."
        uses = [b for b in block_dicts(response.get("content")) if b.get("type") == "tool_use"]
        problem = _answer_problem(uses, added[1:], function_for)
        if problem:
            return problem
    return None


# --- 13.1 ---------------------------------------------------------------------------------------------------------

@dataclass
class _Archive:
    """The grader's tool: a runaway one says on every call that more pages remain (on the same input, the same
    result, so the grader can run it again to compare)."""

    finishes: bool = False

    def __call__(self, topic: str) -> str:
        if self.finishes:
            return f"{topic}: the whole archive, one page, read"
        return f"{topic}: one more page read, more pages remain"


@dataclass
class _BudgetCase:
    name: str
    request: dict
    runaway: bool
    budget_units: tuple[float, float]
    max_usd: float = 0.0
    archive: _Archive = field(default_factory=_Archive)


def _budget_cases(rng: Any) -> list[_BudgetCase]:
    def request(topic: str, **extra: Any) -> dict:
        return {"model": DEFAULT_MODEL, "max_tokens": LOOP_MAX_TOKENS, "tools": [dict(ARCHIVE_TOOL)],
                "messages": [{"role": "user", "content": f"Research the history of {topic}."}], **extra}

    first, second, third = rng.sample(TOPICS, 3)
    forced = {"tool_choice": {"type": "any"}}
    return [
        _BudgetCase("a task that finishes", request(first, tool_choice={"type": "auto"}), False, (20.0, 30.0),
                    archive=_Archive(finishes=True)),
        _BudgetCase("a runaway tool, a small budget", request(second, **forced), True, SMALL_BUDGET),
        _BudgetCase("a runaway tool, a larger budget", request(third, **forced), True, LARGE_BUDGET),
    ]


def _budget_problem(case: _BudgetCase, log: UsageLog, returned: Any, client: anthropic.Anthropic) -> Optional[str]:
    records = _messages_records(log)
    if not records:
        return "your function never called the API. Call `client.messages.create(**...)` with the client it is given."
    refused = [r for r in records if r.status != 200]
    if refused:
        return f"the API refused request {records.index(refused[0]) + 1} (HTTP {refused[0].status})."
    spent = sum(r.cost_usd for r in records)
    if spent > case.max_usd + 1e-12:
        return (f"your loop spent ${spent:.6f} of a ${case.max_usd:.6f} budget over {len(records)} requests: the last "
                "ones did not fit. Before each call, check that the most it can cost still fits.")
    problem = _chain_problem(records, case.request, lambda use: case.archive, final_choice_may_change=True)
    if problem:
        return problem
    last = records[-1]
    response = last.response or {}
    blocks = block_dicts(response.get("content"))
    if response.get("stop_reason") != "end_turn" or any(b.get("type") == "tool_use" for b in blocks):
        return (f"the last reply stopped with {response.get('stop_reason')!r}, with no answer: the loop should end on "
                "a reply in text. When the budget runs out, make the last call one that cannot call a tool.")
    if not text_of_content(blocks).strip():
        return "the last reply has no text: the loop should end on an answer."
    if not (is_message(returned) and returned.id == last.message_id):
        return f"your function returned {type(returned).__name__}, not the last reply: return that Message."
    rounds = len(records) - 1
    if case.runaway:
        choice = (last.request or {}).get("tool_choice") or {}
        if choice.get("type") != "none":
            return "the last request did not forbid tool calls: send it with `tool_choice={\"type\": \"none\"}`."
        if rounds == 0:
            return ("your loop answered without running the tool once, though the budget had room for a tool call "
                    "and an answer: run tools while the budget allows, then answer.")
        left = case.max_usd - sum(r.cost_usd for r in records[:-1])
        most = _most_it_costs(client, last.request or {})
        if left >= EARLY_STOP_ROOM * most:
            return (f"your loop stopped calling the tool after {rounds} round(s) with ${left:.6f} left, room for "
                    f"{int(left // most)} more calls like its last (at most ${most:.6f} each): run tools while the "
                    "budget holds this call and an answer, not a fixed number of times.")
    return None


@grader("13.1 a runaway loop that stops within its budget and answers")
def budget_loop(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson13.budget_loop(budget_loop)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `budget_loop(...)` yourself.")
    rng, seed = draw(seed)
    cases = _budget_cases(rng)
    counter = _grader_client(UsageLog())  # the grader's own counts stay out of the log of the learner's calls
    for case in cases:
        log = UsageLog()
        client = _grader_client(log)
        case.max_usd = round(_most_it_costs(counter, case.request) * rng.uniform(*case.budget_units), 7)
        try:
            value = function(client, {**case.request, "messages": list(case.request["messages"])},
                             {"read_archive": case.archive}, case.max_usd)
        except Exception as error:  # noqa: BLE001 - the learner's loop can raise anything
            if not log.records and isinstance(error, TypeError):
                return not_yet(f"your function raised `TypeError: {error}` before calling the API. Its signature "
                               "is `budget_loop(client, request, functions, max_usd)`.")
            return not_yet(_raised(case.name, error) + f" (seed {seed})")
        problem = _budget_problem(case, log, value, counter)
        if problem and not log.records:  # nothing drawn to repeat: a stored output stays the same from run to run
            return not_yet(f"in the case '{case.name}': {problem}")
        if problem:
            return not_yet(f"in the case '{case.name}' (budget ${case.max_usd:.6f}): {problem} (The grader's "
                           f"budgets are drawn for each run, seed {seed}.)")
    return correct(f"the grader ran your loop on {len(cases)} requests of its own, with budgets drawn for this run: "
                   "it never spent more than its budget; every tool_use block got its tool_result; with a tool that "
                   "never finishes it ran the tool while the budget had room, then sent a last request with "
                   "tool_choice none, and returned that reply, an answer in text.")


# --- 13.2 ---------------------------------------------------------------------------------------------------------

def _pause_cases(rng: Any) -> list[tuple[str, dict]]:
    first, second = rng.sample(TOPICS, 2)

    def request(question: str) -> dict:
        return {"model": DEFAULT_MODEL, "max_tokens": 400, "tools": [dict(ARCHIVE_TOOL), dict(WEB_SEARCH)],
                "messages": [{"role": "user", "content": question}]}

    return [
        ("a long search that pauses", request(f"#pause_turn Search the web for news about {first}.")),
        ("a tool call", request(f"Research the history of {second}.")),
    ]


@grader("13.2 a loop that continues a paused turn")
def pause_loop(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson13.pause_loop(pause_loop)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `pause_loop(...)` yourself.")
    rng, seed = draw(seed)
    cases = _pause_cases(rng)
    paused_seen = False
    for name, request in cases:
        log, archive = UsageLog(), _Archive(finishes=True)
        try:
            value = function(_grader_client(log), {**request, "messages": list(request["messages"])},
                             {"read_archive": archive})
        except Exception as error:  # noqa: BLE001 - the learner's loop can raise anything
            if not log.records and isinstance(error, TypeError):
                return not_yet(f"your function raised `TypeError: {error}` before calling the API. Its signature "
                               "is `pause_loop(client, request, functions, max_turns=6)`.")
            return not_yet(_raised(name, error) + f" (seed {seed})")
        records = [r for r in _messages_records(log) if r.status == 200]
        if not records:
            return not_yet("your function never called the API. Call `client.messages.create(**...)` with the "
                           "client it is given.")
        problem = _chain_problem(records, request, lambda use: archive)
        if problem is None:
            stop = (records[-1].response or {}).get("stop_reason")
            if stop == "pause_turn":
                problem = ("your loop returned a reply that stopped with pause_turn: the turn is not finished. Send "
                           "it back, as the last assistant turn, and the API continues it.")
            elif stop != "end_turn":
                problem = f"the last reply stopped with {stop!r}: the loop should go on until the answer."
            elif not (is_message(value) and value.id == records[-1].message_id):
                problem = f"your function returned {type(value).__name__}, not the last reply: return that Message."
        if problem:
            return not_yet(f"in the case '{name}': {problem} (seed {seed})")
        paused_seen = paused_seen or any((r.response or {}).get("stop_reason") == "pause_turn" for r in records)
    if not paused_seen:
        return not_yet("no reply paused in the grader's run, so nothing showed a continued turn.")
    return correct("the grader ran your loop on a search that pauses and on a tool call: after the pause_turn reply "
                   "it sent the same request again with that reply, unchanged, as the last turn and nothing after "
                   "it, and returned the finished turn; the tool call got its tool_result, and the answer came back.")


# --- 13.3 ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StockTask:
    """Exercise 13.3's requirement: a question about the stock of two items, one of them unknown, and a cap."""

    question: str
    request_limit: int

    def __repr__(self) -> str:
        return (f"Answer {self.question!r} with the lesson's stock tool, in at most {self.request_limit} requests; "
                "a call that fails is reported to the model. No budget, nothing to check between steps.")


_issued_tasks: dict[str, StockTask] = {}


def stock_task(seed: Optional[int] = None) -> StockTask:
    """The requirement of exercise 13.3, drawn for this run."""
    rng, _ = draw(seed)
    known = rng.choice([item for item, count in LESSON_STOCK.items() if count])
    question = f"Check the stock of {known} and the stock of {rng.choice(UNKNOWN_ITEMS)}."
    task = StockTask(question, rng.choice(REQUEST_LIMITS))
    _issued_tasks[question] = task
    return task


@grader_only
def _lesson_stock(tea: str) -> str:
    if tea not in LESSON_STOCK:
        raise ValueError(f"no stock record for {tea}; the shop stocks {', '.join(LESSON_STOCK)}")
    return f"{tea}: {LESSON_STOCK[tea]} tins in stock"


def _chain_ending_with(record: Record) -> list[Record]:
    """The kit's records of one conversation, first to ``record``: each one's messages start with the one before's."""
    chain = [record]
    for earlier in kit_records():
        if earlier.sent_at >= chain[0].sent_at or earlier.path != MESSAGES_PATH or earlier.status != 200:
            continue
        messages = _dicts((earlier.request or {}).get("messages"))
        later = _dicts((chain[0].request or {}).get("messages"))
        if messages and later[:len(messages)] == messages and len(later) > len(messages):
            chain.insert(0, earlier)
    return chain


@grader("13.3 the tool runner for a requirement it fits")
def runner_answer(final: Any) -> Any:
    from . import logged

    record, problem = logged(final, "runner_reply", "Meet the requirement of `task`")
    if problem is not None:
        return problem
    chain = _chain_ending_with(record)
    first = chain[0].request or {}
    turns = _dicts(first.get("messages"))
    question = text_of_content(turns[0].get("content")) if turns else ""
    task = next((t for q, t in _issued_tasks.items() if same_text(question, q)), None)
    if task is None:
        return not_yet("the first request did not ask `task.question`: this exercise grades the run that starts "
                       "with it.")
    if not all(made_during_attempt(r) for r in chain):
        return not_yet("part of the run was sent before this cell's `with check.attempt(...)` block started: run it "
                       "all inside the block.")
    if len(chain) > task.request_limit:
        return not_yet(f"the run took {len(chain)} requests; the requirement allows {task.request_limit}: cap it "
                       "(the runner's `max_iterations`).")
    first_names = {t.get("name") for t in _dicts(first.get("tools"))}
    if "lookup_stock" not in first_names:
        return not_yet(f"the request's tools are {sorted(first_names)}: declare the lesson's `lookup_stock`.")
    request = {k: first.get(k) for k in ("model", "tools", "max_tokens", "tool_choice")}
    problem_text = _chain_problem(chain, {**request, "messages": turns}, lambda use: _lesson_stock)
    if problem_text:
        return not_yet(problem_text)
    if len(chain) < 2:
        return not_yet("the run made no tool call: the question needs the stock tool.")
    if final.stop_reason != "end_turn":
        return not_yet(f"the last reply stopped with {final.stop_reason!r}, not 'end_turn': the model was not done.")
    return correct(f"the usage log shows `task.question` answered in {len(chain)} requests, within the task's "
                   "`request_limit`: every tool call got its tool_result with its id, the failing one with "
                   "`is_error: True` and the error, each later request the same with the history grown, and the last "
                   "reply ended with end_turn.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
