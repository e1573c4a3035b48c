"""The suite's python3 kernels (forked by tests/kernel_forks.py on Linux) behave as kernels Jupyter starts itself:
the environment and directory they were started with, interrupts, and no kernel left behind by a killed launcher."""

from __future__ import annotations

import os
import time

import pytest
from jupyter_client.manager import KernelManager


@pytest.fixture
def kernel(tmp_path):
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env={**os.environ, "KIT_FORK_PROBE": "from the launcher"})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield manager, client
    client.stop_channels()
    if manager.is_alive():
        manager.shutdown_kernel(now=True)


def _run(client, code: str, timeout: float = 60) -> tuple[str, dict]:
    """The code's printed output and its reply's content."""
    printed = []
    reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda message: printed.append(
        message["content"].get("text", "")) if message["msg_type"] == "stream" else None)
    return "".join(printed), reply["content"]


def _gone(pid: int, within_s: float = 30) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_kernel_has_the_environment_and_directory_it_was_started_with(kernel, tmp_path):
    _, client = kernel
    printed, reply = _run(client, "import os, sys\nprint(os.environ['KIT_FORK_PROBE'], os.getcwd(), sep='|')\n"
                                  "print('' in sys.path)")
    assert reply["status"] == "ok"
    lines = printed.splitlines()
    assert lines[0] == f"from the launcher|{tmp_path}"
    assert lines[1] == "True"  # the notebook's directory is importable, as in any kernel


def test_an_interrupt_reaches_the_kernel(kernel):
    manager, client = kernel
    sent = client.execute("print('sleeping', flush=True)\nimport time\ntime.sleep(120)")
    # Interrupt once the cell has started (its first line printed), however slow the machine is.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") == sent and message["msg_type"] == "stream":
            break
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != sent:
        reply = client.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    printed, after = _run(client, "print('still here')")
    assert after["status"] == "ok" and printed == "still here\n"


def test_a_killed_launcher_takes_its_kernel_with_it(kernel):
    manager, client = kernel
    printed, _ = _run(client, "import os\nprint(os.getpid())")
    pid = int(printed)
    manager.shutdown_kernel(now=True)  # SIGKILL to what Jupyter started
    assert _gone(pid), f"kernel {pid} outlived its launcher"
