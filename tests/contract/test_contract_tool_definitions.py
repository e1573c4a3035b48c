"""Tool definitions as the current tool-use pages describe them (checked 2026-12-07): strict tools, tool
names, tool_result content, and allOf members that disagree.

Sources: the define-tools page (a tool name "Must match the
regex ``^[a-zA-Z0-9_-]{1,128}$``"; ``strict`` among a tool's optional properties); the handle-tool-calls page
(``tool_result`` content: a string, or a list of text, image and document blocks); the TypeScript SDK 1.17 and
Python SDK 2.17 CHANGELOGs (the API rejects ``allOf`` members that give one property the same ``$ref`` with
different descriptions; wording unconfirmed, in ``helpers/offline/wording.py``).
"""

from __future__ import annotations

import anthropic
import jsonschema
import pytest

from contract_support import check_error, params, text_of, user
from helpers.offline.wording import say
from sample_media import image_block, png

NO_THINKING = {"thinking": {"type": "disabled"}}


STRICT_TOOL = {
    "name": "book_table",
    "description": "Book a table at a restaurant for a number of guests on a date.",
    "strict": True,
    "input_schema": {
        "type": "object",
        "properties": {
            "restaurant": {"type": "string"},
            "guests": {"type": "integer", "minimum": 1, "maximum": 12},
            "date": {"type": "string", "format": "date"},
            "seating": {"type": "string", "enum": ["inside", "terrace"]},
            "contact": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "phone": {"type": "string"}},
                "required": ["name", "phone"],
                "additionalProperties": False,
            },
        },
        "required": ["restaurant", "guests", "date", "seating", "contact"],
        "additionalProperties": False,
    },
}


def test_a_strict_tool_is_accepted_and_its_input_follows_the_schema_exactly(api):
    message = api.create(**params(user("Book a table at Chez Ant for 4 guests, please."), tools=[STRICT_TOOL],
                                  tool_choice={"type": "auto"}))
    (call,) = [b for b in message.content if b.type == "tool_use"]
    assert call.name == "book_table"
    jsonschema.validate(call.input, STRICT_TOOL["input_schema"])
    assert set(call.input) == set(STRICT_TOOL["input_schema"]["required"])


@pytest.mark.parametrize("length, accepted", [(64, True), (65, True), (128, True), (129, False)])
def test_tool_names_up_to_128_characters_are_accepted(api, length, accepted):
    tool = {"name": "t" * length, "description": "Look up the weather.", "input_schema": {"type": "object"}}
    if accepted:
        assert api.create(**params(user("Tell me a short story."), tools=[tool])).stop_reason == "end_turn"
        return
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(user("Tell me a short story."), tools=[tool]))
    check_error(info.value, 400, "invalid_request_error", say("tool_name_pattern", field="tools.0.custom.name"))


LOOKUP = {"name": "lookup_catalogue", "description": "Searches the library's catalogue of books by author.",
          "input_schema": {"type": "object", "properties": {"author": {"type": "string"}}, "required": ["author"]}}


@pytest.mark.parametrize("content", [
    "The Hobbit",
    [{"type": "text", "text": "The Hobbit"}],
    [{"type": "text", "text": "The cover:"},
     image_block(png(2, 2), "image/png")],
    [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The Hobbit, 1937."}}],
], ids=["string", "text", "text-and-image", "document"])
def test_tool_result_content_is_a_string_or_text_image_and_document_blocks(api, content):
    question = user("Which books by Tolkien does the library hold?")
    first = api.create(**params(question, tools=[LOOKUP], **NO_THINKING))
    (call,) = [b for b in first.content if b.type == "tool_use"]
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": content}])
    answer = api.create(**params(question, first.to_param(), result, tools=[LOOKUP]))
    assert answer.stop_reason == "end_turn" and text_of(answer)


@pytest.mark.parametrize("content", [
    [image_block(png(40, 30), "image/png")],
    [{"type": "text", "text": "The cover:"}, image_block(png(40, 30), "image/png")],
], ids=["image-only", "text-and-image"])
def test_an_image_in_a_tool_result_is_answered_from_its_facts_never_its_bytes(api, content):
    """The answer to a tool result with an image notes what the kit read from the bytes, as for an image in a user
    turn, and carries no base64: a reply quoting the encoded picture would be no one's answer."""
    question = user("Which books by Tolkien does the library hold?")
    first = api.create(**params(question, tools=[LOOKUP], **NO_THINKING))
    (call,) = [b for b in first.content if b.type == "tool_use"]
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": content}])
    answer = text_of(api.create(**params(question, first.to_param(), result, tools=[LOOKUP])))
    assert "40 × 30 pixels" in answer and content[-1]["source"]["data"][:16] not in answer
    assert ("The cover:" in answer) == (len(content) == 2)


def test_a_text_document_in_a_tool_result_is_quoted(api):
    question = user("Which books by Tolkien does the library hold?")
    first = api.create(**params(question, tools=[LOOKUP], **NO_THINKING))
    (call,) = [b for b in first.content if b.type == "tool_use"]
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The Hobbit, 1937."}}
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": [document]}])
    answer = text_of(api.create(**params(question, first.to_param(), result, tools=[LOOKUP])))
    assert "The Hobbit, 1937." in answer and '"source"' not in answer


def _all_of_schema(first: str, second: str) -> dict:
    return {
        "type": "object",
        "$defs": {"Author": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "allOf": [
            {"properties": {"author": {"$ref": "#/$defs/Author", "description": first}}},
            {"properties": {"author": {"$ref": "#/$defs/Author", "description": second}}},
        ],
    }


def test_all_of_members_giving_one_ref_different_descriptions_are_refused(api):
    tool = {"name": "lookup_catalogue", "description": "Searches the catalogue.",
            "input_schema": _all_of_schema("The book's author.", "Who wrote it.")}
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(user("Tell me a short story."), tools=[tool]))
    check_error(info.value, 400, "invalid_request_error",
                say("all_of_ref_descriptions", field="tools.0.custom.input_schema.allOf", name="author"))
    schema_format = {"format": {"type": "json_schema", "schema": _all_of_schema("One.", "Two.")}}
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(user("Describe an author."), output_config=schema_format))
    check_error(info.value, 400, "invalid_request_error",
                say("all_of_ref_descriptions", field="output_config.format.schema.allOf", name="author"))


def test_all_of_members_that_agree_are_accepted(api):
    tool = {"name": "lookup_catalogue", "description": "Searches the catalogue.",
            "input_schema": _all_of_schema("The book's author.", "The book's author.")}
    assert api.create(**params(user("Tell me a short story."), tools=[tool])).stop_reason == "end_turn"


@pytest.mark.parametrize("inner", [
    {"type": "tool_use", "id": "toolu_01", "name": "lookup_catalogue", "input": {}},
    {"type": "thinking", "thinking": "", "signature": "abc"},
], ids=["tool_use", "thinking"])
def test_other_blocks_inside_a_tool_result_are_refused(api, inner):
    question = user("Which books by Tolkien does the library hold?")
    first = api.create(**params(question, tools=[LOOKUP], **NO_THINKING))
    (call,) = [b for b in first.content if b.type == "tool_use"]
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": [inner]}])
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**params(question, first.to_param(), result, tools=[LOOKUP]))
    check_error(info.value, 400, "invalid_request_error",
                say("bad_block_type", field="messages.2.content.0.tool_result.content.0", tag=inner["type"],
                    options="'text', 'image', 'search_result', 'document'"))
