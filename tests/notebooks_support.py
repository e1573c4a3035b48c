"""Where the lessons and their solutions live, and small readers shared by the notebook tests."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("[0-9][0-9]_*_solution.ipynb"))
APPENDICES = sorted(NOTEBOOKS.glob("appendix_*.ipynb"))
"""Optional, unnumbered notebooks: not lessons, but run, linked and checked like them."""
ALL = LESSONS + SOLUTIONS + APPENDICES
_spec = importlib.util.spec_from_file_location("launch_links", ROOT / "tools" / "launch_links.py")
launch_links = importlib.util.module_from_spec(_spec)
"""tools/launch_links.py: writes each notebook's Colab badge and setup preamble (`make links`)."""
_spec.loader.exec_module(launch_links)
RAISES_MARKER = "# NBVAL_RAISES_EXCEPTION"
GRADER_CALL = re.compile(r"^check\.lesson\d\d\.\w+\(", re.MULTILINE)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def output_text(output: dict) -> str:
    if "text" in output:
        return "".join(output["text"])
    data = output.get("data", {})
    text = data.get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def solution_for(lesson: Path) -> Path:
    return NOTEBOOKS / "solutions" / f"{lesson.stem}_solution.ipynb"
