"""Thinking as the offline backend does it: which setting applies, how deep it goes, and signed blocks.

What a model accepts and does by default is catalog data (``ModelEntry.thinking``,
``ModelEntry.effort``); this module turns a validated request into ``Settings`` and
signs and reads the kit's thinking blocks.

The kit's stand-in for adaptive thinking is deterministic (a real model decides per
request, https://platform.claude.com/docs/en/build-with-claude/thinking): it thinks
at every effort but ``low``, and more steps the higher the effort. Budget thinking
(``enabled``) thinks as at ``high``, far below the smallest ``budget_tokens`` (1024).

A signature names the model that wrote the block and a digest of the conversation
before it (system prompt, tools and earlier messages): on models whose blocks are
bound to their conversation (``Thinking.binds_blocks``), a block sent back after an
edit to that prefix, or to another model, is refused, as the API does ("thinking
blocks are tied to the model and the conversation",
https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from .. import catalog
from .blocks import expect, literal, only_fields, options
from .errors import ApiError, invalid
from .wording import say

STEPS_BY_EFFORT = {"low": 0, "medium": 1, "high": 2, "xhigh": 3, "max": 4}
"""How many reasoning steps the kit's thinking takes at each effort (0: adaptive thinking skips thinking)."""
BUDGET_EFFORT = "high"
"""The depth of budget (``enabled``) thinking, which has no effort of its own."""
DEFAULT_EFFORT = "high"
"""The effort of a model that takes no ``output_config.effort``."""

_SIGNATURE_PREFIX = b"kit-offline-thinking:"
_SIGNATURE_KEY = b"the kit's offline backend signs its own thinking blocks"  # integrity, not secrecy


@dataclass(frozen=True)
class Settings:
    """The thinking that applies to one request, after validation."""

    type: str  # the thinking.type in force: the request's, or the model's default
    explicit: bool  # the request set ``thinking`` itself
    display: str  # summarized | omitted
    effort: str

    @property
    def active(self) -> bool:
        """Up-front thinking is on (adaptive or budget thinking)."""
        return self.type in ("adaptive", "enabled")

    @property
    def steps(self) -> int:
        """The kit's thinking depth for this request: 0 means no thinking block."""
        if not self.active:
            return 0
        return STEPS_BY_EFFORT[BUDGET_EFFORT if self.type == "enabled" else self.effort]


def settings(body: dict, model: catalog.ModelEntry) -> Settings:
    """The thinking in force for a request that passed validation."""
    requested = body.get("thinking")
    thinking_type = requested["type"] if requested else model.thinking.default
    display = (requested or {}).get("display") or model.thinking.display
    effort = (body.get("output_config") or {}).get("effort")
    if effort is None:
        effort = model.effort.default if model.effort else DEFAULT_EFFORT
    return Settings(type=thinking_type, explicit=requested is not None, display=display, effort=effort)


# -- the conversation a block belongs to ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON without the parts that do not change a conversation: ``None`` fields and cache breakpoints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None and k != "cache_control"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical(value: Any) -> bytes:
    encoded = _ENCODER.encode(value)
    if '"cache_control"' in encoded or "null" in encoded:  # rare: only then is the slower clean-up worth it
        encoded = _ENCODER.encode(_plain(value))
    return encoded.encode("utf-8", "surrogatepass")


def _feed(digest: Any, part: bytes) -> None:
    digest.update(b"%d:%s" % (len(part), part))  # length first: no two conversations feed the same bytes


def _turn_bytes(message: dict) -> bytes:
    """One turn, canonically: a string is the same turn as its one text block, and text needs no JSON."""
    content = message.get("content")
    role = str(message.get("role")).encode()
    if isinstance(content, str):
        text = content.encode("utf-8", "surrogatepass")
        return b"%s|text%d:%s" % (role, len(text), text)
    parts = [role]
    for block in content:
        if block.get("type") == "text" and not block.get("citations") and block.keys() <= _PLAIN_TEXT_KEYS:
            text = block["text"].encode("utf-8", "surrogatepass")
            parts.append(b"|text%d:%s" % (len(text), text))
        else:
            encoded = _canonical(block)
            parts.append(b"|json%d:%s" % (len(encoded), encoded))
    return b"".join(parts)


_PLAIN_TEXT_KEYS = {"type", "text", "cache_control", "citations"}


