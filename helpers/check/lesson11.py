"""Graders for lesson 11: an image made for this run, an image's token cost from its size, a PDF and what it costs.

The token rule graded in 11.2 is the vision docs' (https://platform.claude.com/docs/en/build-with-claude/vision):
an image larger than the model's native resolution is first scaled down, aspect kept, then each 28 x 28-pixel
patch is one token. The grader compares the learner's function with ``count_tokens`` on real PNGs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from .. import catalog, sample_media
from ..catalog import DEFAULT_MODEL
from ..offline import media
from ..usage import Record, usage_log
from . import (
    correct, draw, grader, grader_client, kit_function, kit_records, logged, made_during_attempt, not_yet,
    reply_text,
)

COLOURS = ("#dc143c", "#008080", "#ffd700", "#4b0082", "#808000", "#ff7f50", "#000080", "#da70d6", "#2e8b57",
           "#8b4513")
"""Crimson, teal, gold, indigo, olive, coral, navy, orchid, sea green, saddle brown: one is drawn per run."""
PDF_PAGES = range(2, 10)
PDF_WORDS = ("ants", "colony", "queen", "workers", "nest", "soil", "tunnels", "larvae", "forage", "trail", "scent",
             "leaves", "fungus", "garden", "harvest", "winter", "summer", "rain", "seeds", "aphids")
PDF_WORD_COUNTS = range(6, 60)
"""Each run's PDF shows a line of drawn words on every page: its cost depends on that text, so no figure from the
lesson (or from an earlier run) is this run's."""

HINTS = {
    "11.1": (
        "Make the bytes with `sample_media.png(image_task.width, image_task.height, image_task.colour)`, encode "
        "them with base64, and send one user turn whose content is a list: the image block, then a text block.",
        "Section 7's document block has the same shape as an image block: `{\"type\": \"document\", \"source\": "
        "{\"type\": \"base64\", \"media_type\": \"application/pdf\", \"data\": "
        "base64.standard_b64encode(pdf_bytes).decode()}}`. Yours is an `image` block with the PNG's bytes and "
        "`image/png`, then a text block; read `reply_text` by block type (section 2).",
    ),
    "11.2": (
        "Read the model's native size from the catalog: `catalog.get(model).image_max_edge` and "
        "`.image_max_pixels`. Scale down only when the image is larger, then count 28 x 28 patches.",
        "Section 6 gives the formula. The same steps for another grid, 100 x 100 tiles of a photo shrunk to 1000 "
        "px on its longest edge: `ratio = min(1, 1000 / max(w, h))`, `w, h = math.floor(w * ratio), math.floor(h * "
        "ratio)`, `tiles = math.ceil(w / 100) * math.ceil(h / 100)`. Yours reads both limits from the model's "
        "entry, and counts 28 x 28 patches.",
    ),
    "11.3": (
        "The document block is like an image block with `\"type\": \"document\"` and `\"media_type\": "
        "\"application/pdf\"`. Put it before the question in the same user turn. What a PDF costs depends on its "
        "pages and their text, so measure it: no figure from the lesson holds for this run's PDF.",
        "Section 6 measures an image by counting the same request twice, with the block and without it: the "
        "difference is the block's cost. Do that for your document block, on the model you send to.",
    ),
}


