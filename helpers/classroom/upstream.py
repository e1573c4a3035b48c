"""Where the classroom sends learners' calls: the Anthropic API with the instructor's key, or, in a
rehearsal, the kit's offline backend in this process.

The API is reached with an ``httpx2.AsyncClient``; a rehearsal calls the offline backend's ``app.handle``
directly (no HTTP in between) and wraps its outcome in the same ``httpx2.Response``. The key is
added here, to the request that leaves for the API, and nowhere else: it is not kept in any
other object, printed, or written to a file (should an answer quote it, ``redaction`` takes it out).
"""

from __future__ import annotations

import asyncio
import os
from typing import Iterator, Optional

import httpx2

from ..offline import app as offline_app
from . import tokens as tk

API_URL = "https://api.anthropic.com"
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
REHEARSAL_KEY = "rehearsal-no-key"
"""Sent to the in-process offline backend only; it is not a credential."""

# Headers of a learner's request that go on to the API, and nothing else: its credential never does (the
# instructor's is added here), nor headers that would pick a workspace or profile of the instructor's account.
# ``anthropic-beta`` arrives here already checked against the catalog (see ``proxy``).
FORWARDED = frozenset({"anthropic-version", "anthropic-beta", "content-type", "accept", "user-agent"})
FORWARDED_PREFIXES = ("x-stainless-",)  # the SDK's own description of itself (language, version, retry count)
# Headers of the API's answer that reach the learner: those the SDK reads. Nothing that describes the
# instructor's organisation or account (its id, its rate limits) goes back.
RETURNED = frozenset({"content-type", "request-id", "retry-after", "retry-after-ms", "x-should-retry"})


class SetupError(ValueError):
    """The server cannot start as asked; the message says how to fix it."""


def instructor_key() -> Optional[str]:
    """The instructor's key from the environment or the nearest ``.env`` (read as ``connect()`` reads it)."""
    from ..connection import _load_dotenv  # noqa: PLC0415 - only the serve command needs it

    _load_dotenv()
    for name in KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            if tk.is_classroom_token(value):
                raise SetupError(f"{name} holds a classroom token (clsrm-...), not an API key: the server would send "
                                 "it to the API. Put the instructor's Anthropic API key there, or unset it to "
                                 "rehearse offline.")
            return value
    return None


class _Events(httpx2.AsyncByteStream):
    """The offline backend's stream events, as an httpx2 stream. The events are computed as they are read,
    in this thread; the classroom sends each on as it comes (uvicorn's writes let other requests in)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    async def __aiter__(self):
        for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


INLINE_BODY_BYTES = 256 * 1024
"""Rehearsal requests up to this size are answered on the event loop (a few milliseconds at most)."""


async def _rehearse(method: str, target: str, headers: dict[str, str], body: bytes) -> httpx2.Response:
    """The offline backend's answer as an ``httpx2.Response``; network faults become the errors httpx2 raises
    for them. A large request is computed in a worker thread so that it does not hold up the others; a small
    one is computed here, as the offline backend's own server does: handing it to a thread costs more than
    it takes, as the threads then wait on each other for the interpreter's lock."""
    if len(body) > INLINE_BODY_BYTES:
        outcome = await asyncio.to_thread(offline_app.handle, method, target, headers, body)
    else:
        outcome = offline_app.handle(method, target, headers, body)
    if isinstance(outcome, offline_app.Stall):
        await asyncio.sleep(outcome.seconds)
        raise httpx2.ReadTimeout("The read operation timed out")
    if isinstance(outcome, offline_app.Drop):
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")
    if isinstance(outcome, offline_app.Stream):
        return httpx2.Response(outcome.status, headers=outcome.headers, stream=_Events(outcome.chunks))
    return httpx2.Response(outcome.status, headers=outcome.headers, content=outcome.body)


class Upstream:
    """Sends a learner's request on with the instructor's credential; ``rehearsal`` says it is the offline backend."""

    def __init__(self, *, key: Optional[str], url: str = API_URL, transport: Optional[httpx2.AsyncBaseTransport] = None):
        self.rehearsal = key is None
        self.url = "offline backend (in this process)" if self.rehearsal else url.rstrip("/")
        self._auth = {"x-api-key": REHEARSAL_KEY} if key is None else {"authorization": f"Bearer {key}"}
        self.client = None if self.rehearsal else httpx2.AsyncClient(
            base_url=url.rstrip("/"), transport=transport,
            # The SDK's own defaults: 10 minutes for an answer, 5 s to connect; no redirects.
            timeout=httpx2.Timeout(600.0, connect=5.0),
            limits=httpx2.Limits(max_connections=256, max_keepalive_connections=64),
            follow_redirects=False,
        )

    async def send(self, method: str, target: str, headers: dict[str, str], body: bytes) -> httpx2.Response:
        """The API's response, streamed (read it with ``aiter_bytes``, then ``aclose``)."""
        forwarded = {k: v for k, v in headers.items() if k in FORWARDED or k.startswith(FORWARDED_PREFIXES)}
        if self.client is None:
            return await _rehearse(method, target, {**forwarded, **self._auth}, body)
        request = self.client.build_request(method, target, headers={**forwarded, **self._auth}, content=body)
        return await self.client.send(request, stream=True)

    @staticmethod
    def returned_headers(response: httpx2.Response) -> dict[str, str]:
        return {k.lower(): v for k, v in response.headers.items() if k.lower() in RETURNED}

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