def _head(system: Any, tools: Any) -> Any:
    """The digest of what comes before the messages: the system prompt, then the tools."""
    digest = hashlib.sha256()
    _feed(digest, _canonical([{"type": "text", "text": system}] if isinstance(system, str) else system or None))
    _feed(digest, _canonical(tools or []))
    return digest


@lru_cache(maxsize=32)  # a few system prompts at a time; each entry holds one prompt's text
def _text_head(system: Optional[str]) -> Any:
    return _head(system, None)


def prefix_digests(body: dict, wanted: Optional[set[int]] = None) -> dict[int, str]:
    """For each message index ``i`` in ``wanted`` (default: every index, and one past the end), a digest of what
    comes before message ``i``: the system prompt, the tools and the earlier messages. One pass gives them all."""
    messages = body["messages"]
    wanted = wanted if wanted is not None else set(range(len(messages) + 1))
    system, tools = body.get("system"), body.get("tools")
    if tools or not (system is None or isinstance(system, str)):
        digest = _head(system, tools)
    else:  # the usual request: no tools, a system prompt of text or none, digested once per prompt
        digest = _text_head(system).copy()
    digests = {}
    last_wanted = max(wanted, default=-1)
    update = digest.update
    for i, message in enumerate(messages):
        if i in wanted:
            digests[i] = digest.hexdigest()[:32]
        if i >= last_wanted:
            return digests
        content = message.get("content")
        if isinstance(content, str):  # _turn_bytes's first case, written out: most turns are text
            text = content.encode("utf-8", "surrogatepass")
            part = b"%s|text%d:%s" % (str(message.get("role")).encode(), len(text), text)
        else:
            part = _turn_bytes(message)
        update(b"%d:%s" % (len(part), part))
    if len(messages) in wanted:
        digests[len(messages)] = digest.hexdigest()[:32]
    return digests


def conversation_digest(body: dict) -> str:
    """The digest of the whole conversation of a request: what a thinking block written for it is bound to."""
    return prefix_digests(body, {len(body["messages"])})[len(body["messages"])]


# -- signatures -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    model: str  # the resolved id of the model that wrote the block
    prefix: str  # the prefix digest of the conversation before it (prefix_digests)


def _mac(payload: bytes) -> bytes:
    return hmac.new(_SIGNATURE_KEY, payload, hashlib.sha256).digest()[:16]


@lru_cache(maxsize=1024)  # the same conversation is signed again on each retry or re-run of a cell
def sign(model_id: str, prefix: str) -> str:
    """An opaque signature, as the API gives; decoded, it says plainly that it is the kit's."""
    payload = _SIGNATURE_PREFIX + json.dumps({"model": model_id, "prefix": prefix}, sort_keys=True).encode()
    return base64.b64encode(payload + _mac(payload)).decode("ascii")


def read(signature: Any) -> Optional[Signed]:
    """What a signature the kit made says; ``None`` for anything else (not the kit's, or altered)."""
    if not isinstance(signature, str):
        return None
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    payload, mac = raw[:-16], raw[-16:]
    if not payload.startswith(_SIGNATURE_PREFIX) or not hmac.compare_digest(mac, _mac(payload)):
        return None
    fields = json.loads(payload[len(_SIGNATURE_PREFIX):])
    return Signed(model=fields["model"], prefix=fields["prefix"])


# -- the API's rules about thinking ------------------------------------------------------------------------------

DISPLAYS = ("summarized", "omitted")
CONFIG_FIELDS = {
    "adaptive": ("type", "display"),
    "enabled": ("type", "budget_tokens", "display"),
    "disabled": ("type",),
    "between_tools": ("type",),
}
MIN_BUDGET = 1024


def _unsupported(thinking_type: str, model: catalog.ModelEntry) -> ApiError:
    if thinking_type == "enabled":
        return invalid(say("thinking_enabled_unsupported"))
    if thinking_type == "adaptive":
        return invalid(say("thinking_adaptive_unsupported"))
    if model.thinking.off_type:
        hint = say("thinking_hint_off_type", off_type=model.thinking.off_type)
    elif model.thinking.always_on:
        hint = say("thinking_hint_always_on")
    else:
        hint = ""
    return invalid(say("thinking_type_unsupported", type=thinking_type, hint=hint))


