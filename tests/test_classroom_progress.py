"""Graders report each exercise's result to a classroom server, and only to one: its number and pass or
fail, nothing else; a report that fails never disturbs the grader."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx2
import pytest

from classroom_support import add_learners, classroom
from helpers import check
from helpers import classroom as classroom_hook
from helpers.check import correct, grader, not_yet

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def room(tmp_path):
    with classroom(tmp_path / "room.db", stuck_after=3) as server:
        yield server


@pytest.fixture
def as_learner(monkeypatch):
    """The kernel's environment as a classroom roster sets it."""
    def use(url: str, token: str) -> None:
        monkeypatch.delenv("KIT_MODE", raising=False)
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        monkeypatch.setenv("ANTHROPIC_API_KEY", token)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    return use


def _progress(room):
    return {row["exercise"]: row for row in room.store.learners(with_progress=True)[0].progress}


@pytest.mark.parametrize("environment", [
    {},  # no key: offline
    {"ANTHROPIC_API_KEY": "sk-ant-real-looking", "ANTHROPIC_BASE_URL": "https://api.anthropic.com"},
    {"ANTHROPIC_API_KEY": "clsrm-1-abc"},  # a token but no server address
    {"ANTHROPIC_API_KEY": "clsrm-1-abc", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "KIT_MODE": "offline"},
])
def test_nothing_is_sent_without_a_classroom_server(monkeypatch, environment):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "KIT_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert classroom_hook.report("01.1", True) is None


def test_a_grader_reports_its_result_to_the_classroom(room, as_learner):
    tokens = add_learners(room, ["ann"])
    as_learner(room.url, tokens["ann"])
    sent = []
    original = classroom_hook.report

    def watched(*report):
        thread = original(*report)
        sent.append(thread)
        return thread

    graded_ok = grader("98.1 a demo exercise")(lambda: correct("done"))
    graded_not_yet = grader("98.2 another")(lambda: not_yet("try again"))
    try:
        check.classroom.report = watched
        assert graded_ok().passed and not graded_not_yet().passed
    finally:
        check.classroom.report = original
    for thread in sent:
        thread.join(10)
    progress = _progress(room)
    assert progress["98.1"]["passed"] == 1 and progress["98.2"]["passed"] == 0
    assert progress["98.1"]["verified"] == 0  # nothing went through the server: self-reported
    assert progress["98.2"]["failures"] == 1


def test_a_report_carries_only_the_exercise_and_the_result(room, as_learner):
    tokens = add_learners(room, ["ann"])
    answer = httpx2.post(room.url + "/classroom/progress", headers={"x-api-key": tokens["ann"]},
                         json={"exercise": "03.2", "passed": False})
    assert answer.status_code == 200
    for bad in ({"exercise": "3.2", "passed": True}, {"exercise": "03.2", "passed": "yes"}, {"exercise": "03.2"},
                {"exercise": "<b>03.2</b>", "passed": True}):
        refused = httpx2.post(room.url + "/classroom/progress", headers={"x-api-key": tokens["ann"]}, json=bad)
        assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"
    assert httpx2.post(room.url + "/classroom/progress", json={"exercise": "03.2", "passed": True},
                       headers={"x-api-key": "clsrm-1-wrong"}).status_code == 401
    assert list(_progress(room)) == ["03.2"]


def test_repeated_failures_show_as_stuck_until_a_pass(room, as_learner):
    tokens = add_learners(room, ["ann", "bob"])
    as_learner(room.url, tokens["ann"])
    for passed in (False, False, False):
        classroom_hook.report("05.2", passed).join(10)
    room_view = httpx2.get(room.url + "/classroom/api/room",
                           headers={"authorization": f"Bearer {room.instructor_token}"}).json()
    assert room_view["stuck"] == [{"name": "ann", "exercise": "05.2", "failures": 3}]
    assert room_view["learners"][0]["lessons"]["05"] == {
        "passed": 0, "self_reported": 0, "tried": 1, "exercises": {"05.2": {
            "passed": False, "self_reported": False, "attempts": 3, "failures": 3, "failures_since_pass": 3}}}
    classroom_hook.report("05.2", True).join(10)
    room_view = httpx2.get(room.url + "/classroom/api/room",
                           headers={"authorization": f"Bearer {room.instructor_token}"}).json()
    # A pass with nothing behind it ends the stuck spell, but counts only as self-reported.
    assert room_view["stuck"] == [] and room_view["totals"]["exercises_passed"] == 0
    assert room_view["totals"]["exercises_self_reported"] == 1


