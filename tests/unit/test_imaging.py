"""Decoding uploads: formats, EXIF orientation, and typed errors for bad images."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from shared.errors import Unprocessable, ValidationFailed
from shared.imaging import chip_to_chip, decode_image, header_size, template_points


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an EXIF APP1 segment holding only the orientation tag after the JPEG's SOI."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def encode(ext: str, pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, pixels)
    assert ok
    return bytes(buf)


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


PIXELS = np.dstack([np.full((40, 60), v, np.uint8) for v in (10, 20, 30)])  # B, G, R


def test_formats_decode_to_rgb_uint8() -> None:
    for data in (
        encode(".png", PIXELS),
        encode(".png", cv2.cvtColor(PIXELS, cv2.COLOR_BGR2BGRA)),
        encode(".png", PIXELS.astype(np.uint16) * 257),
        encode(".bmp", PIXELS),
    ):
        rgb = decode_image(data)
        assert rgb.shape == (40, 60, 3) and rgb.dtype == np.uint8
        assert tuple(rgb[0, 0]) == (30, 20, 10)
    gray = decode_image(encode(".jpg", PIXELS[:, :, 0]))
    assert gray.shape == (40, 60, 3) and np.all(gray[..., 0] == gray[..., 2])


def test_exif_orientation_is_applied() -> None:
    stored = encode(".jpg", np.zeros((40, 60, 3), np.uint8))
    assert decode_image(with_exif_orientation(stored, 6)).shape == (60, 40, 3)
    assert decode_image(with_exif_orientation(stored, 1)).shape == (40, 60, 3)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ValidationFailed),
        (b"this is not an image", ValidationFailed),
        (encode(".jpg", PIXELS)[:200], ValidationFailed),  # truncated JPEG
        (encode(".png", PIXELS)[:-20], ValidationFailed),  # truncated PNG
        (png_header(0, 10) + b"\x00" * 16, ValidationFailed),  # zero-size
        (png_header(8000, 6000) + b"\x00" * 16, Unprocessable),  # 48 MP, refused from the header
        (encode(".png", np.zeros((4, 4, 3), np.uint8)), Unprocessable),  # too small for a face
    ],
)
def test_bad_images_raise_typed_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        decode_image(data)
    assert str(caught.value)


def test_header_size_of_png_and_jpeg() -> None:
    assert header_size(encode(".png", PIXELS)) == (60, 40)
    assert header_size(encode(".jpg", PIXELS)) == (60, 40)
    assert header_size(b"GIF89a") is None


def test_chip_to_chip_keeps_the_template_in_place() -> None:
    chip = np.zeros((224, 224, 3), np.uint8)
    for x, y in template_points(0.5, 224).astype(int):
        chip[y - 1 : y + 2, x - 1 : x + 2] = 255
    small = chip_to_chip(chip, 150, 0.25)
    for x, y in template_points(0.25, 150).astype(int):
        assert small[y, x].max() > 60
