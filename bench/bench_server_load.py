"""The loopback server under load: mixed requests from 10, 50 and 100 concurrent clients.

The server runs as its own process (``python -m helpers.offline``), as ``make serve`` runs
it, so its memory can be read apart from the clients'. The clients are one asyncio loop
with an ``httpx2.AsyncClient`` (lighter than the SDK, so the server gets most of the two
cores). Requests cycle through a fixed mix: ``messages.create``, a streamed create,
``count_tokens``, and invalid requests (a missing field, a NaN, bytes that are not JSON,
a Basic ``Authorization``). Each answer is checked: the status, the body's type, a
stream that ends with ``message_stop``.

Printed for each level: requests answered correctly, throughput, p50/p99 latency; then the
server's resident memory before and after a longer run (5,000 requests by default), after a
warm-up. Nothing is asserted on time; ``--strict`` exits 1 if any answer was wrong or the
memory grew by more than ``--max-growth-mb``.

    .venv/bin/python bench/bench_server_load.py
    .venv/bin/python bench/bench_server_load.py --requests 600 --soak 2000   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2  # noqa: E402

from helpers import DEFAULT_MODEL  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"authorization": "Bearer bench-key", "anthropic-version": "2026-10-21", "content-type": "application/json"}
HELLO = [{"role": "user", "content": "Hello! Please introduce yourself."}]
CREATE = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 200, "messages": HELLO})
STREAM = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 200, "messages": HELLO, "stream": True})
COUNT = json.dumps({"model": DEFAULT_MODEL, "messages": HELLO})
MISSING_FIELD = json.dumps({"model": DEFAULT_MODEL, "messages": HELLO})  # no max_tokens
NAN = CREATE.replace('"max_tokens": 200', '"max_tokens": 200, "metadata": {"user_id": NaN}')


Check = Callable[[httpx2.AsyncClient], Awaitable[bool]]


async def _create(client: httpx2.AsyncClient) -> bool:
    response = await client.post("/v1/messages", content=CREATE, headers=HEADERS)
    return response.status_code == 200 and response.json()["type"] == "message"


async def _stream(client: httpx2.AsyncClient) -> bool:
    async with client.stream("POST", "/v1/messages", content=STREAM, headers=HEADERS) as response:
        text = (await response.aread()).decode()
    return response.status_code == 200 and text.startswith("event: message_start") and "event: message_stop" in text


async def _count(client: httpx2.AsyncClient) -> bool:
    response = await client.post("/v1/messages/count_tokens", content=COUNT, headers=HEADERS)
    return response.status_code == 200 and response.json()["input_tokens"] > 0


def _error(status: int, error_type: str, body: str, headers: dict[str, str] = HEADERS) -> Check:
    async def check(client: httpx2.AsyncClient) -> bool:
        response = await client.post("/v1/messages", content=body, headers=headers)
        return response.status_code == status and response.json()["error"]["type"] == error_type
    return check


MIX: list[tuple[str, Check]] = [
    ("create", _create), ("stream", _stream), ("count_tokens", _count), ("create", _create),
    ("missing field", _error(400, "invalid_request_error", MISSING_FIELD)),
    ("stream", _stream), ("NaN", _error(400, "invalid_request_error", NAN)),
    ("not JSON", _error(400, "invalid_request_error", "{not json")),
    ("Basic auth", _error(401, "authentication_error", CREATE, {**HEADERS, "authorization": "Basic YTpi"})),
    ("count_tokens", _count),
]


async def _run(url: str, clients: int, requests: int) -> tuple[int, int, list[float], float]:
    """(correct, wrong or failed, latencies in ms, seconds)"""
    kinds = itertools.cycle(MIX)
    latencies: list[float] = []
    results = {"correct": 0, "wrong": 0}
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def worker(share: int) -> None:
            for _ in range(share):
                _, check = next(kinds)
                started = time.perf_counter()
                try:
                    ok = await check(client)
                except (httpx2.HTTPError, ValueError, KeyError):
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                results["correct" if ok else "wrong"] += 1

        shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
        started = time.perf_counter()
        await asyncio.gather(*(worker(share) for share in shares))
        elapsed = time.perf_counter() - started
    return results["correct"], results["wrong"], latencies, elapsed


def _rss_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit("the server did not start: " + (process.stderr.read() or b"").decode())
            time.sleep(0.1)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10,50,100", help="concurrent clients per level (default 10,50,100)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per level (default 1000)")
    parser.add_argument("--soak", type=int, default=5000, help="requests of the memory run (default 5000)")
    parser.add_argument("--max-growth-mb", type=float, default=30.0, help="memory growth allowed with --strict")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a wrong answer or too much memory growth")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]

    process, url = _start_server()
    wrong_total = 0
    try:
        asyncio.run(_run(url, 10, 200))  # warm-up: imports, caches, the first connections
        print(f"Loopback server {url}; mix of {len(MIX)} request kinds: {', '.join(sorted({k for k, _ in MIX}))}")
        print(f"{'clients':>8} {'correct':>13} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for clients in levels:
            correct, wrong, latencies, elapsed = asyncio.run(_run(url, clients, args.requests))
            wrong_total += wrong
            print(f"{clients:>8} {correct:>6}/{correct + wrong:<6} {(correct + wrong) / elapsed:>8.0f} "
                  f"{statistics.median(latencies):>8.1f} {_percentile(latencies, 0.99):>8.1f} {max(latencies):>8.1f}")

        before = _rss_mb(process.pid)
        correct, wrong, latencies, elapsed = asyncio.run(_run(url, 50, args.soak))
        wrong_total += wrong
        after = _rss_mb(process.pid)
        print(f"memory run: {args.soak} requests from 50 clients, {correct} correct, {args.soak / elapsed:.0f} req/s")
        if before is None or after is None:
            print("server memory: not measurable here (no /proc)")
            growth = 0.0
        else:
            growth = after - before
            print(f"server memory (RSS): {before:.1f} MB before, {after:.1f} MB after: {growth:+.1f} MB")
    finally:
        process.terminate()
        _, log = process.communicate(timeout=20)
    log_lines = [line for line in log.decode(errors="replace").splitlines() if line.strip()]
    print(f"server log: {len(log_lines)} lines for {len(levels) * args.requests + args.soak + 200} requests")
    for line in log_lines[:5]:
        print("   ", line)

    ok = wrong_total == 0 and growth <= args.max_growth_mb
    print(f"{'PASS' if ok else 'FAIL'}: {wrong_total} wrong answers; memory growth {growth:+.1f} MB "
          f"(limit {args.max_growth_mb:g} MB)")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
