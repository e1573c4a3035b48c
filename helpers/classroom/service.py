"""Putting the classroom server together: the store, the upstream, the app, and the HTTP server that runs it
(the offline backend's hardened uvicorn server: connection limits, timeouts, body cap, bounded logs)."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from ..offline import server as http_server
from . import tokens as tk
from .limits import FileLimits, RateLimits
from .proxy import Classroom
from .redaction import Redactor
from .store import SqliteStore, StorageError, storage_trouble
from .upstream import API_URL, Upstream

DEFAULT_PORT = 8780
DEFAULT_DB = "classroom.sqlite3"


@dataclass
class Started:
    app: Classroom
    store: SqliteStore
    instructor_token: str
    recovered: int  # reservations a previous run left, settled at their bound
    stop_watching_logs: Callable[[], None] = lambda: None


def build(db: Union[str, Path], *, key: Optional[str], upstream_url: str = API_URL, limits: RateLimits = RateLimits(),
          instructor_secret: Optional[str] = None, transport=None, stuck_after: int = 3,
          file_limits: FileLimits = FileLimits()) -> Started:
    """The app on ``db``. A new instructor token each run unless ``instructor_secret`` is given. A database that
    cannot be opened or written raises ``StorageError``, whose message names the file and the fix."""
    redactor = Redactor(key)
    store = SqliteStore(db, run_id=uuid.uuid4().hex, redact=redactor.text)
    try:
        recovered = store.recover()
        secret = instructor_secret or tk.new_secret()
        store.set_instructor_secret(secret)
    except (sqlite3.Error, OSError) as error:
        store.close()
        raise StorageError(storage_trouble(str(db), error)) from None
    store.checkpoint_in_background()
    upstream = Upstream(key=key, url=upstream_url, transport=transport)
    app = Classroom(store, upstream, limits, stuck_after=stuck_after, redactor=redactor, file_limits=file_limits)
    return Started(app, store, tk.instructor_token(secret), recovered, redactor.watch_logs())


class RunningClassroom:
    """A classroom server in a background thread (tests, the bench); ``stop()`` ends it."""

    def __init__(self, started: Started, host: str = http_server.DEFAULT_HOST, port: int = 0, *,
                 limits: http_server.Limits = http_server.Limits()):
        self.started = started
        self._server = http_server.LoopbackServer(host, port, limits=limits, asgi=started.app)
        self.url = self._server.url
        self.port = self._server.port

    @property
    def store(self) -> SqliteStore:
        return self.started.store

    @property
    def instructor_token(self) -> str:
        return self.started.instructor_token

    def stop(self) -> None:
        self._server.stop()
        self.started.store.close()
        self.started.stop_watching_logs()


@contextmanager
def running(db: Union[str, Path], **options) -> Iterator[RunningClassroom]:
    server = RunningClassroom(build(db, **options))
    try:
        yield server
    finally:
        server.stop()
