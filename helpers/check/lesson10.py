"""Graders for lesson 10: a forced call of your own tool, a tool loop that reports failures, parallel calls.

Sources: https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use (tool_choice),
https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls (tool_result, ``is_error``),
https://platform.claude.com/docs/en/agents-and-tools/tool-use/parallel-tool-use (one tool_result per tool_use
block, all in the next user message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

import anthropic
import httpx2
import jsonschema

from ..catalog import DEFAULT_MODEL
from ..connection import OFFLINE_BASE_URL, OFFLINE_KEY
from ..offline.transport import OfflineTransport
from ..usage import Record, RecordingTransport, UsageLog
from . import (
    block_dicts, correct, draw, grader, kit_function, kit_records, last_tool_use_turn, logged, made_during_attempt,
    not_yet, same_text, text_of_content,
)

TEMPERATURE_TOOL = "celsius_to_fahrenheit"
TEMPERATURE_FIELD = "celsius"
MIN_DESCRIPTION_WORDS = 8
MIN_DISTINCT_WORDS = 6
WHAT_WORDS = ("celsius", "fahrenheit", "temperature", "temperatures", "degree", "degrees")
"""A description that says what the tool does names what it converts."""
WHEN_WORDS = ("when", "whenever", "if", "use", "used", "call", "asks", "asked", "needs", "wants", "whether")
"""A description that says when to use the tool has one of these (section 1: what it does, and when)."""
TRIP_CITIES = ("Lisbon", "Oslo", "Lima", "Tokyo", "Nairobi", "Montreal", "Cairo", "Hanoi")
"""The cities of exercise 10.3's question: all in the lesson's sample weather table."""
TRIP_CURRENCIES = ("Franc", "Rand", "Peso", "Rupee")
"""Currencies of exercise 10.3's question, none of them in the lesson's sample rates: the conversion always fails,
so the round trip answers a failure (section 3's `is_error`) next to the calls that work, which section 4's demo
does not."""
LESSON_WEATHER = {
    "Lisbon": "19 °C, sunny, light wind", "Oslo": "2 °C, snow showers", "Lima": "17 °C, overcast",
    "Tokyo": "12 °C, clear", "Nairobi": "24 °C, scattered clouds", "Montreal": "-3 °C, light snow",
    "Cairo": "27 °C, sunny", "Hanoi": "22 °C, drizzle",
}
LESSON_RATES = {"Euro": 1.0, "Dollar": 1.08, "Pound": 0.85, "Yen": 162.0, "Krone": 11.5}
"""The lesson's sample weather and rates (sections 1 and 3): 10.3 is graded against the lesson's own functions."""
TRIP_AMOUNTS = (50, 80, 120, 250, 300, 500)
"""Euro amounts of exercise 10.3's question; never the 200 of the lesson's own parallel-call demo."""
TEMPERATURE_RANGE = (-30, 45)
"""Degrees Celsius that exercise 10.1's question is drawn from."""
LOOP_CURRENCIES = ("Euro", "Dollar", "Pound", "Yen", "Krone", "Franc", "Rand", "Peso")
UNKNOWN_CURRENCIES = ("Zorkmid", "Doubloon", "Quatloo", "Galleon")
"""Currencies the grader's converter has no rate for: a call about one of them fails."""
LOOP_MAX_TOKENS = 400
RUNAWAY_REQUESTS = 12
"""The grader's client stops answering a loop after this many requests (its cases allow at most 5)."""

HINTS = {
    "10.1": (
        "A tool is a dict with `name`, `description` and `input_schema` (a JSON schema of type object), as in "
        "section 1. `tool_choice` decides whether the model must call it (section 2): `auto` lets it choose; one of "
        "the other types forces a call of the one tool it names.",
        "The same mechanics for another tool (write yours for the exercise's name, field and question): "
        "`distance_tool = {\"name\": \"km_to_miles\", \"description\": \"Convert a distance from kilometres to "
        "miles. Use it whenever the user gives a distance in kilometres and wants miles.\", \"input_schema\": "
        "{\"type\": \"object\", \"properties\": {\"km\": {\"type\": \"number\"}}, \"required\": [\"km\"]}}`, sent "
        "with `tools=[distance_tool]` and `tool_choice={\"type\": \"tool\", \"name\": \"km_to_miles\"}`.",
    ),
    "10.2": (
        "Start from the lesson's `run_loop`: it stops when a reply is not a tool call, or after `max_turns` "
        "requests. What it lacks is a `try`/`except` around the call of the tool function.",
        "Section 5 answers a bad input with an `is_error` result: `except jsonschema.ValidationError as error: "
        "result = {\"type\": \"tool_result\", \"tool_use_id\": call.id, \"content\": f\"invalid input: "
        "{error.message}\", \"is_error\": True}`. Yours answers a function that raises, with `str(error)` as the "
        "content; all a reply's results go in one user turn.",
    ),
    "10.3": (
        "The reply holds several `tool_use` blocks. Run each one, and send all the `tool_result` blocks together, "
        "in the one user turn that follows the reply. One call fails: its result says so (section 3).",
        "For each tool_use block, `try` its function and make a tool_result with its `tool_use_id`; `except` the "
        "error and make one with `is_error: True` and `str(error)` instead. Append the reply's `content` as the "
        "assistant turn, then one user turn with all the results, and send again with the same `tools`.",
    ),
}


def _dicts(values: Any) -> list[dict]:
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _first_user_text(request: dict) -> str:
    turns = _dicts(request.get("messages"))
    return text_of_content(turns[0].get("content")) if turns and turns[0].get("role") == "user" else ""


def _bad_request(error: BaseException) -> str:
    return str(getattr(error, "api_message", "") or error) if isinstance(error, anthropic.BadRequestError) else ""


# --- 10.1 ---------------------------------------------------------------------------------------------------------

_issued_temperatures: set[str] = set()


def temperature_question(seed: Optional[int] = None) -> str:
    """The question of exercise 10.1, about a temperature drawn for this run."""
    rng, _ = draw(seed)
    degrees = rng.choice((rng.randint(*TEMPERATURE_RANGE), round(rng.uniform(*TEMPERATURE_RANGE), 1)))
    question = f"What is {degrees} degrees Celsius in Fahrenheit?"
    _issued_temperatures.add(question)
    return question


def _explain_forced(error: BaseException) -> Optional[str]:
    message = _bad_request(error)
    if "forced tool use" in message:
        return ("That model refuses forced tool use: its catalog entry has `forced_tool_use` False. Send the "
                "request to a model whose entry allows it, such as `DEFAULT_MODEL`.")
    if "Thinking may not be enabled" in message:
        return "A forced call and thinking you ask for don't mix: leave `thinking` out of this request."
    if "tool_choice.name" in message:
        return "The name in `tool_choice` must be the `name` of a tool in `tools`: `celsius_to_fahrenheit`."
    if "input_schema" in message or "tools." in message:
        return "The API refused the tool itself: read the field the message names and fix `temperature_tool`."
    return None


def _schema_problem(schema: Any) -> Optional[str]:
    if not isinstance(schema, dict):
        return "its `input_schema` is not a JSON schema (a dict)."
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        return f"its `input_schema` is not a valid JSON schema: {error.message}."
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    field = properties.get(TEMPERATURE_FIELD)
    if not isinstance(field, dict):
        return f"its `input_schema` has no `{TEMPERATURE_FIELD}` property: list it under `properties`."
    kinds = field.get("type") if isinstance(field.get("type"), list) else [field.get("type")]
    if "number" not in kinds:
        return (f"its `{TEMPERATURE_FIELD}` property has type {field.get('type')!r}: a temperature such as 36.6 is a "
                "`number`.")
    if TEMPERATURE_FIELD not in (schema.get("required") or []):
        return f"`{TEMPERATURE_FIELD}` is not in the schema's `required` list, so the model may leave it out."
    return None


def description_problem(description: Any) -> Optional[str]:
    """Why ``description`` does not say what the tool does and when to use it, or None. Judged by its words (how
    many, how varied, whether it names what is converted and gives a when), so filler fails and any wording passes."""
    if not isinstance(description, str) or not description.strip():
        return "is missing"
    words = re.findall(r"[^\W\d_]+", description.lower())
    shown = repr(description.strip()[:60])
    if len(words) < MIN_DESCRIPTION_WORDS or len(set(words)) < MIN_DISTINCT_WORDS:
        return (f"{shown} has {len(words)} words, {len(set(words))} of them different: that is too little to say "
                f"what the tool does and when (write at least {MIN_DESCRIPTION_WORDS} words)")
    if not set(words) & set(WHAT_WORDS):
        return f"{shown} does not say what the tool converts (a temperature, from Celsius to Fahrenheit)"
    if not set(words) & set(WHEN_WORDS):
        return f"{shown} says what the tool does but not when to use it (\"Use it when ...\")"
    return None


@grader("10.1 a forced call of your own tool", explain=_explain_forced)
def forced_call(reply: Any) -> Any:
    record, problem = logged(reply, "forced_reply", "Send `temperature_question` with your tool, forcing it")
    if problem is not None:
        return problem
    request = record.request or {}
    tools = _dicts(request.get("tools"))
    tool = next((t for t in tools if t.get("name") == TEMPERATURE_TOOL), None)
    if tool is None:
        names = [t.get("name") for t in tools]
        return not_yet(f"the request's tools are {names}: none is named `{TEMPERATURE_TOOL}`. Send "
                       "`tools=[temperature_tool]`, with the name the exercise gives.")
    description = tool.get("description")
    unclear = description_problem(description)
    if unclear:
        return not_yet(f"your tool's description {unclear}. The model decides from the description alone whether "
                       "and how to call the tool: write a sentence or two that says what it does and when to use it "
                       "(section 1).")
    problem_text = _schema_problem(tool.get("input_schema"))
    if problem_text:
        return not_yet(f"your tool is sent, but {problem_text}")
    if not any(same_text(_first_user_text(request), q) for q in _issued_temperatures):
        return not_yet("the request did not ask `temperature_question`: send that question, as the first user turn.")
    choice = request.get("tool_choice") if isinstance(request.get("tool_choice"), dict) else {"type": "auto"}
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return not_yet(f"`tool_choice` was {kind!r}: the model chooses (or may not call at all), and this exercise "
                       "asks for a call it must make. Section 2 of the lesson shows the `tool_choice` that forces a "
                       "call of one named tool.")
    if kind == "tool" and choice.get("name") != TEMPERATURE_TOOL:
        return not_yet(f"`tool_choice` forces {choice.get('name')!r}, not `{TEMPERATURE_TOOL}`.")
    calls = [b for b in reply.content if b.type == "tool_use"]
    if reply.stop_reason != "tool_use" or not calls:
        return not_yet(f"the reply stopped with {reply.stop_reason!r} and holds no tool_use block.")
    call = calls[0]
    if call.name != TEMPERATURE_TOOL:
        return not_yet(f"the reply called {call.name!r}, not `{TEMPERATURE_TOOL}`: force your own tool.")
    try:
        jsonschema.validate(call.input, tool["input_schema"])
    except jsonschema.ValidationError as error:
        return not_yet(f"the call's input {call.input} does not fit your schema ({error.message}).")
    forced = "`tool` naming it" if kind == "tool" else "`any`"
    return correct(f"the usage log shows `temperature_question` sent with your `{TEMPERATURE_TOOL}` tool (a "
                   f"{len(description.split())}-word description, a schema that requires a number `celsius`) and "
                   f"tool_choice {forced}; the reply stopped with tool_use and called your tool with an input that "
                   "your schema accepts.")


# --- 10.2 ---------------------------------------------------------------------------------------------------------

CURRENCY_TOOL = {
    "name": "convert_currency",
    "description": "Convert an amount of money from one currency to another at a fixed rate. Use it when the user "
                   "asks what an amount is worth in another currency.",
    "input_schema": {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "source": {"type": "string"},
            "target": {"type": "string"},
        },
        "required": ["amount", "source", "target"],
    },
}
"""The tool of the grader's own requests in 10.2 (its rates are drawn for each run)."""


