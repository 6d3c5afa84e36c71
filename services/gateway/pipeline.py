"""The identification chain behind the REST edge: the image goes once to the detector (faces,
landmarks, quality, aligned crops), the crops to the extractor (templates, attributes, liveness,
one batch), the templates to the matcher. This module only sequences those calls and renders
their answers in SmartFace's shapes; the work itself happens in the workers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import msgspec
import numpy as np

from services.gateway import faces_view
from services.gateway.freshness import GalleryFreshness
from services.gateway.resources import check_resources
from services.gateway.template_model import TemplateModel
from shared import blobs, subjects
from shared.bus import Bus
from shared.errors import Unprocessable, ValidationFailed
from shared.liveness import liveness_wanted, spoof_result
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.common import ById, Page, PageQuery
from shared.messages.gallery import WatchlistMember
from shared.messages.identification import (
    AddNewFaceRequest,
    DetectedFace,
    Face,
    FaceDetectorConfig,
    FaceDetectRequest,
    FaceDetectResponse,
    FaceFeaturesConfig,
    FaceSearchDetectorConfig,
    RegisterWatchlistMemberRequest,
    SearchInWatchlistByTemplateRequest,
    SearchInWatchlistByTemplateResponse,
    SearchInWatchlistRequest,
    SearchInWatchlistResponse,
    SearchResult,
    SpoofCheckConfig,
    SpoofCheckRequest,
    SpoofCheckResponse,
    VerificationRequest,
    VerificationResponse,
    WatchlistMemberWithRelatedData,
)
from shared.scores import score_from_similarity

PHOTO_MAX_FACE_SIZE = 100_000

NO_FEATURES = FaceFeaturesConfig(**{f: False for f in FaceFeaturesConfig.__struct_fields__})


class Analysed(msgspec.Struct, frozen=True):
    """One face as the detector and the extractor saw it."""

    detected: wire.DetectedFace
    extracted: wire.ExtractedFace


class Faces(list[Analysed]):
    """The faces of one image (largest first), with the detector's reasons for the faces that
    faceDetectorConfig turned away."""

    def __init__(self, faces: list[Analysed], rejected: list[str]) -> None:
        super().__init__(faces)
        self.rejected = rejected

    def none_found(self) -> str:
        """Why there is no face: none at all, or each one found and why it was turned away."""
        if not self.rejected:
            return "no face found"
        return "no face passes faceDetectorConfig: found " + "; ".join(self.rejected)


# Detection and extraction.


def detector_config(
    config: FaceDetectorConfig | FaceSearchDetectorConfig | None, max_faces: int | None = None
) -> wire.FaceDetectorConfig:
    # SmartFace's maxFaceSize default (600 px) suits cameras; a photo sent without any
    # faceDetectorConfig often holds a larger face, so then no upper bound applies.
    fields = msgspec.structs.asdict(config) if config is not None else {"max_face_size": PHOTO_MAX_FACE_SIZE}
    if max_faces is not None:
        fields["max_faces"] = max_faces
    return wire.FaceDetectorConfig(**fields)


def features_config(
    features: FaceFeaturesConfig | None,
    *,
    template: bool,
    distant: bool = False,
    nearby: bool = False,
    mask_threshold: float = 3000,
) -> wire.FaceFeaturesConfig:
    f = features or FaceFeaturesConfig()
    return wire.FaceFeaturesConfig(
        age=f.age, gender=f.gender, face_mask=f.face_mask, yaw_angle=f.yaw_angle, pitch_angle=f.pitch_angle,
        roll_angle=f.roll_angle, sharpness=f.sharpness, brightness=f.brightness, template=template,
        distant_liveness=distant, nearby_liveness=nearby, face_mask_threshold=int(mask_threshold),
    )  # fmt: skip


async def analyse(
    bus: Bus,
    image: bytes,
    detector: wire.FaceDetectorConfig,
    features: wire.FaceFeaturesConfig,
    *,
    where: tuple[str, str] | None = None,
) -> Faces:
    """Every face of `image` (largest first) with what `features` asks for. `where` (what the
    image is, its field path: "Image 1", "images[1].data") prefixes an error about the image
    itself, so that a request with several images says which one is bad."""
    blob = await blobs.wrap(bus, image)
    try:
        detected = await bus.request(
            subjects.DETECTOR_DETECT, wire.DetectRequest(image=blob, face_detector_config=detector), wire.DetectResponse
        )
    except (ValidationFailed, Unprocessable) as exc:
        if where is None:
            raise
        what, field = where
        errors = {field: [m for messages in exc.errors.values() for m in messages]} if exc.errors else None
        raise type(exc)(f"{what}: {exc.detail}", errors=errors) from exc
    finally:
        await blobs.release(bus, blob)
    if not detected.faces:
        return Faces([], detected.rejected)
    extract = wire.ExtractRequest(
        crops=[f.crop for f in detected.faces],
        face_features_config=features,
        geometry=wire.crop_geometry(detected.faces),
    )
    extracted = await bus.request(subjects.EXTRACTOR_EXTRACT, extract, wire.ExtractResponse)
    return Faces([Analysed(d, e) for d, e in zip(detected.faces, extracted.faces, strict=True)], detected.rejected)


def spoof(face: Analysed, config: SpoofCheckConfig, distant: bool, nearby: bool) -> SpoofCheckResponse:
    """The spoof check of a face, with the extractor's reason where a check could not be made."""
    return faces_view.with_liveness_reasons(spoof_result(face.extracted, config, distant, nearby), face.extracted)


