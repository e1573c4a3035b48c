"""Request validation: the checks the Messages API makes before any text is produced.

Each check raises ``ApiError`` with the status, error type and wording the API uses
(see ``wording.py``). The result is a normalised ``Request``: consecutive turns of
the same role merged, every content a list of blocks, the prefill split out, and the
thinking in force. What differs between models (thinking settings, effort levels,
forced tool use, tokenizer) is read from the catalog; content blocks are checked in
``blocks.py`` and the thinking rules live in ``thinking.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import catalog
from . import blocks, citations, thinking, tokens
from .blocks import expect as _expect
from .blocks import literal as _literal
from .errors import ApiError, invalid
from .wording import say

API_VERSIONS = ("2026-10-21", "2023-06-01")
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")

CREATE_FIELDS = (
    "model", "max_tokens", "messages", "system", "stop_sequences", "stream", "metadata", "tools",
    "tool_choice", "thinking", "output_config", "service_tier", "speed", "cache_control", "container",
    "diagnostics", "inference_geo", "context_management", "mcp_servers",
)
COUNT_FIELDS = (
    "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control",
    "speed", "context_management", "mcp_servers",
)
BETA_FIELDS = {
    "context_management": ("context-management-2025-06-27",),
    "mcp_servers": ("mcp-client-2025-04-04", "mcp-client-2025-11-20", "mcp-client-2026-09-15"),
}
"""Fields only the beta Messages API takes, each with the ``anthropic-beta`` values that turn it on (the SDK's
``client.beta.messages`` sends them); without one, the API does not know the field."""
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")  # the define-tools page: "Must match the regex ^[a-zA-Z0-9_-]{1,128}$"
TOOL_CHOICE_FIELDS = {
    "auto": ("type", "disable_parallel_tool_use"),
    "any": ("type", "disable_parallel_tool_use"),
    "tool": ("type", "name", "disable_parallel_tool_use"),
    "none": ("type",),
}
ROLES = ("user", "assistant", "system")
MAX_MESSAGES = 100_000
MAX_DEPTH = 128  # UNCONFIRMED: nesting limit of the API's JSON parser (serde_json's default is 128)
TOOL_CHOICE_TYPES = ("auto", "any", "tool", "none")
EFFORTS = catalog.EFFORT_LEVELS
SERVICE_TIERS = ("auto", "standard_only")
SPEEDS = ("standard", "fast")


@dataclass
class Request:
    body: dict
    model: catalog.ModelEntry
    messages: list[dict]
    max_tokens: int = 0
    system_text: str = ""
    prefill: Optional[str] = None
    continues_pause: bool = False
    stop_sequences: list[str] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)
    tool_choice: dict = field(default_factory=lambda: {"type": "auto"})
    output_schema: Optional[dict] = None
    stream: bool = False
    input_tokens: int = 0
    file_ids: dict[int, str] = field(default_factory=dict)  # document index -> the file its source named
    thinking: thinking.Settings = thinking.Settings(type="disabled", explicit=False, display="summarized", effort="high")
    blocks_sent: bool = True  # False when every turn is text alone: no documents, images, tools or thinking


class ApiVersion(str):
    """The ``anthropic-version`` of a request, carrying the ``anthropic-beta`` features it turned on."""

    betas: frozenset[str] = frozenset()

    def __new__(cls, version: str, betas: frozenset[str] = frozenset()) -> "ApiVersion":
        made = super().__new__(cls, version)
        made.betas = betas
        return made


def check_headers(headers: dict[str, str], *, require_key: bool = True) -> str:
    """Authentication and version headers; returns the API version in use."""
    if require_key:
        bearer = headers.get("authorization")
        api_key = headers.get("x-api-key")
        if bearer is None and api_key is None:
            raise ApiError("authentication_error", say("missing_key"))
        token = api_key if api_key is not None else bearer.removeprefix("Bearer").strip()
        if not token.strip():
            raise ApiError("authentication_error", say("invalid_key"))
    version = headers.get("anthropic-version")
    if not version:
        raise invalid(say("version_required"))
    if version not in API_VERSIONS:
        raise invalid(say("version_unknown", version=version))
    betas = frozenset(b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip())
    return ApiVersion(version, betas)


def _check_json(body: Any) -> None:
    """Reject JSON the API cannot parse: nested deeper than ``MAX_DEPTH``, or a lone surrogate (``"\\ud800"``)."""
    level, depth = [body], 0
    while level:  # one level of nesting at a time: no recursion, whatever the depth
        depth += 1
        if depth > MAX_DEPTH:
            raise invalid(say("invalid_json"))
        deeper = []
        for value in level:
            if isinstance(value, dict):
                for key in value:
                    if not key.isascii() and not _is_utf8(key):
                        raise invalid(say("invalid_json"))
                value = value.values()
            for item in value:
                if isinstance(item, str):
                    if not item.isascii() and not _is_utf8(item):
                        raise invalid(say("invalid_json"))
                elif isinstance(item, (dict, list)):
                    deeper.append(item)
        level = deeper


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_fields(body: Any, allowed: tuple[str, ...], required: tuple[str, ...], version: str) -> None:
    if not isinstance(body, dict):
        raise invalid(say("invalid_json"))
    _check_json(body)
    betas = getattr(version, "betas", frozenset())
    for name in body:
        if name not in allowed or (name in BETA_FIELDS and not betas & set(BETA_FIELDS[name])):
            raise invalid(say("extra_input", field=name))
    for name in required:
        if name not in body:
            raise invalid(say("field_required", field=name))


def _as_blocks(content: Any) -> list[dict]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _is_empty(content: Any) -> bool:
    return content == "" or content == []


def _check_messages(messages: Any) -> tuple[list[dict], int]:
    """The messages, checked; and how many cache breakpoints their blocks set."""
    _expect(messages, list, "list", "messages")
    if not messages:
        raise invalid(say("messages_empty"))
    if len(messages) > MAX_MESSAGES:
        raise invalid(say("too_many_messages", limit=MAX_MESSAGES))
    breakpoints = 0
    for i, message in enumerate(messages):
        # The usual turn (a dict of a role and a content) passes with few tests; anything else is checked in full.
        if not isinstance(message, dict) or len(message) != 2 or "role" not in message or "content" not in message:
            where = f"messages.{i}"
            _expect(message, dict, "dictionary", where)
            for key in message:
                if key not in ("role", "content"):
                    raise invalid(say("extra_input", field=f"{where}.{key}"))
            for key in ("role", "content"):
                if key not in message:
                    raise invalid(say("field_required", field=f"{where}.{key}"))
        if message["role"] not in ROLES:
            _literal(message["role"], ROLES, f"messages.{i}.role")
        content = message["content"]
        if isinstance(content, list):
            for j, block in enumerate(content):
                breakpoints += blocks.check(block, f"messages.{i}.content.{j}")
        elif not isinstance(content, str):
            _expect(content, (str, list), "string or list", f"messages.{i}.content")
    last = len(messages) - 1
    for i, message in enumerate(messages):
        final_assistant = i == last and message["role"] == "assistant"
        if _is_empty(message["content"]) and not final_assistant:
            raise invalid(say("non_empty_content", index=i))
        if isinstance(message["content"], str):
            continue  # its one text block is empty only if the content is "", allowed just above
        for block in message["content"]:
            if block.get("type") == "text" and block["text"] == "":
                raise invalid(say("empty_text_block"))
    return messages, breakpoints


def merge_turns(messages: list[dict]) -> list[dict]:
    """Consecutive turns of one role become one turn, as the API combines them."""
    return _merge(messages)[0]


def _merge(messages: list[dict]) -> tuple[list[dict], list[int]]:
    """The merged turns, and for each the index of the original turn it starts at."""
    merged: list[dict] = []
    starts: list[int] = []
    for i, message in enumerate(messages):
        blocks = _as_blocks(message["content"])
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"].extend(blocks)
        else:
            merged.append({"role": message["role"], "content": blocks})  # a new list already: _as_blocks copies
            starts.append(i)
    return merged, starts


def _check_tool_pairs(merged: list[dict], starts: list[int]) -> None:
    if not any(b.get("type") in ("tool_use", "tool_result") for m in merged for b in m["content"]):
        return  # nothing to pair (the common case, checked in one pass)
    for k, message in enumerate(merged):
        if message["role"] == "assistant" and k + 1 < len(merged):
            following = merged[k + 1]["content"] if merged[k + 1]["role"] == "user" else []
            answered = {b.get("tool_use_id") for b in following if b.get("type") == "tool_result"}
            missing = [b["id"] for b in message["content"] if b.get("type") == "tool_use" and b["id"] not in answered]
            if missing:
                raise invalid(say("tool_use_without_result", index=starts[k], ids=", ".join(missing)))
        if message["role"] == "user":
            previous = merged[k - 1]["content"] if k > 0 and merged[k - 1]["role"] == "assistant" else []
            known = {b.get("id") for b in previous if b.get("type") == "tool_use"}
            for j, block in enumerate(message["content"]):
                if block.get("type") == "tool_result" and block["tool_use_id"] not in known:
                    raise invalid(say("tool_result_without_use", index=starts[k], block=j, id=block["tool_use_id"]))


def _system_text(system: Any) -> tuple[str, int]:
    """The system prompt's text, and how many cache breakpoints its blocks set."""
    if system is None:
        return "", 0
    _expect(system, (str, list), "string or list", "system")
    if isinstance(system, str):
        return system, 0
    breakpoints = 0
    for j, block in enumerate(system):
        _expect(block, dict, "dictionary", f"system.{j}")
        if block.get("type") != "text":
            raise invalid(say("bad_literal", field=f"system.{j}.type", options="'text'"))
        if "text" not in block:
            raise invalid(say("field_required", field=f"system.{j}.text"))
        _expect(block["text"], str, "string", f"system.{j}.text")
        if block["text"] == "":
            raise invalid(say("empty_text_block").replace("messages", "system"))
        breakpoints += blocks.cache_control(block.get("cache_control"), f"system.{j}.text")
    return "\n".join(b["text"] for b in system), breakpoints


