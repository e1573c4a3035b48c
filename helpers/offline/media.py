"""What the offline backend can honestly compute from image and PDF bytes, with the standard library only.

- the format, from the bytes' signature; width and height from the PNG ``IHDR``, the GIF
  screen descriptor, the JPEG start-of-frame marker or the WebP ``VP8``/``VP8L``/``VP8X`` header;
- the image's token cost on a model, as the vision docs give it
  (https://platform.claude.com/docs/en/build-with-claude/vision): an image larger than the
  model's native resolution (its longest edge and most pixels, ``image_max_edge`` and
  ``image_max_pixels`` in the catalog) is first scaled down keeping its aspect ratio, then
  each 28x28-pixel patch is one visual token, ``ceil(width / 28) * ceil(height / 28)``;
- the dominant colour of a PNG (8 bits per channel, not interlaced, up to
  ``MAX_COLOUR_PIXELS``), decoded with ``zlib``; for other images it is not computed;
- the page count of a PDF, from its ``/Type /Page`` objects (None when they are compressed), and for
  an uncompressed PDF each page's size and the text it shows, from which its cost is estimated
  (``tokens.py``): the page as an image by the image rule, at one pixel a point, plus its text, put
  within the PDF support page's 1,500 to 3,000 tokens of text a page
  (https://platform.claude.com/docs/en/build-with-claude/pdf-support).
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from ..catalog import ImageNative

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
MAX_COLOUR_PIXELS = 250_000
"""Larger PNGs are not decoded for their colour: pure-Python unfiltering would take seconds."""
PDF_TOKENS_PER_PAGE = 1600
"""The kit's estimate for one PDF page whose text it cannot read (a compressed PDF): the docs bill each page as an
image plus its text."""
PDF_PAGE_TEXT_TOKENS = (1500, 3000)
"""What the PDF support page puts a page's text at, typically, depending on how dense the page is: the offline
estimate starts at the low end and adds the page's own text, up to the high end."""
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z]).*?/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+"
                          rb"([-\d.]+)\s*\]", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


@dataclass(frozen=True)
class PdfPage:
    width: int  # points, which the estimate takes as pixels of the page's image
    height: int
    text: str


@dataclass(frozen=True)
class ImageFacts:
    media_type: str
    width: int
    height: int


def kind(data: bytes) -> Optional[str]:
    """The image format of the bytes, by their signature, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def _jpeg_size(data: bytes) -> Optional[tuple[int, int]]:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            at += 1
            continue
        marker = data[at + 1]
        if marker in (0xFF, 0x01) or 0xD0 <= marker <= 0xD9:
            at += 2 if marker != 0xFF else 1
            continue
        length = struct.unpack(">H", data[at + 2: at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5: at + 9])
            return width, height
        at += 2 + length
    return None


def _webp_size(data: bytes) -> Optional[tuple[int, int]]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def facts(data: bytes) -> Optional[ImageFacts]:
    """Format and size of an image, or None when the bytes are not a readable image."""
    media_type = kind(data)
    size: Optional[tuple[int, int]] = None
    if media_type == PNG and len(data) >= 24 and data[12:16] == b"IHDR":
        size = struct.unpack(">II", data[16:24])
    elif media_type == GIF and len(data) >= 10:
        size = struct.unpack("<HH", data[6:10])
    elif media_type == JPEG:
        size = _jpeg_size(data)
    elif media_type == WEBP:
        size = _webp_size(data)
    if media_type is None or size is None or 0 in size:
        return None
    return ImageFacts(media_type, size[0], size[1])


def scaled(width: int, height: int, native: ImageNative) -> tuple[int, int]:
    """The size the model reads: scaled down, aspect kept, to fit its longest edge and its pixel count."""
    ratio = min(1.0, native.max_edge / max(width, height), math.sqrt(native.max_pixels / (width * height)))
    if ratio >= 1.0:
        return width, height
    return max(1, math.floor(width * ratio)), max(1, math.floor(height * ratio))


def image_tokens(width: int, height: int, native: ImageNative, patch: int = 28) -> int:
    """Visual tokens of one image: one per ``patch`` x ``patch`` pixels of the (scaled) image."""
    w, h = scaled(width, height, native)
    return math.ceil(w / patch) * math.ceil(h / patch)


def _png_rows(data: bytes) -> Optional[tuple[int, int, int, list[bytes], bytes]]:
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if depth != 8 or interlace or channels is None or width * height > MAX_COLOUR_PIXELS:
        return None
    at, idat, palette = 8, [], b""
    while at + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[at: at + 8])
        body = data[at + 8: at + 8 + length]
        if name == b"IDAT":
            idat.append(body)
        elif name == b"PLTE":
            palette = body
        at += 12 + length
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error:
        return None
    stride = width * channels
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        if at + 1 + stride > len(raw):
            return None
        kind_of_filter, line = raw[at], bytearray(raw[at + 1: at + 1 + stride])
        at += 1 + stride
        _unfilter(kind_of_filter, line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return width, channels, colour, rows, palette


def _unfilter(kind_of_filter: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    if kind_of_filter == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind_of_filter == 2:
        for i in range(len(line)):
            line[i] = (line[i] + previous[i]) & 0xFF
    elif kind_of_filter == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
    elif kind_of_filter == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF


def dominant_colour(data: bytes) -> Optional[str]:
    """The most common colour of a PNG as ``#rrggbb`` (fully transparent pixels left out), or None."""
    if kind(data) != PNG or len(data) < 29:
        return None
    decoded = _png_rows(data)
    if decoded is None:
        return None
    width, channels, colour, rows, palette = decoded
    counts: Counter = Counter()
    for row in rows:
        for x in range(width):
            pixel = row[x * channels: (x + 1) * channels]
            if colour == 0:
                rgb = (pixel[0],) * 3
            elif colour == 4:
                if pixel[1] == 0:
                    continue
                rgb = (pixel[0],) * 3
            elif colour == 3:
                if 3 * pixel[0] + 3 > len(palette):
                    return None
                rgb = tuple(palette[3 * pixel[0]: 3 * pixel[0] + 3])
            else:
                if colour == 6 and pixel[3] == 0:
                    continue
                rgb = tuple(pixel[:3])
            counts[rgb] += 1
    if not counts:
        return None
    red, green, blue = counts.most_common(1)[0][0]
    return f"#{red:02x}{green:02x}{blue:02x}"


def is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def pdf_pages(data: bytes) -> Optional[int]:
    """How many pages a PDF has, counted from its page objects; None when none can be seen (compressed)."""
    found = len(_PAGE.findall(data))
    return found or None


def pdf_page_layout(data: bytes) -> Optional[list[PdfPage]]:
    """Each page's size and shown text, for an uncompressed PDF with one content stream a page, in page order
    (as ``sample_media.pdf`` writes them); None for any other PDF, whose pages the estimate cannot read."""
    pages = pdf_pages(data)
    boxes = _PAGE_OBJECT.findall(data)
    streams = _STREAM.findall(data)
    if not pages or len(boxes) != pages or len(streams) != pages:
        return None
    layout = []
    for box, stream in zip(boxes, streams):
        x0, y0, x1, y1 = (float(v) for v in box)
        shown = b" ".join(_SHOWN.findall(stream))
        text = re.sub(rb"\\(.)", rb"\1", shown).decode("latin-1")
        layout.append(PdfPage(max(1, round(abs(x1 - x0))), max(1, round(abs(y1 - y0))), text))
    return layout
