"""A camera's pedestrians and objects: frame -> detector (rpc.detector.bodies.detect) -> tracklets
-> stored rows (per pedestrianSaveStrategy / objectSaveStrategy) -> pedestrianInserted /
objectInserted events.

Runs beside the face pipeline (session.py) on the same sampled frames, only for a camera whose
`pedestrianDetectorResourceId` or `objectDetectorResourceId` is not "none": a camera that asks
for neither pays nothing (no JPEG, no detector call). People and objects are followed by box
overlap (the face tracker's logic without templates), one tracker for pedestrians and one per
object type. Save strategies: "First" and/or "Best" (SmartFace's default "Best": the tracklet's
best detection when it ends, by confidence then size), "Balanced" (first and best), "All"
(every detection), "None" (nothing stored, nothing announced).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.camera_ingest import cameras, records
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.image_store import ImageStore, Written
from services.camera_ingest.payloads import FrameRef, tracklet_completed
from services.camera_ingest.pedestrians import (
    Placement,
    insert_object,
    insert_pedestrian,
    object_json,
    pedestrian_json,
)
from services.camera_ingest.preview import Marked
from services.camera_ingest.session import publish_camera_event
from services.camera_ingest.tracker import Detection, Tracker, TrackerConfig
from shared import blobs, subjects
from shared.messages import bodies as wire
from shared.messages.body_events import (
    OBJECT_INSERTED,
    PEDESTRIAN_INSERTED,
    ObjectInsertNotification,
    PedestrianInsertedNotification,
)
from shared.messages.cameras import Camera
from shared.messages.events import TRACKLET_COMPLETED
from shared.runtime import ServiceContext
from shared.smartface_values import runs

log = logging.getLogger(__name__)

CONFIG_TTL_S = 5.0
Body = wire.DetectedPedestrian | wire.DetectedObject


@dataclass(frozen=True)
class Keep:
    """Which detections of a tracklet a save strategy stores."""

    first: bool = False
    best: bool = True
    every: bool = False

    @classmethod
    def parse(cls, text: str | None) -> Keep | None:
        """None for "None" (store nothing)."""
        t = (text or "Best").strip().lower()
        if t == "none":
            return None
        if t == "all":
            return cls(every=True)
        if t == "balanced":
            return cls(first=True, best=True)
        parts = {p.strip() for p in t.split(",")}
        first = "first" in parts
        return cls(first=first, best="best" in parts or not first)


@dataclass(frozen=True)
class BodySettings:
    pedestrians: wire.PedestrianDetectorConfig | None
    objects: wire.ObjectDetectorConfig | None
    keep_pedestrians: Keep | None
    keep_objects: Keep | None
    image_quality: int
    save_frames: bool

    @classmethod
    def of_camera(cls, camera: Camera) -> BodySettings:
        pc, oc = camera.pedestrian_detector_config, camera.object_detector_config
        flags = oc.object_types_configuration
        types = tuple(t for t in wire.OBJECT_TYPES if getattr(flags, f"detect_{t}"))
        pedestrians = wire.PedestrianDetectorConfig(
            min_pedestrian_size=pc.min_pedestrian_size,
            max_pedestrian_size=max(pc.min_pedestrian_size, pc.max_pedestrian_size),
            max_pedestrians=min(1000, max(1, pc.max_pedestrians)),
            confidence_threshold=pc.confidence_threshold,
        )
        objects = wire.ObjectDetectorConfig(
            min_object_size=oc.min_object_size,
            max_object_size=max(oc.min_object_size, oc.max_object_size),
            max_objects=min(1000, max(1, oc.max_objects)),
            confidence_threshold=oc.confidence_threshold,
            types=types,
        )
        return cls(
            pedestrians=pedestrians if runs(camera.pedestrian_detector_resource_id or "none") else None,
            objects=objects if runs(camera.object_detector_resource_id or "none") else None,
            keep_pedestrians=Keep.parse(camera.pedestrian_save_strategy),
            keep_objects=Keep.parse(camera.object_save_strategy),
            image_quality=camera.image_quality,
            save_frames=camera.save_frame_image_data,
        )

    @property
    def asks(self) -> bool:
        return self.pedestrians is not None or self.objects is not None


@dataclass
class Seen:
    body: Body
    frame: FrameRef
    count: int  # of its type on the frame
    processed_at: datetime
    stored: bool = False

    @property
    def rank(self) -> tuple[int, float]:
        return (self.body.confidence, self.body.size)


@dataclass
class BodyTrack:
    id: str
    kind: str  # "pedestrian" or an object type
    appeared: datetime
    appeared_ms: int
    last: datetime
    last_ms: int
    best: Seen
    stored: bool = False  # its seen_tracklets row exists


@dataclass
class BodySession:
    """One camera's pedestrian and object tracklets."""

    ctx: ServiceContext
    camera_id: str
    images: ImageStore
    timeout_s: float
    trackers: dict[str, Tracker] = field(default_factory=dict)
    tracks: dict[str, BodyTrack] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: float = field(default_factory=time.monotonic)
    _settings: BodySettings | None = None
    _settings_at: float = float("-inf")

    async def settings(self) -> BodySettings | None:
        if time.monotonic() - self._settings_at > CONFIG_TTL_S:
            async with self.ctx.db.acquire() as conn:
                camera = await cameras.get(conn, self.camera_id)
            self._settings = BodySettings.of_camera(camera) if camera is not None else None
            self._settings_at = time.monotonic()
        return self._settings

    def tracker(self, kind: str) -> Tracker:
        found = self.trackers.get(kind)
        if found is None:
            found = self.trackers[kind] = Tracker(TrackerConfig(timeout_s=self.timeout_s))
        return found

    async def process(self, frame: SampledFrame) -> list[Marked]:
        """Detect, follow, store and announce the frame's pedestrians and objects, if the camera
        asks for them (else only end what the frame's time ends); their boxes, for the preview."""
        at = frame.captured_at.timestamp()
        settings = await self.settings()
        if settings is None or not settings.asks:
            if self.tracks:
                async with self.lock:
                    await self._expire(at, settings)
            return []
        jpeg = await self.ctx.run_blocking(frame.jpeg, settings.image_quality)
        blob = await blobs.wrap(self.ctx.bus, jpeg)
        try:
            request = wire.BodiesRequest(
                image=blob, pedestrians=settings.pedestrians, objects=settings.objects, include_crops=True
            )
            found = await self.ctx.bus.request(subjects.DETECTOR_BODIES, request, wire.BodiesResponse)
        finally:
            await blobs.release(self.ctx.bus, blob)
        position = (
            int(frame.stream_time_s * 1000)
            if frame.stream_time_s is not None
            else int((time.monotonic() - self.started) * 1000)
        )
        ref = FrameRef(
            id=str(uuid.uuid4()), camera_id=self.camera_id, at=frame.captured_at, position_ms=position,
            width=found.width, height=found.height, jpeg=jpeg if settings.save_frames else None,
        )  # fmt: skip
        now = datetime.now(UTC)
        groups: dict[str, list[Body]] = {}
        for p in found.pedestrians:
            groups.setdefault("pedestrian", []).append(p)
        for o in found.objects:
            groups.setdefault(o.type, []).append(o)
        async with self.lock:
            await self._expire(at, settings)
            for kind, bodies in groups.items():
                keep = settings.keep_pedestrians if kind == "pedestrian" else settings.keep_objects
                assigned = self.tracker(kind).assign(at, [Detection(b.box) for b in bodies])
                for body, (track, started) in zip(bodies, assigned, strict=True):
                    seen = Seen(body, ref, len(bodies), now)
                    state = self.tracks.get(track.id)
                    if state is None:
                        state = BodyTrack(track.id, kind, ref.at, ref.position_ms, ref.at, ref.position_ms, seen)
                        self.tracks[track.id] = state
                    else:
                        state.last, state.last_ms = ref.at, ref.position_ms
                        if seen.rank > state.best.rank:
                            state.best = seen
                    if keep is not None and ((started and keep.first) or keep.every):
                        await self.store(state, seen, settings)
        return [Marked(p.box, kind="pedestrian") for p in found.pedestrians] + [
            Marked(o.box, kind="object") for o in found.objects
        ]

    async def _expire(self, at: float, settings: BodySettings | None) -> None:
        for tracker in self.trackers.values():
            for track in tracker.expire(at):
                await self.finish(track.id, settings)

    async def finish(self, track_id: str, settings: BodySettings | None) -> None:
        """The tracklet ended: store its best detection (per the save strategy), close it."""
        state = self.tracks.pop(track_id, None)
        if state is None:
            return
        keep = None
        if settings is not None:
            keep = settings.keep_pedestrians if state.kind == "pedestrian" else settings.keep_objects
        if keep is not None and (keep.best or not state.stored):
            await self.store(state, state.best, settings)
        if not state.stored:
            return
        async with self.ctx.db.acquire() as conn:
            stamps = await records.close_tracklet(conn, state.id, state.last, state.last_ms)
        if stamps is not None:  # announced as a face tracklet's end is (None: ended meanwhile, announced then)
            completed = tracklet_completed(state.id, self.camera_id, state.appeared, state.last, state.appeared_ms,
                                           state.last_ms, *stamps)  # fmt: skip
            await publish_camera_event(self.ctx.bus, TRACKLET_COMPLETED, self.camera_id, completed)

    async def store(self, state: BodyTrack, seen: Seen, settings: BodySettings | None) -> None:
        """Store a detection (its tracklet and frame first, when not yet) and announce it."""
        if seen.stored:
            return
        written: list[Written] = []
        body, ref = seen.body, seen.frame
        area = float(ref.width * ref.height)
        # Marked stored only once the transaction commits: a rolled-back write leaves no row.
        new_tracklet, new_frame = not state.stored, not ref.stored
        try:
            async with self.ctx.db.acquire() as conn, conn.transaction():
                if new_tracklet:
                    await records.insert_tracklet(conn, state.id, self.camera_id, state.appeared, state.appeared_ms)
                if new_frame:
                    image_id = None
                    if ref.jpeg is not None:
                        image_id = await self.images.save(
                            conn, self.camera_id, "frame", (ref.width, ref.height), ref.jpeg, written
                        )
                    await records.insert_frame(conn, ref.id, self.camera_id, image_id, ref.at, ref.position_ms)
                crop_id = None
                if body.crop:
                    x0, y0, x1, y1 = body.box
                    size = (max(1, round(x1 - x0)), max(1, round(y1 - y0)))
                    crop_id = await self.images.save(conn, self.camera_id, "crop", size, body.crop, written)
                where = Placement(self.camera_id, state.id, ref.id, crop_id)
                if isinstance(body, wire.DetectedPedestrian):
                    data = pedestrian_json(body, seen.count, seen.processed_at, area)
                    row_id = await insert_pedestrian(conn, where, data)
                else:
                    data = object_json(body, seen.count, seen.processed_at, area)
                    row_id = await insert_object(conn, where, data)
        except asyncpg.ForeignKeyViolationError:  # the tracklet or frame was deleted via the API
            await self.images.discard(written)
            return
        except Exception:
            await self.images.discard(written)
            raise
        state.stored = ref.stored = seen.stored = True
        common = {
            "id": row_id, "image_data_id": crop_id, "tracklet_id": state.id, "frame_id": ref.id,
            "stream_id": self.camera_id, "processed_at": seen.processed_at,
        }  # fmt: skip
        if isinstance(body, wire.DetectedPedestrian):
            pedestrian = PedestrianInsertedNotification(**_payload(data, common, "pose"))
            await publish_camera_event(self.ctx.bus, PEDESTRIAN_INSERTED, self.camera_id, pedestrian)
        else:
            inserted = ObjectInsertNotification(**_payload(data, common))
            await publish_camera_event(self.ctx.bus, OBJECT_INSERTED, self.camera_id, inserted)

    async def close(self) -> None:
        """The stream stopped: every live tracklet ends now."""
        async with self.lock:
            settings = self._settings
            for tracker in self.trackers.values():
                for track in tracker.close_all():
                    try:
                        await self.finish(track.id, settings)
                    except Exception:
                        log.exception("camera %s: ending body tracklet %s failed", self.camera_id, track.id)

    async def sweep(self) -> None:
        """End tracklets not seen for the timeout although no frame came."""
        if not self.tracks:
            return
        async with self.lock:
            await self._expire(time.time(), self._settings)


