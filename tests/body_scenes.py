"""Labelled pedestrian scenes: real people pasted at known places into synthetic backdrops.

People come from two sources beside the checkout (never committed):
- the portraits of ../shared/faces/photos (head and shoulders, one person each): each pasted
  whole, at 180 to 420 px high, into a 960x640 backdrop (tests/scenes.py); its truth box is the
  pasted rectangle (the person fills most of it);
- the group photos face-api's npm package ships as its demo (`demo/sample1.jpg`...: full bodies,
  three to five women each, MIT), prepared with the models (shared/modelpack); their truth is
  the number of people in each, counted by eye (PEOPLE_IN_SAMPLES).

Used by benchmarks/bodies.py (precision and recall) and the pedestrian tests. Deterministic for
a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tests.scenes import background
from tests.support import FACES

# Photos that show more than one person, or a person and their reflection.
GROUPS = ("couple.jpg", "selfie-many-people.jpg", "img11_reflection.jpg")
# People in face-api's demo photos (whole or most of the body visible), counted by eye.
PEOPLE_IN_SAMPLES = {
    "sample1.jpg": 3,
    "sample2.jpg": 3,
    "sample3.jpg": 3,
    "sample4.jpg": 4,
    "sample5.jpg": 5,
    "sample6.jpg": 4,
}
Box = tuple[float, float, float, float]


@dataclass
class BodyScene:
    name: str
    rgb: np.ndarray
    truths: list[Box] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per truth: "person" or an object type


# Objects (and a person) from scikit-image's sample data (tests/registry_images.py): the region
# of the photo pasted, and the labelled box in it (by eye), of each.
OBJECT_SOURCES: dict[str, tuple[str, Box, Box]] = {
    "chelsea.png": ("cat", (0, 0, 451, 300), (0, 0, 420, 300)),
    "motorcycle_left.png": ("motorcycle", (80, 40, 720, 470), (15, 25, 600, 410)),
    "astronaut.png": ("person", (0, 0, 512, 512), (15, 10, 365, 512)),
}


def portraits() -> list[Path]:
    return sorted(p for p in (FACES / "photos").glob("*.jpg") if p.name not in GROUPS)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def portrait_scene(rng: np.random.Generator, photos: list[Path], count: int, index: int) -> BodyScene:
    """`count` portraits side by side (never overlapping) on a 960x640 backdrop."""
    width, height = 960, 640
    scene = BodyScene(f"portraits-{index:02d}", background(rng, width, height))
    slot = width // count
    for i in range(count):
        photo = read_rgb(photos[int(rng.integers(len(photos)))])
        h = int(rng.integers(180, 420))
        w = int(photo.shape[1] * h / photo.shape[0])
        if w > slot - 10:
            w = slot - 10
            h = int(photo.shape[0] * w / photo.shape[1])
        small = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
        x = i * slot + int(rng.integers(0, max(1, slot - w)))
        y = int(rng.integers(0, height - h))
        scene.rgb[y : y + h, x : x + w] = small
        scene.truths.append((float(x), float(y), float(x + w), float(y + h)))
    return scene


def portrait_scenes(seed: int = 21, count: int = 24) -> list[BodyScene]:
    rng = np.random.default_rng(seed)
    photos = portraits()
    return [portrait_scene(rng, photos, 1 + i % 3, i) for i in range(count)]


def object_scenes(sources: dict[str, np.ndarray], seed: int = 21, count: int = 12) -> list[BodyScene]:
    """960x640 backdrops holding each of `sources` (OBJECT_SOURCES' photos, RGB) once, side by
    side in a random order, each 160 to 300 px high; truths are the labelled boxes carried through."""
    rng = np.random.default_rng(seed)
    scenes = []
    for index in range(count):
        scene = BodyScene(f"objects-{index:02d}", background(rng, 960, 640))
        names = [n for n in OBJECT_SOURCES if n in sources]
        slot = 960 // max(1, len(names))
        for i, name in enumerate(rng.permutation(names)):
            kind, (rx0, ry0, rx1, ry1), (bx0, by0, bx1, by1) = OBJECT_SOURCES[str(name)]
            region = sources[str(name)][ry0:ry1, rx0:rx1]
            h = int(rng.integers(160, 300))
            w = min(slot - 10, int(region.shape[1] * h / region.shape[0]))
            h = int(region.shape[0] * w / region.shape[1])
            scale = w / region.shape[1]
            x, y = i * slot + int(rng.integers(0, max(1, slot - w))), int(rng.integers(0, 640 - h))
            scene.rgb[y : y + h, x : x + w] = cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA)
            scene.truths.append((x + bx0 * scale, y + by0 * scale, x + bx1 * scale, y + by1 * scale))
            scene.kinds.append(kind)
        scenes.append(scene)
    return scenes


def sample_photos(models_dir: Path) -> dict[str, np.ndarray]:
    """face-api's demo photos (RGB) found in the prepared model cache, by name."""
    folder = models_dir / "npm" / "@vladmandic" / "face-api" / "demo"
    return {name: read_rgb(folder / name) for name in PEOPLE_IN_SAMPLES if (folder / name).exists()}


def matches(found: Box, truth: Box) -> bool:
    """A detection is of a pasted person when its centre lies in the pasted rectangle and it
    covers at least a fifth of it (a person box is smaller than the photo around the person)."""
    cx, cy = (found[0] + found[2]) / 2, (found[1] + found[3]) / 2
    inside = truth[0] <= cx <= truth[2] and truth[1] <= cy <= truth[3]
    ix = max(0.0, min(found[2], truth[2]) - max(found[0], truth[0]))
    iy = max(0.0, min(found[3], truth[3]) - max(found[1], truth[1]))
    return inside and ix * iy >= 0.2 * (truth[2] - truth[0]) * (truth[3] - truth[1])


def score(found: list[Box], truths: list[Box]) -> tuple[int, int]:
    """(true positives, false positives): each truth matched once, greedily in found order."""
    left = list(truths)
    tp = 0
    for box in found:
        hit = next((t for t in left if matches(box, t)), None)
        if hit is not None:
            left.remove(hit)
            tp += 1
    return tp, len(found) - tp
