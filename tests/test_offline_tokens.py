"""The offline token estimate: one rule per tokenizer family, and a count cache whose memory stays bounded."""

from __future__ import annotations

import gc
import json
import sys
import tracemalloc
from pathlib import Path

import pytest

from helpers import DEFAULT_MODEL, PREFILL_MODEL, catalog
from helpers.offline import app, tokens

PROSE = (
    "Thinking blocks are tied to the model and to the conversation that produced them, so keep a conversation "
    "append-only when you send thinking blocks back. Select content blocks by type, not by position."
)
LESSONS = Path(__file__).resolve().parents[1] / "notebooks"


def _lesson_prose() -> str:
    cells = (c for nb in sorted(LESSONS.glob("*.ipynb")) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"])
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("tokenizer", ["earlier", "4.7+"])
def test_pieces_rebuild_the_text_and_match_the_count(tokenizer):
    for text in (PROSE, "", " ", "  \n", "a", "Tokenization isn't magic: it's counting pieces.  ", "x" * 1000):
        assert "".join(tokens.pieces(text, tokenizer)) == text
        assert len(tokens.pieces(text, tokenizer)) == tokens.count_text(text, tokenizer) or text == ""


def test_the_newer_tokenizer_counts_about_thirty_percent_more():
    # whats-new-haiku-5-5: "the same text counts as approximately 30% more tokens than on Claude Haiku 4.5"
    prose = _lesson_prose()
    earlier, newer = tokens.count_text(prose, "earlier"), tokens.count_text(prose, "4.7+")
    assert 1.2 <= newer / earlier <= 1.4, (earlier, newer)


def test_the_catalog_picks_each_model_its_family():
    body = {"messages": [{"role": "user", "content": PROSE}]}
    default, prefill = catalog.get(DEFAULT_MODEL), catalog.get(PREFILL_MODEL)
    assert default.tokenizer != prefill.tokenizer  # the premise: the two lesson models differ
    assert tokens.count_input(body, default.tokenizer) > tokens.count_input(body, prefill.tokenizer)


def test_an_unknown_family_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown tokenizer 'gpt'"):
        tokens.count_text("hello", "gpt")


# -- memory: counting a prompt must not keep it -------------------------------------------------------------------


def test_counting_a_text_keeps_no_reference_to_it():
    text = "".join(f"unique prompt {i} " for i in range(20_000))  # ~400 KB, made at run time so nothing else holds it
    before = sys.getrefcount(text)
    tokens.count_text(text)
    tokens.count_input({"messages": [{"role": "user", "content": text}]})
    assert sys.getrefcount(text) == before


def test_the_count_cache_holds_a_bounded_number_of_entries():
    tokens._counts.clear()  # on code without a bounded cache, this line fails the test
    long_text = "words of a long prompt " * (tokens.SHORT_TEXT // 20)
    for i in range(tokens._Counts.LIMIT + 500):
        tokens.count_text(f"{i:08d} {long_text}")
    assert len(tokens._counts) == tokens._Counts.LIMIT
    assert tokens._count_short.cache_info().maxsize * tokens.SHORT_TEXT <= 10_000_000  # the short texts' cache too


def test_memory_stays_bounded_after_many_large_unique_prompts():
    """Sixteen unique 256 KB prompts through the backend (as the loopback server serves them) keep < 2 MB alive."""
    headers = {"authorization": "Bearer memory-test", "anthropic-version": "2026-10-21"}
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for i in range(16):
            prompt = f"prompt {i}: " + "several words in a long prompt " * 8_500  # ~256 KB, unique per call
            body = json.dumps({"model": DEFAULT_MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": prompt}]})
            outcome = app.handle("POST", "/v1/messages", headers, body.encode(), require_key=True)
            assert outcome.status == 200, outcome.body[:300]
            del prompt, body, outcome
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert retained < 2 * 1024 * 1024, f"{retained / 1e6:.1f} MB still held after 16 unique 256 KB prompts"


def test_a_pdf_costs_its_pages_images_and_text_within_the_documented_range():
    """The PDF support page: a page's text typically 1,500 to 3,000 tokens, plus the page as an image."""
    from helpers import sample_media
    from helpers.offline import media, tokens

    page_image = media.image_tokens(298, 420, tokens.NATIVE)  # sample_media's A6 page, a pixel a point
    sparse = tokens._pdf_tokens(sample_media.pdf(4, "Page {n}"), tokens.NATIVE)
    dense = tokens._pdf_tokens(sample_media.pdf(4, "Page {n}: " + "ants carry leaves home " * 40), tokens.NATIVE)
    packed = tokens._pdf_tokens(sample_media.pdf(1, "word " * 5000), tokens.NATIVE)
    low, high = media.PDF_PAGE_TEXT_TOKENS
    assert 4 * (low + page_image) < sparse < dense <= 4 * (high + page_image)  # more text, more tokens
    assert packed == high + page_image  # a page's text stops at the range's high end
    assert tokens._pdf_tokens(b"%PDF-1.4 /Type /Page /Type /Page", tokens.NATIVE) == 2 * media.PDF_TOKENS_PER_PAGE
