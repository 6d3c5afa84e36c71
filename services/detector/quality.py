"""Head pose, sharpness, brightness and an overall quality, from the mesh and the chip.

Scales (documented in docs/models.md): angles in degrees; sharpness, brightness and quality
on SmartFace's 0..10000. Sharpness is the variance of the Laplacian over the inner face of
the aligned chip (so it does not depend on the photo's resolution), mapped v -> v / (v + 100):
5000 at a variance of 100, about a sharp passport photo's; brightness is the mean luma of the
inner face, 0 black .. 10000 white.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.detector.facemesh import CHIN, FOREHEAD, LEFT_EYE, RIGHT_EYE
from shared.imaging import CROP_PADDING, template_points
from shared.messages.faces import Pose


def pose(points: np.ndarray) -> Pose:
    """Yaw, pitch, roll from the mesh's 3-D points (photo pixels; MediaPipe's z grows away
    from the camera).

    The eye line gives roll (in the image plane) and yaw (its depth slope); the forehead-chin
    line gives pitch. Yaw > 0: the image-right eye is farther, the face turns towards the
    image's left (the subject's right); pitch > 0: the chin is farther, chin up; roll > 0: the
    eye line descends to the image's right.
    """
    across = points[LEFT_EYE[1]] - points[RIGHT_EYE[0]]
    down = points[CHIN] - points[FOREHEAD]
    roll = np.degrees(np.arctan2(across[1], across[0]))
    yaw = np.degrees(np.arctan2(across[2], np.hypot(across[0], across[1])))
    pitch = np.degrees(np.arctan2(down[2], np.hypot(down[0], down[1])))
    return Pose(yaw=round(float(yaw), 1), pitch=round(float(pitch), 1), roll=round(float(roll), 1))


def _inner(chip: np.ndarray) -> np.ndarray:
    """Eyes-to-mouth region of an aligned chip, gray."""
    pts = template_points(CROP_PADDING, chip.shape[0])
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    return cv2.cvtColor(chip[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)


def sharpness(chip: np.ndarray) -> int:
    v = float(cv2.Laplacian(_inner(chip), cv2.CV_64F).var())
    return round(10000 * v / (v + 100.0))


def brightness(chip: np.ndarray) -> int:
    return round(float(_inner(chip).mean()) / 255 * 10000)


def quality(confidence: int, face_pose: Pose, sharp: int) -> int:
    """Confidence, discounted for turned heads and blur: a ranking of faces for enrollment."""
    frontal = np.cos(np.radians(min(abs(face_pose.yaw), 90))) * np.cos(np.radians(min(abs(face_pose.pitch), 90)))
    return round(confidence * float(frontal) * (0.5 + 0.5 * sharp / 10000))