def _blocks(content: Any) -> list[dict]:
    """A turn's content as a list of block dicts (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _last_user_blocks(request: dict) -> list[dict]:
    turns = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    return _blocks(turns[-1].get("content")) if turns and turns[-1].get("role") == "user" else []


def _decoded(block: dict) -> Optional[bytes]:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return None
    try:
        return base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        return None


def _first(blocks: list[dict], kind: str) -> Optional[int]:
    return next((i for i, b in enumerate(blocks) if b.get("type") == kind), None)


# --- 11.1 ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageTask:
    """The image exercise 11.1 asks for in this run."""

    width: int
    height: int
    colour: str

    def __str__(self) -> str:
        return f"This run's image: {self.width} × {self.height} pixels, all {self.colour}."


_image_tasks: list[ImageTask] = []


def image_task(seed: Optional[int] = None) -> ImageTask:
    """The size and colour of the PNG to send in exercise 11.1, drawn for this run."""
    rng, _ = draw(seed)
    task = ImageTask(rng.randint(60, 400), rng.randint(40, 300), rng.choice(COLOURS))
    _image_tasks.append(task)
    return task


def _asks_after(blocks: list[dict], at: int) -> bool:
    """Whether a text block with some text comes after block ``at`` (labels such as "Image 1:" may come before)."""
    return any(b.get("type") == "text" and str(b.get("text", "")).strip() for b in blocks[at + 1:])


@grader("11.1 an image and a question in one turn")
def image_turn(reply: Any, text: Any = None) -> Any:
    record, problem = logged(reply, "image_reply", "Send the image and your question")
    if problem is not None:
        return problem
    if not _image_tasks:
        return not_yet("no image was drawn for this run: run the exercise cell from its first line, which calls "
                       "`check.lesson11.image_task()`.")
    task = _image_tasks[-1]
    blocks = _last_user_blocks(record.request or {})
    images = [b for b in blocks if b.get("type") == "image"]
    if not images:
        return not_yet("the last user turn of your request had no image block. Its content is a list of blocks: "
                       "an `image` block, then a `text` block.")
    data = _decoded(images[0])
    if data is None:
        return not_yet("the image block does not carry the bytes (its source is not base64): this exercise sends "
                       "the PNG made in this run, as a `base64` source.")
    found, colour = media.facts(data), media.dominant_colour(data)
    if found is None or (found.width, found.height) != (task.width, task.height) or colour != task.colour:
        size = (f"{found.width} × {found.height} pixels, mostly {colour or 'an unknown colour'}" if found
                else "not an image the grader can read")
        return not_yet(f"the image you sent is {size}; this run drew {task.width} × {task.height} pixels in "
                       f"{task.colour}. Make the PNG from `image_task` in this cell, after it is drawn.")
    if not _asks_after(blocks, _first(blocks, "image")):
        if _first(blocks, "text") is None:
            return not_yet("the user turn held the image but no question: add a text block to the same turn.")
        return not_yet("no question came after the image. The vision docs recommend the image first, then the "
                       "question: put the text block after the image block in the content list.")
    if reply.stop_reason != "end_turn":
        return not_yet(f"the reply stopped with {reply.stop_reason!r}, not 'end_turn': raise max_tokens and send "
                       "it again.")
    if not isinstance(text, str):
        return not_yet("pass the reply's text as well: `check.lesson11.image_turn(image_reply, reply_text)`, with "
                       "`reply_text` joined from the reply's text blocks.")
    if text != reply_text(reply):
        return not_yet("`reply_text` is not the text of the reply's text blocks. Read the blocks by their `.type` "
                       "(a reply may open with a thinking block) and join the `text` ones.")
    return correct("the usage log shows one user turn with a base64 PNG of the size and colour drawn for this run, "
                   "then a text block; the reply ended with end_turn, and `reply_text` is the text of its text blocks.")


# --- 11.2 ---------------------------------------------------------------------------------------------------------

def _models() -> tuple[catalog.ModelEntry, catalog.ModelEntry]:
    """Two served models with different native image sizes: the smallest and the largest."""
    served = [m for m in catalog.available() if not m.invite_only]
    narrow = min(served, key=lambda m: (m.image_max_edge, m.image_max_pixels))
    wide = catalog.get(DEFAULT_MODEL)
    if wide.image_native == narrow.image_native:
        wide = max(served, key=lambda m: (m.image_max_edge, m.image_max_pixels))
    return narrow, wide


def _sizes(rng, narrow: catalog.ImageNative, wide: catalog.ImageNative) -> list[tuple[int, int]]:
    """Four sizes: one both models read as it is, one over the narrow model's edge, one over its pixel count
    (but not its edge), and one both models scale down; each turned on its side half the time."""
    side = math.isqrt(narrow.max_pixels)
    sizes = [
        (rng.randint(20, side - 100), rng.randint(20, side - 100)),
        (rng.randint(narrow.max_edge + 30, min(wide.max_edge, 2 * narrow.max_edge) - 10), rng.randint(60, 400)),
        (rng.randint(side + 60, narrow.max_edge - 20), rng.randint(side + 60, narrow.max_edge - 20)),
        (rng.randint(wide.max_edge + 400, 5000), rng.randint(wide.max_edge, 4000)),
    ]
    return [(h, w) if rng.random() < 0.5 else (w, h) for w, h in sizes]


class _Counter:
    """What ``count_tokens`` says one PNG of a given size adds to a request, on a model (PNGs made once a size)."""

    QUESTION = {"type": "text", "text": "What is this?"}

    def __init__(self) -> None:
        self.api = grader_client()
        self.bare: dict[str, int] = {}
        self.images: dict[tuple[int, int], dict] = {}

    def _count(self, model: str, content: list) -> int:
        turn = {"role": "user", "content": content}
        return self.api.messages.count_tokens(model=model, messages=[turn]).input_tokens

    def cost(self, model: str, width: int, height: int) -> int:
        if (width, height) not in self.images:
            data = base64.standard_b64encode(sample_media.png(width, height, "#808080")).decode()
            self.images[width, height] = {"type": "image",
                                          "source": {"type": "base64", "media_type": "image/png", "data": data}}
        if model not in self.bare:
            self.bare[model] = self._count(model, [self.QUESTION])
        return self._count(model, [self.images[width, height], self.QUESTION]) - self.bare[model]


@contextlib.contextmanager
def _no_kit_estimate() -> Iterator[list[str]]:
    """While the learner's function runs, the backend's own image arithmetic raises when called:
    an answer has to do the arithmetic itself, not call the kit's (directly or through a token count)."""
    called: list[str] = []
    saved = media.image_tokens, media.scaled

    def tripwire(*args: Any, **kwargs: Any) -> Any:
        called.append("kit")
        raise PermissionError("the kit's own image-token arithmetic is not available to this exercise: write it")

    media.image_tokens = media.scaled = tripwire
    try:
        yield called
    finally:
        media.image_tokens, media.scaled = saved


