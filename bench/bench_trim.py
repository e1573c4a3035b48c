"""Trimming a long history to a token budget: cold, and warm after one appended turn.

Target: trimming 10,000 messages again after one more turn (warm: earlier counts are
cached) takes at most 50 ms, and time grows linearly with the history: the ratio of
10,000 to 1,000 messages should be near 10. Medians of several runs in one process.

    .venv/bin/python bench/bench_trim.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_trim.py --strict   # exit 1 when the target is missed
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import trim_to_budget  # noqa: E402
from helpers.trim import _caches, estimate  # noqa: E402

TARGET_WARM_S = 0.050


def history(size: int, tag: str) -> list[dict]:
    """Alternating turns, a tool round trip every tenth exchange; ``tag`` makes texts unique to this history."""
    messages: list[dict] = []
    i = 0
    while len(messages) < size:
        messages.append({"role": "user", "content": f"{tag} question {i}: how does the context window fill up as turns are added?"})
        if i % 10 == 0:
            tool_id = f"toolu_{tag}{i:06d}"
            messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "lookup", "input": {"q": str(i)}}]})
            messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": f"result {i}"}]})
        messages.append({"role": "assistant", "content": f"{tag} answer {i}: every request carries the whole history, so input grows."})
        i += 1
    return messages[:size - 1] + [{"role": "user", "content": f"{tag} newest question"}]


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(size: int, runs: int) -> tuple[float, float]:
    """(cold, warm) medians: cold with an empty count cache, warm after appending one turn."""
    colds, warms = [], []
    for run in range(runs):
        messages = history(size, f"s{size}r{run}")
        budget = sum(estimate(m) for m in messages) // 2
        _caches.clear()
        colds.append(timed(lambda: trim_to_budget(messages, budget)))
        messages += [{"role": "assistant", "content": "one more answer"}, {"role": "user", "content": f"one more question {run}"}]
        warms.append(timed(lambda: trim_to_budget(messages, budget)))
    return statistics.median(colds), statistics.median(warms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    measure(1000, 2)  # warm up
    small = measure(1_000, args.runs)
    large = measure(10_000, args.runs)
    for size, (cold, warm) in ((1_000, small), (10_000, large)):
        print(f"{size:>6,} messages: cold {cold * 1000:7.2f} ms   warm (after one more turn) {warm * 1000:7.2f} ms")
    print(f"growth 10,000 / 1,000 messages: cold {large[0] / small[0]:.1f}x, warm {large[1] / small[1]:.1f}x (linear is 10x)")
    passed = large[1] <= TARGET_WARM_S
    print(f"target: warm trim of 10,000 messages at most {TARGET_WARM_S * 1000:.0f} ms -> {'PASS' if passed else 'FAIL'} ({large[1] * 1000:.2f} ms)")
    return 0 if passed or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
