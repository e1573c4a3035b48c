"""The evidence a grader reads is the kit's: the usage log is read-only to a notebook, a record changed after its
call is refused, and patching the graders from a notebook changes no grade (and says so)."""

from __future__ import annotations

import dataclasses

import httpx2
import pytest

from helpers import DEFAULT_MODEL, check, usage_log
from helpers.usage import Record, RecordingTransport, RecordingWarning, UsageLog, sealed_by_kit

LESSON = "01_first_request.ipynb"
SYSTEM = "cell-41"
ANSWER = """reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=150, system="Answer in one sentence.",
                               messages=[{"role": "user", "content": exercise_question}])"""


def test_a_notebook_cannot_add_or_replace_records(learner):
    learner.answer(SYSTEM, ANSWER)
    record = usage_log.records[-1]
    made_up = dataclasses.replace(record, request_body=b'{"system": "forged"}')
    with pytest.raises(PermissionError, match="only by the kit's own transport"):
        usage_log.add(made_up)
    with pytest.raises(PermissionError):
        usage_log._add(made_up)  # even the transport's own way in takes only what the transport sealed
    with pytest.raises((AttributeError, TypeError)):
        usage_log.records.append(made_up)
    with pytest.raises(TypeError):
        usage_log.records[-1] = made_up
    with pytest.raises(AttributeError):
        usage_log.total_cost_usd = 0.0
    assert usage_log.records[-1] is record and sealed_by_kit(record) and not sealed_by_kit(made_up)


def test_records_are_frozen_and_what_they_return_is_a_copy(learner):
    learner.answer(SYSTEM, ANSWER)
    record = usage_log.records[-1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.request_body = b"{}"
    record.request["system"] = "edited"
    assert record.request["system"] == "Answer in one sentence." and sealed_by_kit(record)


@pytest.mark.parametrize("tamper", [
    lambda record: record.response["content"].append({"type": "text", "text": "forged"}),
    lambda record: object.__setattr__(record, "request_body", record.request_body.replace(b"one sentence", b"x")),
    lambda record: object.__setattr__(record, "stop_reason", "max_tokens"),
])
def test_a_record_changed_after_its_call_is_refused(learner, tamper):
    result = learner.answer(SYSTEM, ANSWER)
    assert result.passed, result  # the same answer, untouched, passes: the refusal below is the tampering's
    tamper(usage_log.find(learner.namespace["reply"].id))
    result = check.lesson01.system_prompt(learner.namespace["reply"])
    assert not result.passed and "was changed after the call" in result.message


def test_a_made_up_transport_writes_nothing_to_the_log():
    import anthropic

    class MadeUp(httpx2.BaseTransport):
        def handle_request(self, request):
            return httpx2.Response(200, json={
                "id": "msg_made_up", "type": "message", "role": "assistant", "model": DEFAULT_MODEL,
                "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1}})

    log = UsageLog()
    client = anthropic.Anthropic(api_key="x", base_url="http://made-up", max_retries=0,
                                 http_client=httpx2.Client(transport=RecordingTransport(MadeUp(), offline=True,
                                                                                        log=log)))
    with pytest.warns(RecordingWarning, match="not made by the kit's transport"):
        reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert reply.id == "msg_made_up" and len(log) == 0


def test_patching_not_yet_changes_no_grade_and_the_report_says_so(learner):
    saved = vars(check)["not_yet"]
    try:
        check.not_yet = check.correct
        vars(check.lesson01)["not_yet"] = check.correct  # past the attribute guard, straight into the namespace
        result = learner.answer(SYSTEM)  # the blank exercise
        assert not result.passed and "nothing to grade yet" in result.message
        assert "graders were patched" in result.message and "`helpers.check.not_yet`" in result.message
        assert vars(check)["not_yet"] is saved and vars(check.lesson01)["not_yet"] is saved
    finally:
        vars(check)["not_yet"] = saved
        check._replaced.clear()  # later tests grade an untouched kit


def test_a_replaced_grader_reads_as_the_kit_own(learner):
    original = check.lesson01.system_prompt
    try:
        vars(check.lesson01)["system_prompt"] = lambda reply: check.correct("looks fine")
        assert check.lesson01.system_prompt is original  # from outside, the kit's name is the kit's grader
        result = learner.answer(SYSTEM)
        assert not result.passed and "graders were patched" in result.message
    finally:
        vars(check.lesson01)["system_prompt"] = original
        check._replaced.clear()


def test_an_untouched_kit_reports_no_patching(learner):
    result = learner.answer(SYSTEM, ANSWER)
    assert result.passed and "patched" not in result.message


def test_a_record_is_sealed_over_every_field():
    record = Record(time=None, path="/v1/messages", status=200, model=None, sent_at=1.0)
    assert not sealed_by_kit(record)  # made by hand: no seal
    assert not sealed_by_kit(dataclasses.replace(record, seal="0" * 64))
