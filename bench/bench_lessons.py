"""Kernel time of every lesson, appendix and solution, run offline: each should run top to bottom in under 5 s.

Kernel time is the sum over code cells of the time from a cell starting to execute to
its reply (nbclient's timing records), so kernel start-up is left out.

Beside it, the imports of the notebook's setup cell (its first code cell's import statements)
timed in a fresh interpreter: all of them ("setup imports"), and the floor: the SDK (``import
anthropic``, which the kit's client is) with whatever else the cell imports that is not the kit's.
Their difference is what ``import helpers`` and the kit's names cost that lesson (fastest of 3
interleaved runs each, as imports are only ever slowed down by a busy machine; code already
timed for another notebook is not timed again).

    .venv/bin/python bench/bench_lessons.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_lessons.py --strict   # exit 1 when a notebook misses the target
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
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


def setup_imports(path: Path) -> tuple[str, str]:
    """The setup cell's import statements: all of them, and those that import nothing of the kit's."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    statements = [node for node in ast.parse(cell.source).body if isinstance(node, (ast.Import, ast.ImportFrom))]

    def kits(node) -> bool:
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
        return any(name == "helpers" or name.startswith("helpers.") for name in names)

    every = "\n".join(ast.unparse(node) for node in statements)
    floor = "\n".join(["import anthropic"] + [ast.unparse(node) for node in statements if not kits(node)])
    return every, floor


_timed: dict[str, float] = {}


def _import_once(code: str) -> float:
    timed = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    return float(subprocess.run([sys.executable, "-c", timed], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout)


def import_seconds(every: str, floor: str, runs: int = 3) -> tuple[float, float]:
    """The fastest time to run each of ``every`` and ``floor`` (imports) in a fresh interpreter, start-up left out."""
    times: dict[str, list[float]] = {code: [] for code in (every, floor) if code not in _timed}
    for _ in range(runs):
        for code in times:
            times[code].append(_import_once(code))
    _timed.update({code: min(values) for code, values in times.items()})
    return _timed[every], _timed[floor]


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
        every, floor = setup_imports(path)
        kit, bare = import_seconds(every, floor)
        print(f"{path.relative_to(ROOT)}: {seconds:5.2f} s kernel time; setup imports {kit:4.2f} s, "
              f"floor {bare:4.2f} s (the kit's names: +{kit - bare:4.2f} s)")
    print(f"target: each notebook under {TARGET_S:g} s of kernel time offline -> {'FAIL: ' + ', '.join(slow) if slow else 'PASS'}")
    return 1 if slow and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
