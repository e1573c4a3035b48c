"""The offline Messages API: one function from an HTTP request to what the API would do.

``handle`` routes, checks headers, meets any injected fault, validates, and answers.
Its outcome is one of ``Reply`` (a complete response), ``Stream`` (server-sent
events), ``Stall`` or ``Drop`` (network failures); the adapters in ``transport.py``
and ``server.py`` turn outcomes into real HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Optional, Union
from urllib.parse import parse_qs, urlsplit

from . import fault_injection as fault_plans
from . import models as model_routes
from . import respond, stream, validate
from .errors import ApiError, error_body
from .ids import new_id
from .wording import say


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Stream:
    headers: dict[str, str]
    chunks: Iterator[bytes]
    status: int = 200


@dataclass
class Stall:
    seconds: float


@dataclass
class Drop:
    pass


Outcome = Union[Reply, Stream, Stall, Drop]


def _json(status: int, payload: dict, request_id: str, extra: Optional[dict] = None) -> Reply:
    headers = {"content-type": "application/json", "request-id": request_id, **(extra or {})}
    return Reply(status, headers, json.dumps(payload, ensure_ascii=False).encode())


def _error(err: ApiError, request_id: str) -> Reply:
    return _json(err.status, error_body(err.error_type, err.message, request_id), request_id, err.headers)


_UNPARSABLE = object()


def _parse(body: bytes) -> object:
    """The JSON body, or ``_UNPARSABLE`` (the error is raised later, after any injected fault)."""
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _UNPARSABLE


def _messages(body: object, version: str, request_id: str, fault: Optional[fault_plans.Fault]) -> Outcome:
    request = validate.check_create(body, version)
    message = respond.message(request)
    if not request.stream:
        return _json(200, message, request_id)
    headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": request_id}
    if fault is not None and fault.kind == "stream_error":
        return Stream(headers, stream.sse(message, fail_after=fault.after_deltas, error=fault.stream_error()))
    return Stream(headers, stream.sse(message))


def _route(method: str, path: str) -> Optional[str]:
    if path == "/v1/messages":
        return "messages" if method == "POST" else None
    if path == "/v1/messages/count_tokens":
        return "count_tokens" if method == "POST" else None
    if path == "/v1/models" or path.startswith("/v1/models/"):
        return "models" if method == "GET" else None
    return None


def handle(method: str, target: str, headers: dict[str, str], body: bytes = b"", *, require_key: bool = True) -> Outcome:
    """Answer one HTTP request as the Messages API would. ``headers`` keys must be lower-case."""
    request_id = new_id("req")
    try:
        url = urlsplit(target)
    except ValueError:  # e.g. "//[x": no path the API serves
        url = urlsplit("/")
    path = url.path.rstrip("/") or "/"
    try:
        route = _route(method.upper(), path)
        if route is None:
            raise ApiError("not_found_error", say("not_found_route"))
        version = validate.check_headers(headers, require_key=require_key)
        parsed = _parse(body) if route != "models" else None
        streaming = route == "messages" and isinstance(parsed, dict) and parsed.get("stream") is True
        fault = fault_plans.take(streaming)
        if fault is not None and fault.kind in fault_plans.STATUS_FAULTS:
            raise fault.error()
        if fault is not None and fault.kind == "timeout":
            return Stall(fault.stall_s)
        if fault is not None and fault.kind == "disconnect":
            return Drop()
        if route == "models":
            return _json(200, model_routes.answer(path, parse_qs(url.query)), request_id)
        if parsed is _UNPARSABLE:
            raise ApiError("invalid_request_error", say("invalid_json"))
        if route == "count_tokens":
            return _json(200, {"input_tokens": validate.check_count_tokens(parsed, version)}, request_id)
        return _messages(parsed, version, request_id, fault)
    except ApiError as err:
        return _error(err, request_id)
    except Exception as bug:  # noqa: BLE001 - answer like the API would, and say whose fault it is
        message = f"Internal server error in the kit's offline backend ({type(bug).__name__}: {bug}); please report it."
        return _error(ApiError("api_error", message), request_id)
