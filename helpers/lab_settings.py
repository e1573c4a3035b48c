"""JupyterLab defaults that ship with the kit: ``python -m helpers.lab_settings``.

JupyterLab reads app-level setting defaults from ``<app dir>/settings/overrides.d/*.json``
(one file per package) in the environment it runs from; the learner's own settings
still win over them. The kit puts ``jupyterlab_overrides.json`` there as
``claude-messages-kit.json``: no "Jupyter news?" pop-up over the first lesson.
The learner's home configuration is never touched.
https://jupyterlab.readthedocs.io/en/stable/user/directories.html#overridesjson
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
from pathlib import Path
from typing import Optional

from .safe_file import replace_file

SHIPPED = Path(__file__).with_name("jupyterlab_overrides.json")
INSTALLED_NAME = "claude-messages-kit.json"


def app_dir() -> Path:
    """The JupyterLab application directory, found as ``jupyterlab.commands.get_app_dir`` finds it.

    Importing ``jupyterlab.commands`` takes seconds (it pulls in the whole server), so its lookup is
    repeated here; a test checks that both give the same answer.
    """
    if os.environ.get("JUPYTERLAB_DIR"):
        return Path(os.environ["JUPYTERLAB_DIR"]).resolve()
    spec = importlib.util.find_spec("jupyterlab")  # where the package is, without importing it
    here = os.path.dirname(os.path.abspath(spec.origin)) if spec and spec.origin else ""
    found = os.path.join(sys.prefix, "share", "jupyter", "lab")
    userbase = site.getuserbase() if hasattr(site, "getuserbase") else getattr(site, "USER_BASE", "")
    if userbase and here.startswith(userbase) and not found.startswith(userbase):
        found = os.path.join(userbase, "share", "jupyter", "lab")
    elif (sys.prefix.startswith("/usr") and not os.path.exists(found)
          and os.path.exists("/usr/local/share/jupyter/lab")):
        found = "/usr/local/share/jupyter/lab"
    elif not os.path.exists(found) and here:
        beside = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here)))),
                              "share", "jupyter", "lab")
        if os.path.exists(beside):
            found = beside
    return Path(found).resolve()


def overrides_dir() -> Path:
    """Where the JupyterLab of this Python environment reads packages' setting overrides."""
    return app_dir() / "settings" / "overrides.d"


def install(target_dir: Optional[Path] = None) -> Path:
    """Copy the kit's overrides into place; unchanged files are left alone, a failed write leaves the old one."""
    target = Path(target_dir or overrides_dir()) / INSTALLED_NAME
    wanted = SHIPPED.read_bytes()
    if target.exists() and target.read_bytes() == wanted:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    return replace_file(target, wanted)


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python -m helpers.lab_settings", file=sys.stderr)
        return 2
    install()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
