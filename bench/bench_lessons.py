"""Kernel time of every lesson, appendix and solution, run offline: each should run top to bottom in under 5 s.

Kernel time is the sum over code cells of the time from a cell starting to execute to
its reply (nbclient's timing records), so kernel start-up is left out.

    .venv/bin/python bench/bench_lessons.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_lessons.py --strict   # exit 1 when a notebook misses the target
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0


def kernel_seconds(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    total = 0.0
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            started = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (ended - started).total_seconds()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a notebook misses the target")
    args = parser.parse_args()
    os.environ.update(KIT_MODE="offline", ANTHROPIC_API_KEY="", ANTHROPIC_AUTH_TOKEN="")
    notebooks = ROOT / "notebooks"
    paths = (sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) + sorted(notebooks.glob("appendix_*.ipynb"))
             + sorted((notebooks / "solutions").glob("*.ipynb")))
    slow = []
    for path in paths:
        seconds = kernel_seconds(path)
        slow += [path.name] if seconds > TARGET_S else []
        print(f"{path.relative_to(ROOT)}: {seconds:5.2f} s kernel time")
    print(f"target: each notebook under {TARGET_S:g} s of kernel time offline -> {'FAIL: ' + ', '.join(slow) if slow else 'PASS'}")
    return 1 if slow and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
