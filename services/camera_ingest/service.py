"""Wires camera_ingest: the camera, video record and edge stream endpoints, what they saw (faces, frames,
tracklets, images), then the scheduler that runs this replica's streams through the face
pipeline (and its cameras' live previews, to whoever watches)."""

from __future__ import annotations

import logging

from services.camera_ingest import cameras
from services.camera_ingest.edge_handlers import EdgeStreamHandlers
from services.camera_ingest.edge_mqtt import EdgePublisher
from services.camera_ingest.edge_sync import EdgeSync
from services.camera_ingest.handlers import CameraHandlers
from services.camera_ingest.image_store import ImageStore
from services.camera_ingest.pedestrians import PedestrianHandlers
from services.camera_ingest.pipeline import FramePipeline
from services.camera_ingest.preview import Previews
from services.camera_ingest.scheduler import Scheduler
from services.camera_ingest.seen_handlers import SeenHandlers
from services.camera_ingest.settings import EdgeSettings, IngestSettings, VideoSettings
from services.camera_ingest.status import StatusBoard
from services.camera_ingest.uploads import UploadHandlers
from services.camera_ingest.video_handlers import VideoRecordHandlers
from services.camera_ingest.video_sources import record_policy
from shared import subjects
from shared.bus import Empty
from shared.encryption import SecretBox
from shared.messages.cameras import (
    CameraCreateRequest,
    CameraUpdateRequest,
)
from shared.messages.common import ById
from shared.messages.edge_streams import EdgeStreamCreateRequest, EdgeStreamUpdateRequest, WatchlistSyncUpdate
from shared.messages.grouping import UploadedFrame
from shared.messages.seen import ImageDataStorageConfig, ImageQuery, SeenQuery
from shared.messages.video_records import (
    RecordSeenQuery,
    TagsUpdate,
    VideoRecordCreateRequest,
    VideoRecordUpdateRequest,
)
from shared.runtime import ServiceContext
from shared.setup import FEATURES, PREVIEW, VIDEO_STORAGE, Followed

log = logging.getLogger(__name__)


