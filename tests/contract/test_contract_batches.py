"""The Message Batches API offline, through the SDK's own ``messages.batches``: create, retrieve, list with
pagination, cancel, delete, and results as JSONL, with processing on a clock the tests move."""

from __future__ import annotations

import re

import anthropic
import pytest

from contract_support import check_error
from helpers import DEFAULT_MODEL, catalog
from helpers.offline import batches
from helpers.offline.errors import ApiError
from helpers.offline.wording import say

HI = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(autouse=True)
def fresh_batches():
    batches.forget()
    yield
    batches.forget()


def _request(custom_id: str, **params) -> dict:
    return {"custom_id": custom_id, "params": {"model": DEFAULT_MODEL, "max_tokens": 64, "messages": HI, **params}}


def _results(api, batch_id: str) -> dict[str, anthropic.types.messages.MessageBatchIndividualResponse]:
    lines = api.call(api.client.messages.batches.results, batch_id)
    if api.is_async:
        async def collect():
            return [line async for line in lines]
        lines = api.run(collect())
    return {line.custom_id: line for line in lines}


def test_a_batch_processes_in_time_and_its_results_match_by_custom_id(api):
    retired = catalog.retired()[0].id
    batch = api.call(api.client.messages.batches.create, requests=[
        _request("greet"), _request("too-long", max_tokens=10**7), _request("gone", model=retired)])
    assert batch.type == "message_batch" and batch.id.startswith("msgbatch_")
    assert batch.processing_status == "in_progress" and batch.results_url is None and batch.ended_at is None
    assert batch.request_counts.processing == 3 and batch.request_counts.succeeded == 0
    assert (batch.expires_at - batch.created_at).total_seconds() == 24 * 3600
    batches.advance(batches.PROCESSING_S)
    ended = api.call(api.client.messages.batches.retrieve, batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert ended.request_counts.model_dump() == {"processing": 0, "succeeded": 1, "errored": 2, "canceled": 0,
                                                 "expired": 0}
    assert ended.results_url.endswith(f"/v1/messages/batches/{batch.id}/results")
    results = _results(api, batch.id)
    assert set(results) == {"greet", "too-long", "gone"}
    greeting = results["greet"].result
    assert greeting.type == "succeeded" and greeting.message.type == "message"
    assert any(block.type == "text" for block in greeting.message.content)
    assert greeting.message.usage.service_tier == "batch"
    # Each errored request carries the error the Messages API gives for the same params.
    too_long, gone = results["too-long"].result, results["gone"].result
    assert too_long.type == "errored" and too_long.error.error.type == "invalid_request_error"
    assert "max_tokens" in too_long.error.error.message
    assert gone.type == "errored" and gone.error.error.type == "not_found_error" and retired in gone.error.error.message


def test_cancelling_goes_through_canceling_and_ends_with_canceled_requests(api):
    batch = api.call(api.client.messages.batches.create, requests=[_request("a"), _request("b")])
    canceling = api.call(api.client.messages.batches.cancel, batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    batches.advance(batches.CANCELING_S)
    ended = api.call(api.client.messages.batches.retrieve, batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 2
    assert {line.result.type for line in _results(api, batch.id).values()} == {"canceled"}


def test_a_batch_that_has_ended_is_not_cancelled(api):
    batch = api.call(api.client.messages.batches.create, requests=[_request("a")])
    batches.advance(batches.PROCESSING_S)
    after = api.call(api.client.messages.batches.cancel, batch.id)
    assert after.processing_status == "ended" and after.cancel_initiated_at is None
    assert after.request_counts.succeeded == 1


def test_deleting_needs_an_ended_batch_and_then_it_is_gone(api):
    batch = api.call(api.client.messages.batches.create, requests=[_request("a")])
    with pytest.raises(anthropic.BadRequestError) as raised:
        api.call(api.client.messages.batches.delete, batch.id)
    assert "cancel it first" in raised.value.message
    batches.advance(batches.PROCESSING_S)
    deleted = api.call(api.client.messages.batches.delete, batch.id)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        api.call(api.client.messages.batches.retrieve, batch.id)


def test_the_listing_is_newest_first_and_pages_with_after_id(api):
    made = [api.call(api.client.messages.batches.create, requests=[_request(f"r{i}")]).id for i in range(5)]
    first = api.call(api.client.messages.batches.list, limit=2)
    assert [b.id for b in first.data] == made[::-1][:2] and first.has_more
    if api.is_async:
        async def every():
            return [b.id async for b in await api.client.messages.batches.list(limit=2)]
        listed = api.run(every())
    else:
        listed = [b.id for b in api.client.messages.batches.list(limit=2)]
    assert listed == made[::-1]


@pytest.mark.parametrize("requests,message", [
    ([], say("batch_empty")),
    ([{"custom_id": "x" * 65, "params": {}}], say("batch_custom_id_long", field="requests.0.custom_id", limit=64)),
    ([{"custom_id": "has space", "params": {}}], say("batch_custom_id_pattern", field="requests.0.custom_id")),
    ([_request("same"), _request("same")], say("batch_custom_id_repeated", custom_id="same")),
    ([_request("s", stream=True)], say("batch_stream", field="requests.0.params.stream")),
    ([_request("z", max_tokens=0)], say("batch_max_tokens_zero", field="requests.0.params.max_tokens")),
    ([{"custom_id": "p"}], say("field_required", field="requests.0.params")),
])
def test_a_batch_the_api_refuses_gets_its_400_and_nothing_is_created(api, requests, message):
    with pytest.raises(anthropic.BadRequestError) as raised:
        api.call(api.client.messages.batches.create, requests=requests)
    check_error(raised.value, 400, "invalid_request_error", message)
    assert api.call(api.client.messages.batches.list).data == []


def test_an_unknown_batch_is_a_404(api):
    for method in (api.client.messages.batches.retrieve, api.client.messages.batches.cancel,
                   api.client.messages.batches.delete):
        with pytest.raises(anthropic.NotFoundError) as raised:
            api.call(method, "msgbatch_01nosuchbatch")
        check_error(raised.value, 404, "not_found_error", say("batch_not_found", batch_id="msgbatch_01nosuchbatch"))


def test_every_batch_answer_passes_the_sdks_strict_response_validation(loopback_url):
    """The SDK's own API tests run with ``_strict_response_validation=True``: every field of every answer must fit
    its types. Here with real ids (the SDK's own tests use the placeholder ``message_batch_id``, which the real API
    answers with a 404 too)."""
    for strict in (
        anthropic.Anthropic(api_key="kit-loopback-test-key", base_url=loopback_url, _strict_response_validation=True,
                            max_retries=0),
        __import__("helpers").connect("offline", quiet=True, _strict_response_validation=True, max_retries=0),
    ):
        made = strict.messages.batches.create(requests=[_request("a"), _request("b", model="no-such-model")])
        assert strict.messages.batches.retrieve(made.id).id == made.id
        assert [b.id for b in strict.messages.batches.list(limit=5)] == [made.id]
        batches.advance(batches.PROCESSING_S)
        assert {r.result.type for r in strict.messages.batches.results(made.id)} == {"succeeded", "errored"}
        other = strict.messages.batches.create(requests=[_request("c")])
        assert strict.messages.batches.cancel(other.id).processing_status == "canceling"
        assert strict.messages.batches.delete(made.id).type == "message_batch_deleted"
        batches.forget()


def test_a_seeded_batch_answers_under_its_chosen_id_in_the_state_asked_for(api):
    """``batches.seed`` (for tests whose calls name a fixed id) makes a batch as ``create`` would, under that id."""
    api.call(api.client.messages.batches.create, requests=[_request("older")])
    batches.seed("fixed_id", {"requests": [_request("a")]}, ended=True)
    ended = api.call(api.client.messages.batches.retrieve, "fixed_id")
    assert ended.processing_status == "ended" and ended.request_counts.succeeded == 1
    assert set(_results(api, "fixed_id")) == {"a"}
    batches.seed("fixed_id", {"requests": [_request("b"), _request("c")]})  # in place of the ended one
    assert api.call(api.client.messages.batches.list).data[0].id == "fixed_id"
    canceling = api.call(api.client.messages.batches.cancel, "fixed_id")
    assert canceling.processing_status == "canceling" and canceling.request_counts.processing == 2
    with pytest.raises(ApiError, match=re.escape(say("batch_empty"))):
        batches.seed("fixed_id", {"requests": []})  # checked as create checks a batch
