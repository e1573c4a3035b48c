"""Lesson 03 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest


LESSON = "03_synthetic_turns.ipynb"
FEW_SHOT, CORRECTED = "cell-29", "cell-31"

PAIRS = """examples = [("Ticket: The app crashes when I open settings.", "bug"),
            ("Ticket: Can I get a copy of last month's receipt?", "billing"),
            ("Ticket: Do you have an office in Berlin?", "other")]
turns = []
for ticket, label in examples:
    turns += [{"role": "user", "content": ticket}, {"role": "assistant", "content": label}]
"""


# 03.1 few-shot examples as turns

@pytest.mark.parametrize("body", [
    PAIRS + """answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=turns + [{"role": "user", "content": question}],
                                system="Classify each ticket as billing, bug or other. Answer with the label only.")""",
    """from helpers import Conversation

chat = Conversation(system="Label support tickets.")
chat.add_user("Ticket: I can't log in since the update.").add_assistant("Bug")
chat.add_user("Ticket: Please send my invoice again.").add_assistant("billing.")
chat.add_user(question)
answer = chat.send(client, max_tokens=20)""",
])
def test_few_shot_right_answers_pass(learner, body):
    result = learner.answer(FEW_SHOT, body)
    assert result.passed, result
    assert "example pairs you wrote" in result.message


@pytest.mark.parametrize("body, words", [
    # the instructor's review: two identical made-up examples
    ("""answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[
    {"role": "user", "content": "Ticket: x"}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": "Ticket: x"}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": question}])""", "there twice"),
    ("""answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[
    {"role": "user", "content": "Ticket: Crash on start."}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": "ticket:  crash on start. "}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": question}])""", "there twice"),
    ("""answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[
    {"role": "user", "content": "Ticket: Crash on start."}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": "Ticket: The page is blank."}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": question}])""", "at least two of the labels"),
])
def test_few_shot_copies_and_one_label_examples_are_refused(learner, body, words):
    result = learner.answer(FEW_SHOT, body)
    assert not result.passed and words in result.message, result


def test_few_shot_two_labels_in_other_words_pass(learner):
    result = learner.answer(FEW_SHOT, """pairs = {"Ticket: Where is your head office?": "Other",
         "Ticket: Export to CSV drops the last row.": "bug."}
turns = [turn for ticket, label in pairs.items()
         for turn in ({"role": "user", "content": ticket}, {"role": "assistant", "content": label})]
answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[*turns, {"role": "user", "content": question}])""")
    assert result.passed and "labelled bug, other" in result.message, result


def test_few_shot_in_the_history_editor_passes(learner):
    learner.run("""question = "Ticket: I was charged twice for my May invoice."
ticket_editor = HistoryEditor(client=client, max_tokens=20)
ticket_editor.add_turn("user", "Ticket: My card was charged but I got no receipt.")
ticket_editor.add_turn("assistant", "billing")
ticket_editor.add_turn("user", "Ticket: The app freezes on start.")
ticket_editor.add_turn("assistant", "bug")
ticket_editor.add_turn("user", question)
ticket_editor.send()""")
    result = learner.run("check.lesson03.few_shot(ticket_editor)")
    assert result.passed, result


def test_few_shot_lesson_demo_is_refused(learner):
    result = learner.answer(FEW_SHOT, "answer = editor.last_reply")  # section 7's review classifier
    assert not result.passed and "before this cell's" in result.message


def test_few_shot_demo_examples_with_another_question_are_refused(learner):
    result = learner.answer(FEW_SHOT, """answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=few_shot)""")
    assert not result.passed and "not `question`" in result.message


@pytest.mark.parametrize("body, words", [
    ("""answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[
    {"role": "user", "content": "Ticket: Crash on start."}, {"role": "assistant", "content": "bug"},
    {"role": "user", "content": question}])""", "1 example pair"),
    (PAIRS + """answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[
    {"role": "user", "content": "Ticket: Crash on start."}, {"role": "assistant", "content": "It is a bug."},
    {"role": "user", "content": "Ticket: Invoice wrong."}, {"role": "assistant", "content": "billing"},
    {"role": "user", "content": question}])""", "not one of the labels"),
    ("""first = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=[{"role": "user", "content": "Ticket: Crash on start."}])
second_turns = [{"role": "user", "content": "Ticket: Crash on start."}, first.to_param(), {"role": "user", "content": "Ticket: Invoice wrong."}]
second = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=second_turns)
answer = client.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=second_turns + [second.to_param(), {"role": "user", "content": question}])""",
     "reply the API generated"),
])
def test_few_shot_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(FEW_SHOT, body)
    assert not result.passed and words in result.message, result


def test_few_shot_unsolved(learner):
    result = learner.answer(FEW_SHOT)
    assert not result.passed and "nothing to grade yet" in result.message and "assistant" not in result.message


# 03.2 correct an earlier answer

@pytest.mark.parametrize("body", [
    """fixed = copy.deepcopy(refund_history)
fixed[1]["content"] = "Refunds take 5 business days."
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=fixed + [{"role": "user", "content": next_question}])""",
    """fixed = [refund_history[0], {"role": "assistant", "content": [{"type": "text", "text": "About a week: 5 business days."}]},
         {"role": "user", "content": next_question}]
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=fixed)""",
    """fixed = [dict(turn) for turn in refund_history]
fixed[1]["content"] = "Sorry, I had that wrong: a refund arrives within five working days, not 30."
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=[*fixed, {"role": "user", "content": next_question}])""",
])
def test_corrected_right_answers_pass(learner, body):
    result = learner.answer(CORRECTED, body)
    assert result.passed, result


@pytest.mark.parametrize("wrong", ["Refunds take 31 days.", ".", "Refunds take 5 days.", "It depends."])
def test_corrected_still_wrong_corrections_are_refused(learner, wrong):
    result = learner.answer(CORRECTED, f"""fixed = copy.deepcopy(refund_history)
fixed[1]["content"] = {wrong!r}
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=fixed + [{{"role": "user", "content": next_question}}])""")
    assert not result.passed and "does not state the policy, 5 business days" in result.message, result


def test_corrected_lesson_demo_is_refused(learner):
    result = learner.answer(CORRECTED, "corrected_reply = reply")  # the pricing correction of section 3
    assert not result.passed and ("before this cell's" in result.message or "refund question" in result.message)


@pytest.mark.parametrize("body, words", [
    ("""corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=refund_history + [{"role": "user", "content": next_question}])""",
     "still says"),
    ("""history = refund_history + [{"role": "user", "content": "Correction: refunds take 5 business days."}]
ack = client.messages.create(model=DEFAULT_MODEL, max_tokens=300, messages=history)
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=history + [ack.to_param(), {"role": "user", "content": next_question}])""",
     "Adding a user correction"),
    ("""corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=[refund_history[0], {"role": "user", "content": next_question}])""",
     "assistant turn after the refund question is missing"),
    ("""fixed = copy.deepcopy(refund_history)
fixed[1]["content"] = "Refunds take 5 business days."
corrected_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=300,
                                         messages=fixed + [{"role": "user", "content": "Thanks!"}])""",
     "not `next_question`"),
])
def test_corrected_mistakes_name_the_mechanic(learner, body, words):
    result = learner.answer(CORRECTED, body)
    assert not result.passed and words in result.message, result