async def setup(
    ctx: ServiceContext,
    settings: IngestSettings,
    box: SecretBox,
    video: VideoSettings | None = None,
    edge: EdgeSettings | None = None,
    tls_ca_file: str = "",
) -> None:
    """Register the endpoints (the event stream must exist before the first change) and start
    scheduling streams; `box` encrypts and decrypts the cameras' sources."""
    assert ctx.redis is not None, "camera_ingest needs Redis"
    await ctx.bus.ensure_event_stream()
    async with ctx.db.acquire() as conn:
        if sealed := await cameras.seal_plain_sources(conn, box):
            log.info("encrypted the sources of %d camera(s) stored before sources were encrypted", sealed)
    # A status outlives a few missed refreshes, not its owner's death.
    board = StatusBoard(ctx.redis, ctx.bus, ttl_s=settings.lease_ttl_s * 2)
    h = CameraHandlers(ctx, board, box, settings.source_policy())
    add = ctx.host.add
    await add(subjects.CAMERA_CREATE, CameraCreateRequest, h.create)
    await add(subjects.CAMERA_UPDATE, CameraUpdateRequest, h.update)
    await add(subjects.CAMERA_GET, ById, h.get)
    await add(subjects.CAMERA_LIST, Empty, h.list_all)
    await add(subjects.CAMERA_DELETE, ById, h.delete)
    await add(subjects.CAMERA_STATUS, ById, h.status)
    images = ImageStore(ctx, settings)
    await images.start()
    seen = SeenHandlers(ctx, images)
    await add(subjects.SEEN_FACE_LIST, SeenQuery, seen.list_faces)
    await add(subjects.SEEN_FACE_GET, ById, seen.get_face)
    await add(subjects.SEEN_FACE_DELETE, ById, seen.delete_face)
    await add(subjects.SEEN_FACE_STORED, ById, seen.stored_face)
    await add(subjects.SEEN_FRAME_LIST, SeenQuery, seen.list_frames)
    await add(subjects.SEEN_FRAME_GET, ById, seen.get_frame)
    await add(subjects.SEEN_FRAME_DELETE, ById, seen.delete_frame)
    await add(subjects.SEEN_TRACKLET_LIST, SeenQuery, seen.list_tracklets)
    await add(subjects.SEEN_TRACKLET_GET, ById, seen.get_tracklet)
    await add(subjects.SEEN_TRACKLET_DELETE, ById, seen.delete_tracklet)
    await add(subjects.SEEN_IMAGE_GET, ImageQuery, seen.get_image)
    await add(subjects.IMAGE_STORAGE_GET, Empty, seen.get_image_storage)
    await add(subjects.IMAGE_STORAGE_SET, ImageDataStorageConfig, seen.set_image_storage)
    await add(subjects.SEEN_FRAME_UPLOAD, UploadedFrame, UploadHandlers(ctx, images).store)
    walkers = PedestrianHandlers(ctx, images)
    await add(subjects.PEDESTRIAN_LIST, SeenQuery, walkers.list_pedestrians)
    await add(subjects.PEDESTRIAN_GET, ById, walkers.get_pedestrian)
    await add(subjects.PEDESTRIAN_DELETE, ById, walkers.delete_pedestrian)
    video = video or VideoSettings()
    v = VideoRecordHandlers(ctx, video, images, record_policy(settings.source_policy()))
    await add(subjects.VIDEO_RECORD_CREATE, VideoRecordCreateRequest, v.create)
    await add(subjects.VIDEO_RECORD_UPDATE, VideoRecordUpdateRequest, v.update)
    await add(subjects.VIDEO_RECORD_GET, ById, v.get)
    await add(subjects.VIDEO_RECORD_LIST, Empty, v.list_all)
    await add(subjects.VIDEO_RECORD_DELETE, ById, v.delete)
    await add(subjects.VIDEO_RECORD_CLEAR, ById, v.clear)
    await add(subjects.VIDEO_RECORD_STATUS, ById, v.status)
    await add(subjects.VIDEO_RECORD_TAGS_GET, ById, v.get_tags)
    await add(subjects.VIDEO_RECORD_TAGS_SET, TagsUpdate, v.set_tags)
    await add(subjects.VIDEO_RECORD_TRACKLETS, RecordSeenQuery, v.tracklets)
    await add(subjects.VIDEO_RECORD_FRAMES, RecordSeenQuery, v.frames)
    edge = edge or EdgeSettings()
    sync = EdgeSync(ctx, EdgePublisher(edge.mqtt_url, f"facegate-{ctx.host.instance_id}", tls_ca_file), edge.resync_s)
    e = EdgeStreamHandlers(ctx, sync)
    await add(subjects.EDGE_STREAM_CREATE, EdgeStreamCreateRequest, e.create)
    await add(subjects.EDGE_STREAM_UPDATE, EdgeStreamUpdateRequest, e.update)
    await add(subjects.EDGE_STREAM_GET, ById, e.get)
    await add(subjects.EDGE_STREAM_LIST, Empty, e.list_all)
    await add(subjects.EDGE_STREAM_DELETE, ById, e.delete)
    await add(subjects.EDGE_STREAM_SYNC_SETTINGS, Empty, e.sync_settings)
    await add(subjects.EDGE_STREAM_WATCHLISTS_GET, ById, e.get_watchlists)
    await add(subjects.EDGE_STREAM_WATCHLISTS_SET, WatchlistSyncUpdate, e.set_watchlists)
    await sync.start()
    # The Setup's Features: which attributes camera faces get (re-read as often as image storage).
    features = Followed(FEATURES)
    await features.start(ctx, settings.image_sweep_s)
    ctx.on_shutdown.append(features.stop)
    # Setup/Preview: the colour previews box faces in (re-read as often as the features).
    preview_setup = Followed(PREVIEW)
    await preview_setup.start(ctx, settings.image_sweep_s)
    ctx.on_shutdown.append(preview_setup.stop)
    previews = Previews(ctx.bus, preview_setup)
    await previews.start()
    # Setup/DataStorage/Video: `None` stores nothing cameras see (only match events go out).
    video_storage = Followed(VIDEO_STORAGE)
    await video_storage.start(ctx, settings.image_sweep_s)
    ctx.on_shutdown.append(video_storage.stop)
    pipeline = FramePipeline(ctx, settings, images, features, previews, video_storage)
    scheduler = Scheduler(ctx, settings, board, pipeline, box, video)
    await scheduler.start()
    ctx.extra_stats["cameras"] = scheduler.stats
