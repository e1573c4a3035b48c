"""Graders for lesson 15: a code-graded check, a harness that runs a prompt over a test set, the eval as a batch.

Both are graded on inputs drawn for each run: replies built as the API sends them for the check, and
test cases, prompts and a model drawn from the catalog for the harness, run on the grader's own offline
client so that what was sent can be read from its usage log. Neither grade depends on a model's wording.
Evaluations as the docs describe them: https://platform.claude.com/docs/en/test-and-evaluate/develop-tests
(code-graded checks first, model-graded ones with a clear rubric).
"""

from __future__ import annotations

import json
import random
from typing import Any, Optional

import anthropic
import httpx2

from .. import catalog
from ..connection import OFFLINE_BASE_URL, OFFLINE_KEY
from ..offline.transport import OfflineTransport
from ..usage import BATCH_RESULTS, RecordingTransport, UsageLog
from . import correct, draw, grader, grader_client, kit_function, not_yet, over_rounded, same_cost, text_of_content

HINTS = {
    "15.1": (
        "Join the text of the reply's text blocks (a reply may open with a thinking block, and a refusal has no "
        "text at all), then compare it with `expected` once case, the whitespace around it and one final full "
        "stop no longer count.",
        "Section 2's `exact_label` compares exactly. The same steps for another check, whether a reply says yes: "
        "`text = \"\".join(block.text for block in reply.content if block.type == \"text\")`, then "
        "`return text.strip().lower() in (\"yes\", \"yes.\")`. Yours compares with `expected`, whatever label it is.",
    ),
    "15.2": (
        "One `client.messages.create` per case, in the order of `cases`: `model`, `system=prompt[\"system\"]`, and "
        "the prompt's examples followed by the case's input as the last user turn. Grade each reply with "
        "`grade(reply, case[\"expected\"])`, and read its tokens from `reply.usage`.",
        "Section 2's `evaluate` sends and grades each case; take `client`, `cases` and the check from the "
        "parameters instead of the notebook. Price each reply on the model it went to, not on `DEFAULT_MODEL`: "
        "`catalog.cost_usd(model, input_tokens, output_tokens)`.",
    ),
    "15.3": (
        "One `client.messages.batches.create(requests=[...])` with a request per case, `custom_id` its `id`; poll "
        "`client.messages.batches.retrieve(batch.id)` until `processing_status` is \"ended\", then read "
        "`client.messages.batches.results(batch.id)` and match each result to its case by `custom_id`.",
        "Section 6 does all of it for the lesson's cases; take the client, model, prompt, cases and check from the "
        "parameters. A result whose `result.type` is not \"succeeded\" has no message: its row fails at no cost. "
        "A succeeded one costs `catalog.cost_usd(model, input_tokens, output_tokens) * catalog.batch_multiplier()`.",
    ),
}

LABELS = ("tools", "water", "plots", "compost", "keys", "events", "pests", "bees", "paths", "seeds")


# --- 15.1 ---------------------------------------------------------------------------------------------------------

def _reply(blocks: list[dict], stop_reason: str = "end_turn") -> anthropic.types.Message:
    """A reply as the API sends it, with the content drawn for a case."""
    return anthropic.types.Message.model_validate({
        "id": "msg_01lesson15grader", "type": "message", "role": "assistant", "model": catalog.DEFAULT_MODEL,
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 120, "output_tokens": 4},
    })


def _text(text: str) -> dict:
    return {"type": "text", "text": text, "citations": None}


def _thinking(rng: random.Random) -> dict:
    return {"type": "thinking", "thinking": rng.choice(("", "The member asks about a leaking hose.")),
            "signature": "a2l0LWxlc3NvbjE1LWdyYWRlcg=="}


