"""The endpoints the classroom server forwards, and nothing else: an allow-list matched on the request's path
(Messages, count_tokens, models, the Message Batches endpoints and the Files API).

A learner's path is never sent on. It must be one of the routes below exactly, in plain characters (no
percent-encoding, no empty, ``.`` or ``..`` segments, no trailing slash): the form the SDK sends. The
upstream URL is then built here from the matched route, with only the query parameters that route takes.
So ``/v1/models/../files`` or ``/v1/models/x%2F..%2F..%2Ffiles`` is refused before anything is sent,
whatever an HTTP client further on would make of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl, urlencode

PLAIN_PATH = re.compile(r"(/[A-Za-z0-9_\-.~:@]+)+")
"""A path of plain, non-empty segments: no percent-encoding, no backslash, no empty segment."""
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:@]{0,127}")
QUERY_VALUE = re.compile(r"[A-Za-z0-9_\-.:@]{1,128}")


BATCH_ID = re.compile(r"msgbatch_[A-Za-z0-9]{1,100}")
FILE_ID = re.compile(r"file_[A-Za-z0-9]{1,100}")


@dataclass(frozen=True)
class Route:
    name: str  # "messages", "count_tokens", "models", or "batch_create", "batch_list", "batch_get", ...
    target: str  # the path and query sent upstream, built from the route
    batch_id: str = ""  # the batch a batch route is about
    file_id: str = ""  # the file a file route is about


# Per route: the method, and the query parameters the SDK sends that the route passes on.
_FIXED = {
    "/v1/messages": ("POST", "messages", ("beta",)),
    "/v1/messages/count_tokens": ("POST", "count_tokens", ("beta",)),
    "/v1/models": ("GET", "models", ("beta", "limit", "after_id", "before_id", "lifecycle", "lifecycle[]")),
}
_BATCHES = "/v1/messages/batches"
# A batch's own routes: (method, what follows its id) -> route name.
_BATCH_ROUTES = {("GET", ""): "batch_get", ("DELETE", ""): "batch_delete", ("POST", "/cancel"): "batch_cancel",
                 ("GET", "/results"): "batch_results"}
_BATCH_LIST_QUERY = ("beta", "limit", "after_id", "before_id")
_MODEL_QUERY = ("beta",)
_FILES = "/v1/files"
# A file's own routes: (method, what follows its id) -> route name. SDK 2.17 ``resources/files.py`` and
# ``resources/beta/files.py``: ``?beta=true`` from ``client.beta.files``, and on the list ``ids`` (sent as
# ``ids[]``), ``limit``, ``page`` and ``scope_id``; ``before_id`` and ``after_id`` page the beta list's shape.
_FILE_ROUTES = {("GET", ""): "file_get", ("DELETE", ""): "file_delete", ("GET", "/content"): "file_content"}
_FILE_LIST_QUERY = ("beta", "ids[]", "ids", "limit", "page", "scope_id", "before_id", "after_id")


def _query(raw: str, allowed: tuple[str, ...]) -> str:
    kept = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=False) if k in allowed and QUERY_VALUE.fullmatch(v)]
    return "?" + urlencode(kept) if kept else ""


def match(method: str, raw_path: str, raw_query: str = "") -> Optional[Route]:
    """The route for this request, or None when the classroom does not forward it."""
    if not PLAIN_PATH.fullmatch(raw_path) or any(s in (".", "..") for s in raw_path.split("/")):
        return None
    fixed = _FIXED.get(raw_path)
    if fixed is not None:
        wanted, name, allowed = fixed
        return Route(name, raw_path + _query(raw_query, allowed)) if method == wanted else None
    if raw_path == _BATCHES:
        if method == "POST":
            return Route("batch_create", _BATCHES + _query(raw_query, ("beta",)))
        return Route("batch_list", _BATCHES + _query(raw_query, _BATCH_LIST_QUERY)) if method == "GET" else None
    if raw_path.startswith(_BATCHES + "/"):
        batch_id, _, rest = raw_path[len(_BATCHES) + 1:].partition("/")
        name = _BATCH_ROUTES.get((method, "/" + rest if rest else ""))
        if name is None or not BATCH_ID.fullmatch(batch_id):
            return None
        return Route(name, f"{_BATCHES}/{batch_id}" + ("/" + rest if rest else "") + _query(raw_query, ("beta",)),
                     batch_id)
    if raw_path == _FILES:
        if method == "POST":
            return Route("file_upload", _FILES + _query(raw_query, ("beta",)))
        return Route("file_list", _FILES + _query(raw_query, _FILE_LIST_QUERY)) if method == "GET" else None
    if raw_path.startswith(_FILES + "/"):
        file_id, _, rest = raw_path[len(_FILES) + 1:].partition("/")
        name = _FILE_ROUTES.get((method, "/" + rest if rest else ""))
        if name is None or not FILE_ID.fullmatch(file_id):
            return None
        return Route(name, f"{_FILES}/{file_id}" + ("/" + rest if rest else "") + _query(raw_query, ("beta",)),
                     file_id=file_id)
    prefix, _, model_id = raw_path.rpartition("/")
    if prefix == "/v1/models" and method == "GET" and MODEL_ID.fullmatch(model_id) and not set(model_id) <= {"."}:
        return Route("models", f"/v1/models/{model_id}" + _query(raw_query, _MODEL_QUERY))
    return None
