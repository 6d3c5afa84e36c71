"""The largest image Facegate decodes, enforced by the decoder's own reading of the header.

Reading an image's size from its header before decoding (shared/imaging.py does) only protects
if that reading agrees with the decoder's: a TIFF with its size tags twice made a separate
parser read the last (100x100) while libtiff used the first (12000x12000: 1 GB decoded). So the
cap is also OpenCV's own: it refuses an image whose header, as its codec parsed it, gives more
than OPENCV_IO_MAX_IMAGE_PIXELS pixels, before allocating anything. OpenCV reads that variable
once, when it is loaded, so `cap_opencv` must run before the first `import cv2` of a process:
services/__init__.py (the first module of every `python -m services.<name>`) and
tests/conftest.py call it, and the detector checks at start that the cap is in force
(`opencv_capped`), refusing to start otherwise.

This module imports no OpenCV itself (it must be importable before it).
"""

from __future__ import annotations

import math
import os
import struct

MAX_PIXELS = 40_000_000
OPENCV_PIXELS = "OPENCV_IO_MAX_IMAGE_PIXELS"


def cap_opencv(max_pixels: int = MAX_PIXELS) -> None:
    """Make OpenCV (once loaded) refuse images above `max_pixels`, or the lower cap the
    environment already sets."""
    current = os.environ.get(OPENCV_PIXELS, "")
    if not current.isdigit() or int(current) > max_pixels:
        os.environ[OPENCV_PIXELS] = str(max_pixels)


def probe_tiff(width: int, height: int) -> bytes:
    """A TIFF header of `width` x `height` 8-bit grey pixels with no pixel data."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0),
               (277, 3, 1), (278, 4, height), (279, 4, 0)]  # fmt: skip
    out = b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    return out + b"\0\0\0\0"


def opencv_capped(max_pixels: int = MAX_PIXELS) -> bool:
    """Whether the loaded OpenCV refuses an image of `max_pixels` + a few from its header. (If it
    does not, the probe costs only address space: the header has no pixel data to fill it with.)"""
    import cv2  # here, not at the top: see the module's docstring
    import numpy as np

    side = math.isqrt(max_pixels) + 1
    try:
        cv2.imdecode(np.frombuffer(probe_tiff(side, side), np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        return "CV_IO_MAX_IMAGE_PIXELS" in str(exc)
    return False
