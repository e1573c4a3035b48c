"""The anthropic SDK's own tests, from the source archive (sdist) of the version uv.lock pins.

The wheel has no tests; the sdist on PyPI has them. Its address and sha256 come from uv.lock, so the tests
are those of the installed SDK and nothing upstream can change them. The archive and its ``tests/`` and
``pyproject.toml`` (the SDK's pytest settings) are kept in ``.cache/sdk-tests/`` (git-ignored); none of the
SDK's code is committed. Several test processes may fetch at once: each writes apart, then renames.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "sdk-tests"
KEPT = ("pyproject.toml", "tests/")
"""What is taken from the archive: the SDK's pytest settings and its tests."""
DONE = ".sha256"
"""Written last into an unpacked copy: the archive's hash, so a half-written copy is never used."""


class Unavailable(Exception):
    """The archive could not be fetched (no network, or PyPI did not answer)."""


@dataclass(frozen=True)
class Sdist:
    version: str
    url: str
    sha256: str


def locked(lock_path: Path = ROOT / "uv.lock") -> Sdist:
    """The sdist of the anthropic version that uv.lock pins."""
    with open(lock_path, "rb") as f:
        lock = tomllib.load(f)
    (package,) = [p for p in lock["package"] if p["name"] == "anthropic"]
    sdist = package["sdist"]
    algorithm, _, digest = sdist["hash"].partition(":")
    assert algorithm == "sha256", f"uv.lock gives the anthropic sdist a {algorithm} hash"
    return Sdist(package["version"], sdist["url"], digest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _archive(sdist: Sdist) -> Path:
    """The archive, downloaded once; a file whose hash is not the lock's is never used."""
    path = CACHE / f"anthropic-{sdist.version}.tar.gz"
    if path.exists() and _sha256(path) == sdist.sha256:
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=CACHE, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(sdist.url, timeout=60) as response:
                    shutil.copyfileobj(response, out)
            except OSError as error:
                raise Unavailable(f"could not download {sdist.url}: {error}") from error
        got = _sha256(Path(partial))
        if got != sdist.sha256:
            raise AssertionError(f"{sdist.url} has sha256 {got}, but uv.lock says {sdist.sha256}")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return path


def _unpack(archive: Path, sdist: Sdist, into: Path) -> None:
    """Only ``KEPT``, only plain files and folders, and nothing outside ``into``."""
    prefix = f"anthropic-{sdist.version}/"
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            name = member.name
            if not name.startswith(prefix):
                continue
            inner = name[len(prefix):]
            if not any(inner == k or (k.endswith("/") and inner.startswith(k)) for k in KEPT):
                continue
            target = (into / inner).resolve()
            assert target.is_relative_to(into.resolve()), f"{name}: a path outside the archive's folder"
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    (into / DONE).write_text(sdist.sha256, encoding="ascii")


def tests_folder(sdist: Sdist | None = None) -> Path:
    """A folder holding the SDK's ``pyproject.toml`` and ``tests/`` of the locked version; raises
    ``Unavailable`` when the archive is not cached and cannot be downloaded."""
    sdist = sdist or locked()
    folder = CACHE / f"anthropic-{sdist.version}"
    done = folder / DONE
    if done.exists() and done.read_text(encoding="ascii") == sdist.sha256:
        return folder
    archive = _archive(sdist)
    partial = Path(tempfile.mkdtemp(dir=CACHE, prefix=".unpack-"))
    try:
        _unpack(archive, sdist, partial)
        if folder.exists():  # an older or broken copy (another process's complete copy has DONE)
            if done.exists() and done.read_text(encoding="ascii") == sdist.sha256:
                return folder
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(partial, folder)
        except OSError:  # another process renamed its copy first
            if not (done.exists() and done.read_text(encoding="ascii") == sdist.sha256):
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder
