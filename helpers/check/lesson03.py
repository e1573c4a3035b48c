"""Graders for lesson 03: few-shot examples as turns, and an earlier answer corrected before sending."""

from __future__ import annotations

import re
from typing import Any

from . import correct, grader, logged, not_yet, same_text, text_of_content
from .lesson02 import alternation_problem, reply_to

TICKET_QUESTION = "Ticket: I was charged twice for my May invoice."
"""The ticket exercise 03.1 classifies (the lesson's `question`)."""
LABELS = ("billing", "bug", "other")
REFUND_QUESTION = "How long do refunds take?"
WRONG_ANSWER = "Refunds take 30 days."
NEXT_QUESTION = "I returned my kettle today. When will my refund arrive?"
POLICY = re.compile(r"\b(5|five)[\s-]+(business|working)[\s-]+days?\b", re.IGNORECASE)
"""The policy the exercise states (5 business days), in the words a correction may use."""

HINTS = {
    "03.1": (
        "Few-shot examples are turns you write: a ticket as a user turn, then its label as an assistant turn. "
        "Two or three such pairs, then `question` as the last user turn.",
        "Section 2 does it for reviews: `{\"role\": \"user\", \"content\": \"Review: Two hours late.\"}`, "
        "`{\"role\": \"assistant\", \"content\": \"negative\"}`, one pair per label. Write your own ticket pairs, "
        "each a different ticket, covering the labels the exercise names, then `question` as the last user turn.",
    ),
    "03.2": (
        "Edit the assistant turn itself, in a copy: the history you send still has the refund question first and "
        "the assistant's answer second, but with your text.",
        "Work on a copy (`copy.deepcopy(...)`), set the `content` of its assistant turn (index 1) to the true "
        "answer in your own words, with the policy the exercise gives, then send the copy with `next_question` "
        "appended as a user turn.",
    ),
}


def _label(text: str) -> str:
    return text.strip().strip(".").strip().lower()


@grader("03.1 few-shot examples as turns")
def few_shot(answer: Any) -> Any:
    record, problem = logged(answer, "answer", "Send your few-shot request")
    if problem is not None:
        return problem
    messages = [m for m in (record.request or {}).get("messages") or [] if isinstance(m, dict)]
    roles = [m.get("role") for m in messages]
    if roles and roles[-1] != "user":
        return not_yet("the request ended with an assistant turn, which is a prefill (lesson 04): end with "
                       "`question` as a user turn.")
    if not same_text(text_of_content(messages[-1].get("content")), TICKET_QUESTION):
        return not_yet("the request's last user turn is not `question`: this exercise grades the request that "
                       "classifies that ticket (the lesson's review examples are another request).")
    wrong = alternation_problem(roles)
    if wrong:
        return not_yet(wrong.replace("Alternate: append each reply before the next question.",
                                     "Each example is a user turn followed by the assistant turn you write."))
    pairs = (len(messages) - 1) // 2
    if pairs < 2:
        return not_yet(f"the request had {pairs} example pair(s) before the question. Write at least two pairs: a "
                       "ticket as a user turn, its label as an assistant turn; then the question.")
    examples = [text_of_content(m.get("content")) for m in messages[:-1]]
    if any(same_text(q, TICKET_QUESTION) for q in examples[0::2]):
        return not_yet("`question` is also one of the examples: the examples should be other tickets, each with "
                       "its label.")
    for i, turn in enumerate(messages):
        if turn.get("role") == "assistant" and reply_to(messages[:i], turn.get("content")):
            return not_yet(f"turn {i} is a reply the API generated. Few-shot answers are assistant turns you write "
                           "yourself: they show the exact answer you want.")
    labels = [_label(text) for text in examples[1::2]]
    unknown = [text for text, label in zip(examples[1::2], labels) if label not in LABELS]
    if unknown:
        return not_yet(f"the example answer {unknown[0]!r} is not one of the labels {', '.join(LABELS)}: the "
                       "examples show the exact answer you want, so write the bare label.")
    tickets = [" ".join(text.lower().split()) for text in examples[0::2]]
    repeated = next((text for i, text in enumerate(examples[0::2]) if tickets[i] in tickets[:i]), None)
    if repeated is not None:
        return not_yet(f"the example ticket {repeated!r} is there twice: a repeated example shows the model nothing "
                       "new. Write a different ticket for each pair.")
    if len(set(labels)) < 2:
        return not_yet(f"every example is labelled {labels[0]!r}: from those the model can only learn to answer "
                       f"{labels[0]!r}. Give examples of at least two of the labels ({', '.join(LABELS)}), so they "
                       "show what tells the labels apart.")
    return correct(f"the usage log shows {pairs} example pairs you wrote, labelled {', '.join(sorted(set(labels)))}, "
                   "then `question` as the final user turn.")


@grader("03.2 correct an earlier answer")
def corrected(reply: Any) -> Any:
    record, problem = logged(reply, "corrected_reply", "Send `next_question` after the corrected history")
    if problem is not None:
        return problem
    messages = [m for m in (record.request or {}).get("messages") or [] if isinstance(m, dict)]
    texts = [text_of_content(m.get("content")).strip() for m in messages]
    if not messages or messages[0].get("role") != "user" or not same_text(texts[0], REFUND_QUESTION):
        return not_yet("start from `refund_history`: the refund question should be the first turn you send.")
    if len(messages) < 2 or messages[1].get("role") != "assistant":
        return not_yet("the assistant turn after the refund question is missing: keep it in place and change its "
                       "text.")
    if messages[-1].get("role") != "user":
        return not_yet("the request ended with an assistant turn (a prefill): end with `next_question` as a user "
                       "turn.")
    if same_text(texts[1], WRONG_ANSWER):
        if len(messages) > 3:
            return not_yet("the wrong answer is still in place, with turns added after it. Adding a user correction "
                           "is the other way; this exercise asks you to edit the assistant turn itself before "
                           "sending.")
        return not_yet(f"the assistant turn you sent still says {WRONG_ANSWER!r}: change the `content` of that turn "
                       "(in a copy of `refund_history`) before sending.")
    if not texts[1]:
        return not_yet("the corrected assistant turn has no text: write the right answer into it.")
    if not POLICY.search(texts[1]):
        return not_yet(f"the corrected turn {texts[1][:80]!r} does not state the policy, 5 business days: the model "
                       "takes that turn as what it already said, so write the true answer into it.")
    if len(messages) != 3:
        return not_yet(f"you sent {len(messages)} turns: send the refund question, the corrected assistant turn and "
                       "`next_question`, three turns in all.")
    if not same_text(texts[2], NEXT_QUESTION):
        return not_yet("the last turn is not `next_question`: send that question after the corrected answer.")
    return correct(f"the usage log shows the refund question, your corrected assistant turn ({texts[1]!r} instead of "
                   f"{WRONG_ANSWER!r}) and `next_question`, in that order.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
