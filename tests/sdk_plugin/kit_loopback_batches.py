"""A pytest plugin for the anthropic SDK's own Message Batches tests (``-p kit_loopback_batches``): they run
against the kit's loopback server, started in this process, instead of the SDK's mock server.

The SDK's tests read the server's address from ``TEST_API_BASE_URL`` when its ``tests/conftest.py`` is
imported, so the server starts before that (``pytest_load_initial_conftests``), on a free port.

They call retrieve, cancel, delete and results with the placeholder id ``message_batch_id``, which the SDK's
mock server answers whatever it is, and the real API (like the kit) answers with a 404 unless such a batch
exists. So before each test a batch of that id is put in the server's store (``batches.seed``), in the state
its call needs: ended for delete (an in-progress batch cannot be deleted: "you must first cancel it") and for
retrieve and list; in progress for cancel (a batch that has ended has nothing left to cancel). The SDK's
results tests answer from their own ``respx`` mocks (they check its JSONL decoding) and send nothing to the
server; their batch is ended all the same. The SDK's test functions themselves run unmodified.

When ``KIT_SDK_REPORT`` names a file, the plugin writes there, as JSON, the server's address, the state it
put the batch in for each test, and how many other batches the tests created in the store: evidence that
the calls reached the kit's server.
"""

from __future__ import annotations

import json
import os
import re

import pytest

BATCH_ID = "message_batch_id"
"""The id the SDK's tests call with."""
NEEDS = {"create": None, "list": "ended", "retrieve": "ended", "results": "ended", "delete": "ended",
         "cancel": "in_progress"}
"""The state of the batch ``BATCH_ID`` that each call's tests need (``None``: no batch)."""
CALL = re.compile(r"test_(?:method|raw_response|streaming_response|path_params)_([a-z_]+?)(?:_with_all_params)?")

_server = None
_seeded: dict[str, str] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _server
    from helpers.offline import start

    _server = start()
    os.environ["TEST_API_BASE_URL"] = _server.url


def _created_in_the_store() -> int:
    """Batches in the store other than ``BATCH_ID``: those the tests' create calls made."""
    from helpers.offline import batches

    ids, after = [], None
    while True:
        query = {"limit": ["100"], **({"after_id": [after]} if after else {})}
        page = batches.answer("GET", "/v1/messages/batches", query, None, "", _server.url).payload
        ids += [b["id"] for b in page["data"]]
        if not page["has_more"]:
            return len([i for i in ids if i != BATCH_ID])
        after = page["last_id"]


def pytest_sessionfinish(session, exitstatus):
    report = os.environ.get("KIT_SDK_REPORT")
    if report and _server is not None:
        with open(report, "w", encoding="utf-8") as out:
            json.dump({"base_url": _server.url, "seeded": _seeded, "created": _created_in_the_store()}, out)


def pytest_unconfigure(config):
    if _server is not None:
        _server.stop()


def _request_body() -> dict:
    from helpers import DEFAULT_MODEL

    params = {"model": DEFAULT_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]}
    return {"requests": [{"custom_id": "first", "params": params}]}


@pytest.fixture(autouse=True)
def batch_the_test_names(request):
    """Put the batch ``BATCH_ID`` in the store as the test's call needs it."""
    from helpers.offline import batches

    name = request.node.originalname
    match = CALL.fullmatch(name)
    if match is None or match.group(1) not in NEEDS:
        pytest.fail(f"{name}: a test of a call this plugin does not know; add the call's state to NEEDS")
    state = NEEDS[match.group(1)]
    if state is not None:
        batches.seed(BATCH_ID, _request_body(), ended=state == "ended")
        _seeded[request.node.nodeid] = state
