"""Images uploaded into a record grouping (POST /api/v1/RecordGroupings/{id}/Image), stored as
what a camera sees: a frame of the grouping's own stream (its id) with its image, and each face
as a tracklet of one face with its crop, so /Frames, /Faces, /Tracklet and /Images serve them
like any other. The gateway analysed the image; the grouping service sends it here, where the
seen_* tables and the image storage setting live."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from services.camera_ingest import records
from services.camera_ingest.image_store import ImageStore, Written
from services.camera_ingest.session import crop_side
from shared import blobs
from shared.messages.grouping import StoredFace, StoredFrame, UploadedFrame
from shared.runtime import ServiceContext


@dataclass
class UploadHandlers:
    ctx: ServiceContext
    images: ImageStore

    async def store(self, req: UploadedFrame) -> StoredFrame:
        """Store the frame, its image, and a tracklet, crop and face per face, in one transaction."""
        jpeg = await blobs.unwrap(self.ctx.bus, req.image)
        now = datetime.now(UTC)
        frame_id = str(uuid.uuid4())
        faces: list[StoredFace] = []
        written: list[Written] = []
        try:
            async with self.ctx.db.acquire() as conn, conn.transaction():
                image_id = await self.images.save(conn, req.stream_id, "frame", (req.width, req.height), jpeg, written)
                await records.insert_frame(conn, frame_id, req.stream_id, image_id, now, 0)
                for face in req.faces:
                    tracklet_id, face_id = str(uuid.uuid4()), str(uuid.uuid4())
                    await records.insert_tracklet(conn, tracklet_id, req.stream_id, now, 0)
                    await records.close_tracklet(conn, tracklet_id, now, 0)
                    crop_id = None
                    if face.crop:
                        side = crop_side(face.crop)
                        crop_id = await self.images.save(conn, req.stream_id, "crop", (side, side), face.crop, written)
                    fields = {**msgspec.structs.asdict(face.fields), "processed_at": now.isoformat()}
                    created = await records.insert_face(
                        conn,
                        face_id,
                        req.stream_id,
                        tracklet_id,
                        frame_id,
                        crop_id,
                        fields,
                        face.template,
                        face.template_model if face.template else None,
                    )
                    faces.append(StoredFace(face_id=face_id, tracklet_id=tracklet_id, created_at=created))
        except Exception:
            await self.images.discard(written)
            raise
        return StoredFrame(frame_id=frame_id, image_id=image_id, created_at=now, faces=faces)