def largest(faces: Faces, what: str) -> Analysed:
    if not faces:
        raise Unprocessable(f"The {what}: {faces.none_found()}.")
    return faces[0]


def split_model(template_model: str) -> tuple[str, str]:
    name, _, version = template_model.partition("@")
    return name, version


# Registration and faces.


# faceValidationMode "predefined" (SmartFace's default for enrollment) refuses a blurred face:
# on ../shared/faces the largest face of every photo has sharpness 2234 or more, and of every
# photo blurred by 1% of its side 1296 or less; a gallery of blurred faces is where strangers
# pass threshold 40 (docs/models.md). "none" skips the check.
MIN_ENROLL_SHARPNESS = 1500


def pick_face(faces: Faces, index: int, selector: str | None, validation: str | None = "predefined") -> Analysed:
    """The one face an enrollment photo gives, or a 422 that names the photo and the reason."""
    if not faces:
        raise Unprocessable(f"Image {index}: {faces.none_found()}.")
    if len(faces) > 1 and selector in (None, "singleFaceOnly"):
        raise Unprocessable(
            f"Image {index}: {len(faces)} faces found where faceSelector singleFaceOnly needs exactly one "
            "(send faceSelector largestFace to take the largest)."
        )
    sharpness = faces[0].detected.sharpness
    if (validation or "predefined").lower() != "none" and sharpness < MIN_ENROLL_SHARPNESS:
        raise Unprocessable(
            f"Image {index}: the face is too blurred to enroll (sharpness {sharpness} of 10000, at least "
            f"{MIN_ENROLL_SHARPNESS} needed; faceValidationMode none skips this check)."
        )
    return faces[0]


async def enrollment_faces(
    bus: Bus,
    images: Sequence[tuple[bytes, str | None, str | None]],
    config: FaceDetectorConfig | None,
    keep_crops: bool,
    validation: str | None = "predefined",
) -> list[m.NewFace]:
    """(image, faceSelector, faceId) -> faces to store; every image must give one usable face."""
    detector = detector_config(config)
    features = features_config(FaceFeaturesConfig(), template=True)
    analysed = await asyncio.gather(
        *(
            analyse(bus, image, detector, features, where=(f"Image {i}", f"images[{i}].data"))
            for i, (image, _, _) in enumerate(images)
        )
    )
    new_faces = []
    for index, ((_, selector, face_id), faces) in enumerate(zip(images, analysed, strict=True)):
        face = pick_face(faces, index, selector, validation)
        if face.extracted.template is None:
            raise Unprocessable(f"Image {index}: no template could be made from the face.")
        name, version = split_model(face.extracted.template_model)
        new_faces.append(
            m.NewFace(
                template=face.extracted.template, model_name=name, model_version=version, face_id=face_id,
                face=faces_view.stored_fields(face.detected, face.extracted),
                crop=face.detected.crop if keep_crops else None,
            )
        )  # fmt: skip
    return new_faces


