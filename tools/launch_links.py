"""Links that open a lesson elsewhere (Colab, Binder, a JupyterHub through nbgitpuller), all made from the one
repository address in ``pyproject.toml`` (``[project.urls] Repository``) and the branch they open."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"
"""The branch every link opens: the lessons and the kit a bare kernel fetches come from the same one."""
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's address, for example ``https://github.com/OWNER/REPO`` (no trailing slash, no ``.git``)."""
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
