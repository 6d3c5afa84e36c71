"""Pedestrians and objects at the REST edge: `POST /api/v1/Detect` (the detector's `bodies`
endpoint) and `/api/v1/Pedestrians` (what cameras stored, camera_ingest's)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post

from services.gateway.paging import paged
from services.gateway.problems import responses
from services.gateway.seen import Guid
from shared import blobs, subjects
from shared.bus import Bus, Empty
from shared.errors import ValidationFailed
from shared.messages import bodies as wire
from shared.messages.cameras import (
    ObjectDetectorConfigRequest,
    ObjectTypesForDetection,
    PedestrianDetectorConfigRequest,
)
from shared.messages.common import ById, Page, PageQuery
from shared.messages.pedestrians import (
    CropCoordinates,
    DetectionRequest,
    DetectionResponse,
    ObjectInformation,
    Pedestrian,
    PedestrianInformation,
    PedestrianPagedCollection,
)
from shared.messages.seen import SeenQuery
from shared.smartface_values import DETECT, check, runs


def pedestrian_config(req: PedestrianDetectorConfigRequest | None) -> wire.PedestrianDetectorConfig:
    """SmartFace's PedestrianDetectorConfig with its defaults for what the request leaves out."""
    base = wire.PedestrianDetectorConfig()
    if req is None:
        return base
    return wire.PedestrianDetectorConfig(
        min_pedestrian_size=base.min_pedestrian_size if req.min_pedestrian_size is None else req.min_pedestrian_size,
        max_pedestrian_size=base.max_pedestrian_size if req.max_pedestrian_size is None else req.max_pedestrian_size,
        max_pedestrians=base.max_pedestrians if not req.max_pedestrians else min(req.max_pedestrians, 1000),
        confidence_threshold=(
            base.confidence_threshold if req.confidence_threshold is None else req.confidence_threshold
        ),
    )


def object_types(flags: ObjectTypesForDetection | None) -> tuple[str, ...]:
    """The object types a request's flags ask for; none set (or no flags) means every type."""
    if flags is None:
        return ()
    return tuple(t for t in wire.OBJECT_TYPES if getattr(flags, f"detect_{t}"))


def object_config(req: ObjectDetectorConfigRequest | None) -> wire.ObjectDetectorConfig:
    base = wire.ObjectDetectorConfig()
    if req is None:
        return base
    return wire.ObjectDetectorConfig(
        min_object_size=base.min_object_size if req.min_object_size is None else req.min_object_size,
        max_object_size=base.max_object_size if req.max_object_size is None else req.max_object_size,
        max_objects=base.max_objects if not req.max_objects else min(req.max_objects, 1000),
        confidence_threshold=base.confidence_threshold
        if req.confidence_threshold is None
        else req.confidence_threshold,
        types=object_types(req.object_types_configuration),
    )


def _sizes(low: float, high: float, path: str) -> None:
    if low > high:
        raise ValidationFailed(
            f"{path}: the minimum size {low:g} is over the maximum {high:g}.", errors={path: ["min over max"]}
        )


async def detect(bus: Bus, req: DetectionRequest) -> DetectionResponse:
    """The pedestrians and objects the request asks for, as SmartFace answers them."""
    check(DETECT, "pedestrianDetectorResourceId", req.pedestrian_detector_resource_id)
    check(DETECT, "objectDetectorResourceId", req.object_detector_resource_id)
    people = pedestrian_config(req.pedestrian_detector_config) if runs(req.pedestrian_detector_resource_id) else None
    things = object_config(req.object_detector_config) if runs(req.object_detector_resource_id) else None
    if people is not None:
        _sizes(people.min_pedestrian_size, people.max_pedestrian_size, "pedestrianDetectorConfig")
    if things is not None:
        _sizes(things.min_object_size, things.max_object_size, "objectDetectorConfig")
    if not req.image.data:
        raise ValidationFailed("image.data: no image given.", errors={"image.data": ["empty"]})
    if people is None and things is None:  # nothing asked: the image is not even decoded
        return DetectionResponse(pedestrians=[], objects=[])
    blob = await blobs.wrap(bus, req.image.data)
    try:
        request = wire.BodiesRequest(image=blob, pedestrians=people, objects=things, include_crops=req.include_crops)
        found = await bus.request(subjects.DETECTOR_BODIES, request, wire.BodiesResponse)
    finally:
        await blobs.release(bus, blob)
    return DetectionResponse(
        pedestrians=[
            PedestrianInformation(
                pedestrian_order=p.order,
                crop_image=p.crop if req.include_crops else None,
                quality=float(p.confidence),
                size=p.size,
                crop_coordinates=CropCoordinates.of(p.box),
            )
            for p in found.pedestrians
        ],
        objects=[
            ObjectInformation(
                type=o.type,
                object_order_on_frame_for_type=o.order,
                crop_image=o.crop if req.include_crops else None,
                quality=float(o.confidence),
                size=o.size,
                crop_coordinates=CropCoordinates.of(o.box),
            )
            for o in found.objects
        ],
    )


class DetectController(Controller):
    path = "/api/v1/Detect"
    tags = ["Detection"]

    @post("/", status_code=200, responses=responses(408, 413, 422))
    async def detect(self, data: DetectionRequest, bus: Bus) -> DetectionResponse:
        """Pedestrians (box and body keypoints) and objects (SmartFace's object types) of an image,
        each when its resource id is not "none", with crops when `includeCrops`."""
        return await detect(bus, data)


class PedestrianController(Controller):
    path = "/api/v1/Pedestrians"
    tags = ["Pedestrian"]

    @get("/", responses=responses())
    async def list_pedestrians(
        self, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> PedestrianPagedCollection:
        """Pedestrians cameras stored, paged by creation time."""
        page = await bus.request(subjects.PEDESTRIAN_LIST, SeenQuery(page=paging), Page[Pedestrian])
        return paged(PedestrianPagedCollection, request, paging, page)

    @get("/{id:str}", responses=responses(404))
    async def get_pedestrian(self, id: Guid, bus: Bus) -> Pedestrian:
        """One stored pedestrian."""
        return await bus.request(subjects.PEDESTRIAN_GET, ById(id=id), Pedestrian)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_pedestrian(self, id: Guid, bus: Bus) -> None:
        """Delete a stored pedestrian and its crop."""
        await bus.request(subjects.PEDESTRIAN_DELETE, ById(id=id), Empty)


DETECTION_CONTROLLERS = [DetectController, PedestrianController]
