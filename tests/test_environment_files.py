"""The set-up files agree with each other.

`pyproject.toml` states the bounds; `uv.lock` pins every package within them;
`requirements/lab.txt` (exported from the lock) is what `environment.yml`
(conda, Binder, JupyterHub) installs.
Also checks that a real API key cannot be committed by accident and that CI
runs the same command as a learner would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    tomllib = pytest.importorskip("tomli", reason="tomli is needed on Python 3.10")

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _normalise_version(version: str) -> str:
    """'1.0' and '1' mean the same bound; '2.10' and '2.1' do not."""
    parts = version.split(".")
    if all(p.isdigit() for p in parts):
        nums = [int(p) for p in parts]
        while len(nums) > 1 and nums[-1] == 0:
            nums.pop()
        return ".".join(map(str, nums))
    return version


def _normalise_bounds(spec: str) -> frozenset[tuple[str, str]]:
    """'>=2.10,<3' / '<3, >=2.10' / '>= 2.10.0 ,<3' -> {('>=', '2.10'), ('<', '3')}."""
    clauses = set()
    for clause in spec.replace(" ", "").split(","):
        if not clause:
            continue
        m = re.fullmatch(r"(===|==|!=|~=|>=|<=|>|<)(.+)", clause)
        assert m, f"cannot read version clause {clause!r} in {spec!r}"
        clauses.add((m.group(1), _normalise_version(m.group(2))))
    return frozenset(clauses)


def _split_requirement(req: str) -> tuple[str, frozenset[tuple[str, str]]]:
    """Split a PEP 508 or conda match spec into (normalised name, bounds)."""
    assert "[" not in req and ";" not in req, (
        f"{req!r} uses extras or markers, which environment.yml cannot express; "
        "update environment.yml and this test together"
    )
    m = _NAME.match(req)
    assert m, f"cannot read requirement {req!r}"
    return _normalise_name(m.group(1)), _normalise_bounds(m.group(2))


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.sub(r"\s+#.*$", "", line).rstrip()


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_environment_yml(text: str) -> dict:
    """Read the small YAML subset conda environment files use.

    Top-level `key: value` scalars, top-level `key:` lists of `- item`, and a
    nested `- pip:` list inside `dependencies`. Anything else is an error, so a
    change of layout makes this test fail loudly rather than pass silently.
    """
    data: dict = {}
    key = None
    pip_indent = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            m = re.fullmatch(r"([A-Za-z_][\w-]*):\s*(.*)", body)
            assert m, f"environment.yml:{lineno}: unexpected line {raw!r}"
            key, value = m.group(1), m.group(2)
            assert key not in data, f"environment.yml:{lineno}: duplicate key {key!r}"
            data[key] = _unquote(value) if value else []
            pip_indent = None
            continue
        assert body.startswith("- "), f"environment.yml:{lineno}: unexpected line {raw!r}"
        item = _unquote(body[2:])
        assert key is not None and isinstance(data[key], list), (
            f"environment.yml:{lineno}: list item outside a list"
        )
        if pip_indent is not None and indent > pip_indent:
            data[key][-1]["pip"].append(item)
            continue
        pip_indent = None
        if key == "dependencies" and item == "pip:":
            data[key].append({"pip": []})
            pip_indent = indent
        else:
            data[key].append(item)
    return data


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def lock() -> dict:
    with open(ROOT / "uv.lock", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def environment() -> dict:
    return parse_environment_yml((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _locked_versions(lock: dict) -> set[tuple[str, str]]:
    """(name, version) pairs; a universal lock may hold two versions of a package, one per Python range."""
    return {(_normalise_name(p["name"]), p["version"]) for p in lock["package"]}


def _project_entry(lock: dict, pyproject: dict) -> dict:
    name = _normalise_name(pyproject["project"]["name"])
    (entry,) = [p for p in lock["package"] if _normalise_name(p["name"]) == name]
    return entry


def _closure(lock: dict, pyproject: dict, extras: tuple[str, ...] = ()) -> set[str]:
    """Every locked package the kit needs with these extras of its own (markers ignored: all platforms)."""
    packages: dict[str, list] = {}
    for package in lock["package"]:
        packages.setdefault(_normalise_name(package["name"]), []).append(package)

    def needs(name: str, extras=()) -> list:
        deps = []
        for entry in packages[name]:  # every version the lock holds (one per Python range)
            deps += entry.get("dependencies", [])
            for extra in extras:
                deps += entry.get("optional-dependencies", {}).get(extra, [])
        return [(_normalise_name(d["name"]), tuple(d.get("extra", ()))) for d in deps]

    todo = needs(_normalise_name(pyproject["project"]["name"]), extras)
    seen: set[tuple] = set()
    while todo:
        item = todo.pop()
        if item not in seen:
            seen.add(item)
            todo.extend(needs(*item))
    return {name for name, _ in seen}


def _pins(path: Path) -> set[tuple[str, str]]:
    pins = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(\s*;.*)?", line)
            assert m, f"{path.name}: not an exact pin: {line!r}"
            pins.add((_normalise_name(m.group(1)), m.group(2)))
    return pins


# --------------------------------------------------------------------------
# The parser itself
# --------------------------------------------------------------------------


def test_parser_reads_nested_pip_section():
    text = (
        "name: x  # comment\n"
        "channels:\n  - conda-forge\n"
        "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - -e .\n  - pytest >=8\n"
    )
    assert parse_environment_yml(text) == {
        "name": "x",
        "channels": ["conda-forge"],
        "dependencies": ["python=3.11", "pip", {"pip": ["-e ."]}, "pytest >=8"],
    }


def test_bounds_normalisation():
    assert _split_requirement("anthropic>=2.10,<3") == _split_requirement("anthropic >=2.10, <3.0")
    assert _split_requirement("Python_Dotenv >=1.0")[0] == "python-dotenv"
    assert _normalise_bounds(">=2.10") != _normalise_bounds(">=2.1")
    assert _normalise_bounds(">=1") != _normalise_bounds(">=1,<2")


# --------------------------------------------------------------------------
# One lock: uv.lock follows pyproject.toml; requirements/lab.txt and environment.yml follow uv.lock
# --------------------------------------------------------------------------


def test_lock_was_made_from_this_pyproject(lock, pyproject):
    project = pyproject["project"]
    wanted = set()
    for req, extra in [(r, None) for r in project["dependencies"]] + [
        (r, name) for name, reqs in project["optional-dependencies"].items() for r in reqs
    ]:
        spec, _, marker = req.partition(";")
        name, bounds = _NAME.match(spec).groups()
        markers = [m for m in (marker.strip(), f"extra == '{extra}'" if extra else "") if m]
        wanted.add((_normalise_name(name), _normalise_bounds(bounds), " and ".join(markers)))
    locked = {
        (_normalise_name(r["name"]), _normalise_bounds(r.get("specifier", "")),
         re.sub(r"python_full_version < '(\d+\.\d+)'", r"python_version < '\1'", r.get("marker", "")))
        for r in _project_entry(lock, pyproject)["metadata"]["requires-dist"]
    }
    assert locked == wanted, (
        "uv.lock is out of date with pyproject.toml: run `make upgrade` (or `uv lock`). "
        f"only in the lock: {sorted(map(str, locked - wanted))}; only in pyproject: {sorted(map(str, wanted - locked))}"
    )
    assert lock["requires-python"] == project["requires-python"]


def test_lab_requirements_are_the_locked_lab_packages(lock, pyproject):
    pins = _pins(ROOT / "requirements" / "lab.txt")
    wrong = pins - _locked_versions(lock)
    assert not wrong, f"requirements/lab.txt pins versions that uv.lock does not: {sorted(wrong)}; run `make upgrade`"
    names = {name for name, _ in pins}
    assert names == _closure(lock, pyproject, ("lab",))
    test_tools = {_normalise_name(_NAME.match(r).group(1))
                  for r in pyproject["project"]["optional-dependencies"]["test"] if ";" not in r}
    assert {"pytest", "nbval", "playwright"} <= test_tools
    assert not test_tools & names, "a learner's install must not carry the test tools"


def test_the_kit_alone_brings_no_jupyter_of_its_own(lock, pyproject):
    # A lesson's setup cell installs the kit into a host's kernel (Colab): it must not replace that host's Jupyter.
    bare = _closure(lock, pyproject)
    assert "ipywidgets" in bare and "anthropic" in bare
    assert not bare & {"jupyterlab", "notebook", "jupyter-server", "nbconvert"}, sorted(bare)
    assert "jupyterlab" in _closure(lock, pyproject, ("lab",))


def test_every_locked_package_has_an_exact_version_and_hashes(lock):
    for package in lock["package"]:
        assert package.get("version"), package["name"]
        if "registry" in package["source"]:
            files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
            assert files and all(f.get("hash", "").startswith("sha256:") for f in files), package["name"]


def test_makefile_installs_only_from_the_lock():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "sync --frozen" in makefile
    assert not re.search(r"pip install[^\n]*-e", makefile), "installs must come from uv.lock, not a fresh resolve"
    assert re.search(r"^UV_VERSION := \d+\.\d+\.\d+$", makefile, re.MULTILINE), "uv itself must be pinned"


# --------------------------------------------------------------------------
# environment.yml (conda, Binder, JupyterHub)
# --------------------------------------------------------------------------


def test_environment_name_and_channels(environment):
    assert environment["name"] == "claude-messages-kit"
    channels = [c for c in environment["channels"] if c != "nodefaults"]
    assert channels == ["conda-forge"]


def test_environment_pins_a_python_that_repo2docker_reads(environment, pyproject, lock):
    pythons = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1
    # repo2docker picks the image's Python from an exact `python=X.Y` entry only.
    m = re.fullmatch(r"python=(3\.\d+)", pythons[0])
    assert m, f"{pythons[0]!r}: write python=3.X so that repo2docker uses that version"
    minor = int(m.group(1).split(".")[1])
    floor = int(re.fullmatch(r">=3\.(\d+)", pyproject["project"]["requires-python"]).group(1))
    assert minor >= floor


def test_environment_installs_the_lab_lock_and_the_kit(environment):
    conda_packages = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert sorted(re.split(r"[=<> ]", d)[0] for d in conda_packages) == ["pip", "python"], (
        "every other package comes from requirements/lab.txt, so Binder gets the locked versions"
    )
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-r requirements/lab.txt", "-e ."]]


# --------------------------------------------------------------------------
# Secrets stay out of git
# --------------------------------------------------------------------------


def test_gitignore_lists_local_state():
    lines = {
        line.strip()
        for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    expected = {
        ".env", ".venv/", ".cache/", "__pycache__/", "*.egg-info/", ".ipynb_checkpoints/",
        "tests/artifacts/", ".pytest_cache/", ".hypothesis/", "build/", "dist/", "workspace/",
    }
    assert expected <= lines, f"missing from .gitignore: {sorted(expected - lines)}"
    assert not any(line.startswith("!") and ".env" in line for line in lines)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def test_git_ignores_dot_env_but_not_the_example():
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git work tree (e.g. an unpacked source archive)")
    ignored = _git("check-ignore", "-q", ".env")
    assert ignored.returncode == 0, f"git does not ignore .env: {ignored.stderr}"
    example = _git("check-ignore", "-q", ".env.example")
    assert example.returncode == 1, ".env.example must be committed, but git ignores it"


def test_env_example_has_an_empty_key_and_no_forced_mode():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    key_lines = [line for line in lines if line.strip().startswith("ANTHROPIC_API_KEY")]
    assert len(key_lines) == 1, "expected exactly one ANTHROPIC_API_KEY line"
    name, sep, value = key_lines[0].strip().partition("=")
    assert name.strip() == "ANTHROPIC_API_KEY" and sep == "="
    assert value.strip() == "", ".env.example must not contain a key value"
    assert any(re.fullmatch(r"#\s*KIT_MODE=offline", line.strip()) for line in lines)
    assert not any(line.strip().startswith("KIT_MODE") for line in lines), (
        "KIT_MODE must stay commented out in .env.example"
    )


# --------------------------------------------------------------------------
# CI runs what a learner runs
# --------------------------------------------------------------------------


def test_ci_run_calls_make_test():
    script = ROOT / ".ci" / "run"
    text = script.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] in ("#!/usr/bin/env bash", "#!/bin/bash")
    assert "set -euo pipefail" in lines
    assert "make test" in lines
    assert lines.index("make test-colab") > lines.index("make test"), "the emulated Colab runs after the suite"
    assert os.access(script, os.X_OK), ".ci/run must be executable"
