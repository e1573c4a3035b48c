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