def _whole(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if value != int(value):
        return None
    return int(value)


def _patches(width: float, height: float, patch: int) -> int:
    return math.ceil(width / patch) * math.ceil(height / patch)


def _why(got: int, width: int, height: int, model: catalog.ModelEntry, other: catalog.ModelEntry, patch: int) -> str:
    """What a wrong count most likely left out."""
    if got in (round(width * height / 750), math.ceil(width * height / 750), width * height // 750):
        return ("That is the older (width × height) / 750 approximation; the vision docs now count one token per "
                f"{patch} × {patch}-pixel patch.")
    unscaled = _patches(width, height, patch)
    ratio = min(1.0, other.image_max_edge / max(width, height), math.sqrt(other.image_max_pixels / (width * height)))
    on_other = _patches(math.floor(width * ratio), math.floor(height * ratio), patch)
    native = (f"{model.id}'s native size is {model.image_max_edge} px on the long edge and "
              f"{model.image_max_pixels:,} pixels (its catalog entry)")
    if got == unscaled == on_other:
        return (f"That is the image's cost unscaled, which is also its cost on {other.id}; but {native}: scale it "
                "down to that first, keeping its aspect ratio.")
    if got == unscaled:
        return (f"That counts the patches of the image as sent, but {native}: scale it down first, keeping its "
                "aspect ratio.")
    if got == on_other:
        return (f"That is the cost on a model with another native size. Read the native size of the model you "
                f"are given ({model.id}) from the catalog.")
    return (f"Count the {patch} × {patch}-pixel patches of the size the model reads: the image itself, or "
            "the image scaled down to the model's native size when it is larger.")


@grader("11.2 an image's token cost from its size")
def image_cost(function: Any, *, seed: Optional[int] = None) -> Any:
    if not callable(function):
        return not_yet("pass your function itself: `check.lesson11.image_cost(estimate_image_tokens)`.")
    if kit_function(function):
        return not_yet("that is one of the kit's own functions: write `estimate_image_tokens(...)` yourself.")
    rng, seed = draw(seed)
    narrow, wide = _models()
    patch = catalog.vision().patch_px
    sizes = _sizes(rng, narrow.image_native, wide.image_native)
    calls = [(w, h, m) for w, h in sizes for m in (narrow, wide)]
    rng.shuffle(calls)
    answers = {}
    before = len(usage_log)
    with _no_kit_estimate() as kit_called:
        for width, height, model in calls:
            try:
                got = function(width, height, model.id)
            except Exception as error:  # noqa: BLE001 - the learner's function can raise anything
                if kit_called:
                    return not_yet("your function called the kit's own image-token arithmetic (directly or through a "
                                   "token count). Compute the cost from the width, the height and the catalog.")
                return not_yet(f"estimate_image_tokens({width}, {height}, {model.id!r}) raised "
                               f"{type(error).__name__}: {error}.")
            answers[width, height, model.id] = got
    if len(usage_log) != before:
        return not_yet("your function called the API. Estimate the cost from the width and the height alone, with "
                       "the formula: no request is needed.")
    counter = _Counter()
    for width, height, model in calls:
        got = answers[width, height, model.id]
        if got is None:
            return not_yet("estimate_image_tokens() returned None: return the number of tokens.")
        count = _whole(got)
        expected = counter.cost(model.id, width, height)
        if count != expected:
            other = wide if model is narrow else narrow
            hint = _why(count, width, height, model, other, patch) if count is not None else "Return a whole number."
            return not_yet(f"for a {width} × {height} image on {model.id}, your function returned {got!r}; "
                           f"count_tokens says it costs {expected} tokens. {hint} (Sizes drawn with seed {seed}.)")
    return correct(f"on {len(calls)} calls ({len(sizes)} sizes drawn for this run, each on {narrow.id} and "
                   f"{wide.id}), your function returned exactly what count_tokens reported for a PNG of that size, "
                   "sizes that a model scales down first included. It made no API call.")


# --- 11.3 ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PdfTask:
    """The PDF exercise 11.3 asks for in this run: its page count, and the text each page shows."""

    pages: int
    text: str

    def __str__(self) -> str:
        return f"This run's PDF: {self.pages} pages, each showing {self.text!r}."


_pdf_tasks: list[PdfTask] = []


def pdf_task(seed: Optional[int] = None) -> PdfTask:
    """The page count and page text of the PDF to send in exercise 11.3, drawn for this run."""
    rng, _ = draw(seed)
    words = " ".join(rng.choice(PDF_WORDS) for _ in range(rng.choice(PDF_WORD_COUNTS)))
    task = PdfTask(rng.choice(PDF_PAGES), f"Page {{n}} of {{pages}}: {words}")
    _pdf_tasks.append(task)
    return task


def _normalised(messages: Any) -> str:
    turns = [{"role": m.get("role"), "content": _blocks(m.get("content"))}
             for m in messages or [] if isinstance(m, dict)]
    return json.dumps(turns, sort_keys=True)


def _without_documents(messages: Any) -> str:
    turns = json.loads(_normalised(messages))
    for turn in turns:
        turn["content"] = [b for b in turn["content"] if b.get("type") != "document"]
    return json.dumps(turns, sort_keys=True)


def _counts_in_attempt() -> list[Record]:
    return [r for r in reversed(list(kit_records()))
            if r.kind == "count_tokens" and r.status == 200 and made_during_attempt(r) and r.request]


@grader("11.3 a PDF and a question, and what the PDF cost")
def pdf_turn(reply: Any, document_tokens: Any = None) -> Any:
    record, problem = logged(reply, "pdf_reply", "Send the PDF and your question")
    if problem is not None:
        return problem
    if not _pdf_tasks:
        return not_yet("no PDF was drawn for this run: run the exercise cell from its first line, which calls "
                       "`check.lesson11.pdf_task()`.")
    task = _pdf_tasks[-1]
    request = record.request or {}
    blocks = _last_user_blocks(request)
    documents = [b for b in blocks if b.get("type") == "document"]
    if not documents:
        return not_yet("the last user turn of your request had no document block: add one, with a base64 source "
                       "of media type application/pdf.")
    data = _decoded(documents[0])
    if data is None or not media.is_pdf(data):
        return not_yet("the document block does not carry a PDF's bytes as a base64 source.")
    pages = media.pdf_pages(data)
    if pages != task.pages:
        return not_yet(f"the PDF you sent has {pages} pages; this run drew {task.pages}. Make it from `pdf_task` in "
                       "this cell: `sample_media.pdf(pdf_task.pages, pdf_task.text)`.")
    layout = media.pdf_page_layout(data) or []
    wanted = [task.text.format(n=n, pages=task.pages) for n in range(1, task.pages + 1)]
    if [page.text for page in layout] != wanted:
        return not_yet("the PDF's pages do not show this run's text: make it from `pdf_task` in this cell, "
                       "`sample_media.pdf(pdf_task.pages, pdf_task.text)`.")
    if not _asks_after(blocks, _first(blocks, "document")):
        if _first(blocks, "text") is None:
            return not_yet("the user turn held the PDF but no question: add a text block after the document.")
        return not_yet("no question came after the document: put the document block first, then the question.")
    if reply.stop_reason != "end_turn":
        return not_yet(f"the reply stopped with {reply.stop_reason!r}, not 'end_turn': raise max_tokens and send "
                       "it again.")
    sent, bare = _normalised(request.get("messages")), _without_documents(request.get("messages"))
    counts = [r for r in _counts_in_attempt() if r.request.get("model") == request.get("model")]
    with_doc = next((r for r in reversed(counts) if _normalised(r.request.get("messages")) == sent), None)
    without = next((r for r in reversed(counts) if _normalised(r.request.get("messages")) == bare), None)
    if with_doc is None:
        return not_yet("the usage log shows no `count_tokens` call, in this run of the cell, on the messages you "
                       "sent: count them with `client.messages.count_tokens(model=..., messages=...)`.")
    if without is None:
        return not_yet("the usage log shows a count of your messages but none of the same messages without the "
                       "document block: count those too, and take the difference.")
    difference = with_doc.input_tokens - without.input_tokens
    if document_tokens is None:
        return not_yet("`document_tokens` is None: set it to the difference between your two counts.")
    if _whole(document_tokens) != difference:
        return not_yet(f"`document_tokens` is {document_tokens!r}, but your two counts differ by {difference} "
                       "tokens: subtract the count without the document from the count with it.")
    return correct("the usage log shows one user turn with a base64 PDF of the pages and text drawn for this run, then "
                   "a question; the reply ended with end_turn; `document_tokens` is the difference between your two "
                   "count_tokens calls, with and without the document.")


from . import keep_own_names  # noqa: E402 - last: the module's names are all defined

keep_own_names(__name__)
