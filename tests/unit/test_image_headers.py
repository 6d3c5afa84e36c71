"""Image sizes read from headers before decoding, for every accepted format, so that a bomb is
refused without being decoded; anything else OpenCV could read is refused as unsupported."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from shared.errors import Unprocessable, ValidationFailed
from shared.imaging import decode_image, header_size, image_format

PIXELS = np.dstack([np.full((30, 50), v, np.uint8) for v in (10, 20, 30)])  # 50 wide, 30 high


def encode(ext: str, pixels: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, pixels, params or [])
    assert ok
    return bytes(buf)


def tiff_header(width: int, height: int, *, order: str = "<", big: bool = False) -> bytes:
    """A TIFF (or BigTIFF) whose first directory holds only the size (LONG values)."""
    mark = b"II" if order == "<" else b"MM"
    if big:
        head = mark + struct.pack(order + "HHHQ", 43, 8, 0, 16)
        entries = [struct.pack(order + "HHQQ", tag, 16, 1, value) for tag, value in ((256, width), (257, height))]
        return head + struct.pack(order + "Q", len(entries)) + b"".join(entries) + b"\x00" * 8
    head = mark + struct.pack(order + "HI", 42, 8)
    entries = [struct.pack(order + "HHII", tag, 4, 1, value) for tag, value in ((256, width), (257, height))]
    return head + struct.pack(order + "H", len(entries)) + b"".join(entries) + b"\x00" * 4


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 12 + b"IEND"


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (width - 1).to_bytes(3, "little")
    body += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits) + b"\x00" * 16
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 54) + info


def jpeg_header(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9 + b"\xff" + sof + b"\xff\xd9"


@pytest.mark.parametrize(
    "data",
    [
        encode(".jpg", PIXELS),
        encode(".png", PIXELS),
        encode(".bmp", PIXELS),
        encode(".tiff", PIXELS),
        encode(".tiff", PIXELS.astype(np.uint16) * 257),
        encode(".webp", PIXELS, [cv2.IMWRITE_WEBP_QUALITY, 80]),  # lossy: VP8
        encode(".webp", PIXELS, [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossless: VP8L
        encode(".webp", cv2.cvtColor(PIXELS, cv2.COLOR_BGR2BGRA), [cv2.IMWRITE_WEBP_QUALITY, 80]),
    ],
)
def test_header_size_agrees_with_the_decoded_image(data: bytes) -> None:
    assert header_size(data) == (50, 30)
    assert decode_image(data).shape == (30, 50, 3)


def test_header_size_of_hand_made_headers() -> None:
    assert header_size(tiff_header(123, 45)) == (123, 45)
    assert header_size(tiff_header(123, 45, order=">")) == (123, 45)
    assert header_size(tiff_header(123, 45, big=True)) == (123, 45)
    assert header_size(webp_vp8x(16383, 9000)) == (16383, 9000)
    assert header_size(webp_vp8l(300, 200)) == (300, 200)
    assert header_size(bmp_header(640, 480)) == (640, 480)  # top-down: negative height
    assert header_size(jpeg_header(640, 480)) == (640, 480)  # with a fill byte before SOF0


@pytest.mark.parametrize(
    "bomb",
    [
        png_header(30000, 30000),
        tiff_header(30000, 30000),
        tiff_header(30000, 30000, order=">"),
        tiff_header(30000, 30000, big=True),
        webp_vp8x(16383, 16383),
        webp_vp8l(16384, 16384),
        bmp_header(30000, 30000),
        jpeg_header(30000, 30000),
    ],
)
def test_bombs_are_refused_from_the_header(bomb: bytes) -> None:
    # Only a header: had it been decoded instead, it would fail as corrupt (ValidationFailed).
    with pytest.raises(Unprocessable, match="megapixels"):
        decode_image(bomb)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a" + b"\x00" * 64, "supported format"),
        (b"P5\n50 30\n255\n" + bytes(1500), "supported format"),  # PGM: OpenCV reads it, we do not
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "header is unreadable"),  # no IHDR
        (b"II*\x00" + struct.pack("<I", 4000), "header is unreadable"),  # directory beyond the data
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "header is unreadable"),
        (b"\xff\xd8\xff\xe0\x00\x10" + b"\x00" * 30, "header is unreadable"),  # JPEG without SOF
    ],
)
def test_unsupported_or_unreadable_headers_are_400(data: bytes, reason: str) -> None:
    with pytest.raises(ValidationFailed, match=reason):
        decode_image(data)


def test_a_cut_off_photo_is_reported_as_corrupt() -> None:
    jpeg = encode(".jpg", np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8))
    with pytest.raises(ValidationFailed, match="corrupt or truncated"):
        decode_image(jpeg[: len(jpeg) // 2])
    assert image_format(jpeg) == "JPEG" and image_format(b"hello") is None
