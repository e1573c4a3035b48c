"""How long each lesson takes to work through, estimated from the notebook itself, as a Markdown table.

    python tools/lesson_minutes.py                 # every lesson and appendix in notebooks/
    python tools/lesson_minutes.py --notebooks DIR
    python tools/lesson_minutes.py --paths         # the workshop paths of tools/workshop_paths.json

The estimate adds three things, each from the notebook's own content: its prose read at a
steady pace, its code cells read and run, and a fixed allowance per graded exercise. It is
a planning figure for a workshop, not a measurement. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch_links import BADGE_CELL_ID, without_preamble  # noqa: E402 - the tools' folder first

READING_WORDS_PER_MINUTE = 150
"""Careful reading of technical prose, well below the 200-300 words a minute of everyday reading."""
SECONDS_PER_CODE_CELL = 30
"""Running a demo cell and reading what it printed."""
SECONDS_PER_CODE_LINE = 5
"""Reading one line of code closely enough to know what it does."""
MINUTES_PER_EXERCISE = 10
"""Writing a short function or request, running its grader, and fixing it once or twice."""
SLACK = 0.15
"""The share of a workshop path's time left free: set-up trouble, questions, a demo that runs long."""
FALLBACK_WORDS = ("Binder", "JupyterHub")
"""A path's fallback names where a learner whose set-up failed works instead (README: Binder and JupyterHub)."""

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = Path(__file__).resolve().with_name("workshop_paths.json")
GRADER_CALL = re.compile(r"^check\.lesson\d\d\.\w+\(", re.MULTILINE)
"""An exercise cell ends with its grader call (the same pattern the notebook tests use)."""
WORD = re.compile(r"[\w'’.-]+")
TITLE = re.compile(r"^#\s+(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Estimate:
    title: str
    prose_words: int
    code_cells: int
    code_lines: int
    exercises: int

    @property
    def minutes(self) -> int:
        return self.minutes_with(self.exercises)

    def minutes_with(self, exercises: int) -> int:
        """The time for the whole lesson when only ``exercises`` of its graded exercises are done."""
        seconds = (60 * self.prose_words / READING_WORDS_PER_MINUTE + SECONDS_PER_CODE_CELL * self.code_cells
                   + SECONDS_PER_CODE_LINE * self.code_lines + 60 * MINUTES_PER_EXERCISE * exercises)
        return math.ceil(seconds / 60)

    def exercise_ids(self, number: str) -> list[str]:
        """``NN.1``, ``NN.2``, ...: a lesson's graded exercises, numbered in the order they appear."""
        return [f"{number}.{n}" for n in range(1, self.exercises + 1)]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def estimate(notebook: dict, fallback_title: str = "") -> Estimate:
    """The estimate of one notebook (its JSON, as read from the .ipynb file)."""
    words = cells = lines = exercises = 0
    title = ""
    for cell in notebook.get("cells", []):
        if cell.get("id") == BADGE_CELL_ID:
            continue  # the Colab badge and the setup preamble are the same in every lesson, not its content
        text = without_preamble(_source(cell))
        if cell["cell_type"] == "markdown":
            words += len(WORD.findall(text))
            title = title or next(iter(TITLE.findall(text)), "")
        elif cell["cell_type"] == "code" and text.strip():
            if GRADER_CALL.search(text):
                exercises += 1  # its code is the learner's to write: the exercise allowance covers it
                continue
            cells += 1
            lines += sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))
    return Estimate(title.strip() or fallback_title, words, cells, lines, exercises)


def course(folder: Path = NOTEBOOKS) -> list[tuple[Path, Estimate]]:
    """Every lesson in order, then the appendices."""
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb")) + sorted(folder.glob("appendix_*.ipynb"))
    return [(path, estimate(json.loads(path.read_text(encoding="utf-8")), path.stem)) for path in paths]


def table(rows: list[tuple[Path, Estimate]], link_prefix: str = "notebooks/") -> str:
    """A Markdown table, one row per notebook, and the total of the numbered lessons."""
    out = ["| Lesson | Reading (words) | Code cells | Exercises | Minutes |", "|---|---:|---:|---:|---:|"]
    for path, found in rows:
        out.append(f"| [{found.title}]({link_prefix}{path.name}) | {found.prose_words:,} | {found.code_cells} | "
                   f"{found.exercises} | {found.minutes} |")
    lessons = [found for path, found in rows if not path.name.startswith("appendix_")]
    total = sum(found.minutes for found in lessons)
    out.append(f"| **All {len(lessons)} lessons** | {sum(f.prose_words for f in lessons):,} | "
               f"{sum(f.code_cells for f in lessons)} | {sum(f.exercises for f in lessons)} | "
               f"**{total}** (about {total / 60:.1f} h) |")
    out.append("")
    out.append(f"Estimated from each notebook: prose at {READING_WORDS_PER_MINUTE} words a minute, "
               f"{SECONDS_PER_CODE_CELL} s per code cell plus {SECONDS_PER_CODE_LINE} s per line of code, and "
               f"{MINUTES_PER_EXERCISE} minutes per graded exercise (`tools/lesson_minutes.py`).")
    return "\n".join(out)


