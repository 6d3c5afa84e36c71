"""An edge stream's full configuration from SmartFace's create and update requests, as for
cameras (config.py): a request laid over SmartFace's defaults (create) or over the stored stream
(update), nested objects field by field; then the checks a field's own range cannot make."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from services.camera_ingest.config import overlay
from shared.errors import ValidationFailed
from shared.messages.edge_streams import EdgeStream, EdgeStreamCreateRequest, EdgeStreamUpdateRequest


def _tracking(threshold: float) -> dict[str, Any]:
    return {"outputThreshold": threshold, "inputThreshold": threshold, "stability": 85, "maxFramesLost": 25}


def _crop(max_size: float, extension: float) -> dict[str, Any]:
    return {"enable": True, "sizeExtension": extension, "maxSize": max_size, "imageFormat": "Jpeg", "imageQuality": 90}


# SmartFace's defaults (its OpenAPI document; an enum without a default takes its usual value).
SETTINGS_DEFAULTS: dict[str, Any] = {
    "visualCodeDetection": {
        "enable": False, "maxDetections": 10, "boundingBoxExtension": 1.25, "tracking": _tracking(6000),
        "crop": _crop(100, 1.25),
    },
    "palmDetection": {
        "enable": False, "maxDetections": 3, "boundingBoxExtension": 1.25, "tracking": _tracking(6000),
        "crop": _crop(288, 1.25),
    },
    "pedestrianDetection": {"enable": False, "maxDetections": 20, "tracking": _tracking(5000), "crop": _crop(100, 1)},
    "faceDetection": {
        "enable": True, "maxDetections": 10, "minFaceSize": 20, "maxFaceSize": 200, "orderBy": "FaceSize",
        "tracking": {"outputThreshold": 1500, "inputThreshold": 1000, "stability": 85, "maxFramesLost": 25},
        "crop": _crop(50, 2),
    },
    "faceExtraction": {"enable": True},
    "faceLivenessPassive": {"enable": False, "strategy": "OnEachExtractedFace", "conditions": []},
    "faceIdentification": {"enable": True, "threshold": 40},
    "messaging": {
        "enable": True, "strategy": "OnNewAndInterval", "interval": 250, "allowEmptyMessages": False,
        "identifiedOnly": False,
    },
    "fullFrame": {"imageWidth": None, "imageHeight": None, "imageFormat": "Jpeg", "imageQuality": 90},
}  # fmt: skip

DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "saveFrameImageData": False,
    "templateGeneratorResourceId": "cpu",
    "faceSaveStrategy": "FirstFace, BestFace",
    "pedestrianSaveStrategy": "Balanced",
    "objectSaveStrategy": "Balanced",
    "spoofDetectorResourceIds": ["none"],
    "palmSpoofDetectorResourceIds": ["none"],
    "spoofDetectorConfig": {
        "distantLivenessScoreThreshold": 90, "nearbyLivenessScoreThreshold": 90,
        "distantLivenessConditions": "default", "nearbyLivenessConditions": "default",
    },
    "palmSpoofDetectorConfig": {"livenessScoreThreshold": 85},
    "settings": SETTINGS_DEFAULTS,
}  # fmt: skip


def _given(req: EdgeStreamCreateRequest | EdgeStreamUpdateRequest) -> tuple[dict[str, Any], bytes | None]:
    """The request's fields without its licence (never answered), and the licence when given."""
    given = msgspec.to_builtins(req)
    if isinstance(given.get("settings"), dict):
        given["settings"].pop("license", None)
    settings = req.settings
    return given, settings.license.data if settings and settings.license else None


def new_edge_stream(stream_id: uuid.UUID, req: EdgeStreamCreateRequest) -> tuple[EdgeStream, bytes | None]:
    """The edge stream a create request describes, every field filled, and its licence."""
    given, license_data = _given(req)
    fields = overlay(DEFAULTS, given)
    fields["id"] = str(stream_id)
    stream = msgspec.convert(fields, EdgeStream)
    check(stream)
    return stream, license_data


def updated_edge_stream(stored: EdgeStream, req: EdgeStreamUpdateRequest) -> tuple[EdgeStream, bytes | None]:
    """The stored stream with the update applied (what the request leaves out is kept), and the
    licence when the update gives one (None: keep the stored one)."""
    given, license_data = _given(req)
    fields = overlay(msgspec.to_builtins(stored), given)
    stream = msgspec.convert(fields, EdgeStream)
    check(stream)
    return stream, license_data


def check(stream: EdgeStream) -> None:
    """What the fields' own ranges cannot say: a face size range must not be empty."""
    face = stream.settings.face_detection
    if face.min_face_size > face.max_face_size:
        path = "settings.faceDetection.minFaceSize"
        why = f"minFaceSize {face.min_face_size:g} is larger than maxFaceSize {face.max_face_size:g}"
        raise ValidationFailed(f"{path}: {why}.", errors={path: [why]})
