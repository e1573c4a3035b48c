"""The drift report of `make check-upstream`, fed a fixed, written SDK view so that its logic runs offline.

The views and catalogs below are written out here, not read from the installed
SDK, so no outcome moves when the lock moves; only the last tests look at the
installed SDK and the real catalog.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import tarfile
from datetime import date

import pytest
from anthropic.resources.messages.messages import DEPRECATED_MODELS
from anthropic.types import Model

from notebooks_support import ROOT

_spec = importlib.util.spec_from_file_location("check_upstream", ROOT / "tools" / "check_upstream.py")
check_upstream = importlib.util.module_from_spec(_spec)
sys.modules["check_upstream"] = check_upstream  # dataclasses look their module up by name
_spec.loader.exec_module(check_upstream)

CatalogModel = check_upstream.CatalogModel
REVIEWED = date(2026, 11, 25)  # a fixed day, so that no outcome moves with the calendar

# A catalog as it stood before Sonnet 4.5 retired, and the SDK release it agreed with (2.14-like).
CATALOG = [
    CatalogModel("claude-haiku-5-5", ("claude-haiku-5-5",), "active", None, "Claude Haiku 5.5"),
    CatalogModel("claude-haiku-4-5", ("claude-haiku-4-5", "claude-haiku-4-5-20251001"), "active", None,
                 "Claude Haiku 4.5"),
    CatalogModel("claude-opus-4-5", ("claude-opus-4-5", "claude-opus-4-5-20251101"), "deprecated",
                 date(2027, 1, 22), "Claude Opus 4.5"),
    CatalogModel("claude-sonnet-4-5", ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"), "deprecated",
                 date(2026, 11, 30), "Claude Sonnet 4.5"),
    CatalogModel("claude-mythos-preview", ("claude-mythos-preview",), "retired", date(2026, 6, 30),
                 "Claude Mythos Preview", sdk_still_lists_deprecated=True),
    CatalogModel("claude-3-5-sonnet-latest", ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"), "retired",
                 date(2025, 10, 28), "Claude Sonnet 3.5"),
]
IDS = ("claude-haiku-5-5", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-5",
       "claude-opus-4-5-20251101", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-mythos-preview")
DEPRECATED = {
    "claude-mythos-preview": "June 30th, 2026",
    "claude-opus-4-5": "January 22nd, 2027",
    "claude-opus-4-5-20251101": "January 22nd, 2027",
    "claude-sonnet-4-5": "November 30th, 2026",
    "claude-sonnet-4-5-20250929": "November 30th, 2026",
}
SONNET_4_5_GONE = {k: v for k, v in DEPRECATED.items() if not k.startswith("claude-sonnet-4-5")}
RETIRED_LINE = ("2.15.0", "api: remove retired Claude Sonnet 4.5 models")


def _sdk(extra_ids=(), deprecated=None, ids=IDS, changelog=()):
    return check_upstream.sdk_view("9.9.0", (*ids, *extra_ids), DEPRECATED if deprecated is None else deprecated,
                                   changelog)


def _with(entry_id, **changes):
    """The written catalog with one entry changed."""
    import dataclasses

    return [dataclasses.replace(m, **changes) if m.id == entry_id else m for m in CATALOG]


def test_the_written_sdk_view_agrees_with_the_written_catalog():
    assert check_upstream.report(CATALOG, _sdk(), REVIEWED) == []


@pytest.mark.parametrize("text, expected", [
    ("January 22nd, 2027", date(2027, 1, 22)),
    ("November 30th, 2026", date(2026, 11, 30)),
    ("June 1st, 2026", date(2026, 6, 1)),
    ("March 3rd 2027", date(2027, 3, 3)),
    ("2027-01-22", None),
    ("soon", None),
])
def test_sdk_dates_are_read_in_the_sdks_own_format(text, expected):
    assert check_upstream.parse_sdk_date(text) == expected


def test_model_ids_are_read_from_a_union_of_str_and_a_literal():
    import typing

    model_type = typing.Union[str, typing.Literal["claude-haiku-6", "claude-opus-6"]]
    assert check_upstream.model_literals(model_type) == {"claude-haiku-6", "claude-opus-6"}


def test_a_new_model_id_is_reported():
    lines = check_upstream.report(CATALOG, _sdk(extra_ids=["claude-haiku-6"]), REVIEWED)
    assert lines == ["NEW MODEL: anthropic 9.9.0 names claude-haiku-6, which the catalog does not list."]


def test_a_new_deprecation_of_an_active_model_is_reported_with_its_date():
    deprecated = {**DEPRECATED, "claude-haiku-4-5": "March 3rd, 2027"}
    lines = check_upstream.report(CATALOG, _sdk(deprecated=deprecated), REVIEWED)
    assert lines == [
        "NEW DEPRECATION: claude-haiku-4-5 reaches end of life 2027-03-03; the catalog calls claude-haiku-4-5 active."
    ]


def test_a_moved_end_of_life_date_is_reported():
    deprecated = {**DEPRECATED, "claude-opus-4-5": "February 1st, 2027"}
    lines = check_upstream.report(CATALOG, _sdk(deprecated=deprecated), REVIEWED)
    assert lines == [
        "DATE CHANGED: claude-opus-4-5 reaches end of life 2027-02-01 per the SDK; the catalog says 2027-01-22."
    ]


def test_an_unreadable_date_is_shown_as_written():
    deprecated = {**DEPRECATED, "claude-haiku-4-5": "sometime next year"}
    (line,) = check_upstream.report(CATALOG, _sdk(deprecated=deprecated), REVIEWED)
    assert "'sometime next year' (date not understood)" in line


def test_a_model_the_sdk_calls_deprecated_and_the_catalog_retired_is_reported():
    catalog = _with("claude-mythos-preview", sdk_still_lists_deprecated=False)
    lines = check_upstream.report(catalog, _sdk(), REVIEWED)
    assert lines == [
        "SDK SAYS DEPRECATED: anthropic 9.9.0 lists claude-mythos-preview as deprecated (end of life 2026-06-30); "
        "the catalog calls claude-mythos-preview retired. Check the model deprecations page, then either mark it "
        "deprecated or set sdk_still_lists_deprecated with a source."
    ]


def test_a_reviewed_retirement_the_sdk_still_lists_is_not_reported_again():
    assert check_upstream.report(CATALOG, _sdk(), REVIEWED) == []


def test_a_model_dropped_from_the_deprecation_table_is_reported_with_the_changelog_line_that_says_why():
    lines = check_upstream.report(CATALOG, _sdk(deprecated=SONNET_4_5_GONE, changelog=[RETIRED_LINE]), REVIEWED)
    assert lines == [
        "NO LONGER LISTED: claude-sonnet-4-5 is deprecated in the catalog but anthropic 9.9.0 no longer lists it "
        "as deprecated; its CHANGELOG says 2.15.0: \"api: remove retired Claude Sonnet 4.5 models\"."
    ]


def test_a_model_dropped_with_nothing_in_the_changelog_is_reported_as_a_question():
    lines = check_upstream.report(CATALOG, _sdk(deprecated=SONNET_4_5_GONE), REVIEWED)
    assert len(lines) == 1
    assert lines[0].startswith("NO LONGER LISTED: claude-sonnet-4-5 is deprecated")
    assert "does not say why" in lines[0]


def test_other_changelog_lines_naming_a_catalog_model_are_quoted():
    changelog = [("2.13.0", "api: mark Claude Opus 4.5 as deprecated (end-of-life January 22, 2027)"),
                 ("2.16.0", "api: add the storage_not_ready error code")]
    lines = check_upstream.report(CATALOG, _sdk(changelog=changelog), REVIEWED)
    assert lines == ["CHANGELOG: anthropic 2.13.0 says \"api: mark Claude Opus 4.5 as deprecated "
                     "(end-of-life January 22, 2027)\" (claude-opus-4-5 in the catalog)."]


def test_a_display_name_matches_only_the_whole_version():
    entry = CatalogModel("claude-opus-4-0", ("claude-opus-4-0",), "retired", None, "Claude Opus 4")
    said = check_upstream.mentions([("2.0.0", "api: mark Claude Opus 4.5 as deprecated"),
                                    ("2.0.1", "api: remove retired Claude Opus 4 models")], entry)
    assert said == [("2.0.1", "api: remove retired Claude Opus 4 models")]


CHANGELOG_TEXT = """# Changelog

