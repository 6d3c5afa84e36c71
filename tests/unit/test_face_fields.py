"""An analysed face in SmartFace's fields (shared/face_fields.py): the same mapping for a member's
registration face and a camera's face, each with the fields and value types it always had."""

from __future__ import annotations

import msgspec
import pytest

from shared.analysis import NOT_EXTRACTED, Analysed
from shared.face_fields import OnFrame, attributes, female_probability, stored_fields
from shared.messages import events as ev
from shared.messages.identification import Face, FaceFeaturesConfig
from tests.unit.faces import detected, extracted

MEMBER_FIELDS = {
    "crop_left_top_x", "crop_left_top_y", "crop_right_top_x", "crop_right_top_y", "crop_left_bottom_x",
    "crop_left_bottom_y", "crop_right_bottom_x", "crop_right_bottom_y", "quality", "template_quality",
    "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "age", "gender", "face_mask_confidence",
    "face_mask_status", "face_area", "size", "face_order", "yaw_angle", "pitch_angle", "roll_angle", "sharpness",
    "brightness",
}  # fmt: skip
CAMERA_ONLY = {
    "state", "type", "faces_on_frame_count", "face_area_change", "nose_tip_confidence", "autolearn_cluster_type",
    "tinted_glasses", "heavy_frame", "glass_status",
}  # fmt: skip


@pytest.mark.parametrize(
    ("gender", "confidence", "female"),
    [("Female", 8000, 0.8), ("Male", 8000, 0.2), ("Male", None, None), (None, 9000, None)],
)
def test_gender_is_stored_as_the_probability_of_female(
    gender: str | None, confidence: int | None, female: float | None
) -> None:
    assert female_probability(extracted(gender, confidence)) == pytest.approx(female)


def test_a_members_face_keeps_what_the_detector_and_extractor_said() -> None:
    fields = msgspec.to_builtins(stored_fields(Analysed(detected(sharpness=2234), extracted())))
    assert set(fields) == MEMBER_FIELDS  # camera-only fields are left out of the stored jsonb
    assert fields["sharpness"] == 2234.0 and fields["face_mask_confidence"] == 1200.0
    assert fields["gender"] == pytest.approx(0.8)
    assert (fields["crop_right_bottom_x"], fields["left_eye_y"], fields["size"]) == (160, 80, 120.0)
    assert set(fields) <= set(Face.__struct_fields__)


def test_a_camera_face_adds_its_state_and_place_on_the_frame() -> None:
    fields = msgspec.structs.asdict(stored_fields(Analysed(detected(sharpness=2234), extracted()), OnFrame(3, -12.5)))
    assert set(fields) == MEMBER_FIELDS | CAMERA_ONLY
    assert (fields["state"], fields["type"]) == ("Extracted", "Regular")
    assert (fields["faces_on_frame_count"], fields["face_area_change"]) == (3, -12.5)
    assert fields["sharpness"] == 2234.0 and isinstance(fields["sharpness"], float)
    assert isinstance(fields["brightness"], float) and isinstance(fields["face_mask_confidence"], float)
    assert all(fields[k] is None for k in CAMERA_ONLY - {"state", "type", "faces_on_frame_count", "face_area_change"})
    assert set(fields) <= set(Face.__struct_fields__)
    assert {k for k in fields if k in ev.FaceCreatedNotification.__struct_fields__} >= {"quality", "sharpness"}


def test_a_camera_face_left_out_of_extraction_is_new_without_template_data() -> None:
    fields = stored_fields(Analysed(detected(), NOT_EXTRACTED), OnFrame(1, 0.0))
    assert fields.state == "New"
    assert fields.template_quality is None and fields.gender is None and fields.face_mask_confidence is None


def test_attributes_carry_what_was_asked_for() -> None:
    face = Analysed(detected(sharpness=2234), extracted())
    every = attributes(face, FaceFeaturesConfig())
    assert (every.age, every.gender, every.sharpness, every.face_mask_confidence) == (31.0, "Female", 2234.0, 1200.0)
    assert (every.yaw_angle, every.pitch_angle, every.roll_angle) == (1.5, -2.0, 0.5)
    assert (every.face_mask_status, every.template_quality, every.face_order) == ("NoMask", 6000, 1)
    nothing = FaceFeaturesConfig(**{f: False for f in FaceFeaturesConfig.__struct_fields__})
    bare = msgspec.structs.asdict(attributes(face, nothing))
    assert [k for k, v in bare.items() if v is None] == [
        "age", "gender", "face_mask_confidence", "nose_tip_confidence", "sharpness", "brightness", "tinted_glasses",
        "heavy_frame", "glass_status", "pitch_angle", "yaw_angle", "roll_angle",
    ]  # fmt: skip
    assert bare["face_mask_status"] == "Unknown" and bare["quality"] == 7000
    assert attributes(Analysed(detected(), NOT_EXTRACTED), nothing).template_quality == 0
