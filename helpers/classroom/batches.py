"""Message Batches through the classroom server: each batch belongs to the learner who created it, is paid
from their budget, and is visible to nobody else.

- Create: the requests are checked as the API checks them (``helpers.offline.batches.check_requests``), and
  the most the batch can cost (every request's bound, at the batch price) is reserved like a call's. The
  reservation is kept, across restarts of the server, until the batch's results are read through the
  server, which replaces it by what the results' usage cost; results never read stay held, never spent.
- Retrieve, cancel, delete, results: only the learner's own batches; any other id is answered as an unknown
  one (404), so a learner cannot even tell that another's batch exists. Deleting a batch whose results were
  not read yet reads them first, so its cost is settled on its usage, not lost or guessed.
- List: the learner's own batches only, newest first, paged as the API pages.
- ``results_url`` names this server (the address the learner reached it on), never the API.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Optional

import httpx2

from .. import catalog
from ..offline import batches as offline_batches
from ..offline import paging
from ..offline.errors import ApiError
from ..offline.wording import say
from . import pricing
from .store import Call, Refused

if TYPE_CHECKING:
    from .proxy import Answer, Classroom
    from .routes import Route

MAX_LIST = 1000


def _batch_price(nano: int) -> int:
    return int(math.ceil(nano * catalog.batch_multiplier()))


def _own_url(batch: Any, own_url: str) -> Any:
    """A batch object (or a page of them) with ``results_url`` pointing at this server."""
    if isinstance(batch, dict) and isinstance(batch.get("results_url"), str) and isinstance(batch.get("id"), str):
        # (``own_url`` may be "": a path, which the SDKs resolve against their base URL)
        batch["results_url"] = f"{own_url}/v1/messages/batches/{batch['id']}/results"
    if isinstance(batch, dict) and isinstance(batch.get("data"), list):
        for item in batch["data"]:
            _own_url(item, own_url)
    return batch


class ResultsCost:
    """Adds up the usage of a results file's ``succeeded`` lines as they pass, at the batch price."""

    def __init__(self) -> None:
        self._buffer = b""
        self.nano = 0
        self.tokens = 0

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._line(line)

    def finish(self) -> None:
        self._line(self._buffer)
        self._buffer = b""

    def _line(self, line: bytes) -> None:
        try:
            entry = json.loads(line) if line.strip() else None
        except ValueError:
            return
        result = entry.get("result") if isinstance(entry, dict) else None
        if isinstance(result, dict) and result.get("type") == "succeeded" and isinstance(result.get("message"), dict):
            message = result["message"]
            tokens, nano = pricing.cost_of(message.get("model"), message.get("usage") or {})
            self.tokens += tokens
            self.nano += _batch_price(nano)


