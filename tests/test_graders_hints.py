"""What every grader shares: opt-in hints, the exercise cell's attempt, and stored outputs that give nothing away."""

from __future__ import annotations

import importlib
import re

import pytest

from helpers import check
from notebooks_support import GRADER_CALL, LESSONS, code_cells, load, output_text, source

EXERCISE = re.compile(r"check\.lesson(\d\d)\.\w+\(")


def all_hints() -> dict[str, tuple[str, ...]]:
    hints = {}
    for name in check.LESSONS:
        hints.update(importlib.import_module(f"helpers.check.{name}").HINTS)
    return hints


def test_every_exercise_has_hints_from_a_nudge_to_the_mechanic():
    hints = all_hints()
    assert len(hints) == 45
    for number, texts in hints.items():
        assert len(texts) >= 2, number
        shown = [check.hint(number, n) for n in range(1, len(texts) + 1)]
        assert [h.text for h in shown] == list(texts)
        assert f'check.hint("{number}", 2)' in repr(shown[0]) and "Next hint" not in repr(shown[-1])


@pytest.mark.parametrize("bad", ["4.1", "99.1", "04.9", "lesson04"])
def test_hint_for_an_unknown_exercise_says_how_they_are_numbered(bad):
    with pytest.raises(ValueError, match="numbered like"):
        check.hint(bad)


def test_hint_number_out_of_range_is_named():
    with pytest.raises(ValueError, match="hints 1 to"):
        check.hint("04.1", 9)


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_stored_unsolved_outputs_give_no_hint_away(path):
    hints = all_hints()
    for cell in code_cells(load(path)):
        if not GRADER_CALL.search(source(cell)):
            continue
        shown = "\n".join(output_text(o) for o in cell.get("outputs", []))
        number = re.search(r"\((\d\d\.\d) ", shown).group(1)
        assert f'check.hint("{number}")' in shown, "a failing grader points to its hints"
        for text in hints[number]:
            for fragment in re.findall(r"`([^`]{12,})`", text):  # the code a hint shows
                assert fragment not in shown, f"{number}'s stored output shows {fragment!r}"


def test_attempt_takes_an_exercise_number():
    with pytest.raises(ValueError, match="exercise's number"):
        with check.attempt("lesson04"):
            pass


def test_an_attempt_is_graded_once_and_only_by_its_exercise():
    with check.attempt("04.1"):
        raise RuntimeError("boom")
    other = check.lesson04.structured(None)
    assert "boom" not in other.message
    first = check.lesson04.multiple_choice(None)
    assert "RuntimeError" in first.message and "boom" in first.message
    again = check.lesson04.multiple_choice(None)
    assert "nothing to grade yet" in again.message


def test_an_attempt_lets_keyboard_interrupts_through():
    with pytest.raises(KeyboardInterrupt):
        with check.attempt("01.1"):
            raise KeyboardInterrupt
    check._attempts.clear()


def test_a_failing_grader_never_raises():
    result = check.lesson05.tool_round_trip(object(), object())
    assert not result.passed and result.exercise.startswith("05.2")


def _references():
    from helpers.check import histories, lesson00, lesson02, lesson05, lesson06, lesson09

    return [
        (check.lesson00.cheapest, lambda models: min(lesson00._current(models), key=lambda m: m.price.input).id),
        (check.lesson01.text_of, lambda message: check.reply_text(message)),
        (check.lesson01.text_of, lambda message: check.text_of_content(message.content)),
        (check.lesson02.last_exchanges, lambda messages, k: lesson02._expected(messages, k)),
        (check.lesson02.last_exchanges, lambda messages, k: messages[histories.exchange_starts(messages)[-k]:]),
        (check.lesson05.handle, lambda message: lesson05._next_step(message.stop_reason)[0]),
        (check.lesson06.retry_wait, lambda err, attempt: lesson06._expected_wait(err, attempt)),
        (check.lesson07.message_cost, lambda message: check.expected_cost(message)),
        (check.lesson09.event_counts, lambda client, **request: lesson09._expected_events(request)),
    ]


@pytest.mark.parametrize("case", range(9))
def test_the_graders_own_references_stand_in_for_no_answer(case):
    grade, wrapper = _references()[case]
    result = grade(wrapper)
    assert not result.passed and "graders' own functions" in result.message, result


def test_the_kits_functions_passed_as_answers_are_refused():
    from helpers.check import histories

    assert "kit's own functions" in check.lesson01.text_of(check.reply_text).message
    assert "kit's own functions" in check.lesson02.last_exchanges(histories.exchange_starts).message
