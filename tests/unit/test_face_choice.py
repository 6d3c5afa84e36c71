"""Which face a REST request takes (services/gateway/face_choice.py): the largest for Verify and
SpoofCheck, faceSelector and the blur gate for enrollment, and the 422 texts when none."""

from __future__ import annotations

import pytest

from services.gateway.face_choice import MIN_ENROLL_SHARPNESS, largest, pick_face
from shared.errors import Unprocessable
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
