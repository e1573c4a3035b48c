"""Fixtures for the offline backend's contract tests.

Every test that takes ``api`` runs four ways: the SDK's sync and async clients,
each against the in-process adapter (``helpers.connect("offline")``) and against
the loopback HTTP server (``helpers.offline.running()``, one per session).
"""

from __future__ import annotations

import asyncio

import anthropic
import pytest

import helpers
from contract_support import LOOPBACK_KEY, VARIANTS, Api
from helpers import offline
from helpers.offline import fault_injection


@pytest.fixture(scope="session")
def loopback_url():
    with offline.running() as url:
        yield url


@pytest.fixture(scope="session")
def event_loop_for_async_clients():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def clients(loopback_url, event_loop_for_async_clients):
    """One client per variant for the whole session (max_retries=0 everywhere)."""
    made = {
        "sync-inprocess": helpers.connect("offline", quiet=True, max_retries=0),
        "async-inprocess": helpers.aconnect("offline", quiet=True, max_retries=0),
        "sync-loopback": anthropic.Anthropic(api_key=LOOPBACK_KEY, base_url=loopback_url, max_retries=0),
        "async-loopback": anthropic.AsyncAnthropic(api_key=LOOPBACK_KEY, base_url=loopback_url, max_retries=0),
    }
    yield made
    made["sync-inprocess"].close()
    made["sync-loopback"].close()
    loop = event_loop_for_async_clients
    loop.run_until_complete(made["async-inprocess"].close())
    loop.run_until_complete(made["async-loopback"].close())


@pytest.fixture(params=VARIANTS)
def api(request, clients, event_loop_for_async_clients) -> Api:
    return Api(clients[request.param], variant=request.param, loop=event_loop_for_async_clients)


@pytest.fixture(autouse=True)
def no_leftover_faults():
    """Faults are process-wide: a test that fails inside ``faults(...)`` must not leak its plan."""
    yield
    fault_injection.clear()
