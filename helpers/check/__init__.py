"""Exercise graders: ``check.lesson02.history(conversation)`` and friends.

Graders look at mechanics (roles, what was sent, which stop reason was handled),
never at the model's wording, so they grade the same offline and live. They never
raise: a wrong or unfinished answer gets a message that names the mechanic and the
next step. Hints are opt-in (``check.hint("04.1")``), so a notebook's stored output
of an unsolved exercise never gives the answer away.

A grader checks that *this* exercise was done: the request it inspects carries the
exercise's own inputs, comes from the usage log (a client from ``connect()``) and,
when the exercise cell runs its code inside ``with check.attempt("04.1"):``, was
made by that run. Functions the learner writes are called on inputs drawn at random
for each run (``seed=`` repeats a run).

The graders hold their own references: a name of this package or of a lesson's module
that a notebook replaces (``check.not_yet = check.correct``) is put back before the
next grade, always reads as the kit's own from outside, and every report from then on
says that the kit's graders were patched. The usage log they read takes only records
sealed by the kit's transport, and ``logged()`` refuses one changed since.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import html
import importlib
import random
import re
import sys
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import anthropic
import httpx2

from .. import classroom
from ..connection import OFFLINE_BASE_URL, OFFLINE_KEY
from ..offline.transport import OfflineTransport
from .. import catalog
from ..usage import Record, RecordingTransport, UsageLog, _cache_split, sealed_by_kit, usage_log

LESSONS = tuple(sorted(path.stem for path in Path(__file__).parent.glob("lesson[0-9][0-9].py")))
"""One grader module per lesson, found by name, so a new lesson's module needs no entry here."""
EXERCISE_ID = re.compile(r"^(\d\d)\.(\d+)$")


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
        return _card(mark, color, self.exercise, self.message)


def _card(mark: str, color: str, exercise: str, message: str) -> str:
    """A result or hint as HTML that wraps between words in a narrow column; all text is escaped."""
    exercise = html.escape(exercise, quote=True)
    message = _CODE_SPAN.sub(r"<code>\1</code>", html.escape(message, quote=True))
    return (f'<div class="kit-grader-result" style="border-left: 4px solid {color}; padding: 2px 0 2px 10px; '
            f'line-height: 1.5; white-space: normal; overflow-wrap: break-word; word-break: normal">'
            f'<b style="color: {color}">{mark}</b> <span style="opacity: 0.75">({exercise})</span>'
            f'<div>{message}</div></div>')


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def correct(message: str) -> Result:
    return Result("", True, message)


def not_yet(message: str) -> Result:
    return Result("", False, message)


# --- attempts: the exercise cell's own run ------------------------------------------------------------------------

@dataclass
class Attempt:
    """One run of an exercise's code: when it started, and the exception it raised, if any."""

    exercise: str
    started: float  # time.perf_counter(), the clock of the usage log's ``sent_at``
    error: Optional[BaseException] = None
    classroom_attempt: Optional[str] = None  # the classroom server's id for this run, when there is a server


_attempts: dict[str, Attempt] = {}


@contextlib.contextmanager
def attempt(exercise: str) -> Iterator[Attempt]:
    """Run an exercise's code: the grader called next in the cell grades what this run sent,
    and an exception raised inside the block becomes its message instead of a traceback."""
    if not isinstance(exercise, str) or not EXERCISE_ID.match(exercise):
        raise ValueError(f"check.attempt() takes the exercise's number, such as \"04.1\", not {exercise!r}.")
    server_id = classroom.open_attempt(exercise)  # before the clock starts: the run's calls come after it
    run = Attempt(exercise, time.perf_counter(), classroom_attempt=server_id)
    _attempts[exercise] = run
    try:
        yield run
    except Exception as error:  # noqa: BLE001 - the grader turns it into a message that names the mechanic
        run.error = error


@dataclass(frozen=True)
class Grading:
    """What a grader may know about the run it grades."""

    exercise: str
    attempt: Optional[Attempt]
    graded_calls: list[str] = dataclasses.field(default_factory=list)  # request ids of the records it graded


