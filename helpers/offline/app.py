"""The offline Messages API: one function from an HTTP request to what the API would do.

``handle`` routes, checks headers, meets any injected fault, validates, and answers.
Its outcome is one of ``Reply`` (a complete response), ``Stream`` (server-sent
events), ``Stall`` or ``Drop`` (network failures); the adapters in ``transport.py``
and ``server.py`` turn outcomes into real HTTP.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterator, Optional, Union
from urllib.parse import parse_qs, urlsplit

from . import fault_injection as fault_plans
from . import models as model_routes
from . import batches, files, rate_limits, respond, stream, validate
from .errors import ApiError, error_body, error_headers
from .ids import new_id
from .wording import say

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest body the Messages and count_tokens endpoints take: 32 MB ("Request size limits",
https://platform.claude.com/docs/en/api/errors). Larger ones get 413 ``request_too_large``,
from Cloudflare, before the API reads them. UNCONFIRMED: whether 32 MB means 2**25 bytes."""


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


_STRICT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)  # json.dumps's defaults otherwise


def strict_json(payload: object) -> str:
    """JSON text with no ``NaN`` or ``Infinity`` (Python writes them by default; no JSON parser reads them)."""
    return _STRICT_ENCODER.encode(payload)


def _json(status: int, payload: dict, request_id: str, extra: Optional[dict] = None) -> Reply:
    headers = {"content-type": "application/json", "request-id": request_id, **(extra or {})}
    return Reply(status, headers, strict_json(payload).encode())


def _error(err: ApiError, request_id: str) -> Reply:
    headers = {**error_headers(err.status), **err.headers}
    return _json(err.status, error_body(err.error_type, err.message, request_id, err.code), request_id, headers)


def body_limit(method: str, target: str) -> int:
    """The largest body a request may have: an upload to the Files API takes a whole file."""
    try:
        path = urlsplit(target).path.rstrip("/")
    except ValueError:  # a target no URL parser reads: no path the API serves
        return MAX_BODY_BYTES
    return files.MAX_UPLOAD_BODY if method.upper() == "POST" and path == "/v1/files" else MAX_BODY_BYTES


def too_large() -> Reply:
    """The 413 for a body over ``MAX_BODY_BYTES``, answered before the body is read or parsed."""
    return _error(ApiError("request_too_large", say("request_too_large")), new_id("req"))


_UNPARSABLE = object()


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON allows the text, but no float holds it
        raise ValueError(f"{text} is out of range")
    return value


def _parse(body: bytes) -> object:
    """The JSON body, or ``_UNPARSABLE`` (the error is raised later, after any injected fault).

    Strict JSON only: Python's parser also takes ``NaN`` and ``Infinity``, which are not JSON."""
    try:
        return json.loads(body or b"null", parse_constant=_reject_constant, parse_float=_finite)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _UNPARSABLE


def _messages(body: object, version: str, request_id: str, fault: Optional[fault_plans.Fault]) -> Outcome:
    resolved = files.resolve(body)
    request = validate.check_create(resolved.body, version)
    request.file_ids = resolved.file_ids
    message = respond.message(request)
    encoded = strict_json(message)  # a value JSON cannot hold fails here, before any byte is sent (stream or not)
    usage = message["usage"]
    limits = rate_limits.headers(usage["input_tokens"], usage["output_tokens"])
    if not request.stream:
        return Reply(200, {"content-type": "application/json", "request-id": request_id, **limits}, encoded.encode())
    headers = {
        "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": request_id,
        **limits,
    }
    if fault is not None and fault.kind == "stream_error":
        return Stream(headers, stream.sse(message, fail_after=fault.after_deltas, error=fault.stream_error()))
    return Stream(headers, stream.sse(message))


def _batches(method: str, path: str, query: dict, body: object, version: str, headers: dict[str, str],
             request_id: str) -> Reply:
    # results_url names this server as the client reached it (the loopback port, or the in-process host).
    answer = batches.answer(method, path, query, body, version, f"http://{headers.get('host', 'offline.localhost')}")
    if answer.lines is None:
        return _json(200, answer.payload, request_id)
    lines = "".join(strict_json(line) + "\n" for line in answer.lines)
    return Reply(200, {"content-type": "application/binary", "request-id": request_id}, lines.encode())


def _route(method: str, path: str) -> Optional[str]:
    if path == "/v1/messages":
        return "messages" if method == "POST" else None
    if path == "/v1/messages/count_tokens":
        return "count_tokens" if method == "POST" else None
    if path == "/v1/models" or path.startswith("/v1/models/"):
        return "models" if method == "GET" else None
    if batches.route(method, path):
        return "batches"
    if files.route(path):
        return "files"
    return None


def _key_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers, less an ``Authorization`` of another scheme than Bearer (``Basic ...`` carries no API key).

    An empty ``Authorization`` stays: it is an empty key, which the API calls invalid."""
    words = headers.get("authorization", "").split()
    if words and words[0].lower() != "bearer":
        return {k: v for k, v in headers.items() if k != "authorization"}
    return headers


def handle(method: str, target: str, headers: dict[str, str], body: bytes = b"", *, require_key: bool = True) -> Outcome:
    """Answer one HTTP request as the Messages API would. ``headers`` keys must be lower-case."""
    if len(body) > body_limit(method, target):
        return too_large()
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
        version = validate.check_headers(_key_headers(headers), require_key=require_key)
        parsed = _parse(body) if route not in ("models", "files") else None
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
        if route == "files":
            answer = files.answer(method.upper(), path, parse_qs(url.query), body, headers, version.betas)
            return _json(200, answer, request_id)
        if parsed is _UNPARSABLE:
            raise ApiError("invalid_request_error", say("invalid_json"))
        if route == "batches":
            return _batches(method.upper(), path, parse_qs(url.query), parsed, version, headers, request_id)
        if route == "count_tokens":
            counted = validate.check_count_tokens(files.resolve(parsed).body, version)
            return _json(200, {"input_tokens": counted}, request_id)
        return _messages(parsed, version, request_id, fault)
    except ApiError as err:
        return _error(err, request_id)
    except Exception as bug:  # noqa: BLE001 - answer like the API would, and say whose fault it is
        message = f"Internal server error in the kit's offline backend ({type(bug).__name__}: {bug}); please report it."
        return _error(ApiError("api_error", message), request_id)