def check_config(body: dict, model: catalog.ModelEntry) -> None:
    """``thinking`` and ``output_config.effort`` against what the model accepts (catalog facts)."""
    requested = body.get("thinking")
    if requested is not None:
        expect(requested, dict, "dictionary", "thinking")
        if "type" not in requested:
            raise invalid(say("field_required", field="thinking.type"))
        literal(requested["type"], catalog.THINKING_TYPES, "thinking.type")
        thinking_type = requested["type"]
        only_fields(requested, CONFIG_FIELDS[thinking_type], f"thinking.{thinking_type}")
        if requested.get("display") is not None:
            literal(requested["display"], DISPLAYS, f"thinking.{thinking_type}.display")
        if not model.thinking.accepts(thinking_type):
            raise _unsupported(thinking_type, model)
        if thinking_type == "enabled":
            budget, max_tokens = requested.get("budget_tokens"), body.get("max_tokens")
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_BUDGET or (
                isinstance(max_tokens, int) and budget >= max_tokens
            ):
                raise invalid(say("thinking_budget"))
    effort = (body.get("output_config") or {}).get("effort")
    if effort is not None:
        if model.effort is None:
            raise invalid(say("effort_unsupported"))
        if effort not in model.effort.levels:
            raise invalid(say("effort_level_unsupported", effort=effort, allowed=options(model.effort.levels)))
    chosen = settings(body, model)
    limits = model.thinking.off_efforts
    if chosen.type in catalog.THINKING_OFF and limits is not None and chosen.effort not in limits:
        raise invalid(say("thinking_off_effort", effort=chosen.effort, type=chosen.type, allowed=options(limits)))


def check_forced_tool(choice: dict, model: catalog.ModelEntry, chosen: Settings) -> None:
    if choice.get("type") not in ("any", "tool"):
        return
    if not model.forced_tool_use:
        raise invalid(say("forced_tool_use_unsupported"))
    if chosen.explicit and chosen.active:
        raise invalid(say("thinking_forced_tool"))


def check_blocks(body: dict, model: catalog.ModelEntry) -> None:
    """Thinking blocks sent back in assistant turns: signed by the kit, and bound to their conversation where the
    model binds them (https://platform.claude.com/docs/en/models/haiku-5-5/migration-guide: keep earlier turns
    unchanged when you send thinking blocks back)."""
    digests: Optional[dict[int, str]] = None  # computed once, and only when a bound block needs checking
    for i, message in enumerate(body["messages"]):
        if message.get("role") != "assistant" or not isinstance(message.get("content"), list):
            continue
        for j, block in enumerate(message["content"]):
            if block.get("type") != "thinking":
                continue
            signed = read(block.get("signature"))
            if signed is None:
                raise invalid(say("thinking_signature_invalid", index=i, block=j))
            if not model.thinking.binds_blocks:
                continue
            if digests is None:
                digests = prefix_digests(body, {n for n, m in enumerate(body["messages"]) if m.get("role") == "assistant"})
            if signed.model != model.resolved_id or signed.prefix != digests[i]:
                raise invalid(say("thinking_bound_elsewhere", index=i, block=j))


def check_final_turn(merged: list[dict], starts: list[int], chosen: Settings) -> None:
    """The last assistant turn. Under budget thinking (the extended thinking the quoted message is about) it must
    open with a thinking block: a final assistant turn, or the turn before the last tool results. Adaptive thinking
    may skip a turn's thinking, so no such rule applies to it. With thinking off, a final turn holds no thinking."""
    last = merged[-1]
    if last["role"] == "assistant":
        if chosen.type == "enabled":
            _opens_with_thinking(last, starts[-1])
        elif not chosen.active:
            for j, block in enumerate(last["content"]):
                if block.get("type") in ("thinking", "redacted_thinking"):
                    raise invalid(say("thinking_in_final_turn", index=starts[-1], block=j))
    elif chosen.type == "enabled" and len(merged) > 1 and merged[-2]["role"] == "assistant":
        if any(b.get("type") == "tool_result" for b in last["content"]):
            _opens_with_thinking(merged[-2], starts[-2])


def _opens_with_thinking(turn: dict, index: int) -> None:
    first = turn["content"][0].get("type") if turn["content"] else "text"
    if first not in ("thinking", "redacted_thinking"):
        raise invalid(say("thinking_first_block", index=index, found=first))
