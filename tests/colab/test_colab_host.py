"""Every notebook opened alone in an emulated Google Colab runs top to bottom after its setup cell.

Run by ``make test-colab`` (never by ``make test``): the host is a venv with Colab's own versions
(requirements/colab-host.txt: ipywidgets 7.7.1, notebook 6.5.7, ipykernel 6.17.1, httpx2 2.10); a kernel spec
runs a venv layered on it, so the kit's install lands beside the host's packages and the host venv is reused.
Each notebook is copied alone into an empty folder, without helpers/, and executed offline; the first one's
setup cell pip-installs the kit, built from this repository's HEAD (``KIT_SOURCE``), with the kit's dependencies
pinned by uv.lock (``PIP_CONSTRAINT``). A fake ``google.colab`` on the kernel's path holds a sentinel key in its
Secrets; a live run against the loopback server shows it is found and never shown. Then the classic notebook 6.5.7
renders the widgets of one lesson in chromium.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _free_port
from helpers.offline import running
from notebooks_support import NOTEBOOKS, RAISES_MARKER, ROOT, launch_links, output_text, source

COLAB_ENV = Path(os.environ.get("COLAB_ENV") or "/nonexistent")
if not (COLAB_ENV / "bin" / "python").exists() or not (COLAB_ENV / "kit-lock.txt").exists():
    raise RuntimeError("tests/colab runs through `make test-colab`, which builds the emulated Colab (COLAB_ENV)")

HOST_OWNED = ("ipywidgets", "notebook", "ipykernel", "httpx2", "python-dotenv")
"""Colab's own packages: the kit's install must leave them as they were."""
SENTINEL_KEY = "kit-colab-secret-3d9b61f0"
NOTEBOOKS_RUN = launch_links.shipped_notebooks()
WIDGET_LESSON = NOTEBOOKS / "03_synthetic_turns.ipynb"


def _run(*args: str | Path, **kwargs) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement).lower()


def _versions(python: Path) -> dict[str, str]:
    script = ("import importlib.metadata as m, json; "
              "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    listed = json.loads(_run(python, "-c", script))
    return {_name(name): version for name, version in listed.items()}


def _kernel_spec(kernels: Path, name: str, python: Path, env: dict[str, str]) -> None:
    (kernels / name).mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.enabled=False"]
    spec = {"argv": argv, "display_name": f"Colab emulated ({name})", "language": "python", "env": env}
    (kernels / name / "kernel.json").write_text(json.dumps(spec))


class Host:
    """The emulated Colab of one run: its kernel venv, kernel specs and fake Secrets."""

    def __init__(self, root: Path):
        self.root = root
        self.kernels = root / "jupyter" / "kernels"
        self.python = root / "kernel-env" / "bin" / "python"
        host_site = _run(COLAB_ENV / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
        base = _run(COLAB_ENV / "bin" / "python", "-c", "import sys; print(sys._base_executable)").strip()
        _run(base, "-m", "venv", "--without-pip", root / "kernel-env")
        site = Path(_run(self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
        (site / "colab-host.pth").write_text(host_site)  # the host's packages, after the kernel venv's own
        self.site = site
        self.host_before = _versions(self.python)
        self.wheel = self._kit_wheel()
        self.constraints = self._constraints()
        fake = root / "fake-colab" / "google" / "colab"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("")
        (fake / "userdata.py").write_text(
            "class SecretNotFoundError(Exception): pass\n"
            "import os\n"
            f"def get(key):\n    if key == 'ANTHROPIC_API_KEY': return {SENTINEL_KEY!r}\n"
            "    if key == 'ANTHROPIC_BASE_URL' and os.environ.get('FAKE_COLAB_BASE_URL'):\n"
            "        return os.environ['FAKE_COLAB_BASE_URL']\n"
            "    raise SecretNotFoundError(key)\n")
        common = {
            "PYTHONPATH": str(root / "fake-colab"),
            "KIT_SOURCE": str(self.wheel), "PIP_CONSTRAINT": str(self.constraints),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": "",
            "IPYTHONDIR": str(root / "ipython"), "VIRTUAL_ENV": "",
        }
        _kernel_spec(self.kernels, "colab", self.python, {**common, "KIT_MODE": "offline"})
        self.common_env = common

    def _kit_wheel(self) -> Path:
        source_tree = self.root / "kit-source"
        source_tree.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source_tree)], input=archive, check=True)
        _run(COLAB_ENV / "bin" / "python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             source_tree, "-w", self.root / "dist")
        (wheel,) = (self.root / "dist").glob("claude_messages_kit-*.whl")
        return wheel

    def _constraints(self) -> Path:
        # uv.lock's versions for what the host lacks; what Colab has stays Colab's (pip keeps what satisfies).
        host = set(self.host_before)
        kept = [line for line in (COLAB_ENV / "kit-lock.txt").read_text().splitlines()
                if (m := re.match(r"([A-Za-z0-9._-]+)==", line)) and _name(m.group(1)) not in host]
        assert kept, "the kit's lock lists nothing the host lacks: is kit-lock.txt an export of uv.lock?"
        path = self.root / "constraints.txt"
        path.write_text("\n".join(kept) + "\n")
        return path

    def kit_installed(self) -> bool:
        return subprocess.run([self.python, "-c", "import helpers"], cwd=self.root, capture_output=True).returncode == 0

    def execute(self, path: Path, kernel: str = "colab") -> nbformat.NotebookNode:
        """``path`` copied alone into an empty folder and run there, top to bottom."""
        folder = self.root / "runs" / f"{kernel}-{path.stem}"
        folder.mkdir(parents=True)
        shutil.copy(path, folder / path.name)
        notebook = nbformat.read(folder / path.name, as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name=kernel, allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
        return notebook


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    saved = dict(os.environ)
    root = tmp_path_factory.mktemp("colab")
    made = Host(root)
    os.environ["JUPYTER_PATH"] = str(root / "jupyter")
    try:
        yield made
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def runs(host):
    """Every notebook's run: the first alone (its setup cell installs the kit), then the rest two at a time."""
    assert not host.kit_installed(), "the kernel venv should start without the kit"
    first, *rest = NOTEBOOKS_RUN
    results = {first: host.execute(first)}
    assert host.kit_installed(), "the first notebook's setup cell did not install the kit"
    installed = sorted(p.name for p in host.site.iterdir())
    with ThreadPoolExecutor(max_workers=2) as pool:
        results.update(zip(rest, pool.map(host.execute, rest)))
    assert sorted(p.name for p in host.site.iterdir()) == installed, "a later setup cell installed something"
    return results


