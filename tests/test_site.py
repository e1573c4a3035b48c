"""The course site (`make site`): built once from the stored notebooks, then its pages checked.

Every shipped notebook has a page with its title and outputs; every local link and anchor leads somewhere; the
launch links are those of tools/launch_links.py; no page loads anything from elsewhere (no CDN) and none holds
a key-like string; a widget's output shows its static form and a note; and a few pages, opened in chromium,
show their lesson. The build runs with the network cut off (`unshare -n`) wherever that is allowed, so a theme
or extension that fetches something fails it.
These tests run under `make test-site` (KIT_TEST_SITE=1), never inside `make test`; there, a missing tool fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from browser_support import ARTIFACTS, CHROMIUM, chromium
from notebooks_support import ALL, APPENDICES, LESSONS, ROOT, load, output_text

sys.path.insert(0, str(ROOT / "tools"))
import launch_links  # noqa: E402
import lesson_minutes  # noqa: E402

_spec = importlib.util.spec_from_file_location("site_conf", ROOT / "site" / "conf.py")
site_conf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_conf)

SECRET = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}|ANTHROPIC_API_KEY\s*=\s*['\"]?[A-Za-z0-9_-]{8,}")
WIDGET_NOTE = "In a running notebook this output is a live widget"
TEXT_FILES = {".html", ".js", ".css", ".txt", ".json", ".ipynb", ".svg", ".map"}
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:|^//", re.IGNORECASE)


def _network_cut() -> list[str]:
    """``unshare -n`` when this machine lets it run a command without network, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n", "--"]
    return []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built pages' folder, and whether the build ran with the network cut off."""
    out = tmp_path_factory.mktemp("site")
    cut = _network_cut()
    env = {**os.environ, "KIT_SITE_JUPYTERHUB": ""}
    started = time.monotonic()
    done = subprocess.run([*cut, sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    print(f"course site built in {time.monotonic() - started:.1f} s{' without network' if cut else ''}")
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "html", bool(cut)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            elif name in ("href", "src") and value is not None:
                self.links.append((tag, name, value))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Page:
    return _parse_markup(path.read_text(encoding="utf-8"))


def _parse_markup(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    return page


def _words(text: str) -> str:
    return " ".join(text.split())


def _pages(html: Path) -> list[Path]:
    """The site's pages (the theme copies its Jinja macro files to _static/ too: templates, not pages)."""
    return sorted(path for path in html.rglob("*.html") if "_static" not in path.relative_to(html).parts)


def _page_for(html: Path, notebook: Path) -> Path:
    return html / notebook.relative_to(ROOT).with_suffix(".html")


def test_every_shipped_notebook_has_a_page_with_its_title(site):
    html, _ = site
    for notebook in ALL:
        page = _page_for(html, notebook)
        assert page.is_file(), f"no page for {notebook.relative_to(ROOT)}"
        title = lesson_minutes.estimate(load(notebook)).title
        assert title in " ".join(_parse(page).text), f"{page.name} lacks its title {title!r}"


def test_the_index_lists_every_lesson_with_its_minutes(site):
    html, _ = site
    index = _parse(html / "index.html")
    text = " ".join(index.text)
    hrefs = {urlsplit(value).path for tag, name, value in index.links if tag == "a"}
    for path, found in lesson_minutes.course():
        assert f"notebooks/{path.stem}.html" in hrefs, f"the index does not link {path.name}"
        assert f"{found.title}" in text
    total = sum(found.minutes for path, found in lesson_minutes.course() if path in LESSONS)
    assert f"{total}" in text and f"All {len(LESSONS)} lessons" in text


def test_every_local_link_and_anchor_leads_somewhere(site):
    html, _ = site
    parsed = {page: _parse(page) for page in _pages(html)}
    broken = []
    for page, found in parsed.items():
        for tag, attribute, value in found.links:
            if EXTERNAL.match(value) or not value.strip():
                continue
            parts = urlsplit(value)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(html)}: <{tag} {attribute}={value!r}> leads to no file")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(html)}: <{tag} {attribute}={value!r}> names no anchor there")
    assert not broken, "\n".join(broken[:30])
    assert sum(len(found.links) for found in parsed.values()) > 1000  # the parser saw the pages' links


def test_every_notebook_page_has_the_launch_links_of_launch_links(site):
    html, _ = site
    for notebook in ALL:
        path = notebook.relative_to(ROOT).as_posix()
        page = _parse(_page_for(html, notebook))
        hrefs = [value for tag, name, value in page.links if tag == "a"]
        for url in (launch_links.colab_url(path), launch_links.binder_url(path)):
            assert url in hrefs, f"{path}: no link {url}"
        template = launch_links.nbgitpuller_url(site_conf.HUB_PLACEHOLDER, path)
        assert template in "".join(page.text), f"{path}: no JupyterHub link template {template}"
        assert not [h for h in hrefs if "colab.research" in h and h != launch_links.colab_url(path)], path


def test_no_page_loads_anything_from_elsewhere(site):
    """A reader offline sees the whole page, and no CDN learns who reads it: scripts, styles, images and fonts
    all come from the site's own folder (links a reader follows may go anywhere)."""
    html, _ = site
    loaded = []
    for page in _pages(html):
        for tag, attribute, value in _parse(page).links:
            if EXTERNAL.match(value) and not value.startswith("data:") and (attribute == "src" or tag == "link"):
                loaded.append(f"{page.relative_to(html)}: <{tag} {attribute}={value}>")
    for sheet in html.rglob("*.css"):
        for value in re.findall(r"url\(\s*['\"]?([^'\")]+)", sheet.read_text(encoding="utf-8")):
            if EXTERNAL.match(value) and not value.startswith("data:"):
                loaded.append(f"{sheet.relative_to(html)}: url({value})")
        for value in re.findall(r"@import\s+(?:url\()?\s*['\"]?([^'\");]+)", sheet.read_text(encoding="utf-8")):
            if EXTERNAL.match(value):
                loaded.append(f"{sheet.relative_to(html)}: @import {value}")
    assert not loaded, "\n".join(loaded[:30])


def test_no_file_of_the_site_holds_a_key_like_string(site):
    html, _ = site
    files = [path for path in html.rglob("*") if path.is_file() and path.suffix in TEXT_FILES]
    assert len(files) > len(ALL)
    for path in files:
        found = SECRET.search(path.read_text(encoding="utf-8", errors="replace"))
        assert not found, f"{path.relative_to(html)} holds a key-like string"


def test_a_widget_output_shows_its_text_and_a_note_instead_of_an_empty_view(site):
    html, _ = site
    with_widgets = [nb for nb in ALL
                    if any("application/vnd.jupyter.widget-view+json" in output.get("data", {})
                           for cell in load(nb)["cells"] for output in cell.get("outputs", []))]
    assert with_widgets, "no shipped notebook stores a widget output: this test has nothing to look at"
    for notebook in with_widgets:
        source = _page_for(html, notebook).read_text(encoding="utf-8")
        widgets = [output for cell in load(notebook)["cells"] for output in cell.get("outputs", [])
                   if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
        assert source.count(WIDGET_NOTE) == len(widgets), notebook.name
        assert "application/vnd.jupyter.widget-view+json" not in source, notebook.name
        text = _words(" ".join(_parse(_page_for(html, notebook)).text))
        for output in widgets:
            snapshot = output["data"].get("text/html")
            # The snapshot when the widget stores one (the history editor), else its text form, as it was stored.
            static = " ".join(_parse_markup("".join(snapshot)).text) if snapshot else output_text(output)
            assert _words(static) in text, f"{notebook.name}: the widget's static form is missing"


def test_the_build_ran_without_network(site):
    _, cut = site
    if not cut and os.environ.get("CI") != "true":
        pytest.skip("`unshare -n` is not allowed here, so the build ran with the network on")
    assert cut, "under CI=true the site is built with the network cut off (`unshare -n`), which failed"


def _first_text_output(notebook: Path) -> str:
    for cell in load(notebook)["cells"]:
        for output in cell.get("outputs", []):
            lines = [line for line in output_text(output).splitlines() if line.strip()]
            if output.get("output_type") == "stream" and lines:
                return lines[0].strip()
    raise AssertionError(f"{notebook.name} stores no printed output")


@pytest.mark.parametrize("notebook", [LESSONS[1], LESSONS[3], APPENDICES[0]], ids=lambda p: p.stem)
def test_a_lesson_page_in_chromium_shows_its_title_outputs_and_launch_links(site, notebook, tmp_path):
    html, _ = site
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the course site's browser test needs playwright (make test-site installs it)")
    assert CHROMIUM.exists(), f"the course site's browser test needs Debian's chromium at {CHROMIUM}"
    title = lesson_minutes.estimate(load(notebook)).title
    printed = _first_text_output(notebook)
    with chromium(tmp_path / "profile", 1200, 900) as page:
        page.goto(_page_for(html, notebook).as_uri())
        heading = page.locator("main h1:visible").first  # (the theme keeps a hidden copy of the title for print)
        heading.wait_for(state="visible")
        assert title in heading.inner_text()
        output = page.locator(".cell_output", has_text=printed).first
        output.scroll_into_view_if_needed()
        assert output.is_visible(), f"{notebook.name}: its output {printed!r} is not visible"
        assert page.locator("a.kit-launch-colab").first.is_visible()
        notes = page.locator(".kit-widget-note")
        if notes.count():  # where a widget was, its note is seen (the screenshot shows it with the widget's text)
            notes.first.scroll_into_view_if_needed()
            assert notes.first.is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"site-{notebook.stem}.png"))


def test_with_a_hub_given_the_jupyterhub_launch_link_is_launch_links_nbgitpuller_url(monkeypatch):
    """`make site JUPYTERHUB=...`: the pages then link to that hub (the built pages above show the template)."""
    monkeypatch.setenv("KIT_SITE_JUPYTERHUB", "https://hub.example.edu/")
    spec = importlib.util.spec_from_file_location("site_conf_with_hub", ROOT / "site" / "conf.py")
    configured = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(configured)
    path = LESSONS[0].relative_to(ROOT).as_posix()
    targets = dict(configured.launch_targets(path))
    assert targets["JupyterHub"] == launch_links.nbgitpuller_url("https://hub.example.edu", path)
    assert targets["JupyterHub"] != dict(site_conf.launch_targets(path))["JupyterHub"]
