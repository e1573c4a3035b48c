"""Structural checks of every lesson and solution notebook (nbval checks their outputs)."""

from __future__ import annotations

import re

import nbformat
import pytest

from notebooks_support import (
    ALL, GRADER_CALL, LESSONS, RAISES_MARKER, SOLUTIONS, code_cells, launch_links, load, output_text, solution_for,
    source,
)

SECRET = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|ANTHROPIC_API_KEY\s*=\s*['\"]?[A-Za-z0-9_-]{8,}")
MODEL_LITERAL = re.compile(r"\bclaude-(?:\d|opus|sonnet|haiku|fable|mythos|instant)[a-z0-9.-]*")
SKELETON = ("## Goals", "## Setup", "## Exercises", "## Recap")

ids = lambda paths: [p.name for p in paths]  # noqa: E731


def test_there_are_lessons_and_each_has_a_solution():
    assert LESSONS, "no lessons found in notebooks/"
    for lesson in LESSONS:
        assert solution_for(lesson).exists(), f"{lesson.name} has no solution notebook"
    assert len(SOLUTIONS) == len(LESSONS)


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_valid_and_executed_top_to_bottom(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    counts = [c.execution_count for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    assert None not in counts, "some code cells were never executed: run `make lessons`"
    assert counts == list(range(1, len(counts) + 1)), "cells were not executed once, top to bottom"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_no_errors_except_where_marked(path):
    for cell in code_cells(load(path)):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if errors:
            assert RAISES_MARKER in source(cell), f"unexpected error in cell:\n{source(cell)}\n{errors[0]['ename']}"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_no_secrets_no_installs_no_model_literals(path):
    for cell in load(path)["cells"]:
        text = source(cell)
        assert not SECRET.search(text), "a cell looks like it holds an API key"
        for output in cell.get("outputs", []):
            assert not SECRET.search(output_text(output)), "an output looks like it holds an API key"
        if cell["cell_type"] == "code":
            # Only the generated setup preamble installs, on a kernel without the kit (tests/test_launch_cells.py).
            own = launch_links.without_preamble(text)
            assert not re.search(r"^\s*[!%]?\s*pip\s+install|\"pip\", \"install\"", own, re.MULTILINE), \
                "no pip install in cells: use `make lab`"
            assert not MODEL_LITERAL.search(text), "lessons ask the catalog for model ids instead of writing them"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_skeleton(path):
    cells = load(path)["cells"]
    markdown = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    positions = [markdown.find(heading) for heading in SKELETON]
    assert -1 not in positions, f"missing one of {SKELETON}"
    assert positions == sorted(positions), f"sections must come in the order {SKELETON}"
    assert re.search(r"^## 1\. ", markdown, re.MULTILINE), "numbered sections start with '## 1. '"
    setup = code_cells({"cells": cells})[0]
    assert "from helpers import" in source(setup) and "connect(" in source(setup), "the first code cell is the setup cell"
    assert sum("connect(" in source(c) for c in code_cells({"cells": cells})) >= 1


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_unsolved_exercises_show_a_hint_not_a_traceback(path):
    graded = [c for c in code_cells(load(path)) if GRADER_CALL.search(source(c))]
    assert len(graded) >= 2, "each lesson has two or three graded exercises"
    for cell in graded:
        outputs = [output_text(o) for o in cell.get("outputs", [])]
        assert any(text.startswith("❌ Not yet") for text in outputs), f"expected a hint for:\n{source(cell)}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_solutions_pass_their_graders(path):
    graded = [c for c in code_cells(load(path)) if GRADER_CALL.search(source(c))]
    assert graded, "a solution notebook calls its graders"
    for cell in graded:
        outputs = [output_text(o) for o in cell.get("outputs", [])]
        assert any(text.startswith("✅ Correct") for text in outputs), f"this solution does not pass:\n{source(cell)}"


MAX_CODE_LINE = 120
"""Characters a code line may have: at 1,400 px, with JupyterLab's file browser open, a code cell shows about 125."""


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_code_lines_fit_a_cell_at_1400_px(path):
    too_long = [(i, len(line)) for i, cell in enumerate(code_cells(load(path)))
                for line in source(cell).split("\n") if len(line) > MAX_CODE_LINE]
    assert not too_long, f"code lines over {MAX_CODE_LINE} characters (cell, length): {too_long}"
