"""The in-process adapter: an ``httpx2`` transport that answers from the offline backend.

The SDK's client sends real HTTP requests through it, so the SDK's own request
building, retries, error classes and stream parsing all run unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Iterator

import httpx2

from . import app


class _Chunks(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self):
        for chunk in self._chunks:
            yield chunk
            await asyncio.sleep(0)  # let other streams run between events, as a network would

    # Closing the response (the client stopped reading) ends the stream's work at once.
    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        self.close()


def _answer(request: httpx2.Request) -> httpx2.Response:
    headers = {key.lower(): value for key, value in request.headers.items()}
    outcome = app.handle(request.method, request.url.raw_path.decode("ascii"), headers, request.content)
    if isinstance(outcome, app.Stall):
        raise httpx2.ReadTimeout("The read operation timed out", request=request)
    if isinstance(outcome, app.Drop):
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if isinstance(outcome, app.Stream):
        return httpx2.Response(outcome.status, headers=outcome.headers, stream=_Chunks(outcome.chunks), request=request)
    return httpx2.Response(outcome.status, headers=outcome.headers, content=outcome.body, request=request)


class OfflineTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Serves sync and async clients alike."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        return _answer(request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return _answer(request)
