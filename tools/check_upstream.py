"""A deliberate look at the moving world: the model catalog against an SDK (and, with a key, the Models API).

``make check-upstream`` installs the newest ``anthropic`` into a scratch
environment and runs this file with it. It prints, in plain words, every
difference between ``helpers/models.json`` and what that SDK knows (its
``Model`` literals and ``DEPRECATED_MODELS``), plus retirement dates that have
passed, and quotes the lines of the SDK's CHANGELOG since the locked version that
name a catalog model (the wheel ships no CHANGELOG: ``make check-upstream``
downloads the sdist, which does). It changes nothing: a maintainer reads it and
updates the catalog, with a source for each fact. It needs only the standard
library and ``anthropic``, and is never part of ``make test`` (the tests feed it
a fixed, written SDK view).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Optional

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}


@dataclass
class SdkView:
    """What one SDK release says about models."""
    version: str
    model_ids: frozenset[str]
    deprecated: dict[str, Optional[date]]  # id -> end of life
    unparsed_dates: dict[str, str] = field(default_factory=dict)
    # CHANGELOG entries newer than the locked version, oldest first: (version, first line of an entry).
    changelog: tuple[tuple[str, str], ...] = ()


def parse_sdk_date(text: str) -> Optional[date]:
    """'January 22nd, 2027' -> date(2027, 1, 22); None for anything else."""
    m = re.fullmatch(r"\s*([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\s*", text)
    if not m or m.group(1).lower() not in MONTHS:
        return None
    return date(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))


def model_literals(model_type) -> frozenset[str]:
    """The ids of an SDK's ``Model`` type (a Union of str and a Literal)."""
    literals: set[str] = set()
    for arg in typing.get_args(model_type):
        literals.update(a for a in typing.get_args(arg) if isinstance(a, str))
    return frozenset(literals)


def sdk_view(version: str, model_ids: Iterable[str], deprecated_models: dict[str, str],
             changelog: Iterable[tuple[str, str]] = ()) -> SdkView:
    """An SDK's view from its model ids, its ``DEPRECATED_MODELS`` (dates as the SDK writes them) and CHANGELOG lines."""
    deprecated, unparsed = {}, {}
    for model_id, when in deprecated_models.items():
        deprecated[model_id] = parse_sdk_date(when)
        if deprecated[model_id] is None:
            unparsed[model_id] = when
    return SdkView(version, frozenset(model_ids), deprecated, unparsed, tuple(changelog))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def changelog_since(text: str, locked: str) -> list[tuple[str, str]]:
    """(version, entry) for each top-level entry of a CHANGELOG.md newer than ``locked``, oldest release first.

    The SDK's CHANGELOG has a ``## [2.15.0](...) (date)`` heading per release and one
    ``* **scope:** text`` bullet per entry; only a bullet's first line is kept.
    """
    releases: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        heading = re.match(r"##\s+\[?(\d+\.\d+\.\d+)\]?", line)
        if heading:
            releases.append((heading.group(1), []))
        elif releases and line.startswith("* "):
            releases[-1][1].append(re.sub(r"\*\*([^*]+):\*\*\s*", r"\1: ", line[2:]).strip())
    newer = [(v, entries) for v, entries in releases if _version_key(v) > _version_key(locked)]
    return [(v, entry) for v, entries in sorted(newer, key=lambda r: _version_key(r[0])) for entry in entries]


def changelog_from_sdist(sdist: Path) -> str:
    """The CHANGELOG.md inside an sdist (``anthropic-X.Y.Z.tar.gz``)."""
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/CHANGELOG.md"):
                return archive.extractfile(member).read().decode("utf-8")
    raise FileNotFoundError(f"no CHANGELOG.md in {sdist}")


def locked_version(lock: Path, package: str = "anthropic") -> str:
    """The version of ``package`` in uv.lock."""
    text = lock.read_text(encoding="utf-8")
    m = re.search(r'\[\[package\]\]\nname = "' + re.escape(package) + r'"\nversion = "([^"]+)"', text)
    if not m:
        raise ValueError(f"{package} is not in {lock}")
    return m.group(1)


