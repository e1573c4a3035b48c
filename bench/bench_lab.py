"""How long ``make lab`` keeps a learner waiting before JupyterLab starts, against JupyterLab's own start-up.

The kit's steps are everything ``make lab`` runs before ``jupyter lab`` (uv sync from the lock, the
kit's JupyterLab settings, the learner's workspace brought up to date), timed by running ``make lab``
itself with ``JUPYTER`` pointed at ``true``, on a workspace already made (as after the first run).
JupyterLab's start-up is ``jupyter lab`` (with the Makefile's Jupyter directories, a token and a free
port) from the command until its first page, ``/lab?token=...``, answers HTTP 200. Rounds alternate
the two and report medians (the machine is noisy). Target: the kit's steps at most 10% of JupyterLab's.

    .venv/bin/python bench/bench_lab.py            # PASS/FAIL printed, exit 0
    .venv/bin/python bench/bench_lab.py --strict   # exit 1 when the target is missed
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
TARGET_RATIO = 0.10  # kit's steps / JupyterLab's start-up
TOKEN = "kit-bench-lab"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kit_steps(workspace: Path) -> float:
    """Wall time of ``make lab`` up to the point where it would start JupyterLab."""
    start = time.perf_counter()
    subprocess.run(["make", "--no-print-directory", "lab", "JUPYTER=true", f"WORKSPACE={workspace}"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def jupyterlab_start(workspace: Path, home: Path) -> float:
    """Wall time from ``jupyter lab`` to its first page answering over HTTP."""
    env = {**os.environ, "IPYTHONDIR": str(CACHE / "ipython"), "JUPYTER_CONFIG_DIR": str(CACHE / "jupyter" / "config"),
           "JUPYTER_DATA_DIR": str(CACHE / "jupyter" / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    port = free_port()
    command = [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", str(workspace), "--no-browser", "--ip", "127.0.0.1",
               "--port", str(port), f"--IdentityProvider.token={TOKEN}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}/lab?token={TOKEN}"
    start = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL)
    try:
        deadline = start + 120
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if server.poll() is not None:
                raise SystemExit(f"jupyter lab exited with {server.returncode} before answering")
            time.sleep(0.02)
        raise SystemExit("jupyter lab did not answer within 120 s")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    try:
        workspace = home / "workspace"
        first = kit_steps(workspace)  # copies the lessons, as a learner's first make lab does
        kit, lab = [], []
        for _ in range(args.rounds):
            kit.append(kit_steps(workspace))
            lab.append(jupyterlab_start(workspace, home))
        kit_s, lab_s = statistics.median(kit), statistics.median(lab)
        print(f"make lab before JupyterLab (uv sync, settings, workspace): {kit_s:6.3f} s median of {args.rounds} "
              f"(first run, copying the lessons: {first:.3f} s)")
        print(f"JupyterLab start-up until /lab answers HTTP 200:             {lab_s:6.3f} s median of {args.rounds}")
        ratio = kit_s / lab_s
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(f"ratio kit / JupyterLab: {ratio:.1%} (target at most {TARGET_RATIO:.0%}) -> {verdict}; "
              f"make lab waits {kit_s + lab_s:.1f} s in all")
        return 1 if args.strict and verdict == "FAIL" else 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
