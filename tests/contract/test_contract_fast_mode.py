"""Fast mode (``speed: "fast"``): served only on the models whose catalog entry has ``fast_mode``.

Sources (in ``helpers/models.json``): the fast mode pages of the platform and Claude Code docs
(served on Opus 5.5, Opus 5 and Fable 5.2; Opus 5's is a research preview behind the
``fast-mode-2026-02-01`` beta header; not on Haiku, Sonnet or other models) and the SDK's
``types/usage.py`` ("The inference speed mode used for this request"). The refusal wordings
are unconfirmed (``helpers/offline/wording.py``).
"""

from __future__ import annotations

import anthropic
import pytest

from contract_support import check_error
from helpers import DEFAULT_MODEL, catalog
from helpers.offline.wording import say

FAST_MODELS = [m for m in catalog.available() if m.fast_mode is not None]
NEEDS_BETA = [m for m in FAST_MODELS if m.fast_mode.beta]
REFUSING = [m for m in catalog.available() if m.fast_mode is None]


def _ask(api, model_id, **extra):
    return api.create(model=model_id, max_tokens=64, messages=[{"role": "user", "content": "Say hello."}], **extra)


def _headers(entry):
    return {"extra_headers": {"anthropic-beta": entry.fast_mode.beta}} if entry.fast_mode.beta else {}


def test_the_catalog_names_the_fast_models_the_docs_name():
    assert {m.id for m in FAST_MODELS} == {"claude-opus-5-5", "claude-opus-5", "claude-fable-5-2"}
    assert {m.id for m in NEEDS_BETA} == {"claude-opus-5"}
    assert NEEDS_BETA[0].fast_mode.beta == "fast-mode-2026-02-01"
    assert all("fast_mode" in m.sources for m in FAST_MODELS)


@pytest.mark.parametrize("entry", FAST_MODELS, ids=lambda m: m.id)
def test_a_fast_model_serves_fast_mode_and_usage_says_so(api, entry):
    message = _ask(api, entry.id, speed="fast", **_headers(entry))
    assert message.usage.speed == "fast"
    assert any(block.type == "text" and block.text for block in message.content)


@pytest.mark.parametrize("entry", NEEDS_BETA, ids=lambda m: m.id)
def test_fast_mode_without_its_beta_header_is_a_400(api, entry):
    with pytest.raises(anthropic.BadRequestError) as info:
        _ask(api, entry.id, speed="fast")
    check_error(info.value, 400, "invalid_request_error",
                say("fast_mode_beta_required", model=entry.resolved_id, beta=entry.fast_mode.beta))
    # The standard speed needs no header (SDK 2.15.0: "clarify which speed needs the fast mode beta header").
    assert _ask(api, entry.id, speed="standard").usage.speed == "standard"


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, "claude-sonnet-5-5", "claude-opus-4-8", "claude-opus-4-7"])
def test_fast_mode_is_refused_on_other_models_even_with_the_beta_header(api, model_id):
    entry = catalog.get(model_id)
    assert entry.fast_mode is None
    with pytest.raises(anthropic.BadRequestError) as info:
        _ask(api, model_id, speed="fast", extra_headers={"anthropic-beta": "fast-mode-2026-02-01"})
    check_error(info.value, 400, "invalid_request_error", say("fast_mode_unsupported", model=entry.resolved_id))


def test_usage_speed_is_null_when_the_request_names_no_speed(api):
    assert _ask(api, DEFAULT_MODEL).usage.speed is None


def test_a_streamed_fast_reply_reports_fast_in_its_final_usage(api):
    entry = FAST_MODELS[0]
    final = api.stream_final(model=entry.id, max_tokens=64, messages=[{"role": "user", "content": "Say hello."}],
                             speed="fast", **_headers(entry))
    assert final.usage.speed == "fast"


def test_the_price_bound_still_refuses_fast_mode():
    # No documented per-model price for today's fast models: the bound has no dollar figure to give.
    from helpers import call_bound

    body = {"model": FAST_MODELS[0].id, "max_tokens": 64, "speed": "fast",
            "messages": [{"role": "user", "content": "Say hello."}]}
    bound = call_bound.bound(body)
    assert bound.usd is None and "fast mode" in bound.unpriced
    assert call_bound.bound({**body, "speed": "standard"}).usd is not None