class PathError(ValueError):
    """A workshop path names a lesson or an exercise that the notebooks do not have."""


def _chosen(number: str, found: Estimate, wanted: object) -> list[str]:
    known = found.exercise_ids(number)
    chosen = known if wanted == "all" else list(wanted) if isinstance(wanted, list) else None
    if chosen is None:
        raise PathError(f"lesson {number}: give \"all\" or a list of exercise ids, not {wanted!r}")
    unknown = [exercise for exercise in chosen if exercise not in known]
    if unknown:
        raise PathError(f"lesson {number} has exercises {', '.join(known)}, not {', '.join(unknown)}")
    return chosen


def path_rows(lessons: dict[str, object], rows: list[tuple[Path, Estimate]]) -> list[tuple[Path, Estimate, list[str]]]:
    """The lessons of one path, in course order, each with the exercises the path does."""
    by_number = {path.name[:2]: (path, found) for path, found in rows if path.name[:2].isdigit()}
    missing = sorted(set(lessons) - set(by_number))
    if missing:
        raise PathError(f"no lesson numbered {', '.join(missing)} in the notebooks folder")
    return [(*by_number[number], _chosen(number, by_number[number][1], lessons[number])) for number in sorted(lessons)]


def path_minutes(chosen: list[tuple[Path, Estimate, list[str]]]) -> int:
    return sum(found.minutes_with(len(exercises)) for _, found, exercises in chosen)


def _path_table(chosen: list[tuple[Path, Estimate, list[str]]], link_prefix: str) -> list[str]:
    out = ["| Lesson | Exercises | Minutes |", "|---|---|---:|"]
    for path, found, exercises in chosen:
        done = ", ".join(exercises) if exercises else "none (read and run the sections)"
        out.append(f"| [{found.title}]({link_prefix}{path.name}) | {done} | {found.minutes_with(len(exercises))} |")
    out.append(f"| **Total** | | **{path_minutes(chosen)}** |")
    return out


def _demo(path: dict) -> dict:
    demo = path.get("demo")
    if not isinstance(demo, dict) or not str(demo.get("what", "")).strip() or \
            not isinstance(demo.get("minutes"), int) or demo["minutes"] < 0:
        raise PathError(f"{path.get('title')!r} needs a demo: what the instructor shows instead of having learners "
                        "run it, and its minutes")
    return demo


def _fallback(path: dict) -> str:
    fallback = str(path.get("fallback", ""))
    if not any(word in fallback for word in FALLBACK_WORDS):
        raise PathError(f"{path.get('title')!r} needs a fallback for learners whose set-up failed, naming "
                        f"{' or '.join(FALLBACK_WORDS)}")
    return fallback


def path_total(path: dict, rows: list[tuple[Path, Estimate]]) -> int:
    """A path's minutes: the lessons the learners work through, and the instructor's demo."""
    return path_minutes(path_rows(path["lessons"], rows)) + _demo(path)["minutes"]


def paths(rows: list[tuple[Path, Estimate]], plan: dict, link_prefix: str = "notebooks/") -> str:
    """The workshop paths as Markdown: what to do before, then one table per path with its total."""
    before = plan["before"]
    chosen = path_rows(before["lessons"], rows)
    out = [f"**{before['title']}** ({path_minutes(chosen)} min): {before['note']}", ""]
    out += _path_table(chosen, link_prefix)
    for path in plan["paths"]:
        chosen = path_rows(path["lessons"], rows)
        demo, fallback = _demo(path), _fallback(path)
        total = path_minutes(chosen) + demo["minutes"]
        budget = path["budget_minutes"]
        if total > budget * (1 - SLACK):
            raise PathError(f"{path['title']!r} takes {total} minutes, which leaves less than {SLACK:.0%} of its "
                            f"{budget} free")
        out += ["", f"**{path['title']}** ({total} of {budget} min, {budget - total} min free). {path['note']}",
                "", f"*Instructor's demo* ({demo['minutes']} min): {demo['what']}", "",
                f"*If a learner's set-up failed:* {fallback}", ""]
        table = _path_table(chosen, link_prefix)
        table[-1:] = [f"| Instructor's demo | shown, not run | {demo['minutes']} |", f"| **Total** | | **{total}** |"]
        out += table
    out += ["", f"Minutes are estimated from each notebook, as in the table of all lessons below; an exercise not "
                f"done saves its {MINUTES_PER_EXERCISE} minutes. Every path leaves at least {SLACK:.0%} of its time "
                "free."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the folder that holds the lessons")
    parser.add_argument("--paths", action="store_true", help=f"print the workshop paths of {PATHS.name} instead")
    args = parser.parse_args(argv)
    rows = course(args.notebooks)
    if not rows:
        print(f"no lessons found in {args.notebooks}: give the folder that holds them with --notebooks",
              file=sys.stderr)
        return 1
    if args.paths:
        try:
            print(paths(rows, json.loads(PATHS.read_text(encoding="utf-8"))))
        except PathError as error:
            print(f"{PATHS.name}: {error}", file=sys.stderr)
            return 1
    else:
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
