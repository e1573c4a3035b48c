"""What ``make test`` costs, against the part a teaching kit cannot skip: executing every shipped notebook once.

The floor is every lesson, solution and appendix executed once, one after another, each in a fresh
kernel, offline (as ``make lessons`` executes them, without writing them back). Then the whole suite
runs as ``make test`` runs it (in parallel: ``TEST_WORKERS``, default one worker per core). Both in
one run of this script, so the ratio compares like with like on a noisy machine.

    .venv/bin/python bench/bench_suite.py               # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_suite.py --strict      # exit 1 when the target is missed, or a test fails
    .venv/bin/python bench/bench_suite.py --workers 3   # make test TEST_WORKERS=3
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
TARGET_RATIO = 2.0  # make test / every shipped notebook executed once
SUMMARY = re.compile(r"^=+ (?P<counts>.*\d+ (passed|failed).*) in (?P<seconds>[\d.]+)s")


def shipped_notebooks() -> list[Path]:
    notebooks = ROOT / "notebooks"
    return (sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) + sorted(notebooks.glob("appendix_*.ipynb"))
            + sorted((notebooks / "solutions").glob("*.ipynb")))


def jupyter_dirs() -> dict[str, str]:
    """The Makefile's JUPYTER_DIRS: kernel and Jupyter state inside .cache, not $HOME."""
    return {"IPYTHONDIR": str(CACHE / "ipython"), "JUPYTER_CONFIG_DIR": str(CACHE / "jupyter" / "config"),
            "JUPYTER_DATA_DIR": str(CACHE / "jupyter" / "data"),
            "JUPYTER_RUNTIME_DIR": str(CACHE / "jupyter" / "runtime")}


def execute_every_notebook_once() -> tuple[float, int]:
    saved = dict(os.environ)
    os.environ.update(KIT_MODE="offline", ANTHROPIC_API_KEY="", ANTHROPIC_AUTH_TOKEN="", **jupyter_dirs())
    os.environ.pop("ANTHROPIC_BASE_URL", None)
    paths = shipped_notebooks()
    try:
        start = time.perf_counter()
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=120, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
        return time.perf_counter() - start, len(paths)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_the_suite(workers: str, log: Path) -> tuple[float, str, int]:
    """Wall time of ``make test``, pytest's summary line, and make's exit code; the output goes to ``log``."""
    command = ["make", "--no-print-directory", "test"] + ([f"TEST_WORKERS={workers}"] if workers else [])
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        finished = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    summary = "no pytest summary line (see the log)"
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        match = SUMMARY.match(line)
        if match:
            summary = match.group("counts")
            break
    return seconds, summary, finished.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed or a test fails")
    parser.add_argument("--workers", default="", help="TEST_WORKERS for make test (default: the Makefile's)")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    log = CACHE / "bench-suite.log"

    once, count = execute_every_notebook_once()
    print(f"every shipped notebook executed once ({count} notebooks, one after another): {once:6.1f} s")
    suite, summary, code = run_the_suite(args.workers, log)
    print(f"make test{' TEST_WORKERS=' + args.workers if args.workers else ''} ({os.cpu_count()} cores): "
          f"{suite:6.1f} s wall: {summary}; exit {code} (output in {log.relative_to(ROOT)})")
    ratio = suite / once
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio make test / notebooks once: {ratio:.2f}x (target at most {TARGET_RATIO:g}x) -> {verdict}")
    return 1 if args.strict and (verdict == "FAIL" or code != 0) else 0


if __name__ == "__main__":
    sys.exit(main())
