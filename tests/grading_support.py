"""Run a lesson the way a learner does, then an exercise cell with an answer typed into it.

``LessonRun`` executes the lesson's own code cells, top to bottom up to its Exercises
(and any ``also`` cells of that section), in a fresh namespace with a fresh usage log
(offline, as ``make lessons`` does), and keeps that state. Each ``learner()`` starts from a copy of it: the namespace as the
lesson left it and the usage log as it was then. ``Learner.answer(cell_id, code)``
puts ``code`` where the exercise cell says ``# your code here`` and runs the cell;
its value is what the notebook would display: the grader's Result.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import textwrap
from pathlib import Path
from typing import Any

from helpers import usage_log
from helpers.check import _attempts
from helpers.offline import fault_injection
from notebooks_support import NOTEBOOKS, source

MARKER = "# your code here"


def _run_cell(code: str, namespace: dict, name: str) -> Any:
    """Execute a cell; return the value of its last expression, as a notebook would display it."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(tree, name, "exec"), namespace)
        if last is not None:
            return eval(compile(ast.Expression(last.value), name, "eval"), namespace)
    return None


class LessonRun:
    def __init__(self, notebook: str, *, also: tuple[str, ...] = ()):
        self.cells = {c["id"]: c for c in json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]}
        usage_log.clear()
        fault_injection.clear()
        _attempts.clear()
        self.namespace: dict = {"__name__": "__main__"}
        for cell_id, cell in self.cells.items():
            text = source(cell)
            if cell["cell_type"] == "markdown" and "## Exercises" in text:
                break
            if cell["cell_type"] == "code" and "await " not in text:  # top-level await needs a kernel's loop
                _run_cell(text, self.namespace, f"<{cell_id}>")
        for cell_id in also:  # cells of the Exercises section that set the stage, such as a message to read
            _run_cell(source(self.cells[cell_id]), self.namespace, f"<{cell_id}>")
        self.records = list(usage_log.records)

    def learner(self) -> "Learner":
        usage_log._restore(self.records)
        fault_injection.clear()
        _attempts.clear()
        return Learner(self, dict(self.namespace))


class Learner:
    def __init__(self, lesson: LessonRun, namespace: dict):
        self.lesson = lesson
        self.namespace = namespace

    def run(self, code: str) -> Any:
        return _run_cell(textwrap.dedent(code), self.namespace, "<cell>")

    def answer(self, cell_id: str, code: str = "") -> Any:
        """Run the exercise cell with ``code`` in place of its ``# your code here`` line (empty: run it unsolved)."""
        template = source(self.lesson.cells[cell_id])
        lines = template.split("\n")
        at = next(i for i, line in enumerate(lines) if MARKER in line)
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        body = textwrap.dedent(code).strip("\n").split("\n") if code.strip() else [lines[at].strip()]
        lines[at:at + 1] = [indent + line if line else line for line in body]
        return _run_cell("\n".join(lines), self.namespace, "<cell>")


def lesson_path(notebook: str) -> Path:
    return NOTEBOOKS / notebook


def last_hint_code(number: str, starts: str) -> str:
    """The code the last hint of exercise ``number`` shows in backticks, the fragment that begins with ``starts``."""
    from helpers import check

    last = check.hint(number, check.hint(number).total).text
    fragments = [f for f in last.split("`")[1::2] if f.startswith(starts)]
    assert len(fragments) == 1, f"the last hint of {number} shows no code that begins with {starts!r}"
    return fragments[0]
