"""JupyterLab headless on loopback and Debian's chromium driven by Playwright, for the browser tests.

The lab runs with the kit's own JupyterLab defaults installed (``python -m helpers.lab_settings``,
as ``make lab`` does) and nothing else: no user settings, state kept in a temporary home.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from notebooks_support import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
TOKEN = "kit-browser-test"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
# JupyterLab's "official Jupyter news" question; the kit's settings turn it off.
NEWS_TOAST = "official Jupyter news"


def require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append("Debian's chromium (/usr/bin/chromium: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; under CI=true it must run")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_without_outputs(notebooks: list[Path], workdir: Path) -> None:
    """Copies with outputs cleared, so that a page shows only what its run produces."""
    workdir.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, workdir / path.name)


@contextlib.contextmanager
def running_lab(home: Path, workdir: Path) -> Iterator[str]:
    """A JupyterLab server on ``workdir``; yields its base URL."""
    subprocess.run([sys.executable, "-m", "helpers.lab_settings"], cwd=ROOT, check=True)
    env = {
        **os.environ,
        "KIT_MODE": "offline", "ANTHROPIC_API_KEY": "",
        "JUPYTERLAB_SETTINGS_DIR": str(home / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"), "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={workdir}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with open(home / "lab.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


@contextlib.contextmanager
def chromium(profile: Path, width: int, height: int = 1000, playwright=None):
    """A page of a headless chromium window ``width`` pixels wide.

    ``playwright``: a running ``sync_playwright()``, for windows open at the same time (the sync API cannot
    be started twice at once); without it, one is started for this window.
    """
    if playwright is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as started:
            with chromium(profile, width, height, started) as page:
                yield page
        return
    browser = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height},
    )
    try:
        yield browser.pages[0] if browser.pages else browser.new_page()
    finally:
        browser.close()


def open_notebook(page, url: str, name: str, workspace: str) -> None:
    """Open notebook ``name`` alone, in a fresh JupyterLab workspace called ``workspace``, once its kernel is idle."""
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{name}?reset&token={TOKEN}")
    page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=60_000)


def open_and_run_all(page, url: str, name: str, last_output: str, workspace: str) -> None:
    """Open notebook ``name``, run all cells, and wait until ``last_output`` (text of the last cell's output) shows."""
    open_notebook(page, url, name, workspace)
    page.get_by_text("Run", exact=True).first.click()
    page.get_by_text("Run All Cells", exact=True).first.click()
    page.get_by_text(last_output).first.wait_for(timeout=120_000)
    page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=60_000)