_grading: contextvars.ContextVar[Optional[Grading]] = contextvars.ContextVar("grading", default=None)


def made_during_attempt(record: Record) -> bool:
    """True unless the exercise cell ran an attempt and ``record`` was sent before it began."""
    grading = _grading.get()
    if grading is None:
        return True
    during = grading.attempt is None or record.sent_at >= grading.attempt.started
    if during and record.request_id and not record.offline:
        grading.graded_calls.append(record.request_id)  # what a classroom server may check the pass against
    return during


def error_summary(error: BaseException) -> str:
    """What went wrong, in one sentence: an API error's status, type and message, or a Python error and its line."""
    if isinstance(error, anthropic.APIStatusError):
        message = getattr(error, "api_message", None) or str(error)
        return f"the API answered HTTP {error.status_code} {error.type or ''}: {message}".replace("  ", " ")
    if isinstance(error, anthropic.APIConnectionError):
        return f"no answer came back ({type(error).__name__}: {error})"
    # The first frame outside this module and contextlib is the exercise cell's own.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename not in (__file__, contextlib.__file__)]
    where = f" on line {frames[0].lineno} of the cell" if frames and frames[0].lineno else ""
    return f"your code raised {type(error).__name__}{where}: {error}"


def _attempt_failed(error: BaseException, explain: Optional[Callable[[BaseException], Optional[str]]]) -> Result:
    summary = error_summary(error).rstrip(". ")
    specific = explain(error) if explain is not None else None
    if specific:
        return not_yet(f"{summary}. {specific}")
    if isinstance(error, anthropic.APIStatusError):
        return not_yet(f"{summary}. Nothing came back to grade: read the error's message, fix the request and run "
                       "the cell again.")
    return not_yet(f"{summary}. Fix that line and run the cell again.")


# --- the kit's own names: a notebook's patch does not change a grade ------------------------------------------------

_kept: dict[str, dict[str, Any]] = {}  # module name -> its names as the module defined them
_replaced: set[str] = set()  # "helpers.check.not_yet": kit names found replaced in this process
_MISSING = object()


