"""Property tests: the offline backend answers malformed requests the way the API does.

Whatever arrives (a body with fields dropped, retyped, emptied, nested too deep or
added where none belong; bytes that are not JSON; missing or bad headers; unknown
paths and methods), ``helpers.offline.app.handle`` must answer with an API-shaped
4xx error, never a 5xx and never a Python exception. A mutation that happens to
leave the request valid may answer 200, and then the body must be a real Message
(or a token count, or a model listing).

Requests are generated structurally: each starts from a valid request built from
the catalog's models and is then mutated. Generation is derandomized and uses no
example database, so every run checks the same requests (about 2,300 in-process
plus 100 over a real loopback socket).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

import anthropic
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import catalog
from helpers.offline import app, files, running, thinking
from helpers.offline.errors import ERROR_STATUS

DEFAULT_MODEL = catalog.DEFAULT_MODEL
PREFILL_MODEL = catalog.PREFILL_MODEL
RETIRED_IDS = sorted(i for m in catalog.retired() for i in m.all_ids)
AVAILABLE_IDS = sorted(i for m in catalog.available() for i in m.all_ids)

CURRENT_VERSION = "2026-10-21"
LEGACY_VERSION = "2023-06-01"
GOOD_HEADERS = {"authorization": "Bearer fuzz-key", "anthropic-version": CURRENT_VERSION}
REQUEST_ID = re.compile(r"req_[0-9A-Za-z]+\Z")

# Examples per test; their sum is the number of malformed requests per run.
BODY_EXAMPLES = 1000
COUNT_TOKENS_EXAMPLES = 400
RAW_EXAMPLES = 350
HEADER_EXAMPLES = 250
ROUTE_EXAMPLES = 150
MODELS_EXAMPLES = 200
FILES_EXAMPLES = 300
LOOPBACK_EXAMPLES = 100
IN_PROCESS_TOTAL = (
    BODY_EXAMPLES + COUNT_TOKENS_EXAMPLES + RAW_EXAMPLES + HEADER_EXAMPLES + ROUTE_EXAMPLES + MODELS_EXAMPLES
    + FILES_EXAMPLES
)
assert IN_PROCESS_TOTAL >= 2000, "at least 2,000 malformed requests per run"


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


# --- valid starting points ----------------------------------------------------------------------------------------

WORDS = (
    "the offline backend answers every request with deterministic text so that lessons run without a key "
    "and graders can compare outputs across runs while learners explore prompts tools and streaming"
).split()


def turn_text(n: int, words: int = 50) -> str:
    return " ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(words)) + "?"


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "sources": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["answer"],
    "additionalProperties": False,
}


def _thinking_history() -> dict:
    """A conversation that sends back a thinking block the way the backend signed it (for its first turn)."""
    first = {"role": "user", "content": "Think, then answer: 2 + 2?"}
    body = {"model": DEFAULT_MODEL, "max_tokens": 200, "messages": [first]}
    signature = thinking.sign(catalog.get(DEFAULT_MODEL).resolved_id, thinking.conversation_digest(body))
    answer = {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "", "signature": signature}, {"type": "text", "text": "4"},
    ]}
    return dict(body, messages=[first, answer, {"role": "user", "content": "And times three?"}])


def _templates() -> dict[str, tuple[dict, dict[str, str]]]:
    """Valid ``POST /v1/messages`` bodies, each with the headers it is valid under."""
    user = {"role": "user", "content": "What is the capital of France?"}
    legacy = dict(GOOD_HEADERS, **{"anthropic-version": LEGACY_VERSION})
    return {
        "simple": ({"model": DEFAULT_MODEL, "max_tokens": 256, "messages": [user]}, GOOD_HEADERS),
        "stream": ({"model": DEFAULT_MODEL, "max_tokens": 64, "stream": True, "messages": [user]}, GOOD_HEADERS),
        "rich": (
            {
                "model": DEFAULT_MODEL,
                "max_tokens": 512,
                "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": turn_text(1)}]},
                    {"role": "assistant", "content": turn_text(2)},
                    {"role": "user", "content": [{"type": "text", "text": turn_text(3)}]},
                ],
                "stop_sequences": ["\n\nHuman:", "END"],
                "metadata": {"user_id": "learner-42"},
                "service_tier": "auto",
                "speed": "standard",
                "output_config": {"effort": "low"},
                "thinking": {"type": "adaptive"},
            },
            GOOD_HEADERS,
        ),
        "tools": (
            {
                "model": DEFAULT_MODEL,
                "max_tokens": 300,
                "tools": [WEATHER_TOOL, {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
                "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
                "messages": [
                    {"role": "user", "content": "What's the weather in Paris?"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": "Let me check."},
                            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "toolu_01A",
                                "content": [{"type": "text", "text": "18 C, light rain"}],
                                "is_error": False,
                            }
                        ],
                    },
                ],
            },
            GOOD_HEADERS,
        ),
        "forced_tool": (
            {
                "model": DEFAULT_MODEL,
                "max_tokens": 300,
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "tool", "name": "get_weather"},
                "messages": [{"role": "user", "content": "Weather for Lyon over 3 days, please."}],
            },
            GOOD_HEADERS,
        ),
        "structured": (
            {
                "model": DEFAULT_MODEL,
                "max_tokens": 400,
                "output_config": {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
                "messages": [{"role": "user", "content": "Name the largest ocean."}],
            },
            GOOD_HEADERS,
        ),
        "media": (
            {
                "model": DEFAULT_MODEL,
                "max_tokens": 200,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="}},
                            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "A memo."}},
                            {"type": "text", "text": "Summarise both."},
                        ],
                    }
                ],
            },
            GOOD_HEADERS,
        ),
        "thinking_history": (_thinking_history(), GOOD_HEADERS),
        "prefill": (
            {
                "model": PREFILL_MODEL,
                "max_tokens": 128,
                "messages": [user, {"role": "assistant", "content": "{"}],
            },
            GOOD_HEADERS,
        ),
        "budget_thinking": (
            {
                "model": PREFILL_MODEL,
                "max_tokens": 4096,
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "messages": [user],
            },
            GOOD_HEADERS,
        ),
        "legacy_sampling": (
            {"model": PREFILL_MODEL, "max_tokens": 100, "temperature": 0.5, "top_k": 5, "messages": [user]},
            legacy,
        ),
    }


TEMPLATES = _templates()
CREATE_ONLY = ("max_tokens", "stream", "stop_sequences", "metadata", "service_tier")
COUNT_TEMPLATES = {
    name: ({k: v for k, v in body.items() if k not in CREATE_ONLY}, headers)
    for name, (body, headers) in TEMPLATES.items()
    if "temperature" not in body and name != "budget_thinking"
}


# --- values and mutations -----------------------------------------------------------------------------------------

# Text that may hold lone surrogates: json.dumps writes them as \udXXX escapes, as a buggy client would.
any_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(exclude_categories=[]), max_size=12),
    st.sampled_from(["", " ", "\n", "\u0000", "user", "assistant", "text", "tool_use", "object", "null", "x" * 5000]),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([-1, 0, 1, 1023, 1024, 2**31, 2**63, 10**30, -(10**30), 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
BLOCK_TYPES = (
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use", "tool_result",
    "server_tool_use", "web_search_tool_result", "container_upload", "bogus", "",
)
BLOCK_FIELDS = (
    "text", "source", "id", "name", "input", "tool_use_id", "content", "thinking", "signature", "data",
    "cache_control", "citations", "is_error", "title", "type",
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(any_text, st.sampled_from(BLOCK_FIELDS)), inner, max_size=4),
    ),
    max_leaves=10,
)


@st.composite
def blocks(draw) -> dict:
    """A content block of a random (or real) type with random (or plausible) fields."""
    block: dict[str, Any] = {"type": draw(st.one_of(st.sampled_from(BLOCK_TYPES), any_text))}
    for name in draw(st.lists(st.sampled_from(BLOCK_FIELDS), max_size=4, unique=True)):
        block[name] = draw(json_values)
    return block


values = st.one_of(json_values, blocks(), st.lists(blocks(), max_size=3))

DEEP = "\u0000fuzz-deep-{}\u0000"
ROLES = st.one_of(st.sampled_from(["system", "assistant", "user", "USER", "User ", "", "tool", "human"]), scalars)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (key or index steps); the root is ``()``."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, prefix + (index,))
    return found


def get(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


def put(body: dict, path: tuple, new: Any) -> None:
    get(body, path[:-1])[path[-1]] = new


class Mutated:
    """One malformed request under construction: the body, plus raw-text splices applied after encoding."""

    def __init__(self, body: dict, headers: dict[str, str]):
        self.body = body
        self.headers = headers
        self.splices: dict[str, str] = {}
        self.must_fail = False
        self.notes: list[str] = []
        self.raw = b""

    def __repr__(self) -> str:  # hypothesis prints failing cases: keep them readable
        raw = self.raw if len(self.raw) <= 2000 else self.raw[:2000] + b"...(%d bytes)" % len(self.raw)
        return f"Mutated(notes={self.notes}, must_fail={self.must_fail}, raw={raw!r})"

    def encode(self) -> bytes:
        text = json.dumps(self.body)
        for marker, raw in self.splices.items():
            text = text.replace(json.dumps(marker), raw)
        return text.encode()


def _deep_text(draw) -> str:
    depth = draw(st.one_of(st.integers(1, 400), st.sampled_from([127, 128, 129, 500, 990, 1000, 3000, 100_000])))
    if draw(st.booleans()):
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def choose(draw, options: Any) -> Any:
    """One of ``options``, spread evenly (``sampled_from`` favours the first few while generating)."""
    options = list(options)
    return options[draw(st.integers(0, 2**32 - 1)) % len(options)]


def pick_path(draw, candidates: list[tuple]) -> tuple:
    """A path, first choosing how deep (so nested fields are hit as often as top-level ones)."""
    depth = choose(draw, sorted({len(p) for p in candidates}))
    return choose(draw, [p for p in candidates if len(p) == depth])


def _messages(body: dict) -> list:
    messages = body.get("messages")
    return messages if isinstance(messages, list) else []


def _structural(draw, state: Mutated, op: str) -> None:
    """Mutations that ignore what a field means: drop it, retype it, empty it, nest it, grow it."""
    body = state.body
    every = [p for p in paths(body) if p]
    if not every:
        return
    if op == "drop":
        path = pick_path(draw, [p for p in every if isinstance(get(body, p[:-1]), dict)])
        del get(body, path[:-1])[path[-1]]
    elif op == "retype":
        put(body, pick_path(draw, every), draw(values))
    elif op == "add_unknown":
        target = get(body, pick_path(draw, [p for p in paths(body) if isinstance(get(body, p), dict)]))
        name = draw(st.one_of(any_text, st.sampled_from(["temperature", "top_p", "top_k", "extra", "output_format"])))
        if name not in target:
            target[name] = draw(values)
    elif op == "empty":
        put(body, pick_path(draw, every), draw(st.sampled_from(["", [], {}, None, [{"type": "text", "text": ""}], " ", [{}]])))
    elif op == "number":
        put(body, pick_path(draw, every), draw(numbers))
    elif op == "deep":
        marker = DEEP.format(len(state.splices))
        put(body, pick_path(draw, every), marker)
        state.splices[marker] = _deep_text(draw)
    elif op == "big":
        big = draw(st.sampled_from(["word " * 50_000, ["x"] * 5000, {"k%d" % i: i for i in range(2000)}]))
        put(body, pick_path(draw, every), big)


def _semantic(draw, state: Mutated, op: str) -> None:
    """Mutations aimed at one rule of the API: roles, models, limits, tools, prefill, sampling."""
    body = state.body
    messages = _messages(body)
    if op == "role" and messages:
        message = messages[draw(st.integers(0, len(messages) - 1))]
        if isinstance(message, dict):
            message["role"] = draw(ROLES)
    elif op == "model":
        body["model"] = draw(st.one_of(
            st.sampled_from(RETIRED_IDS),
            st.sampled_from([DEFAULT_MODEL.upper(), DEFAULT_MODEL + " ", " " + PREFILL_MODEL, DEFAULT_MODEL + "-x"]),
            any_text,
        ))
    elif op == "max_tokens":
        limit = catalog.lookup(body["model"]).max_output_tokens if isinstance(body.get("model"), str) and catalog.lookup(body["model"]) else 64000
        body["max_tokens"] = draw(st.sampled_from([-1, -(2**63), 0, 1, limit, limit + 1, 10**9, 2**64, 10**400]))
    elif op == "block":
        lists = [p for p in paths(body) if isinstance(get(body, p), list) and (len(p) >= 3 or p == ("system",))]
        if lists:
            target = get(body, pick_path(draw, lists))
            target.insert(draw(st.integers(0, len(target))), draw(blocks()))
    elif op == "turns" and messages:
        body["messages"] = draw(st.permutations(messages))
        if draw(st.booleans()):
            body["messages"].append(copy.deepcopy(draw(st.sampled_from(messages))))
    elif op == "stop":
        body["stop_sequences"] = draw(st.lists(st.one_of(any_text, st.sampled_from(["", " ", "\n\t"]), scalars), max_size=3))
    elif op == "prefill":
        text = draw(st.sampled_from(["Sure ", "{", "(A", "  ", "", "ok\n", "x"]))
        content = text if draw(st.booleans()) else [{"type": "text", "text": text}]
        body["messages"] = messages + [{"role": "assistant", "content": content}]
    elif op == "server_pause":
        call = {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "x"}}
        body["messages"] = messages + [{"role": "assistant", "content": [call]}]
    elif op == "tool_ids":
        ids = [p for p in paths(body) if p and p[-1] in ("id", "tool_use_id")]
        if ids:
            put(body, choose(draw, ids), draw(st.one_of(any_text, scalars)))
        elif len(messages) > 1:
            body["messages"] = messages[:-1]
    elif op == "tool_choice":
        body["tool_choice"] = draw(st.one_of(
            st.fixed_dictionaries({"type": st.sampled_from(["auto", "any", "tool", "none", "bogus"])},
                                  optional={"name": st.one_of(st.sampled_from(["get_weather", "web_search", "nope"]), scalars),
                                            "disable_parallel_tool_use": scalars}),
            values,
        ))
    elif op == "tools":
        schema = draw(st.one_of(
            st.fixed_dictionaries({"type": st.sampled_from(["object", "string", "array"])},
                                  optional={"properties": json_values, "required": json_values, "minItems": numbers,
                                            "$ref": st.sampled_from(["#", "#/", "#/properties", "#/defs/x", "x"])}),
            values,
        ))
        tool = {"name": draw(st.sampled_from(["get_weather", "lookup", ""])), "input_schema": schema}
        body["tools"] = [tool] + (body.get("tools") if isinstance(body.get("tools"), list) else [])
        body["tool_choice"] = {"type": draw(st.sampled_from(["any", "tool", "auto"])), "name": tool["name"]}
        if body["tool_choice"]["type"] != "tool":
            del body["tool_choice"]["name"]
    elif op == "thinking":
        body["thinking"] = draw(st.fixed_dictionaries(
            {"type": st.sampled_from(["enabled", "adaptive", "disabled", "between_tools", "on"])},
            optional={"budget_tokens": numbers, "display": st.one_of(st.sampled_from(["summarized", "omitted"]), scalars)},
        ))
    elif op == "output_config":
        body["output_config"] = draw(st.fixed_dictionaries({}, optional={
            "effort": st.one_of(st.sampled_from(["low", "medium", "high", "xhigh", "max", "extreme"]), scalars),
            "format": st.one_of(st.fixed_dictionaries({"type": st.just("json_schema")}, optional={"schema": values}), values),
        }))
    elif op == "sampling":
        for name in draw(st.lists(st.sampled_from(["temperature", "top_p", "top_k"]), min_size=1, unique=True)):
            body[name] = draw(st.one_of(st.sampled_from([0, 0.5, 1, 1.5, -0.1, True, 40, -1]), scalars))
        if draw(st.booleans()):  # the older API version still takes sampling parameters
            state.headers = dict(state.headers, **{"anthropic-version": LEGACY_VERSION})
    elif op == "system":
        body["system"] = draw(st.one_of(
            st.sampled_from(["", "Be brief.", [], [{"type": "text", "text": ""}], [{"type": "text"}], [{"type": "image"}]]),
            st.lists(blocks(), max_size=2),
            values,
        ))
    elif op == "long_prompt":  # over the context window of the prefill model (200k tokens)
        body["model"] = PREFILL_MODEL
        body["messages"] = [{"role": "user", "content": "word " * 201_000}]


STRUCTURAL = ("drop", "retype", "add_unknown", "empty", "number", "deep", "big")
SEMANTIC = (
    "role", "model", "max_tokens", "block", "turns", "stop", "prefill", "server_pause", "tool_ids", "tool_choice",
    "tools", "thinking", "output_config", "sampling", "system", "long_prompt",
)


def mutate(draw, state: Mutated) -> None:
    op = choose(draw, STRUCTURAL + STRUCTURAL[:3] + SEMANTIC)
    state.notes.append(op)
    if op in STRUCTURAL:
        _structural(draw, state, op)
    else:
        _semantic(draw, state, op)


@st.composite
def mutated_bodies(draw, templates: dict, required: tuple[str, ...]) -> Mutated:
    name = choose(draw, sorted(templates))
    body, headers = templates[name]
    state = Mutated(copy.deepcopy(body), headers)
    state.notes.append(name)
    for _ in range(draw(st.integers(1, 3))):
        mutate(draw, state)
    if draw(st.integers(0, 19)) == 13:  # a top-level field the API does not know (rarely: it masks the rest)
        state.body["fuzz_" + draw(st.text(max_size=5))] = draw(json_values)
    # Whatever else happened, these requests cannot succeed.
    state.must_fail = (
        any(name not in state.body for name in required)
        or state.body.get("model") in RETIRED_IDS
        or any(str(name).startswith("fuzz_") for name in state.body)
    )
    state.raw = state.encode()
    return state


# --- what every answer must look like ------------------------------------------------------------------------------

RESULTS: Counter = Counter()


def check_error(status: int, headers: dict[str, str], body: bytes) -> None:
    assert 400 <= status <= 499, (status, body[:500])
    assert headers.get("content-type", "").startswith("application/json"), headers
    payload = json.loads(body)
    assert isinstance(payload, dict) and set(payload) == {"type", "error", "request_id"}, payload
    assert payload["type"] == "error"
    error = payload["error"]
    assert isinstance(error, dict) and isinstance(error.get("type"), str), payload
    assert isinstance(error.get("message"), str) and error["message"].strip(), payload
    assert set(error) <= {"type", "message", "details"}, payload
    if "details" in error:  # SDK 2.17: the cause, which the SDK maps to its own exception class
        assert set(error["details"]) == {"error_code"} and isinstance(error["details"]["error_code"], str), payload
    assert ERROR_STATUS.get(error["type"]) == status, (status, error)
    assert isinstance(payload["request_id"], str) and REQUEST_ID.match(payload["request_id"]), payload
    assert headers.get("request-id") == payload["request_id"], (headers, payload)


def check_success(route: str, body: bytes) -> None:
    payload = json.loads(body)
    if route == "messages":
        message = anthropic.types.Message.model_validate(payload)
        assert message.type == "message" and message.role == "assistant"
        assert catalog.lookup(message.model) is not None, message.model
    elif route == "count_tokens":
        count = anthropic.types.MessageTokensCount.model_validate(payload)
        assert count.input_tokens >= 0
    elif route == "model":
        anthropic.types.ModelInfo.model_validate(payload)
    elif route == "files":
        if "data" in payload:  # a list: the GA shape, or the beta one
            assert set(payload) in ({"data", "next_page"}, {"data", "first_id", "last_id", "has_more"}), payload
            for entry in payload["data"]:
                anthropic.types.FileMetadata.model_validate(entry)
        elif payload.get("type") == "file_deleted":
            anthropic.types.DeletedFile.model_validate(payload)
        else:
            anthropic.types.FileMetadata.model_validate(payload)
    else:
        assert set(payload) >= {"data", "first_id", "last_id", "has_more"}, payload
        for entry in payload["data"]:
            anthropic.types.ModelInfo.model_validate(entry)


def check_stream(headers: dict[str, str], chunks: Any) -> None:
    assert headers["content-type"].startswith("text/event-stream"), headers
    assert REQUEST_ID.match(headers["request-id"]), headers
    events = []
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for frame in filter(None, text.split("\n\n")):
            kind, data = frame.split("\n", 1)
            assert kind.startswith("event: ") and data.startswith("data: "), frame
            events.append(json.loads(data[len("data: "):])["type"])
    assert events and events[0] == "message_start" and events[-1] == "message_stop", events


def route_of(method: str, target: str) -> str:
    try:
        path = urlsplit(target).path.rstrip("/")
    except ValueError:
        return "none"
    if path == "/v1/messages/count_tokens":
        return "count_tokens"
    if path.startswith("/v1/models/"):
        return "model"
    if path == "/v1/models":
        return "models"
    if path == "/v1/files" or path.startswith("/v1/files/"):
        return "files"
    return "messages"


def call(method: str, target: str, headers: dict[str, str], body: bytes, *, must_fail: bool = False, note: Any = None) -> None:
    """Send one request to ``app.handle`` and check the answer's shape."""
    try:
        outcome = app.handle(method, target, headers, body)
    except BaseException as exc:  # the backend must never raise
        raise AssertionError(f"handle raised {type(exc).__name__}: {exc!r} for {method} {target} {note}") from exc
    RESULTS["requests"] += 1
    if isinstance(outcome, app.Stream):
        assert not must_fail, (note, body[:300])
        RESULTS["stream"] += 1
        check_stream(outcome.headers, outcome.chunks)
        return
    assert isinstance(outcome, app.Reply), (outcome, note)
    if outcome.status == 200:
        assert not must_fail, (note, body[:300], outcome.body[:300])
        RESULTS["200"] += 1
        check_success(route_of(method, target), outcome.body)
        assert REQUEST_ID.match(outcome.headers["request-id"])
        return
    RESULTS[str(outcome.status)] += 1
    check_error(outcome.status, outcome.headers, outcome.body)


