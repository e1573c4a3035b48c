"""The classroom's SQLite state: a restart loses nothing, a crash leaves no reservation stuck,
tokens are kept only as hashes, and the roster commands change a running server's budgets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anthropic
import pytest

from classroom_support import HI, MODEL, add_learners, classroom, client
from helpers.classroom import pricing, roster
from helpers.classroom.service import build
from helpers.classroom.store import Caps, Refused, SqliteStore
from helpers.offline import server as offline_server

ROOT = Path(__file__).resolve().parents[1]


def test_a_restart_loses_nothing(tmp_path):
    db = tmp_path / "room.db"
    with classroom(db) as room:
        tokens = add_learners(room, ["ann", "bob"], usd=0.5, tokens=100_000)
        client(room, tokens["ann"]).messages.create(model=MODEL, max_tokens=32, messages=HI)
        room.store.record_progress(1, "01.1", True)
        before = room.store.learners(with_progress=True)
    with classroom(db) as room:
        after = room.store.learners(with_progress=True)
        assert [(x.name, x.spent_nano, x.used_tokens, x.calls, x.budget_nano, x.budget_tokens) for x in after] == \
               [(x.name, x.spent_nano, x.used_tokens, x.calls, x.budget_nano, x.budget_tokens) for x in before]
        assert after[0].spent_nano > 0 and after[0].progress[0]["exercise"] == "01.1"
        client(room, tokens["bob"]).messages.create(model=MODEL, max_tokens=32, messages=HI)  # tokens still valid


def test_tokens_are_stored_only_as_hashes(tmp_path):
    store = SqliteStore(tmp_path / "room.db")
    issued = roster.add(store, ["ann"], budget_nano=1, budget_tokens=None)
    secret = issued[0].token.split("-", 2)[2]
    assert {p.name for p in tmp_path.iterdir()} == {"room.db", "room.db-wal", "room.db-shm"}
    for private in tmp_path.iterdir():  # the database, its -wal and -shm files, while it is in use
        assert private.stat().st_mode & 0o777 == 0o600, private.name
    store.close()
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes()


def test_a_reissued_token_replaces_the_old_one(tmp_path):
    store = SqliteStore(tmp_path / "room.db")
    old = roster.add(store, ["ann"], budget_nano=1, budget_tokens=None)[0].token
    new = roster.reissue(store, "ann").token
    assert store.authenticate(new) == 1 and store.authenticate(old) is None


def test_reservations_never_pass_a_budget_and_settle_to_the_real_cost(tmp_path):
    store = SqliteStore(tmp_path / "room.db", run_id="run-1")
    roster.add(store, ["ann"], budget_nano=1000, budget_tokens=None)
    first = store.reserve(1, 600, 10)
    refused = store.reserve(1, 600, 10)
    assert isinstance(first, int) and isinstance(refused, Refused)
    assert (refused.scope, refused.unit, refused.held, refused.asked) == ("learner", "usd", 600, 600)
    store.settle(first, 100, 5)
    assert isinstance(store.reserve(1, 600, 10), int)  # the settled call freed what it did not use
    ann = store.learner(1)
    assert (ann.spent_nano, ann.held_nano, ann.used_tokens) == (100, 600, 5)


def test_the_class_cap_counts_everyones_spending_and_holds(tmp_path):
    store = SqliteStore(tmp_path / "room.db")
    roster.add(store, ["ann", "bob"], budget_nano=10_000, budget_tokens=None)
    store.set_caps(Caps(nano=1_000))
    assert isinstance(store.reserve(1, 700, 1), int)
    refused = store.reserve(2, 700, 1)
    assert isinstance(refused, Refused) and refused.scope == "class"


def test_top_up_by_name_or_for_all_and_unknown_names_change_nothing(tmp_path):
    store = SqliteStore(tmp_path / "room.db")
    roster.add(store, ["ann", "bob"], budget_nano=100, budget_tokens=None)
    with pytest.raises(ValueError, match="not on the roster: zed"):
        store.top_up(["ann", "zed"], 50)
    assert [x.budget_nano for x in store.learners()] == [100, 100]
    store.top_up(None, 50, 1000)
    assert [(x.budget_nano, x.budget_tokens) for x in store.learners()] == [(150, 1000), (150, 1000)]


class _NeverAnswers:
    """An API that takes a request and never answers it."""

    def __init__(self):
        self.server = offline_server.LoopbackServer(asgi=self)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            while (await receive())["type"] != "http.disconnect":
                pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_crash_with_a_call_in_flight_leaves_no_reservation_stuck(tmp_path):
    """A server killed (SIGKILL) while a call waits for the API: the next start charges that call its bound."""
    db, port, upstream = tmp_path / "room.db", _free_port(), _NeverAnswers()
    store = SqliteStore(db)
    token = roster.add(store, ["ann"], budget_nano=pricing.to_nano(1.0), budget_tokens=None)[0].token
    store.close()
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-test-not-real", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.classroom", "--db", str(db), "serve", "--port", str(port),
         "--upstream", upstream.server.url], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = {"model": MODEL, "max_tokens": 500, "messages": HI}
    learner = anthropic.Anthropic(api_key=token, base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=60)
    try:
        watcher = SqliteStore(db)
        deadline = time.monotonic() + 60
        caller = None
        while watcher.reservations() == 0:
            assert time.monotonic() < deadline and process.poll() is None, "the server did not take the call"
            if caller is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    caller = threading.Thread(target=lambda: _ignore(learner.messages.create, **body), daemon=True)
                    caller.start()
                except OSError:
                    pass
            time.sleep(0.1)
        watcher.close()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        upstream.server.stop()
    started = build(db, key=None)
    try:
        ann = started.store.learner(1)
        assert started.recovered == 1 and started.store.reservations() == 0
        assert ann.held_nano == 0 and ann.spent_nano == pricing.hold_for(body).nano
    finally:
        started.store.close()


def _ignore(call, **kwargs):
    try:
        call(**kwargs)
    except Exception:  # noqa: BLE001 - the server is killed under it
        pass


OLD_LEARNERS_TABLE = """
CREATE TABLE learners (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, secret_hash BLOB NOT NULL, budget_nano INTEGER,
    budget_tokens INTEGER, spent_nano INTEGER NOT NULL DEFAULT 0, used_tokens INTEGER NOT NULL DEFAULT 0,
    held_nano INTEGER NOT NULL DEFAULT 0, held_tokens INTEGER NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_seen REAL, created REAL NOT NULL
);
"""


def test_a_database_from_before_the_refusal_counts_gets_them_on_open_and_keeps_its_learners(tmp_path):
    import sqlite3

    from helpers.classroom import tokens as tk

    db = tmp_path / "room.db"
    old = sqlite3.connect(db)
    old.executescript(OLD_LEARNERS_TABLE)
    old.execute("INSERT INTO learners (name, secret_hash, budget_nano, spent_nano, calls, errors, last_error, created) "
                "VALUES ('ann', ?, 200000, 150000, 5, 1, 'HTTP 529 overloaded_error: Overloaded', 0)",
                (tk.secret_hash("ann-secret"),))
    old.commit()
    old.close()
    with classroom(db) as room:
        ann = client(room, tk.learner_token(1, "ann-secret"))
        with pytest.raises(anthropic.PaymentRequiredError):
            ann.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        learner = room.store.learners()[0]
    assert (learner.name, learner.spent_nano, learner.calls, learner.errors) == ("ann", 150000, 6, 2)
    assert learner.refused == 1 and learner.lesson_errors == 0  # the old error, unknown, stays a problem