@dataclass
class _Converter:
    """The grader's tool function for 10.2: rates per Euro drawn for one run; an unknown currency raises."""

    rates: dict[str, float]

    def __call__(self, amount: float, source: str, target: str) -> str:
        for currency in (source, target):
            if currency not in self.rates:
                raise ValueError(f"no exchange rate for {currency}")
        return f"{amount:g} {source} = {amount / self.rates[source] * self.rates[target]:.2f} {target}"


@dataclass
class _Case:
    name: str
    request: dict
    max_turns: int
    wants: str  # "answer": ends with a reply that is not a tool call; "limit": stops after max_turns requests


def _cases(rng: Any) -> list[_Case]:
    known = rng.sample(LOOP_CURRENCIES, 4)
    amounts = [rng.randint(5, 900) for _ in range(3)]

    def request(question: str, **extra: Any) -> dict:
        return {"model": DEFAULT_MODEL, "max_tokens": LOOP_MAX_TOKENS, "tools": [dict(CURRENCY_TOOL)],
                "messages": [{"role": "user", "content": question}], **extra}

    return [
        _Case("one call", request(f"Convert {amounts[0]} {known[0]} to {known[1]}."), 5, "answer"),
        _Case("a call whose function raises",
              request(f"Convert {amounts[1]} {known[2]} to {rng.choice(UNKNOWN_CURRENCIES)}."), 5, "answer"),
        _Case("two calls in one reply",
              request(f"Convert {amounts[2]} {known[0]} to {known[3]} and {amounts[0]} {known[1]} to {known[2]}."),
              5, "answer"),
        _Case("a forced call on every turn", request(f"Convert {amounts[1]} {known[3]} to {known[0]}.",
                                                     tool_choice={"type": "any"}), rng.choice((2, 3, 4)), "limit"),
    ]