def run_counted(test: Callable[[], None], expected: int) -> None:
    """Run a hypothesis test and check that it really sent ``expected`` requests."""
    before = RESULTS["requests"]
    test()
    assert RESULTS["requests"] - before >= expected


# --- the valid starting points really are valid ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_are_valid(name):
    body, headers = TEMPLATES[name]
    outcome = app.handle("POST", "/v1/messages", headers, json.dumps(body).encode())
    if body.get("stream"):
        assert isinstance(outcome, app.Stream)
        check_stream(outcome.headers, outcome.chunks)
    else:
        assert outcome.status == 200, outcome.body
        check_success("messages", outcome.body)


@pytest.mark.parametrize("name", sorted(COUNT_TEMPLATES))
def test_count_templates_are_valid(name):
    body, headers = COUNT_TEMPLATES[name]
    outcome = app.handle("POST", "/v1/messages/count_tokens", headers, json.dumps(body).encode())
    assert outcome.status == 200, outcome.body
    check_success("count_tokens", outcome.body)


# --- in-process fuzzing -------------------------------------------------------------------------------------------


@fuzz_settings(BODY_EXAMPLES)
@given(mutated_bodies(TEMPLATES, ("model", "max_tokens", "messages")))
def _fuzz_create_bodies(case):
    call("POST", "/v1/messages", case.headers, case.raw, must_fail=case.must_fail, note=case.notes)


