"""SmartFace's string settings of a request checked against the values SmartFace accepts
(shared/smartface_values.py): resource ids (`faceDetectorResourceId`,
`templateGeneratorResourceId`, `spoofDetectorResourceIds`, ...), `faceValidationMode` and a
camera's save strategies. Facegate's workers each run on the execution provider their setting
and the host allow (FACEGATE_EXECUTION_PROVIDER, CUDA only where onnxruntime offers it), so every
accepted id is served by whichever replica answers (README, "Resource ids"); an unknown value, or
"none" where the operation needs that step, is a 400 that lists the accepted ones.
"""

from __future__ import annotations

from shared.messages.cameras import CameraCreateRequest, CameraUpdateRequest
from shared.messages.edge_streams import EdgeStreamCreateRequest, EdgeStreamUpdateRequest
from shared.messages.video_records import VideoRecordCreateRequest, VideoRecordUpdateRequest
from shared.smartface_values import CAMERA, EDGE_STREAM, IDENTIFICATION, check


def check_resources(**fields: str | None) -> None:
    """Each given setting of an identification request (its camelCase name or path = value) must
    be one SmartFace accepts there; None means the default."""
    for path, value in fields.items():
        check(IDENTIFICATION, path, value)


def check_camera(
    req: CameraCreateRequest | CameraUpdateRequest | VideoRecordCreateRequest | VideoRecordUpdateRequest,
) -> None:
    """A camera's (or a video record's) resource ids and save strategies must be ones SmartFace
    accepts for cameras (a record has the face fields only)."""
    for field in CAMERA:
        value = getattr(req, _snake(field), None)
        if isinstance(value, list):
            for index, item in enumerate(value):
                check(CAMERA, f"{field}[{index}]", item)
        else:
            check(CAMERA, field, value)


def check_edge_stream(req: EdgeStreamCreateRequest | EdgeStreamUpdateRequest) -> None:
    """An edge stream's resource ids and save strategies must be ones SmartFace accepts there."""
    for field in EDGE_STREAM:
        value = getattr(req, _snake(field), None)
        if isinstance(value, list):
            for index, item in enumerate(value):
                check(EDGE_STREAM, f"{field}[{index}]", item)
        else:
            check(EDGE_STREAM, field, value)


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
