"""The widgets in a real browser: JupyterLab headless on loopback, Debian's chromium driven by Playwright.

Opens the lesson that uses the history editor, runs all cells, adds a synthetic
turn and clicks Send in the page, then checks that the new turns and a usage row
appear in the DOM. Screenshots go to tests/artifacts/ (git-ignored).
Without chromium the test skips, except under CI=true, where it must run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from notebooks_support import NOTEBOOKS, ROOT

CHROMIUM = Path("/usr/bin/chromium")
LESSON = NOTEBOOKS / "03_synthetic_turns.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts"
TOKEN = "kit-browser-test"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def _require_browser():
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_browser()
    home = tmp_path_factory.mktemp("lab")
    workdir = home / "notebooks"
    workdir.mkdir()
    # Outputs cleared, so that the page shows only what this run produces.
    notebook = nbformat.read(LESSON, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, workdir / LESSON.name)
    settings = home / "settings"
    # No "Jupyter news?" toast over the page.
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "KIT_MODE": "offline", "ANTHROPIC_API_KEY": "", "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "IPYTHONDIR": str(home / "ipython"), "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={workdir}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "lab.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.3)
    yield url, home
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def test_history_editor_and_usage_viewer_work_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, home = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(home / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = browser.pages[0] if browser.pages else browser.new_page()
        try:
            page.goto(f"{url}/lab/tree/{LESSON.name}?token={TOKEN}")
            idle = page.locator("#jp-main-statusbar").get_by_text("Idle")
            idle.first.wait_for(timeout=60_000)
            page.get_by_text("Run", exact=True).first.click()
            page.get_by_text("Run All Cells", exact=True).first.click()

            editor = page.locator(".kit-history-editor").first
            editor.wait_for(timeout=60_000)
            viewer = page.locator(".kit-usage-viewer").first
            viewer.wait_for(timeout=60_000)
            # The last exercise's grader has answered: every cell has run.
            page.get_by_text("(03.2 correct an earlier answer)").first.wait_for(timeout=60_000)
            turns_before = editor.locator(".kit-turn").count()
            rows_before = viewer.locator(".kit-usage-row").count()
            editor.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "history_editor_before_send.png"), full_page=False)

            editor.get_by_role("button", name="+ assistant turn (synthetic)").click()
            editor.locator(".kit-turn").nth(turns_before).wait_for()
            synthetic = editor.locator(".kit-turn textarea").nth(turns_before)
            synthetic.fill("A synthetic turn typed in the browser.")
            synthetic.press("Tab")  # commit the text to the kernel
            editor.get_by_role("button", name="+ user turn").click()
            question = editor.locator(".kit-turn textarea").nth(turns_before + 1)
            question.fill("What is my name?")
            question.press("Tab")
            editor.get_by_role("button", name="Send").click()

            editor.locator(".kit-turn").nth(turns_before + 2).wait_for(timeout=30_000)
            viewer.locator(".kit-usage-row").nth(rows_before).wait_for(timeout=30_000)
            assert editor.locator(".kit-turn").count() == turns_before + 3
            assert "stop_reason" in editor.locator(".kit-status").inner_text()
            texts = editor.locator(".kit-turn textarea").evaluate_all("els => els.map(e => e.value)")
            assert "A synthetic turn typed in the browser." in texts
            assert viewer.locator(".kit-usage-row").count() == rows_before + 1
            editor.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "history_editor_after_send.png"), full_page=False)
            viewer.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "usage_viewer.png"), full_page=False)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