def test_create_bodies_answer_api_errors():
    run_counted(_fuzz_create_bodies, BODY_EXAMPLES)


@fuzz_settings(COUNT_TOKENS_EXAMPLES)
@given(mutated_bodies(COUNT_TEMPLATES, ("model", "messages")))
def _fuzz_count_tokens_bodies(case):
    call("POST", "/v1/messages/count_tokens", case.headers, case.raw, must_fail=case.must_fail, note=case.notes)


def test_count_tokens_bodies_answer_api_errors():
    run_counted(_fuzz_count_tokens_bodies, COUNT_TOKENS_EXAMPLES)


SIMPLE = json.dumps(TEMPLATES["simple"][0])


@st.composite
def raw_bodies(draw) -> tuple[bytes, bool]:
    """Bytes that are not a JSON object at all, or barely one."""
    kind = draw(st.sampled_from((
        "binary", "non_object", "truncated", "garbage", "deep", "encoding", "surrogate", "nan", "duplicate",
    )))
    if kind == "binary":
        return draw(st.binary(max_size=200)), False
    if kind == "non_object":
        value = draw(st.one_of(scalars, st.lists(json_values, max_size=3)))
        return json.dumps(value).encode(), True
    if kind == "truncated":
        cut = draw(st.integers(0, len(SIMPLE) - 1))
        return SIMPLE[:cut].encode(), True
    if kind == "garbage":
        at = draw(st.integers(0, len(SIMPLE)))
        junk = draw(st.sampled_from([b"\x00", b"}", b"{", b",", b"'", b"\\", b"\xff", b"\xc3", b"\xed\xa0\x80", b"//"]))
        return SIMPLE[:at].encode() + junk + SIMPLE[at:].encode(), False
    if kind == "deep":
        depth = draw(st.sampled_from([100, 128, 129, 500, 999, 1000, 1001, 5000, 200_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"messages":[', "]}")]))
        return (opener * depth + "0" + closer * depth).encode(), True
    if kind == "encoding":
        codec = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig", "cp1252"]))
        text = SIMPLE.replace("France", draw(st.sampled_from(["Fränce", "Фра́нция", "フランス", "France\U0001f1eb"])))
        try:
            return text.encode(codec), False
        except UnicodeEncodeError:
            return text.encode("utf-8"), False
    if kind == "surrogate":
        lone = draw(st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "\\udc00x", "\\ud800\\ud800"]))
        where = draw(st.sampled_from(["France", "user", DEFAULT_MODEL, "messages"]))
        return SIMPLE.replace(where, lone + where, 1).encode(), False
    if kind == "nan":
        return SIMPLE.replace("256", draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "0x10", "-"]))).encode(), True
    # duplicate keys: JSON parsers keep the last one
    extra = json.dumps(draw(json_values))
    return (SIMPLE[:-1] + ', "max_tokens": ' + extra + "}").encode(), False


