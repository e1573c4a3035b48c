"""Exercise graders: ``check.lesson02.history(conversation)`` and friends.

Graders look at mechanics (roles, what was sent, which stop reason was handled),
never at the model's wording, so they grade the same offline and live. They never
raise: a wrong or unfinished answer gets a hint that names the mechanic.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import importlib
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

import anthropic
import httpx2

from ..connection import OFFLINE_BASE_URL, OFFLINE_KEY
from ..offline.transport import OfflineTransport
from ..usage import RecordingTransport, UsageLog, usage_log

LESSONS = ("lesson00", "lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson06", "lesson07")


@dataclass(frozen=True)
class Result:
    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark = "✅ Correct" if self.passed else "❌ Not yet"
        return f"{mark} ({self.exercise}): {self.message}"

    def _repr_html_(self) -> str:
        """The notebook's view: wraps between words in a narrow column. All text is escaped, since a message
        can quote what the learner sent; `code` spans are made after escaping, so they add only <code> tags."""
        # Text marks rather than emoji in the rich view: they render with any font.
        mark, color = ("✔ Correct", "#2e7d32") if self.passed else ("✘ Not yet", "#c62828")
        exercise = html.escape(self.exercise, quote=True)
        message = _CODE_SPAN.sub(r"<code>\1</code>", html.escape(self.message, quote=True))
        return (f'<div class="kit-grader-result" style="border-left: 4px solid {color}; padding: 2px 0 2px 10px; '
                f'line-height: 1.5; white-space: normal; overflow-wrap: break-word; word-break: normal">'
                f'<b style="color: {color}">{mark}</b> <span style="opacity: 0.75">({exercise})</span>'
                f'<div>{message}</div></div>')


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def correct(message: str) -> Result:
    return Result("", True, message)


def hint(message: str) -> Result:
    return Result("", False, message)


def grader(exercise: str) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Name a grader's results after its exercise; an unexpected error becomes a hint, not a traceback."""

    def wrap(function: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(function)
        def graded(*args: Any, **kwargs: Any) -> Result:
            editors = [a for a in (*args, *kwargs.values()) if _is_editor(a)]
            if any(e.last_reply is None for e in editors):
                return Result(exercise, False, "nothing was sent from the editor yet: build the turns, click Send, "
                                               "then run the grader again.")
            args = tuple(a.last_reply if _is_editor(a) else a for a in args)
            kwargs = {k: v.last_reply if _is_editor(v) else v for k, v in kwargs.items()}
            try:
                result = function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a learner's answer can be anything
                result = hint(f"the grader could not inspect your answer ({type(error).__name__}: {error}). "
                              "Check the exercise's instructions for what to pass in.")
            return dataclasses.replace(result, exercise=exercise)

        return graded

    return wrap


def _is_editor(value: Any) -> bool:
    """A HistoryEditor stands for its last reply, so exercises can be done in the editor."""
    editor_module = sys.modules.get("helpers.history_editor")
    return editor_module is not None and isinstance(value, editor_module.HistoryEditor)


def is_message(value: Any) -> bool:
    return isinstance(value, anthropic.types.Message)


def grader_client(log: Optional[UsageLog] = None) -> anthropic.Anthropic:
    """An in-process offline client for a grader's own calls: no retries, recorded in ``log``
    (a fresh one by default), so grading never shows up in the learner's usage log or viewer."""
    transport = RecordingTransport(OfflineTransport(), offline=True, log=log if log is not None else UsageLog())
    return anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


def sent_request(message: Any) -> Optional[dict]:
    """The request body that produced ``message``, from the usage log (calls made with ``connect()``)."""
    if not is_message(message):
        return None
    record = usage_log.find(message.id)
    return record.request if record else None


def __getattr__(name: str) -> Any:
    if name in LESSONS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
