"""Shared pieces of the contract tests: the ``Api`` wrapper, an attempt counter, request builders.

``Api`` drives one SDK client (sync or async) with plain calls: when the client is
async, it runs the coroutine on the session's event loop, so one test body covers both.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any, Callable, Optional

import anthropic
from anthropic import Middleware

from helpers import DEFAULT_MODEL, catalog
from helpers.offline import tokens
from helpers.offline.replies import normalise, texts

LOOPBACK_KEY = "kit-loopback-test-key"
ID_SHAPE = re.compile(r"^(msg|req|toolu)_[0-9A-Za-z]+$")
VARIANTS = ("sync-inprocess", "async-inprocess", "sync-loopback", "async-loopback")


class Api:
    """One SDK client plus the few calls the tests need, the same for sync and async clients."""

    def __init__(self, client: Any, *, variant: str, loop: asyncio.AbstractEventLoop):
        self.client = client
        self.variant = variant
        self.is_async = variant.startswith("async")
        self.loopback = variant.endswith("loopback")
        self.loop = loop

    def __repr__(self) -> str:
        return f"Api({self.variant})"

    # -- plumbing ---------------------------------------------------------------
    def run(self, value: Any) -> Any:
        """``value`` itself, or its result when it is awaitable (async client)."""
        if inspect.isawaitable(value):
            return self.loop.run_until_complete(value)
        return value

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.run(method(*args, **kwargs))

    def derive(self, **options: Any) -> "Api":
        """The same kind of client with other SDK options (``client.with_options``)."""
        return Api(self.client.with_options(**options), variant=self.variant, loop=self.loop)

    def with_middleware(self, *middleware: Any, **options: Any) -> "Api":
        return self.derive(middleware=[*self.client.middleware, *middleware], **options)

    # -- Messages API -------------------------------------------------------------
    def create(self, **params: Any) -> anthropic.types.Message:
        return self.call(self.client.messages.create, **params)

    def create_raw(self, **params: Any) -> tuple[Any, anthropic.types.Message]:
        """``(http_response, parsed Message)`` via ``messages.with_raw_response``."""
        raw = self.call(self.client.messages.with_raw_response.create, **params)
        return raw.http_response, self.run(raw.parse())

    def post(self, path: str, body: Any) -> Any:
        """The SDK's low-level POST: any JSON body, the same typed errors."""
        return self.call(self.client.post, path, body=body, cast_to=object)

    def count_tokens(self, **params: Any) -> int:
        return self.call(self.client.messages.count_tokens, **params).input_tokens

    def stream_events(self, **params: Any) -> list[Any]:
        """Every event ``messages.create(stream=True)`` yields, in order."""
        if not self.is_async:
            with self.client.messages.create(stream=True, **params) as events:
                return list(events)

        async def collect() -> list[Any]:
            events = await self.client.messages.create(stream=True, **params)
            async with events:
                return [event async for event in events]

        return self.run(collect())

    def stream_final(self, **params: Any) -> anthropic.types.Message:
        """``messages.stream(...).get_final_message()``."""
        if not self.is_async:
            with self.client.messages.stream(**params) as stream:
                return stream.get_final_message()

        async def final() -> anthropic.types.Message:
            async with self.client.messages.stream(**params) as stream:
                return await stream.get_final_message()

        return self.run(final())

    def stream_text_until_error(self, **params: Any) -> tuple[str, Optional[BaseException]]:
        """The text received through ``messages.stream(...).text_stream`` and the error that ended it, if any."""
        received: list[str] = []
        if not self.is_async:
            try:
                with self.client.messages.stream(**params) as stream:
                    for text in stream.text_stream:
                        received.append(text)
            except anthropic.APIError as err:
                return "".join(received), err
            return "".join(received), None

        async def consume() -> tuple[str, Optional[BaseException]]:
            try:
                async with self.client.messages.stream(**params) as stream:
                    async for text in stream.text_stream:
                        received.append(text)
            except anthropic.APIError as err:
                return "".join(received), err
            return "".join(received), None

        return self.run(consume())

    # -- Models API ---------------------------------------------------------------
    def list_models(self, **params: Any) -> list[Any]:
        """Every model, following pages with the SDK's auto-pagination."""
        if not self.is_async:
            return list(self.client.models.list(**params))

        async def collect() -> list[Any]:
            return [model async for model in self.client.models.list(**params)]

        return self.run(collect())

    def first_page(self, **params: Any) -> Any:
        return self.run(self.client.models.list(**params))