def _check_all_of(schema: dict, field: str) -> None:
    """Refuse ``allOf`` members that give one property the same ``$ref`` with different descriptions.

    The API rejects such a schema (TypeScript SDK 1.17 and Python SDK 2.17 CHANGELOGs, which now send the
    description beside a ``$ref``); the schema is walked without recursion, whatever its depth.
    """
    stack = [(schema, field)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, where) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        members = node.get("allOf")
        if isinstance(members, list):
            seen: dict[tuple[str, str], object] = {}
            for member in members:
                properties = member.get("properties") if isinstance(member, dict) else None
                for key, prop in (properties.items() if isinstance(properties, dict) else ()):
                    if not isinstance(prop, dict) or not isinstance(prop.get("$ref"), str) or "description" not in prop:
                        continue
                    earlier = seen.setdefault((key, prop["$ref"]), prop["description"])
                    if earlier != prop["description"]:
                        raise invalid(say("all_of_ref_descriptions", field=f"{where}.allOf", name=key))
        stack.extend((value, where) for value in node.values() if isinstance(value, (dict, list)))


def _check_tools(body: dict) -> tuple[list[dict], dict, int]:
    """The tools and tool_choice, checked; and how many cache breakpoints the tools set."""
    tools = body.get("tools", [])
    _expect(tools, list, "list", "tools")
    breakpoints = 0
    for j, tool in enumerate(tools):
        _expect(tool, dict, "dictionary", f"tools.{j}")
        if "name" not in tool:
            raise invalid(say("field_required", field=f"tools.{j}.name"))
        _expect(tool["name"], str, "string", f"tools.{j}.name")
        if "type" not in tool or tool["type"] == "custom":
            if "input_schema" not in tool:
                raise invalid(say("field_required", field=f"tools.{j}.input_schema"))
            if not TOOL_NAME.fullmatch(tool["name"]):
                raise invalid(say("tool_name_pattern", field=f"tools.{j}.custom.name"))
        breakpoints += blocks.cache_control(tool.get("cache_control"), f"tools.{j}")
        if "input_schema" in tool:
            schema = tool["input_schema"]
            _expect(schema, dict, "dictionary", f"tools.{j}.input_schema")
            if "type" not in schema:
                raise invalid(say("field_required", field=f"tools.{j}.input_schema.type"))
            _literal(schema["type"], ("object",), f"tools.{j}.input_schema.type")
            _check_all_of(schema, f"tools.{j}.custom.input_schema")
    choice = body.get("tool_choice", {"type": "auto"})
    _expect(choice, dict, "dictionary", "tool_choice")
    if "type" not in choice:
        raise invalid(say("field_required", field="tool_choice.type"))
    _literal(choice["type"], TOOL_CHOICE_TYPES, "tool_choice.type")
    blocks.only_fields(choice, TOOL_CHOICE_FIELDS[choice["type"]], f"tool_choice.{choice['type']}")
    if choice["type"] == "tool":
        if "name" not in choice:
            raise invalid(say("field_required", field="tool_choice.name"))
        _expect(choice["name"], str, "string", "tool_choice.name")
        if choice["name"] not in {t["name"] for t in tools}:
            raise invalid(say("unknown_tool_choice", name=choice["name"]))
    return tools, choice, breakpoints