def _payload(data: dict[str, Any], common: dict[str, Any], *extra: str) -> dict[str, Any]:
    target = PedestrianInsertedNotification if "pose" in extra else ObjectInsertNotification
    fields = {k: v for k, v in data.items() if k in target.__struct_fields__ and k not in common}
    fields.pop("processed_at", None)
    if "pose" in extra:
        fields["pose"] = "UNSPECIFIED"
        fields["object_attributes"] = []
    return {**fields, **common}


class BodySessions:
    """Every camera's BodySession on this replica (created on a camera's first frame)."""

    def __init__(self, ctx: ServiceContext, images: ImageStore, timeout_s: float) -> None:
        self.ctx, self.images, self.timeout_s = ctx, images, timeout_s
        self.sessions: dict[str, BodySession] = {}

    def session(self, camera_id: str) -> BodySession:
        found = self.sessions.get(camera_id)
        if found is None:
            found = self.sessions[camera_id] = BodySession(self.ctx, camera_id, self.images, self.timeout_s)
        return found

    async def process(self, frame: SampledFrame) -> list[Marked]:
        return await self.session(frame.camera_id).process(frame)

    async def sweep(self) -> None:
        for s in list(self.sessions.values()):
            await s.sweep()

    async def close(self, camera_id: str) -> None:
        found = self.sessions.pop(camera_id, None)
        if found is not None:
            await found.close()