def test_a_report_that_cannot_be_delivered_never_breaks_a_grader(as_learner):
    as_learner("http://127.0.0.1:9", "clsrm-1-abc")  # nothing listens on port 9
    result = grader("98.3 demo")(lambda: correct("fine"))()
    assert result.passed and result.exercise == "98.3 demo"
    thread = classroom_hook.report("98.3", True)
    thread.join(10)
    assert not thread.is_alive()


SLOW_REPORT = """
import pathlib, sys, time
import helpers.classroom as room
marker = pathlib.Path(sys.argv[1])
def slow_send(url, token, exercise, *result):
    time.sleep(0.5)  # a report still on its way when the kernel stops
    marker.write_text(exercise)
room._send = slow_send
room._classroom_credentials = lambda: ("http://127.0.0.1:9", "unused")
assert room.report("09.1", True) is not None
"""


def test_a_report_still_on_its_way_when_the_kernel_stops_is_delivered(tmp_path):
    """Reports run on daemon threads, which end with the process: the kit waits for them at exit."""
    marker = tmp_path / "delivered"
    subprocess.run([sys.executable, "-c", SLOW_REPORT, str(marker)], check=True, cwd=ROOT, timeout=60)
    assert marker.read_text() == "09.1"


def test_waiting_at_exit_is_bounded_by_one_report_timeout(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(classroom_hook, "REPORT_TIMEOUT_S", 0.05)
    monkeypatch.setattr(classroom_hook, "_send", lambda *args: release.wait(60))
    monkeypatch.setattr(classroom_hook, "_classroom_credentials", lambda: ("http://127.0.0.1:9", "unused"))
    stuck = classroom_hook.report("09.1", True)
    classroom_hook._finish_reports()
    assert stuck.is_alive()  # it gave up on the hung report instead of holding the kernel's exit
    release.set()
    stuck.join(5)


# -- passes the server can vouch for ------------------------------------------------------------------------------

def _room_lessons(room) -> dict:
    return httpx2.get(room.url + "/classroom/api/room",
                      headers={"authorization": f"Bearer {room.instructor_token}"}).json()["learners"][0]["lessons"]


def _post(room, token, path, payload) -> dict:
    answer = httpx2.post(room.url + path, headers={"x-api-key": token}, json=payload)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _learner_client(monkeypatch, room, token):
    monkeypatch.delenv("KIT_MODE", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", token)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", room.url)
    from helpers import connect

    return connect()


def test_a_pass_from_the_kit_is_verified_by_the_calls_it_graded(room, monkeypatch):
    from helpers.check import lesson01

    token = add_learners(room, ["ann"])["ann"]
    live = _learner_client(monkeypatch, room, token)
    with check.attempt("01.1") as run:
        reply = live.messages.create(model=check.catalog.DEFAULT_MODEL, max_tokens=200,
                                     system="Answer in one short sentence.",
                                     messages=[{"role": "user", "content": lesson01.EXERCISE_QUESTION}])
    assert run.error is None and run.classroom_attempt
    assert lesson01.system_prompt(reply).passed
    _wait_for_reports()
    assert _room_lessons(room)["01"]["exercises"]["01.1"] == {
        "passed": True, "self_reported": False, "attempts": 1, "failures": 0, "failures_since_pass": 0}


def _wait_for_reports() -> None:
    classroom_hook._finish_reports()


def test_a_forged_report_is_only_self_reported(room, monkeypatch):
    tokens = add_learners(room, ["ann", "bob"])
    bob = _learner_client(monkeypatch, room, tokens["bob"])
    bobs_call = bob.messages.with_raw_response.create(
        model=check.catalog.DEFAULT_MODEL, max_tokens=50, system="x",
        messages=[{"role": "user", "content": "hi"}]).headers["request-id"]
    ann = _learner_client(monkeypatch, room, tokens["ann"])
    before = ann.messages.with_raw_response.create(
        model=check.catalog.DEFAULT_MODEL, max_tokens=50, system="x",
        messages=[{"role": "user", "content": "hi"}]).headers["request-id"]
    attempt = _post(room, tokens["ann"], "/classroom/attempts", {"exercise": "01.1"})["attempt"]
    plain = ann.messages.with_raw_response.create(  # made in the attempt, but without the exercise's system prompt
        model=check.catalog.DEFAULT_MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ).headers["request-id"]
    forged = [
        ({"exercise": "01.1", "passed": True}, "no attempt"),
        ({"exercise": "01.1", "passed": True, "attempt": "att_made_up", "evidence": [plain]}, "no attempt"),
        ({"exercise": "01.1", "passed": True, "attempt": attempt, "evidence": ["req_made_up"]}, "not a call of yours"),
    ]
    for report, why in forged:
        answer = _post(room, tokens["ann"], "/classroom/progress", report)
        assert answer["verified"] is False and why in answer["unverified"], answer
    for evidence, why in (([bobs_call], "not a call of yours"), ([before], "since the attempt began"),
                          ([plain], "request shape of exercise 01.1")):
        attempt = _post(room, tokens["ann"], "/classroom/attempts", {"exercise": "01.1"})["attempt"]
        if evidence == [plain]:  # a new attempt, and the plain call made after it
            evidence = [ann.messages.with_raw_response.create(
                model=check.catalog.DEFAULT_MODEL, max_tokens=50,
                messages=[{"role": "user", "content": "hi"}]).headers["request-id"]]
        answer = _post(room, tokens["ann"], "/classroom/progress",
                       {"exercise": "01.1", "passed": True, "attempt": attempt, "evidence": evidence})
        assert answer["verified"] is False and why in answer["unverified"], answer
    # An attempt of another exercise, and one used already, vouch for nothing either.
    other = _post(room, tokens["ann"], "/classroom/attempts", {"exercise": "04.1"})["attempt"]
    good = ann.messages.with_raw_response.create(model=check.catalog.DEFAULT_MODEL, max_tokens=50, system="x",
                                                 messages=[{"role": "user", "content": "hi"}]).headers["request-id"]
    assert not _post(room, tokens["ann"], "/classroom/progress",
                     {"exercise": "01.1", "passed": True, "attempt": other, "evidence": [good]})["verified"]
    exercise = _room_lessons(room)["01"]["exercises"]["01.1"]
    assert exercise["passed"] is False and exercise["self_reported"] is True
    # The same calls, reported as the kit reports them, are a verified pass: the checks above could fail.
    attempt = _post(room, tokens["ann"], "/classroom/attempts", {"exercise": "01.1"})["attempt"]
    good = ann.messages.with_raw_response.create(model=check.catalog.DEFAULT_MODEL, max_tokens=50, system="x",
                                                 messages=[{"role": "user", "content": "hi"}]).headers["request-id"]
    report = {"exercise": "01.1", "passed": True, "attempt": attempt, "evidence": [good]}
    assert _post(room, tokens["ann"], "/classroom/progress", report)["verified"] is True
    assert not _post(room, tokens["ann"], "/classroom/progress", report)["verified"]  # an attempt vouches once


def test_a_patched_grader_cannot_turn_a_blank_exercise_into_a_verified_pass(room, monkeypatch):
    from helpers.check import lesson01

    token = add_learners(room, ["ann"])["ann"]
    _learner_client(monkeypatch, room, token)
    check.not_yet = check.correct  # as a notebook would patch it
    vars(lesson01)["not_yet"] = check.correct  # past the module's attribute guard
    with check.attempt("01.1"):
        reply = None  # the blank exercise
    result = lesson01.system_prompt(reply)
    assert not result.passed and "graders were patched" in result.message  # the kernel's grade is the kit's...
    assert vars(lesson01)["not_yet"] is vars(check)["not_yet"] is not check.correct  # ...put back, not kept
    _wait_for_reports()
    assert _room_lessons(room)["01"]["exercises"]["01.1"]["passed"] is False  # and the dashboard shows no pass
