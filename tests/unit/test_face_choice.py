"""Which face a REST request takes (services/gateway/face_choice.py): the one-face rule's choice
(shared/face_choice.py) for Verify and SpoofCheck, faceSelector and the blur gate for
enrollment, and the 422 texts when none."""

from __future__ import annotations

import pytest

from services.gateway.face_choice import MIN_ENROLL_SHARPNESS, largest, pick_face
from shared.errors import Unprocessable
from shared.face_choice import GOOD_QUALITY, SURE_CONFIDENCE, best_first, preference
from tests.unit.faces import analysis, detected

TURNED_AWAY = ["a face 312 px wide, under minFaceSize 400", "a face 90 px wide, under minFaceSize 400"]


def test_the_largest_face_is_the_first() -> None:
    found = analysis(detected(1, size=200), detected(2, size=100))
    assert largest(found, "probe image") is found.faces[0]


def test_no_face_says_so_and_names_the_image() -> None:
    with pytest.raises(Unprocessable) as error:
        largest(analysis(), "probe image")
    assert error.value.detail == "The probe image: no face found."


def test_faces_turned_away_by_the_detector_config_say_why() -> None:
    with pytest.raises(Unprocessable) as error:
        largest(analysis(rejected=TURNED_AWAY), "reference image")
    assert error.value.detail == (
        "The reference image: no face passes faceDetectorConfig: found a face 312 px wide, under minFaceSize 400; "
        "a face 90 px wide, under minFaceSize 400."
    )
    with pytest.raises(Unprocessable) as error:
        pick_face(analysis(rejected=TURNED_AWAY[:1]), 2, None)
    assert error.value.detail == (
        "Image 2: no face passes faceDetectorConfig: found a face 312 px wide, under minFaceSize 400."
    )


def test_enrollment_without_a_face_names_the_photo() -> None:
    with pytest.raises(Unprocessable) as error:
        pick_face(analysis(), 0, "largestFace")
    assert error.value.detail == "Image 0: no face found."


@pytest.mark.parametrize("selector", [None, "singleFaceOnly"])
def test_single_face_only_refuses_a_photo_of_several(selector: str | None) -> None:
    found = analysis(detected(1, size=200), detected(2, size=100), detected(3, size=50))
    with pytest.raises(Unprocessable) as error:
        pick_face(found, 1, selector)
    assert error.value.detail == (
        "Image 1: 3 faces found where faceSelector singleFaceOnly needs exactly one "
        "(send faceSelector largestFace to take the largest)."
    )
    one = analysis(detected(1))
    assert pick_face(one, 1, selector) is one.faces[0]


def test_largest_face_takes_the_largest_of_several() -> None:
    found = analysis(detected(1, size=200), detected(2, size=100))
    assert pick_face(found, 0, "largestFace") is found.faces[0]


def test_the_blur_gate_refuses_a_face_under_the_minimum_sharpness() -> None:
    sharp_enough = analysis(detected(sharpness=MIN_ENROLL_SHARPNESS))
    assert pick_face(sharp_enough, 0, None) is sharp_enough.faces[0]
    for validation in ("predefined", "Predefined", None):
        with pytest.raises(Unprocessable) as error:
            pick_face(analysis(detected(sharpness=MIN_ENROLL_SHARPNESS - 1)), 3, None, validation)
        assert error.value.detail == (
            "Image 3: the face is too blurred to enroll (sharpness 1499 of 10000, at least 1500 needed; "
            "faceValidationMode none skips this check)."
        )


def test_the_blur_gate_judges_the_largest_face_only() -> None:
    found = analysis(detected(1, size=200, sharpness=3000), detected(2, size=100, sharpness=10))
    assert pick_face(found, 0, "largestFace") is found.faces[0]
    with pytest.raises(Unprocessable, match="too blurred"):
        pick_face(analysis(detected(1, sharpness=10), detected(2, sharpness=9000)), 0, "largestFace")


@pytest.mark.parametrize("validation", ["none", "None", "NONE"])
def test_validation_none_skips_the_blur_gate(validation: str) -> None:
    blurred = analysis(detected(sharpness=0))
    assert pick_face(blurred, 0, None, validation) is blurred.faces[0]


# The one-face rule (shared.face_choice): a false face may be larger, it never wins.


def test_a_larger_face_the_detector_is_not_sure_of_loses() -> None:
    real = detected(2, size=199, confidence=9950, quality=8400)
    false = detected(1, size=200, confidence=SURE_CONFIDENCE - 1, quality=8000)
    found = analysis(false, real)
    assert largest(found, "probe image").detected is real
    assert pick_face(found, 0, "largestFace").detected is real
    assert best_first([false, real]) == [real, false]


def test_a_larger_face_of_poor_quality_loses() -> None:
    """The issue's Verify: a false face 1 px larger than the real one, quality 2520 to 8385."""
    real = detected(2, size=199, confidence=9900, quality=8385)
    false = detected(1, size=200, confidence=9900, quality=2520)
    assert largest(analysis(false, real), "reference image").detected is real


def test_among_sure_faces_of_good_quality_the_larger_wins() -> None:
    near = detected(1, size=200, confidence=SURE_CONFIDENCE, quality=GOOD_QUALITY)
    far = detected(2, size=100, confidence=10000, quality=9800)
    assert largest(analysis(far, near), "probe image").detected is near
    assert preference(near) > preference(far)


def test_equal_size_falls_to_quality_then_confidence() -> None:
    a = detected(1, confidence=9950, quality=8000)
    b = detected(2, confidence=9990, quality=8100)
    c = detected(3, confidence=9999, quality=8100)
    assert best_first([a, b, c]) == [c, b, a]


def test_the_blur_gate_judges_the_chosen_face() -> None:
    false = detected(1, size=300, confidence=6000, quality=3000, sharpness=9000)
    real = detected(2, size=100, sharpness=MIN_ENROLL_SHARPNESS - 1)
    with pytest.raises(Unprocessable, match="too blurred"):
        pick_face(analysis(false, real), 0, "largestFace")
