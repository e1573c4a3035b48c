"""The one place where the instructor's key is taken out of whatever the classroom server sends or keeps.

The server's answers pass through ``Redactor.guard`` (every header and body byte of every response,
a stream's events included), its stored text through ``Redactor.text`` (errors in the database,
hence the dashboard and ``status``), and its log records through ``Redactor.watch_logs``. A stream may split the key across two chunks: the guard holds
back a chunk's tail while it could be the start of the key, and lets it go with the next chunk.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Optional

REPLACEMENT = "[the instructor's key]"
LOGGERS = ("helpers.classroom", "httpx2", "httpcore2.connection", "httpcore2.http11", "httpcore2.http2",
           "httpcore2.proxy", "httpcore2.socks", "uvicorn.error", "uvicorn.access")
"""The loggers that can see what the API sent (the HTTP client's debug trace prints its headers)."""


class Redactor:
    def __init__(self, secret: Optional[str]):
        self._secret = secret.encode() if secret else None
        self._replacement = REPLACEMENT.encode()

    def bytes(self, data: bytes) -> bytes:
        if self._secret is None or self._secret not in data:
            return data
        return data.replace(self._secret, self._replacement)

    def text(self, value: Optional[str]) -> Optional[str]:
        if value is None or self._secret is None:
            return value
        return self.bytes(value.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")

    def _held_back(self, data: bytes) -> int:
        """How many bytes at the end of ``data`` could be the start of the key (the longest such tail).

        Only the places in the last ``len(key) - 1`` bytes where the key's first byte is are tried: a chunk
        of a stream is looked at once, not once per length the key's start could have."""
        secret = self._secret
        first = secret[:1]
        at = data.find(first, max(0, len(data) - len(secret) + 1))
        while at != -1:
            if secret.startswith(data[at:]):
                return len(data) - at
            at = data.find(first, at + 1)
        return 0

    def guard(self, send: Callable[[dict], Awaitable[None]]) -> Callable[[dict], Awaitable[None]]:
        """An ASGI ``send`` that passes on only redacted headers and bodies."""
        if self._secret is None:
            return send
        carry = b""

        async def redacted_send(message: dict) -> None:
            nonlocal carry
            if message["type"] == "http.response.start":
                headers = [(k, self.bytes(v)) for k, v in message.get("headers", [])]
                await send({**message, "headers": headers})
            elif message["type"] == "http.response.body":
                data = self.bytes(carry + message.get("body", b""))
                more = message.get("more_body", False)
                keep = self._held_back(data) if more else 0
                carry = data[len(data) - keep:] if keep else b""
                await send({**message, "body": data[:len(data) - keep]})
            else:
                await send(message)

        return redacted_send

    def filter(self, record: logging.LogRecord) -> bool:
        """As a ``logging`` filter: the record's message, with the key taken out."""
        message = record.getMessage()
        if self._secret is not None and self._secret.decode() in message:
            record.msg, record.args = self.text(message), None
        return True

    def watch_logs(self) -> Callable[[], None]:
        """Redact the records of ``LOGGERS``; returns the function that stops it."""
        if self._secret is None:
            return lambda: None
        for name in LOGGERS:
            logging.getLogger(name).addFilter(self)
        return lambda: [logging.getLogger(name).removeFilter(self) for name in LOGGERS] and None
