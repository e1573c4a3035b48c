"""What a call looked like, kept by the classroom server for each call it answers, and whether the calls a grader's
report points to can vouch for an exercise's pass (``exercise_shapes.json``: the request shape per exercise).

The shape holds no text of the learner's: only which parts a request had (a system prompt, a stream, the roles and
block types of its turns), enough to tell an exercise's own request from any other call."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

SHAPES = Path(__file__).with_name("exercise_shapes.json")


def request_shape(route: str, body: Optional[dict]) -> dict:
    body = body if isinstance(body, dict) else {}
    turns = [t for t in body.get("messages") or [] if isinstance(t, dict)] if isinstance(body.get("messages"), list) else []
    blocks = set()
    cache_control = "cache_control" in body
    for turn in turns:
        content = turn.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict):
                blocks.add(str(block.get("type"))[:40])
                cache_control = cache_control or "cache_control" in block
    system = body.get("system")
    for block in system if isinstance(system, list) else []:
        cache_control = cache_control or (isinstance(block, dict) and "cache_control" in block)
    tool_choice = body.get("tool_choice")
    output_config = body.get("output_config")
    return {
        "route": route,
        "system": bool(system),
        "stream": body.get("stream") is True,
        "turns": len(turns),
        "last_role": str(turns[-1].get("role"))[:20] if turns else None,
        "blocks": sorted(blocks),
        "tool_choice": str(tool_choice.get("type"))[:20] if isinstance(tool_choice, dict) else None,
        "cache_control": cache_control,
        "output_format": isinstance(output_config, dict) and isinstance(output_config.get("format"), dict),
    }


@lru_cache(maxsize=1)
def _shapes() -> dict[str, dict]:
    return {k: v for k, v in json.loads(SHAPES.read_text(encoding="utf-8")).items() if not k.startswith("_")}


def _fits(call: dict, wanted: dict) -> bool:
    shape = call["shape"]
    for key, value in wanted.items():
        if key == "status":
            ok = call["status"] in value
        elif key == "blocks":
            ok = set(value) <= set(shape.get("blocks") or [])
        elif key == "min_turns":
            ok = (shape.get("turns") or 0) >= value
        elif isinstance(value, list):
            ok = shape.get(key) in value
        else:
            ok = shape.get(key) == value
        if not ok:
            return False
    return True


def voucher(exercise: str) -> Callable[[list[dict]], str]:
    """For ``record_progress``: "" when the calls vouch for ``exercise``, else why not."""
    wanted = _shapes().get(exercise)

    def vouch(calls: list[dict[str, Any]]) -> str:
        if wanted is None:
            return "" if any(call["status"] == 200 for call in calls) else "none of its calls was answered"
        if any(_fits(call, wanted) for call in calls):
            return ""
        return f"none of its calls has the request shape of exercise {exercise}"

    return vouch
