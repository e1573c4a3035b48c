"""Lesson 10 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import check

LESSON = "10_tool_use.ipynb"
FORCED, LOOP, PARALLEL = "cell-48", "cell-50", "cell-52"

TOOL = """temperature_tool = {{
    "name": "celsius_to_fahrenheit",
    "description": "Convert a temperature from Celsius to Fahrenheit. Use it whenever the user gives degrees Celsius.",
    "input_schema": {{"type": "object", "properties": {{"celsius": {{"type": {kind}}}}}, "required": {required}}},
}}"""
FORCED_CALL = """forced_reply = client.messages.create(
    model={model}, max_tokens=300, tools=[temperature_tool], tool_choice={choice},
    messages=[{{"role": "user", "content": temperature_question}}],
)"""
FORCED_RIGHT = (TOOL.format(kind='"number"', required='["celsius"]') + "\n"
                + FORCED_CALL.format(model="DEFAULT_MODEL", choice='{"type": "tool", "name": "celsius_to_fahrenheit"}'))


def forced(kind='"number"', required='["celsius"]', model="DEFAULT_MODEL",
           choice='{"type": "tool", "name": "celsius_to_fahrenheit"}') -> str:
    return TOOL.format(kind=kind, required=required) + "\n" + FORCED_CALL.format(model=model, choice=choice)


# 10.1 a forced call of your own tool

def test_forced_call_with_tool_choice_tool_passes(learner):
    result = learner.answer(FORCED, FORCED_RIGHT)
    assert result.passed, result
    assert "tool_choice `tool` naming it" in result.message


def test_forced_call_with_any_and_a_richer_schema_passes(learner):
    result = learner.answer(FORCED, """temperature_tool = {
    "name": "celsius_to_fahrenheit",
    "description": "Turns degrees Celsius into degrees Fahrenheit; call it for every Celsius temperature in the question.",
    "input_schema": {
        "type": "object",
        "properties": {"celsius": {"type": "number", "minimum": -273.15}, "precision": {"type": "integer"}},
        "required": ["celsius"],
    },
}
forced_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[temperature_tool],
                                      tool_choice={"type": "any"},
                                      messages=[{"role": "user", "content": temperature_question}])""")
    assert result.passed, result
    assert "tool_choice `any`" in result.message


def test_forced_call_unsolved(learner):
    result = learner.answer(FORCED)
    assert not result.passed and "`forced_reply` is None" in result.message and "input_schema" not in result.message


def test_forced_call_lesson_demo_is_refused(learner):
    result = learner.answer(FORCED, "forced_reply = first")  # section 1's weather call
    assert not result.passed and "before this cell's" in result.message


def test_forced_call_lesson_demo_made_again_is_refused(learner):
    result = learner.answer(FORCED, """forced_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400,
    tools=[weather_tool], tool_choice={"type": "any"}, messages=umbrella)""")
    assert not result.passed and "none is named `celsius_to_fahrenheit`" in result.message


def test_forced_call_hand_built_message_is_refused(learner):
    result = learner.answer(FORCED, """forced_reply = anthropic.types.Message.model_construct(
    id="msg_01handmade", type="message", role="assistant", model=DEFAULT_MODEL, stop_reason="tool_use",
    content=[anthropic.types.ToolUseBlock(type="tool_use", id="toolu_01handmade", name="celsius_to_fahrenheit",
                                          input={"celsius": 20})])""")
    assert not result.passed and "usage log has no request" in result.message


def test_forced_call_typed_from_a_printout_is_refused(learner):
    """A reply copied from an earlier run's printout, id and all, is not in this run's usage log."""
    result = learner.answer(FORCED, """forced_reply = anthropic.types.Message.model_validate({
    "id": "msg_01Xn3h0ZkQe1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "tool_use",
    "stop_sequence": None, "usage": {"input_tokens": 60, "output_tokens": 12},
    "content": [{"type": "tool_use", "id": "toolu_01Q", "name": "celsius_to_fahrenheit", "input": {"celsius": 37}}]})""")
    assert not result.passed and "usage log has no request" in result.message


def test_forced_call_with_the_graders_own_tool_is_refused(learner):
    code = forced().replace("temperature_tool = {", "temperature_tool = check.lesson10.CURRENCY_TOOL\n_unused = {", 1)
    result = learner.answer(FORCED, code)
    assert not result.passed and "HTTP 400" in result.message and "must be the `name` of a tool" in result.message
    forcing_it = code.replace('"name": "celsius_to_fahrenheit"}', '"name": "convert_currency"}')
    result = learner.answer(FORCED, forcing_it)
    assert not result.passed and "none is named `celsius_to_fahrenheit`" in result.message


def test_forced_call_without_tool_choice_is_refused(learner):
    result = learner.answer(FORCED, forced().replace(
        ' tool_choice={"type": "tool", "name": "celsius_to_fahrenheit"},', ""))
    assert not result.passed and "`tool_choice` was 'auto'" in result.message
    assert "Section 2" in result.message and '"type": "tool"' not in result.message  # the code stays in the hints


def test_forced_call_with_another_question_is_refused(learner):
    low, high = check.lesson10.TEMPERATURE_RANGE
    assert not low <= 100 <= high  # a question no run draws, however many runs came before in this process
    result = learner.answer(FORCED, "temperature_question = 'What is 100 degrees Celsius in Fahrenheit?'\n" + forced())
    assert not result.passed and "did not ask `temperature_question`" in result.message


@pytest.mark.parametrize("change, words", [
    ({"kind": '"integer"'}, "a temperature such as 36.6 is a `number`"),
    ({"required": "[]"}, "not in the schema's `required` list"),
    ({"kind": '"celsius"'}, "not a valid JSON schema"),
])
def test_forced_call_schema_mistakes_are_named(learner, change, words):
    result = learner.answer(FORCED, forced(**change))
    assert not result.passed and words in result.message, result


def test_forced_call_needs_a_description_that_says_when(learner):
    code = forced().replace('"Convert a temperature from Celsius to Fahrenheit. Use it whenever the user gives degrees '
                            'Celsius."', '"Converts."')
    result = learner.answer(FORCED, code)
    assert not result.passed and "when to use it" in result.message


@pytest.mark.parametrize("description, words", [
    ("tool tool tool tool", "too little"),  # the instructor's review: filler passed
    ("celsius fahrenheit celsius fahrenheit celsius fahrenheit celsius fahrenheit", "too little"),
    ("Use this one when you need it, it is very useful for questions.", "does not say what the tool converts"),
    ("Converts a temperature from degrees Celsius to degrees Fahrenheit.", "not when to use it"),
])
def test_forced_call_filler_descriptions_are_refused(learner, description, words):
    code = forced().replace('"Convert a temperature from Celsius to Fahrenheit. Use it whenever the user gives degrees '
                            'Celsius."', repr(description))
    result = learner.answer(FORCED, code)
    assert not result.passed and words in result.message and "section 1" in result.message, result


@pytest.mark.parametrize("description", [
    "Gives the Fahrenheit equivalent of a Celsius reading. Reach for it if a question needs Fahrenheit.",
    "Celsius in, Fahrenheit out: call this whenever someone states a temperature in °C and asks for °F.",
])
def test_forced_call_descriptions_in_other_words_pass(learner, description):
    code = forced().replace('"Convert a temperature from Celsius to Fahrenheit. Use it whenever the user gives degrees '
                            'Celsius."', repr(description))
    result = learner.answer(FORCED, code)
    assert result.passed, result


def test_forced_call_pasting_the_last_hint_is_refused(learner):
    """The last hint shows the mechanics on another tool: pasted as it is, it does not do this exercise."""
    hint = check.hint("10.1", 2).text
    pasted = hint[hint.index("`distance_tool = ") + 1:hint.index("}}`") + 2]
    result = learner.answer(FORCED, pasted + """
