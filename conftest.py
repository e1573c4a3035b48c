"""Test-wide settings: notebooks run offline with no key, whatever the developer's .env says.

Stored notebook outputs come from the offline backend; an empty key counts as no key
(for the SDK and for ``connect``) and stops ``.env`` from supplying one.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

os.environ["KIT_MODE"] = "offline"
os.environ["ANTHROPIC_API_KEY"] = ""
os.environ["ANTHROPIC_AUTH_TOKEN"] = ""
os.environ.pop("ANTHROPIC_BASE_URL", None)

# Each pytest-xdist worker's kernels keep their IPython state (history database, profile) apart.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.dirname(__file__), ".cache", "ipython")
    os.environ["IPYTHONDIR"] = os.path.join(_ipython_dir, "workers", os.environ["PYTEST_XDIST_WORKER"])
    os.makedirs(os.environ["IPYTHONDIR"], exist_ok=True)  # (IPython uses a new temporary one when it is missing)


import pytest  # noqa: E402

# Under pytest-xdist (`make test` runs `pytest -n auto`), the kit schedules tests itself: the tests of one
# file run in one worker, in order (nbval runs a notebook's cells in one kernel, and a module fixture is set up
# once), except in SPREAD_MODULES, whose tests each go to whichever worker is free. (xdist's own
# --dist loadgroup cannot be used: it renames tests in a way pytest 9 ignores.)
SPREAD_MODULES = ("test_lessons_live.py", "test_classroom_lessons.py")
"""Each test executes a whole notebook and their module fixture is only a loopback server, so each worker
starting its own costs little."""
START_FIRST = ("test_browser_widgets.py",)
"""The longest chain of tests in one worker (a JupyterLab server shared by a real browser's tests)."""


def _scope(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or the test itself in a spread module."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path.rsplit("/", 1)[-1] in SPREAD_MODULES else path


def _start_order(item) -> int:
    """Long units first, so that the many short ones fill the workers at the end."""
    if item.path.name in START_FIRST:
        return 0
    if item.path.name in SPREAD_MODULES or item.path.suffix == ".ipynb":
        return 1
    return 2


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker sorts alike, so their collections stay the same
        items.sort(key=_start_order)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    if config.getoption("dist") == "each":
        return None

    class KitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    config.option.loadscopereorder = False  # keep the start order above
    return KitScheduling(config, log)


def pytest_configure(config):
    """Kernels named ``python3`` (nbval's, nbclient's, JupyterLab's in the browser tests) are this environment's,
    forked from tests/kernel_forks.py's server on Linux unless KIT_KERNEL_FORKS=0."""
    if config.option.collectonly or (config.getoption("numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER")):
        return  # collecting only, or xdist's controller: its workers run the kernels
    home = tempfile.mkdtemp(prefix="kit-kernels-")  # short: a unix socket's path has at most 107 bytes
    spec_dir = os.path.join(home, "jupyter", "kernels", "python3")
    os.makedirs(spec_dir)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    server = None
    # (Linux only: forking after imports is safe there, and the launcher waits on its kernel through a pidfd.)
    if os.environ.get("KIT_KERNEL_FORKS", "1") != "0" and sys.platform == "linux" and hasattr(os, "pidfd_open"):
        forks = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "kernel_forks.py")
        socket_path = os.path.join(home, "forks.sock")
        server = subprocess.Popen([sys.executable, forks, "serve", socket_path], stdin=subprocess.DEVNULL)
        argv = [sys.executable, "-I", "-S", forks, "launch", socket_path, "-f", "{connection_file}"]
    with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as out:
        json.dump({"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python",
                   "metadata": {"debugger": True}}, out)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [os.path.join(home, "jupyter"),
                                                                os.environ.get("JUPYTER_PATH")]))
    config.stash[_KERNELS] = (home, server)


def pytest_unconfigure(config):
    home, server = config.stash.get(_KERNELS, (None, None))
    if server is not None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    if home:
        shutil.rmtree(home, ignore_errors=True)


_KERNELS = pytest.StashKey()