@fuzz_settings(RAW_EXAMPLES)
@given(raw_bodies(), st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]))
def _fuzz_raw_bodies(case, target):
    raw, must_fail = case
    call("POST", target, GOOD_HEADERS, raw, must_fail=must_fail, note=raw[:80])


def test_raw_bodies_answer_api_errors():
    run_counted(_fuzz_raw_bodies, RAW_EXAMPLES)


header_values = st.one_of(
    st.sampled_from(["", " ", "Bearer", "Bearer ", "Bearer  \t", "bearer x", "Basic abc", "\x00"]),
    st.text(max_size=30),
)


@st.composite
def header_sets(draw) -> tuple[dict[str, str], bool]:
    headers = dict(GOOD_HEADERS)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("drop_auth", "auth", "api_key", "drop_version", "version", "upper", "junk")))
        if op == "drop_auth":
            headers.pop("authorization", None)
            headers.pop("x-api-key", None)
        elif op == "auth":
            headers["authorization"] = draw(header_values)
        elif op == "api_key":
            headers.pop("authorization", None)
            headers["x-api-key"] = draw(header_values)
        elif op == "drop_version":
            headers.pop("anthropic-version", None)
        elif op == "version":
            version = draw(st.one_of(
                st.sampled_from(["", "2023-01-01", "2026-10-22", " 2026-10-21", "2026-10-21\n", "latest", LEGACY_VERSION]),
                st.text(max_size=12),
            ))
            headers["anthropic-version"] = version
        elif op == "upper":  # handle() takes lower-case names: upper-case ones count as missing
            for name in ("authorization", "anthropic-version"):
                if name in headers:
                    headers[name.title()] = headers.pop(name)
        else:
            headers[draw(st.text(min_size=1, max_size=10))] = draw(st.text(max_size=10))
    no_key = "authorization" not in headers and "x-api-key" not in headers
    bad_version = headers.get("anthropic-version") not in (CURRENT_VERSION, LEGACY_VERSION)
    return headers, no_key or bad_version


