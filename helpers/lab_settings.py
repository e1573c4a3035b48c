"""JupyterLab defaults that ship with the kit: ``python -m helpers.lab_settings``.

JupyterLab reads app-level setting defaults from ``<app dir>/settings/overrides.d/*.json``
(one file per package) in the environment it runs from; the learner's own settings
still win over them. The kit puts ``jupyterlab_overrides.json`` there as
``claude-messages-kit.json``: no "Jupyter news?" pop-up over the first lesson.
The learner's home configuration is never touched.
https://jupyterlab.readthedocs.io/en/stable/user/directories.html#overridesjson
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from .safe_file import replace_file

SHIPPED = Path(__file__).with_name("jupyterlab_overrides.json")
INSTALLED_NAME = "claude-messages-kit.json"


def overrides_dir() -> Path:
    """Where the JupyterLab of this Python environment reads packages' setting overrides."""
    from jupyterlab.commands import get_app_dir  # the same lookup JupyterLab makes (JUPYTERLAB_DIR included)

    return Path(get_app_dir()) / "settings" / "overrides.d"


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
