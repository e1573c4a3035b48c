"""Sphinx configuration of the course site (built by ``tools/build_site.py``, ``make site``).

The notebooks are shown with the outputs they were stored with: nothing is executed. Three additions of the kit's
own, below: the lesson table on the index (from ``tools/lesson_minutes.py``), launch links on every lesson page
(from ``tools/launch_links.py``), and a note where a live widget was.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import launch_links  # noqa: E402
import lesson_minutes  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HUB_PLACEHOLDER = "https://YOUR-HUB"
JUPYTERHUB = os.environ.get("KIT_SITE_JUPYTERHUB", "").strip().rstrip("/")
"""The address of a JupyterHub that has nbgitpuller (``make site JUPYTERHUB=https://hub.example.edu``): the lesson
pages then link to it; without one they show the link's template, with HUB_PLACEHOLDER in place of the hub."""
LESSON_TABLE = "<!-- the lesson table, from tools/lesson_minutes.py -->"
WORKSHOP_PATHS = "<!-- the workshop paths, from tools/lesson_minutes.py --paths -->"

project = "Claude Messages kit"
html_title = "Claude Messages kit"
extensions = ["myst_nb"]
exclude_patterns = ["**/.ipynb_checkpoints"]
nb_execution_mode = "off"
# The site shows the widget's static form (its text/html snapshot, else its text) and a note (_note_widgets):
# a widget view needs a kernel, and the notebooks store no widget state to replay.
nb_mime_priority_overrides = [("html", WIDGET_VIEW, None)]
# Never load ipywidgets' JavaScript from a CDN, even if a notebook one day stores widget state.
nb_ipywidgets_js = {}
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": launch_links.repository(),
    "repository_branch": launch_links.BRANCH,
    "use_repository_button": True,
    "use_download_button": True,
    # Launch links are the kit's own (_launch_links): the theme's spell Binder's and nbgitpuller's queries
    # differently from tools/launch_links.py, and one spelling is what the README and the tests know.
    "launch_buttons": {},
}


def _fill_index(app, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    rows = lesson_minutes.course(Path(app.srcdir) / "notebooks")
    plan = json.loads(lesson_minutes.PATHS.read_text(encoding="utf-8"))
    source[0] = (source[0].replace(LESSON_TABLE, lesson_minutes.table(rows, link_prefix="notebooks/"))
                 .replace(WORKSHOP_PATHS, lesson_minutes.paths(rows, plan, link_prefix="notebooks/")))


def lesson_path(docname: str) -> str | None:
    """The notebook's path in the repository, for a page made from one."""
    return f"{docname}.ipynb" if docname.startswith("notebooks/") else None


def launch_targets(path: str) -> list[tuple[str, str]]:
    """(name, address) of every place a lesson opens in; the JupyterHub one may be a template."""
    return [("Colab", launch_links.colab_url(path)), ("Binder", launch_links.binder_url(path)),
            ("JupyterHub", launch_links.nbgitpuller_url(JUPYTERHUB or HUB_PLACEHOLDER, path))]


def _launch_links(app, doctree) -> None:
    path = lesson_path(app.env.docname)
    sections = list(doctree.findall(nodes.section))
    if path is None or not sections:
        return
    line = nodes.paragraph(classes=["kit-launch"])
    line += nodes.strong(text="Run this notebook: ")
    for n, (name, url) in enumerate(launch_targets(path)):
        line += nodes.Text(" · " if n else "")
        if name == "JupyterHub" and not JUPYTERHUB:
            line += nodes.Text("on your JupyterHub (with nbgitpuller), with your hub's address for YOUR-HUB: ")
            line += nodes.literal(text=url, classes=["kit-launch-template"])
        else:
            line += nodes.reference("", name, refuri=url, classes=[f"kit-launch-{name.lower()}"])
    sections[0].insert(1, line)


def _header_launch_button(app, pagename, templatename, context, doctree) -> None:
    path = lesson_path(pagename)
    if path is None or "header_buttons" not in context:
        return
    buttons = [{"type": "link", "text": name, "tooltip": f"Open this notebook on {name}", "url": url,
                "icon": f"_static/images/logo_{name.lower()}.{'png' if name == 'Colab' else 'svg'}"}
               for name, url in launch_targets(path) if name != "JupyterHub" or JUPYTERHUB]
    context["header_buttons"].append({"type": "group", "tooltip": "Run this notebook", "icon": "fas fa-rocket",
                                      "buttons": buttons, "label": "launch-buttons"})


def _note_widgets(app, doctree) -> None:
    """After each output that is a live widget in a running notebook, say so: the page shows its static form."""
    for bundle in list(doctree.findall(nodes.container)):
        if bundle.get("nb_element") != "mime_bundle":
            continue
        if not any(child.get("mime_type") == WIDGET_VIEW for child in bundle.children):
            continue
        note = nodes.paragraph(classes=["kit-widget-note"])
        note += nodes.Text("In a running notebook this output is a live widget, which needs a kernel: this page "
                           "shows its static form, above. Open the notebook with one of the links at the top of the "
                           "page, or locally with ")
        note += nodes.literal(text="make lab")
        note += nodes.Text(", and run it to use the widget.")
        bundle.parent.insert(bundle.parent.index(bundle) + 1, note)


def setup(app):
    app.connect("source-read", _fill_index)
    app.connect("doctree-read", _launch_links)
    app.connect("doctree-read", _note_widgets)
    app.connect("html-page-context", _header_launch_button, priority=502)
    return {"parallel_read_safe": True}
