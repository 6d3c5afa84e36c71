"""Search of degraded probes, as issue 24 measured the detector's part in recognition: one photo
of each identity of ../shared/faces/identities.csv enrolled (its face found with minFaceSize 35),
each of the others degraded six ways and searched with minFaceSize 16; rank-1 per condition.

    .venv/bin/python benchmarks/degraded.py

Conditions, each relative to the probe's own face (found in the clean photo): the photo shrunk
until the face is 21 px wide; JPEG quality 10; a Gaussian blur of a 25th of the face's size; the
photo turned 35 degrees about the face; darkened to a fifth; a mask over the mouth and chin
(a plain rectangle from 62 % of the face box's height down). With the identities file's 25
people and 41 photos that is 16 probes, 96 searches (the issue's 93 of 96 were on held-out
photos of the same conditions). Each photo goes the services' own way (FacePipeline.analyse: the
detector's crop as JPEG, the extractor's template); the gallery is searched by cosine, as the
matcher does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import cv2
import numpy as np
from accuracy import FACES, TEMPLATE_ONLY, rows

from services.extractor.pipeline import FacePipeline
from shared.imaging import decode_image, encode_jpeg
from shared.messages.faces import DetectedFace, FaceDetectorConfig
from shared.settings import load_settings

Degrade = Callable[[np.ndarray, DetectedFace], np.ndarray]


def _turned(rgb: np.ndarray, face: DetectedFace, degrees: float) -> np.ndarray:
    x0, y0, x1, y1 = face.box
    turn = cv2.getRotationMatrix2D(((x0 + x1) / 2, (y0 + y1) / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, turn, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REFLECT)


def _masked(rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in face.box)
    height, side = y1 - y0, (x1 - x0) // 10
    out = rgb.copy()
    out[max(0, y0 + int(0.62 * height)) : y1 + height // 10, max(0, x0 - side) : x1 + side] = (40, 90, 160)
    return out


def _shrunk(rgb: np.ndarray, face: DetectedFace, width: float) -> np.ndarray:
    scale = width / face.face_size
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


CONDITIONS: dict[str, Degrade] = {
    "face 21 px wide": lambda rgb, f: _shrunk(rgb, f, 21),
    "JPEG quality 10": lambda rgb, f: decode_image(encode_jpeg(rgb, 10)),
    "blur": lambda rgb, f: cv2.GaussianBlur(rgb, (0, 0), f.face_size / 25),
    "turned 35 degrees": lambda rgb, f: _turned(rgb, f, 35),
    "dark (x0.2)": lambda rgb, f: (rgb.astype(np.float32) * 0.2).astype(np.uint8),
    "mask over mouth and chin": _masked,
}


def main() -> None:
    cv2.setNumThreads(1)
    pipe = FacePipeline.from_settings(load_settings(), threads=1)

    def searched(rgb: np.ndarray, min_face: int) -> tuple[np.ndarray | None, DetectedFace | None]:
        """The template and description of the face a one-face request takes (the photo sent
        as a lossless PNG, as a Search's bytes), or (None, None)."""
        config = FaceDetectorConfig(min_face_size=min_face, max_face_size=100_000, max_faces=1)
        png = bytes(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1])
        faces = pipe.analyse(png, config, TEMPLATE_ONLY).faces
        if not faces:
            return None, None
        return np.frombuffer(faces[0].extracted.template or b"", np.float32), faces[0].detected

    def photo(name: str) -> np.ndarray:
        return decode_image((FACES / "photos" / name).read_bytes())

    photos: dict[str, list[str]] = defaultdict(list)
    for r in rows("identities.csv"):
        photos[r["identity"]].append(r["photo"])
    enrolled = {who: searched(photo(names[0]), 35)[0] for who, names in photos.items()}
    found = {who: t for who, t in enrolled.items() if t is not None}
    people = list(found)
    gallery = np.stack([found[who] for who in people])
    first, searches, unfound = Counter[str](), Counter[str](), Counter[str]()
    for who, names in photos.items():
        for name in names[1:]:
            clean = photo(name)
            _, face = searched(clean, 35)
            if face is None:
                continue
            for condition, degrade in CONDITIONS.items():
                template, _ = searched(degrade(clean, face), 16)
                searches[condition] += 1
                if template is None:
                    unfound[condition] += 1
                else:
                    first[condition] += people[int(np.argmax(gallery @ template))] == who
    for condition in CONDITIONS:
        print(f"{condition:26s} rank-1 {first[condition]:3d} of {searches[condition]:3d}  no face {unfound[condition]}")
    print(f"degraded: rank-1 {sum(first.values())} of {sum(searches.values())}")


if __name__ == "__main__":
    main()
