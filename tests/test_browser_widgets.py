"""The widgets in a real browser: JupyterLab headless on loopback, Debian's chromium driven by Playwright.

Lessons 03, 06, 07 and 12 (where the usage viewer is) run from top to bottom in a 1,400 px window, then
are looked at again at 1,000 px: the usage viewer, the history editor and the graders' results must
fit their output areas, with no word wrapped in its middle and no button cut short. Then, on the same
run of lesson 03 (it is executed once for both tests), the history editor is used as a learner would
(typing, adding turns, a prefill, Send), next to a docked view of the usage viewer: a problem that
stops Send is shown only when Send refuses to send.
Screenshots go to tests/artifacts/ (git-ignored).
Without chromium the tests skip, except under CI=true, where they must run.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request

import pytest

from browser_support import (
    ARTIFACTS, NEWS_TOAST, TOKEN, chromium, copy_without_outputs, open_and_run_all, require_browser, running_lab,
)
from helpers.usage_viewer import ROWS
from notebooks_support import NOTEBOOKS

LAST_GRADER = {  # the last output of each lesson: once it shows, every cell has run
    "03_synthetic_turns.ipynb": "(03.2 correct an earlier answer)",
    "06_errors_and_retries.ipynb": "(06.2",
    "07_tokens_and_cost.ipynb": "(07.2",
    "12_prompt_caching.ipynb": "(12.3",
}
WIDTHS = (1400, 1000)
WIDGETS = ".kit-usage-viewer, .kit-history-editor, .kit-grader-result"

# Everything that does not fit, for one widget or grader result: the element against its output area,
# any descendant past the area's right edge, buttons whose label is cut, and words split across lines
# (a word on two lines has two boxes at different heights).
MISFITS = """(element) => {
  const problems = [];
  const area = element.closest('.jp-OutputArea-output, .jp-LinkedOutputView');
  const box = area.getBoundingClientRect();
  const name = element.className.split(' ').find(c => c.startsWith('kit-'));
  const own = element.getBoundingClientRect();
  if (own.right > box.right + 0.5) problems.push(`${name} is ${own.width}px wide in a ${box.width}px output area`);
  if (element.scrollWidth > element.clientWidth + 1) problems.push(`${name} scrolls sideways (${element.scrollWidth}px)`);
  for (const el of element.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > box.right + 0.5) {
      problems.push(`${name}: <${el.tagName.toLowerCase()} class="${el.className}"> ends at ${r.right}, past ${box.right}`);
    }
  }
  for (const button of element.querySelectorAll('button')) {
    if (button.offsetParent && button.scrollWidth > button.clientWidth + 1) {
      problems.push(`${name}: button "${button.title || button.innerText}" is cut (${button.scrollWidth}px in ${button.clientWidth}px)`);
    }
  }
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('textarea, select, style, script')) continue;
    for (const match of node.data.matchAll(/\\S+/g)) {
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) problems.push(`${name}: "${match[0]}" is wrapped across ${tops.size} lines`);
    }
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_browser()
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("lab")
    copy_without_outputs([NOTEBOOKS / name for name in LAST_GRADER], home / "notebooks")
    with running_lab(home, home / "notebooks") as url, sync_playwright() as playwright:
        yield url, home, playwright


# Resolves after two animation frames: JupyterLab lays out the cells a scroll brings near in the next frame.
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


# Resolves once the notebook's width has stayed the same for a few frames (at most about half a second): a new
# window size or a closed sidebar is laid out by then.
LAID_OUT = """() => new Promise(done => {
  let last = null, same = 0, frames = 0;
  const look = () => {
    const width = document.querySelector('.jp-Notebook')?.getBoundingClientRect().width;
    same = width === last ? same + 1 : 0;
    last = width;
    if (same >= 3 || ++frames > 30) done(); else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})"""


