"""Fixtures shared by the widget tests: a clean usage log and no spending limit, and an offline client.

Test modules import them by name (``from widget_support import client, fresh_log``), and pytest uses them there.
"""

from __future__ import annotations

import pytest

from helpers import budget, connect, usage_log


@pytest.fixture(autouse=True)
def fresh_log():
    usage_log.clear()
    budget(None)
    yield
    usage_log.clear()
    budget(None)


@pytest.fixture
def client():
    return connect("offline", quiet=True, max_retries=0)
