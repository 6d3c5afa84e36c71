"""/api/v1/Setup: settings changed at run time, routed to the service that applies them."""

from __future__ import annotations

from litestar import Controller, get, put

from services.gateway.openapi import FACEGATE_TAG
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.seen import ImageDataStorageConfig


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