def test_the_setup_cell_installs_the_kit_from_kit_source_with_pinned_dependencies(host, runs):
    after = _versions(host.python)
    assert after["claude-messages-kit"] == host.wheel.name.split("-")[1]
    for name in HOST_OWNED:
        assert after[name] == host.host_before[name], f"installing the kit changed the host's {name}"
    assert after["ipywidgets"].startswith("7.7.") and after["notebook"].startswith("6.5.")
    assert "jupyterlab" not in after, "the kit brought JupyterLab into the host"
    locked = dict(re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", host.constraints.read_text(), re.MULTILINE))
    added = set(after) - set(host.host_before) - {"claude-messages-kit"}
    assert added, "the kit's install added nothing: was it installed already?"
    for name in added:
        assert name in map(_name, locked), f"{name} came unpinned (not in uv.lock's export)"


@pytest.mark.parametrize("path", NOTEBOOKS_RUN, ids=[p.relative_to(NOTEBOOKS).as_posix() for p in NOTEBOOKS_RUN])
def test_runs_alone_top_to_bottom(path, runs):
    notebook = runs[path]
    code = [c for c in notebook.cells if c.cell_type == "code"]
    setup = [output_text(o) for o in code[0].outputs]
    assert setup and setup[0].startswith("Offline mode"), f"the setup cell printed {setup}"
    assert "Colab's Secrets panel" in setup[0] and "/content" in setup[0], "the banner should speak of Colab"
    for cell in code:
        for output in cell.outputs:
            if output.output_type == "error":
                assert RAISES_MARKER in source(cell), f"{output.ename}: {output.evalue}\nin cell:\n{source(cell)}"
            assert SENTINEL_KEY not in output_text(output)


def test_a_key_and_a_classroom_address_in_colab_secrets_are_found_and_the_key_never_shown(host, runs):
    with running() as base_url:  # the loopback server stands in for a classroom server
        env = {**host.common_env, "KIT_MODE": "", "FAKE_COLAB_BASE_URL": base_url}
        _kernel_spec(host.kernels, "colab-live", host.python, env)
        notebook = host.execute(NOTEBOOKS_RUN[0], kernel="colab-live")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    banner = output_text(code[0].outputs[0])
    assert banner.startswith("Live mode") and "from Colab's Secrets" in banner and base_url in banner, banner
    assert not any(o.output_type == "error" and RAISES_MARKER not in source(c) for c in code for o in c.outputs)
    assert SENTINEL_KEY not in nbformat.writes(notebook), "the Colab secret appeared in the notebook"


WIDGET_CHECK = """\
import warnings
# ipywidgets 7 takes an option it does not know with only a warning (traitlets): make it fail here.
warnings.filterwarnings("error", message="Passing unrecognized arguments")
from helpers import HistoryEditor, UsageViewer, connect
from helpers.usage_viewer import PLACEHOLDER
client = connect(quiet=True)
editor = HistoryEditor([{"role": "user", "content": "Hello"}], client=client)
editor.send()
viewer = UsageViewer()
print(len(viewer.usage.records), editor.last_error, PLACEHOLDER, sep="\\n")
viewer
"""


def test_the_widgets_use_only_what_ipywidgets_7_has(host, runs, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIDGET_CHECK)])
    path = tmp_path / "widget_check.ipynb"
    nbformat.write(notebook, path)
    cell = host.execute(path).cells[0]
    errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    printed, shown = cell.outputs[0], cell.outputs[-1]
    calls, error, placeholder = printed.text.splitlines()
    assert (calls, error) == ("1", "None"), "the editor's Send should have made one call"
    assert shown.data["text/plain"] == placeholder, "the viewer's placeholder must show where the widget cannot"
    assert "application/vnd.jupyter.widget-view+json" in shown.data


