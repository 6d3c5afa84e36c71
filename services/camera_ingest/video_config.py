"""A video record's analysis settings from SmartFace's create and update requests, laid field by
field over the defaults (create) or the stored settings (update), as cameras' are (config.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from services.camera_ingest.config import overlay
from shared.messages.cameras import DEFAULT_FACE_SAVE_STRATEGY, DEFAULT_TRACK_MOTION
from shared.messages.video_records import VideoRecordCreateRequest, VideoRecordSettings, VideoRecordUpdateRequest

# A camera's defaults where a record has the same field (SmartFace documents none for records);
# matching is on, with the best candidate of each face.
DEFAULTS: dict[str, Any] = {
    "faceDetectorConfig": {"minFaceSize": 35, "maxFaceSize": 600, "maxFaces": 20, "confidenceThreshold": 450},
    "faceDetectorResourceId": "cpu",
    "templateGeneratorResourceId": "cpu",
    "redetectionTime": 500,
    "templateGenerationTime": 500,
    "trackMotionOptimization": DEFAULT_TRACK_MOTION,
    "faceSaveStrategy": DEFAULT_FACE_SAVE_STRATEGY,
    "maskImagePath": None,
    "saveFrameImageData": True,
    "imageQuality": 90,
    "mpeG1PreviewEnabled": False,
    "mpeG1PreviewPort": 0,
    "mpeG1VideoBitrate": 450000,
    "previewMaxDimension": 640,
    "matchingConfig": {"matchDetectedFaces": True, "maxResultsCount": 1},
    "description": None,
}
# Fields of the requests that are not settings (columns of their own).
NOT_SETTINGS = ("id", "name", "source", "enabled", "recordedAt")


def _settings(fields: dict[str, Any]) -> VideoRecordSettings:
    return msgspec.convert({k: v for k, v in fields.items() if k not in NOT_SETTINGS}, VideoRecordSettings)


def new_settings(req: VideoRecordCreateRequest) -> VideoRecordSettings:
    """The settings a create request describes, every field filled."""
    return _settings(overlay(DEFAULTS, msgspec.to_builtins(req)))


def updated_settings(stored: VideoRecordSettings, req: VideoRecordUpdateRequest) -> VideoRecordSettings:
    """The stored settings with the update applied (optional fields left out are kept)."""
    given = msgspec.to_builtins(req)
    fields = overlay(msgspec.to_builtins(stored), given)
    fields["maskImagePath"] = given.get("maskImagePath")  # required but nullable: null clears it
    return _settings(fields)