def installed_sdk_view(changelog: Iterable[tuple[str, str]] = ()) -> SdkView:
    import anthropic
    from anthropic.resources.messages.messages import DEPRECATED_MODELS
    from anthropic.types import Model

    return sdk_view(anthropic.__version__, model_literals(Model), DEPRECATED_MODELS, changelog)


@dataclass(frozen=True)
class CatalogModel:
    id: str
    all_ids: tuple[str, ...]
    lifecycle: str
    retires_at: Optional[date]
    display_name: str = ""
    # Retired in the catalog, on a source, although the SDK's deprecation table still names it (reviewed).
    sdk_still_lists_deprecated: bool = False


def read_catalog(path: Path) -> list[CatalogModel]:
    raw = json.loads(path.read_text(encoding="utf-8"))["models"]
    out = []
    for r in raw:
        ids = (r["id"], *([r["snapshot"]] if r.get("snapshot") else []), *r.get("aliases", []))
        retires = date.fromisoformat(r["retires_at"]) if r.get("retires_at") else None
        out.append(CatalogModel(r["id"], ids, r["lifecycle"], retires, r.get("display_name", ""),
                                bool(r.get("sdk_still_lists_deprecated"))))
    return out


def report(catalog: list[CatalogModel], sdk: SdkView, today: date,
           api_models: Optional[list[dict]] = None) -> list[str]:
    """Every difference, one sentence each; an empty list means the catalog agrees."""
    by_id = {i: m for m in catalog for i in m.all_ids}
    lines: list[str] = []
    for model_id in sorted(sdk.model_ids - set(by_id)):
        lines.append(f"NEW MODEL: anthropic {sdk.version} names {model_id}, which the catalog does not list.")
    for model_id, eol in sorted(sdk.deprecated.items()):
        entry = by_id.get(model_id)
        shown = eol.isoformat() if eol else f"'{sdk.unparsed_dates.get(model_id)}' (date not understood)"
        if entry is None:
            lines.append(f"NEW DEPRECATION: {model_id} reaches end of life {shown}; the catalog does not list it.")
            continue
        if entry.lifecycle == "active":
            lines.append(f"NEW DEPRECATION: {model_id} reaches end of life {shown}; the catalog calls {entry.id} active.")
        elif entry.lifecycle == "retired":
            if not entry.sdk_still_lists_deprecated:
                lines.append(f"SDK SAYS DEPRECATED: anthropic {sdk.version} lists {model_id} as deprecated "
                             f"(end of life {shown}); the catalog calls {entry.id} retired. Check the model deprecations "
                             "page, then either mark it deprecated or set sdk_still_lists_deprecated with a source.")
        elif eol and entry.retires_at != eol:
            lines.append(f"DATE CHANGED: {model_id} reaches end of life {eol.isoformat()} per the SDK; "
                         f"the catalog says {entry.retires_at}.")
    deprecated_ids = set(sdk.deprecated)
    for entry in catalog:
        if entry.lifecycle == "deprecated" and not deprecated_ids & set(entry.all_ids):
            said = mentions(sdk.changelog, entry)
            if said:
                quoted = "; ".join(f"{v}: \"{text}\"" for v, text in said)
                lines.append(f"NO LONGER LISTED: {entry.id} is deprecated in the catalog but anthropic {sdk.version} "
                             f"no longer lists it as deprecated; its CHANGELOG says {quoted}.")
            else:
                lines.append(f"NO LONGER LISTED: {entry.id} is deprecated in the catalog but anthropic {sdk.version} "
                             "no longer lists it as deprecated, and its CHANGELOG since the locked version does not "
                             "say why (retired, or un-deprecated? check the model deprecations page).")
    quoted_already = {line for entry in catalog if entry.lifecycle == "deprecated"
                      and not deprecated_ids & set(entry.all_ids) for line in mentions(sdk.changelog, entry)}
    for entry in catalog:
        for version, text in mentions(sdk.changelog, entry):
            if (version, text) not in quoted_already:
                lines.append(f"CHANGELOG: anthropic {version} says \"{text}\" ({entry.id} in the catalog).")
                quoted_already.add((version, text))
    for entry in catalog:
        if entry.lifecycle != "retired" and entry.retires_at and entry.retires_at <= today:
            lines.append(f"RETIREMENT DATE PASSED: {entry.id} was due to retire on {entry.retires_at.isoformat()} "
                         f"(today is {today.isoformat()}); the catalog still calls it {entry.lifecycle}.")
    if api_models is not None:
        served = {m["id"]: m for m in api_models}
        for model_id in sorted(set(served) - set(by_id)):
            lines.append(f"API LISTS NEW MODEL: GET /v1/models returns {model_id}, which the catalog does not list.")
        for entry in catalog:
            served_ids = set(entry.all_ids) & set(served)
            if entry.lifecycle == "retired" and served_ids:
                lines.append(f"API STILL SERVES: {entry.id} is retired in the catalog but GET /v1/models lists it.")
            for model_id in sorted(served_ids):
                api_lifecycle = served[model_id].get("lifecycle")
                if api_lifecycle and entry.lifecycle != "retired" and api_lifecycle != entry.lifecycle:
                    lines.append(f"LIFECYCLE DIFFERS: GET /v1/models says {model_id} is {api_lifecycle}; "
                                 f"the catalog says {entry.lifecycle}.")
    return lines


