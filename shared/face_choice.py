"""The one-face rule: which face of a photo a request that wants one face takes (Verify,
SpoofCheck, largest-face enrollment, AddNewFace), and which faces a `maxFaces` limit keeps.

A false detection (lettering, a logo, half a face) can be larger than the real face, so size
comes last: a face the detector is sure of comes before one it is not, then a face of good
quality (frontal and sharp enough to recognise) before a poor one, and only then the larger
face, as SmartFace's "largest face" means among real ones. The detector applies the rule
before cutting its answer to `maxFaces`, the gateway when it takes one face of an answer, so
both choose the same face.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.messages.faces import DetectedFace

# 0..10000. The shipped detector's real faces score 9000 and more, except very small, blurred
# or turned ones; its false faces on the detection benchmark all score under 9000
# (docs/models.md).
SURE_CONFIDENCE = 9000
# Quality = confidence x cos(yaw) x cos(pitch) x (0.5 + sharpness / 20000): a sure, frontal,
# sharp face has over 8000; 4000 is still a face turned by 45 degrees or blurred.
GOOD_QUALITY = 4000


def preference(face: DetectedFace) -> tuple[bool, bool, float, int, int]:
    """Sort key of the rule, larger is better: sure, good quality, larger, then quality."""
    return (
        face.confidence >= SURE_CONFIDENCE,
        face.quality >= GOOD_QUALITY,
        face.face_size,
        face.quality,
        face.confidence,
    )


def best_first(faces: Sequence[DetectedFace]) -> list[DetectedFace]:
    """`faces` in the rule's order, the chosen one first."""
    return sorted(faces, key=preference, reverse=True)