forced_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, tools=[distance_tool],
                                      tool_choice={"type": "tool", "name": "km_to_miles"},
                                      messages=[{"role": "user", "content": temperature_question}])""")
    assert not result.passed and "none is named `celsius_to_fahrenheit`" in result.message, result
    assert "celsius_to_fahrenheit" not in "".join(check.hint("10.1", n).text for n in (1, 2))


def test_forced_call_on_a_model_that_refuses_forcing_is_explained(learner):
    result = learner.answer(FORCED, forced(model="no_forcing[0]"))
    assert not result.passed and "HTTP 400" in result.message and "`forced_tool_use` False" in result.message


def test_forced_call_with_thinking_asked_for_is_explained(learner):
    code = forced().replace("max_tokens=300,", 'max_tokens=300, thinking={"type": "adaptive"},')
    result = learner.answer(FORCED, code)
    assert not result.passed and "leave `thinking` out" in result.message


# 10.2 a tool loop that reports failures

LOOP_RIGHT = """messages = list(request["messages"])
for _ in range(max_turns):
    reply = client.messages.create(**{**request, "messages": messages})
    if reply.stop_reason != "tool_use":
        return reply
    results = []
    for block in reply.content:
        if block.type == "tool_use":
            try:
                results.append({"type": "tool_result", "tool_use_id": block.id,
                                "content": str(functions[block.name](**block.input))})
            except Exception as error:
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": str(error),
                                "is_error": True})
    messages += [{"role": "assistant", "content": reply.content}, {"role": "user", "content": results}]
