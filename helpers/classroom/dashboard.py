"""The instructor's view of the room: a static page that polls ``/classroom/api/room`` every two seconds.

The page holds no data and no token: the instructor token comes from the link's ``#fragment``
(which browsers never send to a server) or is pasted in, and stays in the tab's sessionStorage.
Learners' names and errors are untrusted text: the script writes them with ``textContent`` only,
and the Content-Security-Policy allows no inline script and no other origin.
"""

from __future__ import annotations

import shlex
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Optional

from .pricing import to_usd
from .store import Learner, Store, is_lesson_error

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
STATIC = {
    "/classroom": ("text/html; charset=utf-8", (HERE / "dashboard.html").read_text(encoding="utf-8")),
    "/classroom/dashboard.js": ("text/javascript; charset=utf-8", (HERE / "dashboard.js").read_text(encoding="utf-8")),
    "/classroom/dashboard.css": ("text/css; charset=utf-8", (HERE / "dashboard.css").read_text(encoding="utf-8")),
    "/classroom/favicon.svg": ("image/svg+xml", (HERE / "favicon.svg").read_text(encoding="utf-8")),
}


def dollars(usd: Optional[float]) -> str:
    """An amount as the dashboard writes it (``dollars()`` in dashboard.js), so the terminal and the page agree:
    4 decimals under $1, 2 from $1, rounded as JavaScript's ``toFixed`` rounds (the float's exact value, a tie
    away from zero)."""
    if usd is None:
        return "\u2014"
    places = 4 if usd < 1 else 2
    exact = Decimal(usd + 0.0)  # + 0.0: -0.0 is written "0", as toFixed writes it
    return "$" + str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=Context(prec=60)))


def top_up_command(learner: Learner) -> str:
    """The command that lets a learner refused for budget call again (the amount is the instructor's choice)."""
    tokens_ran_out = learner.budget_tokens is not None and (
        learner.budget_nano is None or learner.used_tokens + learner.held_tokens >= learner.budget_tokens)
    amount = "--tokens N" if tokens_ran_out else "--usd X"
    return f"python -m helpers.classroom topup {shlex.quote(learner.name)} {amount}"


def _errors(learner: Learner) -> dict:
    """The learner's errors split: those their lessons cause on purpose, and the trouble the instructor should
    see (server, account, network, limits). Refusals for budget are trouble, and also counted apart."""
    # A refusal that a top-up (or a new budget) has answered is no longer trouble, though it stays the last error.
    answered_refusal = learner.last_error_refused and not learner.refused
    last_is_trouble = (learner.last_error is not None and not is_lesson_error(learner.last_error)
                       and not answered_refusal)
    return {
        "errors": learner.errors, "lesson_errors": learner.lesson_errors,
        "problems": learner.errors - learner.lesson_errors, "refused": learner.refused,
        "last_error": learner.last_error, "last_error_is_problem": last_is_trouble,
        "trouble": last_is_trouble or learner.refused > 0,
        "fix": top_up_command(learner) if learner.refused else None,
    }


def _budget(learner: Learner) -> dict:
    return {
        "spent_usd": to_usd(learner.spent_nano), "held_usd": to_usd(learner.held_nano),
        "budget_usd": None if learner.budget_nano is None else to_usd(learner.budget_nano),
        "tokens": learner.used_tokens, "held_tokens": learner.held_tokens, "budget_tokens": learner.budget_tokens,
    }


def _lessons(progress: list[dict]) -> dict[str, dict]:
    """Per lesson ("04"): exercises passed (the server saw the calls behind the pass), passed by the learner's word
    only (self-reported: no call through the server vouches for it), exercises tried, and each exercise's state."""
    lessons: dict[str, dict] = defaultdict(lambda: {"passed": 0, "self_reported": 0, "tried": 0, "exercises": {}})
    for row in progress:
        lesson = lessons[row["exercise"].split(".")[0]]
        verified = bool(row["verified"])
        lesson["tried"] += 1
        lesson["passed"] += verified
        lesson["self_reported"] += bool(row["passed"]) and not verified
        lesson["exercises"][row["exercise"]] = {
            "passed": verified, "self_reported": bool(row["passed"]) and not verified, "attempts": row["attempts"],
            "failures": row["failures"], "failures_since_pass": row["failures_since_pass"],
        }
    return dict(sorted(lessons.items()))


def room(store: Store, stuck_after: int, *, rehearsal: bool, now: Optional[float] = None) -> dict:
    """Everything the dashboard shows, as JSON-ready data."""
    now = time.time() if now is None else now
    learners = store.learners(with_progress=True)
    rows, stuck = [], []
    for learner in learners:
        for row in learner.progress:
            if not row["last_passed"] and row["failures_since_pass"] >= stuck_after:
                stuck.append({"name": learner.name, "exercise": row["exercise"],
                              "failures": row["failures_since_pass"]})
        rows.append({
            "name": learner.name, "calls": learner.calls, **_errors(learner),
            "idle_s": None if learner.last_seen is None else max(0, round(now - learner.last_seen)),
            **_budget(learner), "lessons": _lessons(learner.progress),
        })
    caps = store.caps()
    totals = {
        "learners": len(learners), "calls": sum(r["calls"] for r in rows), "errors": sum(r["errors"] for r in rows),
        "lesson_errors": sum(r["lesson_errors"] for r in rows), "problems": sum(r["problems"] for r in rows),
        "refused": sum(r["refused"] for r in rows),
        "spent_usd": to_usd(sum(x.spent_nano for x in learners)), "held_usd": to_usd(sum(x.held_nano for x in learners)),
        "tokens": sum(x.used_tokens for x in learners),
        "cap_usd": None if caps.nano is None else to_usd(caps.nano), "cap_tokens": caps.tokens,
        "exercises_passed": sum(lesson["passed"] for r in rows for lesson in r["lessons"].values()),
        "exercises_self_reported": sum(lesson["self_reported"] for r in rows for lesson in r["lessons"].values()),
    }
    out_of_budget = [{"name": r["name"], "refused": r["refused"], "fix": r["fix"]} for r in rows if r["refused"]]
    return {"rehearsal": rehearsal, "stuck_after": stuck_after, "learners": rows, "totals": totals,
            "stuck": sorted(stuck, key=lambda s: -s["failures"]), "out_of_budget": out_of_budget}


def own_view(learner: Optional[Learner]) -> dict:
    """What a learner may see of their own account (``GET /classroom/me``): nobody else's."""
    if learner is None:
        return {}
    return {"name": learner.name, "calls": learner.calls, **_budget(learner)}
