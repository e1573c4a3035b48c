"""Images and PDFs through the SDK: what is accepted, the limits and their errors, token cost, the kit's answer.

Sources: https://platform.claude.com/docs/en/build-with-claude/vision (jpeg, png, gif, webp; at most
8000x8000 px, 2000x2000 px when a request has more than 20 images; each 28x28-pixel patch is one visual
token, after scaling an image larger than the model's native resolution); the API's own error wordings
quoted in ``helpers/offline/wording.py``; https://platform.claude.com/docs/en/build-with-claude/pdf-support.
"""

from __future__ import annotations

import math

import anthropic
import pytest

from contract_support import check_error, params, text_of, user
from helpers import DEFAULT_MODEL, catalog
from helpers.offline import tokens
from helpers.offline.replies import texts
from helpers.offline.wording import say
from sample_media import b64, gif, image_block, jpeg, pdf, pdf_block, png, webp

LIMITS = catalog.vision()


def ask(*blocks, question: str = "What is in this?") -> dict:
    return params(user([*blocks, {"type": "text", "text": question}]), max_tokens=400)


def tokens_for(api, *blocks, model: str = DEFAULT_MODEL) -> int:
    return api.count_tokens(model=model, messages=[user([*blocks, {"type": "text", "text": "x"}])])


def patches(width: int, height: int) -> int:
    return math.ceil(width / 28) * math.ceil(height / 28)


@pytest.mark.parametrize("make, media_type", [(png, "image/png"), (gif, "image/gif"), (jpeg, "image/jpeg"),
                                              (webp, "image/webp")])
def test_each_format_is_read_for_its_size_and_billed_by_28_pixel_patches(api, make, media_type):
    block = image_block(make(300, 100), media_type)
    without = tokens_for(api)
    assert tokens_for(api, block) - without == patches(300, 100) == 11 * 4
    message = api.create(**ask(block))
    text = text_of(message)
    assert f"{media_type.split('/')[1].upper()}, 300 × 100 pixels, 44 input tokens on {DEFAULT_MODEL}" in text
    assert message.usage.input_tokens == api.count_tokens(
        model=DEFAULT_MODEL, messages=[user([block, {"type": "text", "text": "What is in this?"}])])


def test_a_large_image_is_scaled_to_each_models_native_size_before_it_is_billed(api):
    """Scaled to fit the model's longest edge and pixel count, aspect kept, then billed by 28-pixel patches."""
    big = image_block(gif(4000, 3000), "image/gif")
    wide = next(m for m in catalog.available() if m.image_max_edge > 1568 and not m.invite_only)
    narrow = next(m for m in catalog.available() if m.image_max_edge == 1568 and not m.invite_only)

    def expected(model) -> int:
        ratio = min(model.image_max_edge / 4000, math.sqrt(model.image_max_pixels / (4000 * 3000)))
        return patches(math.floor(4000 * ratio), math.floor(3000 * ratio))

    on_wide = tokens_for(api, big, model=wide.id) - tokens_for(api, model=wide.id)
    on_narrow = tokens_for(api, big, model=narrow.id) - tokens_for(api, model=narrow.id)
    assert on_wide == expected(wide) and on_narrow == expected(narrow)
    assert on_narrow <= 1600 < on_wide  # the vision docs: earlier models scale an image over ~1,600 tokens down
    small = image_block(gif(280, 140), "image/gif")
    assert tokens_for(api, small, model=wide.id) - tokens_for(api, model=wide.id) == patches(280, 140)
    assert tokens_for(api, small, model=narrow.id) - tokens_for(api, model=narrow.id) == patches(280, 140)


def test_the_reply_gives_a_pngs_most_common_colour_and_says_when_it_cannot(api):
    def mostly_teal(x, y):
        return (0, 128, 128) if x > 2 else (250, 250, 250)

    for filter_type in (0, 2):
        painted = image_block(png(10, 6, mostly_teal, filter_type=filter_type), "image/png")
        assert "its most common colour is #008080" in text_of(api.create(**ask(painted)))
    assert texts()["media"]["no_colour"] in text_of(api.create(**ask(image_block(jpeg(20, 20), "image/jpeg"))))


def test_several_images_in_one_turn_are_each_described_and_billed(api):
    first, second = image_block(png(56, 28), "image/png"), image_block(webp(280, 280), "image/webp")
    assert tokens_for(api, first, second) - tokens_for(api) == patches(56, 28) + patches(280, 280)
    text = text_of(api.create(**ask(first, second)))
    assert "Image 1: PNG, 56 × 28 pixels" in text and "Image 2: WEBP, 280 × 280 pixels" in text
    assert text.startswith("[offline] ") and "sees nothing" in text  # labelled as the kit's text