def _show(page, locator) -> None:
    """Scroll ``locator`` to the top of the notebook; offscreen cells are laid out only once they are near, so
    it is scrolled again until it stays there (a few frames, then with longer pauses on a busy machine)."""
    for attempt in range(8):
        locator.evaluate("e => { e.scrollIntoView({block: 'start'}); e.closest('.jp-WindowedPanel-outer')?.scrollBy(0, -40); }")
        page.evaluate(NEXT_FRAMES)
        if attempt >= 3:
            page.wait_for_timeout(300)
        top = locator.evaluate("e => e.getBoundingClientRect().top")
        if 0 <= top < page.viewport_size["height"] / 2:
            page.evaluate(NEXT_FRAMES)
            if locator.evaluate("e => e.getBoundingClientRect().top") == top:  # laid out: it no longer moves
                return


def _set_left_sidebar(page, *, shown: bool) -> None:
    """Open or close JupyterLab's left sidebar (the file browser), as its View menu does."""
    visible = page.locator("#jp-left-stack").is_visible()
    if visible != shown:
        page.evaluate("() => window.jupyterapp?.commands.execute('application:toggle-left-area')")
        if page.locator("#jp-left-stack").is_visible() != shown:
            page.keyboard.press("Control+b")
        page.evaluate(LAID_OUT)


def _misfits(page, locator) -> list[str]:
    _show(page, locator)
    return locator.evaluate(MISFITS)


