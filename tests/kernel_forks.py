"""Kernels for the test suite, forked from a process that has already imported ipykernel and the SDK.

Every notebook the suite executes (nbval, the live and classroom runs, the browser's) starts a kernel,
and most of a kernel's start-up is imports: ipykernel, IPython, then the lesson's own ``import
anthropic``, about 2 s of CPU each time. A fork server pays that once per test process: a kernel is
a fork of it, with the environment, working directory and standard streams of the process that asked
for it. The lessons still run their own imports (then found already loaded) and everything after.

    python tests/kernel_forks.py serve SOCKET      # the fork server (started by conftest.py)
    python tests/kernel_forks.py launch SOCKET -f CONNECTION_FILE   # a kernelspec's argv

The launcher is what Jupyter starts and manages: it asks the server for a kernel, passes it the signals
Jupyter sends (interrupt, terminate), and exits when the kernel does. The kernel exits when its
launcher is gone (killed, say), and the server when the process that started it is.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

PRELOADED = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "anthropic", "httpx2", "helpers.check",
             "helpers.connection")
"""Imported by the server before it forks: what every lesson's kernel would import anyway."""
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _gone(pid: int) -> int:
    """A file descriptor that becomes readable when process ``pid`` exits (-1: it already has)."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return -1


def _wait_for(descriptor: int, timeout: float | None = None) -> bool:
    """True once ``descriptor`` (from ``_gone``) says its process exited."""
    return descriptor < 0 or bool(select.select([descriptor], [], [], timeout)[0])


# -- the launcher: what Jupyter starts -------------------------------------------------------------------


def launch(socket_path: str, argv: list[str]) -> int:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 60  # the server may still be importing
    while True:
        try:
            client.connect(socket_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                print(f"kernel_forks: no fork server at {socket_path}", file=sys.stderr)
                return 1
            time.sleep(0.05)
    request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode() + b"\n"
    socket.send_fds(client, [request], [0, 1, 2])
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = client.recv(64)
        if not chunk:
            print("kernel_forks: the fork server did not start a kernel", file=sys.stderr)
            return 1
        answer += chunk
    kernel = json.loads(answer)["pid"]
    client.close()
    exited = _gone(kernel)

    def forward(signum, _frame):
        try:
            os.kill(kernel, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    while not _wait_for(exited):
        pass
    return 0


# -- the server ------------------------------------------------------------------------------------------


def _become_kernel(connection: socket.socket, listener: socket.socket) -> None:
    """In the forked child: take on the launcher's environment and streams, then run ipykernel."""
    data, fds, _flags, _address = socket.recv_fds(connection, 1 << 20, 3)
    launcher_pid = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    launcher_pid = int.from_bytes(launcher_pid[:4], sys.byteorder)
    request = json.loads(data)
    connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    connection.close()
    listener.close()
    for target, descriptor in enumerate(fds):
        os.dup2(descriptor, target)
        os.close(descriptor)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    launcher_gone = _gone(launcher_pid)

    import threading

    def exit_with_launcher() -> None:
        _wait_for(launcher_gone)
        os._exit(1)

    threading.Thread(target=exit_with_launcher, daemon=True, name="kernel-forks-launcher").start()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def serve(socket_path: str) -> None:
    import importlib

    parent, server = os.getppid(), os.getpid()
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # as `python -m ipykernel_launcher`
    for name in PRELOADED:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped as they exit
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = f"{socket_path}.{os.getpid()}"
    listener.bind(temporary)
    listener.listen(16)
    os.replace(temporary, socket_path)  # launchers connect only once the server is ready
    listener.settimeout(1.0)
    try:
        while os.getppid() == parent:
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                continue
            connection.settimeout(None)
            if os.fork() == 0:
                # The kernel leaves through SystemExit, as a kernel process does: atexit handlers still run
                # (a grader's report waits for its answer there).
                _become_kernel(connection, listener)
                sys.exit(0)
            connection.close()
    finally:
        if os.getpid() == server:  # (not in a kernel leaving)
            listener.close()
            try:
                os.unlink(socket_path)
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["launch"]:
        sys.exit(launch(sys.argv[2], sys.argv[3:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