@fuzz_settings(HEADER_EXAMPLES)
@given(
    header_sets(),
    st.sampled_from(["/v1/messages", "/v1/messages/count_tokens", "/v1/models", f"/v1/models/{DEFAULT_MODEL}"]),
)
def _fuzz_headers(case, target):
    headers, must_fail = case
    method = "GET" if target.startswith("/v1/models") else "POST"
    body = b"" if method == "GET" else json.dumps(
        TEMPLATES["simple"][0] if target == "/v1/messages" else COUNT_TEMPLATES["simple"][0]
    ).encode()
    call(method, target, headers, body, must_fail=must_fail, note=headers)


def test_headers_answer_api_errors():
    run_counted(_fuzz_headers, HEADER_EXAMPLES)


KNOWN_TARGETS = (
    "/v1/messages", "/v1/messages/", "/v1/messages/count_tokens", "/v1/models", "/v1/models/", f"/v1/models/{DEFAULT_MODEL}",
)
targets = st.one_of(
    st.sampled_from(KNOWN_TARGETS),
    st.sampled_from([
        "", "/", "?", "#", "/v1", "/v2/messages", "/v1/message", "/v1/messages/batches", "/V1/MESSAGES",
        "/v1/messages/count_tokens/x", "//[bad/v1/messages", "//host/v1/x", "/v1/messages?beta=true",
        "/v1/messages%2Fcount_tokens", "/v1/models/%00", "/v1/models/../messages", "http://[::1/v1/messages",
    ]),
    st.tuples(st.sampled_from(KNOWN_TARGETS), st.text(max_size=15)).map(lambda t: t[0] + t[1]),
    st.text(max_size=30),
)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "post", "Get", ""]),
    st.text(max_size=8),
)


