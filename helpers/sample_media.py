"""Small real images and PDFs made in code, for the lessons (the kit ships no binary files and needs no Pillow).

- ``png(width, height, colour)``: a valid 8-bit RGB PNG of one colour, any size (rows are compressed
  one at a time, so a 4000 x 3000 image costs a few kilobytes and no large buffer);
- ``noisy_png(width, height)``: a PNG of random pixels, which does not compress (a photo's weight);
- ``pdf(pages)``: a valid PDF with one line of text per page, uncompressed, with its cross-reference table.

PNG layout: https://www.w3.org/TR/png/ (signature, IHDR, IDAT, IEND; each chunk ends with a CRC-32).
PDF layout: ISO 32000-1 section 7.5 (header, objects, xref table, trailer).
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from typing import Union

Colour = Union[str, tuple]
MAX_EDGE = 20_000
"""Larger images are refused here: the API takes at most 8000 pixels a side, and this is for lessons."""
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def rgb(colour: Colour) -> tuple[int, int, int]:
    """``"#1f77b4"``, ``"1f77b4"`` or ``(31, 119, 180)`` as a tuple of three 0-255 ints."""
    if isinstance(colour, str):
        found = _HEX.fullmatch(colour.strip())
        if not found:
            raise ValueError(f"colour {colour!r} is not a hex colour such as '#1f77b4'")
        value = int(found.group(1), 16)
        return value >> 16, (value >> 8) & 0xFF, value & 0xFF
    parts = tuple(colour)
    if len(parts) != 3 or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 255 for p in parts):
        raise ValueError(f"colour {colour!r} is not three integers from 0 to 255, such as (31, 119, 180)")
    return parts  # type: ignore[return-value]


def _size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EDGE:
            raise ValueError(f"{name} must be a whole number of pixels from 1 to {MAX_EDGE}, not {value!r}")


def _chunk(name: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + name + body + struct.pack(">I", zlib.crc32(name + body) & 0xFFFFFFFF)


def _png(width: int, height: int, rows) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(b"\x00" + row) for row in rows) + packer.flush()  # filter 0 on every row
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png(width: int, height: int, colour: Colour = "#1f77b4") -> bytes:
    """A PNG of ``width`` x ``height`` pixels, all of one colour."""
    _size(width, height)
    row = bytes(rgb(colour)) * width
    return _png(width, height, (row for _ in range(height)))


def noisy_png(width: int, height: int, seed: int = 0) -> bytes:
    """A PNG of random pixels (the same for the same seed): about ``3 * width * height`` bytes."""
    _size(width, height)
    rng = random.Random(seed)
    return _png(width, height, (rng.randbytes(3 * width) for _ in range(height)))


def _pdf_text(text: str) -> str:
    """Text for a PDF string literal: ASCII, with its three special characters escaped."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(pages: int = 1, text: str = "Page {n} of {pages}") -> bytes:
    """A PDF of ``pages`` A6 pages, each showing ``text`` (``{n}`` and ``{pages}`` are filled in)."""
    if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= 1000:
        raise ValueError(f"pages must be a whole number from 1 to 1000, not {pages!r}")
    first_page = 4  # objects: 1 catalog, 2 page tree, 3 font, then a page and its content stream per page
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(pages))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i in range(pages):
        line = _pdf_text(text.format(n=i + 1, pages=pages))
        stream = f"BT /F1 14 Tf 24 360 Td ({line}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {first_page + 2 * i + 1} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)
