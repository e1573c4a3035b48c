"""The Message Batches API (``/v1/messages/batches``), answered offline: create, retrieve, list, cancel,
delete, and results as JSONL.

Facts (https://platform.claude.com/docs/en/build-with-claude/batch-processing and the API reference pages
under https://platform.claude.com/docs/en/api/messages/batches; the SDK's ``types/messages``):

- Each request is a ``custom_id`` (unique in the batch; at most 64 characters: ``requests.0.custom_id:
  String should have at most 64 characters``, anthropics/anthropic-sdk-python#984) and the ``params`` of a
  ``messages.create``; streaming is not supported in a batch, and ``max_tokens`` must be at least 1.
- A batch holds at most 100,000 requests or 256 MB. It is ``in_progress`` until every request has ended,
  then ``ended`` with ``results_url`` set; results come back in any order, matched by ``custom_id``, each
  ``succeeded`` (a Message), ``errored`` (an error body), ``canceled`` or ``expired``. ``request_counts``
  tally requests as ``processing`` until the whole batch ends. A batch expires 24 hours after creation.
- Cancelling moves a batch to ``canceling``; requests not yet processed end ``canceled``. A batch can be
  deleted only once it has ended ("If you'd like to delete an in-progress batch, you must first cancel it").
- Batches cost 50% of the standard prices (``catalog.batch_multiplier()``); a result's usage says
  ``service_tier: "batch"`` (the SDK's ``types/usage.py``).

What is the kit's own: each request is validated and answered by the same functions as ``messages.create``
(so an invalid one ends ``errored`` with the error the Messages API would give), and processing takes
``PROCESSING_S`` seconds on ``clock`` (the wall clock plus an offset that tests and lessons may move with
``advance``), so polling a batch takes seconds, not the API's minutes to hours.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from . import paging, respond, validate
from .errors import ApiError, error_body, invalid
from .ids import new_id
from .wording import say

MAX_REQUESTS = 100_000
MAX_CUSTOM_ID = 64
CUSTOM_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
PROCESSING_S = 1.0
"""How long a batch takes offline, on ``clock``: long enough that a first retrieve sees ``in_progress``, short
enough that a lesson polling with back-off (0.5 s, then 1 s) waits only a moment."""
CANCELING_S = 1.0
"""How long a cancelled batch stays ``canceling`` before it ends."""
EXPIRES_S = 24 * 3600
KEPT = 256
"""Batches kept at most (the oldest ended ones leave first): the backend's memory stays bounded."""


class _Clock:
    """Wall time plus an offset that ``advance`` moves: a batch's times are real dates, and a test or a lesson
    can make processing end without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


clock = _Clock()


def advance(seconds: float) -> None:
    """Move the batches' clock forward (tests; a lesson that does not want to wait)."""
    clock.offset += seconds


@dataclass
class Batch:
    id: str
    requests: list[tuple[str, dict]]  # (custom_id, params), as sent
    version: str
    created: float
    cancel_initiated: Optional[float] = None
    results: Optional[list[dict]] = None  # set when processing ends
    ended: Optional[float] = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_batches: "OrderedDict[str, Batch]" = OrderedDict()
_lock = threading.Lock()


