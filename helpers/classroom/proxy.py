"""The classroom server's ASGI app: learners' calls in, the API's answers out, with budgets in between.

For each Messages call: the learner's token is checked, the rate limit applied, the most the
call can cost reserved against the learner's budget and the class cap (one transaction), the
request sent on with the instructor's credential, and the answer passed back as it comes
(a stream event by event). The reservation is then settled at the usage the API reported:
a complete answer's ``usage``, a stream's final ``message_delta`` usage, nothing for an error
(the API bills no errors). When that usage never arrives (a stream abandoned or broken before
its end, a connection lost after the request went out) the call is charged its whole bound,
since the API may have generated up to ``max_tokens``. So a learner's spending never passes
their budget, whatever the concurrency: a call is let through only if its bound fits.

The learner's token never goes further than this app; the instructor's key is added only by
``Upstream``. Errors are answered in the API's own shape, so the SDK raises its usual classes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Union

import httpx2

from .. import catalog
from ..offline import server as http_server
from ..offline.errors import error_body
from ..offline.ids import new_id
from ..offline.wording import say
from ..usage import _StreamedMessage
from . import dashboard, pricing, routes
from .batches import BatchDesk
from .evidence import request_shape, voucher
from .files import FileDesk
from .limits import FileLimits, GuessThrottle, RateLimiter, RateLimits, standing
from .redaction import Redactor
from .store import Call, Refused, Store
from .tokens import from_headers
from .tokens import parse as parse_token
from .upstream import Upstream

log = logging.getLogger("helpers.classroom")
log.addFilter(http_server._BoundedLog())
EXERCISE_ID = re.compile(r"\d\d\.\d{1,3}")  # matched whole (``fullmatch``): "07.1\n" is no exercise
JSON_ROUTES = ("messages", "count_tokens", "batch_create")
"""Routes whose body must be a JSON object (the others have none)."""
HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?")
MAX_EVIDENCE = 50
"""Request ids one progress report may point to."""
JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _error(status: int, error_type: str, message: str, *, retry: bool = False, headers: Optional[dict] = None,
           code: Optional[str] = None) -> Answer:
    request_id = new_id("req")
    body = json.dumps(error_body(error_type, message, request_id, code)).encode()
    return Answer(status, {**JSON_HEADERS, "request-id": request_id, "x-should-retry": "true" if retry else "false",
                           **(headers or {})}, body)


def _json(payload: Any, status: int = 200) -> Answer:
    return Answer(status, dict(JSON_HEADERS), json.dumps(payload).encode())


def _dollars(nano: int) -> str:
    return f"${pricing.to_usd(nano):.4f}"


def refusal_words(refused: Refused, name: str) -> str:
    """What the learner reads when the budget stops a call: what happened, and what to do."""
    fmt = _dollars if refused.unit == "usd" else (lambda n: f"{n:,} tokens")
    left = max(0, refused.limit - refused.spent - refused.held)
    if refused.scope == "class":
        return (f"The class-wide budget of the classroom server is used up ({fmt(refused.spent)} spent of "
                f"{fmt(refused.limit)}), so this call was not sent. Tell your instructor, who can raise it.")
    if refused.held and refused.asked <= refused.limit - refused.spent:
        waiting = (f" Calls of yours still running hold {fmt(refused.held)}: wait for them to finish and try again, "
                   "or ask your instructor for a top-up.")
    else:
        waiting = " Lower max_tokens (a call is let through only if its largest possible cost fits) or ask your " \
                  "instructor for a top-up."
    return (f"Your classroom budget does not cover this call ({name}: {fmt(refused.spent)} spent of "
            f"{fmt(refused.limit)}, {fmt(left)} left; this call could cost up to {fmt(refused.asked)}), so it was "
            f"not sent.{waiting}")


def _error_text(status: int, body: bytes) -> str:
    """``HTTP 400 invalid_request_error: ...`` from an API error body (the learner's own last error)."""
    try:
        error = json.loads(body).get("error") or {}
        return f"HTTP {status} {error.get('type', '')}: {error.get('message', '')}"
    except (ValueError, AttributeError):
        return f"HTTP {status}"


def _instructor_key_words(status: int, body: bytes) -> bytes:
    """An API 401 is about the instructor's key, not the learner's token: say so (status, type and request id stay)."""
    if status != 401:
        return body
    try:
        payload = json.loads(body)
        payload["error"]["message"] = ("The API refused the classroom server's own key (the instructor's), not your "
                                       "token. Tell your instructor.")
        return json.dumps(payload).encode()
    except (ValueError, KeyError, TypeError):
        return body


class _StreamWatch(_StreamedMessage):
    """The usage log's stream reader, also noting an ``error`` event. Only the events that carry the model,
    the usage or an error are parsed: the content deltas, most of a stream, are passed on unread."""

    error: Optional[str] = None
    _SKIPPED = (b"event: content_block_delta", b"event: ping", b"event: content_block_start",
                b"event: content_block_stop")

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            if event.startswith(self._SKIPPED):
                continue
            for line in event.splitlines():
                if line.startswith(b"data:"):
                    try:
                        self._apply(json.loads(line[5:]))
                    except ValueError:
                        pass

    def _apply(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("type") == "error":
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            self.error = f"stream error {error.get('type', '')}: {error.get('message', '')}"
        super()._apply(data)

    @property
    def final(self) -> bool:
        """Whether the final usage arrived (``message_delta`` sets the stop reason with it)."""
        return self.message.get("stop_reason") is not None


def _rfc3339(seconds_from_now: float) -> str:
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json_object(body: bytes) -> Optional[dict]:
    """The request body as a JSON object, or None for anything else (bad JSON, nesting too deep to parse)."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def storage_fault(error: BaseException) -> Answer:
    """The database could not be read or written: an API error the SDK handles as it should. A lock held too long
    by another writer passes (529, retried after a pause); a full disk or a damaged file does not (500, not
    retried, so learners do not hammer a server that cannot help them)."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return _error(529, "overloaded_error", "The classroom server is busy (its database is in use by another "
                                               "program); the SDK tries again by itself in a moment.",
                      retry=True, headers={"retry-after": "2"})
    return _error(500, "api_error", f"The classroom server cannot use its database ({type(error).__name__}: "
                                    f"{error}), so this call was not answered. Tell your instructor.")


class Classroom:
    """The ASGI app. ``store`` keeps the state, ``upstream`` answers the calls, ``redactor`` keeps the
    instructor's key out of every answer."""

    def __init__(self, store: Store, upstream: Upstream, limits: RateLimits = RateLimits(), *,
                 stuck_after: int = 3, redactor: Optional[Redactor] = None, file_limits: FileLimits = FileLimits()):
        self.store = store
        self.upstream = upstream
        self.limiter = RateLimiter(limits)
        self.guesses = GuessThrottle()
        self.stuck_after = stuck_after
        self.redactor = redactor or Redactor(None)
        self.batches = BatchDesk(self)
        self.file_limits = file_limits
        self.files = FileDesk(self)

    # -- ASGI --------------------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        send = self.redactor.guard(send)  # every way out of the server passes here
        started = False

        async def tracked_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._handle(scope, receive, tracked_send)
        except Exception as error:  # noqa: BLE001 - every fault is answered in the API's shape
            if isinstance(error, RecursionError):
                answer = _error(400, "invalid_request_error", say("invalid_json"))
            elif isinstance(error, sqlite3.Error) or (isinstance(error, OSError) and not isinstance(error, ConnectionError)):
                self._trouble("classroom database trouble", error)
                answer = storage_fault(error)
            else:
                self._trouble("classroom server error", error)
                answer = _error(500, "api_error", f"The classroom server failed on this request "
                                                  f"({type(error).__name__}). Tell your instructor.")
            if not started:
                await self._send(tracked_send, answer)

    async def _handle(self, scope, receive, send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"].upper(), scope["path"].rstrip("/") or "/"
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        address = (scope.get("client") or ("",))[0] or ""
        host = headers.get("host", "")
        # This server as the learner reached it (a batch's results_url); a relative URL if the Host is odd.
        own_url = f"{scope.get('scheme', 'http')}://{host}" if HOST.fullmatch(host) else ""
        upload = method == "POST" and path == "/v1/files"  # a file may be larger than a Messages request
        try:
            body = await http_server._body(receive, headers, self.files.body_limit() if upload else None)
        except http_server._ClientGone:
            return
        if body is None:
            answer = self.files.too_large() if upload else _error(413, "request_too_large", "Request exceeds the "
                                                                  "maximum allowed number of bytes.")
        elif path == "/classroom" or path.startswith("/classroom/"):
            answer = self._classroom(method, path, headers, body, address)
        else:
            answer = await self._api(method, raw_path, query, headers, body, address, own_url, receive, send)
        if answer is not None:
            await self._send(send, answer)

    @staticmethod
    async def _send(send, answer: Answer) -> None:
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": http_server._raw_headers(answer.headers)})
        await send({"type": "http.response.body", "body": answer.body})

    def _trouble(self, kind: str, error: BaseException) -> None:
        """One log line (each kind at most once a minute, as the HTTP server's own log), with no key in it."""
        log.error(kind + ": %s", self.redactor.text(f"{type(error).__name__}: {error}"))

    def _note(self, learner_id: int, error: Optional[str] = None, call: Optional[Call] = None) -> None:
        """Count a call on the learner's row; the answer goes out even if that cannot be saved."""
        try:
            self.store.record_call(learner_id, error, call)
        except (sqlite3.Error, OSError) as trouble:
            self._trouble("classroom database trouble", trouble)

    # -- who is asking -----------------------------------------------------------------------------------------

    def _learner(self, headers: dict[str, str], address: str) -> Union[int, Answer]:
        """The learner the request's token belongs to, or the answer for a bad one. An address that keeps
        sending bad tokens is slowed down (``GuessThrottle``)."""
        token = from_headers(headers) or ""
        slowed = self._guessing(address, token)
        if slowed is not None:
            return slowed
        learner_id = self.store.authenticate(token)
        if learner_id is None:
            self.guesses.failed(address, token)
            return self._unauthenticated(headers)
        self.guesses.worked(token)
        return learner_id

    def _guessing(self, address: str, token: str) -> Optional[Answer]:
        wait = self.guesses.wait_s(address, token)
        if not wait:
            return None
        return _error(429, "rate_limit_error", f"Too many requests with tokens that are not valid here came from "
                                               f"your address: wait {wait} s. Check ANTHROPIC_API_KEY against the "
                                               "token your instructor gave you.",
                      retry=True, headers={"retry-after": str(wait)})

    # -- the classroom's own pages -----------------------------------------------------------------------------

    def _classroom(self, method: str, path: str, headers: dict[str, str], body: bytes, address: str = "") -> Answer:
        static = dashboard.STATIC.get(path)
        if static is not None and method == "GET":
            content_type, text = static
            return Answer(200, {"content-type": content_type, **dashboard.SECURITY_HEADERS}, text.encode())
        if path == "/classroom/api/room" and method == "GET":
            presented = from_headers(headers) or ""
            slowed = self._guessing(address, presented)
            if slowed is not None:
                return slowed
            if self.store.is_instructor(presented):
                self.guesses.worked(presented)
            else:
                self.guesses.failed(address, presented)
                parsed = parse_token(presented)
                if parsed is not None and parsed.learner_id is not None:  # said whether or not it is a valid one
                    return _error(401, "authentication_error", "This is a learner token (clsrm-<number>-...), for a "
                                                               "learner's own calls. The dashboard needs the "
                                                               "instructor token (clsrm-instructor-...) printed by "
                                                               "`python -m helpers.classroom serve`.")
                return _error(401, "authentication_error", "The dashboard needs the instructor token (printed by "
                                                           "`python -m helpers.classroom serve`).")
            return _json(dashboard.room(self.store, self.stuck_after, rehearsal=self.upstream.rehearsal))
        if path in ("/classroom/progress", "/classroom/attempts", "/classroom/me"):
            learner_id = self._learner(headers, address)
            if isinstance(learner_id, Answer):
                return learner_id
            if path == "/classroom/me" and method == "GET":
                return _json(dashboard.own_view(self.store.learner(learner_id)))
            if method == "POST":
                if self.limiter.enter(learner_id) is not None:  # reports count against the learner's rate limit
                    return _error(429, "rate_limit_error", "Too many progress reports.", retry=True,
                                  headers={"retry-after": "1"})
                try:
                    return self._progress(learner_id, body) if path == "/classroom/progress" else \
                        self._attempt(learner_id, body)
                finally:
                    self.limiter.leave(learner_id)
        return _error(404, "not_found_error", f"Not found: {method} {path[:200]}")

    def _attempt(self, learner_id: int, body: bytes) -> Answer:
        """An exercise cell starts: calls from now on may vouch for its pass."""
        opened = _json_object(body)
        exercise = opened.get("exercise") if opened else None
        if not isinstance(exercise, str) or not EXERCISE_ID.fullmatch(exercise):
            return _error(400, "invalid_request_error", 'An attempt is {"exercise": "04.1"}.')
        return _json({"attempt": self.store.open_attempt(learner_id, exercise)})

    def _progress(self, learner_id: int, body: bytes) -> Answer:
        report = _json_object(body)
        if report is None or "exercise" not in report or "passed" not in report:
            return _error(400, "invalid_request_error", 'A progress report is {"exercise": "04.1", "passed": true}.')
        exercise, passed = report["exercise"], report["passed"]
        attempt, evidence = report.get("attempt"), report.get("evidence", [])
        if (not isinstance(exercise, str) or not EXERCISE_ID.fullmatch(exercise) or not isinstance(passed, bool)
                or not (attempt is None or isinstance(attempt, str)) or not isinstance(evidence, list)
                or len(evidence) > MAX_EVIDENCE or not all(isinstance(e, str) for e in evidence)):
            return _error(400, "invalid_request_error", 'A progress report is {"exercise": "04.1", "passed": true}: '
                                                        "an exercise number and true or false (with, optionally, "
                                                        '"attempt" and the request ids of its calls in "evidence").')
        why = self.store.record_progress(learner_id, exercise, passed, attempt, tuple(evidence), voucher(exercise))
        return _json({"recorded": True, "verified": not why, **({"unverified": why} if passed and why else {})})

    def _unauthenticated(self, headers: dict[str, str]) -> Answer:
        if from_headers(headers) is None:
            return _error(401, "authentication_error", "x-api-key header is required: this classroom server takes "
                                                       "your classroom token (clsrm-...) as the API key. Ask your "
                                                       "instructor for yours.")
        return _error(401, "authentication_error", "invalid x-api-key: this is not a valid token for this classroom "
                                                   "server. Check ANTHROPIC_API_KEY against the token your "
                                                   "instructor gave you.")

    # -- the API -------------------------------------------------------------------------------------------------

    def _betas(self, headers: dict[str, str]) -> Optional[Answer]:
        """A 400 naming the first ``anthropic-beta`` value the catalog does not list as free, or None."""
        asked = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
        unknown = [b for b in asked if b not in catalog.free_betas()]
        if not unknown:
            return None
        return _error(400, "invalid_request_error",
                      f"anthropic-beta: this classroom server does not forward the beta {unknown[0][:100]!r}: it "
                      "cannot tell what it costs, so your budget could not hold. Leave it out, or ask your "
                      "instructor.")

    def _returned(self, response: httpx2.Response, learner_id: int) -> dict[str, str]:
        """The API's headers the SDK reads, and the learner's own request limit in the API's header names."""
        mine = standing(self.limiter, learner_id)
        return {**self.upstream.returned_headers(response),
                "anthropic-ratelimit-requests-limit": str(mine.limit),
                "anthropic-ratelimit-requests-remaining": str(mine.remaining),
                "anthropic-ratelimit-requests-reset": _rfc3339(mine.reset_s)}

    async def _api(self, method, raw_path, query, headers, body, address, own_url, receive, send) -> Optional[Answer]:
        route = routes.match(method, raw_path, query)
        if route is None:  # before the token, as the API does: a browser's /favicon.ico gets 404, not 401
            return _error(404, "not_found_error", f"This classroom server forwards Messages calls (create, stream), "
                                                  f"count_tokens, models, Message Batches and Files; not {method} "
                                                  f"{raw_path[:200]}.")
        learner_id = self._learner(headers, address)
        if isinstance(learner_id, Answer):
            return learner_id
        slowed = self.limiter.enter(learner_id)
        if slowed is not None:
            what = ("too many of your calls are running at once" if slowed.reason == "concurrency"
                    else "you are sending calls faster than this classroom allows")
            answer = _error(429, "rate_limit_error", f"The classroom server's rate limit: {what}. The SDK waits "
                                                     f"and retries by itself (retry-after: {slowed.retry_after_s} s).",
                            retry=True, headers={"retry-after": str(slowed.retry_after_s)})
            self._note(learner_id, _error_text(429, answer.body))
            return answer
        try:
            refused = self._betas(headers)
            parsed = _json_object(body) if route.name in JSON_ROUTES else None
            if refused is None and route.name in JSON_ROUTES and parsed is None:  # the API bills nothing for these
                refused = _error(400, "invalid_request_error", say("invalid_json"))
            if refused is not None:
                self._note(learner_id, _error_text(400, refused.body))
                return refused
            if route.name in JSON_ROUTES:  # a file that is not the learner's is never named to the API
                refused = self.files.refuse_unowned(learner_id, parsed)
                if refused is not None:
                    return refused
            if route.name.startswith("file_"):
                return await self.files.answer(learner_id, route, headers, body, send)
            if route.name.startswith("batch_"):
                return await self.batches.answer(learner_id, route, headers, body, parsed, own_url, send)
            shape = request_shape(route.name, parsed)
            if route.name != "messages":
                return await self._free_call(learner_id, method, route.target, headers, body, shape)
            return await self._paid_call(learner_id, method, route.target, headers, body, parsed, shape, receive, send)
        finally:
            self.limiter.leave(learner_id)

    async def _free_call(self, learner_id, method, target, headers, body, shape) -> Answer:
        """count_tokens and models: the API charges nothing for them."""
        try:
            response = await self.upstream.send(method, target, headers, body)
        except httpx2.HTTPError as error:
            self._note(learner_id, f"the API could not be reached ({type(error).__name__})")
            return self._unreachable(error)
        try:
            data = _instructor_key_words(response.status_code, await response.aread())
        finally:
            await response.aclose()
        self._note(learner_id, None if response.status_code < 400 else _error_text(response.status_code, data),
                   Call(response.headers.get("request-id"), response.status_code, shape))
        return Answer(response.status_code, self._returned(response, learner_id), data)

    async def _relay(self, learner_id: int, target: str, headers: dict[str, str], send, *,
                     call: Optional[Call] = None, feed=None, before_end=None) -> Optional[Answer]:
        """A GET of the API passed to the learner as it comes: an error whole; a 200 chunk by chunk, each seen by
        ``feed``, with ``before_end`` run before the last byte goes out (what the learner reads next is settled)."""
        try:
            response = await self.upstream.send("GET", target, headers, b"")
        except httpx2.HTTPError as error:
            self._note(learner_id, f"the API could not be reached ({type(error).__name__})")
            return self._unreachable(error)
        if call is not None:
            call = Call(response.headers.get("request-id"), response.status_code, call.shape)
        try:
            if response.status_code != 200:
                data = await response.aread()
                self._note(learner_id, _error_text(response.status_code, data), call)
                return Answer(response.status_code, self._returned(response, learner_id), data)
            await send({"type": "http.response.start", "status": 200,
                        "headers": http_server._raw_headers(self._returned(response, learner_id))})
            async for chunk in response.aiter_bytes():
                if feed is not None:
                    feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if before_end is not None:
                before_end()
            self._note(learner_id, None, call)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return None
        finally:
            await response.aclose()

    @staticmethod
    def _unreachable(error: Exception) -> Answer:
        return _error(502, "api_error", f"The classroom server could not get an answer from the API "
                                        f"({type(error).__name__}). The SDK retries this by itself; if it goes on, "
                                        "tell your instructor.", retry=True)

    async def _paid_call(self, learner_id, method, target, headers, body, parsed, shape, receive,
                         send) -> Optional[Answer]:
        hold = pricing.hold_for(parsed)
        if hold.refusal:
            answer = _error(403, "permission_error", f"This classroom server cannot let this call through: "
                                                     f"{hold.refusal}, so its budget could not hold. "
                                                     + (hold.fix or "Ask your instructor."))
            self._note(learner_id, _error_text(403, answer.body))
            return answer
        reserved = self.store.reserve(learner_id, hold.nano, hold.tokens)
        if isinstance(reserved, Refused):
            learner = self.store.learner(learner_id)
            answer = _error(402, "billing_error", refusal_words(reserved, learner.name if learner else "you"))
            try:
                self.store.record_refusal(learner_id, reserved, _error_text(402, answer.body))
            except (sqlite3.Error, OSError) as trouble:
                self._trouble("classroom database trouble", trouble)
            return answer
        settled = False
        answered: dict[str, Any] = {"request_id": None, "status": 0}

        def settle(nano: int, tokens: int, error: Optional[str] = None) -> None:
            nonlocal settled
            if not settled:
                settled = True
                call = Call(answered["request_id"], answered["status"], shape) if answered["request_id"] else None
                try:
                    self.store.settle(reserved, nano, tokens, error, call)
                except (sqlite3.Error, OSError) as trouble:
                    # The answer still goes out; the reservation stays held, and the next start of the server
                    # charges it at its bound (``Store.recover``): never less than the call may have cost.
                    self._trouble("classroom database trouble", trouble)

        try:
            try:
                response = await self.upstream.send(method, target, headers, body)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
                settle(0, 0, f"the API could not be reached ({type(error).__name__})")  # nothing was sent
                return self._unreachable(error)
            except httpx2.HTTPError as error:
                # Sent, but no answer came back: it may have been answered and billed.
                settle(hold.nano, hold.tokens, f"no answer came back from the API ({type(error).__name__})")
                return self._unreachable(error)
            answered.update(request_id=response.headers.get("request-id"), status=response.status_code)
            try:
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    await self._pass_stream(response, receive, send, hold, settle, learner_id)
                    return None
                return await self._pass_message(response, hold, settle, learner_id)
            finally:
                await response.aclose()
        finally:
            if not settled:  # cancelled or failed half-way: the call may have been billed in full
                settle(hold.nano, hold.tokens, "the call was interrupted before its usage was known")

    async def _pass_message(self, response: httpx2.Response, hold: pricing.Hold, settle, learner_id: int) -> Answer:
        try:
            data = _instructor_key_words(response.status_code, await response.aread())
        except httpx2.HTTPError as error:
            settle(hold.nano, hold.tokens, f"the API's answer broke off ({type(error).__name__})")
            return self._unreachable(error)
        status = response.status_code
        if status != 200:
            settle(0, 0, _error_text(status, data))
        else:
            try:
                message = json.loads(data)
                tokens, nano = pricing.cost_of(message.get("model"), message.get("usage") or {})
                settle(nano, tokens)
            except (ValueError, AttributeError):
                settle(hold.nano, hold.tokens, "the API's answer had no usage the server could read")
        return Answer(status, self._returned(response, learner_id), data)

    async def _pass_stream(self, response: httpx2.Response, receive, send, hold: pricing.Hold, settle,
                           learner_id: int) -> None:
        """Event by event, as they come; stop as soon as the learner has gone."""
        watch = _StreamWatch()
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": http_server._raw_headers(self._returned(response, learner_id))})
        # The learner leaving stops the pass-through at once, even while the API's next bytes are awaited
        # (a stalled stream must not keep its reservation, or the API's connection, for ever).
        this = asyncio.current_task()
        left = False

        async def watch_learner() -> None:
            nonlocal left
            await http_server._until_disconnect(receive)
            left = True
            this.cancel()

        watcher = asyncio.ensure_future(watch_learner())
        broke: Optional[str] = None
        complete = False
        try:
            async for chunk in response.aiter_bytes():
                watch.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            watcher.cancel()
            complete = True
        except asyncio.CancelledError:
            if not left:
                raise  # the server is stopping: the call is settled at its bound (_paid_call)
            if hasattr(this, "uncancel"):  # Python 3.11+: the task is no longer being cancelled
                this.uncancel()
            broke = "the stream was closed before its end"
        except httpx2.HTTPError as error:
            broke = f"the API's stream broke off ({type(error).__name__})"
        finally:
            watcher.cancel()
        if watch.final and not broke:
            tokens, nano = pricing.cost_of(watch.message.get("model"), watch.message.get("usage") or {})
            settle(nano, tokens, watch.error)
        elif watch.final:
            tokens, nano = pricing.cost_of(watch.message.get("model"), watch.message.get("usage") or {})
            settle(nano, tokens, broke)
        else:
            settle(hold.nano, hold.tokens, watch.error or broke or "the stream ended before its final usage")
        if complete:  # settled first: when the learner's SDK sees the stream end, the charge is already there
            await send({"type": "http.response.body", "body": b"", "more_body": False})
