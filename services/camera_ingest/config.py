"""A camera's full configuration from SmartFace's create and update requests.

SmartFace lets a client leave out (or send null for) any optional field, nested ones included,
and answers every field. Here a request is laid over the defaults (create) or over the stored
camera (update), field by field, so a partial nested object keeps the rest of its values.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from shared.messages.cameras import (
    DEFAULT_FACE_SAVE_STRATEGY,
    DEFAULT_TRACK_MOTION,
    Camera,
    CameraCreateRequest,
    CameraUpdateRequest,
)

# SmartFace's defaults (its OpenAPI document), in the camelCase shape the camera is stored in.
DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "faceDetectorConfig": {"minFaceSize": 35, "maxFaceSize": 600, "maxFaces": 20, "confidenceThreshold": 450},
    "pedestrianDetectorConfig": {
        "minPedestrianSize": 80, "maxPedestrianSize": 2000, "maxPedestrians": 20, "confidenceThreshold": 2500,
    },
    "palmDetectorConfig": {"minPalmSize": 200, "maxPalmSize": 1200, "maxPalms": 1, "confidenceThreshold": 5000},
    "faceDetectorResourceId": "cpu",
    "templateGeneratorResourceId": "cpu",
    "pedestrianDetectorResourceId": "none",
    "pedestrianExtractorResourceId": "none",
    "palmDetectorResourceId": "none",
    "palmTemplateGeneratorResourceId": "cpu",
    "redetectionTime": 500,
    "templateGenerationTime": 500,
    "trackMotionOptimization": DEFAULT_TRACK_MOTION,
    "trackSpeedAccuracyMode": "accurate",
    "faceSaveStrategy": DEFAULT_FACE_SAVE_STRATEGY,
    "pedestrianSaveStrategy": "Best",
    "objectSaveStrategy": "Best",
    "maskImagePath": None,
    "saveFrameImageData": True,
    "imageQuality": 90,
    "mpeG1PreviewEnabled": True,
    "mpeG1PreviewPort": 0,  # the repository assigns a free one when the request has none
    "mpeG1VideoBitrate": 450000,
    "previewMaxDimension": 640,
    "serviceName": "",
    "spoofDetectorResourceIds": ["none"],
    "palmSpoofDetectorResourceIds": ["none"],
    "spoofDetectorConfig": {
        "externalScoreThreshold": 0, "distantLivenessScoreThreshold": 90, "nearbyLivenessScoreThreshold": 90,
        "distantLivenessConditions": "default", "nearbyLivenessConditions": "default",
    },
    "palmSpoofDetectorConfig": {"livenessScoreThreshold": 85},
    "previewAttributesConfig": {
        "textFontSize": 12, "order": False, "size": False, "quality": False, "yawAngle": False,
        "pitchAngle": False, "rollAngle": False, "watchlistMemberId": False, "watchlistMemberName": True,
        "watchlistName": False, "matchingScore": False, "age": True, "gender": True, "templateQuality": False,
        "faceMaskStatus": False, "faceMaskConfidence": False, "sharpness": False, "brightness": False,
        "tintedGlasses": False, "heavyFrame": False, "glassStatus": False,
    },
    "objectDetectorResourceId": "none",
    "objectDetectorConfig": {
        "minObjectSize": 40, "maxObjectSize": 2000, "maxObjects": 20, "confidenceThreshold": 5000,
        "objectTypesConfiguration": {},
    },
}


def overlay(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` over `base`: None means "keep", objects merge field by field, lists replace."""
    out = dict(base)
    for key, value in given.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


def new_camera(camera_id: uuid.UUID, req: CameraCreateRequest) -> Camera:
    """The camera a create request describes, every field filled."""
    fields = overlay(DEFAULTS, msgspec.to_builtins(req))
    fields["id"] = str(camera_id)
    return msgspec.convert(fields, Camera)


def updated_camera(stored: Camera, req: CameraUpdateRequest) -> Camera:
    """The stored camera with the update applied (fields the request leaves out are kept)."""
    given = msgspec.to_builtins(req)
    fields = overlay(msgspec.to_builtins(stored), given)
    # Required but nullable in the contract: an explicit null clears it.
    fields["maskImagePath"] = given.get("maskImagePath")
    return msgspec.convert(fields, Camera)


def with_preview_port(camera: Camera, port: int) -> Camera:
    return msgspec.structs.replace(camera, mpe_g1_preview_port=port)