return reply"""

LOOP_OTHER = """history = [*request["messages"]]
reply = client.messages.create(**request)
turns = 1
while reply.stop_reason == "tool_use" and turns < max_turns:
    answers = []
    for call in (b for b in reply.content if b.type == "tool_use"):
        try:
            answers.append({"type": "tool_result", "tool_use_id": call.id,
                            "content": [{"type": "text", "text": str(functions[call.name](**call.input))}]})
        except Exception as error:
            answers.append({"type": "tool_result", "tool_use_id": call.id, "is_error": True,
                            "content": f"{type(error).__name__}: {error}"})
    history += [reply.to_param(), {"role": "user", "content": answers}]
    reply = client.messages.create(**dict(request, messages=history))
    turns += 1
return reply"""


@pytest.mark.parametrize("body", [LOOP_RIGHT, LOOP_OTHER])
def test_loop_right_answers_pass(learner, body):
    result = learner.answer(LOOP, body)
    assert result.passed, result
    assert "`is_error: True` with the error's message" in result.message


def test_loop_right_answer_passes_on_other_draws(learner):
    learner.answer(LOOP, LOOP_RIGHT)
    for seed in (1, 2, 3):
        result = learner.run(f"check.lesson10.tool_loop(tool_loop, seed={seed})")
        assert result.passed, result


def test_loop_unsolved(learner):
    result = learner.answer(LOOP)
    assert not result.passed and "never called the API" in result.message and "except Exception" not in result.message


def test_loop_the_lessons_run_loop_is_refused(learner):
    """The lesson's loop lets a failing function's exception escape: the exercise is to answer it instead."""
    result = learner.answer(LOOP, "return run_loop(client, request, functions, max_turns)")
    assert not result.passed and "the error escaped your loop" in result.message


def test_loop_a_stored_reply_is_refused(learner):
    result = learner.answer(LOOP, "return answer")  # section 3's reply, whatever the request
    assert not result.passed and "never called the API" in result.message


def test_loop_returning_a_hand_built_message_is_refused(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace(
        "        return reply\n",
        "        return anthropic.types.Message.model_construct(id='msg_01handmade', stop_reason='end_turn', content=[])\n",
        1))
    assert not result.passed and "not the last reply" in result.message


def test_loop_results_that_ignore_the_function_are_refused(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace("str(functions[block.name](**block.input))", '"42"'))
    assert not result.passed and "send what the function returned" in result.message


def test_loop_a_failure_without_is_error_is_refused(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace(',\n                                "is_error": True', ""))
    assert not result.passed and "did not say `is_error: True`" in result.message


def test_loop_a_failure_without_its_message_is_refused(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace('"content": str(error)', '"content": "it failed"'))
    assert not result.passed and "Put the error's message in its content" in result.message


def test_loop_pasting_the_last_hint_is_refused(learner):
    """The last hint answers an input that fails validation: pasted into the loop, a raising function escapes."""
    pasted = last_hint_code("10.2", "except jsonschema.ValidationError as error: ")
    result = learner.answer(LOOP, f"""messages = list(request["messages"])
for _ in range(max_turns):
    reply = client.messages.create(**{{**request, "messages": messages}})
    if reply.stop_reason != "tool_use":
        return reply
    results = []
    for call in reply.content:
        if call.type == "tool_use":
            try:
                result = {{"type": "tool_result", "tool_use_id": call.id,
                          "content": str(functions[call.name](**call.input))}}
            {pasted}
            results.append(result)
    messages += [{{"role": "assistant", "content": reply.content}}, {{"role": "user", "content": results}}]