class _KitModule(types.ModuleType):
    """A grader module whose own names always read as the kit's, whatever a notebook assigned to them."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name.startswith("__"):
            return value
        module_name = super().__getattribute__("__name__")
        kept = _kept.get(module_name)
        if kept is not None and name in kept and value is not kept[name]:
            restore_kit_names()
            return kept[name]
        submodule = sys.modules.get(f"{module_name}.{name}")  # a lesson's module, imported after this one
        if submodule is not None and value is not submodule:
            _replaced.add(f"{module_name}.{name}")
            vars(self)[name] = submodule
            return submodule
        return value

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        restore_kit_names()


def keep_own_names(module_name: str) -> None:
    """Called at the end of each grader module: remember its names, so that a patch can be undone and reported."""
    module = sys.modules[module_name]
    _kept[module_name] = {k: v for k, v in vars(module).items() if not k.startswith("__")}
    module.__class__ = _KitModule


def restore_kit_names() -> frozenset[str]:
    """Put back every kit name a notebook replaced or deleted; the names ever found replaced in this process."""
    for module_name, kept in _kept.items():
        namespace = vars(sys.modules[module_name])
        for name, value in kept.items():
            if namespace.get(name, _MISSING) is not value:
                _replaced.add(f"{module_name}.{name}")
                namespace[name] = value
    return frozenset(_replaced)


def _tampering_note(replaced: frozenset[str]) -> str:
    shown = ", ".join(f"`{name}`" for name in sorted(replaced)[:3]) + (" and more" if len(replaced) > 3 else "")
    return (f" Note: the kit's graders were patched in this kernel ({shown} replaced); the kit put its own back, "
            "and this result is from its own code.")


# --- the grader decorator -----------------------------------------------------------------------------------------

def grader(exercise: str, *, explain: Optional[Callable[[BaseException], Optional[str]]] = None
           ) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Name a grader's results after its exercise; an unexpected error becomes a message, not a traceback.

    ``explain(error)`` may say what an exception raised inside the exercise's ``check.attempt`` block means
    for this exercise (the next step); other errors get a generic message.
    """
    number = exercise.split()[0]

    def wrap(function: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(function)
        def graded(*args: Any, **kwargs: Any) -> Result:
            replaced = restore_kit_names()  # before anything is read: the grade is the kit's own code's
            grading = Grading(number, _attempts.pop(number, None))
            result = grade(grading, *args, **kwargs)
            if replaced:
                result = dataclasses.replace(result, message=result.message + _tampering_note(replaced))
            # Only to a classroom server, never raises; a pass is verified there by the calls it graded.
            classroom.report(number, result.passed, grading.attempt.classroom_attempt if grading.attempt else None,
                             grading.graded_calls if result.passed else ())
            return result

        def grade(grading: Grading, *args: Any, **kwargs: Any) -> Result:
            run = grading.attempt
            editors = [a for a in (*args, *kwargs.values()) if _is_editor(a)]
            if any(e.last_reply is None for e in editors):
                return Result(exercise, False, "nothing was sent from the editor yet: build the turns, click Send, "
                                               "then run the grader again.")
            args = tuple(a.last_reply if _is_editor(a) else a for a in args)
            kwargs = {k: v.last_reply if _is_editor(v) else v for k, v in kwargs.items()}
            if run is not None and run.error is not None:
                return Result(exercise, False, _with_hint_pointer(_attempt_failed(run.error, explain).message, number))
            token = _grading.set(dataclasses.replace(grading, attempt=None if editors else run))
            try:
                result = function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a learner's answer can be anything
                result = not_yet(f"the grader could not inspect your answer ({type(error).__name__}: {error}). "
                                 "Check the exercise's instructions for what to pass in.")
            finally:
                _grading.reset(token)
            message = result.message if result.passed else _with_hint_pointer(result.message, number)
            return dataclasses.replace(result, exercise=exercise, message=message)

        graded.exercise = exercise
        return graded

    return wrap


def _with_hint_pointer(message: str, number: str) -> str:
    return f"{message} (Stuck? `check.hint(\"{number}\")`.)" if _hints_for(number) else message


def _is_editor(value: Any) -> bool:
    """A HistoryEditor stands for its last reply, so exercises can be done in the editor."""
    editor_module = sys.modules.get("helpers.history_editor")
    return editor_module is not None and isinstance(value, editor_module.HistoryEditor)


# --- opt-in hints -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hint:
    exercise: str
    number: int
    total: int
    text: str

    def __repr__(self) -> str:
        more = f" Next hint: check.hint(\"{self.exercise}\", {self.number + 1})." if self.number < self.total else ""
        return f"💡 Hint {self.number} of {self.total} ({self.exercise}): {self.text}{more}"

    def _repr_html_(self) -> str:
        more = f" Next hint: `check.hint(\"{self.exercise}\", {self.number + 1})`." if self.number < self.total else ""
        return _card(f"Hint {self.number} of {self.total}", "#0d47a1", self.exercise, self.text + more)


def _hints_for(number: str) -> tuple[str, ...]:
    found = EXERCISE_ID.match(number)
    if not found or f"lesson{found.group(1)}" not in LESSONS:
        return ()
    module = importlib.import_module(f"{__name__}.lesson{found.group(1)}")
    return tuple(getattr(module, "HINTS", {}).get(number, ()))


def hint(exercise: str, number: int = 1) -> Hint:
    """The ``number``-th hint for an exercise (``check.hint("04.1")``), from a nudge to the mechanic itself."""
    hints = _hints_for(str(exercise))
    if not hints:
        raise ValueError(f"there is no exercise {exercise!r}: exercises are numbered like \"04.1\" (lesson 04, "
                         "exercise 1), as in the grader's message.")
    if not isinstance(number, int) or not 1 <= number <= len(hints):
        raise ValueError(f"exercise {exercise} has hints 1 to {len(hints)}.")
    return Hint(str(exercise), number, len(hints), hints[number - 1])


def grader_only(function: Callable) -> Callable:
    """Mark a grader's reference: it serves the kit's own modules, and raises when a learner's code calls it,
    so no answer can stand on the grader's own (``from helpers.check.lesson02 import ...`` gets nothing)."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller != "helpers" and not caller.startswith("helpers."):
            raise PermissionError(f"{function.__name__}() is one of the graders' own functions: write your own")
        return function(*args, **kwargs)

    return guarded


# --- shared checks --------------------------------------------------------------------------------------------------

def is_message(value: Any) -> bool:
    """A Message as a client returns it: from ``messages.create``, or from the beta endpoint (the SDK's tool runner)."""
    return isinstance(value, (anthropic.types.Message, anthropic.types.beta.BetaMessage))


def grader_client(log: Optional[UsageLog] = None) -> anthropic.Anthropic:
    """An in-process offline client for a grader's own calls: no retries, recorded in ``log``
    (a fresh one by default), so grading never shows up in the learner's usage log or viewer."""
    transport = RecordingTransport(OfflineTransport(), offline=True, log=log if log is not None else UsageLog())
    return anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


def kit_records() -> Iterator[Record]:
    """The usage log's records, newest first, that are still exactly as the kit's transport sealed them."""
    return (record for record in reversed(usage_log.records) if sealed_by_kit(record))


def sent_request(message: Any) -> Optional[dict]:
    """The request body that produced ``message``, from the usage log (calls made with ``connect()``)."""
    if not is_message(message):
        return None
    record = usage_log.find(message.id)
    return record.request if record and sealed_by_kit(record) else None


def _block_signature(block: Any) -> tuple:
    get = block.get if isinstance(block, dict) else (lambda key, default=None: getattr(block, key, default))
    kind = get("type")
    if kind == "text":
        return kind, get("text")
    if kind in ("tool_use", "server_tool_use"):
        return kind, get("id"), get("name")
    if kind == "thinking":
        return kind, get("signature")
    return (kind,)


def _matches_record(message: anthropic.types.Message, record: Record) -> bool:
    """Whether ``message`` is what the API sent back for ``record`` (not built or edited by hand)."""
    response = record.response if isinstance(record.response, dict) else {}
    usage = response.get("usage") or {}
    if response.get("stop_reason") != message.stop_reason or usage.get("output_tokens") != message.usage.output_tokens:
        return False
    if record.streamed:  # the log keeps a stream's id, stop reason and usage, not its content
        return True
    return [_block_signature(b) for b in response.get("content") or []] == [_block_signature(b) for b in message.content]


def logged(message: Any, name: str, what: str) -> tuple[Optional[Record], Optional[Result]]:
    """The usage-log record behind ``message``, or the message that says why there is none.

    ``name`` is the learner's variable, ``what`` says what to send (for the message when nothing was kept).
    """
    if message is None:
        return None, not_yet(f"nothing to grade yet: `{name}` is None. {what}, keep the Message it returns in "
                             f"`{name}`, and run the cell again.")
    if not is_message(message):
        return None, not_yet(f"`{name}` is a {type(message).__name__}; keep the whole Message that the client "
                             "returns, so the grader can look up the request that produced it.")
    record = usage_log.find(message.id)
    if record is None:
        return None, not_yet(f"the usage log has no request behind `{name}`: only Messages returned by a client "
                             "from `connect()` can be graded (a Message built by hand, or by another client, "
                             "cannot). Send the request with the lesson's `client`.")
    if not sealed_by_kit(record):
        return None, not_yet(f"the usage log's record behind `{name}` was changed after the call, so it no longer "
                             "shows what was sent: send the exercise's request again and keep the reply as it came.")
    if not _matches_record(message, record):
        return None, not_yet(f"`{name}` is not what the API sent back for its request (its content, stop reason or "
                             "usage differ from the usage log's record): keep the Message exactly as the client "
                             "returned it.")
    if not made_during_attempt(record):
        return None, not_yet(f"`{name}` was made before this cell's `with check.attempt(...)` block started, by an "
                             "earlier cell. Send the exercise's own request inside the block.")
    return record, None


@grader_only
def block_dicts(content: Any) -> list[dict]:
    """The blocks of a sent turn's content, as the request carried them (a string content has none)."""
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


@grader_only
def last_tool_use_turn(messages: list[dict]) -> Optional[tuple[int, list[dict]]]:
    """In a sent request's messages: the index of the last assistant turn that called tools, and its tool_use blocks."""
    found = None
    for i, turn in enumerate(messages):
        uses = [b for b in block_dicts(turn.get("content")) if b.get("type") == "tool_use"]
        if turn.get("role") == "assistant" and uses:
            found = i, uses
    return found


@dataclass(frozen=True)
class BilledTokens:
    """A reply's usage as it is billed: plain input, output, cache writes per TTL, and cache reads."""
    input: int  # plain input, neither written to nor read from the cache
    output: int
    write_5m: int
    write_1h: int
    read: int

    @property
    def written(self) -> int:
        return self.write_5m + self.write_1h

    @property
    def total_input(self) -> int:
        return self.input + self.written + self.read


@grader_only
def billed_tokens(usage: Any) -> BilledTokens:
    """Split as the usage log splits it: the 1-hour part of the writes from ``cache_creation``, the rest 5-minute."""
    split = _cache_split(usage.model_dump() if hasattr(usage, "model_dump") else dict(usage))
    return BilledTokens(usage.input_tokens, usage.output_tokens, split["cache_write_5m"], split["cache_write_1h"],
                        split["cache_read"])


@grader_only
def expected_cost(message: anthropic.types.Message) -> float:
    """What the call that produced ``message`` cost, at the catalog's prices, cache rates included."""
    t = billed_tokens(message.usage)
    return catalog.cost_usd(message.model, t.input, t.output, cache_read=t.read, cache_write_5m=t.write_5m,
                            cache_write_1h=t.write_1h)


COST_ROUNDING = 5e-7
"""Rounding to 6 decimal places, as the lessons print costs, moves a cost by at most this much."""


def same_cost(a: float, b: float) -> bool:
    return abs(a - b) <= COST_ROUNDING + 1e-9 * abs(b)


def over_rounded(got: float, expected: float, what: str) -> Optional[str]:
    """The hint for a cost rounded to fewer than 6 decimal places, or None."""
    for places in range(1, 6):
        if abs(got - round(expected, places)) <= 1e-12:
            return (f"on {what}, your cost was rounded to {places} decimal places, which loses too much of it: "
                    "keep at least 6.")
    return None


@grader_only
def text_of_content(content: Any) -> str:
    """The text of a turn's content, whether a string or a list of blocks (dicts or SDK objects)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        get = block.get if isinstance(block, dict) else (lambda key, default=None, b=block: getattr(b, key, default))
        if get("type") == "text":
            parts.append(get("text", "") or "")
    return "".join(parts)


@grader_only
def reply_text(message: anthropic.types.Message) -> str:
    """The text blocks of a reply, joined (a reply may open with a thinking block)."""
    return "".join(block.text for block in message.content if block.type == "text")


def same_text(a: Any, b: Any) -> bool:
    """Equal up to surrounding whitespace and runs of spaces: the wording the exercise gave, typed or pasted."""
    return isinstance(a, str) and isinstance(b, str) and " ".join(a.split()) == " ".join(b.split())


def draw(seed: Optional[int]) -> tuple[random.Random, int]:
    """A random source for one grading run, and the seed that repeats it."""
    if seed is None:
        seed = random.SystemRandom().randrange(1, 1_000_000)
    return random.Random(seed), seed


def kit_function(function: Any) -> bool:
    """Whether ``function`` is one of the kit's own (a grader's reference or a helper), not the learner's."""
    module = getattr(function, "__module__", None) or ""
    return module == "helpers" or module.startswith("helpers.")


def __getattr__(name: str) -> Any:
    if name in LESSONS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


keep_own_names(__name__)
