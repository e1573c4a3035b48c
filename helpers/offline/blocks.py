"""Content blocks as the Messages API checks them: their type, their fields, images and cache breakpoints.

Locations follow the API's own paths, which name a block's type after its index
(``messages.2.content.0.image.source.base64.media_type``, as in the real errors quoted
in ``wording.py``). The allowed fields of each block type are those of the SDK's
``*BlockParam`` types (anthropic 2.14, ``anthropic/types/*_block_param.py``): any
other field is an extra input, a 400.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .. import catalog
from . import media
from .errors import invalid
from .wording import say

BLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("type", "text", "cache_control", "citations"),
    "image": ("type", "source", "cache_control", "transformations"),
    "document": ("type", "source", "cache_control", "citations", "context", "title"),
    "search_result": ("type", "content", "source", "title", "cache_control", "citations"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
    "tool_use": ("type", "id", "name", "input", "cache_control", "caller", "toolset_name"),
    "tool_result": ("type", "tool_use_id", "content", "is_error", "cache_control", "toolset_name"),
    "server_tool_use": ("type", "id", "name", "input", "cache_control", "caller"),
    "web_search_tool_result": ("type", "tool_use_id", "content", "cache_control", "caller"),
    "web_fetch_tool_result": ("type", "tool_use_id", "content", "cache_control", "caller"),
    "code_execution_tool_result": ("type", "tool_use_id", "content", "cache_control"),
    "bash_code_execution_tool_result": ("type", "tool_use_id", "content", "cache_control"),
    "text_editor_code_execution_tool_result": ("type", "tool_use_id", "content", "cache_control"),
    "tool_search_tool_result": ("type", "tool_use_id", "content", "cache_control"),
    "container_upload": ("type", "file_id", "cache_control"),
}
BLOCK_TYPES = tuple(BLOCK_FIELDS)
TOOL_RESULT_CONTENT_TYPES = ("text", "image", "search_result", "document")
"""The blocks a ``tool_result`` may hold (SDK 2.17 ``types/tool_result_block_param.py``, the kit's known types;
the handle-tool-calls page: a string, or text, image and document blocks)."""

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
IMAGE_SOURCE_FIELDS = {"base64": ("type", "media_type", "data"), "url": ("type", "url"), "file": ("type", "file_id")}
CACHE_TTLS = ("5m", "1h")
MAX_CACHE_BREAKPOINTS = 4
"""'A maximum of 4 blocks with cache_control may be provided' (the API's own error, wording.py)."""


def options(values: tuple[str, ...]) -> str:
    """``'a', 'b' or 'c'``, as the API lists allowed values."""
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def expect(value: Any, kind: type | tuple, name: str, field_name: str) -> None:
    if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
        raise invalid(say("wrong_type", field=field_name, kind=name))


def literal(value: Any, allowed: tuple[str, ...], field_name: str) -> None:
    if value not in allowed:
        raise invalid(say("bad_literal", field=field_name, options=options(allowed)))


def only_fields(value: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in value:
        if key not in allowed:
            raise invalid(say("extra_input", field=f"{where}.{key}"))


def required_strings(block: dict, keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in block:
            raise invalid(say("field_required", field=f"{where}.{key}"))
        expect(block[key], str, "string", f"{where}.{key}")


def cache_control(value: Any, where: str) -> int:
    """Check one ``cache_control`` object; returns how many breakpoints it sets (0 or 1)."""
    if value is None:
        return 0
    field_name = f"{where}.cache_control"
    expect(value, dict, "dictionary", field_name)
    literal(value.get("type"), ("ephemeral",), f"{field_name}.type")
    only_fields(value, ("type", "ttl"), f"{field_name}.ephemeral")
    if "ttl" in value:
        literal(value["ttl"], CACHE_TTLS, f"{field_name}.ephemeral.ttl")
    return 1


def _image_source(source: Any, where: str) -> None:
    where = f"{where}.source"
    expect(source, dict, "dictionary", where)
    kind = source.get("type")
    if not isinstance(kind, str) or kind not in IMAGE_SOURCE_FIELDS:
        raise invalid(say("bad_block_type", field=where, tag=kind, options=", ".join(f"'{t}'" for t in IMAGE_SOURCE_FIELDS)))
    where = f"{where}.{kind}"
    only_fields(source, IMAGE_SOURCE_FIELDS[kind], where)
    if kind != "base64":
        required_strings(source, IMAGE_SOURCE_FIELDS[kind][1:], where)
        return
    if "media_type" not in source:
        raise invalid(say("field_required", field=f"{where}.media_type"))
    literal(source["media_type"], IMAGE_TYPES, f"{where}.media_type")
    required_strings(source, ("data",), where)
    limits = catalog.vision()
    if len(source["data"]) > limits.max_image_bytes:
        # UNCONFIRMED: whether the API measures the base64 text or the decoded bytes (the kit: the text, as sent)
        raise invalid(say("image_too_many_bytes", field=where, size=len(source["data"]), limit=limits.max_image_bytes))
    try:
        data = base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(say("image_invalid")) from None
    actual = media.kind(data)
    if actual is None:
        raise invalid(say("image_invalid"))
    if actual != source["media_type"]:
        raise invalid(say("image_type_mismatch", field=where, declared=source["media_type"], actual=actual))
    found = media.facts(data)
    if found is None:
        raise invalid(say("image_invalid"))
    if max(found.width, found.height) > limits.max_px:
        raise invalid(say("image_too_wide", field=where, limit=limits.max_px))


def _document_source(source: Any, where: str, tagged: str) -> None:
    """A PDF sent as base64 must be a PDF, of at most ``max_pdf_pages`` pages (the pages the kit can count)."""
    expect(source, dict, "dictionary", f"{where}.source")
    if source.get("type") == "text":
        required_strings(source, ("data",), f"{where}.source")
    if source.get("type") == "file":  # a well-formed one was replaced by its content (files.resolve)
        only_fields(source, ("type", "file_id"), f"{tagged}.source.file")
        required_strings(source, ("file_id",), f"{tagged}.source.file")
    if source.get("type") != "base64":
        return
    where = f"{tagged}.source.base64"
    only_fields(source, ("type", "media_type", "data"), where)
    literal(source.get("media_type"), ("application/pdf",), f"{where}.media_type")
    required_strings(source, ("data",), where)
    try:
        data = base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(say("pdf_invalid", field=where)) from None
    if not media.is_pdf(data):
        raise invalid(say("pdf_invalid", field=where))
    limit = catalog.vision().max_pdf_pages
    if (media.pdf_pages(data) or 0) > limit:
        raise invalid(say("pdf_too_many_pages", limit=limit))


def check(block: Any, where: str) -> int:
    """Check one content block at ``where`` (e.g. ``messages.0.content.1``); returns its cache breakpoints."""
    if isinstance(block, str):
        raise invalid(say("wrong_type", field=where, kind="dictionary"))
    expect(block, dict, "dictionary", where)
    kind = block.get("type")
    if not isinstance(kind, str) or kind not in BLOCK_FIELDS:
        raise invalid(say("bad_block_type", field=where, tag=kind, options=", ".join(f"'{t}'" for t in BLOCK_TYPES)))
    tagged = f"{where}.{kind}"
    only_fields(block, BLOCK_FIELDS[kind], tagged)
    breakpoints = cache_control(block.get("cache_control"), tagged)
    if kind == "text":
        if "text" not in block:
            raise invalid(say("field_required", field=f"{where}.text"))
        expect(block["text"], str, "string", f"{where}.text")
    elif kind in ("tool_use", "server_tool_use"):
        for key, expected, name in (("id", str, "string"), ("name", str, "string"), ("input", dict, "dictionary")):
            if key not in block:
                raise invalid(say("field_required", field=f"{where}.{key}"))
            expect(block[key], expected, name, f"{where}.{key}")
    elif kind == "tool_result":
        if "tool_use_id" not in block:
            raise invalid(say("field_required", field=f"{where}.tool_use_id"))
        expect(block["tool_use_id"], str, "string", f"{where}.tool_use_id")
        content = block.get("content", "")
        expect(content, (str, list), "string or list", f"{where}.content")
        if isinstance(content, list):
            for j, inner in enumerate(content):
                kind_inside = inner.get("type") if isinstance(inner, dict) else None
                known = isinstance(kind_inside, str) and kind_inside in BLOCK_FIELDS
                if known and kind_inside not in TOOL_RESULT_CONTENT_TYPES:
                    raise invalid(say("bad_block_type", field=f"{tagged}.content.{j}", tag=kind_inside,
                                      options=", ".join(f"'{t}'" for t in TOOL_RESULT_CONTENT_TYPES)))
                breakpoints += check(inner, f"{tagged}.content.{j}")
    elif kind == "image":
        if "source" not in block:
            raise invalid(say("field_required", field=f"{where}.source"))
        _image_source(block["source"], tagged)
    elif kind == "document":
        if "source" not in block:
            raise invalid(say("field_required", field=f"{where}.source"))
        _document_source(block["source"], where, tagged)
    elif kind == "thinking":
        required_strings(block, ("thinking", "signature"), where)
    elif kind == "redacted_thinking":
        required_strings(block, ("data",), where)
    return breakpoints


def _images(messages: list) -> list[tuple[str, dict]]:
    """Every image block of the messages (inside tool results too), with the API's path to its source."""
    found = []
    for i, message in enumerate(messages):
        content = message.get("content")
        for j, block in enumerate(content if isinstance(content, list) else ()):
            where = f"messages.{i}.content.{j}"
            if block.get("type") == "image":
                found.append((f"{where}.image.source.{block['source'].get('type')}", block))
            inner = block.get("content") if block.get("type") == "tool_result" else None
            for k, nested in enumerate(inner if isinstance(inner, list) else ()):
                if nested.get("type") == "image":
                    found.append((f"{where}.tool_result.content.{k}.image.source.{nested['source'].get('type')}", nested))
    return found


def check_image_count(messages: list) -> None:
    """The limits of a whole request: the number of images, and smaller images when there are many."""
    limits = catalog.vision()
    images = _images(messages)
    if len(images) > limits.max_images:
        raise invalid(say("too_many_images", found=len(images), limit=limits.max_images))
    if len(images) <= limits.many_images_above:
        return
    for where, block in images:
        source = block["source"]
        if source.get("type") != "base64":
            continue  # a URL or a file the backend cannot read: nothing to measure
        found = media.facts(base64.b64decode(source["data"]))
        if found and max(found.width, found.height) > limits.many_images_max_px:
            raise invalid(say("image_too_wide_many", field=where, limit=limits.many_images_max_px))


def _ttl_of(block: Any) -> list[str]:
    marker = block.get("cache_control") if isinstance(block, dict) else None
    found = [marker.get("ttl", "5m")] if isinstance(marker, dict) else []
    inner = block.get("content") if isinstance(block, dict) and block.get("type") == "tool_result" else None
    for nested in inner if isinstance(inner, list) else ():
        found += _ttl_of(nested)
    return found


def check_ttl_order(body: dict) -> None:
    """A 1-hour breakpoint may not follow a 5-minute one, in the order tools, system, messages (prompt-caching docs:
    "cache entries with longer TTL must appear before shorter TTLs")."""
    order: list[str] = []
    for tool in body.get("tools") or ():
        order += _ttl_of(tool)
    system = body.get("system")
    for block in system if isinstance(system, list) else ():
        order += _ttl_of(block)
    for message in body.get("messages") or ():
        content = message.get("content")
        for block in content if isinstance(content, list) else ():
            order += _ttl_of(block)
    order += _ttl_of(body)
    if "5m" in order and "1h" in order[order.index("5m"):]:
        raise invalid(say("cache_ttl_order"))
