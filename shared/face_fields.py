"""An analysed face in SmartFace's fields: the REST answers' `FaceAttributes`, and the `Face`
fields kept in Postgres (jsonb) that a member's or a camera's face records and events carry.

The one mapping from what the detector and the extractor said to SmartFace's names and scales:
quality, sharpness and brightness 0..10000 as the detector gives them; angles in degrees;
`gender` is "Male"/"Female" in `FaceAttributes` and in stored faces a number, the probability
that the face is female (0 male .. 1 female), as the README says.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from shared.analysis import Analysed
from shared.messages import faces as wire
from shared.messages.identification import FaceAttributes, FaceFeaturesConfig
from shared.messages.setup import FeaturesConfig


class OnFrame(NamedTuple):
    """Where a camera face stands on its frame: how many faces the frame has, and how much its
    face area changed since the tracklet's previous face (0 for the first)."""

    faces_on_frame: int
    area_change: float


def corners(detected: wire.DetectedFace) -> dict[str, float]:
    """The crop's four corners (SmartFace's cropLeftTopX...) in photo pixels."""
    lt, rt, lb, rb = detected.crop_corners
    return {
        "crop_left_top_x": lt.x, "crop_left_top_y": lt.y, "crop_right_top_x": rt.x, "crop_right_top_y": rt.y,
        "crop_left_bottom_x": lb.x, "crop_left_bottom_y": lb.y,
        "crop_right_bottom_x": rb.x, "crop_right_bottom_y": rb.y,
    }  # fmt: skip


def female_probability(extracted: wire.ExtractedFace) -> float | None:
    """Stored faces carry gender as a number: 0 male .. 1 female (None when not estimated)."""
    if extracted.gender is None or extracted.gender_confidence is None:
        return None
    confidence = extracted.gender_confidence / 10000
    return confidence if extracted.gender == "Female" else 1 - confidence


def attributes(face: Analysed, asked: FaceFeaturesConfig) -> FaceAttributes:
    """One face with the attributes `asked` for (the others null), as Search, Verify and Detect
    answer it."""
    d, e = face.detected, face.extracted
    marks, pose = d.landmarks, d.pose
    return FaceAttributes(
        **corners(d),
        quality=d.quality,
        left_eye_x=marks.left_eye.x, left_eye_y=marks.left_eye.y,
        right_eye_x=marks.right_eye.x, right_eye_y=marks.right_eye.y,
        age=e.age if asked.age else None,
        gender=e.gender if asked.gender else None,
        face_size=d.face_size,
        face_mask_confidence=float(e.face_mask_confidence)
        if asked.face_mask and e.face_mask_confidence is not None else None,
        nose_tip_confidence=None,  # no model fills it (docs/models.md)
        face_mask_status=e.face_mask_status if asked.face_mask else "Unknown",
        sharpness=float(d.sharpness) if asked.sharpness else None,
        brightness=float(d.brightness) if asked.brightness else None,
        tinted_glasses=None, heavy_frame=None, glass_status=None,  # no glasses model (docs/models.md)
        pitch_angle=pose.pitch if asked.pitch_angle else None,
        yaw_angle=pose.yaw if asked.yaw_angle else None,
        roll_angle=pose.roll if asked.roll_angle else None,
        face_area=d.face_area,
        template_quality=e.template_quality or 0,
        face_order=d.face_order,
    )  # fmt: skip


# Setup Features switch -> the stored fields it fills (nose tip and glasses have no model).
SWITCHED: dict[str, tuple[str, ...]] = {
    "age": ("age",), "gender": ("gender",), "face_mask": ("face_mask_confidence", "face_mask_status"),
    "yaw_angle": ("yaw_angle",), "pitch_angle": ("pitch_angle",), "roll_angle": ("roll_angle",),
    "sharpness": ("sharpness",), "brightness": ("brightness",),
}  # fmt: skip


def switched_off(fields: wire.FaceFields, setup: FeaturesConfig) -> wire.FaceFields:
    """`fields` with what the Setup's Features switch off left empty (null; mask status Unknown)."""
    off: dict[str, Any] = {}
    for switch, names in SWITCHED.items():
        if not getattr(setup, switch):
            off.update({name: "Unknown" if name == "face_mask_status" else None for name in names})
    return msgspec.structs.replace(fields, **off) if off else fields


def stored_fields(
    face: Analysed, on_frame: OnFrame | None = None, setup: FeaturesConfig | None = None
) -> wire.FaceFields:
    """The `Face` fields a stored face keeps (jsonb). A camera face (`on_frame` given) also
    carries its state (New when left out of extraction), type and its place on the frame; what
    the Setup's Features (`setup`) switch off stays empty."""
    d, e = face.detected, face.extracted
    marks, pose = d.landmarks, d.pose
    lt, rt, lb, rb = d.crop_corners
    fields = wire.FaceFields(
        crop_left_top_x=lt.x, crop_left_top_y=lt.y, crop_right_top_x=rt.x, crop_right_top_y=rt.y,
        crop_left_bottom_x=lb.x, crop_left_bottom_y=lb.y, crop_right_bottom_x=rb.x, crop_right_bottom_y=rb.y,
        quality=d.quality, template_quality=e.template_quality,
        left_eye_x=marks.left_eye.x, left_eye_y=marks.left_eye.y,
        right_eye_x=marks.right_eye.x, right_eye_y=marks.right_eye.y,
        age=e.age, gender=female_probability(e),
        face_mask_confidence=float(e.face_mask_confidence) if e.face_mask_confidence is not None else None,
        face_mask_status=e.face_mask_status, face_area=d.face_area, size=d.face_size, face_order=d.face_order,
        yaw_angle=pose.yaw, pitch_angle=pose.pitch, roll_angle=pose.roll,
        sharpness=float(d.sharpness), brightness=float(d.brightness),
        state=None if on_frame is None else ("Extracted" if face.was_extracted else "New"),
        type=None if on_frame is None else "Regular",
        faces_on_frame_count=None if on_frame is None else on_frame.faces_on_frame,
        face_area_change=None if on_frame is None else on_frame.area_change,
    )  # fmt: skip
    return fields if setup is None else switched_off(fields, setup)