class BatchDesk:
    """The batch routes of one classroom server (``room``: its store, upstream and answers)."""

    def __init__(self, room: "Classroom"):
        self.room = room

    def _unknown(self, batch_id: str) -> "Answer":
        from .proxy import _error  # noqa: PLC0415 - the proxy imports this module

        return _error(404, "not_found_error", say("batch_not_found", batch_id=batch_id))

    async def answer(self, learner_id: int, route: "Route", headers: dict[str, str], body: bytes, parsed: Any,
                     own_url: str, send) -> Optional["Answer"]:
        if route.name == "batch_create":
            return await self._create(learner_id, route, headers, body, parsed, own_url)
        if route.name == "batch_list":
            return await self._list(learner_id, route, headers, own_url)
        if self.room.store.batch_owner(route.batch_id) != learner_id:
            self.room._note(learner_id, f"HTTP 404 not_found_error: batch {route.batch_id} is not one of yours")
            return self._unknown(route.batch_id)
        if route.name == "batch_results":
            return await self._results(learner_id, route, headers, send)
        if route.name == "batch_delete" and not self.room.store.batch_settled(route.batch_id):
            await self._settle_from_results(route.batch_id, headers)
        return await self._forward(learner_id, "GET" if route.name == "batch_get" else
                                   ("DELETE" if route.name == "batch_delete" else "POST"), route.target, headers,
                                   b"", own_url, settle_if_gone=route.name == "batch_delete" and route.batch_id)

    # -- create ----------------------------------------------------------------------------------------------------

    async def _create(self, learner_id, route, headers, body, parsed, own_url) -> "Answer":
        from .proxy import Answer, _error, _error_text, refusal_words  # noqa: PLC0415

        try:
            requests = offline_batches.check_requests(parsed)
        except ApiError as error:  # refused as the API refuses it: nothing is created, nothing held
            answer = _error(error.status, error.error_type, error.message)
            self.room._note(learner_id, _error_text(error.status, answer.body))
            return answer
        nano = tokens = 0
        for custom_id, params in requests:
            hold = pricing.hold_for(params)
            if hold.refusal:
                answer = _error(403, "permission_error", f"This classroom server cannot let this batch through: "
                                                         f"request {custom_id!r}: {hold.refusal}, so its budget "
                                                         "could not hold. " + (hold.fix or "Ask your instructor."))
                self.room._note(learner_id, _error_text(403, answer.body))
                return answer
            nano, tokens = nano + hold.nano, tokens + hold.tokens
        reserved = self.room.store.reserve(learner_id, _batch_price(nano), tokens)
        if isinstance(reserved, Refused):
            learner = self.room.store.learner(learner_id)
            answer = _error(402, "billing_error", refusal_words(reserved, learner.name if learner else "you"))
            self.room.store.record_refusal(learner_id, reserved, _error_text(402, answer.body))
            return answer
        kept = False
        try:
            try:
                response = await self.room.upstream.send("POST", route.target, headers, body)
                data = await response.aread()
                await response.aclose()
            except httpx2.ConnectError as error:
                self.room.store.settle(reserved, 0, 0, f"the API could not be reached ({type(error).__name__})")
                kept = True
                return self.room._unreachable(error)
            batch = _json(data) if response.status_code == 200 else None
            call = Call(response.headers.get("request-id"), response.status_code, {"route": "batch_create"})
            if isinstance(batch, dict) and isinstance(batch.get("id"), str):
                self.room.store.keep_batch(reserved, batch["id"], learner_id, call)
                kept = True
                data = json.dumps(_own_url(batch, own_url)).encode()
            else:
                self.room.store.settle(reserved, 0, 0, _error_text(response.status_code, data), call)
                kept = True
            return Answer(response.status_code, self.room._returned(response, learner_id), data)
        finally:
            if not kept:  # the batch may exist upstream: its bound stays charged, never less
                self.room.store.settle(reserved, _batch_price(nano), tokens, "the batch's creation was interrupted")

    # -- list, retrieve, cancel, delete ---------------------------------------------------------------------------

    async def _forward(self, learner_id, method, target, headers, body, own_url, settle_if_gone="") -> "Answer":
        from .proxy import Answer, _error_text  # noqa: PLC0415

        try:
            response = await self.room.upstream.send(method, target, headers, body)
            data = await response.aread()
            await response.aclose()
        except httpx2.HTTPError as error:
            self.room._note(learner_id, f"the API could not be reached ({type(error).__name__})")
            return self.room._unreachable(error)
        if response.status_code == 200:
            data = json.dumps(_own_url(_json(data), own_url)).encode()
            if settle_if_gone and not self.room.store.batch_settled(settle_if_gone):
                # Deleted before its results could be read: what it may have cost stays charged.
                self._settle_at_bound(settle_if_gone)
        self.room._note(learner_id, None if response.status_code < 400 else _error_text(response.status_code, data),
                        Call(response.headers.get("request-id"), response.status_code, {"route": "batch"}))
        return Answer(response.status_code, self.room._returned(response, learner_id), data)

    def _settle_at_bound(self, batch_id: str) -> None:
        rows = self.room.store._read("SELECT r.nano, r.tokens FROM batches b JOIN reservations r ON r.id = "
                                     "b.reservation WHERE b.id = ?", (batch_id,))
        if rows:
            self.room.store.settle_batch(batch_id, rows[0]["nano"], rows[0]["tokens"])

    async def _list(self, learner_id, route, headers, own_url) -> "Answer":
        """The learner's own batches, newest first, paged with ``limit``, ``after_id`` and ``before_id``."""
        from .proxy import _error, _json as json_answer  # noqa: PLC0415
        from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

        query = parse_qs(urlsplit(route.target).query)
        try:
            limit = int(query.get("limit", ["20"])[-1])
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIST:
            return _error(400, "invalid_request_error", say("too_large" if limit > MAX_LIST else "too_small",
                                                            field="limit", limit=MAX_LIST if limit > MAX_LIST else 1))
        ids = self.room.store.learner_batches(learner_id)
        start, end, more = paging.page(ids, query.get("after_id", [None])[-1], query.get("before_id", [None])[-1],
                                       limit)
        data = []
        for batch_id in ids[start:end]:
            response = await self.room.upstream.send("GET", f"/v1/messages/batches/{batch_id}", headers, b"")
            found = _json(await response.aread())
            await response.aclose()
            if response.status_code == 200 and isinstance(found, dict):
                data.append(_own_url(found, own_url))
        self.room._note(learner_id)
        return json_answer({"data": data, "first_id": data[0]["id"] if data else None,
                            "last_id": data[-1]["id"] if data else None, "has_more": more})

    # -- results ---------------------------------------------------------------------------------------------------

    async def _results(self, learner_id, route, headers, send) -> Optional["Answer"]:
        """The results file passed through as it comes; its usage, added up on the way, settles the batch."""
        cost = ResultsCost()

        def settle() -> None:
            cost.finish()
            # Settled before the file's end reaches the learner: what they read next is already charged.
            self.room.store.settle_batch(route.batch_id, cost.nano, cost.tokens)

        return await self.room._relay(learner_id, route.target, headers, send, feed=cost.feed, before_end=settle)

    async def _settle_from_results(self, batch_id: str, headers: dict[str, str]) -> None:
        """Read a batch's results here (before it is deleted), so that it is charged what it cost."""
        response = await self.room.upstream.send("GET", f"/v1/messages/batches/{batch_id}/results", headers, b"")
        try:
            if response.status_code != 200:
                return  # still processing (the API refuses the delete too), or gone: settled after the delete
            cost = ResultsCost()
            async for chunk in response.aiter_bytes():
                cost.feed(chunk)
            cost.finish()
            self.room.store.settle_batch(batch_id, cost.nano, cost.tokens)
        finally:
            await response.aclose()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
