"""SDK middleware for tests: counts the Messages requests that reach the HTTP layer (one per attempt)."""

from __future__ import annotations

import threading

import anthropic


class CallCounter(anthropic.Middleware):
    """Put it after the budget guard (``connect(middleware=[counter])``): it sees what the guard let through."""

    def __init__(self):
        self.sent = 0
        self._lock = threading.Lock()

    def _count(self, request):
        if request.url.split("?")[0].rstrip("/") == "/v1/messages":
            with self._lock:
                self.sent += 1

    def handle(self, request, call_next):
        self._count(request)
        return call_next(request)

    async def handle_async(self, request, call_next):
        self._count(request)
        return await call_next(request)
