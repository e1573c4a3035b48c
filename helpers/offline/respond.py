"""Turn a draft reply into the API's Message, applying the generation limits.

Output stops at whichever comes first: the end of the draft (its own stop reason),
a stop sequence (cut before the match; the match is reported, not included), the
request's ``max_tokens``, or the context window (``model_context_window_exceeded``).
Thinking comes first and counts like any output: its tokens are billed in
``output_tokens`` (and reported in ``output_tokens_details.thinking_tokens``) even
when its text is omitted, and they use up ``max_tokens`` before the text does
(https://platform.claude.com/docs/en/build-with-claude/thinking).
"""

from __future__ import annotations

from typing import Optional

from . import prompt_cache, tokens
from .ids import new_id
from .replies import Draft, draft
from .validate import Request

SERVICE_TIER = "standard"
INFERENCE_GEO = "not_available"  # what every recorded response of the API says (messages-api.md section 11)


def usage(input_tokens: int | prompt_cache.Accounting, output_tokens: int, *, web_searches: int = 0,
          thinking_tokens: Optional[int] = None, speed: Optional[str] = None) -> dict:
    """The usage object; ``input_tokens`` is the whole input, or its split between the cache and fresh tokens."""
    split = input_tokens if isinstance(input_tokens, prompt_cache.Accounting) else prompt_cache.Accounting(input_tokens)
    return {
        "input_tokens": split.input_tokens,
        "cache_creation_input_tokens": split.cache_creation_input_tokens,
        "cache_read_input_tokens": split.cache_read_input_tokens,
        "cache_creation": {"ephemeral_5m_input_tokens": split.cache_creation_5m,
                           "ephemeral_1h_input_tokens": split.cache_creation_1h},
        "output_tokens": output_tokens,
        "server_tool_use": {"web_search_requests": web_searches, "web_fetch_requests": 0} if web_searches else None,
        "service_tier": SERVICE_TIER,
        "inference_geo": INFERENCE_GEO,
        # "The inference speed mode used for this request" (SDK types/usage.py): the mode asked for, since
        # validation refused a fast request the model cannot serve. UNCONFIRMED: null when the request names none.
        "speed": speed,
        "output_tokens_details": {"thinking_tokens": thinking_tokens} if thinking_tokens is not None else None,
    }


def _first_stop(text: str, stop_sequences: list[str]) -> Optional[tuple[int, str]]:
    best: Optional[tuple[int, str]] = None
    for sequence in stop_sequences:
        at = text.find(sequence)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, sequence)
    return best


def _limit(request: Request, plan: Draft, thinking_tokens: int) -> tuple[int, str]:
    window = request.model.context_window - request.input_tokens
    if plan.window_left is not None:
        window = min(window, thinking_tokens + plan.window_left)
    if window < request.max_tokens:
        return window, "model_context_window_exceeded"
    return request.max_tokens, "max_tokens"


def _thinking_block(request: Request, plan: Draft, limit: int) -> tuple[Optional[dict], int, bool]:
    """The thinking block as the response shows it, the tokens it used, and whether ``limit`` cut it."""
    tokenizer = request.model.tokenizer
    full = tokens.count_text(plan.thinking.full, tokenizer)
    used = min(full, limit)
    if used == 0:
        return None, 0, full > 0
    shown = plan.thinking.shown
    if tokens.count_text(shown, tokenizer) > used:  # cut: the pieces are the tokens counted, in order
        shown = "".join(tokens.pieces(shown, tokenizer)[:used])
    return {"type": "thinking", "thinking": shown, "signature": plan.thinking.signature}, used, used < full


def message(request: Request, plan: Optional[Draft] = None) -> dict:
    plan = plan if plan is not None else draft(request)
    tokenizer = request.model.tokenizer
    planned_thinking = tokens.count_text(plan.thinking.full, tokenizer) if plan.thinking else 0
    limit, limit_reason = _limit(request, plan, planned_thinking)
    content: list[dict] = []
    used = 0
    stop_reason, stop_sequence = plan.stop_reason, None
    cut_in_thinking = False
    if plan.thinking is not None:
        block, used, cut_in_thinking = _thinking_block(request, plan, limit)
        if block is not None:
            content.append(block)
        if cut_in_thinking:
            stop_reason = limit_reason
    thinking_tokens = used
    # max_tokens applies to each model call, not to the whole turn: a server tool's result ends one call and
    # the model is called again, with the same max_tokens, so a searched turn can report more output tokens
    # than max_tokens (SDK 2.17 message_create_params.py, max_tokens).
    call_used = used
    for block in plan.blocks if not cut_in_thinking else ():
        left = limit - call_used
        before = used
        if block["type"] == "web_search_tool_result":
            used += tokens.count_block(block, tokenizer)  # counted as before; the next model call starts after it
            content.append(block)
            call_used = 0
            continue
        if block["type"] == "text":
            text = block["text"]
            stop = _first_stop(text, request.stop_sequences)
            if stop is not None and tokens.count_text(text[: stop[0] + len(stop[1])], tokenizer) <= left:
                text = text[: stop[0]]
                used += tokens.count_text(text + stop[1], tokenizer)
                stop_reason, stop_sequence = "stop_sequence", stop[1]
            else:
                count = tokens.count_text(text, tokenizer)  # the number of pieces, counted once per text
                if count > left:
                    text = "".join(tokens.pieces(text, tokenizer)[:left])
                    stop_reason = limit_reason
                used += min(count, left)
            if text:
                # A citation follows its text (streamed, after the text deltas): a cut text loses it.
                cited = block.get("citations") if text == block["text"] else None
                content.append({"type": "text", "text": text, "citations": cited} if cited else
                               {"type": "text", "text": text})
        else:
            cost = tokens.count_block(block, tokenizer)
            if cost > left:
                used += left
                stop_reason = limit_reason
            else:
                used += cost
                content.append(block)
        call_used += used - before
        if stop_reason in ("stop_sequence", limit_reason) and stop_reason != plan.stop_reason:
            break
    if used == 0 and request.max_tokens > 0:
        used = 1  # the API reports at least one output token, even for an empty reply
    searches = sum(1 for b in content if b["type"] == "web_search_tool_result")  # the searches run in this response
    cached = prompt_cache.cache.account(request.body, request.input_tokens, tokenizer, request.model.min_cacheable_tokens,
                                        request.model.image_native)
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": request.model.resolved_id,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "stop_details": plan.stop_details if stop_reason == plan.stop_reason else None,
        "usage": usage(
            cached, used, web_searches=searches,
            thinking_tokens=thinking_tokens if request.thinking.active else None,
            speed=request.body.get("speed"),
        ),
    }
