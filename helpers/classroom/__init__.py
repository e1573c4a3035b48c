"""A classroom server: one instructor key, many learners, a budget each, and a live view of the room.

``python -m helpers.classroom serve`` forwards learners' Messages API calls to the API with the
instructor's key (or, with no key, to the kit's offline backend: a rehearsal). Each learner uses
a classroom token as their ``ANTHROPIC_API_KEY`` and the server as their ``ANTHROPIC_BASE_URL``,
so ``connect()`` and every lesson work unchanged. See the README's "Running a classroom".

This module itself is what the kit's graders call (``report``): it stays light, and the server's
parts are imported only by the server.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import urllib.request
from typing import Optional

from .tokens import is_classroom_token

PROGRESS_PATH = "/classroom/progress"
REPORT_TIMEOUT_S = 3.0
_EXERCISE = re.compile(r"^\d\d\.\d{1,3}$")
_in_flight: set[threading.Thread] = set()
_in_flight_lock = threading.Lock()


def _classroom_credentials() -> Optional[tuple[str, str]]:
    """The classroom server's URL and this learner's token, when the kit is connected to one; otherwise None
    (the real API, offline mode, or no token: then nothing is ever sent)."""
    if os.environ.get("KIT_MODE", "").strip().lower() == "offline":
        return None
    token = next((os.environ.get(n, "").strip() for n in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
                  if os.environ.get(n, "").strip()), "")
    url = os.environ.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/")
    if not is_classroom_token(token) or not url.startswith(("http://", "https://")):
        return None
    return url, token


def _send(url: str, token: str, exercise: str, passed: bool) -> None:
    request = urllib.request.Request(
        url + PROGRESS_PATH, method="POST", data=json.dumps({"exercise": exercise, "passed": passed}).encode(),
        headers={"content-type": "application/json", "x-api-key": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=REPORT_TIMEOUT_S) as response:  # noqa: S310 - http(s) only
            response.read()
    except Exception:  # noqa: BLE001 - a report that fails must never disturb the learner
        pass
    finally:
        with _in_flight_lock:
            _in_flight.discard(threading.current_thread())


@atexit.register
def _finish_reports() -> None:
    """Let reports still on their way finish when the kernel stops (a daemon thread would be cut off), for at
    most one report's timeout in all: the last exercise of a notebook run top to bottom is reported too."""
    deadline = time.monotonic() + REPORT_TIMEOUT_S
    with _in_flight_lock:
        pending = list(_in_flight)
    for thread in pending:
        thread.join(max(0.0, deadline - time.monotonic()))


def report(exercise: str, passed: bool) -> Optional[threading.Thread]:
    """Tell the classroom server an exercise's result: its number and pass or fail, nothing else (no code, no
    prompt). Sent in the background; returns the thread (None when there is no classroom server to tell)."""
    try:
        found = _classroom_credentials()
        if found is None or not isinstance(exercise, str) or not _EXERCISE.match(exercise):
            return None
        thread = threading.Thread(target=_send, args=(*found, exercise, bool(passed)), daemon=True,
                                  name="classroom-progress")
        with _in_flight_lock:
            _in_flight.add(thread)
        thread.start()
        return thread
    except Exception:  # noqa: BLE001 - never break a grader
        return None
