"""Builds the course site: the shipped notebooks with their stored outputs, never re-executed, as static HTML.

    python tools/build_site.py               # into site/_build (the pages: site/_build/html)
    python tools/build_site.py --out DIR     # into DIR

Sphinx reads a copy of the lessons laid out as in the repository (``notebooks/``, ``notebooks/solutions/``) next
to ``site/index.md``, so that a page's path is the notebook's path in the repository, which its launch links
need. The configuration is ``site/conf.py``. Nothing is fetched: the theme and its assets come installed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import launch_links  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "site"
OUT = CONF / "_build"


def stage(source: Path) -> None:
    """Lay out what Sphinx reads: the index and a fresh copy of every shipped notebook."""
    if source.exists():
        shutil.rmtree(source)
    (source / "notebooks" / "solutions").mkdir(parents=True)
    shutil.copy2(CONF / "index.md", source / "index.md")
    for notebook in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/solutions/*.ipynb")]:
        # The Colab badge's image is on Colab's site, and the page's own launch links (made from the same
        # address) open the lesson there already: the page leaves the badge cell out and loads nothing from elsewhere.
        content = json.loads(notebook.read_text(encoding="utf-8"))
        content["cells"] = [cell for cell in content["cells"] if cell.get("id") != launch_links.BADGE_CELL_ID]
        (source / notebook.relative_to(ROOT)).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")


def build(out: Path = OUT, quiet: bool = True) -> Path:
    """Builds into ``out`` and returns the folder of the pages (``out/html``); raises on any warning."""
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        raise SystemExit("the course site needs Sphinx, myst-nb and sphinx-book-theme (`make site` installs them); "
                         "they are locked for Python 3.11 or newer only") from None

    stage(out / "src")
    html = out / "html"
    # -E: read every notebook afresh (KIT_SITE_JUPYTERHUB is not part of what Sphinx compares).
    # -W: a warning (a broken cross-reference, an output the site cannot show) fails the build.
    args = ["-b", "html", "-E", "-W", "--keep-going", "-c", str(CONF), "-d", str(out / "doctrees"),
            *(["-q"] if quiet else []), str(out / "src"), str(html)]
    if build_main(args) != 0:
        raise SystemExit(f"the course site did not build (see the messages above); nothing usable in {html}")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the build folder (default site/_build)")
    args = parser.parse_args(argv)
    html = build(args.out.resolve())
    print(f"The course site is in {html} (open {html / 'index.html'}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
