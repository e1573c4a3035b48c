"""Lesson 04 graders: a right answer passes, wrong answers get a hint naming the mechanic."""

from __future__ import annotations

import json

import pytest

from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog, check, connect

QUESTION = "Which insect order do bees belong to? (A) Hymenoptera, (B) Coleoptera, (C) Diptera"
BEE_PROMPT = "Describe the insect called Honeybee: its name, how many legs it has (6) and whether it flies."
BEE_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "legs": {"type": "integer"}, "flies": {"type": "boolean"}},
    "required": ["name", "legs", "flies"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def client():
    return connect("offline", quiet=True)


def ask_with_prefill(client, *, prefill="The answer is (", max_tokens=1, model=PREFILL_MODEL, question=QUESTION):
    messages = [{"role": "user", "content": question}]
    if prefill is not None:
        messages.append({"role": "assistant", "content": prefill})
    return client.messages.create(model=model, max_tokens=max_tokens, messages=messages)


def ask_structured(client, schema=BEE_SCHEMA, max_tokens=200):
    return client.messages.create(
        model=DEFAULT_MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": BEE_PROMPT}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )


# 04.1 multiple choice with a prefill

def test_multiple_choice_passes(client):
    result = check.lesson04.multiple_choice(ask_with_prefill(client))
    assert result.passed, result


@pytest.mark.parametrize("answer, mechanic", [
    (None, "assistant turn"),
    ("not a message", "assistant turn"),
])
def test_multiple_choice_needs_a_message(answer, mechanic):
    result = check.lesson04.multiple_choice(answer)
    assert not result.passed and mechanic in result.message


def test_multiple_choice_without_prefill(client):
    result = check.lesson04.multiple_choice(ask_with_prefill(client, prefill=None, model=DEFAULT_MODEL))
    assert not result.passed and "prefill" in result.message and "assistant" in result.message


def test_multiple_choice_prefill_must_end_with_bracket(client):
    result = check.lesson04.multiple_choice(ask_with_prefill(client, prefill="The answer is"))
    assert not result.passed and '"("' in result.message


def test_multiple_choice_max_tokens(client):
    result = check.lesson04.multiple_choice(ask_with_prefill(client, max_tokens=50))
    assert not result.passed and "max_tokens" in result.message


def test_multiple_choice_needs_lettered_options(client):
    result = check.lesson04.multiple_choice(ask_with_prefill(client, question="Which order do bees belong to?"))
    assert not result.passed and "(A)" in result.message


# 04.2 structured output

def test_structured_passes(client):
    bee = ask_structured(client)
    result = check.lesson04.structured(bee, json.loads(next(b.text for b in bee.content if b.type == "text")))
    assert result.passed, result


def test_structured_needs_output_config(client):
    bee = client.messages.create(model=DEFAULT_MODEL, max_tokens=200, messages=[{"role": "user", "content": BEE_PROMPT}])
    result = check.lesson04.structured(bee, {"name": "x"})
    assert not result.passed and "output_config" in result.message


def test_structured_needs_required_keys(client):
    schema = {**BEE_SCHEMA, "required": ["name"]}
    bee = ask_structured(client, schema=schema)
    result = check.lesson04.structured(bee, json.loads(next(b.text for b in bee.content if b.type == "text")))
    assert not result.passed and "required" in result.message


def test_structured_needs_the_parsed_reply(client):
    bee = ask_structured(client)
    missing = check.lesson04.structured(bee, None)
    assert not missing.passed and "json.loads" in missing.message
    wrong = check.lesson04.structured(bee, {"name": "something else"})
    assert not wrong.passed and "json.loads" in wrong.message


def test_structured_cut_reply(client):
    bee = ask_structured(client, max_tokens=3)
    result = check.lesson04.structured(bee, None)
    assert not result.passed and "max_tokens" in result.message


def test_structured_unsolved_is_a_hint():
    result = check.lesson04.structured(None, None)
    assert not result.passed and "output_config" in result.message


# 04.3 choose the technique per model

def test_technique_passes():
    def choose(model_id):
        return "prefill" if catalog.get(model_id).supports_prefill else "structured_outputs"

    result = check.lesson04.technique(choose)
    assert result.passed, result


def test_technique_unsolved():
    def choose(model_id):
        ...

    result = check.lesson04.technique(choose)
    assert not result.passed and "structured_outputs" in result.message


def test_technique_hard_coded_list():
    def choose(model_id):
        return "prefill" if model_id == PREFILL_MODEL else "structured_outputs"

    result = check.lesson04.technique(choose)
    assert not result.passed and "supports_prefill" in result.message


def test_technique_misses_snapshot_ids():
    by_id = {m.id: m for m in catalog.available()}

    def choose(model_id):
        return "prefill" if by_id[model_id].supports_prefill else "structured_outputs"

    result = check.lesson04.technique(choose)
    assert not result.passed and "catalog.get" in result.message


def test_technique_not_a_function():
    result = check.lesson04.technique("prefill")
    assert not result.passed and "function" in result.message
