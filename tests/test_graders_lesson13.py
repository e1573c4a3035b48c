"""Lesson 13 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from helpers import check

LESSON = "13_agent_loop.ipynb"
BUDGET, PAUSE, RUNNER = "cell-37", "cell-39", "cell-41"

TWICE_THE_WORST = """def budget_loop(client, request, functions, max_usd):
    messages, spent = list(request["messages"]), 0.0
    while True:
        body = {**request, "messages": messages}
        last = spent + 2 * most_it_can_cost(client, body) > max_usd
        if last:
            body["tool_choice"] = {"type": "none"}
        reply = client.messages.create(**body)
        spent += catalog.cost_usd(reply.model, reply.usage.input_tokens, reply.usage.output_tokens)
        if last or reply.stop_reason != "tool_use":
            return reply
        results = results_for(reply, functions)
        messages += [{"role": "assistant", "content": reply.content}, {"role": "user", "content": results}]
"""

OWN_COUNT_AND_WIDER_RESERVE = """def budget_loop(client, request, functions, max_usd):
    history = list(request["messages"])
    spent = 0.0
    for _ in range(100):
        counted = client.messages.count_tokens(model=request["model"], tools=request["tools"], messages=history)
        worst = catalog.cost_usd(request["model"], counted.input_tokens, request["max_tokens"])
        closing = max_usd - spent < 2.5 * worst
        extra = {"tool_choice": {"type": "none"}} if closing else {}
        reply = client.messages.create(**{**request, **extra, "messages": history})
        spent += catalog.cost_usd(reply.model, reply.usage.input_tokens, reply.usage.output_tokens)
        calls = [block for block in reply.content if block.type == "tool_use"]
        if closing or not calls:
            return reply
        history.append({"role": "assistant", "content": reply.content})
        history.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": c.id, "content": str(functions[c.name](**c.input))} for c in calls]})
"""


def fixed_rounds(rounds: int) -> str:
    """A loop that ignores the budget: a fixed number of tool rounds, then an answer."""
    return f"""def budget_loop(client, request, functions, max_usd):
    messages = list(request["messages"])
    for turn in range({rounds + 1}):
        body = {{**request, "messages": messages}}
        if turn == {rounds}:
            body["tool_choice"] = {{"type": "none"}}
        reply = client.messages.create(**body)
        if reply.stop_reason != "tool_use":
            return reply
        messages += [{{"role": "assistant", "content": reply.content}},
                     {{"role": "user", "content": results_for(reply, functions)}}]
"""


# 13.1 a runaway loop that stops within its budget and answers

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_budget_loop_with_twice_the_worst_case_passes(learner, seed):
    learner.run(TWICE_THE_WORST)
    result = learner.run(f"check.lesson13.budget_loop(budget_loop, seed={seed})")
    assert result.passed, result
    assert "tool_choice none" in result.message and "never spent more than its budget" in result.message


@pytest.mark.parametrize("seed", [4, 5])
def test_budget_loop_with_its_own_count_and_a_wider_reserve_passes(learner, seed):
    learner.run(OWN_COUNT_AND_WIDER_RESERVE)
    result = learner.run(f"check.lesson13.budget_loop(budget_loop, seed={seed})")
    assert result.passed, result


def test_budget_loop_unsolved(learner):
    result = learner.answer(BUDGET)
    assert not result.passed and "never called the API" in result.message and "seed" not in result.message


def test_budget_loop_the_lessons_thrifty_loop_stops_without_an_answer(learner):
    result = learner.run("check.lesson13.budget_loop(thrifty_loop, seed=7)")
    assert not result.passed and "stopped with 'tool_use'" in result.message, result


def test_budget_loop_checked_after_each_call_overspends(learner):
    learner.run("""def budget_loop(client, request, functions, max_usd):
    messages, spent = list(request["messages"]), 0.0
    while True:
        reply = client.messages.create(**{**request, "messages": messages})
        spent += catalog.cost_usd(reply.model, reply.usage.input_tokens, reply.usage.output_tokens)
        if reply.stop_reason != "tool_use":
            return reply
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": results_for(reply, functions)}]
        if spent >= max_usd:
            return client.messages.create(**{**request, "tool_choice": {"type": "none"}, "messages": messages})
