"""Message Batches through the classroom server: a batch belongs to the learner who made it, is held against
their budget at its bound and charged, at the batch price, what its results' usage cost once they are read."""

from __future__ import annotations

import json

import anthropic
import pytest

from classroom_support import HI, MODEL, add_learners, classroom, client
from helpers import catalog
from helpers.classroom import pricing
from helpers.offline import batches


@pytest.fixture(autouse=True)
def fresh_batches():
    batches.forget()
    yield
    batches.forget()


def _request(custom_id: str, **params) -> dict:
    return {"custom_id": custom_id, "params": {"model": MODEL, "max_tokens": 100, "messages": HI, **params}}


def _learner(room, name):
    return next(x for x in room.store.learners() if x.name == name)


def _batch_price(nano: int) -> int:
    return int(-(-nano * catalog.batch_multiplier() // 1))


def test_a_batch_is_seen_only_by_the_learner_who_made_it(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, ["ann", "bob"])
        ann, bob = client(room, tokens["ann"]), client(room, tokens["bob"])
        mine = ann.messages.batches.create(requests=[_request("a")])
        batches.advance(batches.PROCESSING_S)
        for method in (bob.messages.batches.retrieve, bob.messages.batches.cancel, bob.messages.batches.delete):
            with pytest.raises(anthropic.NotFoundError):
                method(mine.id)
        with pytest.raises(anthropic.NotFoundError):
            bob.messages.batches.results(mine.id)
        assert [b.id for b in bob.messages.batches.list()] == []
        assert [b.id for b in ann.messages.batches.list()] == [mine.id]
        assert ann.messages.batches.retrieve(mine.id).processing_status == "ended"


def test_a_batch_is_held_at_its_bound_and_charged_its_results_at_the_batch_price(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        token = add_learners(room, ["ann"], usd=1.0)["ann"]
        ann = client(room, token)
        requests = [_request("a"), _request("b", max_tokens=300), _request("gone", model=catalog.retired()[0].id)]
        made = ann.messages.batches.create(requests=requests)
        bound = sum(pricing.hold_for(r["params"]).nano for r in requests)
        held = _learner(room, "ann")
        assert held.held_nano == _batch_price(bound) and held.spent_nano == 0
        batches.advance(batches.PROCESSING_S)
        ended = ann.messages.batches.retrieve(made.id)
        assert ended.results_url == f"{room.url}/v1/messages/batches/{made.id}/results"  # this server, not the API
        results = list(ann.messages.batches.results(made.id))
        expected = sum(_batch_price(pricing.cost_of(r.result.message.model, r.result.message.usage.model_dump())[1])
                       for r in results if r.result.type == "succeeded")
        assert {r.custom_id: r.result.type for r in results} == {"a": "succeeded", "b": "succeeded", "gone": "errored"}
        ann_now = _learner(room, "ann")
        assert ann_now.held_nano == 0 and ann_now.spent_nano == expected > 0
        assert expected < sum(pricing.cost_of(r.result.message.model, r.result.message.usage.model_dump())[1]
                              for r in results if r.result.type == "succeeded")
        list(ann.messages.batches.results(made.id))  # reading them again charges nothing more
        assert _learner(room, "ann").spent_nano == expected


def test_a_batch_over_budget_is_refused_and_never_created(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        token = add_learners(room, ["ann"], usd=0.0001)["ann"]
        with pytest.raises(anthropic.PaymentRequiredError):
            client(room, token).messages.batches.create(requests=[_request(f"r{i}", max_tokens=4000) for i in range(5)])
        assert batches._batches == {} and room.store.reservations() == 0


def test_a_batch_the_catalog_cannot_price_or_the_api_would_refuse_is_not_sent(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        ann = client(room, add_learners(room, ["ann"])["ann"])
        with pytest.raises(anthropic.PermissionDeniedError) as raised:
            ann.messages.batches.create(requests=[
                _request("fine"), _request("searching", tools=[{"type": "web_search_20250305", "name": "web_search"}])])
        assert "request 'searching'" in raised.value.body["error"]["message"] and "max_uses" in raised.value.message
        with pytest.raises(anthropic.BadRequestError, match="at most 64 characters"):
            ann.messages.batches.create(requests=[_request("x" * 65)])
        assert batches._batches == {} and room.store.reservations() == 0


def test_a_batchs_hold_outlives_a_restart_and_its_results_settle_it_after(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        token = add_learners(room, ["ann"])["ann"]
        made = client(room, token).messages.batches.create(requests=[_request("a")])
        held = _learner(room, "ann").held_nano
    with classroom(db) as room:  # a new run: calls in flight are charged their bound, a batch is not
        assert room.started.recovered == 0 and _learner(room, "ann").held_nano == held
        batches.advance(batches.PROCESSING_S)
        list(client(room, token).messages.batches.results(made.id))
        ann = _learner(room, "ann")
        assert ann.held_nano == 0 and 0 < ann.spent_nano < held


def test_deleting_a_batch_before_reading_its_results_charges_what_it_cost(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        ann = client(room, add_learners(room, ["ann"])["ann"])
        made = ann.messages.batches.create(requests=[_request("a")])
        held = _learner(room, "ann").held_nano
        batches.advance(batches.PROCESSING_S)
        ann.messages.batches.delete(made.id)
        after = _learner(room, "ann")
        assert after.held_nano == 0 and 0 < after.spent_nano < held
        with pytest.raises(anthropic.NotFoundError):
            ann.messages.batches.retrieve(made.id)


def test_a_cancelled_batch_costs_nothing_once_its_results_are_read(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        ann = client(room, add_learners(room, ["ann"])["ann"])
        made = ann.messages.batches.create(requests=[_request("a"), _request("b")])
        assert ann.messages.batches.cancel(made.id).processing_status == "canceling"
        batches.advance(batches.CANCELING_S)
        assert {r.result.type for r in ann.messages.batches.results(made.id)} == {"canceled"}
        after = _learner(room, "ann")
        assert after.held_nano == 0 and after.spent_nano == 0


def test_the_listing_is_the_learners_own_newest_first_and_paged(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, ["ann", "bob"])
        ann, bob = client(room, tokens["ann"]), client(room, tokens["bob"])
        made = [ann.messages.batches.create(requests=[_request(f"r{i}")]).id for i in range(4)]
        bob.messages.batches.create(requests=[_request("theirs")])
        first = ann.messages.batches.list(limit=3)
        assert [b.id for b in first.data] == made[::-1][:3] and first.has_more
        assert [b.id for b in ann.messages.batches.list(limit=3)] == made[::-1]  # the SDK pages on by itself
        assert json.dumps([b.id for b in bob.messages.batches.list()]).count("msgbatch_") == 1
