"""Storage trouble on the classroom server: a database that cannot be opened stops `serve` at once with one
sentence naming the file and the fix; trouble while serving is answered in the API's shape, with nothing sent to
the API and nothing charged for a call that could not be reserved."""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from classroom_support import HI, MODEL, RecordingUpstream, add_learners, classroom, client
from helpers.classroom import __main__ as cli

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": "", "KIT_MODE": "", "PYTHONPATH": str(ROOT)}


def _serve(db: Path, *extra: str, port: int = 0, key: str = "", **options) -> subprocess.Popen:
    command = [sys.executable, "-m", "helpers.classroom", "--db", str(db), "serve", "--port", str(port), *extra]
    return subprocess.Popen(command, cwd=db.parent, env={**ENV, "ANTHROPIC_API_KEY": key}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


def _refused_at_start(db: Path) -> str:
    process = _serve(db)
    out, err = process.communicate(timeout=120)
    assert process.returncode not in (0, None), out
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err  # one sentence, no traceback
    assert str(db) in lines[0] and "--db" in lines[0]
    return lines[0]


def test_a_corrupt_database_stops_serve_with_one_sentence(tmp_path):
    db = tmp_path / "room.db"
    db.write_bytes(b"this is not a database, " * 200)
    assert "not a readable classroom database" in _refused_at_start(db)
    assert db.read_bytes() == b"this is not a database, " * 200  # left as it was, for the instructor to look at


def test_a_locked_database_stops_serve_instead_of_waiting(tmp_path):
    db = tmp_path / "room.db"
    cli.main(["--db", str(db), "roster", "add", "ann"])
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert "in use by another program" in _refused_at_start(db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr to make a file read-only for root too")
def test_a_read_only_database_stops_serve_and_the_roster_commands(tmp_path, capsys):
    db = tmp_path / "room.db"
    cli.main(["--db", str(db), "roster", "add", "ann"])
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot make a file immutable")
    try:
        assert "cannot be written" in _refused_at_start(db)
        with pytest.raises(SystemExit) as stopped:
            cli.main(["--db", str(db), "topup", "ann", "--usd", "1"])
        assert "cannot be written" in str(stopped.value) and str(db) in str(stopped.value)
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def _file_size_limit(limit: int):
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limited


def test_a_full_disk_at_start_stops_serve_with_one_sentence(tmp_path):
    db = tmp_path / "room.db"
    process = _serve(db, preexec_fn=_file_size_limit(0))  # no file may grow at all: a full disk
    out, err = process.communicate(timeout=120)
    assert process.returncode not in (0, None)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and str(db) in lines[0] and "--db" in lines[0], err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_disk_that_fills_while_serving_gets_api_errors_and_charges_nothing_unsent(tmp_path, capsys):
    db = tmp_path / "room.db"
    cli.main(["--db", str(db), "roster", "add", "ann", "--usd", "5"])
    token = capsys.readouterr().out.split("ANTHROPIC_API_KEY=")[1].split()[0]
    upstream = RecordingUpstream(lambda request: (200, {"content-type": "application/json", "request-id": "req_ok"},
                                                  [_message()]))
    port = _free_port()
    # The database's file may not grow past its size now plus a little: a few calls in, the disk is "full".
    limit = db.stat().st_size + 16 * 1024
    process = _serve(db, "--upstream", upstream.url, "--per-minute", "6000", "--burst", "1000", port=port,
                     key="sk-ant-test-disk-full",
                     preexec_fn=_file_size_limit(limit))
    try:
        _wait_until_up(port, process)
        learner = anthropic.Anthropic(api_key=token, base_url=f"http://127.0.0.1:{port}", max_retries=0)
        answered, refused = 0, []
        for _ in range(40):
            try:
                learner.messages.create(model=MODEL, max_tokens=8, messages=HI)
                answered += 1
            except anthropic.APIStatusError as error:
                refused.append(error)
        assert refused, "the file size limit never bit"
        for error in refused:
            assert isinstance(error, anthropic.InternalServerError) and error.status_code == 500
            assert error.body["type"] == "error" and error.body["error"]["type"] == "api_error"
            assert error.response.headers["x-should-retry"] == "false"  # the SDK does not hammer a full disk
            assert "database" in error.message and "instructor" in error.message
        # Every call the API saw was answered to the learner; none that was refused reached it.
        assert len(upstream.requests) == answered
    finally:
        process.terminate()
        process.communicate(timeout=30)
        upstream.stop()
    # Nothing is left hanging: the next start settles whatever could not be written at its bound, never less.
    with classroom(db, key="sk-ant-test-disk-full", upstream_url="http://unused.invalid") as room:
        ann = room.store.learners()[0]
        assert ann.held_nano == 0 and room.store.reservations() == 0
        assert ann.spent_nano > 0 and ann.calls >= answered


def _message() -> bytes:
    return json.dumps({"id": "msg_x", "type": "message", "role": "assistant", "model": MODEL, "stop_reason": "end_turn",
                       "stop_sequence": None, "content": [{"type": "text", "text": "ok"}],
                       "usage": {"input_tokens": 5, "output_tokens": 1}}).encode()


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        try:
            httpx2.get(f"http://127.0.0.1:{port}/classroom", timeout=1)
            return
        except httpx2.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the classroom server did not start")


def test_a_database_locked_mid_call_answers_overloaded_and_the_sdk_retries(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        token = add_learners(room, ["ann"])["ann"]
        holder = sqlite3.connect(tmp_path / "room.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a roster command that never finishes
        try:
            with pytest.raises(anthropic.OverloadedError) as raised:
                client(room, token).messages.create(model=MODEL, max_tokens=8, messages=HI)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert raised.value.response.headers["x-should-retry"] == "true"
        assert int(raised.value.response.headers["retry-after"]) >= 1
        assert room.store.learners()[0].spent_nano == 0 and room.store.reservations() == 0
        client(room, token).messages.create(model=MODEL, max_tokens=8, messages=HI)  # and then it works again
