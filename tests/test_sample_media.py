"""The lessons' sample images and PDFs are valid files: chunks, checksums, pixel data, cross-references."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from helpers import sample_media
from helpers.offline import media


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (name, body), each checked against its CRC-32."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(data):
        length, name = struct.unpack(">I4s", data[at: at + 8])
        body = data[at + 8: at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length: at + 12 + length])
        assert crc == zlib.crc32(name + body) & 0xFFFFFFFF, f"bad CRC in {name!r}"
        found.append((name, body))
        at += 12 + length
    return found


def pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB PNG whose rows all use filter 0."""
    parts = chunks(data)
    assert [name for name, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", parts[0][1])
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = zlib.decompress(parts[1][1])
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    rows = [raw[i * stride: (i + 1) * stride] for i in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


@pytest.mark.parametrize("colour, rgb", [("#2e8b57", (46, 139, 87)), ("DC143C", (220, 20, 60)), ((1, 2, 3), (1, 2, 3))])
def test_png_is_every_pixel_the_colour_asked_for(colour, rgb):
    width, height, rows = pixels(sample_media.png(7, 5, colour))
    assert (width, height) == (7, 5)
    assert {bytes(row[x: x + 3]) for row in rows for x in range(0, 21, 3)} == {bytes(rgb)}


def test_png_is_read_by_the_backend_as_the_kit_describes_it():
    data = sample_media.png(213, 97, "#4682b4")
    assert media.facts(data) == media.ImageFacts("image/png", 213, 97)
    assert media.dominant_colour(data) == "#4682b4"


def test_a_large_png_stays_small_and_keeps_its_size():
    data = sample_media.png(4000, 3000)
    assert len(data) < 100_000
    assert media.facts(data) == media.ImageFacts("image/png", 4000, 3000)
    assert len(zlib.decompress(chunks(data)[1][1])) == (1 + 3 * 4000) * 3000


def test_noisy_png_does_not_compress_and_repeats_for_a_seed():
    first = sample_media.noisy_png(300, 200, seed=7)
    width, height, rows = pixels(first)
    assert (width, height) == (300, 200)
    assert len(first) > 3 * 300 * 200
    assert len({bytes(row[x: x + 3]) for row in rows for x in range(0, 900, 3)}) > 1000
    assert sample_media.noisy_png(300, 200, seed=7) == first
    assert sample_media.noisy_png(300, 200, seed=8) != first


@pytest.mark.parametrize("pages", [1, 3, 12])
def test_pdf_has_its_pages_and_a_cross_reference_table_that_points_at_each_object(pages):
    data = sample_media.pdf(pages)
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    assert media.is_pdf(data) and media.pdf_pages(data) == pages
    startxref = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[startxref:].startswith(b"xref\n")
    table = re.search(rb"xref\n0 (\d+)\n((?:\d{10} \d{5} [nf] \n)+)", data)
    entries = re.findall(rb"(\d{10}) \d{5} n \n", table.group(2))
    assert int(table.group(1)) == len(entries) + 1 == 3 + 2 * pages + 1
    for number, offset in enumerate(entries, start=1):
        assert data[int(offset):].startswith(b"%d 0 obj\n" % number)
    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", data):
        length = int(match.group(1))
        assert data[match.end() + length: match.end() + length + 10] == b"\nendstream"


def test_pdf_text_is_filled_in_and_escaped():
    data = sample_media.pdf(2, text="Ants (page {n} of {pages}) \\ done")
    assert b"(Ants \\(page 1 of 2\\) \\\\ done) Tj" in data
    assert b"(Ants \\(page 2 of 2\\) \\\\ done) Tj" in data


@pytest.mark.parametrize("call, words", [
    (lambda: sample_media.png(0, 10), "width must be a whole number"),
    (lambda: sample_media.png(10, 2.5), "height must be a whole number"),
    (lambda: sample_media.png(10, 10, "green"), "not a hex colour"),
    (lambda: sample_media.png(10, 10, (300, 0, 0)), "three integers from 0 to 255"),
    (lambda: sample_media.noisy_png(True, 10), "width must be a whole number"),
    (lambda: sample_media.pdf(0), "pages must be a whole number"),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError, match=words):
        call()
