"""Which face of an image a REST request takes, or the 422 that says why none: the largest face
for the one-face verbs (Verify, SpoofCheck), and for enrollment (Register, AddNewFace) the one
faceSelector allows, sharp enough unless faceValidationMode is "none" (the same check for a
stored face linked by AddFaceFromSystem)."""

from __future__ import annotations

from shared.analysis import Analysed, Analysis
from shared.errors import Unprocessable

# faceValidationMode "predefined" (SmartFace's default for enrollment) refuses a blurred face:
# on ../shared/faces the largest face of every photo has sharpness 2234 or more, and of every
# photo blurred by 1% of its side 1296 or less; a gallery of blurred faces is where strangers
# pass threshold 40 (docs/models.md). "none" skips the check.
MIN_ENROLL_SHARPNESS = 1500


def largest(found: Analysis, what: str) -> Analysed:
    """The largest face of the image `what` ("probe image"), or a 422 that says why none."""
    if not found.faces:
        raise Unprocessable(f"The {what}: {found.none_found()}.")
    return found.faces[0]


def pick_face(found: Analysis, index: int, selector: str | None, validation: str | None = "predefined") -> Analysed:
    """The one face enrollment photo `index` gives, or a 422 that names the photo and the reason.

    faceSelector singleFaceOnly (the default) needs exactly one face, largestFace takes the
    largest; faceValidationMode predefined (the default) refuses a blurred face, none does not."""
    faces = found.faces
    if not faces:
        raise Unprocessable(f"Image {index}: {found.none_found()}.")
    if len(faces) > 1 and selector in (None, "singleFaceOnly"):
        raise Unprocessable(
            f"Image {index}: {len(faces)} faces found where faceSelector singleFaceOnly needs exactly one "
            "(send faceSelector largestFace to take the largest)."
        )
    check_sharp(faces[0].detected.sharpness, validation, f"Image {index}")
    return faces[0]


def check_sharp(sharpness: float, validation: str | None, what: str) -> None:
    """faceValidationMode predefined (the default) refuses a face too blurred to enroll: a 422
    that names `what` ("Image 0", "Face <id>"); none lets any face pass."""
    if (validation or "predefined").lower() != "none" and sharpness < MIN_ENROLL_SHARPNESS:
        raise Unprocessable(
            f"{what}: the face is too blurred to enroll (sharpness {sharpness:g} of 10000, at least "
            f"{MIN_ENROLL_SHARPNESS} needed; faceValidationMode none skips this check)."
        )
