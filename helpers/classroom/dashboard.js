// The instructor's dashboard. Every learner-supplied string (names, errors) is written with
// textContent, never as markup. The token lives in this tab's sessionStorage only.
"use strict";

const KEY = "classroom-instructor-token";
const POLL_MS = 2000;
let timer = null;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function dollars(x) { return x === null || x === undefined ? "—" : "$" + x.toFixed(x < 1 ? 4 : 2); }
function count(x) { return x === null || x === undefined ? "—" : x.toLocaleString("en-US"); }
function plural(n, word) { return count(n) + " " + word + (n === 1 ? "" : "s"); }

function tokenFromLink() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);  // the token leaves the address bar
  }
  return sessionStorage.getItem(KEY);
}

function showProblem(text) {
  const problem = document.getElementById("problem");
  problem.textContent = text;
  problem.hidden = !text;
}

function meter(spent, limit) {
  const box = el("div", null, "meter");
  const bar = el("i");
  const share = limit ? Math.min(1, spent / limit) : 0;
  bar.style.width = (share * 100).toFixed(1) + "%";
  if (share >= 1) bar.className = "full"; else if (share >= 0.8) bar.className = "high";
  box.appendChild(bar);
  return box;
}

function card(value, label) {
  const box = el("div", null, "card");
  box.appendChild(el("b", value));
  box.appendChild(el("span", label));
  return box;
}

function render(room) {
  document.getElementById("room").hidden = false;
  document.getElementById("login").hidden = true;
  const mode = document.getElementById("mode");
  mode.textContent = room.rehearsal ? "rehearsal: offline backend, no key" : "live: Anthropic API";
  mode.className = room.rehearsal ? "badge rehearsal" : "badge";
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();

  const t = room.totals;
  const totals = document.getElementById("totals");
  totals.replaceChildren(
    card(count(t.learners), "learners"),
    card(count(t.calls), "calls"),
    card(dollars(t.spent_usd) + (t.cap_usd !== null ? " / " + dollars(t.cap_usd) : ""),
      t.cap_usd !== null ? "spent of the class cap" : "spent (no class cap)"),
    card(dollars(t.held_usd), "held by calls running"),
    card(count(t.tokens), "tokens"),
    card(count(t.lesson_errors), "lesson errors"),
    card(count(t.problems), "problems"),
    card(count(t.refused), "calls refused for budget"),
    card(count(t.exercises_passed), "exercises passed (the server saw the calls)"),
    card(count(t.exercises_self_reported), "self-reported passes (nothing seen behind them)"),
  );

  document.getElementById("stuck-rule").textContent =
    "Failed the same exercise " + room.stuck_after + " times or more since their last pass.";
  const stuck = document.getElementById("stuck");
  stuck.replaceChildren(...(room.stuck.length ? room.stuck.map((s) => {
    const item = el("li");
    item.appendChild(el("span", s.name, "who"));
    item.appendChild(document.createTextNode(" on exercise " + s.exercise + " (" + s.failures + " failed tries)"));
    return item;
  }) : [el("li", "Nobody right now.", "muted")]));

  // Only the instructor can let these learners call again: listed apart, with the command that does it.
  const outOfBudget = document.getElementById("out-of-budget");
  outOfBudget.replaceChildren(...(room.out_of_budget.length ? room.out_of_budget.map((b) => {
    const item = el("li");
    item.appendChild(el("span", b.name, "who"));
    item.appendChild(document.createTextNode(": out of budget, " + plural(b.refused, "call") + " refused. Fix: "));
    item.appendChild(el("code", b.fix));
    return item;
  }) : [el("li", "Nobody right now.", "muted")]));

  const lessons = [...new Set(room.learners.flatMap((r) => Object.keys(r.lessons)))].sort();
  const head = document.getElementById("head");
  const columns = ["Learner", "Calls", "Spend / budget", "Tokens", ...lessons.map((l) => "L" + l), "Errors",
    "Last error"];
  head.replaceChildren(...columns.map((h) => el("th", h)));
  const stuckNames = new Set(room.stuck.map((s) => s.name));
  const body = document.querySelector("#learners tbody");
  body.replaceChildren(...room.learners.map((r) => {
    const row = el("tr");
    if (stuckNames.has(r.name)) row.classList.add("stuck");
    if (r.trouble) row.classList.add("trouble");  // not for the errors lessons cause on purpose
    row.appendChild(el("td", r.name, "name"));
    row.appendChild(el("td", count(r.calls), "num"));
    const spend = el("td", dollars(r.spent_usd) + " / " + dollars(r.budget_usd), "num");
    if (r.budget_usd !== null) spend.appendChild(meter(r.spent_usd + r.held_usd, r.budget_usd));
    row.appendChild(spend);
    const tokens = el("td", count(r.tokens) + (r.budget_tokens !== null ? " / " + count(r.budget_tokens) : ""), "num");
    if (r.budget_tokens !== null) tokens.appendChild(meter(r.tokens + r.held_tokens, r.budget_tokens));
    row.appendChild(tokens);
    for (const l of lessons) {
      const p = r.lessons[l];
      const cell = el("td", p ? p.passed + "/" + p.tried : "", "lesson");
      if (p) {
        cell.classList.add(p.passed === p.tried ? "done" : "partial");
        // A pass no call through this server vouches for is shown apart: the learner's word only.
        if (p.self_reported) cell.appendChild(el("span", "+" + p.self_reported + " self-reported", "self-reported"));
        cell.title = Object.entries(p.exercises)
          .map(([id, e]) => id + (e.passed ? " passed" : e.self_reported ? " passed, self-reported" : " not yet") +
            " (" + e.attempts + " tries)").join("\n");
      }
      row.appendChild(cell);
    }
    const errors = el("td", null, "errors");
    if (r.refused) errors.appendChild(el("div", "out of budget: " + plural(r.refused, "call") + " refused", "flag"));
    if (r.lesson_errors) errors.appendChild(el("div", plural(r.lesson_errors, "lesson error"), "lesson-errors"));
    if (r.problems) errors.appendChild(el("div", plural(r.problems, "problem"), "problems"));
    row.appendChild(errors);
    row.appendChild(el("td", r.last_error || "", r.last_error_is_problem ? "error problem" : "error"));
    return row;
  }));
}

async function poll() {
  const token = sessionStorage.getItem(KEY);
  if (!token) return askForToken();
  try {
    const response = await fetch("/classroom/api/room", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      const answer = await response.json().catch(() => ({}));
      const message = answer.error && answer.error.message;
      // The server tells a learner's token apart; any other token is simply not this run's.
      showProblem(/learner token/.test(message || "") ? message
        : "That instructor token is not valid for this server (a restart prints a new one).");
      return askForToken();
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
    showProblem("");
  } catch (error) {
    showProblem("Cannot reach the classroom server (" + error.message + "); trying again.");
  }
  timer = setTimeout(poll, POLL_MS);
}

function askForToken() {
  clearTimeout(timer);
  document.getElementById("room").hidden = true;
  document.getElementById("login").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token");
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    poll();
  });
  tokenFromLink();
  poll();
});