return reply""")
    assert not result.passed and "the error escaped your loop" in result.message, result


def test_loop_without_a_turn_limit_is_stopped_and_named(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace("for _ in range(max_turns):", "while True:"))
    assert not result.passed and "count the requests and stop at `max_turns`" in result.message


def test_loop_with_its_own_fixed_limit_is_refused(learner):
    result = learner.answer(LOOP, LOOP_RIGHT.replace("range(max_turns)", "range(6)"))
    assert not result.passed and "send at most `max_turns`" in result.message


def test_loop_reading_the_first_block_is_named(learner):
    code = LOOP_RIGHT.replace("""    for block in reply.content:
        if block.type == "tool_use":
""", """    for block in reply.content[:1]:
        if True:
""")
    result = learner.answer(LOOP, code)
    assert not result.passed and "pick the calls by `block.type" in result.message


def test_loop_that_drops_the_assistant_turn_is_refused(learner):
    code = LOOP_RIGHT.replace('messages += [{"role": "assistant", "content": reply.content}, ', "messages += [")
    result = learner.answer(LOOP, code)
    assert not result.passed and ("HTTP 400" in result.message or "assistant turn" in result.message)


def test_loop_the_graders_own_function_is_refused(learner):
    result = learner.run("check.lesson10.tool_loop(check.lesson10.tool_loop)")
    assert not result.passed and "kit's own functions" in result.message


# 10.3 parallel calls answered in one turn

PARALLEL_RIGHT = """history = [{"role": "user", "content": trip_question}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=history)
results = []
for block in first.content:
    if block.type == "tool_use":
        try:
            results.append({"type": "tool_result", "tool_use_id": block.id,
                            "content": str(local_functions[block.name](**block.input))})
        except Exception as error:
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": str(error), "is_error": True})
history += [{"role": "assistant", "content": first.content}, {"role": "user", "content": results}]
trip_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=history)"""

PARALLEL_AS_A_FUNCTION = """def answer(call):
    function = local_functions[call.name]
    try:
        return {"type": "tool_result", "tool_use_id": call.id, "content": str(function(**call.input))}
    except ValueError as failure:
        return {"type": "tool_result", "tool_use_id": call.id, "is_error": True,
                "content": [{"type": "text", "text": f"failed: {failure}"}]}

request = {"model": DEFAULT_MODEL, "max_tokens": 400, "tools": tools,
           "messages": [{"role": "user", "content": trip_question}]}
reply = client.messages.create(**request)
calls = [block for block in reply.content if block.type == "tool_use"]
request["messages"] = [*request["messages"], {"role": "assistant", "content": reply.content},
                       {"role": "user", "content": [answer(call) for call in calls]}]
trip_answer = client.messages.create(**request)"""

SECTION_4_DEMO = """trip = [{"role": "user", "content": trip_question}]
several = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=trip)
calls = [block for block in several.content if block.type == "tool_use"]
all_results = [
    {"type": "tool_result", "tool_use_id": call.id, "content": str(local_functions[call.name](**call.input))}
    for call in calls
]
turns = trip + [{"role": "assistant", "content": several.content}, {"role": "user", "content": all_results}]
trip_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=turns)"""


@pytest.mark.parametrize("body", [PARALLEL_RIGHT, PARALLEL_AS_A_FUNCTION])
def test_parallel_right_answers_pass(learner, body):
    result = learner.answer(PARALLEL, body)
    assert result.passed, result
    assert "3 tool_use blocks in one reply" in result.message and "for the 1 that raised" in result.message


@pytest.mark.parametrize("body", [
    SECTION_4_DEMO,  # the instructor's review: section 4's cells copied, one variable renamed
    """trip_answer = run_loop(client, {"model": DEFAULT_MODEL, "max_tokens": 400,
    "tools": tools, "messages": [{"role": "user", "content": trip_question}]}, local_functions)""",
])
def test_parallel_a_copy_of_the_lessons_demo_is_refused(learner, body):
    result = learner.answer(PARALLEL, body)
    assert not result.passed and "ValueError" in result.message and "is_error: True" in result.message, result


def test_parallel_made_up_outputs_with_matching_made_up_functions_are_refused(learner):
    """The instructor's review: tool outputs made up, and a functions dict made up to return them."""
    code = """made_up = {"get_weather": lambda city: f"{city}: sunny", "convert_currency": lambda **_: "about 100"}
history = [{"role": "user", "content": trip_question}]
first = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=history)
results = [{"type": "tool_result", "tool_use_id": b.id, "content": made_up[b.name](**b.input)}
           for b in first.content if b.type == "tool_use"]
history += [{"role": "assistant", "content": first.content}, {"role": "user", "content": results}]
trip_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=history)
local_functions = made_up"""
    result = learner.answer(PARALLEL, code)
    assert not result.passed and "does not do what the lesson's does" in result.message, result


