"""Links that open a lesson elsewhere (Colab, Binder, a JupyterHub through nbgitpuller), all made from the one
repository address in ``pyproject.toml`` (``[project.urls] Repository``) and the branch they open."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"
"""The branch every link opens: the lessons and the kit a bare kernel fetches come from the same one."""
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's address, for example ``https://github.com/OWNER/REPO`` (no trailing slash, no ``.git``)."""
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - here, so that lesson_minutes imports this module with the stdlib alone
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415
    url = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]["Repository"]
    return url.rstrip("/").removesuffix(".git")


def owner_and_name(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.netloc != "github.com" or len(segments) != 2:
        raise ValueError(f"[project.urls] Repository must be https://github.com/OWNER/REPO, not {url!r}")
    return segments[0], segments[1]


def colab_url(path: str, url: str | None = None) -> str:
    """Opens ``path`` (relative to the repository's root, e.g. ``notebooks/01_first_request.ipynb``) in Colab."""
    owner, name = owner_and_name(url or repository())
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/{quote(path)}"


def binder_url(path: str, url: str | None = None) -> str:
    """Opens ``path`` in JupyterLab on mybinder.org (a temporary copy of the repository)."""
    owner, name = owner_and_name(url or repository())
    return f"https://mybinder.org/v2/gh/{owner}/{name}/{BRANCH}?" + urlencode({"urlpath": f"lab/tree/{path}"})


def nbgitpuller_url(hub: str, path: str, url: str | None = None) -> str:
    """Opens ``path`` on the JupyterHub at ``hub``: nbgitpuller clones the repository into the learner's home (or
    updates it, never overwriting a learner's edited file) and opens the lesson in JupyterLab."""
    url = url or repository()
    _, name = owner_and_name(url)
    query = urlencode({"repo": url, "branch": BRANCH, "urlpath": f"lab/tree/{name}/{path}"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


# --------------------------------------------------------------------------
# What `make links` writes into every shipped notebook: a badge that opens it in Colab, and a setup preamble
# that installs the kit into a kernel that does not have it (Colab opens a notebook alone, without helpers/).
# --------------------------------------------------------------------------

NOTEBOOKS = ROOT / "notebooks"
BADGE_CELL_ID = "open-in-colab"
KIT_SOURCE_VARIABLE = "KIT_SOURCE"
"""Overrides where the preamble installs the kit from (a local wheel or folder, for `make test-colab`)."""
PREAMBLE_COMMENT = ("# Opened alone (in Colab, say), this kernel has no kit yet: install it once. "
                    "Elsewhere this does nothing.")


def shipped_notebooks() -> list[Path]:
    """Lessons, appendices and solutions: a learner may open any of them alone (a solution from GitHub's page)."""
    return sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))


def kit_source(url: str | None = None) -> str:
    """What the preamble installs: the kit from the branch the badges open, so lesson and kit match."""
    return f"git+{url or repository()}@{BRANCH}"


def badge_markdown(path: str, url: str | None = None) -> str:
    return f"[![Open In Colab]({COLAB_BADGE})]({colab_url(path, url)})"


def preamble(url: str | None = None) -> str:
    """The setup cell's first lines. Installs nothing where ``helpers`` imports (a second run, ``make lab``), and
    only the kit's own dependencies elsewhere: no JupyterLab, and the host's ipywidgets stays."""
    return "\n".join([
        PREAMBLE_COMMENT,
        "import importlib.util, os, subprocess, sys",
        'if importlib.util.find_spec("helpers") is None:',
        f'    kit = os.environ.get("{KIT_SOURCE_VARIABLE}") or "{kit_source(url)}"',
        '    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", kit], capture_output=True, text=True)',
        "    if pip.returncode:  # pip's own words, which a notebook would not show otherwise",
        '        raise RuntimeError(f"Installing the kit from {kit} failed; pip said:\\n{pip.stderr[-1500:]}")',
        "    importlib.invalidate_caches()",
    ]) + "\n\n"


def without_preamble(code: str) -> str:
    """The setup cell's own code: any preamble (this one or an older one) taken off the top."""
    if not code.startswith("# Opened alone"):
        return code
    _, _, rest = code.partition("\n\n")
    return rest


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def with_launch_cells(notebook: dict, path: str, url: str | None = None) -> dict:
    """A copy of ``notebook`` with exactly one badge cell, first, and the preamble atop its first code cell."""
    cells = [copy.deepcopy(c) for c in notebook["cells"] if c.get("id") != BADGE_CELL_ID and COLAB_BADGE not in _text(c)]
    badge = {"cell_type": "markdown", "id": BADGE_CELL_ID, "metadata": {}, "source": _lines(badge_markdown(path, url))}
    setup = next(c for c in cells if c["cell_type"] == "code")
    setup["source"] = _lines(preamble(url) + without_preamble(_text(setup)))
    return {**notebook, "cells": [badge, *cells]}


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def write(paths: list[Path] | None = None) -> list[Path]:
    """Rewrites the notebooks whose launch cells are missing or stale; returns those it changed."""
    changed = []
    for path in paths or shipped_notebooks():
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        updated = json.dumps(with_launch_cells(notebook, path.relative_to(ROOT).as_posix()), indent=1,
                             ensure_ascii=False, sort_keys=True) + "\n"
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Puts the Colab badge and the setup preamble in every notebook.")
    parser.add_argument("--write", action="store_true", help="rewrite the notebooks (else: list the stale ones)")
    args = parser.parse_args(argv)
    if args.write:
        for path in write():
            print(f"updated {path.relative_to(ROOT)}")
        return 0
    stale = [p for p in shipped_notebooks()
             if json.loads(p.read_text(encoding="utf-8")) != with_launch_cells(
                 json.loads(p.read_text(encoding="utf-8")), p.relative_to(ROOT).as_posix())]
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} (run `make links`)")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
