"""The instructor's dashboard in Debian's chromium (Playwright): one row per learner, live updates, who is
stuck, who is out of budget, lesson errors apart from problems, and untrusted text (names, API errors that
quote a learner's input) shown as text, never markup.
The screenshot goes to tests/artifacts/classroom_dashboard.png. Without chromium the test skips,
except under CI=true."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from browser_support import ARTIFACTS, chromium, require_browser
from classroom_support import HI, MODEL, add_learners, classroom, client
from helpers.classroom import pricing, tokens as tk
from helpers.offline import fault_injection

HOSTILE_NAME = '<img src=x onerror="window.pwned=1">Eve'
HOSTILE_MODEL = '<script>window.pwned=2</script><b>bold</b>'


def test_the_dashboard_shows_the_room_live_and_renders_untrusted_text_as_text(tmp_path):
    require_browser()
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, [f"learner-{n:02d}" for n in range(1, 7)], usd=0.02)
        # A name that did not come through the roster's checks: the page must still show it as text.
        eve_id = room.store.add_learner(HOSTILE_NAME, "eve-secret", pricing.to_nano(1.0), None)
        eve = client(room, tk.learner_token(eve_id, "eve-secret"))
        with pytest.raises(anthropic.NotFoundError):
            eve.messages.create(model=HOSTILE_MODEL, max_tokens=16, messages=HI)  # its error quotes the model
        for n, name in enumerate(tokens):
            for _ in range(n % 3 + 1):
                client(room, tokens[name]).messages.create(model=MODEL, max_tokens=64, messages=HI)
        learner_headers = {"x-api-key": tokens["learner-02"]}
        for passed in (False, False, False, False):
            httpx2.post(room.url + "/classroom/progress", headers=learner_headers,
                        json={"exercise": "04.1", "passed": passed})
        # learner-01: 01.1 passed with the calls behind it (as the kit reports it), 01.2 and 02.1 only said so.
        first_headers = {"x-api-key": tokens["learner-01"]}
        attempt = httpx2.post(room.url + "/classroom/attempts", headers=first_headers,
                              json={"exercise": "01.1"}).json()["attempt"]
        call = client(room, tokens["learner-01"]).messages.with_raw_response.create(
            model=MODEL, max_tokens=64, system="Be brief.", messages=HI).headers["request-id"]
        assert httpx2.post(room.url + "/classroom/progress", headers=first_headers, json={
            "exercise": "01.1", "passed": True, "attempt": attempt, "evidence": [call]}).json()["verified"]
        for exercise in ("01.2", "02.1"):
            httpx2.post(room.url + "/classroom/progress", headers=first_headers,
                        json={"exercise": exercise, "passed": True})
        fay = client(room, add_learners(room, ["fay"], usd=0.0002)["fay"])
        with pytest.raises(anthropic.PaymentRequiredError):
            fay.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        gus = client(room, add_learners(room, ["gus"])["gus"])
        with pytest.raises(anthropic.PermissionDeniedError):  # a call the classroom cannot price: yours to see
            gus.messages.create(model=MODEL, max_tokens=16, messages=HI,
                                tools=[{"type": "code_execution_20250825", "name": "code_execution"}])

        with chromium(tmp_path / "profile", 1400, 900) as page:
            problems = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{room.url}/classroom/#token={room.instructor_token}")
            page.locator("#learners tbody tr").nth(8).wait_for(timeout=30_000)
            assert page.evaluate("location.hash") == ""  # the token left the address bar
            rows = page.locator("#learners tbody tr")
            assert rows.count() == 9
            # Hostile text is shown literally, and nothing in it ran or became an element.
            assert page.evaluate("window.pwned") is None
            assert page.locator("#learners img, #learners script, #learners b").count() == 0
            eve_row = rows.filter(has_text="Eve")
            assert eve_row.locator("td.name").inner_text() == HOSTILE_NAME
            assert HOSTILE_MODEL in eve_row.locator("td.error").inner_text()
            # Out of budget: flagged on the row and listed with its fix; lesson errors do not light a row.
            fay_row, gus_row = rows.filter(has_text="fay"), rows.filter(has_text="gus")
            assert fay_row.locator("td.errors .flag").inner_text() == "out of budget: 1 call refused"
            assert page.locator("#out-of-budget").inner_text() == (
                "fay: out of budget, 1 call refused. Fix: python -m helpers.classroom topup fay --usd X")
            assert eve_row.locator("td.errors").inner_text() == "1 lesson error"
            assert gus_row.locator("td.errors").inner_text() == "1 problem"
            lit = {name: rows.filter(has_text=name).evaluate("row => row.classList.contains('trouble')")
                   for name in ("fay", "gus", "Eve", "learner-01")}
            assert lit == {"fay": True, "gus": True, "Eve": False, "learner-01": False}
            background = "(row) => getComputedStyle(row.querySelector('td')).backgroundColor"
            assert fay_row.evaluate(background) != eve_row.evaluate(background)
            # Amounts: the page's rule and the terminal's (roster list, status) are one.
            from helpers.classroom.dashboard import dollars
            amounts = [0, 0.00005, 0.00015, 0.02, 0.123456, 0.99994, 0.99995, 1, 1.005, 1.125, 2.675, 12.5, 1234.5]
            assert page.evaluate("(xs) => xs.map(dollars)", amounts) == [dollars(x) for x in amounts]
            # Stuck: learner-02 failed 04.1 four times.
            assert "learner-02 on exercise 04.1 (4 failed tries)" in page.locator("#stuck").inner_text()
            first = rows.filter(has_text="learner-01")
            lesson_01 = first.locator("td.lesson").first
            assert lesson_01.inner_text() == "1/2\n+1 self-reported"  # a verified pass, and one only claimed
            assert lesson_01.locator(".self-reported").evaluate("e => getComputedStyle(e).fontStyle") == "italic"
            assert "01.2 passed, self-reported" in lesson_01.get_attribute("title")
            # Live: a call made now shows up without reloading the page.
            before = first.locator("td.num").first.inner_text()
            client(room, tokens["learner-01"]).messages.create(model=MODEL, max_tokens=64, messages=HI)
            page.wait_for_function(
                "(before) => document.querySelector('#learners tbody tr td.num').textContent !== before",
                arg=before, timeout=30_000)
            assert first.locator("td.num").first.inner_text() == str(int(before) + 1)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "classroom_dashboard.png"), full_page=True)
            assert problems == []


def test_without_the_instructor_token_the_page_asks_for_it_and_shows_no_data(tmp_path):
    require_browser()
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, ["ann"])
        with chromium(tmp_path / "profile", 1000, 700) as page:
            page.goto(f"{room.url}/classroom/#token={tokens['ann']}")  # a learner's token is not enough
            page.locator("#login").wait_for(state="visible", timeout=30_000)
            told = page.locator("#problem").inner_text()
            assert "This is a learner token" in told and "instructor token" in told and "serve" in told
            assert page.locator("#room").is_hidden() and "ann" not in page.locator("body").inner_text()
            page.fill("#token", "clsrm-instructor-of-another-run")
            page.click("#login button")
            page.wait_for_function("document.getElementById('problem').textContent.includes('not valid')",
                                   timeout=30_000)
            page.fill("#token", room.instructor_token)
            page.click("#login button")
            page.locator("#learners tbody tr").first.wait_for(timeout=30_000)
            assert page.locator("#learners tbody tr td.name").inner_text() == "ann"


def test_the_page_forbids_inline_script_and_framing(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        page = httpx2.get(room.url + "/classroom/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and "<script src=" in page.text


def _room(server) -> dict:
    answer = httpx2.get(server.url + "/classroom/api/room",
                        headers={"authorization": f"Bearer {server.instructor_token}"})
    assert answer.status_code == 200
    return {row["name"]: row for row in answer.json()["learners"]} | {"": answer.json()}


def test_the_errors_lessons_cause_are_counted_apart_and_only_trouble_lights_a_row(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, ["ann", "bob", "cy", "dee"], usd=1.0)
        ann, bob, cy = (client(room, tokens[name]) for name in ("ann", "bob", "cy"))
        with pytest.raises(anthropic.BadRequestError):
            ann.messages.create(model=MODEL, max_tokens=16, messages=[])  # what lesson 02 does on purpose
        with pytest.raises(anthropic.NotFoundError):
            ann.messages.create(model="no-such-model", max_tokens=16, messages=HI)
        with fault_injection.faults("overloaded"):
            with pytest.raises(anthropic.InternalServerError):
                bob.messages.create(model=MODEL, max_tokens=16, messages=HI)
        with pytest.raises(anthropic.PermissionDeniedError):  # the classroom cannot price it: a problem for you
            cy.messages.create(model=MODEL, max_tokens=16, messages=HI,
                               tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
        client(room, tokens["dee"]).messages.create(model=MODEL, max_tokens=16, messages=HI)
        eli = client(room, add_learners(room, ["eli"], usd=0.0002)["eli"])
        with pytest.raises(anthropic.PaymentRequiredError):
            eli.messages.create(model=MODEL, max_tokens=1000, messages=HI)
        seen = _room(room)
        room.store.top_up(["eli"], nano=pricing.to_nano(1.0))  # as `topup eli --usd 1` does
        after_top_up = _room(room)["eli"]
    assert (seen["ann"]["lesson_errors"], seen["ann"]["problems"], seen["ann"]["trouble"]) == (2, 0, False)
    assert (seen["bob"]["lesson_errors"], seen["bob"]["problems"], seen["bob"]["trouble"]) == (0, 1, True)
    assert seen["bob"]["last_error"].startswith("HTTP 529 overloaded_error")
    assert (seen["cy"]["problems"], seen["cy"]["trouble"]) == (1, True)
    assert (seen["dee"]["errors"], seen["dee"]["trouble"]) == (0, False)
    assert (seen["eli"]["refused"], seen["eli"]["trouble"], seen[""]["out_of_budget"][0]["name"]) == (1, True, "eli")
    # Once the instructor has answered it, the refusal no longer lights the row; it is still the last error.
    assert (after_top_up["refused"], after_top_up["trouble"]) == (0, False)
    assert after_top_up["last_error"].startswith("HTTP 402 billing_error")
    totals = seen[""]["totals"]
    assert (totals["lesson_errors"], totals["problems"], totals["refused"]) == (2, 3, 1)


def test_a_learner_token_on_the_dashboard_is_told_it_is_one(tmp_path):
    with classroom(tmp_path / "room.db") as room:
        tokens = add_learners(room, ["ann"])
        for token in (tokens["ann"], "clsrm-7-not-a-real-secret"):
            answer = httpx2.get(room.url + "/classroom/api/room", headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 401
            words = answer.json()["error"]["message"]
            assert "learner token" in words and "instructor token" in words and "serve" in words
            assert "ann" not in answer.text
        for token in ("clsrm-instructor-wrong", "sk-ant-something"):
            answer = httpx2.get(room.url + "/classroom/api/room", headers={"x-api-key": token})
            assert answer.status_code == 401 and "learner token" not in answer.text