async def register(bus: Bus, req: RegisterWatchlistMemberRequest) -> WatchlistMemberWithRelatedData:
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
    )
    keep = req.privacy.save_registration_images if req.privacy else True
    images = [(i.data, i.face_selector, i.face_id) for i in req.images]
    new_faces = await enrollment_faces(bus, images, req.face_detector_config, keep, req.face_validation_mode)
    reply = await bus.request(
        subjects.MEMBER_REGISTER,
        m.RegisterMemberRequest(
            id=req.id or str(uuid.uuid4()), display_name=req.display_name, full_name=req.full_name, note=req.note,
            labels=req.labels or [], privacy=req.privacy, watchlist_ids=req.watchlist_ids, faces=new_faces,
        ),
        m.RegisterMemberReply,
    )  # fmt: skip
    GalleryFreshness.of(bus).saw(reply.seq)
    return WatchlistMemberWithRelatedData(
        watchlists=reply.watchlists, faces=[faces_view.face(f) for f in reply.faces],
        display_name=reply.member.display_name, full_name=reply.member.full_name, note=reply.member.note,
        labels=reply.member.labels, totp_enabled=reply.member.totp_enabled, privacy=reply.member.privacy,
        id=reply.member.id, created_at=reply.member.created_at, updated_at=reply.member.updated_at,
    )  # fmt: skip


async def add_face(bus: Bus, member_id: str, req: AddNewFaceRequest) -> Face:
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
    )
    member = await bus.request(subjects.MEMBER_GET, ById(id=member_id), WatchlistMember)  # 404 first
    image = req.image_data
    (new_face,) = await enrollment_faces(
        bus, [(image.data, image.face_selector, image.face_id)], req.face_detector_config,
        member.privacy.save_registration_images, req.face_validation_mode,
    )  # fmt: skip
    added = await bus.request(
        subjects.FACE_ADD, m.AddFacesRequest(member_id=member_id, faces=[new_face]), m.AddFacesReply
    )
    GalleryFreshness.of(bus).saw(added.seq)
    return faces_view.face(added.faces[0])


async def list_faces(bus: Bus, member_id: str, query: PageQuery) -> Page[Face]:
    page = await bus.request(
        subjects.FACE_LIST, m.MemberFacesQuery(member_id=member_id, page=query), Page[m.MemberFace]
    )
    return Page(items=[faces_view.face(f) for f in page.items], has_next=page.has_next,
                total_items_count=page.total_items_count)  # fmt: skip


async def remove_face(bus: Bus, member_id: str, face_id: str) -> None:
    ack = await bus.request(
        subjects.FACE_REMOVE, m.RemoveFaceRequest(member_id=member_id, face_id=face_id), m.ChangeAck
    )
    GalleryFreshness.of(bus).saw(ack.seq)


# 1:N search.


async def match(
    bus: Bus,
    templates: list[bytes],
    model: str,
    watchlist_ids: list[str] | None,
    threshold: int | None,
    max_results: int,
) -> list[list[SearchResult]]:
    """One list of SearchResults per template, one per member and watchlist, as the matcher
    ordered and cut them."""
    reply = await bus.request(
        subjects.TEMPLATE_SEARCH,
        m.SearchRequest(
            templates=templates, model_name=model, watchlist_ids=watchlist_ids or [], threshold=threshold,
            max_result_count=max_results, min_seq=GalleryFreshness.of(bus).seq,
        ),
        m.SearchReply,
    )  # fmt: skip
    return [
        [faces_view.search_result(c, w) for c in result.candidates for w in c.watchlists] for result in reply.results
    ]