def _check_fast_mode(model: catalog.ModelEntry, betas: frozenset[str]) -> None:
    """``speed: "fast"`` is served only on the models the catalog says, some of them only with a beta header."""
    fast = model.fast_mode
    if fast is None:
        raise invalid(say("fast_mode_unsupported", model=model.resolved_id))
    if fast.beta is not None and fast.beta not in betas:
        raise invalid(say("fast_mode_beta_required", model=model.resolved_id, beta=fast.beta))


def _check_options(body: dict, model: catalog.ModelEntry, betas: frozenset[str] = frozenset()) -> Optional[dict]:
    """Optional parameters; returns the structured-output JSON schema, if any."""
    if "metadata" in body:
        _expect(body["metadata"], dict, "dictionary", "metadata")
        blocks.only_fields(body["metadata"], ("user_id",), "metadata")
        user_id = body["metadata"].get("user_id")
        if user_id is not None:
            _expect(user_id, str, "string", "metadata.user_id")
    if "service_tier" in body:
        _literal(body["service_tier"], SERVICE_TIERS, "service_tier")
    if "speed" in body:
        _literal(body["speed"], SPEEDS, "speed")
        if body["speed"] == "fast":
            _check_fast_mode(model, betas)
    schema = None
    if "output_config" in body:
        config = body["output_config"]
        _expect(config, dict, "dictionary", "output_config")
        for key in config:
            if key not in ("effort", "format"):
                raise invalid(say("extra_input", field=f"output_config.{key}"))
        if "effort" in config:
            _literal(config["effort"], EFFORTS, "output_config.effort")
        if "format" in config:
            fmt = config["format"]
            _expect(fmt, dict, "dictionary", "output_config.format")
            _literal(fmt.get("type"), ("json_schema",), "output_config.format.type")
            if "schema" not in fmt:
                raise invalid(say("field_required", field="output_config.format.schema"))
            _expect(fmt["schema"], dict, "dictionary", "output_config.format.schema")
            schema = fmt["schema"]
            _check_all_of(schema, "output_config.format.schema")
    thinking.check_config(body, model)
    return schema