def _stamp(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _result(custom_id: str, params: dict, version: str, canceled: bool) -> dict:
    if canceled:
        return {"custom_id": custom_id, "result": {"type": "canceled"}}
    try:
        from . import files  # files keeps time on this module's clock

        resolved = files.resolve(params)
        request = validate.check_create(resolved.body, version)
        request.file_ids = resolved.file_ids
        message = respond.message(request)
    except ApiError as error:
        return {"custom_id": custom_id, "result": {
            "type": "errored", "error": error_body(error.error_type, error.message, new_id("req"))}}
    message["usage"] = {**message["usage"], "service_tier": "batch"}  # the SDK's Usage names this tier
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def _settle(batch: Batch, now: float) -> None:
    """End the batch if its time has come (or its cancellation has): every request gets its result."""
    with batch.lock:
        if batch.results is not None:
            return
        due = batch.created + PROCESSING_S
        if batch.cancel_initiated is not None:
            if now < batch.cancel_initiated + CANCELING_S:
                return
            ends, canceled = batch.cancel_initiated + CANCELING_S, True
        elif now >= batch.created + EXPIRES_S:
            batch.results = [{"custom_id": c, "result": {"type": "expired"}} for c, _ in batch.requests]
            batch.ended = batch.created + EXPIRES_S
            return
        elif now >= due:
            ends, canceled = due, False
        else:
            return
        batch.results = [_result(c, p, batch.version, canceled) for c, p in batch.requests]
        batch.ended = ends


def _view(batch: Batch, base_url: str) -> dict:
    _settle(batch, clock())
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if batch.results is None:
        counts["processing"] = len(batch.requests)
        status = "canceling" if batch.cancel_initiated is not None else "in_progress"
    else:
        for line in batch.results:
            counts[line["result"]["type"]] += 1
        status = "ended"
    return {
        "id": batch.id, "type": "message_batch", "processing_status": status, "request_counts": counts,
        "created_at": _stamp(batch.created), "expires_at": _stamp(batch.created + EXPIRES_S),
        "ended_at": _stamp(batch.ended), "cancel_initiated_at": _stamp(batch.cancel_initiated),
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if batch.results is not None else None,
    }


def check_requests(body: object) -> list[tuple[str, dict]]:
    """The batch's requests, checked as the API checks them when the batch is created."""
    if not isinstance(body, dict):
        raise invalid(say("invalid_json"))
    extra = sorted(set(body) - {"requests"})
    if extra:
        raise invalid(say("extra_input", field=extra[0]))
    if "requests" not in body:
        raise invalid(say("field_required", field="requests"))
    requests = body["requests"]
    if not isinstance(requests, list):
        raise invalid(say("wrong_type", field="requests", kind="list"))
    if not requests:
        raise invalid(say("batch_empty"))
    if len(requests) > MAX_REQUESTS:
        raise invalid(say("batch_too_many", limit=MAX_REQUESTS))
    seen, checked = set(), []
    for i, request in enumerate(requests):
        where = f"requests.{i}"
        if not isinstance(request, dict):
            raise invalid(say("wrong_type", field=where, kind="dictionary"))
        for key in sorted(set(request) - {"custom_id", "params"}):
            raise invalid(say("extra_input", field=f"{where}.{key}"))
        for key in ("custom_id", "params"):
            if key not in request:
                raise invalid(say("field_required", field=f"{where}.{key}"))
        custom_id, params = request["custom_id"], request["params"]
        if not isinstance(custom_id, str):
            raise invalid(say("wrong_type", field=f"{where}.custom_id", kind="string"))
        if len(custom_id) > MAX_CUSTOM_ID:
            raise invalid(say("batch_custom_id_long", field=f"{where}.custom_id", limit=MAX_CUSTOM_ID))
        if not custom_id or not set(custom_id) <= CUSTOM_ID_CHARACTERS:
            raise invalid(say("batch_custom_id_pattern", field=f"{where}.custom_id"))
        if custom_id in seen:
            raise invalid(say("batch_custom_id_repeated", custom_id=custom_id))
        seen.add(custom_id)
        if not isinstance(params, dict):
            raise invalid(say("wrong_type", field=f"{where}.params", kind="dictionary"))
        if params.get("stream") is True:
            raise invalid(say("batch_stream", field=f"{where}.params.stream"))
        if params.get("max_tokens") == 0:
            raise invalid(say("batch_max_tokens_zero", field=f"{where}.params.max_tokens"))
        checked.append((custom_id, params))
    return checked


def _find(batch_id: str) -> Batch:
    with _lock:
        batch = _batches.get(batch_id)
    if batch is None:
        raise ApiError("not_found_error", say("batch_not_found", batch_id=batch_id))
    return batch


def _keep(batch: Batch) -> None:
    with _lock:
        _batches[batch.id] = batch
        while len(_batches) > KEPT:
            oldest = next((b for b in _batches.values() if b.results is not None), None)
            del _batches[(oldest or next(iter(_batches.values()))).id]


def _listing(query: dict, base_url: str) -> dict:
    from .models import _limit, _one  # the Models API pages the same way

    limit = _limit(query)
    with _lock:
        newest_first = list(reversed(_batches.values()))
    start, end, has_more = paging.page([b.id for b in newest_first], _one(query, "after_id"),
                                       _one(query, "before_id"), limit)
    data = [_view(b, base_url) for b in newest_first[start:end]]
    return {"data": data, "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
            "has_more": has_more}


@dataclass
class Answer:
    """What a batch route answers: a JSON object, or JSONL lines (the results)."""

    payload: Optional[dict] = None
    lines: Optional[list[dict]] = None


def route(method: str, path: str) -> bool:
    return path == "/v1/messages/batches" or path.startswith("/v1/messages/batches/")


def answer(method: str, path: str, query: dict, body: object, version: str, base_url: str) -> Answer:
    """One request to the Batches API; raises ``ApiError`` as the API answers errors."""
    parts = path.removeprefix("/v1/messages/batches").strip("/").split("/") if path != "/v1/messages/batches" else []
    if not parts:
        if method == "POST":
            batch = Batch(new_id("msgbatch"), check_requests(body), version, clock())
            _keep(batch)
            return Answer(_view(batch, base_url))
        if method == "GET":
            return Answer(_listing(query, base_url))
    elif len(parts) == 1:
        if method == "GET":
            return Answer(_view(_find(parts[0]), base_url))
        if method == "DELETE":
            batch = _find(parts[0])
            _settle(batch, clock())
            if batch.results is None:
                raise invalid(say("batch_delete_in_progress", batch_id=batch.id))
            with _lock:
                _batches.pop(batch.id, None)
            return Answer({"id": batch.id, "type": "message_batch_deleted"})
    elif len(parts) == 2 and parts[1] == "cancel" and method == "POST":
        batch = _find(parts[0])
        now = clock()
        _settle(batch, now)
        with batch.lock:
            if batch.results is None and batch.cancel_initiated is None:
                batch.cancel_initiated = now
        return Answer(_view(batch, base_url))
    elif len(parts) == 2 and parts[1] == "results" and method == "GET":
        batch = _find(parts[0])
        _settle(batch, clock())
        if batch.results is None:
            raise invalid(say("batch_results_not_ready", batch_id=batch.id))
        return Answer(lines=batch.results)
    raise ApiError("not_found_error", say("not_found_route"))


def seed(batch_id: str, body: dict, version: str = validate.API_VERSIONS[0], *, ended: bool = False) -> None:
    """Keep a batch of ``body``'s requests (checked as ``create`` checks them) under a chosen id, in place of
    any batch of that id: for tests whose calls name a fixed id, as the SDK's own tests do.

    It is ``in_progress`` as if created now; with ``ended``, as if created ``PROCESSING_S`` ago, so the next
    call sees it ended, with its results."""
    created = clock() - (PROCESSING_S if ended else 0.0)
    batch = Batch(batch_id, check_requests(body), version, created)
    with _lock:
        _batches.pop(batch_id, None)  # so that it lists as the newest
    _keep(batch)


def forget() -> None:
    """Drop every batch (tests)."""
    with _lock:
        _batches.clear()
    clock.offset = 0.0
