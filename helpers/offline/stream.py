"""A Message as the API streams it: server-sent events in the documented order.

message_start, then per block content_block_start / deltas / content_block_stop
(a ping after the first block starts), then message_delta with the stop reason
and cumulative usage, then message_stop. Streaming the events of a message and
accumulating them gives back the same message.

A thinking block starts empty, sends its displayed text in ``thinking_delta`` events
(none when the display is omitted: the text is not sent at all), then its signature
in one ``signature_delta`` just before the block stops
(https://platform.claude.com/docs/en/build-with-claude/streaming). A cited text block sends each of its
citations in a ``citations_delta`` event after its text, which the SDK appends to the block's ``citations``
(https://platform.claude.com/docs/en/build-with-claude/citations).
"""

from __future__ import annotations

import itertools
import json
from typing import Iterator, Optional

from . import tokens

TEXT_TOKENS_PER_DELTA = 3
JSON_CHARS_PER_DELTA = 24


def _message_start(message: dict) -> dict:
    usage = dict(message["usage"], output_tokens=1, output_tokens_details=None)
    usage["server_tool_use"] = None
    start = dict(message, content=[], stop_reason=None, stop_sequence=None, stop_details=None, usage=usage)
    return {"type": "message_start", "message": start}


def _text_deltas(text: str) -> Iterator[dict]:
    pieces = tokens.pieces(text)
    for at in range(0, len(pieces), TEXT_TOKENS_PER_DELTA):
        yield {"type": "text_delta", "text": "".join(pieces[at: at + TEXT_TOKENS_PER_DELTA])}


def _json_deltas(value: dict) -> Iterator[dict]:
    encoded = json.dumps(value, ensure_ascii=False)
    for at in range(0, len(encoded), JSON_CHARS_PER_DELTA):
        yield {"type": "input_json_delta", "partial_json": encoded[at: at + JSON_CHARS_PER_DELTA]}


def _thinking_deltas(block: dict) -> Iterator[dict]:
    for delta in _text_deltas(block["thinking"]):
        yield {"type": "thinking_delta", "thinking": delta["text"]}
    yield {"type": "signature_delta", "signature": block["signature"]}


def _block_events(index: int, block: dict) -> Iterator[dict]:
    if block["type"] == "text":
        yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
        deltas = _text_deltas(block["text"])
        if block.get("citations"):  # each citation after the text it supports, one event each
            citations = ({"type": "citations_delta", "citation": c} for c in block["citations"])
            deltas = itertools.chain(deltas, citations)
    elif block["type"] == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        yield {"type": "content_block_start", "index": index, "content_block": start}
        deltas = _thinking_deltas(block)
    elif "input" in block:
        yield {"type": "content_block_start", "index": index, "content_block": dict(block, input={})}
        deltas = _json_deltas(block["input"])
    else:  # a server tool's result comes whole in its start event, with no deltas
        yield {"type": "content_block_start", "index": index, "content_block": block}
        deltas = iter(())
    if index == 0:
        yield {"type": "ping"}
    for delta in deltas:
        yield {"type": "content_block_delta", "index": index, "delta": delta}
    yield {"type": "content_block_stop", "index": index}


def events(message: dict) -> Iterator[dict]:
    yield _message_start(message)
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block)
    usage = message["usage"]
    yield {
        "type": "message_delta",
        "delta": {
            "stop_reason": message["stop_reason"],
            "stop_sequence": message["stop_sequence"],
            "stop_details": message["stop_details"],
        },
        "usage": {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "output_tokens": usage["output_tokens"],
            "output_tokens_details": usage["output_tokens_details"],
            "server_tool_use": usage["server_tool_use"],
        },
    }
    yield {"type": "message_stop"}


def encode(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def sse(message: dict, *, fail_after: Optional[int] = None, error: Optional[dict] = None) -> Iterator[bytes]:
    """The encoded stream; with ``fail_after``, an ``error`` event replaces the rest after that many deltas."""
    deltas = 0
    for event in events(message):
        # The error comes after ``fail_after`` content deltas, and at the latest in place of message_delta.
        if fail_after is not None and (event["type"] == "message_delta" or (event["type"] == "content_block_delta" and deltas >= fail_after)):
            yield encode(error)
            return
        if event["type"] == "content_block_delta":
            deltas += 1
        yield encode(event)
