"""The model catalog: complete, consistent with the SDK, and the only place model ids live."""

from __future__ import annotations

import json
import re
import typing
from datetime import date
from pathlib import Path

import pytest
from anthropic.resources.messages.messages import DEPRECATED_MODELS
from anthropic.types import Model

from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog

ROOT = Path(__file__).resolve().parents[1]
MODEL_ID = re.compile(r"\bclaude-(?:\d|opus|sonnet|haiku|fable|mythos|instant)[a-z0-9.-]*[a-z0-9]")
NOT_FOUND_EVIDENCE = ("not_found_error", "NotFoundError", "404")


def _sdk_model_ids() -> set[str]:
    literal = typing.get_args(Model)[0]
    return set(typing.get_args(literal))


def test_every_model_the_sdk_names_is_in_the_catalog():
    missing = _sdk_model_ids() - catalog.known_ids()
    assert not missing, f"add these SDK model ids to helpers/models.json: {sorted(missing)}"


def test_every_model_the_sdk_deprecates_is_in_the_catalog_as_deprecated_or_retired():
    for model_id, eol in DEPRECATED_MODELS.items():
        entry = catalog.lookup(model_id)
        assert entry is not None, f"{model_id} (end of life {eol}) is missing from the catalog"
        assert entry.lifecycle in ("deprecated", "retired"), f"{model_id} reaches end of life {eol}"
        assert entry.retires_at is not None


def test_models_past_their_retirement_date_are_retired():
    # The SDK's end-of-life dates, compared with the day the catalog was last reviewed.
    reviewed = date(2026, 12, 7)
    for entry in catalog.models():
        if entry.retires_at is not None and entry.retires_at < reviewed:
            assert entry.retired, f"{entry.id} retired on {entry.retires_at} but is listed as {entry.lifecycle}"


def test_default_and_prefill_models_fit_their_jobs():
    default, prefill = catalog.get(DEFAULT_MODEL), catalog.get(PREFILL_MODEL)
    assert default.lifecycle == "active" and not default.legacy
    cheapest = min(catalog.available(), key=lambda m: m.price.input)
    assert default.price.input == cheapest.price.input
    assert prefill.supports_prefill and not prefill.retired


def test_prefill_is_refused_by_every_current_model():
    for entry in catalog.available():
        if entry.released >= date(2026, 1, 1):
            assert not entry.supports_prefill, entry.id


def test_ids_are_unique_and_entries_complete():
    raw = json.loads(catalog.CATALOG_FILE.read_text())["models"]
    ids = [i for r in raw for i in [r["id"], r.get("snapshot"), *r.get("aliases", [])] if i]
    assert len(ids) == len(set(ids))
    for fields in raw:
        entry = catalog.get(fields["id"])
        assert entry.lifecycle in ("active", "deprecated", "retired")
        assert entry.context_window > 0 and 0 < entry.max_output_tokens <= entry.context_window
        assert entry.price.input > 0 and entry.price.output >= entry.price.input
        named = {name.split(".")[0] for name in entry.unconfirmed}
        assert named <= set(fields), f"{entry.id}: 'unconfirmed' must name fields of the entry"


def test_snapshot_ids_resolve_to_their_alias():
    entry = catalog.get(PREFILL_MODEL)
    assert entry.snapshot and catalog.lookup(entry.snapshot) is entry
    assert entry.resolved_id == entry.snapshot


def test_cost_uses_long_context_rates_above_the_threshold():
    entry = catalog.get(DEFAULT_MODEL)
    threshold = entry.price.long_context_above
    assert threshold is not None
    below = entry.price.cost_usd(threshold, 1000)
    above = entry.price.cost_usd(threshold + 1, 1000)
    assert below == pytest.approx((threshold * entry.price.input + 1000 * entry.price.output) / 1e6)
    assert above == pytest.approx(((threshold + 1) * entry.price.long_context_input + 1000 * entry.price.long_context_output) / 1e6)


def test_get_names_the_choices_for_an_unknown_model():
    with pytest.raises(KeyError, match=DEFAULT_MODEL):
        catalog.get("claude-unknown-1")