def _label_cases(rng: random.Random) -> list[tuple[str, anthropic.types.Message, str, bool]]:
    """(what the reply is, the reply, the expected label, whether it should pass), shuffled."""
    expected, other, third = rng.sample(LABELS, 3)
    shouty = rng.choice((expected.upper(), expected.capitalize()))
    cases = [
        ("a reply whose text is the expected label", _reply([_text(expected)]), expected, True),
        (f"a reply whose text is {shouty + '.'!r} with a line break after it", _reply([_text(f" {shouty}.\n")]),
         expected, True),
        ("a reply that opens with a thinking block, then another label than the expected one",
         _reply([_thinking(rng), _text(expected)]), other, False),
        ("a reply that opens with a thinking block, then the expected label",
         _reply([_thinking(rng), _text(expected.capitalize())]), expected, True),
        ("a reply naming another label", _reply([_text(other)]), expected, False),
        ("a reply that puts the label in a sentence", _reply([_text(f"This one is about {expected}.")]), expected,
         False),
        ("a reply that gives two labels", _reply([_text(f"{expected}, {third}")]), expected, False),
        ("a refusal, with no text at all", _reply([], "refusal"), expected, False),
        ("a reply cut off by max_tokens", _reply([_text(expected[:2])], "max_tokens"), expected, False),
        ("a reply whose text is empty", _reply([_text("")]), expected, False),
    ]
    rng.shuffle(cases)
    return cases


def _explain_check(error: BaseException) -> Optional[str]:
    if isinstance(error, IndexError) or (isinstance(error, AttributeError) and "text" in str(error)):
        return ("Read a reply by block type, not by position: `block.text` only from blocks whose `type` is "
                "\"text\" (a reply may open with a thinking block, and a refusal has no blocks at all).")
    return None


@grader("15.1 a code-graded check")
def label_check(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `label_check(reply, expected)` and pass the function itself: "
                       "`check.lesson15.label_check(label_check)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `label_check(reply, expected)` yourself.")
    rng, seed = draw(seed)
    cases = _label_cases(rng)
    for what, reply, expected, truth in cases:
        try:
            got = function(reply, expected)
        except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
            hint = _explain_check(error) or "Read the reply's text from its text blocks; a refusal has none."
            return not_yet(f"label_check() raised {type(error).__name__}: {error} on {what} (seed {seed}). {hint}")
        if got is None:
            return not_yet("label_check() returned None: return True when the reply is the expected label, "
                           "else False.")
        if not isinstance(got, bool):
            return not_yet(f"label_check() returned {got!r}: return True or False.")
        if got != truth:
            shown = "".join(b.text for b in reply.content if b.type == "text")
            should = "pass" if truth else "fail"
            return not_yet(f"on {what} (text {shown!r}, expected {expected!r}), label_check() returned {got}: "
                           f"it should {should} (seed {seed}).")
    passing = sum(truth for *_, truth in cases)
    return correct(f"label_check() passed the {passing} right replies and failed the {len(cases) - passing} wrong ones "
                   "drawn for this run: other case and a final full stop, a thinking block first, another label, "
                   "the label inside a sentence, a refusal and a cut-off reply among them.")


# --- 15.2 ---------------------------------------------------------------------------------------------------------

TICKETS = (
    ("The tap by the gate drips all night.", "water"), ("Is the spade back from repair?", "tools"),
    ("When can I get a half plot?", "plots"), ("Which compost bay takes weeds?", "compost"),
    ("The wheelbarrow has a flat tyre.", "tools"), ("My plot is under a tree: can I move?", "plots"),
    ("Who holds the spare key to the shed?", "keys"), ("Is the seed swap on Saturday?", "events"),
    ("Slugs ate all my lettuces.", "pests"), ("A swarm of bees landed on the fence.", "bees"),
    ("The path to plot 9 is flooded.", "paths"), ("The water butts are empty again.", "water"),
    ("May I borrow the hedge shears?", "tools"), ("Can two of us share one plot?", "plots"),
    ("Aphids are on every bean plant.", "pests"), ("I lost my gate key.", "keys"),
)
EXAMPLES = (
    ("The hose by the gate leaks.", "water"), ("Who has borrowed the big spade?", "tools"),
    ("Can I swap my plot for a sunnier one?", "plots"), ("The compost bay smells bad.", "compost"),
    ("Mice got into the seed tin.", "pests"),
)
INSTRUCTIONS = (
    "You route messages sent to the garden's help desk. Answer with one word, the category.",
    "Sort each member's message into one category and answer with that category only.",
    "Classify the help-desk message. Reply with a single lowercase category name.",
)


