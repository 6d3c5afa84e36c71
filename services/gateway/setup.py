"""/api/v1/Setup: settings changed at run time, routed to the service that keeps them (image
storage: camera_ingest; SmartFace's six: cleanup)."""

from __future__ import annotations

from litestar import Controller, get, put

from services.gateway.openapi import FACEGATE_TAG
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.seen import ImageDataStorageConfig
from shared.messages.setup import (
    DbCleanupConfig,
    DbCleanupConfigUpdateRequest,
    FaceFeaturesConfigFeaturesConfig,
    FeaturesConfigUpdateRequestFeaturesConfig,
    PreviewConfig,
    SearchSessionsCleanupConfig,
    VideoDataStorageConfig,
    WatchlistAutoLearnConfig,
)


class SetupController(Controller):
    path = "/api/v1/Setup"
    tags = ["Setup"]

    @get("/DataStorage/Images", tags=[FACEGATE_TAG], responses=responses())
    async def get_image_storage(self, bus: Bus) -> ImageDataStorageConfig:
        """Facegate addition: where new face crops and frames of cameras are stored
        (`Database`, `Folder` or `ObjectStore`)."""
        return await bus.request(subjects.IMAGE_STORAGE_GET, Empty(), ImageDataStorageConfig)

    @put("/DataStorage/Images", tags=[FACEGATE_TAG], responses=responses(409, 413))
    async def set_image_storage(self, data: ImageDataStorageConfig, bus: Bus) -> ImageDataStorageConfig:
        """Facegate addition: store new face crops and frames in Postgres (`Database`), as files
        under `FACEGATE_CAMERA_IMAGE_FOLDER` (`Folder`) or in the NATS object store
        `FACEGATE_CAMERA_IMAGE_BUCKET` (`ObjectStore`). Images stored before stay where they are
        and are still served; every camera_ingest replica switches at once. 409 when the folder
        cannot be written, 503 when the object store cannot be reached."""
        return await bus.request(subjects.IMAGE_STORAGE_SET, data, ImageDataStorageConfig)


class SmartFaceSetupController(Controller):
    """SmartFace's Setup values, kept by the cleanup service (services/cleanup/setup_values.py)
    and applied cluster-wide at once, without restarts."""

    path = "/api/v1/Setup"

    @get("/DbCleanup", tags=["SetupDbCleanup"], responses=responses())
    async def get_db_cleanup(self, bus: Bus) -> DbCleanupConfig:
        """Retention of what cameras saw (frames, faces, tracklets, images, match results)."""
        return await bus.request(subjects.SETUP_DB_CLEANUP_GET, Empty(), DbCleanupConfig)

    @put("/DbCleanup", tags=["SetupDbCleanup"], responses=responses())
    async def set_db_cleanup(self, data: DbCleanupConfigUpdateRequest, bus: Bus) -> DbCleanupConfig:
        """Keep at most `maxFramesCount` frames (the oldest go first, checked every minute) and
        none older than `maxImageDataAge` days (checked from `cleanupStart`, UTC, each day), with
        their faces, images and tracklets; `deleteSql` false removes only their images,
        `deleteMatchResults` true their match results too. Members are never touched."""
        return await bus.request(subjects.SETUP_DB_CLEANUP_SET, data, DbCleanupConfig)

    @get("/SearchSessionsCleanup", tags=["SetupSearchSessionsCleanup"], responses=responses())
    async def get_search_sessions_cleanup(self, bus: Bus) -> SearchSessionsCleanupConfig:
        """How long finished Faces/Search sessions are kept."""
        return await bus.request(subjects.SETUP_SEARCH_SESSIONS_CLEANUP_GET, Empty(), SearchSessionsCleanupConfig)

    @put("/SearchSessionsCleanup", tags=["SetupSearchSessionsCleanup"], responses=responses())
    async def set_search_sessions_cleanup(
        self, data: SearchSessionsCleanupConfig, bus: Bus
    ) -> SearchSessionsCleanupConfig:
        """Keep at most `maxItemsCount` sessions, none older than `maxSessionAge`, checked every
        `interval` (both TimeSpans, `[d.]hh:mm:ss`, longer than zero)."""
        return await bus.request(subjects.SETUP_SEARCH_SESSIONS_CLEANUP_SET, data, SearchSessionsCleanupConfig)

    @get("/Watchlists/AutoLearn", tags=["SetupWatchlistAutoLearn"], responses=responses())
    async def get_auto_learn(self, bus: Bus) -> WatchlistAutoLearnConfig:
        """When and how members learn better faces from what cameras matched to them."""
        return await bus.request(subjects.SETUP_AUTO_LEARN_GET, Empty(), WatchlistAutoLearnConfig)

    @put("/Watchlists/AutoLearn", tags=["SetupWatchlistAutoLearn"], responses=responses())
    async def set_auto_learn(self, data: WatchlistAutoLearnConfig, bus: Bus) -> WatchlistAutoLearnConfig:
        """`executionStartTime` (UTC, `hh:mm:ss`), at most `maxAutoLearnFacesCount` (1..100)
        learnt faces per member, faces matched at `selectionThreshold` (masked:
        `maskedSelectionThreshold`) or above; `noFaceMaskConfidenceThreshold` may not be above
        `faceMaskConfidenceThreshold`."""
        return await bus.request(subjects.SETUP_AUTO_LEARN_SET, data, WatchlistAutoLearnConfig)

    @get("/Features", tags=["SetupFeatures"], responses=responses())
    async def get_features(self, bus: Bus) -> FaceFeaturesConfigFeaturesConfig:
        """Which face attributes cameras and searches compute."""
        return await bus.request(subjects.SETUP_FEATURES_GET, Empty(), FaceFeaturesConfigFeaturesConfig)

    @put("/Features", tags=["SetupFeatures"], responses=responses())
    async def set_features(
        self, data: FeaturesConfigUpdateRequestFeaturesConfig, bus: Bus
    ) -> FaceFeaturesConfigFeaturesConfig:
        """Switch face attributes on or off for every camera and search: one switched off is not
        computed (age and gender skip their model) and is null in answers and stored faces."""
        return await bus.request(subjects.SETUP_FEATURES_SET, data, FaceFeaturesConfigFeaturesConfig)

    @get("/Preview", tags=["SetupPreview"], responses=responses())
    async def get_preview(self, bus: Bus) -> PreviewConfig:
        """Colours of the bounding boxes of camera previews."""
        return await bus.request(subjects.SETUP_PREVIEW_GET, Empty(), PreviewConfig)

    @put("/Preview", tags=["SetupPreview"], responses=responses())
    async def set_preview(self, data: PreviewConfig, bus: Bus) -> PreviewConfig:
        """Colours as `#rrggbb` or `#rgb` (`objectBoundingBoxColor` may be null)."""
        return await bus.request(subjects.SETUP_PREVIEW_SET, data, PreviewConfig)

    @get("/DataStorage/Video", tags=["SetupDataStorage"], responses=responses())
    async def get_video_storage(self, bus: Bus) -> VideoDataStorageConfig:
        """Whether what cameras see is stored (`All`) or not (`None`)."""
        return await bus.request(subjects.SETUP_VIDEO_STORAGE_GET, Empty(), VideoDataStorageConfig)

    @put("/DataStorage/Video", tags=["SetupDataStorage"], responses=responses())
    async def set_video_storage(self, data: VideoDataStorageConfig, bus: Bus) -> VideoDataStorageConfig:
        """`All` or `None`."""
        return await bus.request(subjects.SETUP_VIDEO_STORAGE_SET, data, VideoDataStorageConfig)
