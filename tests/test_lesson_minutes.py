"""`tools/lesson_minutes.py`: a time estimate per lesson, computed from the real notebooks."""

from __future__ import annotations

import copy
import importlib.util
import math
import subprocess
import sys

from notebooks_support import APPENDICES, LESSONS, ROOT, load

_spec = importlib.util.spec_from_file_location("lesson_minutes", ROOT / "tools" / "lesson_minutes.py")
lesson_minutes = importlib.util.module_from_spec(_spec)
sys.modules["lesson_minutes"] = lesson_minutes  # dataclasses look their module up by name
_spec.loader.exec_module(lesson_minutes)


def _markdown(text):
    return {"cell_type": "markdown", "id": "added", "metadata": {}, "source": text}


def _code(text):
    return {"cell_type": "code", "id": "added", "metadata": {}, "execution_count": None, "outputs": [], "source": text}


def test_every_lesson_and_appendix_is_listed_once_in_order():
    rows = lesson_minutes.course()
    assert [path for path, _ in rows] == LESSONS + APPENDICES
    table = lesson_minutes.table(rows)
    for path in LESSONS + APPENDICES:
        assert table.count(f"(notebooks/{path.name})") == 1


def test_titles_come_from_each_notebooks_heading():
    for path, found in lesson_minutes.course():
        assert found.title.startswith(path.name[:2] + " · ") or path.name.startswith("appendix_"), found.title


def test_the_same_notebooks_give_the_same_table():
    assert lesson_minutes.table(lesson_minutes.course()) == lesson_minutes.table(lesson_minutes.course())


def test_every_lesson_takes_a_plausible_time_and_its_exercises_count():
    for path, found in lesson_minutes.course():
        if path in LESSONS:
            assert found.exercises >= 2, path.name  # each lesson has two or three graded exercises
            assert 20 <= found.minutes <= 120, (path.name, found.minutes)
            assert found.minutes >= found.exercises * lesson_minutes.MINUTES_PER_EXERCISE
        else:
            assert found.exercises == 0 and 5 <= found.minutes <= 60, (path.name, found.minutes)


def test_more_content_never_takes_less_time():
    notebook = load(LESSONS[5])
    base = lesson_minutes.estimate(notebook)

    more_prose = copy.deepcopy(notebook)
    more_prose["cells"].append(_markdown("word " * lesson_minutes.READING_WORDS_PER_MINUTE * 3))
    with_prose = lesson_minutes.estimate(more_prose)
    assert with_prose.prose_words == base.prose_words + lesson_minutes.READING_WORDS_PER_MINUTE * 3
    assert with_prose.minutes in (base.minutes + 3, base.minutes + 4)  # rounding up can carry one minute

    more_code = copy.deepcopy(notebook)
    more_code["cells"].append(_code("x = 1\n# a comment is not a line to read\n\ny = x + 1\nprint(y)"))
    with_code = lesson_minutes.estimate(more_code)
    assert (with_code.code_cells, with_code.code_lines) == (base.code_cells + 1, base.code_lines + 3)
    assert with_code.minutes >= base.minutes

    more_exercises = copy.deepcopy(notebook)
    more_exercises["cells"].append(_code("def f(x):\n    ...  # your code here\n\n\ncheck.lesson05.handle(f)"))
    with_exercise = lesson_minutes.estimate(more_exercises)
    assert with_exercise.exercises == base.exercises + 1 and with_exercise.code_cells == base.code_cells
    assert with_exercise.minutes == base.minutes + lesson_minutes.MINUTES_PER_EXERCISE


def test_the_total_adds_up_the_numbered_lessons_only():
    rows = lesson_minutes.course()
    total = sum(found.minutes for path, found in rows if path in LESSONS)
    assert f"**{total}**" in lesson_minutes.table(rows).splitlines()[-3]


def test_the_script_prints_the_table_and_names_an_empty_folder(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "lesson_minutes.py")], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == lesson_minutes.table(lesson_minutes.course())
    empty = subprocess.run([sys.executable, str(ROOT / "tools" / "lesson_minutes.py"), "--notebooks", str(tmp_path)],
                           capture_output=True, text=True)
    assert empty.returncode == 1 and "no lessons found" in empty.stderr


def _plan():
    import json

    return json.loads(lesson_minutes.PATHS.read_text(encoding="utf-8"))


