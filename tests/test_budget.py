"""helpers.budget: calls beyond the limit are refused before anything is sent."""

from __future__ import annotations

import asyncio

import pytest

from helpers import DEFAULT_MODEL, BudgetExceeded, aconnect, budget, connect, usage_log
from helpers.call_bound import bound
from helpers.offline import files

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(autouse=True)
def no_budget():
    usage_log.clear()
    budget(None)
    yield
    budget(None)
    usage_log.clear()


def test_token_limit_refuses_the_next_call_and_sends_nothing():
    client = connect("offline", quiet=True)
    budget(max_tokens=30)
    client.messages.create(model=DEFAULT_MODEL, max_tokens=25, messages=HELLO)
    used = usage_log.total_input_tokens + usage_log.total_output_tokens
    assert used >= 30
    with pytest.raises(BudgetExceeded, match=rf"{used:,} tokens used of the 30 limit"):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=25, messages=HELLO)
    assert len(usage_log) == 1


def test_count_tokens_is_never_refused():
    budget(max_usd=0)
    counted = connect("offline", quiet=True).messages.count_tokens(model=DEFAULT_MODEL, messages=HELLO)
    assert counted.input_tokens > 0


def test_async_and_streaming_calls_are_guarded_too():
    budget(max_usd=0)
    with pytest.raises(BudgetExceeded):
        with connect("offline", quiet=True).messages.stream(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO) as s:
            s.get_final_message()

    async def call():
        await aconnect("offline", quiet=True).messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)

    with pytest.raises(BudgetExceeded):
        asyncio.run(call())
    assert len(usage_log) == 0


@pytest.mark.parametrize("with_middleware", [False, True])
def test_a_refusal_is_raised_once_as_it_is_whether_the_transport_or_middleware_checks(with_middleware, monkeypatch):
    """Offline, the recording transport checks the limit (the SDK's middleware only with middleware of the caller's):
    a refusal from there must reach the caller as BudgetExceeded, not wrapped as a connection error and retried."""
    import anthropic

    from helpers.budget import ledger_for

    ledger = ledger_for(usage_log)
    checks = []
    admit = ledger.admit
    monkeypatch.setattr(ledger, "admit", lambda *args, **kwargs: checks.append(1) or admit(*args, **kwargs))
    options = {"middleware": [lambda request, call_next: call_next(request)]} if with_middleware else {}
    client = connect("offline", quiet=True, max_retries=2, **options)
    budget(max_usd=0)
    with pytest.raises(BudgetExceeded) as refused:
        client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert isinstance(refused.value, anthropic.AnthropicError) and isinstance(refused.value, RuntimeError)
    assert len(checks) == 1 and len(usage_log) == 0 and ledger.in_flight == 0
    budget(None)
    client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert len(checks) == 1 and len(usage_log) == 1  # no limit: nothing to check


def test_raising_or_removing_the_limit_lets_calls_through():
    client = connect("offline", quiet=True)
    budget(max_usd=0)
    with pytest.raises(BudgetExceeded, match="Raise it with helpers.budget"):
        client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    budget(max_usd=1.0)
    client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    budget(None)
    client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=HELLO)
    assert len(usage_log) == 2


def test_a_call_that_names_a_file_reserves_the_whole_context_window():
    client = connect("offline", quiet=True)
    budget(max_usd=0)  # Files API calls are not Messages calls: never refused, never logged
    stored = client.files.upload(file=("notes.txt", b"The grass is green.", "text/plain"))
    assert stored.id in [f.id for f in client.files.list()]  # the offline store is this process's: others' files too
    by_file = [{"role": "user", "content": [{"type": "document", "source": {"type": "file", "file_id": stored.id}},
                                            {"type": "text", "text": "What colour?"}]}]
    inline = [{"role": "user", "content": [{"type": "text", "text": "The grass is green."},
                                           {"type": "text", "text": "What colour?"}]}]
    for content in ("image", "document"):  # the body holds an id, the file may fill the context window
        block = {"type": content, "source": {"type": "file", "file_id": stored.id}}
        most = bound({"model": DEFAULT_MODEL, "max_tokens": 25, "messages": [{"role": "user", "content": [block]}]})
        assert most.tokens > 1000 * bound({"model": DEFAULT_MODEL, "max_tokens": 25, "messages": inline}).tokens
    most = bound({"model": DEFAULT_MODEL, "max_tokens": 25, "messages": by_file}).usd
    budget(max_usd=most / 2)
    # While a call that names a file is in flight, it holds its whole bound: the next call is refused.
    with client.messages.stream(model=DEFAULT_MODEL, max_tokens=25, messages=by_file) as open_stream:
        with pytest.raises(BudgetExceeded, match="held for 1 call"):
            client.messages.create(model=DEFAULT_MODEL, max_tokens=25, messages=inline)
        open_stream.get_final_message()
    # The same words inline hold only what their bytes can cost: the next call goes through.
    with client.messages.stream(model=DEFAULT_MODEL, max_tokens=25, messages=inline) as open_stream:
        client.messages.create(model=DEFAULT_MODEL, max_tokens=25, messages=inline)
        open_stream.get_final_message()
    assert len(usage_log) == 3
    files.forget()


@pytest.mark.parametrize("bad", [-1, "5", True])
def test_bad_limits_name_the_problem(bad):
    with pytest.raises(ValueError, match="non-negative number"):
        budget(max_usd=bad)
