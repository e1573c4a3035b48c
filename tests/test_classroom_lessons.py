"""Every worked solution runs unchanged through a classroom server, as a learner's kernel would with the
token and address a roster hands out: live mode, the SDK's own client, graders passing, and each
grader's result reported to the server (the server in rehearsal: the offline backend behind it)."""

from __future__ import annotations

import os
import re

import httpx2
import nbformat
import pytest
from nbclient import NotebookClient

from classroom_support import add_learners, classroom
from helpers.classroom import evidence
from notebooks_support import LESSONS, RAISES_MARKER, SOLUTIONS, output_text, source

SHAPES = set(evidence._shapes())


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    saved = dict(os.environ)
    with classroom(tmp_path_factory.mktemp("classroom") / "room.db") as server:
        token = add_learners(server, ["kernel"], usd=20.0)["kernel"]
        os.environ.pop("KIT_MODE", None)
        os.environ.update({"ANTHROPIC_API_KEY": token, "ANTHROPIC_AUTH_TOKEN": "", "ANTHROPIC_BASE_URL": server.url})
        try:
            yield server, token
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_a_solution_runs_through_the_classroom_and_reports_its_exercises(path, room):
    server, token = room
    calls_before = server.store.learners()[0].calls
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [(cell, o) for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    texts = [output_text(o) for _, o in outputs]
    assert any(t.startswith(f"Live mode: requests go to {server.url}") for t in texts)
    assert not any(token in t for t in texts), "the learner's token appeared in an output"
    for cell, output in outputs:
        if output.output_type == "error":
            assert RAISES_MARKER in source(cell), f"{output.ename}: {output.evalue}\nin cell:\n{source(cell)}"
    assert not any(t.startswith("❌ Not yet") for t in texts)
    graded = set(re.findall(r"✅ Correct \((\d\d\.\d+)", "\n".join(texts)))
    learner = server.store.learners(with_progress=True)[0]
    if any("client.messages." in source(cell) and not re.search(r"def \w+\(client\b", source(cell))
           for cell in notebook.cells if cell.cell_type == "code"):
        # (a solution whose functions get their client from a grader sends nothing through its own)
        assert learner.calls > calls_before, "the lesson's calls went through the classroom"
    assert learner.spent_nano <= learner.budget_nano
    lesson = path.name[:2]
    reported = {row["exercise"] for row in learner.progress if row["exercise"].startswith(lesson + ".")}
    # Reports are sent in the background; one still on its way when the kernel stops is waited for.
    assert graded, "a solution passes its exercises"
    assert reported == graded
    assert all(row["passed"] for row in learner.progress if row["exercise"] in reported)
    # A pass is verified where the exercise's own calls went through the server (its request shape, since the
    # exercise cell began); an exercise graded on the grader's own offline client stays self-reported.
    expected = {e for e in reported if e in SHAPES}
    assert {row["exercise"] for row in learner.progress if row["exercise"] in reported and row["verified"]} == expected
    room_view = httpx2.get(server.url + "/classroom/api/room",
                           headers={"authorization": f"Bearer {server.instructor_token}"}).json()
    if reported:
        assert room_view["learners"][0]["lessons"][lesson]["passed"] == len(expected)
        assert room_view["learners"][0]["lessons"][lesson]["self_reported"] == len(reported - expected)


SEARCHING = [p for p in LESSONS if "web_search_20" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", SEARCHING, ids=[p.name for p in SEARCHING])
def test_a_lesson_that_searches_the_web_runs_through_the_classroom(path, room):
    """Web search has a per-search fee: the server holds it for each search max_uses allows, so it lets it through."""
    server, _ = room
    spent_before = server.store.learners()[0].spent_nano
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                assert RAISES_MARKER in source(cell), f"{output.ename}: {output.evalue}\nin cell:\n{source(cell)}"
    searched = [output_text(o) for cell in notebook.cells if cell.cell_type == "code" and "web_search" in source(cell)
                for o in cell.outputs]
    assert searched and not any("PermissionDenied" in t or "cannot let this call through" in t for t in searched)
    learner = server.store.learners()[0]
    assert learner.spent_nano > spent_before and learner.held_nano == 0

