"""The learner's workspace: copies of the lessons that later updates never overwrite once edited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.workspace import MANIFEST, sync
from notebooks_support import ROOT


def _lesson(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "source": [text]}], "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def shipped(tmp_path) -> Path:
    source = tmp_path / "notebooks"
    (source / "solutions").mkdir(parents=True)
    (source / "00_setup.ipynb").write_text(_lesson("setup v1"))
    (source / "01_first.ipynb").write_text(_lesson("first v1"))
    (source / "solutions" / "01_first_solution.ipynb").write_text(_lesson("solution v1"))
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "00_setup-checkpoint.ipynb").write_text(_lesson("checkpoint"))
    return source


def test_first_sync_copies_every_lesson_and_solution_but_no_checkpoints(shipped, tmp_path):
    mine = tmp_path / "workspace"
    report = sync(shipped, mine)
    assert sorted(report.copied) == ["00_setup.ipynb", "01_first.ipynb", "solutions/01_first_solution.ipynb"]
    assert (mine / "01_first.ipynb").read_text() == _lesson("first v1")
    assert not (mine / ".ipynb_checkpoints").exists()
    assert (mine / MANIFEST).exists()


def test_an_edited_lesson_is_kept_and_an_untouched_one_is_updated(shipped, tmp_path):
    mine = tmp_path / "workspace"
    sync(shipped, mine)
    (mine / "00_setup.ipynb").write_text(_lesson("setup, my solved exercises"))
    (shipped / "00_setup.ipynb").write_text(_lesson("setup v2"))
    (shipped / "01_first.ipynb").write_text(_lesson("first v2"))

    report = sync(shipped, mine)

    assert report.kept == ["00_setup.ipynb"]
    assert report.updated == ["01_first.ipynb"]
    assert (mine / "00_setup.ipynb").read_text() == _lesson("setup, my solved exercises")
    assert (mine / "01_first.ipynb").read_text() == _lesson("first v2")
    assert any("Kept your edited 00_setup.ipynb" in line for line in report.lines())


def test_new_lessons_arrive_and_deleted_ones_come_back(shipped, tmp_path):
    mine = tmp_path / "workspace"
    sync(shipped, mine)
    (mine / "01_first.ipynb").unlink()
    (shipped / "02_multi.ipynb").write_text(_lesson("multi v1"))

    report = sync(shipped, mine)

    assert report.copied == ["02_multi.ipynb"]
    assert report.restored == ["01_first.ipynb"]
    assert (mine / "02_multi.ipynb").exists() and (mine / "01_first.ipynb").exists()


def test_a_second_sync_with_nothing_new_changes_nothing(shipped, tmp_path):
    mine = tmp_path / "workspace"
    sync(shipped, mine)
    (mine / "00_setup.ipynb").write_text(_lesson("edited"))
    before = {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()}
    report = sync(shipped, mine)
    assert report.lines() == []
    assert {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()} == before


def test_an_edit_made_after_an_update_is_still_kept(shipped, tmp_path):
    mine = tmp_path / "workspace"
    sync(shipped, mine)
    (shipped / "00_setup.ipynb").write_text(_lesson("setup v2"))
    sync(shipped, mine)  # untouched: updated to v2
    (mine / "00_setup.ipynb").write_text(_lesson("my work on v2"))
    (shipped / "00_setup.ipynb").write_text(_lesson("setup v3"))
    assert sync(shipped, mine).kept == ["00_setup.ipynb"]
    assert (mine / "00_setup.ipynb").read_text() == _lesson("my work on v2")


def test_a_workspace_without_its_manifest_keeps_files_that_differ(shipped, tmp_path):
    mine = tmp_path / "workspace"
    mine.mkdir()
    (mine / "00_setup.ipynb").write_text(_lesson("made before the manifest existed"))
    report = sync(shipped, mine)
    assert report.kept == ["00_setup.ipynb"]
    assert (mine / "00_setup.ipynb").read_text() == _lesson("made before the manifest existed")


def test_the_command_line_prints_what_it_did(shipped, tmp_path):
    result = subprocess.run([sys.executable, "-m", "helpers.workspace", str(shipped), str(tmp_path / "ws")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Copied 3 lesson file(s) into your workspace." in result.stdout


def test_make_lab_opens_the_workspace_and_git_ignores_it():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lab_recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "-m helpers.workspace notebooks $(WORKSPACE)" in lab_recipe
    assert "lab $(WORKSPACE)/" in lab_recipe
    ignored = subprocess.run(["git", "check-ignore", "-q", "workspace/00_setup.ipynb"], cwd=ROOT)
    if ignored.returncode == 128:
        pytest.skip("not a git work tree")
    assert ignored.returncode == 0


def test_make_test_never_collects_the_learners_workspace(tmp_path):
    """With the project's pytest settings, a saved (solved, re-executed) workspace notebook is not a test."""
    project = tmp_path / "kit"
    (project / "tests").mkdir(parents=True)
    (project / "notebooks").mkdir()
    (project / "workspace").mkdir()
    (project / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (project / "tests" / "sanitize.cfg").write_text("")
    (project / "tests" / "test_shipped.py").write_text("def test_shipped():\n    assert True\n")
    (project / "workspace" / "00_setup.ipynb").write_text(_lesson("my edited copy"))
    (project / "workspace" / "test_mine.py").write_text("def test_mine():\n    assert False\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                            cwd=project, capture_output=True, text=True, timeout=120)
    assert "tests/test_shipped.py::test_shipped" in result.stdout, result.stdout + result.stderr
    assert "workspace" not in result.stdout


def _code_lesson(*sources: str) -> str:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A lesson")]
                                        + [nbformat.v4.new_code_cell(s) for s in sources])
    return nbformat.writes(notebook)


def _run_and_save(path: Path) -> None:
    """What Run All then an autosave leaves: outputs, execution counts, kernel metadata, cell ids, new widths."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(notebook, path)


@pytest.fixture
def code_lessons(tmp_path) -> Path:
    source = tmp_path / "code-notebooks"
    source.mkdir()
    (source / "05_stop_reasons.ipynb").write_text(_code_lesson("print('v1')", "1 + 1"))
    (source / "06_errors.ipynb").write_text(_code_lesson("print('errors v1')"))
    return source


def test_a_lesson_that_was_only_run_and_saved_is_still_updated(code_lessons, tmp_path):
    mine = tmp_path / "workspace"
    sync(code_lessons, mine)
    _run_and_save(mine / "05_stop_reasons.ipynb")
    ran = json.loads((mine / "05_stop_reasons.ipynb").read_text())
    assert any(cell.get("outputs") for cell in ran["cells"]), "the kernel stored its outputs"
    (code_lessons / "05_stop_reasons.ipynb").write_text(_code_lesson("print('v2')", "1 + 1"))

    report = sync(code_lessons, mine)

    assert report.updated == ["05_stop_reasons.ipynb"] and report.kept == []
    assert (mine / "05_stop_reasons.ipynb").read_text() == (code_lessons / "05_stop_reasons.ipynb").read_text()
    assert "outputs you had are replaced" in "\n".join(report.lines())


def test_an_edited_and_run_lesson_is_kept_with_the_new_version_beside_it(code_lessons, tmp_path):
    import nbformat

    mine = tmp_path / "workspace"
    sync(code_lessons, mine)
    lesson = mine / "05_stop_reasons.ipynb"
    notebook = nbformat.read(lesson, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("answer = 'my own exercise'"))  # a cell of the learner's
    nbformat.write(notebook, lesson)
    _run_and_save(lesson)
    edited = lesson.read_text()
    (code_lessons / "05_stop_reasons.ipynb").write_text(_code_lesson("print('v2')", "1 + 1"))

    report = sync(code_lessons, mine)

    assert report.kept == ["05_stop_reasons.ipynb"] and report.updated == []
    assert lesson.read_text() == edited
    beside = mine / "05_stop_reasons (new).ipynb"
    assert beside.read_text() == (code_lessons / "05_stop_reasons.ipynb").read_text()
    assert "the newer shipped version is beside it: 05_stop_reasons (new).ipynb" in "\n".join(report.lines())
    # The next run still keeps it, and refreshes the new version when upstream moves again.
    (code_lessons / "05_stop_reasons.ipynb").write_text(_code_lesson("print('v3')", "1 + 1"))
    assert sync(code_lessons, mine).kept == ["05_stop_reasons.ipynb"]
    assert beside.read_text() == (code_lessons / "05_stop_reasons.ipynb").read_text()
    assert lesson.read_text() == edited


def test_a_changed_cell_source_is_an_edit_but_a_changed_output_is_not(code_lessons, tmp_path):
    mine = tmp_path / "workspace"
    sync(code_lessons, mine)
    lesson = mine / "06_errors.ipynb"
    notebook = json.loads(lesson.read_text())
    notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["errors v1\n"]}]
    notebook["cells"][1]["execution_count"] = 7
    lesson.write_text(json.dumps(notebook))
    (code_lessons / "06_errors.ipynb").write_text(_code_lesson("print('errors v2')"))
    assert sync(code_lessons, mine).updated == ["06_errors.ipynb"]
    notebook = json.loads(lesson.read_text())
    notebook["cells"][1]["source"] = "print('errors v2, and my change')"
    lesson.write_text(json.dumps(notebook))
    (code_lessons / "06_errors.ipynb").write_text(_code_lesson("print('errors v3')"))
    assert sync(code_lessons, mine).kept == ["06_errors.ipynb"]


def test_a_deleted_lesson_that_had_been_run_comes_back(code_lessons, tmp_path):
    mine = tmp_path / "workspace"
    sync(code_lessons, mine)
    _run_and_save(mine / "06_errors.ipynb")
    (mine / "06_errors.ipynb").unlink()
    assert sync(code_lessons, mine).restored == ["06_errors.ipynb"]
    assert (mine / "06_errors.ipynb").read_text() == (code_lessons / "06_errors.ipynb").read_text()


def test_a_workspace_from_the_first_format_keeps_differing_notebooks_with_the_new_one_beside(code_lessons, tmp_path):
    import hashlib

    mine = tmp_path / "workspace"
    mine.mkdir()
    for name in ("05_stop_reasons.ipynb", "06_errors.ipynb"):
        (mine / name).write_bytes((code_lessons / name).read_bytes())
    old = {name: hashlib.sha256((code_lessons / name).read_bytes()).hexdigest()
           for name in ("05_stop_reasons.ipynb", "06_errors.ipynb")}
    (mine / MANIFEST).write_text(json.dumps(old))
    _run_and_save(mine / "05_stop_reasons.ipynb")
    (code_lessons / "05_stop_reasons.ipynb").write_text(_code_lesson("print('v2')", "1 + 1"))
    report = sync(code_lessons, mine)
    assert report.kept == ["05_stop_reasons.ipynb"] and (mine / "05_stop_reasons (new).ipynb").exists()
    assert json.loads((mine / MANIFEST).read_text())["format"] == 2