def _signatures(content: Any) -> list[tuple]:
    out = []
    for block in block_dicts(content):
        kind = block.get("type")
        out.append((kind, block.get("id"), block.get("name")) if kind == "tool_use" else
                   (kind, block.get("text")) if kind == "text" else (kind, block.get("signature")) if kind == "thinking"
                   else (kind,))
    return out


def _answer_problem(uses: list[dict], turns: list[dict], function_for: Callable[[dict], Callable]) -> Optional[str]:
    """What is wrong with the user turn(s) that answer ``uses`` (the turns after the assistant turn), if anything.

    ``function_for(use)`` is the function a tool_use block names; the grader runs it on the block's input."""
    if not turns or any(t.get("role") != "user" for t in turns):
        return "right after the assistant turn with the tool calls comes one user turn with their tool_result blocks."
    results = [b for t in turns for b in block_dicts(t.get("content")) if b.get("type") == "tool_result"]
    by_id = {b.get("tool_use_id"): b for b in results}
    for use in uses:
        sent = by_id.get(use.get("id"))
        if sent is None:
            return (f"no tool_result answers the tool_use block {use.get('id')}: every call needs a result with its "
                    "`tool_use_id`.")
        arguments = use.get("input") if isinstance(use.get("input"), dict) else {}
        text = text_of_content(sent.get("content")).strip()
        try:
            output = function_for(use)(**arguments)
        except Exception as error:  # noqa: BLE001 - the grader's function raises on purpose
            if sent.get("is_error") is not True:
                return (f"the function raised `{type(error).__name__}: {error}` on the input {arguments}, but the "
                        "tool_result did not say `is_error: True`. Send the error's message with `is_error: True`.")
            if str(error) not in text:
                return (f"the function raised `{error}` on the input {arguments}; the error result held {text!r}. Put "
                        "the error's message in its content (`str(error)`), so the model can read what went wrong.")
            continue
        if sent.get("is_error"):
            return f"the tool_result for {arguments} says `is_error: True`, but the function returned {output!r}."
        if text != str(output):
            return (f"the tool_result for {arguments} held {text!r}, but the function returns {str(output)!r} for "
                    "that input: send what the function returned, as a string.")
    extra = set(by_id) - {u.get("id") for u in uses}
    if extra:
        return f"the user turn answers ids no tool_use block of the reply has: {sorted(extra)}."
    return None


