"""set_api_key()/forget_api_key(): the key reaches .env, owner-only, and nowhere else."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from helpers import api_key, connect
from notebooks_support import ROOT

SENTINEL = "kit-sentinel-key-7c41d0e9"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with an .env.example and a notebook folder to run from; no key anywhere."""
    root = tmp_path / "kit"
    (root / "workspace").mkdir(parents=True)
    (root / ".env.example").write_text("ANTHROPIC_API_KEY=\n")
    monkeypatch.setattr(api_key, "KIT_ROOT", root)
    monkeypatch.chdir(root / "workspace")
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "KIT_MODE", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return root


def test_the_key_is_saved_owner_only_and_never_printed(project, capsys):
    api_key.set_api_key(ask=lambda prompt: SENTINEL + "\n")
    env = project / ".env"
    assert env.read_text() == f"ANTHROPIC_API_KEY={SENTINEL}\n"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    out = capsys.readouterr()
    assert SENTINEL not in out.out + out.err
    assert str(env) in out.out


def test_connect_goes_live_from_the_saved_key_and_offline_after_forgetting(project, capsys):
    assert "Offline mode" in (connect(), capsys.readouterr().out)[1]
    api_key.set_api_key(ask=lambda prompt: SENTINEL)
    client = connect()
    banner = capsys.readouterr().out
    assert "Live mode" in banner and ".env" in banner and SENTINEL not in banner
    assert client.api_key == SENTINEL

    api_key.forget_api_key()
    assert "ANTHROPIC_API_KEY" not in os.environ
    assert "Offline mode" in (connect(), capsys.readouterr().out)[1]


def test_other_settings_in_env_survive_saving_and_forgetting(project):
    env = project / ".env"
    env.write_text("# my settings\nKIT_MODE=offline\nANTHROPIC_API_KEY=old-key\nOTHER=1\n")
    api_key.set_api_key(ask=lambda prompt: SENTINEL)
    lines = env.read_text().splitlines()
    assert lines == ["# my settings", "KIT_MODE=offline", "OTHER=1", f"ANTHROPIC_API_KEY={SENTINEL}"]
    api_key.forget_api_key()
    assert env.read_text().splitlines() == ["# my settings", "KIT_MODE=offline", "OTHER=1"]


@pytest.mark.parametrize("typed", ["", "   ", "sk ant with spaces", "KEY=value"])
def test_nothing_is_written_for_an_empty_or_malformed_key(project, capsys, typed):
    api_key.set_api_key(ask=lambda prompt: typed)
    assert not (project / ".env").exists()
    assert "Nothing was saved" in capsys.readouterr().out


def test_the_nearest_existing_env_above_the_notebook_is_the_one_written(project, tmp_path):
    outer = project / ".env"
    outer.write_text("OTHER=1\n")
    (project / "workspace" / "lesson").mkdir()
    os.chdir(project / "workspace" / "lesson")
    api_key.set_api_key(ask=lambda prompt: SENTINEL)
    assert SENTINEL in outer.read_text()


def test_a_failed_write_leaves_the_old_env_as_it_was(project, monkeypatch):
    env = project / ".env"
    env.write_text("ANTHROPIC_API_KEY=old-key\n")

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(api_key.os, "replace", broken_replace)
    with pytest.raises(OSError):
        api_key.set_api_key(ask=lambda prompt: SENTINEL)
    assert env.read_text() == "ANTHROPIC_API_KEY=old-key\n"
    assert [p.name for p in project.iterdir() if p.name.endswith(".tmp")] == []


def test_forgetting_without_a_key_says_so(project, capsys):
    api_key.forget_api_key()
    assert "No key to remove" in capsys.readouterr().out


def test_a_notebook_that_saves_the_key_keeps_no_trace_of_it(project, tmp_path):
    """Run the lesson's cell in a real kernel, save the notebook, and look for the key everywhere."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(textwrap.dedent(f"""
            import getpass, helpers.api_key as api_key
            api_key.KIT_ROOT = __import__("pathlib").Path({str(project)!r})
            getpass.getpass = lambda prompt="": {SENTINEL!r}  # stands in for the learner typing
            from helpers import set_api_key, connect
            set_api_key()
        """)),
        nbformat.v4.new_code_cell("client = connect()\nclient"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_") and k != "KIT_MODE"}
    path = project / "workspace" / "key.ipynb"
    nbclient.NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}},
                            kernel_name="python3").execute(env=env)
    nbformat.write(notebook, path)
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "Live mode" in outputs  # the key was really used
    assert SENTINEL not in outputs
    # The only file that may hold the key is .env (the notebook's own source holds it here only as a stand-in).
    holders = [p for p in project.rglob("*") if p.is_file() and SENTINEL in p.read_text(errors="ignore")]
    assert sorted(p.name for p in holders) == [".env", "key.ipynb"]
    assert SENTINEL not in json.dumps([c.get("outputs", []) for c in json.loads(path.read_text())["cells"]])


def test_lesson_00_shows_how_to_save_the_key_from_jupyterlab():
    lesson = json.loads((ROOT / "notebooks" / "00_setup.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in lesson["cells"] if c["cell_type"] == "markdown")
    assert "set_api_key()" in text and "forget_api_key()" in text
    assert "JupyterLab hides files whose names start with a dot" in text


def test_the_helper_is_importable_from_a_fresh_interpreter_without_side_effects(project):
    code = "import helpers; print(callable(helpers.set_api_key), callable(helpers.forget_api_key))"
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True True", result.stderr
    assert not (project / ".env").exists()


def test_on_colab_the_key_goes_to_the_working_folder_and_the_learner_hears_it_will_vanish(tmp_path, monkeypatch,
                                                                                           capsys):
    # A pip-installed kit (Colab's) has no project folder: .env goes where the notebook runs (/content there).
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setattr(api_key, "KIT_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(api_key, "on_colab", lambda: True)
    monkeypatch.chdir(content)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    api_key.set_api_key(ask=lambda prompt: SENTINEL)
    assert (content / ".env").read_text() == f"ANTHROPIC_API_KEY={SENTINEL}\n"
    out = capsys.readouterr().out
    assert "gone when the runtime ends" in out and "Secrets" in out and SENTINEL not in out