def _check_sampling(body: dict, version: str, model: catalog.ModelEntry) -> None:
    present = [name for name in SAMPLING_FIELDS if name in body]
    if not present:
        return
    if version != "2023-06-01":
        raise invalid(say("extra_input", field=present[0]))
    for name in present:
        value = body[name]
        if name == "top_k":
            _expect(value, int, "integer", name)
            if value < 0:
                raise invalid(say("too_small", field=name, limit=0))
            continue
        _expect(value, (int, float), "number", name)
        if isinstance(value, bool):
            raise invalid(say("wrong_type", field=name, kind="number"))
        if value < 0:
            raise invalid(say("too_small", field=name, limit=0))
        if value > 1:
            raise invalid(say("too_large", field=name, limit=1))
    if "temperature" in body and not model.supports_temperature:
        raise invalid(say("temperature_deprecated"))
    if "temperature" in body and "top_p" in body:
        raise invalid(say("temperature_and_top_p"))


def _model(body: dict) -> catalog.ModelEntry:
    _expect(body["model"], str, "string", "model")
    entry = catalog.lookup(body["model"])
    if entry is None or entry.retired:
        raise ApiError("not_found_error", say("model_not_found", model=body["model"]))
    return entry


def _split_prefill(merged: list[dict], model: catalog.ModelEntry) -> tuple[Optional[str], bool]:
    last = merged[-1]
    if last["role"] != "assistant":
        return None, False
    if any(b.get("type") == "server_tool_use" for b in last["content"]):
        return None, True  # sending a paused turn back as-is continues it
    if not model.supports_prefill:
        raise invalid(say("no_prefill"))
    text = "".join(b.get("text", "") for b in last["content"] if b.get("type") == "text")
    if text != text.rstrip():
        raise invalid(say("trailing_whitespace"))
    return text, False


def _check_version_rules(messages: list[dict], version: str) -> None:
    """Forms that ``2026-10-21`` rejects: a document block from the assistant, citations on a user text block."""
    if version != "2026-10-21":
        return
    for i, message in enumerate(messages):
        for j, block in enumerate(message["content"] if isinstance(message["content"], list) else ()):
            if message["role"] == "assistant" and block["type"] == "document":
                raise invalid(say("document_in_assistant", index=i, block=j))
            if message["role"] == "user" and block["type"] == "text" and block.get("citations"):
                raise invalid(say("citations_in_user_text", index=i, block=j))