def _check_case(case: _Case, log: UsageLog, returned: Any, converter: _Converter) -> Optional[str]:
    records = [r for r in log.records if r.status == 200]
    if not records:
        return "your function never called the API. Call `client.messages.create(**...)` with the client it is given."
    for n, record in enumerate(records):
        sent = record.request or {}
        for key in ("model", "tools", "tool_choice", "max_tokens"):
            if sent.get(key) != case.request.get(key):
                return (f"request {n + 1} sent `{key}` = {sent.get(key)!r}, not the request's own "
                        f"{case.request.get(key)!r}: send the same request each time, with the messages grown.")
        messages = _dicts(sent.get("messages"))
        if n == 0:
            if messages != case.request["messages"]:
                return "the first request should send the request's messages as given."
            continue
        before = records[n - 1]
        previous = _dicts((before.request or {}).get("messages"))
        if messages[:len(previous)] != previous:
            return (f"request {n + 1} changed the earlier turns: keep the history as it was and append the reply and "
                    "the results.")
        added = messages[len(previous):]
        reply_content = (before.response or {}).get("content")
        appended = added[0] if added else {}
        if appended.get("role") != "assistant" or _signatures(appended.get("content")) != _signatures(reply_content):
            return (f"request {n + 1} should append the previous reply as the assistant turn, unchanged "
                    "(`{\"role\": \"assistant\", \"content\": reply.content}`), then the results.")
        uses = [b for b in block_dicts(reply_content) if b.get("type") == "tool_use"]
        if (before.response or {}).get("stop_reason") != "tool_use":
            return (f"your loop sent request {n + 1} after a reply that stopped with "
                    f"{(before.response or {}).get('stop_reason')!r}: stop when a reply is not a tool call.")
        problem = _answer_problem(uses, added[1:], lambda use: converter)
        if problem:
            return problem
    last = records[-1]
    if case.wants == "limit" and len(records) != case.max_turns:
        return (f"with `max_turns={case.max_turns}` and a model that calls a tool on every turn, your loop sent "
                f"{len(records)} requests: send at most `max_turns`, then return the last reply.")
    if case.wants == "answer" and (last.response or {}).get("stop_reason") == "tool_use":
        return "your loop stopped while the last reply still asked for a tool: run it and send the result back."
    if not (isinstance(returned, anthropic.types.Message) and returned.id == last.message_id):
        return (f"your function returned {type(returned).__name__}, not the last reply: return the Message of the "
                "last request it sent.")
    return None


