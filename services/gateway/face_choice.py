"""Which face of an image a REST request takes, or the 422 that says why none: the largest face
for the one-face verbs (Verify, SpoofCheck), and for enrollment (Register, AddNewFace) the one
faceSelector allows, sharp enough unless faceValidationMode is "none" (the same check for a
stored face linked by AddFaceFromSystem). "Largest" is the one-face rule of shared.face_choice,
which the detector applies too: the largest of the faces the detector is sure of and that are
of good quality, so that a larger false face never wins."""

from __future__ import annotations

from collections.abc import Sequence

from shared.analysis import Analysed, Analysis
from shared.errors import Unprocessable
from shared.face_choice import best_first

# faceValidationMode "predefined" (SmartFace's default for enrollment) refuses a blurred face:
# on ../shared/faces the chosen face of every photo has sharpness 6542 or more (3120 with the
# photos shrunk to 320 px), and of every photo blurred by 1% of its side 1264 or less; a
# gallery of blurred faces is where strangers pass threshold 40 (docs/models.md). "none" skips
# the check.
MIN_ENROLL_SHARPNESS = 1500


def largest(found: Analysis, what: str) -> Analysed:
    """The face the one-face rule chooses in the image `what` ("probe image"), or a 422 that
    says why none."""
    if not found.faces:
        raise Unprocessable(f"The {what}: {found.none_found()}.")
    return chosen(found.faces)


def chosen(faces: Sequence[Analysed]) -> Analysed:
    """The face of `faces` (not empty) that the one-face rule prefers."""
    best = best_first([f.detected for f in faces])[0]
    return next(f for f in faces if f.detected is best)


def pick_face(found: Analysis, index: int, selector: str | None, validation: str | None = "predefined") -> Analysed:
    """The one face enrollment photo `index` gives, or a 422 that names the photo and the reason.

    faceSelector singleFaceOnly (the default) needs exactly one face, largestFace takes the one
    the one-face rule chooses; faceValidationMode predefined (the default) refuses a blurred
    face, none does not."""
    faces = found.faces
    if not faces:
        raise Unprocessable(f"Image {index}: {found.none_found()}.")
    if len(faces) > 1 and selector in (None, "singleFaceOnly"):
        raise Unprocessable(
            f"Image {index}: {len(faces)} faces found where faceSelector singleFaceOnly needs exactly one "
            "(send faceSelector largestFace to take the largest)."
        )
    face = chosen(faces)
    check_sharp(face.detected.sharpness, validation, f"Image {index}")
    return face


def check_sharp(sharpness: float, validation: str | None, what: str) -> None:
    """faceValidationMode predefined (the default) refuses a face too blurred to enroll: a 422
    that names `what` ("Image 0", "Face <id>"); none lets any face pass."""
    if (validation or "predefined").lower() != "none" and sharpness < MIN_ENROLL_SHARPNESS:
        raise Unprocessable(
            f"{what}: the face is too blurred to enroll (sharpness {sharpness:g} of 10000, at least "
            f"{MIN_ENROLL_SHARPNESS} needed; faceValidationMode none skips this check)."
        )
