"""The Models API: listing (newest first, retired excluded by default, pagination) and retrieval."""

from __future__ import annotations

import anthropic
import pytest

from contract_support import check_error
from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog
from helpers.offline.wording import say


def test_list_is_newest_first_and_excludes_retired(api):
    models = api.list_models()
    ids = [m.id for m in models]
    assert ids, "the listing is empty"
    assert len(ids) == len(set(ids))
    created = [m.created_at for m in models]
    assert created == sorted(created, reverse=True)
    assert all(m.lifecycle in ("active", "deprecated") for m in models)
    assert all(m.type == "model" for m in models)
    retired = {model_id for entry in catalog.retired() for model_id in entry.all_ids}
    assert not retired & set(ids)
    assert set(ids) == {entry.resolved_id for entry in catalog.available()}


def test_list_includes_deprecated_models(api):
    deprecated = [e for e in catalog.available() if e.lifecycle == "deprecated"]
    if not deprecated:
        pytest.skip("the catalog has no deprecated model")
    ids = {m.id for m in api.list_models()}
    assert {e.resolved_id for e in deprecated} <= ids


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_auto_pagination_with_a_small_limit_gives_the_same_listing(api, limit):
    everything = [m.id for m in api.list_models()]
    assert len(everything) > limit  # the premise: more than one page
    assert [m.id for m in api.list_models(limit=limit)] == everything


def test_first_page_fields(api):
    everything = [m.id for m in api.list_models()]
    page = api.first_page(limit=3)
    assert [m.id for m in page.data] == everything[:3]
    assert page.has_more is True
    assert page.first_id == everything[0] and page.last_id == everything[2]
    last = api.first_page(limit=3, after_id=everything[-2])
    assert [m.id for m in last.data] == everything[-1:]
    assert last.has_more is False


def test_before_id_pages_backwards(api):
    everything = [m.id for m in api.list_models()]
    page = api.first_page(limit=2, before_id=everything[4])
    assert [m.id for m in page.data] == everything[2:4]


def test_lifecycle_filter_lists_retired_models(api):
    retired = api.list_models(lifecycle=["retired"])
    assert retired and all(m.lifecycle == "retired" for m in retired)
    assert {m.id for m in retired} == {e.resolved_id for e in catalog.retired()}


@pytest.mark.parametrize("limit", [0, 1001])
def test_limit_out_of_range(api, limit):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.first_page(limit=limit)
    check_error(info.value, 400, "invalid_request_error")
    assert info.value.api_message.startswith("limit: ")


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, PREFILL_MODEL])
def test_retrieve(api, model_id):
    entry = catalog.get(model_id)
    info = api.call(api.client.models.retrieve, model_id)
    assert info.type == "model"
    assert info.id == entry.resolved_id
    assert info.display_name == entry.display_name
    assert info.max_tokens == entry.max_output_tokens
    assert info.max_input_tokens == entry.context_window
    assert info.lifecycle == entry.lifecycle
    assert info.created_at.date() == entry.released
    assert info.id in {m.id for m in api.list_models()}


def test_retrieve_by_snapshot_id(api):
    entry = catalog.get(PREFILL_MODEL)
    if not entry.snapshot:
        pytest.skip("PREFILL_MODEL has no dated snapshot")
    assert api.call(api.client.models.retrieve, entry.snapshot).id == entry.resolved_id


@pytest.mark.parametrize("model_id", [f"{DEFAULT_MODEL}-no-such-snapshot", "not-a-model"])
def test_retrieve_unknown_model(api, model_id):
    with pytest.raises(anthropic.NotFoundError) as info:
        api.call(api.client.models.retrieve, model_id)
    check_error(info.value, 404, "not_found_error", say("model_not_found", model=model_id))


def _accepted_types(capabilities) -> set[str]:
    return {name for name, support in capabilities.thinking.types if support.supported}


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, PREFILL_MODEL])
def test_model_info_has_capabilities_from_the_catalog(api, model_id):
    # ModelInfo.capabilities (SDK types/model_info.py, model_capabilities.py): every key present, per model.
    entry = catalog.get(model_id)
    capabilities = api.call(api.client.models.retrieve, model_id).capabilities
    assert capabilities is not None
    assert _accepted_types(capabilities) == set(entry.thinking.types)
    assert capabilities.thinking.supported == entry.thinking.supported
    levels = {name for name, support in capabilities.effort if name != "supported" and support.supported}
    assert levels == set(entry.effort.levels if entry.effort else ())
    assert capabilities.effort.supported == (entry.effort is not None)
    assert capabilities.image_input.supported and capabilities.structured_outputs.supported
    raw = api.call(api.client.get, f"/v1/models/{model_id}", cast_to=object)["capabilities"]
    assert set(raw) == set(anthropic.types.ModelCapabilities.model_fields)  # "keys are always present"
    assert set(raw["thinking"]["types"]) == set(anthropic.types.ThinkingTypes.model_fields)


def test_the_listing_reports_each_model_its_own_thinking_types(api):
    listed = {m.id: _accepted_types(m.capabilities) for m in api.list_models()}
    for entry in catalog.available():
        assert listed[entry.resolved_id] == set(entry.thinking.types), entry.id
    assert len({frozenset(types) for types in listed.values()}) >= 4  # the lineup differs: the data is per model


# SDK 2.15.0 CHANGELOG: "remove retired Claude Sonnet 4.5 models"; model_list_params.py: retired models
# appear only when `retired` is asked for.
SONNET_4_5 = ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")


def test_sonnet_4_5_is_retired_listed_only_when_asked_for_and_404_when_called(api):
    assert {catalog.lookup(model_id).lifecycle for model_id in SONNET_4_5} == {"retired"}
    assert not set(SONNET_4_5) & {m.id for m in api.list_models()}
    listed = {m.id: m for m in api.list_models(lifecycle=["retired"])}
    assert listed["claude-sonnet-4-5-20250929"].lifecycle == "retired"
    assert listed["claude-sonnet-4-5-20250929"].retires_at.date().isoformat() == "2026-11-30"
    for model_id in SONNET_4_5:
        with pytest.raises(anthropic.NotFoundError) as info:
            api.create(model=model_id, max_tokens=16, messages=[{"role": "user", "content": "hi"}])
        check_error(info.value, 404, "not_found_error", say("model_not_found", model=model_id))