class _RunawayLoop(Exception):
    """Raised by the grader's transport when a loop goes on sending requests."""


class _CappedTransport(httpx2.BaseTransport):
    """The offline backend, for at most ``cap`` requests: a loop without a working turn limit ends, as an error."""

    def __init__(self, inner: httpx2.BaseTransport, cap: int):
        self.inner, self.cap, self.sent = inner, cap, 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        if self.sent > self.cap:
            raise _RunawayLoop(f"the grader stopped answering after {self.cap} requests")
        return self.inner.handle_request(request)


def _loop_client(log: UsageLog) -> anthropic.Anthropic:
    """An in-process offline client recorded in ``log``, with no retries and a cap on the requests it answers."""
    transport = _CappedTransport(RecordingTransport(OfflineTransport(), offline=True, log=log), RUNAWAY_REQUESTS)
    return anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


def _call_loop(function: Callable, case: _Case, converter: _Converter) -> tuple[UsageLog, str, Any]:
    log = UsageLog()
    try:
        value = function(_loop_client(log), {**case.request, "messages": list(case.request["messages"])},
                         {"convert_currency": converter}, max_turns=case.max_turns)
    except Exception as error:  # noqa: BLE001 - the learner's loop can raise anything
        return log, "raised", error
    return log, "returned", value


