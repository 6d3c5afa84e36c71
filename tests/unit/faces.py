"""Constructed detector and extractor answers for the rule tests (no models, no cluster)."""

from __future__ import annotations

from shared.analysis import Analysed, Analysis
from shared.messages import faces as wire


def detected(
    order: int = 1,
    *,
    sharpness: int = 5000,
    size: float = 120.0,
    crop: bytes = b"crop",
    confidence: int = 9900,
    quality: int = 7000,
) -> wire.DetectedFace:
    """A face of `size` px at (100, 100), `order` in its image."""
    corners = (wire.Point(x=40, y=40), wire.Point(x=160, y=40), wire.Point(x=40, y=160), wire.Point(x=160, y=160))
    return wire.DetectedFace(
        face_order=order, box=(50.0, 50.0, 150.0, 150.0), crop_corners=corners,
        landmarks=wire.Landmarks(
            left_eye=wire.Point(x=70, y=80), right_eye=wire.Point(x=130, y=80), nose_tip=wire.Point(x=100, y=110),
            mouth_left=wire.Point(x=75, y=135), mouth_right=wire.Point(x=125, y=135),
        ),
        confidence=confidence, face_size=size, face_area=size * size, pose=wire.Pose(yaw=1.5, pitch=-2.0, roll=0.5),
        sharpness=sharpness, brightness=4000, quality=quality, crop=crop, photo_in_crop=corners,
    )  # fmt: skip


def extracted(gender: str | None = "Female", confidence: int | None = 8000) -> wire.ExtractedFace:
    """A face the extractor answered for: a template and every attribute."""
    return wire.ExtractedFace(
        template=b"\x00\x00\x80\x3f" + b"\x00" * 508, template_model="faceapi-resnet@1.7.15", template_quality=6000,
        age=31.0, gender=gender, gender_confidence=confidence,  # type: ignore[arg-type]
        face_mask_status="NoMask", face_mask_confidence=1200,
    )  # fmt: skip


def analysis(*faces: wire.DetectedFace, rejected: list[str] | None = None) -> Analysis:
    """An image with `faces`, each extracted."""
    return Analysis(width=640, height=480, faces=[Analysed(d, extracted()) for d in faces], rejected=rejected or [])
