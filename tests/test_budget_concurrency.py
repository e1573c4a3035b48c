"""helpers.budget holds when calls overlap: spending never passes the limit by more than one call.

Each test lets many calls race against a limit of about two and a half calls, through the
SDK's own clients (offline, and live against the loopback server), and checks what was
actually sent and spent. A counting middleware placed after the guard sees every request
the guard let through.
"""

from __future__ import annotations

import asyncio
import gc
import threading

import anthropic
import pytest
from call_counter import CallCounter

from helpers import DEFAULT_MODEL, BudgetExceeded, aconnect, budget, catalog, connect, usage_log
from helpers.budget import current, ledger_for
from helpers.call_bound import bound
from helpers.offline import faults, running

SENTINEL_KEY = "kit-budget-sentinel-3e9d"
HELLO = [{"role": "user", "content": "Hello"}]
REQUEST = {"model": DEFAULT_MODEL, "max_tokens": 25, "messages": HELLO}  # offline replies use all 25 tokens
CALLS = 20


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "KIT_MODE"):
        monkeypatch.delenv(name, raising=False)
    usage_log.clear()
    budget(None)
    yield
    budget(None)
    usage_log.clear()


@pytest.fixture
def one_call():
    """The cost of one call of REQUEST, measured, and the most a streamed one could cost (what it holds)."""
    connect("offline", quiet=True).messages.create(**REQUEST)
    cost = usage_log.records[-1].cost_usd
    usage_log.clear()
    most = bound({**REQUEST, "stream": True}).usd
    assert 0 < cost < most
    return cost, most


def _live(monkeypatch, url):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SENTINEL_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)


def _nothing_held():
    ledger = ledger_for(usage_log)
    return ledger.in_flight == 0 and ledger.held_usd == 0 and ledger.held_tokens == 0


async def _gather_creates(client, n):
    async def one():
        try:
            await client.messages.create(**REQUEST)
            return "sent"
        except BudgetExceeded:
            return "refused"
    return await asyncio.gather(*(one() for _ in range(n)))


async def _gather_streams(client, n):
    async def one():
        try:
            async with client.messages.stream(**REQUEST) as stream:
                await stream.get_final_message()
            return "sent"
        except BudgetExceeded:
            return "refused"
    return await asyncio.gather(*(one() for _ in range(n)))


def _assert_within_one_call(outcomes, counter, cost):
    limit = current().max_usd
    assert "refused" in outcomes, "every call went out"
    assert counter.sent == outcomes.count("sent") == len(usage_log)
    assert usage_log.total_cost_usd <= limit + max(r.cost_usd for r in usage_log.records) + 1e-12
    assert usage_log.total_cost_usd == pytest.approx(counter.sent * cost)
    assert _nothing_held()


def test_gathered_async_calls_in_live_mode(monkeypatch, one_call):
    cost, _ = one_call
    counter = CallCounter()
    budget(max_usd=2.5 * cost)
    with running() as url:
        _live(monkeypatch, url)
        client = aconnect("live", quiet=True, max_retries=0, middleware=[counter])
        outcomes = asyncio.run(_gather_creates(client, 50))
    _assert_within_one_call(outcomes, counter, cost)


def test_gathered_async_calls_offline(one_call):
    cost, _ = one_call
    counter = CallCounter()
    budget(max_usd=2.5 * cost)
    outcomes = asyncio.run(_gather_creates(aconnect("offline", quiet=True, middleware=[counter]), 50))
    _assert_within_one_call(outcomes, counter, cost)


def test_threads(one_call):
    cost, _ = one_call
    counter = CallCounter()
    budget(max_usd=2.5 * cost)
    client = connect("offline", quiet=True, middleware=[counter])
    start = threading.Barrier(CALLS)
    outcomes = []

    def one():
        start.wait()
        try:
            client.messages.create(**REQUEST)
            outcomes.append("sent")
        except BudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == CALLS
    _assert_within_one_call(outcomes, counter, cost)


@pytest.mark.parametrize("mode", ["offline", "live"])
def test_gathered_streams(monkeypatch, one_call, mode):
    cost, _ = one_call
    counter = CallCounter()
    budget(max_usd=2.5 * cost)
    with running() as url:
        if mode == "live":
            _live(monkeypatch, url)
        client = aconnect(mode, quiet=True, max_retries=0, middleware=[counter])
        outcomes = asyncio.run(_gather_streams(client, CALLS))
    _assert_within_one_call(outcomes, counter, cost)


