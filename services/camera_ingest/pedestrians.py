"""Pedestrians and objects cameras stored (tables seen_pedestrians, seen_objects, migration 0080):
the rows, SmartFace's `Pedestrian` built from them, and the list/get/delete endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.camera_ingest import records
from services.camera_ingest.image_store import ImageStore
from shared.errors import NotFound
from shared.messages.bodies import KEYPOINTS, DetectedObject, DetectedPedestrian, object_type_number
from shared.messages.common import ById, Page
from shared.messages.pedestrians import CropCoordinates, ObjectAttribute, Pedestrian
from shared.messages.seen import SeenQuery
from shared.runtime import ServiceContext

# A keypoint the model is less sure of than this is left out (null), as SmartFace leaves out
# the body parts it does not see.
KEYPOINT_SCORE = 0.2
# Pedestrian fields that come from the row's columns, not its jsonb.
COLUMNS = ("id", "tracklet_id", "frame_id", "stream_id", "image_data_id", "created_at", "updated_at")
SELECT = "id, camera_id, tracklet_id, frame_id, image_id, pedestrian, created_at, updated_at"


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _box_fields(box: tuple[float, float, float, float]) -> dict[str, float]:
    corners = CropCoordinates.of(box)
    return {name: getattr(corners, name) for name in CropCoordinates.__struct_fields__}


def keypoint_fields(p: DetectedPedestrian) -> dict[str, float | None]:
    """SmartFace's earLeftX ... ankleRightY (snake_case) of a pedestrian's keypoints; the neck is
    between the shoulders."""
    out: dict[str, float | None] = {}
    seen: dict[str, tuple[float, float]] = {}
    for name, point in zip(KEYPOINTS, p.keypoints, strict=False):
        ok = point.score >= KEYPOINT_SCORE
        out[f"{_snake(name)}_x"], out[f"{_snake(name)}_y"] = (point.x, point.y) if ok else (None, None)
        if ok:
            seen[name] = (point.x, point.y)
    if "shoulderLeft" in seen and "shoulderRight" in seen:
        (lx, ly), (rx, ry) = seen["shoulderLeft"], seen["shoulderRight"]
        out["neck_x"], out["neck_y"] = (lx + rx) / 2, (ly + ry) / 2
    else:
        out["neck_x"], out["neck_y"] = None, None
    return out


def pedestrian_json(p: DetectedPedestrian, count: int, processed_at: datetime, frame_area: float) -> dict[str, Any]:
    """The `pedestrian` jsonb of a stored pedestrian (SmartFace's fields, snake_case)."""
    x0, y0, x1, y1 = p.box
    return {
        **_box_fields(p.box),
        **keypoint_fields(p),
        "quality": p.confidence,
        "size": p.size,
        "area_on_frame": (x1 - x0) * (y1 - y0) / frame_area if frame_area else None,
        "object_order_on_frame_for_type": p.order,
        "objects_on_frame_count_for_type": count,
        "poses": [],
        "processed_at": processed_at.isoformat(),
    }


def object_json(o: DetectedObject, count: int, processed_at: datetime, frame_area: float) -> dict[str, Any]:
    """The `object` jsonb of a stored object (SmartFace's GenericObject fields, snake_case)."""
    x0, y0, x1, y1 = o.box
    return {
        **_box_fields(o.box),
        "type": o.type,
        "generic_object_type": object_type_number(o.type),
        "quality": o.confidence,
        "size": o.size,
        "area_on_frame": (x1 - x0) * (y1 - y0) / frame_area if frame_area else None,
        "object_order_on_frame_for_type": o.order,
        "objects_on_frame_count_for_type": count,
        "processed_at": processed_at.isoformat(),
    }


def to_pedestrian(row: asyncpg.Record) -> Pedestrian:
    stored = dict(row["pedestrian"])
    fields: dict[str, Any] = {k: stored.get(k) for k in Pedestrian.__struct_fields__ if k not in COLUMNS}
    fields["poses"] = list(stored.get("poses") or [])
    fields["object_attributes"] = [ObjectAttribute(**a) for a in stored.get("object_attributes") or []]
    if isinstance(fields.get("processed_at"), str):
        fields["processed_at"] = datetime.fromisoformat(fields["processed_at"])
    return Pedestrian(
        **fields,
        id=str(row["id"]), tracklet_id=str(row["tracklet_id"]), frame_id=str(row["frame_id"]),
        stream_id=str(row["camera_id"]), image_data_id=str(row["image_id"]) if row["image_id"] else None,
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


@dataclass(frozen=True)
class Placement:
    """Where a stored pedestrian or object belongs: camera, tracklet, frame, and its crop."""

    camera_id: str
    tracklet_id: str
    frame_id: str
    image_id: str | None

    def args(self) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID | None]:
        crop = uuid.UUID(self.image_id) if self.image_id else None
        return uuid.UUID(self.camera_id), uuid.UUID(self.tracklet_id), uuid.UUID(self.frame_id), crop


async def insert_pedestrian(conn: asyncpg.Connection, where: Placement, body: dict[str, Any]) -> str:
    key = uuid.uuid4()
    await conn.execute(
        "INSERT INTO seen_pedestrians (id, camera_id, tracklet_id, frame_id, image_id, pedestrian) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        key, *where.args(), body,
    )  # fmt: skip
    return str(key)


async def insert_object(conn: asyncpg.Connection, where: Placement, body: dict[str, Any]) -> str:
    key = uuid.uuid4()
    await conn.execute(
        "INSERT INTO seen_objects (id, camera_id, tracklet_id, frame_id, image_id, object_type, object) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        key, *where.args(), body["generic_object_type"], body,
    )  # fmt: skip
    return str(key)


@dataclass
class PedestrianHandlers:
    """rpc.camera_ingest.pedestrian.{list,get,delete}."""

    ctx: ServiceContext
    images: ImageStore

    async def list_pedestrians(self, q: SeenQuery) -> Page[Pedestrian]:
        order = "ASC" if q.page.ascending else "DESC"
        async with self.ctx.db.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {SELECT} FROM seen_pedestrians ORDER BY created_at {order}, id {order} LIMIT $1 OFFSET $2",
                q.page.page_size + 1,
                q.page.offset,
            )
            total = await conn.fetchval("SELECT count(*) FROM seen_pedestrians") if q.page.show_total_count else None
        items = [to_pedestrian(r) for r in rows[: q.page.page_size]]
        return Page(items=items, has_next=len(rows) > q.page.page_size, total_items_count=total)

    async def get_pedestrian(self, req: ById) -> Pedestrian:
        key = records.as_uuid(req.id)
        async with self.ctx.db.acquire() as conn:
            row = key and await conn.fetchrow(f"SELECT {SELECT} FROM seen_pedestrians WHERE id = $1", key)
        if not row:
            raise NotFound(f"Pedestrian '{req.id}' does not exist.")
        return to_pedestrian(row)

    async def delete_pedestrian(self, req: ById) -> None:
        key = records.as_uuid(req.id)
        async with self.ctx.db.acquire() as conn:
            gone = key and await conn.fetchval("DELETE FROM seen_pedestrians WHERE id = $1 RETURNING true", key)
        if not gone:
            raise NotFound(f"Pedestrian '{req.id}' does not exist.")
        await self.images.sweep()