@fuzz_settings(ROUTE_EXAMPLES)
@given(methods, targets)
def _fuzz_routes(method, target):
    body = json.dumps(TEMPLATES["simple"][0]).encode()
    unknown = "/v1/m" not in target or method.upper() not in ("GET", "POST")
    call(method, target, GOOD_HEADERS, body, must_fail=unknown, note=(method, target))


def test_routes_answer_api_errors():
    run_counted(_fuzz_routes, ROUTE_EXAMPLES)


query_values = st.one_of(
    st.integers(-5, 1500).map(str),
    st.sampled_from(["", "abc", "1.5", "1e3", " 5", "0x10", "٣", "1_0", "9" * 5000, "-0"]),
    st.sampled_from(AVAILABLE_IDS + RETIRED_IDS),
    st.text(max_size=10),
)


@st.composite
def model_targets(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        model_id = draw(st.one_of(st.sampled_from(AVAILABLE_IDS + RETIRED_IDS), st.text(max_size=20)))
        return "/v1/models/" + draw(st.sampled_from([model_id, quote(model_id, safe="")]))
    names = st.sampled_from(["limit", "after_id", "before_id", "lifecycle", "lifecycle[]", "beta", ""])
    pairs = draw(st.lists(st.tuples(names, query_values), max_size=4))
    if draw(st.booleans()):
        return "/v1/models?" + urlencode(pairs)
    return "/v1/models?" + "&".join(f"{k}={v}" for k, v in pairs)  # not even URL-encoded


@fuzz_settings(MODELS_EXAMPLES)
@given(model_targets())
def _fuzz_models(target):
    call("GET", target, GOOD_HEADERS, b"", note=target)


def test_models_answer_api_errors():
    run_counted(_fuzz_models, MODELS_EXAMPLES)


# --- the Files API: multipart uploads, its routes, and file sources in messages --------------------------------------

BOUNDARY = "fuzz-boundary-7d1"
UPLOADED: list[str] = []  # ids of files uploaded for the run, which the generated requests may name
file_contents = st.one_of(
    st.sampled_from([b"", b"The grass is green. The sky is blue.", b"%PDF-1.4\n%%EOF\n", b"\x89PNG\r\n\x1a\n",
                     b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "Fränce".encode("utf-16")]),
    st.binary(max_size=64),
)
filenames = st.one_of(st.none(), st.sampled_from(["a.txt", "dir/sub/x.pdf", "C:\\x\\y.png", "", "a|b", "why?",
                                                   "x" * 300, "名前.txt", "..", "a b.txt"]), st.text(max_size=12))
part_types = st.one_of(st.none(), st.sampled_from(["text/plain", "application/pdf", "image/png",
                                                   "application/octet-stream", "", "text/plain; charset=utf-8"]),
                       st.text(max_size=12))
expiries = st.one_of(st.none(), st.sampled_from(["3600", "3599", "7776000", "7776001", "", "abc", "-1", "9" * 40,
                                                 "1e4", " 3600"]))


def _part(name: str, content: bytes, filename: Any = None, mime: Any = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"Content-Disposition: {disposition}\r\n" + (f"Content-Type: {mime}\r\n" if mime is not None else "")
    return f"--{BOUNDARY}\r\n".encode() + head.encode("utf-8", "surrogatepass") + b"\r\n" + content + b"\r\n"


@st.composite
def uploads(draw) -> tuple[dict[str, str], bytes]:
    body = b""
    if draw(st.integers(0, 9)):
        body += _part("file", draw(file_contents), draw(filenames), draw(part_types))
    expiry = draw(expiries)
    if expiry is not None:
        body += _part("expires_in_seconds", expiry.encode())
    if not draw(st.integers(0, 9)):
        body += _part(draw(st.sampled_from(["purpose", "file", "", "x"])), b"extra")
    body += f"--{BOUNDARY}--\r\n".encode()
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "junk", "no_type", "other_type", "no_boundary"]))
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    if cut == "truncate":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif cut == "junk":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    elif cut == "no_type":
        content_type = ""
    elif cut == "other_type":
        content_type = draw(st.sampled_from(["application/json", "text/plain", "multipart/mixed; boundary=x"]))
    elif cut == "no_boundary":
        content_type = "multipart/form-data"
    headers = dict(GOOD_HEADERS, **({"content-type": content_type} if content_type else {}))
    return headers, body


