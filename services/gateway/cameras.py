"""/api/v1/Cameras: routed to camera_ingest, which owns the cameras and runs their streams."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import Parameter

from services.gateway.openapi import FACEGATE_TAG
from services.gateway.problems import responses
from services.gateway.resources import check_camera
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.cameras import (
    Camera,
    CameraCreateRequest,
    CameraStatus,
    CameraUpdateRequest,
)
from shared.messages.common import ById

# SmartFace types camera ids as GUIDs (format uuid): one that is not a GUID is refused (a 404 where
# SmartFace declares no 400, services/gateway/statuses.py); a GUID that names no camera is 404.
_GUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
CameraId = Annotated[
    str, Parameter(pattern=_GUID, max_length=40, schema_extra={"format": "uuid"}, description="id of the camera")
]


class CameraController(Controller):
    path = "/api/v1/Cameras"
    tags = ["Camera"]

    @get("/", responses=responses())
    async def list_cameras(self, bus: Bus) -> list[Camera]:
        """Every camera (a plain array, as SmartFace answers)."""
        return await bus.request(subjects.CAMERA_LIST, Empty(), list[Camera])

    @post("/", status_code=201, responses=responses(409, 413))
    async def create_camera(self, data: CameraCreateRequest, bus: Bus) -> Camera:
        """Create a camera under a generated GUID; if `enabled`, a camera_ingest replica starts
        reading its stream within seconds."""
        check_camera(data)
        return await bus.request(subjects.CAMERA_CREATE, data, Camera)

    @put("/", status_code=200, responses=responses(404, 409, 413))
    async def update_camera(self, data: CameraUpdateRequest, bus: Bus) -> Camera:
        """Replace the camera `id`; enabling, disabling or a new source takes effect at once."""
        check_camera(data)
        return await bus.request(subjects.CAMERA_UPDATE, data, Camera)

    @get("/{id:str}", responses=responses(404))
    async def get_camera(self, id: CameraId, bus: Bus) -> Camera:
        """One camera."""
        return await bus.request(subjects.CAMERA_GET, ById(id=id), Camera)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_camera(self, id: CameraId, bus: Bus) -> None:
        """Delete a camera; its stream stops."""
        await bus.request(subjects.CAMERA_DELETE, ById(id=id), Empty)

    @get("/{id:str}/Status", tags=[FACEGATE_TAG], responses=responses(404))
    async def camera_status(self, id: CameraId, bus: Bus) -> CameraStatus:
        """Facegate addition: what camera_ingest is doing with the camera (state, reason, owner
        replica, frames decoded and sampled). SmartFace's Camera has no status field."""
        return await bus.request(subjects.CAMERA_STATUS, ById(id=id), CameraStatus)
