"""Small real images and PDFs, built in code, for the image and document tests (no binary files in the repo)."""

from __future__ import annotations

import base64
import struct
import zlib


def _chunk(name: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + name + body + struct.pack(">I", zlib.crc32(name + body) & 0xFFFFFFFF)


def png(width: int, height: int, pixel=lambda x, y: (255, 0, 0), *, filter_type: int = 0) -> bytes:
    """An 8-bit RGB PNG; ``filter_type`` 0 (none) or 2 (up) for every row, to exercise the decoder."""
    rows, previous = [], bytes(width * 3)
    for y in range(height):
        line = b"".join(bytes(pixel(x, y)) for x in range(width))
        stored = line if filter_type == 0 else bytes((a - b) & 0xFF for a, b in zip(line, previous))
        rows.append(bytes([filter_type]) + stored)
        previous = line
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + _chunk(b"IEND", b""))


def gif(width: int, height: int) -> bytes:
    """A GIF header and screen descriptor: enough for its size (the trailer closes it)."""
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def jpeg(width: int, height: int) -> bytes:
    """SOI, an APP0 segment, then a baseline start-of-frame with the size (what a size reader needs)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp(width: int, height: int) -> bytes:
    """A lossless (VP8L) WebP header with the size."""
    bits = (width - 1) | ((height - 1) << 14)
    body = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def pdf(pages: int) -> bytes:
    """A plain (uncompressed) PDF with ``pages`` page objects."""
    objects = [b"1 0 obj<</Type /Catalog /Pages 2 0 R>>endobj",
               b"2 0 obj<</Type /Pages /Count %d>>endobj" % pages]
    objects += [b"%d 0 obj<</Type /Page /Parent 2 0 R>>endobj" % (3 + n) for n in range(pages)]
    return b"%PDF-1.4\n" + b"\n".join(objects) + b"\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_block(data: bytes, media_type: str) -> dict:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64(data)}}


def pdf_block(data: bytes) -> dict:
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(data)}}