file_ids = st.one_of(st.integers(0, 3).map(lambda i: UPLOADED[i] if i < len(UPLOADED) else "file_01unknown"),
                     st.text(max_size=12), st.sampled_from(["", "file_", "../files", "%00"]))


@st.composite
def file_requests(draw) -> tuple[str, str, dict[str, str], bytes]:
    kind = draw(st.sampled_from(("upload", "upload", "list", "one", "message", "message")))
    if kind == "upload":
        headers, body = draw(uploads())
        return "POST", "/v1/files", headers, body
    if kind == "list":
        names = st.sampled_from(["limit", "page", "ids[]", "ids", "scope_id", "after_id", "before_id", "beta"])
        values = st.one_of(query_values, file_ids, st.sampled_from(["page_", "page_ZmlsZXM6MQ", "page_!!"]))
        pairs = draw(st.lists(st.tuples(names, values), max_size=4))
        beta = {"anthropic-beta": files.BETA} if draw(st.booleans()) else {}
        return "GET", "/v1/files?" + urlencode(pairs), dict(GOOD_HEADERS, **beta), b""
    if kind == "one":
        method = draw(st.sampled_from(["GET", "DELETE", "POST", "PUT"]))
        suffix = draw(st.sampled_from(["", "/content", "/content/x", "/"]))
        return method, "/v1/files/" + quote(draw(file_ids), safe="") + suffix, GOOD_HEADERS, b""
    source = draw(st.one_of(
        st.builds(lambda file_id: {"type": "file", "file_id": file_id}, file_ids),
        st.sampled_from([{"type": "file"}, {"type": "file", "file_id": 7}, {"type": "file", "file_id": None},
                         {"type": "file", "file_id": "file_01unknown", "media_type": "application/pdf"}]),
    ))
    block = {"type": draw(st.sampled_from(["document", "image"])), "source": source}
    if draw(st.booleans()):
        block["citations"] = draw(st.sampled_from([{"enabled": True}, {"enabled": "yes"}, {"other": 1}, None, 3]))
    content = [block, {"type": "text", "text": "What is in it?"}]
    if draw(st.booleans()):  # in a tool result, as a tool may return a document
        use = {"type": "tool_use", "id": "toolu_01fuzz", "name": "get_weather", "input": {"city": "Paris"}}
        messages = [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": [use]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01fuzz",
                                                  "content": [block]}, content[1]]}]
        body = {"model": DEFAULT_MODEL, "max_tokens": 64, "messages": messages, "tools": [WEATHER_TOOL]}
    else:
        body = {"model": DEFAULT_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": content}]}
    target = draw(st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]))
    if target.endswith("count_tokens"):
        body.pop("max_tokens")
    return "POST", target, GOOD_HEADERS, json.dumps(body).encode()


