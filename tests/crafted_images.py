"""Images crafted to make a decoder allocate far more than the pixel cap: headers that lie about
the size, or that a separate header parser and the codec read differently. Each is small on the
wire; decoded as its codec reads it, most would take hundreds of MB to GBs.

`CRAFTED` names each one; every one must be refused (4xx) without the decoder's memory growing.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def _tiff(entries: list[tuple[int, int, int]], strip: bytes) -> bytes:
    """A little-endian TIFF with one directory of (tag, type, value) entries (in the given order,
    duplicates kept) and one strip; StripOffsets (273) is filled in."""
    data_at = 8 + 2 + 12 * len(entries) + 4
    out = b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    return out + b"\0\0\0\0" + strip


def tiff_duplicate_size(real: tuple[int, int], claimed: tuple[int, int], *, real_first: bool = True) -> bytes:
    """A deflated grey TIFF of `real` size whose directory also gives `claimed` as its size (the
    size tags twice): libtiff reads the first, a naive parser the last."""
    width, height = real
    strip = zlib.compress(bytes(width * height), 9)
    sizes = [(256, 4, width), (257, 4, height)]
    lies = [(256, 4, claimed[0]), (257, 4, claimed[1])]
    rest = [(258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(strip))]
    return _tiff((sizes + rest + lies) if real_first else (lies + rest + sizes), strip)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(claimed: tuple[int, int], real: tuple[int, int]) -> bytes:
    """A grey PNG whose IHDR says `claimed` and whose pixel data is `real` rows of zeros."""
    width, height = real
    ihdr = struct.pack(">IIBBBBB", claimed[0], claimed[1], 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes((width + 1) * height), 9)  # filter byte 0, then the row
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def _small_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))
    assert ok
    return bytes(buf)


def jpeg_sof(width: int, height: int) -> bytes:
    """A real 64x64 JPEG whose frame header (SOF0) says `width` x `height`."""
    data = bytearray(_small_jpeg())
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_two_sofs(width: int, height: int) -> bytes:
    """A real 64x64 JPEG with a second frame header saying `width` x `height` after its own."""
    data = _small_jpeg()
    at = data.find(b"\xff\xc0")
    length = struct.unpack(">H", data[at + 2 : at + 4])[0]
    sof = bytearray(data[at : at + 2 + length])
    sof[5:9] = struct.pack(">HH", height, width)
    end = at + 2 + length
    return data[:end] + bytes(sof) + data[end:]


def _webp_lossless() -> bytes:
    ok, buf = cv2.imencode(".webp", np.full((64, 64, 3), 128, np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok and bytes(buf)[12:16] == b"VP8L"
    return bytes(buf)


def _riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + chunks


def webp_canvas(width: int, height: int) -> bytes:
    """A real 64x64 lossless WebP inside an extended (VP8X) container whose canvas is `width` x
    `height`."""
    vp8l = _webp_lossless()[12:]
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    return _riff(vp8x + vp8l)


def webp_frame(width: int, height: int) -> bytes:
    """A 64x64 canvas (VP8X) holding a lossless frame whose own header says `width` x `height`."""
    vp8l = bytearray(_webp_lossless()[12:])
    bits = (width - 1) | ((height - 1) << 14) | (struct.unpack("<I", vp8l[9:13])[0] & ~((1 << 28) - 1))
    vp8l[9:13] = struct.pack("<I", bits)
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + (63).to_bytes(3, "little") + (63).to_bytes(3, "little")
    return _riff(vp8x + bytes(vp8l))


def bmp(width: int, height: int) -> bytes:
    """A 24-bit BMP whose header says `width` x `height`, with 64 bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 64, 0, 0, 14 + len(info)) + info + bytes(64)


# name -> bytes; what the codec would decode is in the comments.
CRAFTED: dict[str, bytes] = {
    # The case of the issue: 140 KB, 12000x12000 for libtiff, 100x100 for a parser keeping the last tag.
    "tiff-duplicate-size": tiff_duplicate_size((12000, 12000), (100, 100)),
    "tiff-duplicate-size-lie-first": tiff_duplicate_size((12000, 12000), (100, 100), real_first=False),
    "png-ihdr-7000x7000": png((7000, 7000), (7000, 7000)),  # 49 MP of real (compressed) data
    "png-ihdr-small-data-large": png((100, 100), (7000, 7000)),
    "png-ihdr-large-data-small": png((60000, 60000), (100, 100)),
    "jpeg-sof-12000x12000": jpeg_sof(12000, 12000),
    "jpeg-second-sof-12000x12000": jpeg_two_sofs(12000, 12000),
    "webp-canvas-16000x16000": webp_canvas(16000, 16000),
    "webp-frame-16000x16000-in-small-canvas": webp_frame(16000, 16000),
    "bmp-30000x30000": bmp(30000, 30000),
    "bmp-bottom-up-9000x9000": bmp(9000, 9000),
}
