"""Graders for lesson 03: few-shot examples as turns, and an earlier answer corrected before sending."""

from __future__ import annotations

from typing import Any

from . import correct, grader, hint
from .lesson02 import _sent_messages, alternation_problem, reply_to

REFUND_QUESTION = "How long do refunds take?"
WRONG_ANSWER = "Refunds take 30 days."


def _text(turn: dict) -> str:
    content = turn.get("content")
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if b.get("type") == "text")


@grader("03.1 few-shot examples as turns")
def few_shot(answer: Any) -> Any:
    messages, problem = _sent_messages(answer, "answer", "send your few-shot request")
    if problem is not None:
        return problem
    roles = [m.get("role") for m in messages]
    if roles[-1] != "user":
        return hint("the request ended with an assistant turn, which is a prefill (lesson 04): end with the real "
                    "question as a user turn.")
    wrong = alternation_problem(roles)
    if wrong:
        return hint(wrong.replace("Alternate: append each reply before the next question.",
                                  "Each example is a user turn followed by the assistant turn you write."))
    pairs = (len(messages) - 1) // 2
    if pairs < 2:
        return hint(f"the request had {pairs} example pair(s) before the question. Write at least two pairs: an "
                    "example input as a user turn, the answer you want as an assistant turn; then the question.")
    question = _text(messages[-1]).strip()
    if question in [_text(m).strip() for m in messages[:-1] if m.get("role") == "user"]:
        return hint("the final question is also one of the examples: the examples should be other inputs, "
                    "each with the answer you want.")
    for i, turn in enumerate(messages):
        if turn.get("role") == "assistant" and reply_to(messages[:i], turn.get("content")):
            return hint(f"turn {i} is a reply the API generated. Few-shot answers are assistant turns you write "
                        "yourself: they show the exact answer you want.")
    return correct(f"{pairs} example pairs written by you, then the real question: the request ended with a "
                   "user turn.")


@grader("03.2 correct an earlier answer")
def corrected(reply: Any) -> Any:
    messages, problem = _sent_messages(reply, "corrected_reply", "send `next_question` after the corrected history")
    if problem is not None:
        return problem
    if messages[0].get("role") != "user" or _text(messages[0]).strip() != REFUND_QUESTION:
        return hint("start from `refund_history`: the refund question should be the first turn you send.")
    if len(messages) < 2 or messages[1].get("role") != "assistant":
        return hint("the assistant turn after the refund question is missing: keep it in place and change its text.")
    if messages[-1].get("role") != "user":
        return hint("the request ended with an assistant turn (a prefill): end with `next_question` as a user turn.")
    answer = _text(messages[1]).strip()
    if answer == WRONG_ANSWER:
        if len(messages) > 3:
            return hint("the wrong answer is still in place, with turns added after it. Adding a user correction is "
                        "the other way; this exercise asks you to edit the assistant turn itself before sending.")
        return hint(f"the assistant turn you sent still says {WRONG_ANSWER!r}: change the `content` of that turn "
                    "(in a copy of `refund_history`) before sending.")
    if not answer:
        return hint("the corrected assistant turn has no text: write the right answer into it.")
    if len(messages) != 3:
        return hint(f"you sent {len(messages)} turns: send the refund question, the corrected assistant turn and "
                    "`next_question`, three turns in all.")
    return correct(f"the assistant turn you sent says {answer!r} instead of {WRONG_ANSWER!r}, and the request "
                   "ended with the user's next question.")
