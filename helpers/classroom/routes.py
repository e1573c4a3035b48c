"""The endpoints the classroom server forwards, and nothing else: an allow-list matched on the request's path.

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


@dataclass(frozen=True)
class Route:
    name: str  # "messages", "count_tokens" or "models"
    target: str  # the path and query sent upstream, built from the route


# Per route: the method, and the query parameters the SDK sends that the route passes on.
_FIXED = {
    "/v1/messages": ("POST", "messages", ("beta",)),
    "/v1/messages/count_tokens": ("POST", "count_tokens", ("beta",)),
    "/v1/models": ("GET", "models", ("beta", "limit", "after_id", "before_id", "lifecycle", "lifecycle[]")),
}
_MODEL_QUERY = ("beta",)


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
    prefix, _, model_id = raw_path.rpartition("/")
    if prefix == "/v1/models" and method == "GET" and MODEL_ID.fullmatch(model_id) and not set(model_id) <= {"."}:
        return Route("models", f"/v1/models/{model_id}" + _query(raw_query, _MODEL_QUERY))
    return None