def _draw_prompts(rng: random.Random) -> list[dict]:
    """Two prompts for one test set, as the lesson writes them: without examples, and with a few."""
    instruction = f"{rng.choice(INSTRUCTIONS)} Categories: {', '.join(rng.sample(LABELS, len(LABELS)))}."
    examples = []
    for text, label in rng.sample(EXAMPLES, rng.randrange(2, 5)):
        examples += [{"role": "user", "content": text}, {"role": "assistant", "content": label}]
    return [{"system": instruction, "examples": []}, {"system": instruction, "examples": examples}]


CASES = 5
"""Cases per grading run: the success message, stored in the solution notebook, is the same on every run."""


def _draw_cases(rng: random.Random) -> list[dict]:
    numbers = rng.sample(range(100, 1000), 6)
    by_label: dict[str, list[str]] = {}
    for text, label in TICKETS:
        by_label.setdefault(label, []).append(text)
    # One case per label: a reply graded against another case's label always shows.
    picked = [(rng.choice(by_label[label]), label) for label in rng.sample(sorted(by_label), CASES)]
    return [{"id": f"case-{n}", "input": text, "expected": label} for n, (text, label) in zip(numbers, picked)]


def _draw_model(rng: random.Random) -> str:
    current = [m for m in catalog.available() if m.lifecycle == "active" and not m.legacy and not m.invite_only]
    return rng.choice([m for m in current if m.id != catalog.DEFAULT_MODEL]).id


class _Verdicts:
    """The ``grade`` the grader hands the harness: a drawn verdict per reply, kept to compare with the rows."""

    def __init__(self, rng: random.Random, count: int):
        self.rng = rng
        self.given: dict[str, tuple[str, bool]] = {}  # reply id -> (the expected label it was given, the verdict)
        # Both verdicts among the first ``count``: a harness that ignores them cannot match by luck.
        self.planned = [True, False] + [rng.random() < 0.5 for _ in range(max(count - 2, 0))]
        rng.shuffle(self.planned)

    def __call__(self, reply: Any, expected: Any) -> bool:
        verdict = self.planned.pop() if self.planned else self.rng.random() < 0.5
        if isinstance(reply, anthropic.types.Message):
            self.given[reply.id] = (expected, verdict)
        return verdict


def _turns(messages: Any) -> list[tuple[Any, str]]:
    return [(m.get("role"), " ".join(text_of_content(m.get("content")).split())) for m in messages or []
            if isinstance(m, dict)]


def _system_text(system: Any) -> str:
    return " ".join(text_of_content(system).split()) if system is not None else ""


def _request_problem(request: dict, case: dict, model: str, prompt: dict) -> Optional[str]:
    where = f"the request for {case['id']}"
    if catalog.lookup(str(request.get("model"))) != catalog.lookup(model):
        return (f"{where} went to {request.get('model')}, not to `model` ({model}): send every case to the model "
                "the harness is given.")
    if _system_text(request.get("system")) != _system_text(prompt["system"]):
        return f"{where} did not carry the prompt's system prompt: send `system=prompt[\"system\"]` unchanged."
    if _turns(request.get("messages"))[:-1] != _turns(prompt["examples"]):
        return (f"{where} did not carry the prompt's examples before the case: send `prompt[\"examples\"]` as the "
                "first turns (an empty list for a prompt without examples), then the case's input.")
    return None