def _wait_for(url: str, deadline: float) -> None:
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_the_widgets_render_in_the_classic_notebook(host, runs, tmp_path):
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - the browser part only

    assert CHROMIUM.exists(), "this check drives Debian's chromium (/usr/bin/chromium)"
    folder = tmp_path / "content"
    folder.mkdir()
    lesson = nbformat.read(WIDGET_LESSON, as_version=4)
    for cell in lesson.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    lesson.metadata["kernelspec"] = {"name": "colab", "display_name": "Colab emulated", "language": "python"}
    nbformat.write(lesson, folder / WIDGET_LESSON.name)
    port = _free_port()
    env = {**os.environ, "JUPYTER_PATH": str(host.kernels.parent), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    server = subprocess.Popen(
        [COLAB_ENV / "bin" / "jupyter-notebook", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--NotebookApp.token=", "--NotebookApp.password=", f"--notebook-dir={folder}", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"))
    page_url = f"http://127.0.0.1:{port}/notebooks/{WIDGET_LESSON.name}"
    try:
        _wait_for(f"http://127.0.0.1:{port}/api", time.monotonic() + 60)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_url)
            page.wait_for_function("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel "
                                   "&& Jupyter.notebook.kernel.is_connected()", timeout=60_000)
            page.evaluate("Jupyter.notebook.execute_all_cells()")
            editor = page.locator(".kit-history-editor").first
            editor.wait_for(state="visible", timeout=180_000)
            viewer = page.locator(".kit-usage-viewer").first
            viewer.wait_for(state="visible", timeout=60_000)
            assert editor.locator("textarea").count() >= 2, "the history editor shows no turns"
            assert editor.locator("button").count() >= 4
            assert "Error displaying widget" not in page.content()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            editor.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "colab-classic-notebook-widgets.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
