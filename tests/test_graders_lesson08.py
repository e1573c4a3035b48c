"""Lesson 08 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from helpers import check

LESSON = "08_context_window.ipynb"
TRIM, SUMMARY = "cell-65", "cell-65b"


# 08.1 a history trimmed to a token budget

TRIM_BY_HAND = """first, rest = messages[0], messages[1:]
room = budget - estimate(first)
kept, used, best = [], 0, []
for turn in reversed(rest):
    used += estimate(turn)
    if used > room:
        break
    kept.insert(0, turn)
    content = turn["content"]
    if turn["role"] == "user" and (isinstance(content, str) or all(b["type"] != "tool_result" for b in content)):
        best = list(kept)
return [first] + best"""


TRIM_BY_INDEX = """def users_own(turn):
    return turn["role"] == "user" and not any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in turn["content"]
        if not isinstance(turn["content"], str))

left = budget - estimate(messages[0])
start = len(messages)
for i in range(len(messages) - 1, 0, -1):
    left -= estimate(messages[i])
    if left < 0:
        break
    if users_own(messages[i]):
        start = i
return [messages[0], *messages[start:]]"""


@pytest.mark.parametrize("body", [TRIM_BY_HAND, TRIM_BY_INDEX])
def test_budget_trim_right_answers_pass(learner, body):
    result = learner.answer(TRIM, body)
    assert result.passed, result


@pytest.mark.parametrize("body", [
    "return trim_to_budget(messages, budget, keep_first=True)",  # the instructor's review: one call is the answer
    """import helpers.trim as kit_trim

return [messages[0], *kit_trim.trim_to_budget(messages[1:], budget - estimate(messages[0]))]""",
])
def test_budget_trim_by_the_kits_trim_to_budget_is_refused(learner, body):
    result = learner.answer(TRIM, body)
    assert not result.passed and "all of this exercise" in result.message, result


@pytest.mark.parametrize("lazy, words", [
    ("return kept_first", "first turn"),                              # section 2's result, for another history
    ("return long_chat[:1] + long_chat[-6:]", "first turn"),          # typed in for long_chat
    ("return trim_to_budget(messages, budget)", "first turn"),        # forgets keep_first
    ("return [messages[0]] + messages[-3:]", "seed"),                # a fixed count of turns
])
def test_budget_trim_lazy_answers_are_refused(learner, lazy, words):
    result = learner.answer(TRIM, lazy)
    assert not result.passed and words in result.message, result


def test_budget_trim_kit_function_alone_is_refused(learner):
    result = learner.run("check.lesson08.budget_trim(trim_to_budget)")
    assert not result.passed and "kit's own functions" in result.message


def test_budget_trim_mistakes_name_the_mechanic():
    def over_budget(messages, budget):
        return list(messages)

    def cut_tool_call(messages, budget):
        for i in range(1, len(messages)):
            content = messages[i]["content"]
            if not isinstance(content, str) and any(b["type"] == "tool_result" for b in content):
                return [messages[0]] + messages[i:]
        return [messages[0], messages[-1]]

    def too_short(messages, budget):
        return [messages[0], messages[-1]]

    assert "over the budget" in check.lesson08.budget_trim(over_budget, seed=11).message
    assert "cut off" in check.lesson08.budget_trim(cut_tool_call, seed=11).message or \
           "over the budget" in check.lesson08.budget_trim(cut_tool_call, seed=11).message
    assert "keep as many of the newest turns" in check.lesson08.budget_trim(too_short, seed=11).message


# 08.2 a summary in front of the recent turns

SUMMARY_WITH_TRIM = """recent = trim_to_budget(messages, keep_tokens)
return [{"role": "user", "content": f"Summary of our conversation so far: {summary}"},
        {"role": "assistant", "content": "Thanks, I have the summary."}, *recent]"""

SUMMARY_BY_HAND = """kept, used, best = [], 0, []
for turn in reversed(messages):
    used += estimate(turn)
    if used > keep_tokens:
        break
    kept.insert(0, turn)
    content = turn["content"]
    if turn["role"] == "user" and (isinstance(content, str) or all(b["type"] != "tool_result" for b in content)):
        best = list(kept)
opening = {"role": "user", "content": [{"type": "text", "text": "What we said so far, in short:"},
                                       {"type": "text", "text": summary}]}
return [opening, {"role": "assistant", "content": [{"type": "text", "text": "Noted."}]}] + best"""


SUMMARY_BY_INDEX = """start = len(messages)
used = 0
for i in range(len(messages) - 1, -1, -1):
    used += estimate(messages[i])
    if used > keep_tokens:
        break
    content = messages[i]["content"]
    if messages[i]["role"] == "user" and (isinstance(content, str) or
                                          not any(b.get("type") == "tool_result" for b in content)):
        start = i
return [{"role": "user", "content": "Here is where we got to: " + summary},
        {"role": "assistant", "content": "Got it, carrying on from that summary."}, *messages[start:]]"""


@pytest.mark.parametrize("body", [SUMMARY_BY_HAND, SUMMARY_BY_INDEX])
def test_summary_history_right_answers_pass(learner, body):
    result = learner.answer(SUMMARY, body)
    assert result.passed, result
    assert "carrying the summary" in result.message


def test_summary_history_by_the_kits_trim_to_budget_is_refused(learner):
    result = learner.answer(SUMMARY, SUMMARY_WITH_TRIM)  # the instructor's review: the demo plus one call
    assert not result.passed and "all of this exercise" in result.message, result


@pytest.mark.parametrize("lazy, words", [
    ("return summarised", "carries `summary`"),                                          # the lesson's own result
    ("return trim_to_budget(messages, keep_tokens)", "carries `summary`"),               # no summary at all
    ("""return [{"role": "user", "content": summary_text}, {"role": "assistant", "content": "OK"},
        *trim_to_budget(messages, keep_tokens)]""", "carries `summary`"),               # the lesson's summary text
    ("""return [{"role": "user", "content": summary}, *trim_to_budget(messages, keep_tokens)]""",
     "assistant turn"),                                                                  # two user turns in a row
    ("""return [{"role": "user", "content": summary}, {"role": "assistant", "content": "OK"}, messages[-1]]""",
     "keep as many of the newest turns"),                                               # a fixed count of turns
    ("""return [{"role": "user", "content": summary}, {"role": "assistant", "content": "OK"}, *messages[-5:]]""",
     "seed"),                                                                            # ignores keep_tokens
    ("""return [{"role": "user", "content": summary}, {"role": "assistant", "content": "OK"},
        *trim_to_budget(messages, keep_tokens + 200)]""", "over `keep_tokens`"),
])
def test_summary_history_lazy_and_wrong_answers_are_refused(learner, lazy, words):
    result = learner.answer(SUMMARY, lazy)
    assert not result.passed and words in result.message, result


def test_summary_history_kit_function_alone_is_refused(learner):
    result = learner.run("check.lesson08.summary_history(trim_to_budget)")
    assert not result.passed and "kit's own functions" in result.message


def test_summary_history_leaves_the_history_alone(learner):
    result = learner.answer(SUMMARY, """messages.insert(0, {"role": "user", "content": summary})
messages.insert(1, {"role": "assistant", "content": "OK"})
return messages""")
    assert not result.passed and "changed the list" in result.message


def test_summary_history_unsolved(learner):
    result = learner.answer(SUMMARY)
    assert not result.passed and "returned None" in result.message and "trim_to_budget" not in result.message