def _row_problem(row: Any, case: dict, record: Any, verdicts: _Verdicts, model: str, seed: int) -> Optional[str]:
    name = f"the row of {case['id']}"
    if not isinstance(row, dict):
        return f"{name} is a {type(row).__name__}: make each row a dict."
    missing = [k for k in ("id", "passed", "input_tokens", "output_tokens", "cost_usd") if k not in row]
    if missing:
        return f"{name} has no {', '.join(repr(k) for k in missing)}: give each row all five keys."
    if row["id"] != case["id"]:
        return (f"row {case['id']!r} holds {row['id']!r}: return one row per case, in the order of `cases`, each "
                "with its case's `id`.")
    given = verdicts.given.get(record.message_id)
    if given is None:
        return (f"your harness never called `grade` with the reply to {case['id']}: grade every reply with "
                "`grade(reply, case[\"expected\"])`.")
    if given[0] != case["expected"]:
        return (f"`grade` got {given[0]!r} as the expected label of {case['id']}, whose expected label is "
                f"{case['expected']!r}: pass `case[\"expected\"]`.")
    if row["passed"] is not given[1]:
        return (f"{name} says passed={row['passed']!r}, but `grade` returned {given[1]} for its reply: the row's "
                f"`passed` is what the check returned (seed {seed}).")
    for key, logged in (("input_tokens", record.input_tokens), ("output_tokens", record.output_tokens)):
        if row[key] != logged:
            return (f"{name} has {key}={row[key]!r}, but its reply's usage says {logged}: read it from "
                    f"`reply.usage.{key}`.")
    cost = row["cost_usd"]
    if isinstance(cost, bool) or not isinstance(cost, (int, float)):
        return f"{name} has cost_usd={cost!r}: give the cost in dollars, as a number."
    if same_cost(cost, record.cost_usd):
        return None
    at_default = catalog.cost_usd(catalog.DEFAULT_MODEL, record.input_tokens, record.output_tokens)
    if same_cost(cost, at_default):
        return (f"{name} is priced at `DEFAULT_MODEL`'s prices, but its reply came from {model}: price each reply "
                "on the model it went to, `catalog.cost_usd(model, ...)`.")
    if same_cost(cost, record.cost_usd * 1_000_000):
        return f"{name}: prices in the catalog are per million tokens; `catalog.cost_usd` divides for you."
    return over_rounded(cost, record.cost_usd, name) or (
        f"{name} costs ${cost:.8f} by your harness, but its {record.input_tokens:,} input and "
        f"{record.output_tokens:,} output tokens on {model} cost ${record.cost_usd:.8f} at the catalog's prices "
        f"(seed {seed}).")


def _run_problem(function: Any, model: str, prompt: dict, cases: list[dict], rng: random.Random,
                 seed: int) -> Optional[str]:
    log, verdicts = UsageLog(), _Verdicts(rng, len(cases))
    sent_cases = [dict(case) for case in cases]  # the learner's function may change its copy
    try:
        rows = function(grader_client(log), model, {"system": prompt["system"], "examples": list(prompt["examples"])},
                        sent_cases, verdicts)
    except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
        return (f"run_eval() raised {type(error).__name__}: {error} (seed {seed}). Its signature is "
                "`run_eval(client, model, prompt, cases, grade)`; send with the `client` it is given.")
    if rows is None:
        return "run_eval() returned None: return a list with one row (a dict) per case."
    if not isinstance(rows, list):
        return f"run_eval() returned a {type(rows).__name__}: return a list with one row per case."
    calls = [r for r in log.records if r.path == "/v1/messages" and r.status == 200]
    by_input: dict[str, list] = {}
    for record in calls:
        turns = _turns((record.request or {}).get("messages"))
        if turns and turns[-1][0] == "user":
            by_input.setdefault(turns[-1][1], []).append(record)
    if not calls:
        return ("run_eval() sent nothing with the client it was given: send each case with that `client`, not the "
                "notebook's own.")
    for case in cases:
        found = by_input.get(" ".join(case["input"].split()), [])
        if not found:
            return (f"no request carried the input of {case['id']} ({case['input']!r}) as its last user turn: "
                    "send every case of `cases`.")
        if len(found) > 1:
            return f"{case['id']} was sent {len(found)} times: send each case once."
        problem = _request_problem(found[0].request or {}, case, model, prompt)
        if problem:
            return problem
    if len(calls) > len(cases):
        return (f"run_eval() sent {len(calls)} requests for {len(cases)} cases: one request per case, each with the "
                "case's input last.")
    if len(rows) != len(cases):
        return f"run_eval() returned {len(rows)} rows for {len(cases)} cases: return one row per case."
    for row, case in zip(rows, cases):
        problem = _row_problem(row, case, by_input[" ".join(case["input"].split())][0], verdicts, model, seed)
        if problem:
            return problem
    return None


@grader("15.2 a harness that runs a prompt over a test set")
def harness(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `run_eval(client, model, prompt, cases, grade)` and pass the function itself: "
                       "`check.lesson15.harness(run_eval)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `run_eval(client, model, prompt, cases, grade)` "
                       "yourself.")
    rng, seed = draw(seed)
    cases, model = _draw_cases(rng), _draw_model(rng)
    for prompt in _draw_prompts(rng):
        problem = _run_problem(function, model, prompt, cases, rng, seed)
        if problem:
            return not_yet(problem)
    return correct(f"on {len(cases)} cases drawn for this run, run twice on a model drawn from the catalog (a prompt "
                   "without examples, then one with), the grader's usage log shows one request per case with the "
                   "prompt's system prompt and examples, and your rows, in the order of the cases, carry what `grade` "
                   "returned for each reply, the tokens of its usage and its cost at the catalog's prices for that "
                   "model.")


