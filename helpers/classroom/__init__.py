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
from typing import Optional, Sequence

from .tokens import is_classroom_token

PROGRESS_PATH = "/classroom/progress"
ATTEMPTS_PATH = "/classroom/attempts"
REPORT_TIMEOUT_S = 3.0
ATTEMPT_TIMEOUT_S = 2.0
_EXERCISE = re.compile(r"\d\d\.\d{1,3}")
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


def _post(url: str, token: str, payload: dict) -> urllib.request.Request:
    return urllib.request.Request(url, method="POST", data=json.dumps(payload).encode(),
                                  headers={"content-type": "application/json", "x-api-key": token})


def open_attempt(exercise: str) -> Optional[str]:
    """Tell the classroom server that an exercise cell starts, so that the calls it makes from now on can vouch
    for its pass; returns the server's attempt id (None without a classroom server, or if it does not answer).
    Waits for the answer (a few milliseconds on a room's network), since the cell's first call must come after."""
    try:
        found = _classroom_credentials()
        if found is None or not isinstance(exercise, str) or not _EXERCISE.fullmatch(exercise):
            return None
        url, token = found
        with urllib.request.urlopen(_post(url + ATTEMPTS_PATH, token, {"exercise": exercise}),  # noqa: S310
                                    timeout=ATTEMPT_TIMEOUT_S) as response:
            attempt = json.loads(response.read()).get("attempt")
        return attempt if isinstance(attempt, str) else None
    except Exception:  # noqa: BLE001 - a classroom server that does not answer must never disturb the learner
        return None


def _send(url: str, token: str, exercise: str, passed: bool, attempt: Optional[str], evidence: list[str]) -> None:
    payload = {"exercise": exercise, "passed": passed, **({"attempt": attempt} if attempt else {}),
               **({"evidence": evidence} if evidence else {})}
    request = _post(url + PROGRESS_PATH, token, payload)
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


def report(exercise: str, passed: bool, attempt: Optional[str] = None, evidence: Sequence[str] = ()
           ) -> Optional[threading.Thread]:
    """Tell the classroom server an exercise's result: its number, pass or fail, the attempt it graded, and the
    request ids of the calls it graded (which the server checks against its own records); nothing else (no code,
    no prompt). Sent in the background; returns the thread (None when there is no classroom server to tell)."""
    try:
        found = _classroom_credentials()
        if found is None or not isinstance(exercise, str) or not _EXERCISE.fullmatch(exercise):
            return None
        ids = [i for i in dict.fromkeys(evidence) if isinstance(i, str) and i][:50]
        thread = threading.Thread(target=_send, args=(*found, exercise, bool(passed), attempt, ids), daemon=True,
                                  name="classroom-progress")
        with _in_flight_lock:
            _in_flight.add(thread)
        thread.start()
        return thread
    except Exception:  # noqa: BLE001 - never break a grader
        return None
