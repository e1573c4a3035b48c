"""How long each lesson takes to work through, estimated from the notebook itself, as a Markdown table.

    python tools/lesson_minutes.py                 # every lesson and appendix in notebooks/
    python tools/lesson_minutes.py --notebooks DIR

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

READING_WORDS_PER_MINUTE = 180
"""Careful reading of technical prose, slower than the 200-300 words a minute of everyday reading."""
SECONDS_PER_CODE_CELL = 30
"""Running a demo cell and reading what it printed."""
SECONDS_PER_CODE_LINE = 5
"""Reading one line of code closely enough to know what it does."""
MINUTES_PER_EXERCISE = 10
"""Writing a short function or request, running its grader, and fixing it once or twice."""

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
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
        seconds = (60 * self.prose_words / READING_WORDS_PER_MINUTE + SECONDS_PER_CODE_CELL * self.code_cells
                   + SECONDS_PER_CODE_LINE * self.code_lines + 60 * MINUTES_PER_EXERCISE * self.exercises)
        return math.ceil(seconds / 60)


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def estimate(notebook: dict, fallback_title: str = "") -> Estimate:
    """The estimate of one notebook (its JSON, as read from the .ipynb file)."""
    words = cells = lines = exercises = 0
    title = ""
    for cell in notebook.get("cells", []):
        text = _source(cell)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the folder that holds the lessons")
    args = parser.parse_args(argv)
    rows = course(args.notebooks)
    if not rows:
        print(f"no lessons found in {args.notebooks}: give the folder that holds them with --notebooks",
              file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
