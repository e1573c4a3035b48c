"""The learner's workspace: their own copies of the shipped lessons.

``make lab`` opens JupyterLab on a git-ignored copy of ``notebooks/`` so that a
learner's edits never touch what ships (and what ``make test`` checks). Later
runs bring new and updated lessons in the way nbgitpuller does on JupyterHub:

- a lesson the learner has not opened and changed is updated to the shipped version;
- a lesson the learner changed is kept as it is (their work wins), and the new
  shipped version is named so they can look at it;
- a lesson the learner deleted comes back.

The workspace remembers the fingerprint of what it last copied
(``.kit-workspace.json``); that is how "changed by the learner" is told apart
from "changed upstream".
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .safe_file import replace_file

MANIFEST = ".kit-workspace.json"
COPIED_SUFFIXES = (".ipynb", ".md", ".json", ".csv", ".txt", ".png", ".jpg", ".pdf")
SKIPPED_PARTS = (".ipynb_checkpoints", "__pycache__")


@dataclass
class SyncReport:
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.copied:
            out.append(f"Copied {len(self.copied)} lesson file(s) into your workspace.")
        if self.updated:
            out.append(f"Updated {len(self.updated)} lesson(s) you had not changed: {', '.join(self.updated)}.")
        if self.restored:
            out.append(f"Restored {len(self.restored)} lesson(s) you had deleted: {', '.join(self.restored)}.")
        for name in self.kept:
            out.append(f"Kept your edited {name}; the newer shipped version is notebooks/{name}.")
        return out


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped_files(source: Path) -> list[Path]:
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and path.suffix in COPIED_SUFFIXES and not any(
            part in SKIPPED_PARTS or part.startswith(".") for part in relative.parts
        ):
            files.append(relative)
    return files


def _read_manifest(dest: Path) -> dict[str, str]:
    try:
        return json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _write_manifest(dest: Path, manifest: dict[str, str]) -> None:
    replace_file(dest / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, source.read_bytes())


def sync(source: Path, dest: Path) -> SyncReport:
    """Bring ``dest`` up to date with ``source`` without touching anything the learner changed."""
    source, dest = Path(source), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(dest)
    report = SyncReport()
    for relative in _shipped_files(source):
        name = relative.as_posix()
        shipped, mine = source / relative, dest / relative
        shipped_print = _fingerprint(shipped)
        last_copied = manifest.get(name)
        if not mine.exists():
            _copy(shipped, mine)
            (report.restored if last_copied else report.copied).append(name)
        elif last_copied == shipped_print:
            continue  # nothing new upstream; the learner's copy stays as it is
        elif last_copied is not None and _fingerprint(mine) == last_copied:
            _copy(shipped, mine)
            report.updated.append(name)
        elif _fingerprint(mine) == shipped_print:
            pass  # already identical (e.g. a manifest lost)
        else:
            report.kept.append(name)
            continue  # keep the old fingerprint: the learner's copy still differs from what we gave them
        manifest[name] = shipped_print
    _write_manifest(dest, manifest)
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m helpers.workspace SHIPPED_DIR WORKSPACE_DIR", file=sys.stderr)
        return 2
    for line in sync(Path(argv[0]), Path(argv[1])).lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