@fuzz_settings(FILES_EXAMPLES)
@given(file_requests())
def _fuzz_files(request):
    method, target, headers, body = request
    call(method, target, headers, body, note=(method, target, body[:200]))


def _upload_fixtures() -> None:
    UPLOADED.clear()
    for content, name in ((b"The grass is green.", "notes.txt"), (b"%PDF-1.4\n%%EOF\n", "empty.pdf"),
                          (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "dot.gif")):
        body = _part("file", content, name) + f"--{BOUNDARY}--\r\n".encode()
        headers = dict(GOOD_HEADERS, **{"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
        outcome = app.handle("POST", "/v1/files", headers, body)
        assert outcome.status == 200, outcome.body
        UPLOADED.append(json.loads(outcome.body)["id"])


def test_files_requests_answer_api_errors():
    files.forget()
    _upload_fixtures()
    try:
        run_counted(_fuzz_files, FILES_EXAMPLES)
    finally:
        files.forget()


# --- the same over a real loopback socket -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loopback():
    with running() as url:
        with httpx2.Client(base_url=url, timeout=30) as client:
            yield client


@st.composite
def wire_requests(draw) -> tuple[str, str, dict[str, str], bytes]:
    kind = draw(st.sampled_from(("create", "create", "count", "raw", "headers", "models")))
    if kind == "create":
        case = draw(mutated_bodies(TEMPLATES, ("model", "max_tokens", "messages")))
        return "POST", "/v1/messages", case.headers, case.raw
    if kind == "count":
        case = draw(mutated_bodies(COUNT_TEMPLATES, ("model", "messages")))
        return "POST", "/v1/messages/count_tokens", case.headers, case.raw
    if kind == "raw":
        return "POST", "/v1/messages", GOOD_HEADERS, draw(raw_bodies())[0]
    if kind == "headers":
        headers, _ = draw(header_sets())
        wire = {k: v.encode("latin-1") for k, v in headers.items() if _header_ok(k, v) and k.lower() not in HOP_HEADERS}
        return "POST", "/v1/messages", wire, json.dumps(TEMPLATES["simple"][0]).encode()
    return "GET", draw(model_targets()), GOOD_HEADERS, b""


HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade", "te", "keep-alive", "trailer"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def _header_ok(name: str, value: str) -> bool:
    """Whether a header can travel over HTTP/1.1 at all (a token name; a latin-1 value on one line)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return bool(_TOKEN.match(name)) and not any(c in value for c in "\r\n\x00") and value == value.strip()


def _wire_target(target: str) -> str:
    return quote(target, safe="/?&=%[]:")


@fuzz_settings(LOOPBACK_EXAMPLES)
@given(wire_requests())
def _fuzz_loopback(client: httpx2.Client, request):
    method, target, headers, body = request
    response = client.request(method, _wire_target(target), headers=headers, content=body)
    RESULTS["requests"] += 1
    lowered = {k.lower(): v for k, v in response.headers.items()}
    if response.status_code == 200 and lowered.get("content-type", "").startswith("text/event-stream"):
        check_stream(lowered, [response.content])
    elif response.status_code == 200:
        check_success(route_of(method, target), response.content)
    else:
        check_error(response.status_code, lowered, response.content)


def test_loopback_answers_api_errors(loopback):
    run_counted(lambda: _fuzz_loopback(loopback), LOOPBACK_EXAMPLES)
