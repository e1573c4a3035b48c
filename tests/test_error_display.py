"""API errors in a notebook cell read as a few lines, as the graders' messages do; scripts keep Python's own."""

from __future__ import annotations

import subprocess
import sys

import anthropic
import httpx2
import nbformat
import pytest
from nbclient import NotebookClient

from helpers import catalog, error_display
from helpers.budget import BudgetExceeded
from notebooks_support import ROOT

RETIRED = next(m for m in catalog.retired() if m.lifecycle == "retired").resolved_id


def _executed(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return notebook


def _errors(cell) -> list[dict]:
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.fixture(scope="module")
def notebook():
    return _executed(
        "from helpers import connect\nclient = connect('offline')",
        f"client.messages.create(model={RETIRED!r}, max_tokens=10, messages=[{{'role': 'user', 'content': 'hi'}}])",
        "%tb",
        "1 / 0",
    )


def test_an_api_error_in_a_cell_is_a_short_block_with_the_next_step(notebook):
    (error,) = _errors(notebook.cells[1])
    lines = error["traceback"]
    assert len(lines) == 4
    assert lines[0] == "anthropic.NotFoundError: HTTP 404 not_found_error" and lines[1] == f"model: {RETIRED}"
    assert lines[2].startswith("→ That model id is not served") and "catalog" in lines[2]
    assert lines[3] == error_display.FULL_TRACEBACK
    assert error["ename"] == "NotFoundError"


def test_the_whole_traceback_is_one_step_away_and_other_errors_are_untouched(notebook):
    (full,) = _errors(notebook.cells[2])
    text = "\n".join(full["traceback"])
    assert "Traceback" in text and "site-packages/anthropic" in text and "NotFoundError" in text
    (other,) = _errors(notebook.cells[3])
    assert "Traceback" in "\n".join(other["traceback"]) and other["ename"] == "ZeroDivisionError"


def test_the_block_is_the_same_on_every_run(notebook):
    again = _executed(*[cell.source for cell in notebook.cells[:2]])
    assert _errors(again.cells[1])[0]["traceback"] == _errors(notebook.cells[1])[0]["traceback"]


def test_a_plain_script_keeps_pythons_own_traceback():
    script = (f"from helpers import connect\nclient = connect('offline', quiet=True)\n"
              f"client.messages.create(model={RETIRED!r}, max_tokens=10, messages=[{{'role': 'user', 'content': 'hi'}}])")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr and "anthropic.NotFoundError" in run.stderr
    assert error_display.FULL_TRACEBACK not in run.stderr


def _response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("POST", "http://offline.localhost/v1/messages"))


@pytest.mark.parametrize("error,step", [
    (anthropic.AuthenticationError("bad", response=_response(401), body=None), "ANTHROPIC_API_KEY"),
    (anthropic.PaymentRequiredError("used up", response=_response(402), body=None), "budget"),
    (anthropic.RateLimitError("slow down", response=_response(429), body=None), "retry-after"),
    (anthropic.BadRequestError("bad field", response=_response(400), body=None), "names the field"),
    (BudgetExceeded("over the limit"), "helpers.budget(None)"),
])
def test_each_kind_of_error_gets_its_next_step(error, step):
    lines = error_display.short_lines(error)
    assert step in lines[-2] and lines[-1] == error_display.FULL_TRACEBACK
    assert lines[0].split(":")[0].endswith(type(error).__name__)