@dataclass
class _Checked:
    """What ``create`` and ``count_tokens`` check alike."""

    model: catalog.ModelEntry
    merged: list[dict]
    starts: list[int]  # the index in ``messages`` where each merged turn begins
    system_text: str
    tools: list[dict]
    choice: dict
    schema: Optional[dict]
    thinking: thinking.Settings
    blocks_sent: bool


def _common(body: dict, version: str) -> _Checked:
    model = _model(body)
    messages, breakpoints = _check_messages(body["messages"])
    # Turns of text alone (the usual conversation) hold no blocks: no images, citations, tool calls or thinking
    # to check, so the passes below that look only inside lists of blocks are skipped.
    blocks_sent = not all(isinstance(message["content"], str) for message in messages)
    if blocks_sent:
        blocks.check_image_count(messages)
        _check_version_rules(messages, version)
    system_text, in_system = _system_text(body.get("system"))
    for i, message in enumerate(messages):
        if message["role"] == "system" and not model.supports_system_messages:
            raise invalid(say("system_role_unsupported", index=i))
    tools, choice, in_tools = _check_tools(body)
    # The request-level cache_control (automatic caching) takes one of the four breakpoints as well.
    breakpoints += in_system + in_tools + blocks.cache_control(body.get("cache_control"), "cache_control")
    if breakpoints > blocks.MAX_CACHE_BREAKPOINTS:
        raise invalid(say("cache_control_limit", found=breakpoints))
    if breakpoints > 1:
        blocks.check_ttl_order(body)
    schema = _check_options(body, model, getattr(version, "betas", frozenset()))
    if blocks_sent:
        citations.check(messages, schema is not None)
    _check_sampling(body, version, model)
    chosen = thinking.settings(body, model)
    thinking.check_forced_tool(choice, model, chosen)
    merged, starts = _merge(messages)
    if blocks_sent:
        if not tools and any(b.get("type") in ("tool_use", "tool_result") for m in merged for b in m["content"]):
            raise invalid(say("tools_required"))
        _check_tool_pairs(merged, starts)
        thinking.check_blocks(body, model)
    return _Checked(model, merged, starts, system_text, tools, choice, schema, chosen, blocks_sent)


def check_create(body: Any, version: str = API_VERSIONS[0]) -> Request:
    allowed = CREATE_FIELDS + (SAMPLING_FIELDS if version == "2023-06-01" else ())
    _check_fields(body, allowed, ("model", "max_tokens", "messages"), version)
    max_tokens = body["max_tokens"]
    _expect(max_tokens, int, "integer", "max_tokens")
    if max_tokens < 0:
        raise invalid(say("too_small", field="max_tokens", limit=0))
    stream = body.get("stream", False)
    _expect(stream, bool, "boolean", "stream")
    stops = body.get("stop_sequences", [])
    _expect(stops, list, "list", "stop_sequences")
    for j, stop in enumerate(stops):
        _expect(stop, str, "string", f"stop_sequences.{j}")
        if not stop.strip():
            raise invalid(say("blank_stop_sequence"))
    checked = _common(body, version)
    model = checked.model
    if max_tokens > model.max_output_tokens:
        raise invalid(
            say("max_tokens_too_large", value=max_tokens, limit=model.max_output_tokens, model=model.resolved_id)
        )
    prefill, continues_pause = _split_prefill(checked.merged, model)
    thinking.check_final_turn(checked.merged, checked.starts, checked.thinking)
    input_tokens = tokens.count_input(body, model.tokenizer, model.image_native)
    if input_tokens > model.context_window:
        raise invalid(say("prompt_too_long", tokens=input_tokens, limit=model.context_window))
    return Request(
        body=body, model=model, messages=checked.merged, max_tokens=max_tokens, system_text=checked.system_text,
        prefill=prefill, continues_pause=continues_pause, stop_sequences=stops, tools=checked.tools,
        tool_choice=checked.choice, output_schema=checked.schema, stream=stream, input_tokens=input_tokens,
        thinking=checked.thinking, blocks_sent=checked.blocks_sent,
    )


def check_count_tokens(body: Any, version: str = API_VERSIONS[0]) -> int:
    _check_fields(body, COUNT_FIELDS, ("model", "messages"), version)
    model = _common(body, version).model
    return tokens.count_input(body, model.tokenizer, model.image_native)