## [2.17.0](https://example.com/compare/v2.16.0...v2.17.0) (2026-12-03)

### Bug Fixes

* **client:** use the API's error message, not the whole response body, as the error message

  A second paragraph that is not quoted.

## [2.15.0](https://example.com/compare/v2.14.0...v2.15.0) (2026-11-30)

### Chores

* **api:** remove retired Claude Sonnet 4.5 models

## [2.14.0](https://example.com/compare/v2.13.0...v2.14.0) (2026-11-24)

* **api:** an entry of the locked version itself
"""


def test_changelog_entries_since_the_locked_version_are_read_oldest_first():
    assert check_upstream.changelog_since(CHANGELOG_TEXT, "2.14.0") == [
        ("2.15.0", "api: remove retired Claude Sonnet 4.5 models"),
        ("2.17.0", "client: use the API's error message, not the whole response body, as the error message"),
    ]
    assert check_upstream.changelog_since(CHANGELOG_TEXT, "2.17.0") == []


def _sdist(tmp_path, text=CHANGELOG_TEXT):
    path = tmp_path / "anthropic-9.9.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = text.encode()
        member = tarfile.TarInfo("anthropic-9.9.0/CHANGELOG.md")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return path


def test_the_changelog_is_read_from_an_sdist(tmp_path):
    assert check_upstream.changelog_from_sdist(_sdist(tmp_path)) == CHANGELOG_TEXT


def test_the_locked_version_is_read_from_a_uv_lock(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\n\n[[package]]\nname = "annotated-types"\nversion = "0.7.0"\n\n'
                    '[[package]]\nname = "anthropic"\nversion = "2.14.0"\n', encoding="utf-8")
    assert check_upstream.locked_version(lock) == "2.14.0"


def test_a_passed_retirement_date_is_reported_only_in_the_report():
    sdk = _sdk()
    assert check_upstream.report(CATALOG, sdk, date(2026, 11, 29)) == []
    lines = check_upstream.report(CATALOG, sdk, date(2026, 11, 30))
    assert lines == [
        "RETIREMENT DATE PASSED: claude-sonnet-4-5 was due to retire on 2026-11-30 (today is 2026-11-30); "
        "the catalog still calls it deprecated."
    ]


def test_the_models_api_listing_is_compared_when_given():
    served = [
        {"id": "claude-haiku-5-5", "lifecycle": "active"},
        {"id": "claude-sonnet-4-5-20250929", "lifecycle": "retired"},
        {"id": "claude-3-5-sonnet-20241022", "lifecycle": "deprecated"},
        {"id": "claude-nova-1", "lifecycle": "active"},
    ]
    lines = check_upstream.report(CATALOG, _sdk(), REVIEWED, api_models=served)
    assert "API LISTS NEW MODEL: GET /v1/models returns claude-nova-1, which the catalog does not list." in lines
    assert any(line.startswith("API STILL SERVES: claude-3-5-sonnet-latest") for line in lines)
    assert ("LIFECYCLE DIFFERS: GET /v1/models says claude-sonnet-4-5-20250929 is retired; "
            "the catalog says deprecated.") in lines
    assert len(lines) == 3


# The real catalog and the installed (locked) SDK: these move with the lock on purpose, so that
# moving the lock without reviewing the catalog fails here.

def test_the_real_catalog_is_read_with_its_reviewed_flags():
    catalog = {m.id: m for m in check_upstream.read_catalog(ROOT / "helpers" / "models.json")}
    assert catalog["claude-sonnet-4-5"].all_ids == ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
    assert catalog["claude-mythos-preview"].sdk_still_lists_deprecated


def test_the_locked_sdk_agrees_with_the_catalog():
    sdk = check_upstream.sdk_view("locked", check_upstream.model_literals(Model), DEPRECATED_MODELS)
    catalog = check_upstream.read_catalog(ROOT / "helpers" / "models.json")
    assert check_upstream.report(catalog, sdk, REVIEWED) == []


def test_the_script_runs_with_the_installed_sdk_and_no_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_upstream.py"), "--catalog", str(ROOT / "helpers" / "models.json"),
         "--env-file", str(tmp_path / "missing.env"), "--lock", str(ROOT / "uv.lock"), "--sdist", str(_sdist(tmp_path))],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Catalog" in result.stdout.splitlines()[1]
    assert "No ANTHROPIC_API_KEY: comparing with the SDK only" in result.stdout
    assert "the CHANGELOG has" in result.stdout.splitlines()[0]


def test_check_upstream_is_not_part_of_make_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "check_upstream" not in test_recipe and "check-upstream" not in test_recipe
    upstream_recipe = makefile.split("\ncheck-upstream: ", 1)[1].split("\n\n", 1)[0]
    assert "--upgrade anthropic" in upstream_recipe and "tools/check_upstream.py" in upstream_recipe
    assert "--no-binary" in upstream_recipe and "--sdist" in upstream_recipe
