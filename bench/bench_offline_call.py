"""What one offline ``client.messages.create`` call costs, against the floor of the SDK itself.

The floor is the same SDK call through ``httpx2.MockTransport`` whose handler returns a
fixed, precomputed Message: everything the SDK does (building the request, encoding the
JSON body, parsing the reply into a ``Message``) and nothing else. The offline call
(client from ``helpers.connect("offline")``) adds the kit's layers: the usage log's
recording transport with the budget guard in it (no limit set: the check finds none) and
the offline backend itself (parsing and validating the request, counting tokens, drafting
the reply).

Measured for a 1-turn and a 20-turn conversation in interleaved rounds (the machine is
noisy), reporting medians. The usage log is cleared before each round, so it holds at
most one round of calls, as in a short notebook session; a last line shows what a long
session's log costs.

    .venv/bin/python bench/bench_offline_call.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_offline_call.py --strict   # exit 1 when a target is missed
    .venv/bin/python bench/bench_offline_call.py --profile  # also profile the offline call
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anthropic  # noqa: E402
import httpx2  # noqa: E402

import helpers  # noqa: E402
from helpers.offline import app, tokens, validate  # noqa: E402

TARGETS = {1: 1.3, 20: 1.5}  # offline / floor, at most, by conversation length in turns
LONG_SESSION = 2000  # calls already in the usage log, for the last line
VOCABULARY = (
    "the a of to and in that is for it as with was on be by this are or from at an but not have which can "
    "model prompt token reply lesson notebook question answer example system message context window tool "
    "result stream event cache budget limit error retry request response learner python function value "
    "explain describe compare summarise translate list why how when where what which because although"
).split()
OFFLINE_HEADERS = {"authorization": "Bearer bench", "anthropic-version": validate.API_VERSIONS[0]}


def conversation(turns: int, seed: int = 7) -> list[dict]:
    """``turns`` user messages with an assistant reply between each, 40-80 words apiece."""
    rng = random.Random(seed)

    def text() -> str:
        return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(40, 80))).capitalize() + "?"

    messages: list[dict] = []
    for turn in range(turns):
        if turn:
            messages.append({"role": "assistant", "content": text()})
        messages.append({"role": "user", "content": text()})
    return messages


def floor_client(reply: bytes) -> anthropic.Anthropic:
    headers = {"content-type": "application/json", "request-id": "req_011CbenchFloor00000000000"}

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers=headers, content=reply)

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return anthropic.Anthropic(api_key="bench-floor", base_url="http://floor.localhost", http_client=http_client)


def per_call(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, float]:
    """Median seconds per call of each contender, over ``rounds`` rounds in rotating order."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(rounds):
        helpers.usage_log.clear()
        gc.collect()
        shift = round_ % len(names)  # rotate who goes first, so drift hits all alike
        for name in names[shift:] + names[:shift]:
            times[name].append(per_call(contenders[name], calls))
    helpers.usage_log.clear()
    return {name: statistics.median(values) for name, values in times.items()}


def profile(call: Callable[[], object], calls: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    helpers.usage_log.clear()
    kit, whole = io.StringIO(), io.StringIO()
    pstats.Stats(profiler, stream=kit).sort_stats("cumulative").print_stats(r"helpers[/\\]", top)
    pstats.Stats(profiler, stream=whole).sort_stats("tottime").print_stats(top)
    return (f"cProfile of {calls} offline 20-turn calls (times include profiler overhead), kit code only, "
            f"cumulative:\n{kit.getvalue()}\nthe whole call (SDK, httpx2 and kit), by own time:\n{whole.getvalue()}")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:7.1f} us"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="interleaved rounds per conversation (default 41)")
    parser.add_argument("--calls", type=int, default=25, help="calls per round and contender (default 25)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls per contender first (default 100)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses its target")
    parser.add_argument("--profile", action="store_true", help="profile the offline 20-turn call even when it passes")
    args = parser.parse_args()

    offline_client = helpers.connect("offline", quiet=True)
    results = {}
    for turns in (1, 20):
        messages = conversation(turns)
        kwargs = {"model": helpers.DEFAULT_MODEL, "max_tokens": 1024, "messages": messages}
        raw = offline_client.messages.with_raw_response.create(**kwargs)
        reply, sent = raw.http_response.content, raw.http_response.request.content
        anthropic.types.Message.model_validate_json(reply)  # the floor answers a real, valid Message
        floor = floor_client(reply)
        body = json.loads(sent)
        contenders = {
            "floor": lambda: floor.messages.create(**kwargs),
            "offline": lambda: offline_client.messages.create(**kwargs),
            "backend": lambda: app.handle("POST", "/v1/messages", OFFLINE_HEADERS, sent),
            "tokens": lambda: tokens.count_input(body),
        }
        for call in contenders.values():
            for _ in range(args.warmup):
                call()
        helpers.usage_log.clear()
        medians = interleaved(contenders, args.rounds, args.calls)
        results[turns] = medians
        floor_s, offline_s, backend_s, tokens_s = (medians[k] for k in ("floor", "offline", "backend", "tokens"))
        words = sum(len(m["content"].split()) for m in messages)
        print(
            f"{turns:>2}-turn ({len(messages)} messages, {words} words): floor {us(floor_s)}/call   "
            f"offline {us(offline_s)}/call   ratio {offline_s / floor_s:.2f}x"
        )
        print(
            f"         offline adds {us(offline_s - floor_s)}: backend app.handle {us(backend_s)} "
            f"(of which tokens.count_input {us(tokens_s)}), budget guard + usage log + transport {us(offline_s - floor_s - backend_s)}"
        )

    passed = True
    for turns, target in TARGETS.items():
        ratio = results[turns]["offline"] / results[turns]["floor"]
        passed = passed and ratio <= target
        print(f"target: {turns}-turn offline call at most {target}x the floor -> "
              f"{'PASS' if ratio <= target else 'FAIL'} ({ratio:.2f}x)")
    print(f"(medians of {args.rounds} interleaved rounds of {args.calls} calls each, after {args.warmup} warm-up calls)")

    # A long session: the usage log keeps every call, and each new call reads all of it.
    kwargs = {"model": helpers.DEFAULT_MODEL, "max_tokens": 1024, "messages": conversation(20)}
    offline_client.messages.create(**kwargs)
    record = helpers.usage_log.records[-1]

    # The log's own list, which only the kit writes: a benchmark of the kit may set it up directly.
    def long_session_call() -> object:
        del helpers.usage_log._records[LONG_SESSION:]
        return offline_client.messages.create(**kwargs)

    def short_session_call() -> object:
        del helpers.usage_log._records[1:]
        return offline_client.messages.create(**kwargs)

    helpers.usage_log._records[:] = [record] * LONG_SESSION
    long_s = statistics.median(per_call(long_session_call, args.calls) for _ in range(max(5, args.rounds // 4)))
    short_s = statistics.median(per_call(short_session_call, args.calls) for _ in range(max(5, args.rounds // 4)))
    helpers.usage_log.clear()
    print(
        f"long session: with {LONG_SESSION:,} calls already in helpers.usage_log, a 20-turn offline call takes "
        f"{us(long_s)} ({us(long_s - short_s)} more than with an empty log)"
    )

    if args.profile or not passed:
        offline_call = lambda: offline_client.messages.create(**kwargs)  # noqa: E731
        print()
        print(profile(offline_call, 300, 30))
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