def test_an_image_over_8000_pixels_is_refused(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(image_block(gif(LIMITS.max_px + 1, 10), "image/gif")))
    check_error(info.value, 400, "invalid_request_error",
                say("image_too_wide", field="messages.0.content.0.image.source.base64", limit=LIMITS.max_px))
    assert api.create(**ask(image_block(gif(LIMITS.max_px, 10), "image/gif"))).stop_reason == "end_turn"


def test_more_than_20_images_each_must_fit_2000_pixels(api):
    small = image_block(gif(10, 10), "image/gif")
    large = image_block(gif(LIMITS.many_images_max_px + 1, 10), "image/gif")
    fits = [large] + [small] * LIMITS.many_images_above  # 21 images, but ...
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(*fits))
    check_error(info.value, 400, "invalid_request_error", say(
        "image_too_wide_many", field="messages.0.content.0.image.source.base64", limit=LIMITS.many_images_max_px))
    assert api.create(**dict(ask(*fits[:-1]), max_tokens=4000)).content  # ... 20 images may be larger


def test_an_image_over_5_mb_is_refused_with_its_size(api):
    data = b64(png(2, 2) + b"\x00" * (LIMITS.max_image_bytes * 3 // 4 + 10))
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(block))
    check_error(info.value, 400, "invalid_request_error", say(
        "image_too_many_bytes", field="messages.0.content.0.image.source.base64", size=len(data),
        limit=LIMITS.max_image_bytes))


def test_a_signature_without_a_readable_header_is_not_an_image(api):
    block = image_block(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png")
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(block))
    check_error(info.value, 400, "invalid_request_error", say("image_invalid"))


def test_a_url_image_is_accepted_but_the_backend_says_it_fetched_nothing(api):
    block = {"type": "image", "source": {"type": "url", "url": "https://example.com/ant.png"}}
    message = api.create(**ask(block))
    assert "https://example.com/ant.png: the offline backend fetches nothing" in text_of(message)
    assert f"counts it at a flat {tokens.IMAGE_TOKENS:,} input tokens" in text_of(message)  # as count_tokens does
    assert tokens_for(api, block) - tokens_for(api) == tokens.IMAGE_TOKENS


def test_an_image_in_a_tool_result_is_billed_by_its_pixels(api):
    tool = {"name": "take_photo", "description": "Takes a photo.", "input_schema": {"type": "object"}}
    call = {"type": "tool_use", "id": "toolu_photo1", "name": "take_photo", "input": {}}
    photo = image_block(png(84, 56), "image/png")

    def count(content):
        return api.count_tokens(model=DEFAULT_MODEL, tools=[tool], messages=[
            user("Take a photo."), {"role": "assistant", "content": [call]},
            user([{"type": "tool_result", "tool_use_id": "toolu_photo1", "content": content}])])

    assert count([photo]) - count([]) == patches(84, 56)


def test_a_pdf_is_counted_by_pages_and_described(api):
    doc = pdf_block(pdf(3))
    assert tokens_for(api, doc) - tokens_for(api) == 3 * 1600
    assert "Document 1: a PDF of 3 pages" in text_of(api.create(**ask(doc)))


def test_a_document_that_is_not_a_pdf_is_refused(api):
    fake = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(b"hello")}}
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(fake))
    check_error(info.value, 400, "invalid_request_error",
                say("pdf_invalid", field="messages.0.content.0.document.source.base64"))


def test_a_pdf_over_the_page_limit_is_refused(api):
    with pytest.raises(anthropic.BadRequestError) as info:
        api.create(**ask(pdf_block(pdf(LIMITS.max_pdf_pages + 1))))
    check_error(info.value, 400, "invalid_request_error", say("pdf_too_many_pages", limit=LIMITS.max_pdf_pages))
    assert api.create(**ask(pdf_block(pdf(LIMITS.max_pdf_pages)))).stop_reason == "end_turn"


def test_the_trimming_estimate_matches_count_tokens_for_images_on_each_model(api):
    from helpers.trim import estimate

    turn = user([image_block(gif(4000, 3000), "image/gif"), {"type": "text", "text": "Describe it."}])
    for model in {m.image_native: m for m in catalog.available() if not m.invite_only}.values():
        alone = api.count_tokens(model=model.id, messages=[turn])
        assert alone - tokens.REQUEST_OVERHEAD == estimate(turn, model.id)
