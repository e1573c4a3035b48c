"""Links between the lessons, their solutions and the README lead to files that exist."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from notebooks_support import ALL, LESSONS, ROOT, load, solution_for, source

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _local_links(markdown: str) -> list[str]:
    return [unquote(target.split("#")[0]) for target in LINK.findall(markdown)
            if "://" not in target and not target.startswith(("#", "mailto:"))]


def _markdown(path: Path) -> str:
    return "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_every_local_link_in_a_notebook_leads_to_a_file(path):
    for target in _local_links(_markdown(path)):
        assert (path.parent / target).is_file(), f"{path.name} links to {target}, which does not exist"


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_each_lesson_links_the_next_one_its_solutions_and_back(lesson):
    links = _local_links(_markdown(lesson))
    assert f"solutions/{solution_for(lesson).name}" in links
    following = LESSONS[LESSONS.index(lesson) + 1:]
    if following:
        assert re.search(rf"^Next: \[[^\]]+\]\({re.escape(following[0].name)}\)", _markdown(lesson), re.MULTILINE), \
            f"{lesson.name} should end with 'Next: [..]({following[0].name})'"
    else:
        assert LESSONS[0].name in links, "the last lesson links back to the first"
    assert f"../{lesson.name}" in _local_links(_markdown(solution_for(lesson)))


def test_the_readme_links_every_lesson_and_its_solutions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = _local_links(readme)
    for lesson in LESSONS:
        assert f"notebooks/{lesson.name}" in links
        assert f"notebooks/solutions/{solution_for(lesson).name}" in links
    for target in links:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
