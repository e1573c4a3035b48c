"""The dev container (GitHub Codespaces, VS Code's Dev Containers) opens the kit ready to run.

Its image cannot be pulled here, so the test checks what it describes against the kit itself: a Python the lock
accepts, the install step a real target of the Makefile (and that step run here, as the container runs it), the
interpreter VS Code picks the one that step makes, the forwarded port JupyterLab's, and the secret it asks for
the one ``connect()`` reads.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from helpers.api_key import KEY_NAME

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
JUPYTER_DEFAULT_PORT = 8888

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_image_has_a_python_the_lock_accepts():
    tag = re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:(\d+\.\d+)-bookworm", CONFIG["image"])
    assert tag, CONFIG["image"]
    floor = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "uv.lock").read_text()).group(1)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert project == f">={floor}" and _version(tag.group(1)) >= _version(floor)


def test_the_install_step_is_the_learners_make_target_and_it_runs():
    command = CONFIG["postCreateCommand"]
    assert command == "make lab-env"
    assert re.search(r"^lab-env:", (ROOT / "Makefile").read_text(), re.MULTILINE)
    done = subprocess.run(command.split(), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    interpreter = CONFIG["customizations"]["vscode"]["settings"]["python.defaultInterpreterPath"]
    assert interpreter == "${containerWorkspaceFolder}/.venv/bin/python"
    made = ROOT / ".venv" / "bin"
    assert (made / "python").exists() and (made / "jupyter").exists()


def test_the_port_is_jupyterlabs_and_the_secret_is_the_one_connect_reads():
    assert CONFIG["forwardPorts"] == [JUPYTER_DEFAULT_PORT]
    assert "make lab" in CONFIG["portsAttributes"][str(JUPYTER_DEFAULT_PORT)]["label"]
    assert list(CONFIG["secrets"]) == [KEY_NAME]
    assert "offline" in CONFIG["secrets"][KEY_NAME]["description"]
    extensions = CONFIG["customizations"]["vscode"]["extensions"]
    assert "ms-toolsai.jupyter" in extensions  # notebooks and ipywidgets in VS Code
