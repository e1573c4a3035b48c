"""The learner's workspace: their own copies of the shipped lessons.

``make lab`` opens JupyterLab on a git-ignored copy of ``notebooks/`` so that a
learner's edits never touch what ships (and what ``make test`` checks). Later
runs bring new and updated lessons in the way nbgitpuller does on JupyterHub:

- a lesson the learner has not changed is updated to the shipped version, even if they ran it (running
  stores outputs and execution counts, which are not edits: their outputs go with the update);
- a lesson the learner changed (a cell's source, a cell added or removed) is kept as it is (their work wins),
  and the new shipped version is placed beside it, ``05_stop_reasons (new).ipynb``, one click away in
  JupyterLab;
- a lesson the learner deleted comes back.

The workspace remembers the fingerprint of what it last copied (``.kit-workspace.json``); that is how
"changed by the learner" is told apart from "changed upstream". A notebook's fingerprint covers its cells'
types and sources only; any other file's covers its bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .safe_file import replace_file

MANIFEST = ".kit-workspace.json"
MANIFEST_FORMAT = 2  # 1: a fingerprint of the whole file's bytes, notebooks included
NEW_VERSION = "{stem} (new){suffix}"
COPIED_SUFFIXES = (".ipynb", ".md", ".json", ".csv", ".txt", ".png", ".jpg", ".pdf")
SKIPPED_PARTS = (".ipynb_checkpoints", "__pycache__")


@dataclass
class SyncReport:
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    beside: dict[str, str] = field(default_factory=dict)  # kept lesson -> its new version's name, beside it

    def lines(self) -> list[str]:
        out = []
        if self.copied:
            out.append(f"Copied {len(self.copied)} lesson file(s) into your workspace.")
        if self.updated:
            out.append(f"Updated {len(self.updated)} lesson(s) you had not changed (any outputs you had are "
                       f"replaced by the new version's): {', '.join(self.updated)}.")
        if self.restored:
            out.append(f"Restored {len(self.restored)} lesson(s) you had deleted: {', '.join(self.restored)}.")
        for name in self.kept:
            out.append(f"Kept your edited {name}; the newer shipped version is beside it: {self.beside[name]}.")
        return out


def _fingerprint(path: Path) -> str:
    """What the learner could have changed: a notebook's cell types and sources, any other file's bytes."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(data).get("cells")
            typed = [[cell.get("cell_type"), _source(cell.get("source"))] for cell in cells]
            data = json.dumps(typed, ensure_ascii=False).encode("utf-8")
        except (ValueError, AttributeError, TypeError):
            pass  # not a notebook JSON can read: its bytes are all there is
    return hashlib.sha256(data).hexdigest()


def _source(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _beside(relative: Path) -> Path:
    return relative.with_name(NEW_VERSION.format(stem=relative.stem, suffix=relative.suffix))


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
    """What was last copied, by fingerprint. A first-format manifest (bytes of whole notebooks) cannot tell a run
    lesson from an edited one, so its notebooks count as unknown: kept if they differ, with the new one beside."""
    try:
        raw = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    if raw.get("format") == MANIFEST_FORMAT and isinstance(raw.get("files"), dict):
        return raw["files"]
    return {name: print_ for name, print_ in raw.items() if isinstance(print_, str) and not name.endswith(".ipynb")}


def _write_manifest(dest: Path, manifest: dict[str, str]) -> None:
    document = {"format": MANIFEST_FORMAT, "files": manifest}
    replace_file(dest / MANIFEST, json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))


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
            new_version = _beside(relative)
            _copy(shipped, dest / new_version)
            report.beside[name] = new_version.as_posix()
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