""")
    result = learner.run("check.lesson13.budget_loop(budget_loop, seed=8)")
    assert not result.passed and "did not fit" in result.message and "seed 8" in result.message, result


def test_budget_loop_that_answers_at_once_is_refused(learner):
    learner.run(fixed_rounds(0))
    result = learner.run("check.lesson13.budget_loop(budget_loop, seed=9)")
    assert not result.passed and "without running the tool once" in result.message, result


@pytest.mark.parametrize("rounds", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", [10, 11])
def test_budget_loop_with_a_fixed_number_of_rounds_is_refused(learner, rounds, seed):
    learner.run(fixed_rounds(rounds))
    result = learner.run(f"check.lesson13.budget_loop(budget_loop, seed={seed})")
    assert not result.passed, result
    assert "did not fit" in result.message or "not a fixed number of times" in result.message, result


def test_budget_loop_whose_last_request_drops_the_tools_is_told_why(learner):
    code = TWICE_THE_WORST.replace('body["tool_choice"] = {"type": "none"}', 'body = {k: v for k, v in body.items() '
                                   'if k not in ("tools", "tool_choice")}')
    learner.run(code)
    result = learner.run("check.lesson13.budget_loop(budget_loop, seed=12)")
    assert not result.passed and "HTTP 400" in result.message and "tools stay declared" in result.message, result


def test_budget_loop_that_never_stops_is_ended_by_the_grader(learner):
    learner.run(fixed_rounds(500))
    result = learner.run("check.lesson13.budget_loop(budget_loop, seed=13)")
    assert not result.passed and "grader stopped answering" in result.message, result


def test_budget_loop_with_the_wrong_signature_is_named(learner):
    learner.run("def budget_loop(client, request):\n    return None")
    result = learner.run("check.lesson13.budget_loop(budget_loop)")
    assert not result.passed and "budget_loop(client, request, functions, max_usd)" in result.message


def test_budget_loop_refuses_the_kits_own_functions(learner):
    result = learner.run("check.lesson13.budget_loop(check.lesson10.tool_loop)")
    assert not result.passed and "kit's own functions" in result.message


# 13.2 a loop that continues a paused turn

def paused(learner, code: str):
    learner.run(code)
    return learner.run("check.lesson13.pause_loop(pause_loop)")


PAUSE_RIGHT = """def pause_loop(client, request, functions, max_turns=6):
    messages = list(request["messages"])
    for _ in range(max_turns):
        reply = client.messages.create(**{**request, "messages": messages})
        if reply.stop_reason == "pause_turn":
            messages.append({"role": "assistant", "content": reply.content})
            continue
        if reply.stop_reason != "tool_use":
            return reply
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": results_for(reply, functions)}]
    return reply
"""


def test_pause_loop_passes(learner):
    result = paused(learner, PAUSE_RIGHT)
    assert result.passed, result
    assert "unchanged, as the last turn and nothing after it" in result.message


def test_pause_loop_written_with_a_dispatch_passes(learner):
    result = paused(learner, """def pause_loop(client, request, functions, max_turns=6):
    history, turns = list(request["messages"]), 0
    while turns < max_turns:
        turns += 1
        reply = client.messages.create(**request | {"messages": history})
        history = history + [{"role": "assistant", "content": reply.content}]
        if reply.stop_reason == "tool_use":
            history = history + [{"role": "user", "content": results_for(reply, functions)}]
        elif reply.stop_reason != "pause_turn":
            break
    return reply
""")
    assert result.passed, result


def test_pause_loop_unsolved(learner):
    result = learner.answer(PAUSE)
    assert not result.passed and "never called the API" in result.message


def test_pause_loop_lesson_10s_loop_returns_the_paused_turn(learner):
    result = paused(learner, """def pause_loop(client, request, functions, max_turns=6):
    messages = list(request["messages"])
    for _ in range(max_turns):
        reply = client.messages.create(**{**request, "messages": messages})
        if reply.stop_reason != "tool_use":
            return reply
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": results_for(reply, functions)}]
    return reply