# --- 15.3 ---------------------------------------------------------------------------------------------------------

class _ResultsInAnyOrder(httpx2.BaseTransport):
    """Around the grader's recording transport: a batch's results in another order than its requests (the API
    promises no order), keeping what the usage log does not: the batches created, which reply answered which
    ``custom_id``. The log below it records the calls as the kit's offline backend answered them."""

    def __init__(self, log: UsageLog) -> None:
        self.inner = RecordingTransport(OfflineTransport(), offline=True, log=log)
        self.created: list[dict] = []
        self.answered: dict[str, dict] = {}  # custom_id -> its result, as the results carried it

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        path = request.url.path.rstrip("/")
        if response.status_code != 200:
            return response
        if request.method == "POST" and path == "/v1/messages/batches":
            self.created.append(json.loads(request.content))
        if request.method == "GET" and BATCH_RESULTS.fullmatch(path):
            lines = response.read().splitlines()
            for line in lines:
                entry = json.loads(line)
                self.answered[entry["custom_id"]] = entry["result"]
            lines = lines[1:] + lines[:1]  # every result moves: matching by position cannot work
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return httpx2.Response(200, headers=headers, content=b"\n".join(lines) + b"\n", request=request)
        return response


def _batch_client(transport: _ResultsInAnyOrder) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=OFFLINE_KEY, base_url=OFFLINE_BASE_URL, max_retries=0,
                               http_client=httpx2.Client(transport=transport))


def _batch_request_problem(created: list[dict], cases: list[dict], model: str, prompt: dict) -> Optional[str]:
    if not created:
        return "batch_eval() created no Message Batch with the client it was given: send every case in one batch."
    if len(created) > 1:
        return f"batch_eval() created {len(created)} batches: send every case in one."
    requests = [r for r in created[0].get("requests") or [] if isinstance(r, dict)]
    for case in cases:
        mine = [r for r in requests if r.get("custom_id") == case["id"]]
        if len(mine) != 1:
            return (f"{'no' if not mine else len(mine)} requests of the batch have the custom_id {case['id']!r}: "
                    "give each case's request its `id` as `custom_id`, once.")
        params = mine[0].get("params") or {}
        turns = _turns(params.get("messages"))
        if not turns or turns[-1] != ("user", " ".join(case["input"].split())):
            return (f"the request with custom_id {case['id']!r} does not end with that case's input as its user "
                    "turn: each case's request carries its own input.")
        problem = _request_problem(params, case, model, prompt)
        if problem:
            return problem
    if len(requests) > len(cases):
        return f"the batch has {len(requests)} requests for {len(cases)} cases: one request per case."
    return None


def _batch_row_problem(row: Any, case: dict, result: dict, log: UsageLog, verdicts: _Verdicts) -> Optional[str]:
    name = f"the row of {case['id']}"
    if not isinstance(row, dict) or any(k not in row for k in ("id", "passed", "cost_usd")):
        return f"{name} is not a dict with the keys 'id', 'passed' and 'cost_usd'."
    if row["id"] != case["id"]:
        return (f"row {case['id']!r} holds {row['id']!r}: return one row per case, in the order of `cases` (the "
                "results come back in any order: match them by `custom_id`).")
    if result.get("type") != "succeeded":
        if row["passed"] is not False or row["cost_usd"] != 0:
            return (f"the request of {case['id']} ended {result.get('type')} (its input is empty), but its row says "
                    f"passed={row['passed']!r}, cost_usd={row['cost_usd']!r}: count a request that did not succeed "
                    "as failed, at no cost.")
        return None
    message_id = result["message"]["id"]
    given = verdicts.given.get(message_id)
    if given is None:
        return (f"`grade` never got the reply to {case['id']}, the message of the result whose custom_id is "
                f"{case['id']!r}: match each result to its case by `custom_id`, not by position.")
    if given[0] != case["expected"] or row["passed"] is not given[1]:
        return (f"{name} does not carry `grade(message, case[\"expected\"])` for the result whose custom_id is "
                f"{case['id']!r}: match each result to its case by `custom_id`, not by position.")
    record = log.find(message_id)
    cost = row["cost_usd"]
    if isinstance(cost, bool) or not isinstance(cost, (int, float)):
        return f"{name} has cost_usd={cost!r}: give the cost in dollars, as a number."
    if record is None:
        return f"the usage log has no record of the reply to {case['id']}: read the results with the client given."
    if same_cost(cost, record.cost_usd):
        return None
    if same_cost(cost, record.cost_usd / catalog.batch_multiplier()):
        return (f"{name} is priced at the standard price: a batch's requests cost `catalog.batch_multiplier()` "
                "times it.")
    return over_rounded(cost, record.cost_usd, name) or (
        f"{name} costs ${cost:.8f} by your function, but its {record.input_tokens:,} input and "
        f"{record.output_tokens:,} output tokens cost ${record.cost_usd:.8f} at the catalog's batch price.")


