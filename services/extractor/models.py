"""The extractor's models: recognition template, age and gender, passive liveness.

Each takes aligned chips (the detector's crops, see shared.imaging) and cuts its own input
from them with `chip_to_chip`; each runs all the faces of a request in one batch.
"""

from __future__ import annotations

import cv2
import numpy as np

from shared.imaging import chip_to_chip
from shared.inference import OnnxModel
from shared.messages.faces import CropGeometry

RECOGNITION_PADDING = 0.2  # measured best of 0.2/0.25/0.3 on pairs.csv (docs/models.md)
FACE_BOX_PADDING = 0.35  # about the loose face box vladmandic/human trained its heads on


def normalize(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows: the one place templates are normalised."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class Recognizer(OnnxModel):
    """dlib's ResNet-29 (face-api's port): 150x150 chip, 0..255 -> 128-d template."""

    def templates(self, chips: list[np.ndarray]) -> np.ndarray:
        """(n, 128) L2-normalised templates. Each face also runs mirrored and the two
        descriptors are summed: +0.01 of margin between same and different pairs, measured."""
        x = np.stack([chip_to_chip(c, 150, RECOGNITION_PADDING) for c in chips]).astype(np.float32)
        out = self.run(np.concatenate([x, x[:, :, ::-1]]))[self.output_names[0]]
        return normalize(out[: len(chips)] + out[len(chips) :])


class AgeGender(OnnxModel):
    """FaceRes (human-models faceres-deep): 224x224, 0..255 -> age softmax (100 bins of a
    year... scaled by 10 as human decodes it) and gender sigmoid (> 0.5 male)."""

    def predict(self, chips: list[np.ndarray]) -> list[tuple[float, float]]:
        """(age in years, probability of male) per chip."""
        x = np.stack([chip_to_chip(c, 224, FACE_BOX_PADDING) for c in chips]).astype(np.float32)
        out = self.run(x, ["age_pred/Softmax", "gender_pred/Sigmoid"])
        return [
            (_age(p), float(g[0])) for p, g in zip(out["age_pred/Softmax"], out["gender_pred/Sigmoid"], strict=True)
        ]


def _age(p: np.ndarray) -> float:
    """vladmandic/human's decoding: the arg-max bin, moved towards the heavier neighbour."""
    i = int(np.argmax(p))
    before = float(p[i - 1]) if i > 0 else 0.0
    after = float(p[i + 1]) if i + 1 < len(p) else 0.0
    value = 10 * i - 100 * before if before > after else 10 * i + 100 * after
    return round(max(0.0, value / 10), 1)


# A liveness head judges the pixels of its crop: it is not run (score None, with the reason)
# where a tenth of that crop lies outside the photo (replicated border, not the scene), or where
# the face would be enlarged more than twice to fill the model's input.
MIN_INSIDE = 0.9
MAX_UPSCALE = 2.0


class Liveness(OnnxModel):
    """A passive liveness head on a face crop of `size` with `padding`: its first output is
    'real' (as vladmandic/human reads it). Paddings: the ones that score the 65 genuine photos
    highest (antispoof 0.15: mean 0.75, liveness 0.35: mean 0.97; docs/models.md)."""

    def __init__(self, *args: object, size: int, padding: float, what: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.size = size
        self.padding = padding
        self.what = what

    def scores(self, chips: list[np.ndarray], geometry: list[CropGeometry] | None = None) -> list[Scored]:
        """(liveness 0..100, None) per chip, or (None, why) where the check cannot be made."""
        reasons: list[str | None] = [None] * len(chips)
        if geometry:
            reasons = [self.refusal(c, g) for c, g in zip(chips, geometry, strict=True)]
        run = [c for c, r in zip(chips, reasons, strict=True) if r is None]
        values: list[float] = []
        if run:
            x = np.stack([chip_to_chip(c, self.size, self.padding) for c in run]).astype(np.float32) / 255.0
            out = self.run(x)[self.output_names[0]]
            values = [round(100 * float(np.clip(v[0], 0, 1)), 1) for v in out.reshape(len(run), -1)]
        found = iter(values)
        return [(next(found), None) if r is None else (None, r) for r in reasons]

    def refusal(self, chip: np.ndarray, geometry: CropGeometry) -> str | None:
        """Why this model's crop of the face is not fit to judge, or None."""
        needed = self.size / (1 + 2 * self.padding) / MAX_UPSCALE  # the face box in the model's input
        if geometry.face_size < needed:
            return f"the face is {geometry.face_size:.0f} px wide; {self.what} liveness needs at least {needed:.0f} px"
        photo = np.zeros(chip.shape[:2], np.uint8)
        corners = np.array([[p.x, p.y] for p in geometry.photo_in_crop], np.float64)
        cv2.fillConvexPoly(photo, np.round(corners[[0, 1, 3, 2]]).astype(np.int32), 255)  # lt, rt, rb, lb
        inside = float(chip_to_chip(photo, self.size, self.padding).mean()) / 255
        if inside < MIN_INSIDE:
            return (
                f"the face is too close to the photo's border: {100 * (1 - inside):.0f}% of the {self.what} "
                "liveness crop lies outside the photo"
            )
        return None


Scored = tuple[float | None, str | None]  # (score, why there is none)
