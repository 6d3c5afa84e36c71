"""MediaPipe FaceMesh: 468 3-D points per face, from which the 5 landmarks and the head pose
come, and a face-presence score that rejects the detector's false positives.

The mesh model reads a 192x192 crop of the face, upright: the crop is the detector's box
enlarged 1.5x (as vladmandic/human does) and rotated so that the detector's eyes are level,
which keeps the mesh accurate on tilted heads. Points are mapped back to photo pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from shared.inference import OnnxModel

SIZE = 192
ENLARGE = 1.5
MESH, FLAG = "Identity_2", "Identity_1"
# Mesh indices: outer and inner corners of each eye, nose tip, mouth corners, forehead, chin.
RIGHT_EYE = (33, 133)  # subject's right eye: image left
LEFT_EYE = (362, 263)
NOSE_TIP = 1
MOUTH = (61, 291)
FOREHEAD, CHIN = 10, 152


@dataclass(frozen=True)
class Mesh:
    points: np.ndarray  # (468, 3) photo pixels; z in the same scale, towards the camera negative
    presence: float  # 0..1

    def five(self) -> np.ndarray:
        """(5, 2): image-left eye, image-right eye, nose tip, image-left and right mouth corner."""
        p = self.points[:, :2]
        return np.stack([p[list(RIGHT_EYE)].mean(0), p[list(LEFT_EYE)].mean(0), p[NOSE_TIP], p[MOUTH[0]], p[MOUTH[1]]])


class FaceMesh(OnnxModel):
    def meshes(self, rgb: np.ndarray, faces: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[Mesh]:
        """One mesh per detection (its box x0, y0, x1, y1 and its two eyes, image-left first),
        all crops in one batch."""
        if not faces:
            return []
        crops, inverses = zip(*(_crop(rgb, box, eyes) for box, eyes in faces), strict=True)
        batch = np.stack(crops).astype(np.float32) / 255.0
        out = self.run(batch, [MESH, FLAG])
        result = []
        for raw, flag, inv in zip(out[MESH], out[FLAG], inverses, strict=True):
            pts = raw.reshape(468, 3).astype(np.float64)
            xy = np.c_[pts[:, :2], np.ones(468)] @ inv.T
            scale = float(np.hypot(inv[0, 0], inv[1, 0]))
            result.append(Mesh(np.c_[xy, pts[:, 2] * scale], float(_presence(flag))))
        return result


def _presence(flag: np.ndarray) -> float:
    value = float(np.ravel(flag)[0])
    # Some exports give a logit, others a probability: accept both.
    return value if 0.0 <= value <= 1.0 else float(1.0 / (1.0 + np.exp(-value)))


def _crop(rgb: np.ndarray, box: np.ndarray, eyes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = box
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    side = max(x1 - x0, y1 - y0) * ENLARGE
    eye_r, eye_l = eyes[0], eyes[1]
    angle = float(np.degrees(np.arctan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0])))
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, SIZE / side)
    m[:, 2] += np.asarray(SIZE / 2 - center, np.float64)
    crop = cv2.warpAffine(rgb, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, cv2.invertAffineTransform(m)