def _scanned_texts():
    """(place, text, is_error_output) for every file in helpers/ and every notebook cell."""
    for path in sorted((ROOT / "helpers").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json", ".md", ".txt") and path != catalog.CATALOG_FILE:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), False
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            place = f"{path.relative_to(ROOT)} cell {number}"
            yield place, "".join(cell["source"]), False
            # One cell's outputs together: a print of the id and the 404 it got may be separate stream outputs.
            text = json.dumps(cell.get("outputs", []))
            yield place + " output", text, any(word in text for word in NOT_FOUND_EVIDENCE)


def scan_model_ids(texts) -> list[str]:
    problems = []
    for place, text, shows_404 in texts:
        for model_id in sorted(set(MODEL_ID.findall(text))):
            entry = catalog.lookup(model_id)
            if entry is None:
                problems.append(f"{place}: {model_id} is not in the catalog")
            elif entry.retired and not shows_404:
                problems.append(f"{place}: {model_id} is retired (allowed only in the output of a 404 on purpose)")
    return problems


def test_no_unknown_or_retired_model_ids_outside_the_catalog():
    assert scan_model_ids(_scanned_texts()) == []


def test_the_scan_catches_unknown_and_retired_ids():
    retired = catalog.retired()[0].id
    texts = [
        ("a", "model='claude-sonnet-9-9'", False),
        ("b", f"model='{retired}'", False),
        ("c", f"NotFoundError: 404 model: {retired}", True),
        ("d", f"model='{DEFAULT_MODEL}'", False),
    ]
    problems = scan_model_ids(texts)
    assert len(problems) == 2
    assert problems[0].startswith("a:") and problems[1].startswith("b:")


# -- per-model behaviour is data, each fact with a source ------------------------------------------------------------

FACTS = ("thinking", "effort", "tokenizer", "forced_tool_use", "min_cacheable_tokens")


def test_thinking_facts_are_well_formed():
    for entry in catalog.models():
        thinking = entry.thinking
        assert thinking.types and set(thinking.types) <= set(catalog.THINKING_TYPES), entry.id
        assert thinking.accepts(thinking.default), f"{entry.id}: its default thinking type must be one it accepts"
        assert thinking.display in ("summarized", "omitted"), entry.id
        assert not (thinking.accepts("enabled") and thinking.accepts("between_tools")), entry.id
        if thinking.off_efforts is not None:
            assert thinking.off_type is not None, f"{entry.id}: effort limits for thinking off need a way to turn it off"
            assert entry.effort and set(thinking.off_efforts) < set(entry.effort.levels), entry.id
        if entry.effort is not None:
            assert set(entry.effort.levels) <= set(catalog.EFFORT_LEVELS) and entry.effort.default in entry.effort.levels
        assert entry.tokenizer in catalog.TOKENIZERS, entry.id
        assert entry.min_cacheable_tokens is None or entry.min_cacheable_tokens > 0


def test_every_fact_of_an_available_model_names_its_sources():
    table = catalog.sources()
    for entry in catalog.available():
        for fact in FACTS:
            keys = entry.sources.get(fact)
            assert keys, f"{entry.id}: no source for {fact!r}"
            assert set(keys) <= set(table), f"{entry.id}: {fact!r} names unknown sources {set(keys) - set(table)}"
    for key, where in table.items():
        assert where.startswith("https://") or key == "sdk", key
        assert key.startswith("3p:") == ("third party" in where), f"{key}: third-party sources say so, in the key and the text"


def test_facts_from_third_parties_only_are_marked_unconfirmed():
    for entry in catalog.available():
        for fact, keys in entry.sources.items():
            if all(key.startswith("3p:") for key in keys):
                assert any(name.split(".")[0] == fact for name in entry.unconfirmed), (
                    f"{entry.id}: {fact!r} rests on third-party pages only, so it must be listed in 'unconfirmed'"
                )


def test_the_default_model_thinks_by_default_and_hides_the_text():
    # Haiku 5.5's migration checklist: replies may open with a thinking block, whose text is omitted by default.
    default = catalog.get(DEFAULT_MODEL).thinking
    assert default.on_by_default and default.display == "omitted" and not default.accepts("enabled")
    assert catalog.get(DEFAULT_MODEL).tokenizer == "4.7+"


def test_the_prefill_model_takes_only_budget_thinking():
    # Thinking troubleshooting: 4.5-era models take thinking.type enabled with budget_tokens; adaptive is a 400.
    prefill = catalog.get(PREFILL_MODEL).thinking
    assert prefill.accepts("enabled") and not prefill.accepts("adaptive") and not prefill.on_by_default
    assert catalog.get(PREFILL_MODEL).tokenizer == "earlier"


def test_the_catalog_has_each_kind_of_model_the_backend_tells_apart():
    current = catalog.available()
    assert any(m.thinking.always_on for m in current), "a model that cannot turn thinking off"
    assert any(m.thinking.accepts("between_tools") for m in current), "a model that turns thinking off with between_tools"
    assert any(not m.forced_tool_use for m in current), "a model that refuses forced tool use"
    assert any(m.thinking.binds_blocks for m in current), "a model that binds thinking blocks to the conversation"
    assert {m.thinking.display for m in current} == {"summarized", "omitted"}
    assert {m.tokenizer for m in current} == set(catalog.TOKENIZERS)


def test_server_tool_fees_name_their_source_and_apply_to_dated_types_only_by_name():
    assert "web-search-tool" in catalog.sources()
    assert catalog._raw()["server_tool_prices"]["_source"].startswith("web-search-tool ")
    search = catalog.server_tool_price("web_search_20250305")
    assert search is not None and search.usd_per_use == 0.01 and search.limit_field == "max_uses"
    assert catalog.server_tool_price("web_search_20260209") == search
    assert catalog.server_tool_price("web_fetch_20250910") is None
    assert catalog.server_tool_price("code_execution_20250825") is None
    assert catalog.server_tool_fees_usd({"server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 2}}) == \
        pytest.approx(0.03)
    assert catalog.server_tool_fees_usd({"server_tool_use": None}) == 0.0