@grader("15.3 the eval as a Message Batch")
def batch(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("define `batch_eval(client, model, prompt, cases, grade)` and pass the function itself: "
                       "`check.lesson15.batch(batch_eval)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `batch_eval(client, model, prompt, cases, "
                       "grade)` yourself.")
    rng, seed = draw(seed)
    cases, model, prompt = _draw_cases(rng), _draw_model(rng), _draw_prompts(rng)[1]
    unused = sorted(set(LABELS) - {case["expected"] for case in cases})
    cases.insert(rng.randrange(len(cases) + 1), {"id": f"case-{rng.randrange(1000, 10000)}", "input": "",
                                                 "expected": rng.choice(unused)})  # sent empty: it ends errored
    log = UsageLog()
    transport, verdicts = _ResultsInAnyOrder(log), _Verdicts(rng, len(cases) - 1)
    rows, error = None, None
    try:
        rows = function(_batch_client(transport), model, {"system": prompt["system"],
                        "examples": list(prompt["examples"])}, [dict(case) for case in cases], verdicts)
    except Exception as raised:  # noqa: BLE001 - the learner's function can raise anything
        error = raised
    one_by_one = [r for r in log.records if r.path == "/v1/messages"]
    if one_by_one:  # before the error: the empty case's own call is then what failed
        return not_yet(f"batch_eval() sent {len(one_by_one)} requests one at a time: put every case in one Message "
                       "Batch, with `client.messages.batches.create`.")
    if error is not None:
        return not_yet(f"batch_eval() raised {type(error).__name__}: {error} (seed {seed}). Its signature is "
                       "`batch_eval(client, model, prompt, cases, grade)`; use the `client` it is given.")
    if rows is None:
        return not_yet("batch_eval() returned None: return a list with one row (a dict) per case.")
    problem = _batch_request_problem(transport.created, cases, model, prompt)
    if problem:
        return not_yet(problem)
    if not transport.answered:
        return not_yet("batch_eval() never read the batch's results: poll until `processing_status` is \"ended\", "
                       "then read `client.messages.batches.results(batch.id)`.")
    if not isinstance(rows, list) or len(rows) != len(cases):
        return not_yet(f"batch_eval() returned {len(rows) if isinstance(rows, list) else type(rows).__name__} "
                       f"rows for {len(cases)} cases: return a list with one row per case.")
    expected_of = {case["id"]: case["expected"] for case in cases}
    for custom_id, result in transport.answered.items():
        given = verdicts.given.get(result["message"]["id"]) if result.get("type") == "succeeded" else None
        if given is not None and given[0] != expected_of.get(custom_id):
            return not_yet(f"`grade` got the reply whose custom_id is {custom_id!r} with {given[0]!r}, the expected "
                           "label of another case: the results come back in any order, so match each result to its "
                           f"case by `custom_id`, not by position (seed {seed}).")
    for row, case in zip(rows, cases):
        problem = _batch_row_problem(row, case, transport.answered.get(case["id"], {}), log, verdicts)
        if problem:
            return not_yet(f"{problem} (seed {seed})")
    return correct(f"{len(cases)} cases drawn for this run went out in one Message Batch, each with its id as "
                   "`custom_id`; the results came back in another order, and your rows, in the order of the cases, "
                   "carry what `grade` returned for each case's own result, its cost at the catalog's batch price, "
                   "and a failed row at no cost for the request that ended errored.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