def _assert_no_news_toast(page, url: str) -> None:
    assert page.get_by_text(NEWS_TOAST).count() == 0, "JupyterLab asked about its news feed"
    notification = json.load(urllib.request.urlopen(
        f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={TOKEN}"))
    assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"  # the kit's own setting


@contextlib.contextmanager
def _lesson_run(lab, name: str):
    """A page with lesson ``name`` run from top to bottom at the first width; a screenshot if that fails."""
    url, home, playwright = lab
    lesson = f"lesson{name[:2]}"
    with chromium(home / f"profile-{lesson}", WIDTHS[0], playwright=playwright) as page:
        try:
            open_and_run_all(page, url, name, LAST_GRADER[name], workspace=lesson)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{lesson}-failure.png"))
            raise
        yield page


@pytest.fixture(scope="module")
def lesson03_run(lab):
    """Lesson 03 run once, for the two tests that look at it: the fit check reads it, the editor test then uses it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with _lesson_run(lab, "03_synthetic_turns.ipynb") as page:
        yield page


def _check_fit(page, url: str, lesson: str) -> None:
    try:
        _assert_no_news_toast(page, url)
        viewer = page.locator(".kit-usage-viewer").first
        assert viewer.locator(".kit-usage-row").count() <= ROWS
        for width, sidebar in [(w, s) for w in WIDTHS for s in ("sidebar", "no-sidebar")]:
            page.set_viewport_size({"width": width, "height": 1000})
            if sidebar == "no-sidebar":  # the file browser closed: a wider output area, as many learners use it
                _set_left_sidebar(page, shown=False)
            page.evaluate(LAID_OUT)
            problems = []
            widgets = page.locator(WIDGETS)
            for index in range(widgets.count()):
                problems += _misfits(page, widgets.nth(index))
            for selector in (".kit-usage-viewer", ".kit-history-editor", ".kit-grader-result"):
                shown = page.locator(selector)
                if shown.count():
                    _show(page, shown.last if selector == ".kit-grader-result" else shown.first)
                    page.screenshot(path=str(ARTIFACTS / f"{lesson}-{width}px-{sidebar}-{selector[5:]}.png"))
            _set_left_sidebar(page, shown=True)
            assert not problems, f"at {width} px ({sidebar}):\n" + "\n".join(problems)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{lesson}-failure.png"))
        raise


@pytest.mark.parametrize("name", list(LAST_GRADER), ids=[n[:2] for n in LAST_GRADER])
def test_widgets_and_grader_results_fit_the_notebook_column(lab, name, request):
    url = lab[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lesson = f"lesson{name[:2]}"
    if name == "03_synthetic_turns.ipynb":
        _check_fit(request.getfixturevalue("lesson03_run"), url, lesson)
        return
    with _lesson_run(lab, name) as page:
        _check_fit(page, url, lesson)


def test_history_editor_and_docked_usage_viewer_in_jupyterlab(lesson03_run):
    page = lesson03_run
    page.set_viewport_size({"width": 1400, "height": 1000})  # as the lesson ran (the fit check ends narrower)
    page.evaluate(LAID_OUT)
    try:
        editor = page.locator(".kit-history-editor").first
        viewer = page.locator(".kit-usage-viewer").first

        # The pointer in the lesson: right-click the viewer, Create New View for Cell Output.
        _show(page, viewer)
        viewer.click(button="right")
        page.get_by_role("menu").get_by_text("Create New View for Cell Output", exact=True).click()
        docked = page.locator(".jp-LinkedOutputView .kit-usage-viewer").first
        docked.wait_for(timeout=30_000)
        assert not docked.evaluate(MISFITS)
        rows_before = docked.locator(".kit-usage-row").count()
        calls_before = docked.locator(".kit-usage-totals b").first.inner_text()

        # Right after Run All the history ends with the model's reply: a next step, nothing to fix.
        blocking, next_step = editor.locator(".kit-problem-blocking"), editor.locator(".kit-problem-next")
        assert blocking.count() == 0 and "add a user turn" in next_step.inner_text()
        turns_before = editor.locator(".kit-turn").count()
        _show(page, editor)
        editor.get_by_role("button", name="+ assistant turn (synthetic)").click()
        editor.locator(".kit-turn").nth(turns_before).wait_for()
        editor.get_by_text("write this assistant turn").wait_for()
        assert blocking.count() == 0
        # Typed, not yet committed by leaving the box: the message follows the typing.
        editor.locator(".kit-turn textarea").nth(turns_before).click()
        page.keyboard.type("A synthetic turn typed in the browser.")
        editor.get_by_text("the last turn is the assistant's").wait_for()
        editor.get_by_role("button", name="+ user turn").click()
        editor.get_by_text("this user turn is empty").wait_for()
        assert blocking.count() == 0 and next_step.count() == 1
        editor.locator(".kit-turn textarea").nth(turns_before + 1).click()
        page.keyboard.type("What is my name?")
        next_step.wait_for(state="detached")
        assert blocking.count() == 0

        # A real mistake: a prefill on a model that takes none. Send refuses it, and says where it is.
        prefill = editor.get_by_placeholder("Prefill: the start of the next reply (optional)")
        prefill.click()
        page.keyboard.type("My answer:")
        blocking.first.wait_for()
        assert "the Prefill box" in blocking.inner_text() and f"turn {turns_before + 2}" not in blocking.inner_text()
        editor.get_by_role("button", name="Send").click()
        editor.locator(".kit-status").get_by_text("Not sent").wait_for()
        assert docked.locator(".kit-usage-totals b").first.inner_text() == calls_before
        prefill.fill("")  # empty again: the only problem is gone
        blocking.first.wait_for(state="detached")

        editor.get_by_role("button", name="Send").click()
        editor.locator(".kit-turn").nth(turns_before + 2).wait_for(timeout=30_000)
        assert editor.locator(".kit-turn").count() == turns_before + 3
        assert "stop_reason" in editor.locator(".kit-status").inner_text()
        texts = editor.locator(".kit-turn textarea").evaluate_all("els => els.map(e => e.value)")
        assert "A synthetic turn typed in the browser." in texts
        assert blocking.count() == 0 and next_step.count() == 1
        assert not _misfits(page, editor)
        # The docked view follows the log: one call more, on the page of the latest calls.
        page.wait_for_function(
            "([el, before]) => el.querySelector('.kit-usage-totals b').innerText !== before",
            arg=[docked.element_handle(), calls_before], timeout=30_000)
        assert int(docked.locator(".kit-usage-totals b").first.inner_text()) == int(calls_before) + 1
        assert docked.locator(".kit-usage-row").count() == min(rows_before + 1, ROWS)
        _show(page, editor)
        page.screenshot(path=str(ARTIFACTS / "lesson03-editor-after-send-with-docked-viewer.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "lesson03-editor-failure.png"))
        raise
