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
import re
from dataclasses import dataclass
from typing import Any, Optional

import httpx2

from ..offline import server as http_server
from ..offline.errors import error_body
from ..offline.ids import new_id
from ..usage import _StreamedMessage
from . import dashboard, pricing
from .limits import RateLimiter, RateLimits
from .store import Refused, Store
from .tokens import from_headers
from .tokens import parse as parse_token
from .upstream import Upstream

EXERCISE_ID = re.compile(r"^\d\d\.\d{1,3}$")
API_ROUTES = {("POST", "/v1/messages"): "messages", ("POST", "/v1/messages/count_tokens"): "count_tokens"}
JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _error(status: int, error_type: str, message: str, *, retry: bool = False, headers: Optional[dict] = None) -> Answer:
    request_id = new_id("req")
    body = json.dumps(error_body(error_type, message, request_id)).encode()
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


class Classroom:
    """The ASGI app. ``store`` keeps the state, ``upstream`` answers the calls."""

    def __init__(self, store: Store, upstream: Upstream, limits: RateLimits = RateLimits(), *,
                 stuck_after: int = 3):
        self.store = store
        self.upstream = upstream
        self.limiter = RateLimiter(limits)
        self.stuck_after = stuck_after

    # -- ASGI --------------------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"].upper(), scope["path"].rstrip("/") or "/"
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            body = await http_server._body(receive, headers)
        except http_server._ClientGone:
            return
        if body is None:
            answer = _error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
        elif path.startswith("/classroom"):
            answer = self._classroom(method, path, headers, body)
        else:
            answer = await self._api(method, path, target, headers, body, receive, send)
        if answer is not None:
            await self._send(send, answer)

    @staticmethod
    async def _send(send, answer: Answer) -> None:
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": http_server._raw_headers(answer.headers)})
        await send({"type": "http.response.body", "body": answer.body})

    # -- the classroom's own pages -----------------------------------------------------------------------------

    def _classroom(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        static = dashboard.STATIC.get(path)
        if static is not None and method == "GET":
            content_type, text = static
            return Answer(200, {"content-type": content_type, **dashboard.SECURITY_HEADERS}, text.encode())
        if path == "/classroom/api/room" and method == "GET":
            presented = from_headers(headers) or ""
            if not self.store.is_instructor(presented):
                parsed = parse_token(presented)
                if parsed is not None and parsed.learner_id is not None:  # said whether or not it is a valid one
                    return _error(401, "authentication_error", "This is a learner token (clsrm-<number>-...), for a "
                                                               "learner's own calls. The dashboard needs the "
                                                               "instructor token (clsrm-instructor-...) printed by "
                                                               "`python -m helpers.classroom serve`.")
                return _error(401, "authentication_error", "The dashboard needs the instructor token (printed by "
                                                           "`python -m helpers.classroom serve`).")
            return _json(dashboard.room(self.store, self.stuck_after, rehearsal=self.upstream.rehearsal))
        if path in ("/classroom/progress", "/classroom/me"):
            learner_id = self.store.authenticate(from_headers(headers) or "")
            if learner_id is None:
                return self._unauthenticated(headers)
            if path == "/classroom/me" and method == "GET":
                return _json(dashboard.own_view(self.store.learner(learner_id)))
            if path == "/classroom/progress" and method == "POST":
                if self.limiter.enter(learner_id) is not None:  # reports count against the learner's rate limit
                    return _error(429, "rate_limit_error", "Too many progress reports.", retry=True,
                                  headers={"retry-after": "1"})
                try:
                    return self._progress(learner_id, body)
                finally:
                    self.limiter.leave(learner_id)
        return _error(404, "not_found_error", f"Not found: {method} {path}")

    def _progress(self, learner_id: int, body: bytes) -> Answer:
        try:
            report = json.loads(body)
            exercise, passed = report["exercise"], report["passed"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request_error", 'A progress report is {"exercise": "04.1", "passed": true}.')
        if not isinstance(exercise, str) or not EXERCISE_ID.match(exercise) or not isinstance(passed, bool):
            return _error(400, "invalid_request_error", 'A progress report is {"exercise": "04.1", "passed": true}: '
                                                        "an exercise number and true or false.")
        self.store.record_progress(learner_id, exercise, passed)
        return _json({"recorded": True})

    def _unauthenticated(self, headers: dict[str, str]) -> Answer:
        if from_headers(headers) is None:
            return _error(401, "authentication_error", "x-api-key header is required: this classroom server takes "
                                                       "your classroom token (clsrm-...) as the API key. Ask your "
                                                       "instructor for yours.")
        return _error(401, "authentication_error", "invalid x-api-key: this is not a valid token for this classroom "
                                                   "server. Check ANTHROPIC_API_KEY against the token your "
                                                   "instructor gave you.")

    # -- the API -------------------------------------------------------------------------------------------------

    async def _api(self, method, path, target, headers, body, receive, send) -> Optional[Answer]:
        route = API_ROUTES.get((method, path))
        if route is None and method == "GET" and (path == "/v1/models" or path.startswith("/v1/models/")):
            route = "models"
        if route is None:  # before the token, as the API does: a browser's /favicon.ico gets 404, not 401
            return _error(404, "not_found_error", f"This classroom server forwards Messages calls (create, stream), "
                                                  f"count_tokens and models; not {method} {path}.")
        learner_id = self.store.authenticate(from_headers(headers) or "")
        if learner_id is None:
            return self._unauthenticated(headers)
        slowed = self.limiter.enter(learner_id)
        if slowed is not None:
            what = ("too many of your calls are running at once" if slowed.reason == "concurrency"
                    else "you are sending calls faster than this classroom allows")
            answer = _error(429, "rate_limit_error", f"The classroom server's rate limit: {what}. The SDK waits "
                                                     f"and retries by itself (retry-after: {slowed.retry_after_s} s).",
                            retry=True, headers={"retry-after": str(slowed.retry_after_s)})
            self.store.record_call(learner_id, _error_text(429, answer.body))
            return answer
        try:
            if route != "messages":
                return await self._free_call(learner_id, method, target, headers, body)
            return await self._paid_call(learner_id, method, target, headers, body, receive, send)
        finally:
            self.limiter.leave(learner_id)

    async def _free_call(self, learner_id, method, target, headers, body) -> Answer:
        """count_tokens and models: the API charges nothing for them."""
        try:
            response = await self.upstream.send(method, target, headers, body)
        except httpx2.HTTPError as error:
            self.store.record_call(learner_id, f"the API could not be reached ({type(error).__name__})")
            return self._unreachable(error)
        try:
            data = _instructor_key_words(response.status_code, self.upstream.scrub(await response.aread()))
        finally:
            await response.aclose()
        self.store.record_call(learner_id, None if response.status_code < 400 else _error_text(response.status_code, data))
        return Answer(response.status_code, self.upstream.returned_headers(response), data)

    @staticmethod
    def _unreachable(error: Exception) -> Answer:
        return _error(502, "api_error", f"The classroom server could not get an answer from the API "
                                        f"({type(error).__name__}). The SDK retries this by itself; if it goes on, "
                                        "tell your instructor.", retry=True)

    async def _paid_call(self, learner_id, method, target, headers, body, receive, send) -> Optional[Answer]:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None  # the API answers 400 and bills nothing
        hold = pricing.hold_for(parsed)
        if hold.refusal:
            answer = _error(403, "permission_error", f"This classroom server cannot let this call through: "
                                                     f"{hold.refusal}, so its budget could not hold. "
                                                     + (hold.fix or "Ask your instructor."))
            self.store.record_call(learner_id, _error_text(403, answer.body))
            return answer
        reserved = self.store.reserve(learner_id, hold.nano, hold.tokens)
        if isinstance(reserved, Refused):
            learner = self.store.learner(learner_id)
            answer = _error(402, "billing_error", refusal_words(reserved, learner.name if learner else "you"))
            self.store.record_refusal(learner_id, reserved, _error_text(402, answer.body))
            return answer
        settled = False

        def settle(nano: int, tokens: int, error: Optional[str] = None) -> None:
            nonlocal settled
            if not settled:
                settled = True
                self.store.settle(reserved, nano, tokens, error)

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
            try:
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    await self._pass_stream(response, receive, send, hold, settle)
                    return None
                return await self._pass_message(response, hold, settle)
            finally:
                await response.aclose()
        finally:
            if not settled:  # cancelled or failed half-way: the call may have been billed in full
                settle(hold.nano, hold.tokens, "the call was interrupted before its usage was known")

    async def _pass_message(self, response: httpx2.Response, hold: pricing.Hold, settle) -> Answer:
        try:
            data = _instructor_key_words(response.status_code, self.upstream.scrub(await response.aread()))
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
        return Answer(status, self.upstream.returned_headers(response), data)

    async def _pass_stream(self, response: httpx2.Response, receive, send, hold: pricing.Hold, settle) -> None:
        """Event by event, as they come; stop as soon as the learner has gone."""
        watch = _StreamWatch()
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": http_server._raw_headers(self.upstream.returned_headers(response))})
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
        try:
            async for chunk in response.aiter_bytes():
                watch.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            watcher.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
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
