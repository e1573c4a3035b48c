"""The instructor's key stays on the classroom server: it goes to the API and nowhere else.

The API here is the kit's offline backend on loopback behind a check of a sentinel key (401 for
anything else); the sentinel is then looked for in every answer, the logs, the dashboard, the
database and the serve command's output."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from classroom_support import HI, MODEL, SENTINEL_KEY, KeyCheckingUpstream, add_learners, classroom, client
from helpers.offline import fault_injection

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def upstream():
    server = KeyCheckingUpstream()
    try:
        yield server
    finally:
        server.stop()


def test_the_key_reaches_the_api_and_appears_nowhere_else(tmp_path, upstream, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    answers: list[str] = []
    with classroom(tmp_path / "room.db", key=SENTINEL_KEY, upstream_url=upstream.url) as room:
        tokens = add_learners(room, ["ann"])
        learner = client(room, tokens["ann"])
        message = learner.messages.with_raw_response.create(model=MODEL, max_tokens=32, messages=HI)
        answers += [message.http_response.text, str(message.http_response.headers)]
        with learner.messages.with_streaming_response.create(model=MODEL, max_tokens=32, messages=HI,
                                                              stream=True) as stream:
            answers += ["".join(stream.iter_text()), str(stream.headers)]
        answers.append(learner.messages.count_tokens(model=MODEL, messages=HI).model_dump_json())
        answers.append(str([m.id for m in learner.models.list()]))
        with fault_injection.faults("overloaded"):
            with pytest.raises(anthropic.InternalServerError) as raised:
                learner.messages.create(model=MODEL, max_tokens=32, messages=HI)
        answers += [raised.value.response.text, str(raised.value.response.headers)]
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client(room, "clsrm-1-wrong").messages.create(model=MODEL, max_tokens=32, messages=HI)
        answers.append(raised.value.response.text)
        for path in ("/classroom", "/classroom/dashboard.js", "/classroom/api/room"):
            page = httpx2.get(room.url + path, headers={"authorization": f"Bearer {room.instructor_token}"})
            assert page.status_code == 200
            answers += [page.text, str(page.headers)]
        answers.append(httpx2.get(room.url + "/classroom/me", headers={"x-api-key": tokens["ann"]}).text)
        assert room.store.learners()[0].calls == 5
    # The API saw the instructor's key on every call, and never a learner's token.
    assert upstream.seen and all(seen == {"authorization": f"Bearer {SENTINEL_KEY}"} for seen in upstream.seen)
    for text in answers:
        assert SENTINEL_KEY not in text
    assert SENTINEL_KEY not in caplog.text
    out, err = capfd.readouterr()
    assert SENTINEL_KEY not in out + err
    for stored in tmp_path.iterdir():  # the database, its WAL and anything else written
        assert SENTINEL_KEY.encode() not in stored.read_bytes()


def test_a_key_the_api_refuses_is_reported_as_the_instructors_not_the_learners(tmp_path, upstream):
    with classroom(tmp_path / "room.db", key="sk-ant-some-other-key", upstream_url=upstream.url) as room:
        tokens = add_learners(room, ["ann"])
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client(room, tokens["ann"]).messages.create(model=MODEL, max_tokens=32, messages=HI)
    assert raised.value.request_id == "req_upstream401"
    assert "instructor" in raised.value.body["error"]["message"]
    assert "sk-ant-some-other-key" not in raised.value.response.text


def test_the_serve_command_says_live_and_never_prints_the_key(tmp_path, upstream):
    env = {**os.environ, "ANTHROPIC_API_KEY": SENTINEL_KEY, "KIT_MODE": ""}
    command = [sys.executable, "-m", "helpers.classroom", "--db", str(tmp_path / "room.db"), "serve",
               "--port", "0", "--upstream", upstream.url]
    process = subprocess.Popen(command, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if (tmp_path / "room.db").exists():
                time.sleep(1.0)
                break
            time.sleep(0.1)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "LIVE" in out and upstream.url in out and "/classroom/#token=clsrm-instructor-" in out
    assert SENTINEL_KEY not in out + err


def test_with_no_key_the_serve_command_says_it_rehearses(tmp_path):
    env = {**os.environ, "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": "", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "helpers.classroom", "--db", str(tmp_path / "room.db"), "serve", "--port", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and not (tmp_path / "room.db").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert out.startswith("REHEARSAL") and "offline backend" in out and "not Claude" in out


def test_a_classroom_token_is_never_taken_for_the_instructors_key(tmp_path, monkeypatch):
    from helpers.classroom.upstream import SetupError, instructor_key

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "clsrm-3-abc")
    with pytest.raises(SetupError, match="classroom token"):
        instructor_key()