class Attempts(Middleware):
    """Records each HTTP attempt the SDK makes (the middleware chain runs once per attempt).

    ``retry_counts`` holds the ``x-stainless-retry-count`` header of every request that got
    an HTTP response; ``statuses`` their status codes; ``tries`` the SDK's own attempt number
    for every attempt, including those that ended in a network error.
    """

    def __init__(self) -> None:
        self.tries: list[int] = []
        self.retry_counts: list[str] = []
        self.statuses: list[int] = []

    def _record(self, response: Any) -> Any:
        self.retry_counts.append(response.http_request.headers.get("x-stainless-retry-count"))
        self.statuses.append(response.status_code)
        return response

    def handle(self, request, call_next):
        self.tries.append(request.retries_taken)
        return self._record(call_next(request))

    async def handle_async(self, request, call_next):
        self.tries.append(request.retries_taken)
        return self._record(await call_next(request))


# -- request builders ---------------------------------------------------------------

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location.",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "description": "Get the current local time in a given timezone.",
    "input_schema": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": ["timezone"],
    },
}
WEATHER_QUESTION = "What's the weather like in Paris today?"
ANT_QUESTION = "What is latin for Ant? (A) Apoidea, (B) Rhopalocera, (C) Formicidae"
"""Lesson 04's own question, which has a written reply (other questions get the kit's placeholder)."""
HELLO = "Hello! Please introduce yourself."
NO_THINKING = {"thinking": {"type": "disabled"}}
"""For tests of how text is cut: the default model thinks by default, and thinking uses max_tokens first."""


def user(content: Any) -> dict:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict:
    return {"role": "assistant", "content": content}


def params(*messages: dict, model: str = DEFAULT_MODEL, max_tokens: int = 1024, **extra: Any) -> dict:
    """Keyword arguments for ``messages.create``; one user "hello" turn unless messages are given."""
    return {"model": model, "max_tokens": max_tokens, "messages": list(messages) or [user(HELLO)], **extra}


def trigger(kind: str, category: Optional[str] = None) -> str:
    """A prompt carrying one of the trigger markers from ``texts.json``."""
    marker = texts()["triggers"][kind]
    return f"Please answer this. {marker}{':' + category if category else ''}"


def reply_entry(prompt: str) -> dict:
    """The ``texts.json`` reply entry that answers ``prompt`` (matched whole, as the backend does)."""
    return next(e for e in texts()["replies"] if normalise(prompt) in map(normalise, e["prompts"]))


def pieces(text: str, model: str = DEFAULT_MODEL) -> list[str]:
    """``text`` cut into the offline tokens of ``model``'s tokenizer family (a catalog fact)."""
    return tokens.pieces(text, catalog.get(model).tokenizer)


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


# -- assertions ---------------------------------------------------------------------


def check_error(err: anthropic.APIStatusError, status: int, error_type: str, message: Optional[str] = None) -> None:
    """The documented error shape: status, body, request id in body, header and exception alike."""
    assert err.status_code == status
    body = err.body
    assert isinstance(body, dict), body
    assert set(body) == {"type", "error", "request_id"}, body
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == error_type
    assert err.type == error_type
    if message is not None:
        assert body["error"]["message"] == message
        assert err.api_message == message
    header = err.response.headers.get("request-id")
    assert header is not None and ID_SHAPE.match(header), header
    assert body["request_id"] == header == err.request_id


def comparable(message: Any) -> dict:
    """A Message as a plain dict without its random ids (message id, tool_use ids), which must differ per call."""
    dumped = message.model_dump(mode="json", exclude_none=False)
    dumped.pop("id")
    for block in dumped["content"]:
        if block.get("type") in ("tool_use", "server_tool_use"):
            block_id = block.pop("id")
            assert block["type"] != "tool_use" or ID_SHAPE.match(block_id), block_id
        block.pop("parsed_output", None)  # only on ParsedMessage from the stream helper
    return dumped
