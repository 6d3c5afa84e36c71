"""The extractor's models: recognition template, age and gender, passive liveness.

Each takes aligned chips (the detector's crops, see shared.imaging) and cuts its own input
from them with `chip_to_chip`; each runs all the faces of a request in one batch.
"""

from __future__ import annotations

import numpy as np

from shared.imaging import chip_to_chip
from shared.inference import OnnxModel

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


class Liveness(OnnxModel):
    """A passive liveness head on a face crop of `size` with `padding`: its first output is
    'real' (as vladmandic/human reads it). Paddings: the ones that score the 65 genuine photos
    highest (antispoof 0.15: mean 0.75, liveness 0.35: mean 0.97; docs/models.md)."""

    def __init__(self, *args: object, size: int, padding: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.size = size
        self.padding = padding

    def scores(self, chips: list[np.ndarray]) -> list[float]:
        """Liveness 0..100 per chip."""
        x = np.stack([chip_to_chip(c, self.size, self.padding) for c in chips]).astype(np.float32) / 255.0
        out = self.run(x)[self.output_names[0]]
        return [round(100 * float(np.clip(v[0], 0, 1)), 1) for v in out.reshape(len(chips), -1)]
