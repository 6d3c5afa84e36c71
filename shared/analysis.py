"""An image's faces, detected then extracted: the one client of the detector and the extractor.

Every caller goes through `analyse` (the gateway's REST verbs, camera_ingest's frames): the image
goes to the detector once (by reference when larger than a NATS message), the crops of the faces
wanted to the extractor in one batch. The in-process pipeline (services/extractor/pipeline.py)
builds the same extractor request and the same answer with `extraction` and `combine`, so what
tests and benchmarks measure is what the services answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from shared import blobs, subjects
from shared.bus import Bus
from shared.errors import Unprocessable, ValidationFailed
from shared.messages import faces as wire

NOT_EXTRACTED = wire.ExtractedFace()  # a face left out of the extraction: no template, no attributes

Wanted = Callable[[wire.DetectedFace], bool]


class Analysed(msgspec.Struct, frozen=True):
    """One face as the detector and the extractor saw it."""

    detected: wire.DetectedFace
    extracted: wire.ExtractedFace

    @property
    def was_extracted(self) -> bool:
        """False for a face left out of extraction (not `wanted`: a camera's templateGenerationTime
        not due)."""
        return self.extracted is not NOT_EXTRACTED


class Analysis(msgspec.Struct, frozen=True):
    """The faces of one image (largest first), the image's size, and the detector's reasons for
    the faces that faceDetectorConfig turned away."""

    width: int
    height: int
    faces: list[Analysed]
    rejected: list[str] = []

    def none_found(self) -> str:
        """Why there is no face: none at all, or each one found and why it was turned away."""
        if not self.rejected:
            return "no face found"
        return "no face passes faceDetectorConfig: found " + "; ".join(self.rejected)


def extract_request(faces: Sequence[wire.DetectedFace], features: wire.FaceFeaturesConfig) -> wire.ExtractRequest:
    """The extractor's one batch for `faces`: their crops, with the geometry its liveness checks
    need (the face's size in the photo, where the photo ends in the crop)."""
    return wire.ExtractRequest(
        crops=[f.crop for f in faces], face_features_config=features, geometry=wire.crop_geometry(list(faces))
    )


def extraction(
    detected: wire.DetectResponse, features: wire.FaceFeaturesConfig, wanted: Wanted | None = None
) -> tuple[list[int], wire.ExtractRequest | None]:
    """Which of the detected faces go to the extractor (those `wanted`, default all: their
    indexes) and the request for them; None when no face goes."""
    chosen = [i for i, f in enumerate(detected.faces) if wanted is None or wanted(f)]
    if not chosen:
        return chosen, None
    return chosen, extract_request([detected.faces[i] for i in chosen], features)


def extractor_needed(features: wire.FaceFeaturesConfig) -> bool:
    """Whether `features` asks for anything the extractor computes (a template, age, gender,
    liveness); mask status has no model (always Unknown) and the angles, sharpness and
    brightness come from the detector."""
    return features.template or features.age or features.gender or features.distant_liveness or features.nearby_liveness


def nothing_extracted(request: wire.ExtractRequest) -> wire.ExtractResponse:
    """The extractor's answer to a request that asks nothing it computes, without asking it."""
    return wire.ExtractResponse(faces=[wire.ExtractedFace() for _ in request.crops])


def combine(detected: wire.DetectResponse, chosen: list[int], extracted: wire.ExtractResponse | None) -> Analysis:
    """The detector's faces with the extractor's answers for the `chosen` ones (in their order);
    every other face gets `NOT_EXTRACTED`."""
    faces = [NOT_EXTRACTED] * len(detected.faces)
    if extracted is not None:
        for i, face in zip(chosen, extracted.faces, strict=True):
            faces[i] = face
    return Analysis(
        width=detected.width,
        height=detected.height,
        faces=[Analysed(d, e) for d, e in zip(detected.faces, faces, strict=True)],
        rejected=detected.rejected,
    )


async def analyse(
    bus: Bus,
    image: bytes,
    detector: wire.FaceDetectorConfig,
    features: wire.FaceFeaturesConfig,
    *,
    wanted: Wanted | None = None,
    where: tuple[str, str] | None = None,
    regions: Sequence[wire.Box] = (),
    region_face_sizes: Sequence[float] = (),
) -> Analysis:
    """Every face of `image` (largest first), extracted with what `features` asks for (those
    `wanted`, default all); only in `regions` (x0, y0, x1, y1) when given, each for faces from
    its `region_face_sizes` px up where more than minFaceSize (wire.DetectRequest). `where` (what the
    image is, its field path: "Image 1", "images[1].data") prefixes an error about the image
    itself, so that a request with several images says which one is bad."""
    blob = await blobs.wrap(bus, image)
    try:
        request = wire.DetectRequest(
            image=blob, face_detector_config=detector, regions=list(regions), region_face_sizes=list(region_face_sizes)
        )
        detected = await bus.request(subjects.DETECTOR_DETECT, request, wire.DetectResponse)
    except (ValidationFailed, Unprocessable) as exc:
        if where is None:
            raise
        what, field = where
        errors = {field: [m for messages in exc.errors.values() for m in messages]} if exc.errors else None
        raise type(exc)(f"{what}: {exc.detail}", errors=errors) from exc
    finally:
        await blobs.release(bus, blob)
    chosen, extract = extraction(detected, features, wanted)
    reply = None
    if extract is not None and not extractor_needed(extract.face_features_config):
        reply = nothing_extracted(extract)  # no crops sent for nothing
    elif extract is not None:
        reply = await bus.request(subjects.EXTRACTOR_EXTRACT, extract, wire.ExtractResponse)
    return combine(detected, chosen, reply)
