"""Images at the grouping operations: an uploaded image's faces (stored as camera faces are,
with their templates), and the probe templates of an Individuals search. Analysed once through
shared.analysis, as every image the REST edge receives."""

from __future__ import annotations

import uuid

from services.gateway.analysis_config import NO_FEATURES, detector_config, features_config
from services.gateway.face_choice import largest
from services.gateway.resources import check_resources
from shared import analysis, blobs
from shared.bus import Bus
from shared.errors import Unprocessable
from shared.face_fields import OnFrame, stored_fields
from shared.messages.grouping import (
    GroupingImage,
    IndividualSearch,
    SearchInIndividualsRequest,
    UploadedFace,
    UploadedImageRequest,
)


async def uploaded_image(bus: Bus, grouping_id: str, req: UploadedImageRequest) -> GroupingImage:
    """The image and every face found in it, each with its Face fields, crop and template. The
    image travels by reference when it and the crops would not fit one message together."""
    check_resources(faceDetectorResourceId=req.face_detector_resource_id)
    data = req.image_data.data
    found = await analysis.analyse(bus, data, detector_config(req.face_detector_config),
                                   features_config(None, template=True))  # fmt: skip
    faces = [
        UploadedFace(
            fields=stored_fields(f, OnFrame(len(found.faces), 0.0)),
            crop=f.detected.crop,
            quality=f.detected.quality,
            template=f.extracted.template,
            template_model=f.extracted.template_model,
        )
        for f in found.faces
    ]
    crops = sum(len(f.crop) for f in faces)
    if len(data) + crops <= blobs.inline_limit(bus):
        image = blobs.Blob(data=data)
    else:
        name = uuid.uuid4().hex
        await (await bus.blob_store()).put(name, data)
        image = blobs.Blob(ref=name)
    return GroupingImage(grouping_id=grouping_id, image=image, width=found.width, height=found.height, faces=faces)


async def release(bus: Bus, image: GroupingImage) -> None:
    """Delete the uploaded image's stored copy, once the grouping service answered."""
    await blobs.release(bus, image.image)


async def search_templates(bus: Bus, req: SearchInIndividualsRequest) -> IndividualSearch:
    """The templates of every face of the probe image (422 when it has none usable)."""
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
    )
    found = await analysis.analyse(bus, req.image.data, detector_config(req.face_detector_config),
                                   features_config(NO_FEATURES, template=True))  # fmt: skip
    largest(found, "image")
    with_templates = [f for f in found.faces if f.extracted.template is not None]
    if not with_templates:
        raise Unprocessable("No template could be made from the faces of the image.")
    return IndividualSearch(
        grouping_id=req.grouping_id, templates=[f.extracted.template or b"" for f in with_templates],
        template_model=with_templates[0].extracted.template_model, threshold=req.match_threshold,
    )  # fmt: skip