def mentions(changelog: Iterable[tuple[str, str]], entry: CatalogModel) -> list[tuple[str, str]]:
    """The CHANGELOG entries that name a catalog model by id or display name ("Claude Sonnet 4.5")."""
    names = [re.escape(i) for i in entry.all_ids]
    if entry.display_name:
        names.append(re.escape(entry.display_name))
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(names) + r")(?![\w.-]|\.\d)", re.IGNORECASE)
    return [(v, text) for v, text in changelog if pattern.search(text)]


def _key_from(env_file: Optional[Path]) -> Optional[str]:
    key = os.environ.get("ANTHROPIC_API_KEY")
    if key or env_file is None or not env_file.exists():
        return key or None
    for line in env_file.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "ANTHROPIC_API_KEY" and value.strip():
            return value.strip().strip("'\"")
    return None


def api_listing(key: str) -> list[dict]:
    import anthropic

    client = anthropic.Anthropic(api_key=key, max_retries=1)
    return [m.model_dump(mode="json") for m in client.models.list(limit=1000)]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--env-file", type=Path, default=None)
    parser.add_argument("--lock", type=Path, default=None, help="uv.lock, for the locked anthropic version")
    parser.add_argument("--sdist", type=Path, default=None, help="the newest anthropic sdist, for its CHANGELOG.md")
    args = parser.parse_args(list(argv) if argv is not None else None)

    changelog: list[tuple[str, str]] = []
    if args.lock and args.sdist:
        locked = locked_version(args.lock)
        changelog = changelog_since(changelog_from_sdist(args.sdist), locked)
        print(f"anthropic {locked} is locked; the CHANGELOG has {len(changelog)} entries since.")
    sdk = installed_sdk_view(changelog)
    today = datetime.now().date()
    key = _key_from(args.env_file)
    api_models = None
    print(f"Catalog {args.catalog} against anthropic {sdk.version} (newest on PyPI), {today.isoformat()}.")
    if key:
        try:
            api_models = api_listing(key)
            print(f"GET /v1/models: {len(api_models)} models.")
        except Exception as error:  # the report is still useful without the API
            print(f"GET /v1/models failed ({type(error).__name__}); comparing with the SDK only.")
    else:
        print("No ANTHROPIC_API_KEY: comparing with the SDK only (set one to compare with GET /v1/models too).")
    lines = report(read_catalog(args.catalog), sdk, today, api_models)
    if not lines:
        print("No differences: the catalog agrees.")
        return 0
    print(f"{len(lines)} difference(s) to look at (update helpers/models.json with a source for each fact):")
    for line in lines:
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
