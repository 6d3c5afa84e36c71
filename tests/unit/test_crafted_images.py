"""Crafted images (tests/crafted_images.py) are refused without their decoded size being
allocated: by the header check, and whatever that check reads, by OpenCV's own cap on the size
its codec read (shared/image_limits.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from shared import imaging
from shared.errors import Unprocessable, ValidationFailed
from shared.image_limits import MAX_PIXELS, OPENCV_PIXELS, opencv_capped
from shared.imaging import decode_image, header_size
from tests.crafted_images import CRAFTED, tiff_duplicate_size
from tests.support import REPO

# What decode_image says: 400 (unreadable or corrupt) or 422 (too large); one crafted image is
# a harmless 100x100 for its codec (the IHDR's size is all libpng reads) and decodes as such.
REFUSED = {name: ValidationFailed if "duplicate" in name or "second" in name or "frame" in name else Unprocessable
           for name in CRAFTED if name != "png-ihdr-small-data-large"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_crafted_images_are_refused(name: str) -> None:
    with pytest.raises(REFUSED[name]):
        decode_image(CRAFTED[name])


def test_a_png_whose_data_outgrows_its_header_decodes_at_the_header_size() -> None:
    assert decode_image(CRAFTED["png-ihdr-small-data-large"]).shape == (100, 100, 3)


def test_a_tiff_with_its_size_tags_twice_is_ambiguous_whichever_comes_first() -> None:
    """The case of the issue: the old header check read 100x100, libtiff decoded 12000x12000."""
    for real_first in (True, False):
        data = tiff_duplicate_size((12000, 12000), (100, 100), real_first=real_first)
        assert header_size(data) is None
        with pytest.raises(ValidationFailed, match="no single image size"):
            decode_image(data)


@pytest.mark.parametrize(
    "name",
    ["tiff-duplicate-size", "png-ihdr-7000x7000", "jpeg-sof-12000x12000", "webp-canvas-16000x16000", "bmp-30000x30000"],
)
def test_the_codec_itself_refuses_what_its_header_makes_too_large(name: str) -> None:
    """Without our header check in front: OpenCV's cap on the size its own codec parsed."""
    assert opencv_capped()  # tests/conftest.py capped OpenCV before anything imported it
    with pytest.raises(cv2.error, match="CV_IO_MAX_IMAGE_PIXELS"):
        cv2.imdecode(np.frombuffer(CRAFTED[name], np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)


def test_an_image_the_codec_reads_larger_than_the_header_check_did_is_a_422(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should our parser ever read a header smaller than the codec does (as it read the TIFF
    above before it refused repeated tags), the codec's cap answers: a parser that says 100x100."""
    monkeypatch.setattr(imaging, "header_size", lambda _data: (100, 100))
    with pytest.raises(Unprocessable, match=f"larger than {MAX_PIXELS / 1e6:g} megapixels"):
        decode_image(CRAFTED["tiff-duplicate-size"])


def uncapped_env() -> dict[str, str]:
    """This environment without the cap that tests/conftest.py set in it."""
    return {k: v for k, v in os.environ.items() if k != OPENCV_PIXELS}


DECODE_ALL = """
import json, resource, sys
import services  # as every service process starts: OpenCV capped before it loads
from shared.imaging import decode_image
from tests.crafted_images import CRAFTED
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcomes = {}
for name, data in CRAFTED.items():
    try:
        outcomes[name] = list(decode_image(data).shape)
    except Exception as exc:
        outcomes[name] = type(exc).__name__
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
print(json.dumps({"grown_mb": grown, "outcomes": outcomes}))
"""


def test_decoding_every_crafted_image_keeps_memory_under_300_mb() -> None:
    """In a fresh process started as a service is (peak resident memory, which no free undoes)."""
    out = subprocess.run([sys.executable, "-c", DECODE_ALL], cwd=REPO, env=uncapped_env(), capture_output=True,
                         text=True, check=True)  # fmt: skip
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["grown_mb"] < 300, result
    assert all(result["outcomes"][name] == REFUSED[name].__name__ for name in REFUSED), result


def test_opencv_loaded_before_its_cap_is_not_capped() -> None:
    """Why the cap is set first thing (services/__init__.py), and why the detector checks it."""
    code = "import cv2, services\nfrom shared.image_limits import opencv_capped\nprint(opencv_capped())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=uncapped_env(), capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False"
