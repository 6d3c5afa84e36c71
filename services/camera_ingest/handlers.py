"""Camera CRUD and status handlers: decode -> one statement -> event. A few lines each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec

from services.camera_ingest import cameras
from services.camera_ingest.config import new_camera, updated_camera
from services.camera_ingest.status import StatusBoard, bare_status
from shared import subjects
from shared.bus import Empty
from shared.encryption import SecretBox
from shared.errors import NotFound, ValidationFailed
from shared.messages.cameras import Camera, CameraCreateRequest, CameraEvent, CameraStatus, CameraUpdateRequest
from shared.messages.common import ById
from shared.runtime import ServiceContext
from shared.sources import SourcePolicy, SourceRefused, check_source_now, redact_url


@dataclass
class CameraHandlers:
    ctx: ServiceContext
    board: StatusBoard
    box: SecretBox
    policy: SourcePolicy

    async def _event(self, event: subjects.Event, camera_id: str, camera: Camera | None) -> None:
        # Every replica's scheduler listens: this is what starts or stops the stream at once.
        # Outside subscribers read it too: the camera comes as stored, its credentials hidden.
        await self.ctx.bus.publish_event(event.subject(camera_id), CameraEvent(camera_id, camera))

    async def check_source(self, source: str) -> None:
        """400 naming `source` when the policy refuses it (shared/sources.py); its host is
        resolved now, so that a name of a loopback or metadata address is refused at once."""
        try:
            await check_source_now(source, self.policy)
        except SourceRefused as exc:
            raise ValidationFailed(f"source: {exc}", errors={"source": [str(exc)]}) from None

    async def create(self, req: CameraCreateRequest) -> Camera:
        await self.check_source(req.source)
        camera = new_camera(uuid.uuid4(), req)
        async with self.ctx.db.acquire() as conn:
            camera = await cameras.insert(conn, camera, assign_port=req.mpe_g1_preview_port is None, box=self.box)
        await self._event(subjects.CAMERA_CREATED, str(camera.id), camera)
        return camera

    async def update(self, req: CameraUpdateRequest) -> Camera:
        async with self.ctx.db.acquire() as conn:
            stored_source = await cameras.source_of(conn, str(req.id), self.box)
        if stored_source is None:
            raise NotFound(f"Camera '{req.id}' does not exist.")
        if req.source == redact_url(stored_source):
            # The source as answered (credentials hidden) comes back unchanged: keep the stored
            # one. Only the exact hidden form does: a new host with `***@` must not inherit the
            # credentials (they would be sent to that host).
            req = msgspec.structs.replace(req, source=stored_source)
        elif req.source != stored_source:
            await self.check_source(req.source)
        async with self.ctx.db.acquire() as conn, conn.transaction():
            stored = await cameras.get(conn, str(req.id))
            if stored is None:
                raise NotFound(f"Camera '{req.id}' does not exist.")
            camera = await cameras.update(conn, updated_camera(stored, req), self.box)
        if camera is None:  # deleted between the two statements
            raise NotFound(f"Camera '{req.id}' does not exist.")
        await self._event(subjects.CAMERA_UPDATED, str(camera.id), camera)
        return camera

    async def get(self, req: ById) -> Camera:
        async with self.ctx.db.acquire() as conn:
            camera = await cameras.get(conn, req.id)
        if camera is None:
            raise NotFound(f"Camera '{req.id}' does not exist.")
        return camera

    async def list_all(self, _req: Empty) -> list[Camera]:
        async with self.ctx.db.acquire() as conn:
            return await cameras.list_all(conn)

    async def delete(self, req: ById) -> None:
        async with self.ctx.db.acquire() as conn:
            if not await cameras.delete(conn, req.id):
                raise NotFound(f"Camera '{req.id}' does not exist.")
        await self._event(subjects.CAMERA_DELETED, req.id, None)

    async def status(self, req: ById) -> CameraStatus:
        camera = await self.get(req)
        camera_id = str(camera.id)
        if not camera.enabled:
            return bare_status(camera_id, "disabled", "the camera is not enabled", camera.redetection_time)
        status = await self.board.read(camera_id)
        if status is None:
            return bare_status(camera_id, "pending", "waiting for a camera_ingest replica", camera.redetection_time)
        return status
