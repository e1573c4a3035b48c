"""Lesson 04 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import catalog, check

LESSON = "04_prefill.ipynb"
CHOICE, STRUCTURED, TECHNIQUE = "cell-28", "cell-30", "cell-32"

BEE_SCHEMA = """bee_schema = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "legs": {"type": "integer"}, "flies": {"type": "boolean"}},
    "required": ["name", "legs", "flies"],
    "additionalProperties": False,
}
"""
BEE_PROMPT = "Describe the insect called Honeybee: its name, how many legs it has (6) and whether it flies."


# 04.1 multiple choice with a prefill

@pytest.mark.parametrize("body", [
    """bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "The answer is ("}])""",
    """model = next(m.id for m in catalog.available() if m.supports_prefill)
bee_answer = client.messages.create(model=model, max_tokens=3, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "("}])""",
])
def test_multiple_choice_right_answers_pass(learner, body):
    result = learner.answer(CHOICE, body)
    assert result.passed, result
    assert "`bee_question`" in result.message and "accepts a prefill" in result.message


def test_multiple_choice_lesson_demo_is_refused(learner):
    result = learner.answer(CHOICE, "bee_answer = answer")  # section 1's ant question
    assert not result.passed and "before this cell's" in result.message


def test_multiple_choice_demo_question_sent_again_is_refused(learner):
    result = learner.answer(CHOICE, """bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": question}, {"role": "assistant", "content": prefill}])""")
    assert not result.passed and "not `bee_question`" in result.message


def test_multiple_choice_on_a_model_without_prefill_is_a_message_not_a_traceback(learner):
    result = learner.answer(CHOICE, """bee_answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "The answer is ("}])""")
    assert not result.passed and "HTTP 400" in result.message and "PREFILL_MODEL" in result.message


@pytest.mark.parametrize("body, words", [
    ("""bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "The answer is "}])""", "trailing"),
    ("""bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": bee_question}])""", "no prefill"),
    ("""bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "The answer is"}])""", "open bracket"),
    ("""bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=50, messages=[
    {"role": "user", "content": bee_question}, {"role": "assistant", "content": "The answer is ("}])""", "max_tokens"),
])
def test_multiple_choice_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(CHOICE, body)
    assert not result.passed and words in result.message, result


# 04.2 structured output

@pytest.mark.parametrize("body", [
    BEE_SCHEMA + f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
                             messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
                             output_config={{"format": {{"type": "json_schema", "schema": bee_schema}}}})
bee_data = json.loads("".join(b.text for b in bee.content if b.type == "text"))""",
    # the SDK's parse() with a Pydantic model, as section 5 teaches, and its parsed_output
    f"""from pydantic import BaseModel

class Bee(BaseModel):
    name: str
    legs: int
    flies: bool

bee = client.messages.parse(model=DEFAULT_MODEL, max_tokens=200, output_format=Bee,
                            messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}])
bee_data = bee.parsed_output""",
])
def test_structured_right_answers_pass(learner, body):
    result = learner.answer(STRUCTURED, body)
    assert result.passed, result


def test_structured_lesson_demo_is_refused(learner):
    result = learner.answer(STRUCTURED, """bee = structured
bee_data = json.loads("".join(b.text for b in structured.content if b.type == "text"))""")
    assert not result.passed and "before this cell's" in result.message


def test_structured_demo_schema_is_refused(learner):
    result = learner.answer(STRUCTURED, f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
    messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
    output_config={{"format": {{"type": "json_schema", "schema": ant_schema}}}})
bee_data = json.loads("".join(b.text for b in bee.content if b.type == "text"))""")
    assert not result.passed and "lacks" in result.message


@pytest.mark.parametrize("body, words", [
    (f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}])""",
     "no structured output"),
    (BEE_SCHEMA + f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=5,
    messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
    output_config={{"format": {{"type": "json_schema", "schema": bee_schema}}}})""", "stopped with 'max_tokens'"),
    (BEE_SCHEMA + f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
    messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
    output_config={{"format": {{"type": "json_schema", "schema": bee_schema}}}})""", "now parse"),
    (BEE_SCHEMA + f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
    messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
    output_config={{"format": {{"type": "json_schema", "schema": bee_schema}}}})
bee_data = {{"name": "Honeybee", "legs": 6, "flies": False}}""", "not the parsed reply"),
    (BEE_SCHEMA.replace('"additionalProperties": False,', "") + f"""bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200,
    messages=[{{"role": "user", "content": "{BEE_PROMPT}"}}],
    output_config={{"format": {{"type": "json_schema", "schema": bee_schema}}}})
bee_data = json.loads("".join(b.text for b in bee.content if b.type == "text"))""", "additionalProperties"),
])
def test_structured_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(STRUCTURED, body)
    assert not result.passed and words in result.message, result


# 04.3 choose the technique per model

@pytest.mark.parametrize("body", [
    'return "prefill" if catalog.get(model_id).supports_prefill else "structured_outputs"',
    """entry = catalog.lookup(model_id)
if entry is not None and entry.supports_prefill:
    return "prefill"
return "structured_outputs\"""",
])
def test_technique_right_answers_pass(learner, body):
    result = learner.answer(TECHNIQUE, body)
    assert result.passed, result


@pytest.mark.parametrize("lazy", [
    # an id list typed in from section 4's printout, snapshots included
    """ids = {"claude-opus-4-5", "claude-haiku-4-5", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"}
return "prefill" if model_id in ids else "structured_outputs\"""",
    # the same list computed once, when the cell ran, instead of asking the catalog each time
    """return "prefill" if model_id in PREFILL_IDS else "structured_outputs\"""",
])
def test_technique_lists_of_ids_are_refused(learner, lazy):
    learner.run("PREFILL_IDS = {i for m in catalog.available() if m.supports_prefill for i in m.all_ids}")
    result = learner.answer(TECHNIQUE, lazy)
    assert not result.passed and "made up for this run" in result.message


def test_technique_pasting_the_last_hint_is_refused(learner):
    """The last hint reads another flag of the entry: pasted as it is, it does not do this exercise."""
    result = learner.answer(TECHNIQUE, last_hint_code("04.3", "return "))
    assert not result.passed and 'Return "prefill" or "structured_outputs"' in result.message, result
    assert "structured_outputs" not in "".join(check.hint("04.3", n).text for n in (1, 2))


def test_technique_made_up_models_leave_the_catalog_after_grading():
    before = catalog.known_ids()
    check.lesson04.technique(lambda model_id: "prefill", seed=3)
    assert catalog.known_ids() == before and not any(i.startswith("made-up") for i in catalog.known_ids())


def test_multiple_choice_with_the_last_hint_pasted_is_refused(learner):
    """The last hint shows the prefill on another question: pasted as it stands, it asks that one."""
    messages = last_hint_code("04.1", "messages=")
    result = learner.answer(CHOICE, f"bee_answer = client.messages.create(model=PREFILL_MODEL, max_tokens=1, {messages})")
    assert not result.passed and "not `bee_question`" in result.message, result
