"""What cameras saw, for the API: faces (the identification API's `Face`), frames, tracklets and
images. Decode -> one statement -> encode, a few lines each."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from services.camera_ingest import records
from services.camera_ingest.image_store import ImageStore
from shared import blobs
from shared.bus import Empty
from shared.errors import NotFound
from shared.imaging import resize_jpeg
from shared.messages.common import ById, Page
from shared.messages.faces import FaceFields
from shared.messages.identification import Face
from shared.messages.seen import (
    Frame,
    ImageDataStorageConfig,
    ImageQuery,
    ImageReply,
    SeenQuery,
    StoredFace,
    Tracklet,
)
from shared.runtime import ServiceContext


@dataclass
class SeenHandlers:
    ctx: ServiceContext
    images: ImageStore

    async def _camera_known(self, q: SeenQuery) -> None:
        if q.camera_id is None:
            return
        async with self.ctx.db.acquire() as conn:
            if not await records.camera_exists(conn, q.camera_id):
                raise NotFound(f"Camera '{q.camera_id}' does not exist.")

    async def list_faces(self, q: SeenQuery) -> Page[Face]:
        async with self.ctx.db.acquire() as conn:
            return await records.list_faces(conn, q)

    async def get_face(self, req: ById) -> Face:
        async with self.ctx.db.acquire() as conn:
            face = await records.get_face(conn, req.id)
        if face is None:
            raise NotFound(f"Face '{req.id}' does not exist.")
        return face

    async def stored_face(self, req: ById) -> StoredFace:
        """A stored face with its template and crop (AddFaceFromSystem links it to a member)."""
        async with self.ctx.db.acquire() as conn:
            row = await records.get_face_template(conn, req.id)
        if row is None:
            raise NotFound(f"Face '{req.id}' does not exist.")
        crop = await self.images.load(str(row["image_id"])) if row["image_id"] is not None else None
        template = bytes(row["template"]) if row["template"] is not None else None
        face = msgspec.convert(row["face"], FaceFields)
        return StoredFace(
            id=req.id, face=face, template=template, template_model=row["template_model"] or "", crop=crop
        )

    async def delete_face(self, req: ById) -> None:
        await self._delete("seen_faces", "Face", req.id)

    async def list_frames(self, q: SeenQuery) -> Page[Frame]:
        await self._camera_known(q)
        async with self.ctx.db.acquire() as conn:
            return await records.list_frames(conn, q)

    async def get_frame(self, req: ById) -> Frame:
        async with self.ctx.db.acquire() as conn:
            frame = await records.get_frame(conn, req.id)
        if frame is None:
            raise NotFound(f"Frame '{req.id}' does not exist.")
        return frame

    async def delete_frame(self, req: ById) -> None:
        await self._delete("seen_frames", "Frame", req.id)

    async def list_tracklets(self, q: SeenQuery) -> Page[Tracklet]:
        await self._camera_known(q)
        async with self.ctx.db.acquire() as conn:
            return await records.list_tracklets(conn, q)

    async def get_tracklet(self, req: ById) -> Tracklet:
        async with self.ctx.db.acquire() as conn:
            tracklet = await records.get_tracklet(conn, req.id)
        if tracklet is None:
            raise NotFound(f"Tracklet '{req.id}' does not exist.")
        return tracklet

    async def delete_tracklet(self, req: ById) -> None:
        await self._delete("seen_tracklets", "Tracklet", req.id)

    async def get_image(self, q: ImageQuery) -> ImageReply:
        data = await self.images.load(q.id)
        if data is None:
            raise NotFound(f"Image '{q.id}' does not exist.")
        if q.min_size is not None or q.max_size is not None:
            data = await self.ctx.run_blocking(resize_jpeg, data, q.min_size, q.max_size)
        return ImageReply(jpeg=await blobs.wrap(self.ctx.bus, data))

    async def _delete(self, table: str, what: str, entity_id: str) -> None:
        async with self.ctx.db.acquire() as conn:
            if not await records.delete(conn, table, entity_id):
                raise NotFound(f"{what} '{entity_id}' does not exist.")
        # Files and objects of the deleted images go now, not at the next background sweep.
        await self.images.sweep()

    async def get_image_storage(self, _: Empty) -> ImageDataStorageConfig:
        return self.images.config()

    async def set_image_storage(self, config: ImageDataStorageConfig) -> ImageDataStorageConfig:
        return await self.images.set_config(config)