def test_parallel_unsolved(learner):
    result = learner.answer(PARALLEL)
    assert not result.passed and "`trip_answer` is None" in result.message and "tool_result" not in result.message


def test_parallel_lesson_demo_is_refused(learner):
    result = learner.answer(PARALLEL, "trip_answer = several")  # section 4's reply
    assert not result.passed and "before this cell's" in result.message


def test_parallel_lesson_question_asked_again_is_refused(learner):
    result = learner.answer(PARALLEL, "trip_question = trip[0]['content']\n" + PARALLEL_RIGHT)
    assert not result.passed and "did not ask `trip_question`" in result.message


def test_parallel_hand_built_message_is_refused(learner):
    result = learner.answer(PARALLEL, """trip_answer = anthropic.types.Message.model_construct(
    id="msg_01handmade", type="message", role="assistant", model=DEFAULT_MODEL, stop_reason="end_turn",
    content=[anthropic.types.TextBlock(type="text", text="Sunny everywhere.")])""")
    assert not result.passed and "usage log has no request" in result.message


def test_parallel_results_typed_in_are_refused(learner):
    result = learner.answer(PARALLEL, PARALLEL_RIGHT.replace(
        "str(local_functions[block.name](**block.input))", '"Oslo: 2 °C, snow showers" if block.name == "get_weather" '
        'else local_functions[block.name](**block.input)'))
    assert not result.passed and "send what the function returned" in result.message


def test_parallel_functions_that_ignore_their_input_are_refused(learner):
    code = ("local_functions = {**local_functions, 'get_weather': lambda city: 'sunny'}\n" + PARALLEL_RIGHT)
    result = learner.answer(PARALLEL, code)
    assert not result.passed and "returns the same text" in result.message


def test_parallel_answering_only_one_call_is_explained(learner):
    result = learner.answer(PARALLEL, PARALLEL_RIGHT.replace(
        "history += [", "results = results[:1]\nhistory += ["))
    assert not result.passed and "HTTP 400" in result.message and "answer all of them together" in result.message


def test_parallel_invented_tool_use_is_refused(learner):
    result = learner.answer(PARALLEL, """history = [{"role": "user", "content": trip_question},
    {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_01madeup1", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_01madeup2", "name": "get_weather", "input": {"city": "Lima"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01madeup1", "content": get_weather("Oslo")},
        {"type": "tool_result", "tool_use_id": "toolu_01madeup2", "content": get_weather("Lima")}]}]
trip_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, tools=tools, messages=history)""")
    assert not result.passed and "not a reply the model sent" in result.message


def test_parallel_needs_the_functions(learner):
    learner.answer(PARALLEL, PARALLEL_RIGHT)
    result = learner.run("check.lesson10.parallel_calls(trip_answer)")
    assert not result.passed and "pass the tool functions too" in result.message


# the questions are drawn per run

def test_questions_vary_per_run():
    assert len({check.lesson10.temperature_question(seed=s) for s in range(30)}) > 10
    assert len({check.lesson10.trip_question(seed=s) for s in range(30)}) > 10


def test_no_run_draws_the_lessons_own_trip_question(learner):
    """Exercise 10.3 must not be passable by sending section 4's question again, on any seed."""
    demo = learner.namespace["trip"][0]["content"]
    assert "200 Euro" in demo and 200 not in check.lesson10.TRIP_AMOUNTS
    assert demo not in {check.lesson10.trip_question(seed=s) for s in range(2000)}