async def search(bus: Bus, req: SearchInWatchlistRequest) -> list[SearchInWatchlistResponse]:
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
    )
    distant, nearby = liveness_wanted(req.spoof_detector_resource_ids)
    mask = req.face_mask_confidence_request.face_mask_threshold if req.face_mask_confidence_request else 3000
    faces = await analyse(
        bus, req.image.data, detector_config(req.face_detector_config),
        features_config(req.face_features_config, template=True, distant=distant, nearby=nearby, mask_threshold=mask),
    )  # fmt: skip
    if not faces:
        return []
    templates = [f.extracted.template for f in faces if f.extracted.template is not None]
    if len(templates) != len(faces):
        raise Unprocessable("A template could not be made for every face.")
    model, _ = split_model(faces[0].extracted.template_model)
    results = await match(bus, templates, model, req.watchlist_ids, req.threshold, req.max_result_count)
    checks = req.spoof_check_config or SpoofCheckConfig()
    features = req.face_features_config or FaceFeaturesConfig()
    return [
        faces_view.search_response(f.detected, f.extracted, features, found, spoof(f, checks, distant, nearby))
        for f, found in zip(faces, results, strict=True)
    ]


async def search_by_template(bus: Bus, req: SearchInWatchlistByTemplateRequest) -> SearchInWatchlistByTemplateResponse:
    if len(req.template) == 0 or len(req.template) % 4:
        raise ValidationFailed(
            "template must be float32 values, base64 encoded.", errors={"template": ["not float32 bytes"]}
        )
    model = await TemplateModel.of(bus).name(bus)
    (found,) = await match(bus, [req.template], model, req.watchlist_ids, req.threshold, req.max_result_count)
    return SearchInWatchlistByTemplateResponse(match_results=found)


# 1:1, liveness, detection.


async def verify(bus: Bus, req: VerificationRequest) -> VerificationResponse:
    for name, probe_of in (("probeImage", req.probe_image), ("referenceImage", req.reference_image)):
        check_resources(**{
            f"{name}.faceDetectorResourceId": probe_of.face_detector_resource_id,
            f"{name}.templateGeneratorResourceId": probe_of.template_generator_resource_id,
        })  # fmt: skip
    features = features_config(None, template=True)
    probe_faces, reference_faces = await asyncio.gather(
        analyse(
            bus, req.probe_image.image.data, detector_config(req.probe_image.face_detector_config, 1), features,
            where=("The probe image", "probeImage.image.data"),
        ),
        analyse(
            bus, req.reference_image.image.data, detector_config(req.reference_image.face_detector_config, 1),
            features, where=("The reference image", "referenceImage.image.data"),
        ),
    )  # fmt: skip
    probe, reference = largest(probe_faces, "probe image"), largest(reference_faces, "reference image")
    if probe.extracted.template is None or reference.extracted.template is None:
        raise Unprocessable("A template could not be made from one of the faces.")
    similarity = float(
        np.frombuffer(probe.extracted.template, "<f4") @ np.frombuffer(reference.extracted.template, "<f4")
    )
    all_features = FaceFeaturesConfig()
    return VerificationResponse(
        confidence=float(score_from_similarity(similarity)),
        probe_face_details=faces_view.attributes(probe.detected, probe.extracted, all_features),
        reference_face_details=faces_view.attributes(reference.detected, reference.extracted, all_features),
    )


async def spoof_check(bus: Bus, req: SpoofCheckRequest) -> SpoofCheckResponse:
    check_resources(faceDetectorResourceId=req.face_detector_resource_id)
    distant, nearby = liveness_wanted(req.spoof_detector_resource_ids)
    features = features_config(NO_FEATURES, template=False, distant=distant, nearby=nearby)
    face = largest(await analyse(bus, req.image.data, detector_config(req.face_detector_config, 1), features), "image")
    return spoof(face, req.spoof_check_config or SpoofCheckConfig(), distant, nearby)


async def detect(bus: Bus, req: FaceDetectRequest) -> FaceDetectResponse:
    features = req.face_features_config or FaceFeaturesConfig()
    faces = await analyse(
        bus, req.image.data, detector_config(req.face_detector_config), features_config(features, template=False)
    )
    return FaceDetectResponse(
        faces=[
            DetectedFace(
                **msgspec.structs.asdict(faces_view.attributes(f.detected, f.extracted, features)),
                crop_image=f.detected.crop if req.include_crops else None,
            )
            for f in faces
        ]
    )
