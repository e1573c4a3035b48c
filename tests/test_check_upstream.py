"""The drift report of `make check-upstream`, fed a made-up newer SDK so its logic runs offline."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing
from datetime import date

import pytest
from anthropic.resources.messages.messages import DEPRECATED_MODELS
from anthropic.types import Model

from notebooks_support import ROOT

_spec = importlib.util.spec_from_file_location("check_upstream", ROOT / "tools" / "check_upstream.py")
check_upstream = importlib.util.module_from_spec(_spec)
sys.modules["check_upstream"] = check_upstream  # dataclasses look their module up by name
_spec.loader.exec_module(check_upstream)

CATALOG = check_upstream.read_catalog(ROOT / "helpers" / "models.json")
REVIEWED = date(2026, 11, 25)  # a fixed day, so that no outcome moves with the calendar


def _newer_sdk(extra_ids=(), deprecated=None):
    """A Model type and DEPRECATED_MODELS as a newer SDK release might have them."""
    ids = tuple(typing.get_args(typing.get_args(Model)[0])) + tuple(extra_ids)
    model_type = typing.Union[str, typing.Literal[ids]]
    return check_upstream.sdk_view("9.9.0", model_type, dict(DEPRECATED_MODELS if deprecated is None else deprecated))


def test_the_locked_sdk_agrees_with_the_catalog():
    sdk = check_upstream.sdk_view("locked", Model, DEPRECATED_MODELS)
    assert check_upstream.report(CATALOG, sdk, REVIEWED) == []


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


def test_a_new_model_id_is_reported():
    lines = check_upstream.report(CATALOG, _newer_sdk(extra_ids=["claude-haiku-6"]), REVIEWED)
    assert lines == ["NEW MODEL: anthropic 9.9.0 names claude-haiku-6, which the catalog does not list."]


def test_a_new_deprecation_of_an_active_model_is_reported_with_its_date():
    deprecated = {**DEPRECATED_MODELS, "claude-haiku-4-5": "March 3rd, 2027"}
    lines = check_upstream.report(CATALOG, _newer_sdk(deprecated=deprecated), REVIEWED)
    assert lines == [
        "NEW DEPRECATION: claude-haiku-4-5 reaches end of life 2027-03-03; the catalog calls claude-haiku-4-5 active."
    ]


def test_a_moved_end_of_life_date_is_reported():
    deprecated = {**DEPRECATED_MODELS, "claude-opus-4-5": "February 1st, 2027"}
    lines = check_upstream.report(CATALOG, _newer_sdk(deprecated=deprecated), REVIEWED)
    assert lines == [
        "DATE CHANGED: claude-opus-4-5 reaches end of life 2027-02-01 per the SDK; the catalog says 2027-01-22."
    ]


def test_an_unreadable_date_is_shown_as_written():
    deprecated = {**DEPRECATED_MODELS, "claude-haiku-4-5": "sometime next year"}
    (line,) = check_upstream.report(CATALOG, _newer_sdk(deprecated=deprecated), REVIEWED)
    assert "'sometime next year' (date not understood)" in line


def test_a_model_dropped_from_the_deprecation_table_is_reported():
    deprecated = {k: v for k, v in DEPRECATED_MODELS.items() if not k.startswith("claude-sonnet-4-5")}
    lines = check_upstream.report(CATALOG, _newer_sdk(deprecated=deprecated), REVIEWED)
    assert len(lines) == 1 and lines[0].startswith("NO LONGER LISTED: claude-sonnet-4-5 is deprecated")


def test_a_passed_retirement_date_is_reported_only_in_the_report():
    sdk = _newer_sdk()
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
    lines = check_upstream.report(CATALOG, _newer_sdk(), REVIEWED, api_models=served)
    assert "API LISTS NEW MODEL: GET /v1/models returns claude-nova-1, which the catalog does not list." in lines
    assert any(line.startswith("API STILL SERVES: claude-3-5-sonnet-latest") for line in lines)
    assert ("LIFECYCLE DIFFERS: GET /v1/models says claude-sonnet-4-5-20250929 is retired; "
            "the catalog says deprecated.") in lines
    assert len(lines) == 3


def test_the_script_runs_with_the_installed_sdk_and_no_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_upstream.py"), "--catalog", str(ROOT / "helpers" / "models.json"),
         "--env-file", str(tmp_path / "missing.env")],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "No ANTHROPIC_API_KEY: comparing with the SDK only" in result.stdout
    assert "Catalog" in result.stdout.splitlines()[0]


def test_check_upstream_is_not_part_of_make_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "check_upstream" not in test_recipe and "check-upstream" not in test_recipe
    upstream_recipe = makefile.split("\ncheck-upstream: ", 1)[1].split("\n\n", 1)[0]
    assert "--upgrade anthropic" in upstream_recipe and "tools/check_upstream.py" in upstream_recipe
