"""helpers.budget and Message Batches: a batch is admitted whole or not at all, at the batch price, and holds
its bound until its results are read; then what its requests cost counts instead."""

from __future__ import annotations

import asyncio

import pytest

from helpers import DEFAULT_MODEL, BudgetExceeded, aconnect, budget, catalog, connect, usage_log
from helpers.budget import ledger_for
from helpers.call_bound import batch_bound, bound
from helpers.offline import batches, running

SENTINEL_KEY = "kit-budget-batch-sentinel-71c2"


def request(custom_id: str, **params) -> dict:
    return {"custom_id": custom_id, "params": {"model": DEFAULT_MODEL, "max_tokens": 40,
                                              "messages": [{"role": "user", "content": f"Hi {custom_id}"}], **params}}


REQUESTS = [request("a"), request("b"), request("c")]


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "KIT_MODE"):
        monkeypatch.delenv(name, raising=False)
    usage_log.clear()
    budget(None)
    batches.forget()
    yield
    batches.forget()
    budget(None)
    usage_log.clear()


def held():
    ledger = ledger_for(usage_log)
    return ledger.in_flight, ledger.held_usd, ledger.held_tokens


def test_a_batchs_bound_is_the_sum_of_its_requests_at_the_batch_price():
    each = [bound(r["params"]) for r in REQUESTS]
    whole = batch_bound({"requests": REQUESTS})
    assert whole.tokens == sum(b.tokens for b in each)
    assert whole.usd == pytest.approx(sum(b.usd for b in each) * catalog.batch_multiplier())
    assert 0 < whole.usd < sum(b.usd for b in each)


@pytest.mark.parametrize("variant", ["offline", "async", "live"])
def test_a_batch_holds_its_bound_until_its_results_are_read(variant, monkeypatch):
    whole = batch_bound({"requests": REQUESTS})
    budget(max_usd=whole.usd * 10)

    def run(client):
        made = client.messages.batches.create(requests=REQUESTS)
        client.messages.batches.retrieve(made.id)  # looking at it releases nothing
        during = held()
        batches.advance(batches.PROCESSING_S)
        lines = list(client.messages.batches.results(made.id))
        return during, lines

    async def run_async(client):
        made = await client.messages.batches.create(requests=REQUESTS)
        during = held()
        batches.advance(batches.PROCESSING_S)
        return during, [line async for line in await client.messages.batches.results(made.id)]

    if variant == "async":
        during, lines = asyncio.run(run_async(aconnect("offline", quiet=True)))
    elif variant == "live":
        with running() as url:
            monkeypatch.setenv("ANTHROPIC_API_KEY", SENTINEL_KEY)
            monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
            during, lines = run(connect(quiet=True))
    else:
        during, lines = run(connect("offline", quiet=True))

    assert during[0] == 1 and during[1] == pytest.approx(whole.usd) and during[2] == whole.tokens
    assert [line.result.type for line in lines] == ["succeeded"] * 3
    assert held() == (0, 0.0, 0)
    ledger = ledger_for(usage_log)
    assert ledger.spent_usd == pytest.approx(sum(r.cost_usd for r in usage_log.records if r.kind == "batch"))
    assert 0 < ledger.spent_usd < whole.usd


def test_a_batch_that_does_not_fit_is_refused_whole_and_nothing_is_made():
    client = connect("offline", quiet=True)
    whole = batch_bound({"requests": REQUESTS})
    budget(max_usd=whole.usd * 0.9)
    with pytest.raises(BudgetExceeded, match=r"This batch was not sent: its requests can cost up to \$.* at the "
                                             r"batch price.*Send fewer requests or lower their max_tokens"):
        client.messages.batches.create(requests=REQUESTS)
    with pytest.raises(BudgetExceeded, match="This batch was not sent"):
        client.beta.messages.batches.create(requests=REQUESTS)
    assert client.messages.batches.list().data == [] and held() == (0, 0.0, 0)
    made = client.messages.batches.create(requests=REQUESTS[:2])  # two of the three fit
    assert made.request_counts.processing == 2

    budget(max_tokens=whole.tokens - 1)
    with pytest.raises(BudgetExceeded, match=rf"can use up to {whole.tokens:,} tokens"):
        client.messages.batches.create(requests=REQUESTS)


def test_calls_wait_for_an_unread_batch_then_go_on():
    client = connect("offline", quiet=True)
    whole = batch_bound({"requests": REQUESTS})
    one = bound(REQUESTS[0]["params"])
    budget(max_usd=whole.usd + one.usd / 10)
    made = client.messages.batches.create(requests=REQUESTS)
    client.messages.create(**REQUESTS[0]["params"])  # room was left: this one goes, and fills it
    with pytest.raises(BudgetExceeded, match=r"held for 1 batch\(es\) whose results are not read yet.*"
                                             r"Read the results of those batches"):
        client.messages.create(**REQUESTS[0]["params"])
    batches.advance(batches.PROCESSING_S)
    list(client.messages.batches.results(made.id))
    budget(None)  # the limit's own removal does not matter: reading the results settled the hold
    assert held() == (0, 0.0, 0)
    spent = ledger_for(usage_log).spent_usd
    assert 0 < sum(r.cost_usd for r in usage_log.records if r.kind == "batch") < whole.usd  # cost, not bound
    budget(max_usd=spent + one.usd / 10)
    client.messages.create(**REQUESTS[0]["params"])


def test_a_batch_the_api_refuses_holds_nothing_and_an_unpriced_one_is_named():
    client = connect("offline", quiet=True)
    budget(max_usd=1.0)
    with pytest.raises(Exception) as refused:
        client.messages.batches.create(requests=[request("same"), request("same")])
    assert getattr(refused.value, "status_code", None) == 400 and held() == (0, 0.0, 0)
    with pytest.raises(BudgetExceeded, match="in the batch's request 'b', the kit's catalog has no price for the "
                                             "model 'claude-unknown-9'"):
        client.messages.batches.create(requests=[request("a"), request("b", model="claude-unknown-9")])
    assert held() == (0, 0.0, 0)


def test_a_batch_deleted_unread_keeps_counting_in_full():
    client = connect("offline", quiet=True)
    whole = batch_bound({"requests": REQUESTS})
    budget(max_usd=whole.usd * 10)
    made = client.messages.batches.create(requests=REQUESTS)
    batches.advance(batches.PROCESSING_S)
    client.messages.batches.delete(made.id)
    assert held()[1] == pytest.approx(whole.usd)
