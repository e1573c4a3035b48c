"""Random conversation histories for graders: plain exchanges, tool calls (one or two per turn), open endings.

An *exchange* starts at a user turn with the user's own words and runs until the
next one: the answer, and any tool calls and results in between.
"""

from __future__ import annotations

import random
from typing import Any

from . import grader_only

QUESTIONS = (
    "Which vegetables grow well in clay soil?", "How deep should a raised bed be?", "When do I sow carrots?",
    "Is mulch worth it?", "How often should I water tomatoes?", "What keeps slugs away?",
    "Can I grow potatoes in a bag?", "Which herbs like shade?", "How do I start a compost heap?",
    "When should I prune the apple tree?", "Are coffee grounds good for roses?", "How far apart do beans go?",
)
ANSWERS = (
    "Beans, chard and squash cope well with clay.", "Thirty centimetres is plenty for most crops.",
    "From early spring, once the soil is workable.", "Yes: it keeps moisture in and weeds down.",
    "Deeply, twice a week, more in a heatwave.", "Beer traps and copper tape, checked every evening.",
    "Yes, a 40-litre bag holds three seed potatoes.", "Mint, parsley and chives grow in partial shade.",
    "Mix green and brown material in equal parts.", "In late winter, while the tree is dormant.",
    "A thin layer is fine; too much turns sour.", "About fifteen centimetres apart in rows.",
)
CITIES = ("Lyon", "Oslo", "Lima", "Porto", "Quito", "Turin", "Leeds", "Perth")


class _Writer:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.next_id = 0

    def tool_use(self) -> dict:
        self.next_id += 1
        return {"type": "tool_use", "id": f"toolu_hist{self.next_id:02d}{self.rng.randrange(1000):03d}",
                "name": "get_weather", "input": {"city": self.rng.choice(CITIES)}}

    def tool_round(self, parallel: int) -> list[dict]:
        uses = [self.tool_use() for _ in range(parallel)]
        intro = [{"type": "text", "text": "Let me check."}] if self.rng.random() < 0.5 else []
        results = [{"type": "tool_result", "tool_use_id": use["id"], "content": f"{self.rng.randrange(-5, 30)} °C"}
                   for use in uses]
        return [{"role": "assistant", "content": intro + uses}, {"role": "user", "content": results}]

    def exchange(self, ending: str) -> list[dict]:
        turns: list[dict] = [{"role": "user", "content": self.rng.choice(QUESTIONS)}]
        rounds = self.rng.choice((0, 0, 0, 1, 1, 2)) if ending != "question" else 0
        for _ in range(rounds):
            turns += self.tool_round(self.rng.choice((1, 1, 2)))
        if ending == "tool_result" and rounds == 0:
            turns += self.tool_round(1)
        if ending == "answered":
            turns.append({"role": "assistant", "content": self.rng.choice(ANSWERS)})
        return turns


def random_history(rng: random.Random, exchanges: int, ending: str = "") -> list[dict]:
    """``exchanges`` exchanges; the last one ends with the ``ending`` given ("question", "tool_result",
    "answered") or a random one."""
    writer = _Writer(rng)
    ending = ending or rng.choice(("question", "question", "tool_result", "answered"))
    turns: list[dict] = []
    for n in range(exchanges):
        turns += writer.exchange(ending if n == exchanges - 1 else "answered")
    return turns


@grader_only
def is_plain_user(turn: Any) -> bool:
    """A user turn with the user's own words: no tool_result blocks."""
    if not isinstance(turn, dict) or turn.get("role") != "user":
        return False
    content = turn.get("content")
    return isinstance(content, str) or not any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content or [])


@grader_only
def exchange_starts(messages: list[dict]) -> list[int]:
    return [i for i, turn in enumerate(messages) if is_plain_user(turn)]


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
