"""The classroom server under a room's load: 100 simulated learners against the server, in front of the
offline backend's loopback server.

Two processes: the offline backend's own loopback server (``python -m helpers.offline``), and the
classroom server (``python -m helpers.classroom serve --upstream <that server's URL>``, with a
stand-in key the loopback server accepts: it checks no real key). The classroom forwards every call
to that same server over HTTP, as it forwards them to the API in a room. So "direct" (learners call
the loopback server) and "classroom" (learners call the classroom, which calls the loopback server)
end at the same server, with the same answers and the same pacing of stream events, and their ratio
is what the classroom itself adds: a second HTTP hop, tokens, rate limits, reservations and
settlement in its database, and the key's redaction on every byte it sends. Learners are asyncio
tasks sharing one ``httpx2.AsyncClient`` (lighter than the SDK, so the servers get most of the two
cores), each with its own token.

1. Latency: the same sequence of valid calls (create, streamed create, count_tokens) from 20
   learners, against the direct server, the classroom, and a third server in rotating rounds; p50/p99
   of each, the ratio classroom/direct (target: at most 1.2x) and the milliseconds it adds, and the CPU
   time per call of each server process, which says where the time goes whatever the machine's load.
   The third is the same classroom in rehearsal (``serve --rehearsal``: the offline backend in its own
   process): one HTTP hop, as direct, so its ratio is the classroom's own work (tokens, limits, its
   database, redaction) without the second hop's HTTP server and client. It has no target: a rehearsal
   answers its streams without the pause per event the loopback server makes, so it is not paced alike.
2. The room: 100 learners, a mix per learner of create (50%), stream (25%), count_tokens (15%)
   and bursts (10%: 12 creates at once, over the per-learner limit of 8 running calls, so some
   get 429 with retry-after); 10 learners have a budget of $0.0005 and run out (402). Every
   answer is checked (200 with a message / a stream ending in message_stop / input_tokens; 402
   billing_error; 429 rate_limit_error with retry-after), every request must get one, and
   afterwards: no learner above their budget (documented bound: 0), no reservation left, and
   the server's total spend equal to the sum of the usage the learners received, priced.
3. Memory: the classroom server's resident memory before and after that run (10,000 requests by default).

Nothing is asserted on time. ``--strict`` exits 1 on a wrong or missing answer, overspending,
a spend mismatch, memory growth over ``--max-growth-mb``, or a latency ratio over 1.2.

    .venv/bin/python bench/bench_classroom.py
    .venv/bin/python bench/bench_classroom.py --requests 3000 --rounds 2   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2  # noqa: E402

from helpers import DEFAULT_MODEL  # noqa: E402
from helpers.classroom import pricing, roster  # noqa: E402
from helpers.classroom.store import SqliteStore  # noqa: E402
from helpers.usage import _StreamedMessage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VERSION = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
HELLO = [{"role": "user", "content": "Hello! Please introduce yourself."}]
CREATE = {"model": DEFAULT_MODEL, "max_tokens": 200, "messages": HELLO}
STREAM = {**CREATE, "stream": True}
COUNT = {"model": DEFAULT_MODEL, "messages": HELLO}
LEARNERS, POOR, BURST = 100, 10, 12
STAND_IN_KEY = "bench-loopback-key-" + "x" * 81
"""The classroom's "instructor key" here: the loopback server takes any key, and this one is worth nothing. It
is 100 characters long, so the redaction has a long key to look for, as it would have in a room."""
# Idle connections are dropped by the client before the server's 5 s idle timeout closes them: reusing one at
# the moment the server closes it fails the request with no answer (the SDK would retry it; this bench does not).
LIMITS = httpx2.Limits(max_connections=400, max_keepalive_connections=200, keepalive_expiry=2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_s(pid: int) -> float:
    """The CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _wait_up(url: str, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    async with httpx2.AsyncClient() as client:
        while True:
            try:
                await client.get(url + "/v1/models", headers=VERSION)
                return
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not start")
                await asyncio.sleep(0.2)


class Tally:
    def __init__(self) -> None:
        self.outcomes: Counter = Counter()
        self.wrong: list[str] = []
        self.cost_nano = 0
        self.sent = self.answered = self.retried = 0

    def bad(self, what: str) -> None:
        self.outcomes["wrong"] += 1
        if len(self.wrong) < 5:
            self.wrong.append(what)


async def call(client: httpx2.AsyncClient, kind: str, token: str, tally: Tally) -> float:
    """One request, checked; returns its latency in seconds."""
    headers = {**VERSION, "x-api-key": token}
    body = {"create": CREATE, "stream": STREAM, "count": COUNT}[kind]
    path = "/v1/messages/count_tokens" if kind == "count" else "/v1/messages"
    tally.sent += 1
    started = time.perf_counter()
    for attempt in (1, 2):
        try:
            async with client.stream("POST", path, content=json.dumps(body), headers=headers) as response:
                data = await response.aread()
            break
        except (httpx2.ReadError, httpx2.RemoteProtocolError) as error:
            # A kept-alive connection the server closed as idle just as it was reused (the client's loop, busy
            # with 100 learners, released it late): nothing reached the server. The SDK retries these; so does
            # this bench, once, and counts them.
            if attempt == 2:
                tally.bad(f"{kind}: no answer twice ({type(error).__name__})")
                return time.perf_counter() - started
            tally.retried += 1
        except httpx2.HTTPError as error:
            tally.bad(f"{kind}: no answer ({type(error).__name__})")
            return time.perf_counter() - started
    elapsed = time.perf_counter() - started
    tally.answered += 1
    status = response.status_code
    if status == 200 and kind == "stream":
        parsed = _StreamedMessage()
        parsed.feed(data)
        if not parsed.ended:
            return tally.bad("stream without message_stop") or elapsed
        tally.cost_nano += pricing.cost_of(parsed.message.get("model"), parsed.message.get("usage") or {})[1]
    elif status == 200 and kind == "create":
        message = json.loads(data)
        if message.get("type") != "message":
            return tally.bad("create without a message") or elapsed
        tally.cost_nano += pricing.cost_of(message.get("model"), message.get("usage") or {})[1]
    elif status == 200:
        if not isinstance(json.loads(data).get("input_tokens"), int):
            return tally.bad("count_tokens without input_tokens") or elapsed
    elif status == 402:
        if json.loads(data)["error"]["type"] != "billing_error" or response.headers.get("x-should-retry") != "false":
            return tally.bad("402 that is not a billing_error with x-should-retry: false") or elapsed
    elif status == 429:
        if json.loads(data)["error"]["type"] != "rate_limit_error" or not response.headers.get("retry-after"):
            return tally.bad("429 without retry-after") or elapsed
    else:
        return tally.bad(f"{kind}: HTTP {status} {data[:200]!r}") or elapsed
    tally.outcomes[f"{kind} {status}"] += 1
    return elapsed


async def latency_round(url: str, tokens: list[str], calls_each: int) -> list[tuple[str, float]]:
    """20 learners, each making ``calls_each`` valid calls one after another."""
    tally, times = Tally(), []
    kinds = ["create", "create", "stream", "count"]
    async with httpx2.AsyncClient(base_url=url, timeout=60, limits=LIMITS) as client:
        async def learner(token: str, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(calls_each):
                kind = rng.choice(kinds)
                times.append((kind, await call(client, kind, token, tally)))
        await asyncio.gather(*(learner(t, n) for n, t in enumerate(tokens)))
    if tally.wrong:
        raise SystemExit(f"latency round at {url}: wrong answers: {tally.wrong}")
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def room(url: str, tokens: list[str], requests: int, seed: int = 7) -> Tally:
    """100 learners sharing ``requests`` requests in the mix."""
    tally = Tally()
    per_learner = max(1, requests // len(tokens))
    async with httpx2.AsyncClient(base_url=url, timeout=120, limits=LIMITS) as client:
        async def learner(token: str, rng: random.Random) -> None:
            done = 0
            while done < per_learner:
                roll = rng.random()
                if roll < 0.10:
                    n = min(BURST, per_learner - done)
                    await asyncio.gather(*(call(client, "create", token, tally) for _ in range(n)))
                    done += n
                    continue
                await call(client, "create" if roll < 0.60 else "stream" if roll < 0.85 else "count", token, tally)
                done += 1
        await asyncio.gather(*(learner(t, random.Random(seed + n)) for n, t in enumerate(tokens)))
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests in the room run (default 10,000)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating latency rounds (default 10: the machine's load moves)")
    parser.add_argument("--calls", type=int, default=8, help="calls per learner per latency round (default 8)")
    parser.add_argument("--max-growth-mb", type=float, default=40.0)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    db, rehearsal_db = workdir / "room.db", workdir / "rehearsal.db"
    store = SqliteStore(db)
    rich = roster.add(store, [f"rich-{n:03d}" for n in range(LEARNERS - POOR)], budget_nano=pricing.to_nano(100.0),
                      budget_tokens=None)
    poor = roster.add(store, [f"poor-{n:03d}" for n in range(POOR)], budget_nano=pricing.to_nano(0.0005),
                      budget_tokens=None)
    timing = roster.add(store, [f"timing-{n:02d}" for n in range(20)], budget_nano=pricing.to_nano(100.0),
                        budget_tokens=None)
    store.close()
    shutil.copyfile(db, rehearsal_db)  # the same learners and tokens, in a database of its own
    classroom_port, direct_port, rehearsal_port = _free_port(), _free_port(), _free_port()
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": ""}
    classroom_url, direct_url = f"http://127.0.0.1:{classroom_port}", f"http://127.0.0.1:{direct_port}"
    rehearsal_url = f"http://127.0.0.1:{rehearsal_port}"
    serve_options = ["--per-minute", "1000000", "--burst", "100000", "--concurrent", "8"]
    direct = subprocess.Popen([sys.executable, "-m", "helpers.offline", "--port", str(direct_port)], cwd=workdir,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Not --rehearsal: the classroom forwards to the direct server over HTTP, with the stand-in key.
    classroom = subprocess.Popen(
        [sys.executable, "-m", "helpers.classroom", "--db", str(db), "serve", "--upstream", direct_url, "--port",
         str(classroom_port), *serve_options],
        cwd=workdir, env={**env, "ANTHROPIC_API_KEY": STAND_IN_KEY}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    # A rehearsal: the same classroom with the offline backend in its own process, as the direct server has it.
    rehearsal = subprocess.Popen(
        [sys.executable, "-m", "helpers.classroom", "--db", str(rehearsal_db), "serve", "--rehearsal", "--port",
         str(rehearsal_port), *serve_options],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    try:
        for url in (direct_url, classroom_url, rehearsal_url):
            asyncio.run(_wait_up(url))
        timing_tokens = [item.token for item in timing]
        for url in (direct_url, classroom_url, rehearsal_url):
            asyncio.run(latency_round(url, timing_tokens, 5))  # warm-up
        times: dict[str, list[tuple[str, float]]] = {"direct": [], "rehearsal": [], "classroom": []}
        urls = {"direct": direct_url, "rehearsal": rehearsal_url, "classroom": classroom_url}
        # CPU time per call of each server process: where the time goes, whatever the machine's load.
        cpu = {"direct": 0.0, "rehearsal": 0.0, "classroom": 0.0, "behind": 0.0}
        pids = {"direct": direct.pid, "rehearsal": rehearsal.pid, "classroom": classroom.pid}
        for round_ in range(args.rounds):
            names = list(times)
            for name in names[round_ % 3:] + names[:round_ % 3]:  # rotate who goes first: drift hits all alike
                used, behind = _cpu_s(pids[name]), _cpu_s(direct.pid)
                times[name] += asyncio.run(latency_round(urls[name], timing_tokens, args.calls))
                cpu[name] += _cpu_s(pids[name]) - used
                if name == "classroom":
                    cpu["behind"] += _cpu_s(direct.pid) - behind
        calls = len(times["direct"])
        print(f"Latency, 20 learners, {calls} calls each (create/stream/count_tokens), {args.rounds} rotating "
              "rounds. direct: the offline backend's loopback server; rehearsal: the classroom answering from the "
              "offline backend in its own process (one hop, as direct); forwarding: the classroom in front of "
              "that loopback server (two hops, as in a room):")
        for kind in ("create", "stream", "count"):
            d, r, c = ([t for k, t in times[n] if k == kind] for n in ("direct", "rehearsal", "classroom"))
            print(f"  {kind:>6}: p50 {pct(d, .5) * 1000:6.2f} / {pct(r, .5) * 1000:6.2f} / {pct(c, .5) * 1000:6.2f} ms,"
                  f" p99 {pct(d, .99) * 1000:6.2f} / {pct(r, .99) * 1000:6.2f} / {pct(c, .99) * 1000:6.2f} ms "
                  "(direct / rehearsal / forwarding)")
        per_call = {k: 1000 * v / calls for k, v in cpu.items()}
        print(f"  server CPU per call: direct {per_call['direct']:.2f} ms; rehearsal {per_call['rehearsal']:.2f} ms; "
              f"forwarding {per_call['classroom']:.2f} ms in the classroom + {per_call['behind']:.2f} ms in the "
              "loopback server behind it")
        flat = {name: [t for _, t in values] for name, values in times.items()}
        print("  Forwarding, the classroom's cost in a room (the classroom in front of the same server direct calls):")
        for name, q in (("p50", 0.50), ("p99", 0.99)):
            d, c = pct(flat["direct"], q), pct(flat["classroom"], q)
            verdict = "PASS" if c <= 1.2 * d else "FAIL"
            print(f"    {name}: direct {d * 1000:7.2f} ms   classroom {c * 1000:7.2f} ms   ratio {c / d:4.2f}x  "
                  f"(added {1000 * (c - d):+.2f} ms; target <= 1.2x: {verdict})")
            if verdict == "FAIL":
                failures.append(f"{name} latency ratio {c / d:.2f}x")
        print("  Rehearsal, the classroom's own work without the second hop (one HTTP hop, as direct; no target):")
        for name, q in (("p50", 0.50), ("p99", 0.99)):
            d, c = pct(flat["direct"], q), pct(flat["rehearsal"], q)
            print(f"    {name}: direct {d * 1000:7.2f} ms   rehearsal {c * 1000:7.2f} ms   ratio {c / d:4.2f}x  "
                  f"(added {1000 * (c - d):+.2f} ms)")

        before = _rss_mb(classroom.pid)
        started = time.perf_counter()
        tally = asyncio.run(room(classroom_url, [i.token for i in rich + poor], args.requests))
        seconds = time.perf_counter() - started
        after = _rss_mb(classroom.pid)
        print(f"\nThe room: {LEARNERS} learners ({POOR} with $0.0005), {tally.sent:,} requests in {seconds:.1f} s "
              f"({tally.sent / seconds:,.0f}/s)")
        print("  answers: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.outcomes.items())))
        print(f"  sent {tally.sent:,}, answered {tally.answered:,}, wrong {tally.outcomes['wrong']}; "
              f"{tally.retried} sent again after a kept-alive connection closed as it was reused")
        if tally.wrong or tally.answered != tally.sent:
            failures.append(f"wrong or missing answers: {tally.wrong}")

        store = SqliteStore(db)
        learners = {x.name: x for x in store.learners()}
        over = [n for n, x in learners.items() if x.budget_nano is not None and x.spent_nano > x.budget_nano]
        room_spent = sum(x.spent_nano for n, x in learners.items() if not n.startswith("timing-"))
        room_calls = sum(x.calls for n, x in learners.items() if not n.startswith("timing-"))
        poor_max = max(learners[i.name].spent_nano for i in poor)
        left = store.reservations()
        store.close()
        print(f"  learners above their budget: {len(over)} (documented bound: 0); most spent by a $0.0005 learner: "
              f"${pricing.to_usd(poor_max):.6f}; reservations left: {left}")
        print(f"  calls the server recorded: {room_calls:,} (" + ("one per answer" if room_calls == tally.answered
                                                                    else f"answers: {tally.answered:,}") + ")")
        print(f"  server's spend ${pricing.to_usd(room_spent):.6f} vs the usage learners received, priced "
              f"${pricing.to_usd(tally.cost_nano):.6f}: " + ("equal" if room_spent == tally.cost_nano else "DIFFERENT"))
        if over or left or room_spent != tally.cost_nano or room_calls != tally.answered:
            failures.append("spending")
        growth = after - before
        print(f"\nServer memory: {before:.1f} MB before, {after:.1f} MB after {tally.sent:,} requests "
              f"({growth:+.1f} MB; target at most +{args.max_growth_mb:g} MB: "
              f"{'PASS' if growth <= args.max_growth_mb else 'FAIL'})")
        if growth > args.max_growth_mb:
            failures.append("memory")
    finally:
        for process in (classroom, rehearsal, direct):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        logged = (classroom.stderr.read() if classroom.stderr else "").strip().splitlines()
        print(f"Server log lines: {len(logged)}" + (f" (first: {logged[0]})" if logged else ""))
    print("\n" + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
