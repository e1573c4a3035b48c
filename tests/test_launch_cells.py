"""Every shipped notebook opens in Colab from its badge and runs there alone after its setup cell.

The badge and the setup cell's preamble are written by ``make links`` (tools/launch_links.py) from the one
repository address in pyproject.toml; these tests check that each notebook holds exactly what the generator makes
today, so a changed address or an edited preamble is caught until ``make links`` runs again.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from notebooks_support import ALL, NOTEBOOKS, ROOT, code_cells, launch_links, load, source

SHIPPED = launch_links.shipped_notebooks()
ids = lambda paths: [p.relative_to(NOTEBOOKS).as_posix() for p in paths]  # noqa: E731


def test_the_generator_covers_every_notebook_the_tests_know():
    assert set(SHIPPED) == set(ALL) and len(SHIPPED) == len(ALL)


@pytest.mark.parametrize("path", SHIPPED, ids=ids(SHIPPED))
def test_one_badge_first_opening_this_notebook_in_colab(path):
    cells = load(path)["cells"]
    relative = path.relative_to(ROOT).as_posix()
    assert cells[0]["cell_type"] == "markdown"
    assert source(cells[0]) == launch_links.badge_markdown(relative)
    assert launch_links.colab_url(relative) in source(cells[0])
    assert launch_links.repository().removeprefix("https://github.com/") in launch_links.colab_url(relative)
    badges = [c for c in cells if "colab-badge" in source(c) or "colab.research.google.com" in source(c)]
    assert len(badges) == 1, f"{len(badges)} Colab badges; run `make links`"


@pytest.mark.parametrize("path", SHIPPED, ids=ids(SHIPPED))
def test_the_setup_cell_starts_with_the_generated_preamble(path):
    notebook = load(path)
    setup = source(code_cells(notebook)[0])
    assert setup.startswith(launch_links.preamble()), "stale or missing preamble; run `make links`"
    assert "from helpers import" in launch_links.without_preamble(setup)
    assert notebook == launch_links.with_launch_cells(notebook, path.relative_to(ROOT).as_posix()), \
        "the notebook differs from what `make links` writes"


@pytest.mark.parametrize("path", SHIPPED[:1], ids=ids(SHIPPED[:1]))
def test_setup_cell_outputs_come_from_the_lesson_alone(path):
    # Where helpers imports (here, `make lab`), the preamble prints nothing: the cell shows connect()'s banner only.
    texts = ["".join(o.get("text", "")) for o in code_cells(load(path))[0].get("outputs", [])]
    assert texts and all(t.startswith(("Offline mode", "Live mode")) for t in texts), texts


def test_another_address_makes_other_links_and_another_install_source():
    notebook = load(SHIPPED[0])
    relative = SHIPPED[0].relative_to(ROOT).as_posix()
    moved = launch_links.with_launch_cells(notebook, relative, "https://github.com/someone/fork")
    assert notebook == load(SHIPPED[0]), "the generator changes a copy, not the notebook it was given"
    assert moved != notebook
    assert "github/someone/fork/blob/main/" in source(moved["cells"][0])
    assert '"git+https://github.com/someone/fork@main"' in source(code_cells(moved)[0])
    again = launch_links.with_launch_cells(moved, relative)
    assert again == notebook, "regenerating replaces the old badge and preamble, keeping one of each"


def test_preamble_lines_are_short_and_installs_from_the_branch_the_badges_open():
    lines = launch_links.preamble().splitlines()
    assert all(len(line) <= 120 for line in lines)
    assert lines[0].startswith("#") and len([line for line in lines if line.startswith("#")]) == 1
    assert launch_links.kit_source() == f"git+{launch_links.repository()}@{launch_links.BRANCH}"
    assert launch_links.kit_source() in launch_links.preamble()


def _run_preamble(monkeypatch, *, installed: bool, kit_source: str | None) -> list:
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if installed else None)
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append((args, kwargs))
                        or subprocess.CompletedProcess(args[0], 0, "", ""))
    if kit_source is None:
        monkeypatch.delenv("KIT_SOURCE", raising=False)
    else:
        monkeypatch.setenv("KIT_SOURCE", kit_source)
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(launch_links.preamble(), {})  # noqa: S102 - the preamble is the kit's own generated code
    assert printed.getvalue() == ""
    return calls


def test_preamble_installs_nothing_where_helpers_imports(monkeypatch):
    assert _run_preamble(monkeypatch, installed=True, kit_source="/nowhere") == []


def test_preamble_installs_the_kit_where_helpers_is_missing(monkeypatch):
    (args, kwargs), = _run_preamble(monkeypatch, installed=False, kit_source=None)
    assert args[0][:4] == [sys.executable, "-m", "pip", "install"] and args[0][-1] == launch_links.kit_source()
    assert kwargs == {"capture_output": True, "text": True}
    (args, _), = _run_preamble(monkeypatch, installed=False, kit_source="/tmp/kit.whl")
    assert args[0][-1] == "/tmp/kit.whl"


def test_the_preamble_in_a_real_interpreter_where_helpers_imports_does_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-c", launch_links.preamble() + "print(sorted(sys.modules) and 'ok')"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "KIT_SOURCE": str(tmp_path / "missing.whl")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n" and done.stderr == ""


def test_a_failed_install_says_so_with_pips_own_words(tmp_path):
    """A kernel without the kit (the machine's own python3, isolated), and a kit source that does not exist."""
    missing = tmp_path / "claude_messages_kit-0-py3-none-any.whl"
    done = subprocess.run(["python3", "-I", "-c", launch_links.preamble()], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "KIT_SOURCE": str(missing)})
    assert done.returncode != 0
    assert f"RuntimeError: Installing the kit from {missing} failed; pip said:" in done.stderr
    direct = subprocess.run(["python3", "-I", "-m", "pip", "install", "--quiet", str(missing)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    last_words = direct.stderr.strip().splitlines()[-1]
    assert direct.returncode != 0 and last_words in done.stderr.split("pip said:", 1)[1]  # pip's own message


def test_make_links_runs_the_generator_and_the_check_finds_nothing_stale():
    assert re.search(r"^links:\n\tpython3 tools/launch_links\.py --write$", (ROOT / "Makefile").read_text(),
                     re.MULTILINE)
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "launch_links.py")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout
