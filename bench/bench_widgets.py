"""Building the history editor for 50, 200 and 1,000 turns, and one usage-log update with a viewer open.

Targets: 200 turns at most 0.3 s, 1,000 turns at most 1.5 s. Times are medians of
several builds in one run (the machine is noisy); the ratio 1,000 / 200 shows how
building grows with the history (the editor shows one page of turns at a time).

    .venv/bin/python bench/bench_widgets.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_widgets.py --strict   # exit 1 when a target is missed
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import DEFAULT_MODEL  # noqa: E402
from helpers.history_editor import HistoryEditor  # noqa: E402
from helpers.usage import Record, UsageLog, _seal  # noqa: E402
from helpers.usage_viewer import UsageViewer  # noqa: E402

TARGETS = {200: 0.3, 1000: 1.5}
SIZES = (50, 200, 1000)


def history(turns: int) -> list[dict]:
    text = "A turn of about twenty words, long enough to look like a real message in a workshop conversation. " * 2
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{i}: {text}"} for i in range(turns)]


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def record(n: int) -> Record:
    return Record(time=datetime.now(timezone.utc), path="/v1/messages", status=200, model=DEFAULT_MODEL,
                  input_tokens=100 + n, output_tokens=50, stop_reason="end_turn", latency_s=0.001, cost_usd=1e-5, offline=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    HistoryEditor(history(10))  # warm up imports and widget classes
    results = {}
    for size in SIZES:
        messages = history(size)
        results[size] = median_seconds(lambda: HistoryEditor(messages).close(), args.repeats)
        print(f"HistoryEditor with {size:>5,} turns: {results[size]:.3f} s")
    print(f"growth: 1,000 turns / 200 turns = {results[1000] / results[200]:.2f}x (5x more turns)")

    log = UsageLog()
    for n in range(2000):
        log._add(_seal(record(n)))  # as the kit's transport seals what it records: the log takes nothing else
    viewer = UsageViewer(log)
    latest = _seal(record(0))
    update = median_seconds(lambda: log._add(latest), args.repeats * 5)
    viewer.close()
    print(f"one usage-log update with a UsageViewer open (2,000 calls logged): {update * 1000:.2f} ms")

    missed = [size for size, limit in TARGETS.items() if results[size] > limit]
    for size, limit in TARGETS.items():
        print(f"target: {size:,} turns at most {limit} s -> {'FAIL' if size in missed else 'PASS'} ({results[size]:.3f} s)")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
