"""Photos of objects (and a person) from a registry package's own sample data: scikit-image's
wheel ships `skimage/data/` (chelsea.png: a cat; motorcycle_left.png: a motorbike; astronaut.png:
a person, NASA, public domain). The wheel is downloaded once by pip (`--no-deps`, checked
against the SHA-256 pinned here, the way shared.modelpack fetches its wheels) into
`<models dir>/pypi/test-data/` and read there, never installed. None when it cannot be had (no
registry, another platform's wheel): the tests that need it skip.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

from tests.support import REPO

PACKAGE, VERSION = "scikit-image", "0.25.2"
# The CPython 3.11 manylinux x86_64 wheel (the project's machines and CI).
SHA256 = "24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641"


def _folder() -> Path:
    return Path(os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models"))) / "pypi" / "test-data"


def wheel() -> Path | None:
    folder = _folder()
    for found in folder.glob("scikit_image-*.whl"):
        if hashlib.sha256(found.read_bytes()).hexdigest() == SHA256:
            return found
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        requirement = Path(tmp) / "requirement.txt"
        requirement.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{SHA256}\n")
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
        run = subprocess.run(
            [*pip, "--disable-pip-version-check", "--dest", tmp, "-r", str(requirement)],
            capture_output=True,
            check=False,
            timeout=300,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if run.returncode != 0 or len(wheels) != 1:
            return None
        return wheels[0].replace(folder / wheels[0].name)


def sample(name: str) -> np.ndarray | None:
    """`skimage/data/<name>` as RGB, or None."""
    found = wheel()
    if found is None:
        return None
    with zipfile.ZipFile(found) as archive:
        data = np.frombuffer(archive.read(f"skimage/data/{name}"), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