def _raised_message(case: _Case, error: BaseException) -> str:
    if isinstance(error.__cause__, _RunawayLoop) or isinstance(error, _RunawayLoop):
        return (f"in the case '{case.name}', your loop sent more than {RUNAWAY_REQUESTS} requests (max_turns was "
                f"{case.max_turns}), so the grader stopped answering: count the requests and stop at `max_turns`.")
    if isinstance(error, ValueError) and "no exchange rate" in str(error):
        return (f"in the case '{case.name}', the tool function raised `ValueError: {error}` and the error escaped "
                "your loop. Catch it and send a tool_result with `is_error: True` and the error's message instead.")
    if isinstance(error, AttributeError) and ("ThinkingBlock" in str(error) or "TextBlock" in str(error)):
        return (f"in the case '{case.name}', your loop raised `AttributeError: {error}`. A reply can open with a "
                "thinking or text block: pick the calls by `block.type == \"tool_use\"`.")
    if isinstance(error, anthropic.BadRequestError):
        return f"in the case '{case.name}', the API answered HTTP 400: {_bad_request(error)}"
    return f"in the case '{case.name}', your loop raised `{type(error).__name__}: {error}`."


@grader("10.2 a tool loop that reports failures")
def tool_loop(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson10.tool_loop(tool_loop)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `tool_loop(...)` yourself.")
    rng, seed = draw(seed)
    converter = _Converter({c: (1.0 if c == "Euro" else round(rng.uniform(0.5, 150), 2)) for c in LOOP_CURRENCIES})
    cases = _cases(rng)
    for case in cases:
        log, outcome, value = _call_loop(function, case, converter)
        if outcome == "raised":
            if not log.records and isinstance(value, TypeError):
                return not_yet(f"your function raised `TypeError: {value}` before calling the API. Its signature is "
                               "`tool_loop(client, request, functions, max_turns=5)`.")
            return not_yet(_raised_message(case, value) + f" (seed {seed})")
        problem = _check_case(case, log, value, converter)
        if problem and not log.records:
            return not_yet(f"in the case '{case.name}': {problem}")
        if problem:
            return not_yet(f"in the case '{case.name}': {problem} (The grader's requests and rates are drawn for "
                           f"each run, seed {seed}.)")
    return correct(f"the grader ran your loop on {len(cases)} requests of its own: every tool_use block got a "
                   "tool_result with its id, in the user turn right after the reply; each result held what the "
                   "function returned for that block's input, and `is_error: True` with the error's message where "
                   "it raised; the loop returned the final reply, and stopped after `max_turns` requests when "
                   "every reply asked for a tool.")


# --- 10.3 ---------------------------------------------------------------------------------------------------------

_issued_trips: dict[str, tuple[str, str]] = {}


def trip_question(seed: Optional[int] = None) -> str:
    """The question of exercise 10.3: the weather in two cities and a conversion, drawn for this run."""
    rng, _ = draw(seed)
    first, second = rng.sample(TRIP_CITIES, 2)
    amount = rng.choice(TRIP_AMOUNTS)
    question = (f"What is the weather in {first} and in {second}? Also convert {amount} Euro to "
                f"{rng.choice(TRIP_CURRENCIES)}.")
    _issued_trips[question] = (first, second)
    return question


def _lesson_weather(city: str) -> str:
    return f"{city}: {LESSON_WEATHER[city]}" if city in LESSON_WEATHER else f"no sample data for {city}"


def _lesson_conversion(amount: float, source: str, target: str) -> str:
    for currency in (source, target):
        if currency not in LESSON_RATES:
            raise ValueError(f"no sample rate for {currency}; the known currencies are {', '.join(LESSON_RATES)}")
    return f"{amount:g} {source} = {amount / LESSON_RATES[source] * LESSON_RATES[target]:.2f} {target} (sample rate)"


LESSON_FUNCTIONS = {"get_weather": _lesson_weather, "convert_currency": _lesson_conversion}


def _outcome(function: Callable, arguments: dict) -> tuple[str, str]:
    try:
        return "returned", str(function(**arguments))
    except Exception as error:  # noqa: BLE001 - a tool function's failure is an outcome to compare
        return "raised", str(error)


def _record_with_tool_use(tool_use_id: Any) -> Optional[Record]:
    for record in kit_records():
        if any(b.get("id") == tool_use_id for b in block_dicts((record.response or {}).get("content"))):
            return record
    return None


def _explain_parallel(error: BaseException) -> Optional[str]:
    message = _bad_request(error)
    if "without `tool_result`" in message:
        return ("Every tool_use block of the reply needs its tool_result in the very next user turn: answer all of "
                "them together, not only some.")
    if "must define tools" in message:
        return "The second request must carry the same `tools` as the first."
    if isinstance(error, KeyError):
        return "Look the function up by the block's `name` in `local_functions`: `local_functions[block.name]`."
    if isinstance(error, ValueError) and "no sample rate" in str(error):
        return ("One of the calls fails, as calls do: answer it with a tool_result that says `is_error: True` and "
                "carries the error's message (section 3, \"When the function fails\"), next to the other results.")
    return None


@grader("10.3 parallel calls answered in one turn", explain=_explain_parallel)
def parallel_calls(final: Any, functions: Any = None) -> Any:
    record, problem = logged(final, "trip_answer", "Complete the round trip")
    if problem is not None:
        return problem
    if not isinstance(functions, dict) or not all(callable(f) for f in functions.values()):
        return not_yet("pass the tool functions too, as the dict the lesson built: "
                       "`check.lesson10.parallel_calls(trip_answer, local_functions)`.")
    messages = _dicts((record.request or {}).get("messages"))
    found = last_tool_use_turn(messages)
    if found is None:
        return not_yet("the final request has no assistant turn with tool_use blocks: append the first reply, "
                       "unchanged, as the assistant turn, then the results.")
    i, uses = found
    asked = _record_with_tool_use(uses[0].get("id"))
    if asked is None or _signatures(messages[i].get("content")) != _signatures((asked.response or {}).get("content")):
        return not_yet("that assistant turn is not a reply the model sent (the usage log has none like it): append "
                       "the model's own `content` instead of writing the blocks.")
    question = _first_user_text(asked.request or {})
    issued = next((q for q in _issued_trips if same_text(question, q)), None)
    if issued is None:
        return not_yet("the first request did not ask `trip_question`: this exercise grades the round trip that "
                       "starts with it.")
    if not made_during_attempt(asked):
        return not_yet("the first call was made before this cell's `with check.attempt(...)` block started: make "
                       "both calls inside the block.")
    if len(uses) < 2:
        return not_yet(f"the reply made {len(uses)} call; the question asks for several things at once.")
    weather = functions.get("get_weather")
    if callable(weather):
        first, second = _issued_trips[issued]
        try:
            same = weather(city=first) == weather(city=second)
        except Exception:  # noqa: BLE001 - a failing function is graded through its results below
            same = False
        if same:
            return not_yet(f"`get_weather` returns the same text for {first} and {second}: a tool's output depends on "
                           "its input. Pass the lesson's `local_functions`.")
    unknown = sorted({u.get("name") for u in uses} - set(functions))
    if unknown:
        return not_yet(f"`functions` has no function for {unknown}: pass the dict that maps every tool name to its "
                       "function.")
    for use in uses:  # the results are graded against the lesson's functions, whatever dict was passed
        arguments = use.get("input") if isinstance(use.get("input"), dict) else {}
        lesson = LESSON_FUNCTIONS.get(use.get("name"))
        if lesson is not None and _outcome(functions[use.get("name")], arguments) != _outcome(lesson, arguments):
            return not_yet(f"the `{use.get('name')}` you passed does not do what the lesson's does on the input "
                           f"{arguments}: run the calls with the lesson's `local_functions`, and pass that dict.")
    problem_text = _answer_problem(uses, messages[i + 1:],
                                   lambda use: LESSON_FUNCTIONS.get(use.get("name")) or functions[use.get("name")])
    if problem_text:
        return not_yet(problem_text)
    if final.stop_reason != "end_turn":
        return not_yet(f"the final reply stopped with {final.stop_reason!r}, not 'end_turn'.")
    names = ", ".join(sorted({u["name"] for u in uses}))
    failed = sum(_outcome(LESSON_FUNCTIONS.get(u.get("name"), lambda **_: ""), u.get("input") or {})[0] == "raised"
                 for u in uses)
    failures = (f", and for the {failed} that raised, `is_error: True` with the error's message" if failed else
                " (the model made no call that fails, so no error result was needed)")
    return correct(f"the usage log shows `trip_question` answered with {len(uses)} tool_use blocks in one reply "
                   f"({names}); the next user turn answered every one of them with its id: what the lesson's "
                   f"function returns for its input{failures}; the final reply ended with end_turn.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
