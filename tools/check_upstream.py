"""A deliberate look at the moving world: the model catalog against an SDK (and, with a key, the Models API).

``make check-upstream`` installs the newest ``anthropic`` into a scratch
environment and runs this file with it. It prints, in plain words, every
difference between ``helpers/models.json`` and what that SDK knows (its
``Model`` literals and ``DEPRECATED_MODELS``), plus retirement dates that have
passed. It changes nothing: a maintainer reads it and updates the catalog, with
a source for each fact. It needs only the standard library and ``anthropic``,
and is never part of ``make test`` (the tests feed it a made-up SDK view).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
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


def parse_sdk_date(text: str) -> Optional[date]:
    """'January 22nd, 2027' -> date(2027, 1, 22); None for anything else."""
    m = re.fullmatch(r"\s*([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\s*", text)
    if not m or m.group(1).lower() not in MONTHS:
        return None
    return date(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))


def sdk_view(version: str, model_type, deprecated_models: dict[str, str]) -> SdkView:
    """An SDK's view from its ``Model`` type (a Union of str and a Literal) and its ``DEPRECATED_MODELS``."""
    literals: set[str] = set()
    for arg in typing.get_args(model_type):
        literals.update(a for a in typing.get_args(arg) if isinstance(a, str))
    deprecated, unparsed = {}, {}
    for model_id, when in deprecated_models.items():
        deprecated[model_id] = parse_sdk_date(when)
        if deprecated[model_id] is None:
            unparsed[model_id] = when
    return SdkView(version, frozenset(literals), deprecated, unparsed)


def installed_sdk_view() -> SdkView:
    import anthropic
    from anthropic.resources.messages.messages import DEPRECATED_MODELS
    from anthropic.types import Model

    return sdk_view(anthropic.__version__, Model, DEPRECATED_MODELS)


@dataclass(frozen=True)
class CatalogModel:
    id: str
    all_ids: tuple[str, ...]
    lifecycle: str
    retires_at: Optional[date]


def read_catalog(path: Path) -> list[CatalogModel]:
    raw = json.loads(path.read_text(encoding="utf-8"))["models"]
    out = []
    for r in raw:
        ids = (r["id"], *([r["snapshot"]] if r.get("snapshot") else []), *r.get("aliases", []))
        retires = date.fromisoformat(r["retires_at"]) if r.get("retires_at") else None
        out.append(CatalogModel(r["id"], ids, r["lifecycle"], retires))
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
        elif eol and entry.retires_at != eol:
            lines.append(f"DATE CHANGED: {model_id} reaches end of life {eol.isoformat()} per the SDK; "
                         f"the catalog says {entry.retires_at}.")
    deprecated_ids = set(sdk.deprecated)
    for entry in catalog:
        if entry.lifecycle == "deprecated" and not deprecated_ids & set(entry.all_ids):
            lines.append(f"NO LONGER LISTED: {entry.id} is deprecated in the catalog but anthropic {sdk.version} "
                         "no longer lists it as deprecated (retired, or un-deprecated? check the models overview page).")
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
    args = parser.parse_args(list(argv) if argv is not None else None)

    sdk = installed_sdk_view()
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