""")
    assert not result.passed and "stopped with pause_turn: the turn is not finished" in result.message, result


def test_pause_loop_that_asks_to_continue_in_a_user_turn_is_refused(learner):
    code = PAUSE_RIGHT.replace(
        'messages.append({"role": "assistant", "content": reply.content})',
        'messages += [{"role": "assistant", "content": reply.content}, {"role": "user", "content": "Please go on."}]')
    result = paused(learner, code)
    assert not result.passed and "added ['user'] after it" in result.message, result


def test_pause_loop_that_edits_the_paused_reply_is_refused(learner):
    code = PAUSE_RIGHT.replace(
        'messages.append({"role": "assistant", "content": reply.content})',
        'messages.append({"role": "assistant", "content": [b for b in reply.content if b.type != "text"]})')
    result = paused(learner, code)
    assert not result.passed and "unchanged" in result.message, result


# 13.3 the tool runner for a requirement it fits

RUNNER_RIGHT = """runner = client.beta.messages.tool_runner(
    model=DEFAULT_MODEL, max_tokens=400, tools=[lookup_stock], thread=False,
    messages=[{"role": "user", "content": task.question}], max_iterations=task.request_limit,
)
runner_reply = runner.until_done()"""


def test_runner_answer_with_the_runner_passes(learner):
    result = learner.answer(RUNNER, RUNNER_RIGHT)
    assert result.passed, result
    assert "answered in 2 requests" in result.message and "`is_error: True`" in result.message


def test_runner_answer_with_a_hand_written_loop_passes(learner):
    result = learner.answer(RUNNER, """messages = [{"role": "user", "content": task.question}]
for _ in range(task.request_limit):
    runner_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=[stock_tool], messages=messages)
    if runner_reply.stop_reason != "tool_use":
        break
    results = []
    for block in runner_reply.content:
        if block.type == "tool_use":
            try:
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": stock_of(**block.input)})
            except ValueError as error:
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": str(error),
                                "is_error": True})
    messages += [{"role": "assistant", "content": runner_reply.content}, {"role": "user", "content": results}]""")
    assert result.passed, result


def test_runner_answer_unsolved(learner):
    result = learner.answer(RUNNER)
    assert not result.passed and "`runner_reply` is None" in result.message


def test_runner_answer_forced_to_the_cap_has_no_answer(learner):
    code = RUNNER_RIGHT.replace("thread=False,", 'thread=False, tool_choice={"type": "any"},')
    result = learner.answer(RUNNER, code)
    assert not result.passed and "not 'end_turn'" in result.message, result


def test_runner_answer_of_the_lessons_demo_is_refused(learner):
    result = learner.answer(RUNNER, "runner_reply = message")  # section 2's runner, on the lesson's own question
    assert not result.passed and "before this cell's" in result.message, result


def test_runner_answer_that_hides_a_failure_is_refused(learner):
    code = RUNNER_RIGHT.replace("tools=[lookup_stock]", "tools=[quiet_stock]")
    result = learner.answer(RUNNER, '''@beta_tool
def quiet_stock(tea: str) -> str:
    """How many tins of one tea the shop has in stock. Use it whenever the user asks about stock."""
    return stock_of(tea) if tea in TEA_STOCK else "none"


''' + code)
    assert not result.passed and "lookup_stock" in result.message, result


def test_runner_answer_that_does_not_report_the_error_is_refused(learner):
    result = learner.answer(RUNNER, """messages = [{"role": "user", "content": task.question}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=[stock_tool], messages=messages)
results = []
for block in first.content:
    if block.type == "tool_use":
        try:
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": stock_of(**block.input)})
        except ValueError as error:
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": str(error)})
messages += [{"role": "assistant", "content": first.content}, {"role": "user", "content": results}]
runner_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=[stock_tool], messages=messages)""")
    assert not result.passed and "did not say `is_error: True`" in result.message, result


def test_the_graders_own_helpers_serve_no_answer(learner):
    learner.run("""def budget_loop(client, request, functions, max_usd):
    return check.lesson13._most_it_costs(client, request)
""")
    result = learner.run("check.lesson13.budget_loop(budget_loop, seed=14)")
    assert not result.passed and "graders' own functions" in result.message, result
    with pytest.raises(PermissionError):
        learner.run("check.lesson13._lesson_stock('Assam')")