def _between(text, command):
    begin, end = f"<!-- begin: {command} -->\n", f"\n<!-- end: {command} -->"
    assert begin in text and end in text, f"README.md has no block for `{command}`"
    return text.split(begin, 1)[1].split(end, 1)[0]


def test_every_workshop_path_fits_its_time_with_slack_and_names_real_exercises():
    rows = lesson_minutes.course()
    plan = _plan()
    budgets = []
    for path in plan["paths"]:
        total = lesson_minutes.path_total(path, rows)
        assert 0.6 * path["budget_minutes"] <= total <= 0.85 * path["budget_minutes"], (path["title"], total)
        assert path["title"].split(":")[0] in lesson_minutes.paths(rows, plan)
        budgets.append(path["budget_minutes"])
    assert budgets == [90, 180, 180, 390]  # the README promises a 90-minute, two 3-hour and a 1-day path


def test_a_three_hour_path_does_tool_use():
    rows = lesson_minutes.course()
    builders = [path for path in _plan()["paths"] if path["budget_minutes"] <= 180 and "10" in path["lessons"]]
    assert builders, "no path of three hours or less has learners do lesson 10 (tool use)"
    chosen = dict((found_path.name[:2], exercises) for found_path, _, exercises in
                  lesson_minutes.path_rows(builders[0]["lessons"], rows))
    assert chosen["10"], "the builders' path reads lesson 10 but does none of its exercises"


def test_every_path_names_its_demo_and_a_fallback_for_a_failed_set_up():
    shown = lesson_minutes.paths(lesson_minutes.course(), _plan())
    for path in _plan()["paths"]:
        assert path["demo"]["what"].strip() and path["demo"]["minutes"] > 0, path["title"]
        assert "Binder" in path["fallback"] or "JupyterHub" in path["fallback"], path["title"]
        assert path["demo"]["what"] in shown and path["fallback"] in shown


def test_a_path_without_slack_a_demo_or_a_fallback_is_refused():
    import pytest

    rows = lesson_minutes.course()
    plan = _plan()
    first = plan["paths"][0]
    first["budget_minutes"] = math.ceil(lesson_minutes.path_total(first, rows) / 0.9)  # 10% free: too little
    with pytest.raises(lesson_minutes.PathError, match="less than 15%"):
        lesson_minutes.paths(rows, plan)
    for field in ("demo", "fallback"):
        plan = _plan()
        del plan["paths"][1][field]
        with pytest.raises(lesson_minutes.PathError, match=f"needs a {field}"):
            lesson_minutes.paths(rows, plan)


def test_a_path_counts_only_the_exercises_it_does():
    rows = lesson_minutes.course()
    (path, found), = [(p, f) for p, f in rows if p.name.startswith("05_")]
    none, one, every = (lesson_minutes.path_minutes(lesson_minutes.path_rows({"05": wanted}, rows))
                        for wanted in ([], ["05.1"], "all"))
    assert every == found.minutes
    assert one == none + lesson_minutes.MINUTES_PER_EXERCISE
    assert every == none + found.exercises * lesson_minutes.MINUTES_PER_EXERCISE


def test_a_path_that_names_a_missing_lesson_or_exercise_or_runs_over_is_refused():
    import pytest

    rows = lesson_minutes.course()
    with pytest.raises(lesson_minutes.PathError, match="no lesson numbered 99"):
        lesson_minutes.path_rows({"99": "all"}, rows)
    with pytest.raises(lesson_minutes.PathError, match="not 05.9"):
        lesson_minutes.path_rows({"05": ["05.9"]}, rows)
    plan = _plan()
    plan["paths"][0]["budget_minutes"] = 10
    with pytest.raises(lesson_minutes.PathError, match="takes .* minutes, which leaves less than 15% of its 10"):
        lesson_minutes.paths(rows, plan)


def test_the_readme_shows_what_the_tool_prints_today():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = lesson_minutes.course()
    assert _between(readme, "python tools/lesson_minutes.py --paths") == lesson_minutes.paths(rows, _plan()), \
        "README.md's workshop paths are out of date: paste `python tools/lesson_minutes.py --paths` into it"
    assert _between(readme, "python tools/lesson_minutes.py") == lesson_minutes.table(rows), \
        "README.md's lesson table is out of date: paste `python tools/lesson_minutes.py` into it"