def test_streams_closed_early_count_in_full(one_call):
    """A stream closed before its end has no final usage: it counts the most it could have cost."""
    cost, most = one_call
    counter = CallCounter()
    limit = 2.5 * cost
    budget(max_usd=limit)
    client = connect("offline", quiet=True, middleware=[counter])
    start = threading.Barrier(CALLS)
    outcomes = []

    def one():
        start.wait()
        try:
            with client.messages.stream(**REQUEST) as stream:
                next(iter(stream))  # read one event, then leave
            outcomes.append("sent")
        except BudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert counter.sent == outcomes.count("sent") <= int(limit // most) + 1
    assert [r.complete for r in usage_log.records] == [False] * counter.sent
    assert ledger_for(usage_log).spent_usd == pytest.approx(counter.sent * most)
    assert ledger_for(usage_log).spent_usd <= limit + most and _nothing_held()


def test_streams_dropped_unread_count_in_full(one_call):
    cost, most = one_call
    counter = CallCounter()
    limit = 2.5 * cost
    budget(max_usd=limit)
    client = connect("offline", quiet=True, middleware=[counter])
    refused = 0
    for _ in range(10):
        try:
            client.messages.create(**REQUEST, stream=True)  # never read, never closed
        except BudgetExceeded:
            refused += 1
    gc.collect()
    assert refused and counter.sent <= int(limit // most) + 1
    assert len(usage_log) == counter.sent and not any(r.complete for r in usage_log.records)
    assert ledger_for(usage_log).spent_usd <= limit + most and _nothing_held()


def test_connections_that_never_opened_hold_nothing(monkeypatch, one_call):
    cost, _ = one_call
    budget(max_usd=2.5 * cost)
    with running() as url:
        pass  # the server is gone: its port now refuses connections
    _live(monkeypatch, url)
    client = aconnect("live", quiet=True, max_retries=0)

    async def failing(n):
        async def one():
            try:
                await client.messages.create(**REQUEST)
            except anthropic.APIConnectionError:
                return "failed"
            except BudgetExceeded:
                return "refused"  # while other calls were still trying to connect
        return await asyncio.gather(*(one() for _ in range(n)))

    outcomes = asyncio.run(failing(CALLS))
    assert "failed" in outcomes and set(outcomes) <= {"failed", "refused"}
    assert _nothing_held() and ledger_for(usage_log).spent_usd == 0
    connect("offline", quiet=True).messages.create(**REQUEST)  # the limit still has room


def test_connections_lost_after_sending_count_in_full(one_call):
    """The API may have generated a reply whose connection was lost: the call counts its whole hold."""
    cost, _ = one_call
    most = bound(REQUEST).usd
    limit = 2.5 * cost
    budget(max_usd=limit)
    client = connect("offline", quiet=True, max_retries=0)
    sent = 0
    with faults("disconnect", times=CALLS):
        for _ in range(CALLS):
            try:
                client.messages.create(**REQUEST)
            except anthropic.APIConnectionError:
                sent += 1
            except BudgetExceeded:
                break
    assert sent == int(limit // most) + 1
    assert ledger_for(usage_log).spent_usd == pytest.approx(sent * most) and _nothing_held()


def test_beta_calls_and_batches_are_guarded(one_call):
    cost, _ = one_call
    client = connect("offline", quiet=True)
    client.messages.create(**REQUEST)
    budget(max_usd=cost / 2)
    with pytest.raises(BudgetExceeded, match="Spending limit reached"):
        client.beta.messages.create(**REQUEST)
    with pytest.raises(BudgetExceeded, match="Spending limit reached"):
        client.messages.batches.create(requests=[{"custom_id": "a", "params": REQUEST}])
    assert len(usage_log) == 1


def test_calls_the_catalog_cannot_price_are_refused_under_a_dollar_limit():
    budget(max_usd=1.0)
    client = connect("offline", quiet=True)
    with pytest.raises(BudgetExceeded, match="no price for the model 'claude-unknown-9'"):
        client.messages.create(model="claude-unknown-9", max_tokens=5, messages=HELLO)
    with pytest.raises(BudgetExceeded, match="fast mode"):
        client.messages.create(**REQUEST, speed="fast")
    assert len(usage_log) == 0
    budget(max_tokens=10_000)  # a token limit can still bound them
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="claude-unknown-9", max_tokens=5, messages=HELLO)


def test_a_web_search_is_bounded_by_its_max_uses_and_its_fee_is_logged():
    """$10 per 1,000 searches (catalog): the bound adds the fee for every use ``max_uses`` allows."""
    budget(max_usd=1.0)
    client = connect("offline", quiet=True)
    asked = [{"role": "user", "content": "Search the web for this week's news about ant colonies."}]
    search = {"type": "web_search_20250305", "name": "web_search"}
    with pytest.raises(BudgetExceeded, match='sets no "max_uses".*Add "max_uses": 3 .*Or remove the limit'):
        client.messages.create(**{**REQUEST, "messages": asked}, tools=[search])
    assert len(usage_log) == 0
    body = {**REQUEST, "max_tokens": 200, "messages": asked, "tools": [{**search, "max_uses": 2}]}
    one_more = bound({**body, "tools": [{**search, "max_uses": 3}]}).usd - bound(body).usd
    # One more search: its fee, and one more model call of up to max_tokens (output beyond max_tokens is
    # possible in a server-tool turn), priced at the long-context rate that the whole-window input bound implies.
    price = catalog.get(DEFAULT_MODEL).price
    assert one_more == pytest.approx(0.01 + 200 * price.long_context_output / 1e6)
    assert bound(body).tokens - bound({**body, "tools": [{**search, "max_uses": 1}]}).tokens == 200
    message = client.messages.create(**body)
    (record,) = usage_log.records
    searches = message.usage.server_tool_use.web_search_requests
    tokens_only = catalog.cost_usd(DEFAULT_MODEL, message.usage.input_tokens, message.usage.output_tokens)
    assert searches == 1 and record.cost_usd == pytest.approx(tokens_only + 0.01)


def test_the_refusal_names_the_calls_in_progress(one_call):
    cost, most = one_call
    budget(max_usd=most / 2)
    client = connect("offline", quiet=True)
    stream = client.messages.create(**REQUEST, stream=True)
    with pytest.raises(BudgetExceeded, match=r"held for 1 call\(s\) still in progress.*Wait for those calls"):
        client.messages.create(**REQUEST)
    for _ in stream:
        pass
    stream.close()
    assert _nothing_held() and usage_log.records[-1].complete
    budget(max_usd=usage_log.total_cost_usd + most)
    client.messages.create(**REQUEST)
