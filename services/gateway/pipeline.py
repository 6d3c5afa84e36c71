"""The identification chain behind the REST edge: the image goes once to the detector and the
crops to the extractor (shared.analysis), the templates to the matcher. This module only
sequences those calls: which face a request takes is face_choice's rule, how a face reads in
SmartFace's shapes faces_view's and shared.face_fields', the work itself the workers'."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import msgspec

from services.gateway import faces_view
from services.gateway.analysis_config import NO_FEATURES, allowed, detector_config, features_config, split_model
from services.gateway.face_choice import check_sharp, largest, pick_face
from services.gateway.freshness import GalleryFreshness
from services.gateway.resources import check_resources
from services.gateway.template_model import TemplateModel
from shared import analysis, blobs, face_fields, subjects
from shared.bus import Bus
from shared.errors import Unprocessable, ValidationFailed
from shared.liveness import liveness_wanted
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
    FaceWatchlistMemberLinkingRequest,
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
from shared.messages.seen import StoredFace
from shared.messages.setup import FeaturesConfig
from shared.scores import score_of_templates

# Registration and faces.


async def enrollment_faces(
    bus: Bus,
    images: Sequence[tuple[bytes, str | None, str | None]],
    config: FaceDetectorConfig | None,
    keep_crops: bool,
    validation: str | None = "predefined",
    keep_photos: bool = False,
) -> list[m.NewFace]:
    """(image, faceSelector, faceId) -> faces to store; every image must give one usable face.
    The faces keep their crops when `keep_crops` (the member's privacy) says so, and then their
    whole photos too when `keep_photos` does; the caller releases those (release_photos)."""
    detector = detector_config(config)
    features = features_config(FaceFeaturesConfig(), template=True)
    analysed = await asyncio.gather(
        *(
            analysis.analyse(bus, image, detector, features, where=(f"Image {i}", f"images[{i}].data"))
            for i, (image, _, _) in enumerate(images)
        )
    )
    new_faces = []
    for index, ((_, selector, face_id), found) in enumerate(zip(images, analysed, strict=True)):
        face = pick_face(found, index, selector, validation)
        if face.extracted.template is None:
            raise Unprocessable(f"Image {index}: no template could be made from the face.")
        name, version = split_model(face.extracted.template_model)
        new_faces.append(
            m.NewFace(
                template=face.extracted.template, model_name=name, model_version=version, face_id=face_id or None,
                face=face_fields.stored_fields(face), crop=face.detected.crop if keep_crops else None,
            )
        )  # fmt: skip
    if keep_crops and keep_photos:  # every image gave its face: nothing stored in vain
        # The photos share half of one message (crops and the rest fill the other half).
        share = blobs.inline_limit(bus) // (2 * len(images))
        new_faces = [
            msgspec.structs.replace(face, photo=await blobs.wrap(bus, image, share))
            for face, (image, _, _) in zip(new_faces, images, strict=True)
        ]
    return new_faces


async def release_photos(bus: Bus, faces: Sequence[m.NewFace]) -> None:
    """Free the photos enrollment_faces stored by reference, once the matcher has them."""
    for face in faces:
        if face.photo is not None:
            await blobs.release(bus, face.photo)


async def register(
    bus: Bus, freshness: GalleryFreshness, req: RegisterWatchlistMemberRequest, keep_photos: bool = False
) -> WatchlistMemberWithRelatedData:
    """A new member from photos; `keep_photos` (FACEGATE_KEEP_REGISTRATION_PHOTOS), or the
    request's keepAutoLearnPhotos, keeps the whole photos beside the crops; keepAutoLearnPhotos
    also stays with the member: the faces auto-learn adds keep the camera's crop."""
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
        faceValidationMode=req.face_validation_mode,
    )
    keep = req.privacy.save_registration_images if req.privacy else True
    images = [(i.data, i.face_selector, i.face_id) for i in req.images]
    new_faces = await enrollment_faces(
        bus, images, req.face_detector_config, keep, req.face_validation_mode,
        keep_photos or req.keep_auto_learn_photos,
    )  # fmt: skip
    try:
        reply = await bus.request(
            subjects.MEMBER_REGISTER,
            m.RegisterMemberRequest(
                id=req.id or str(uuid.uuid4()), display_name=req.display_name, full_name=req.full_name,
                note=req.note, labels=req.labels or [], privacy=req.privacy, watchlist_ids=req.watchlist_ids,
                faces=new_faces, keep_auto_learn_photos=req.keep_auto_learn_photos,
            ),
            m.RegisterMemberReply,
        )  # fmt: skip
    finally:
        await release_photos(bus, new_faces)
    freshness.saw(reply.seq)
    return WatchlistMemberWithRelatedData(
        watchlists=reply.watchlists, faces=[faces_view.face(f) for f in reply.faces],
        display_name=reply.member.display_name, full_name=reply.member.full_name, note=reply.member.note,
        labels=reply.member.labels, totp_enabled=reply.member.totp_enabled, privacy=reply.member.privacy,
        id=reply.member.id, created_at=reply.member.created_at, updated_at=reply.member.updated_at,
    )  # fmt: skip


async def add_face(
    bus: Bus, freshness: GalleryFreshness, member_id: str, req: AddNewFaceRequest, keep_photos: bool = False
) -> Face:
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
        faceValidationMode=req.face_validation_mode,
    )
    member = await bus.request(subjects.MEMBER_GET, ById(id=member_id), WatchlistMember)  # 404 first
    image = req.image_data
    (new_face,) = await enrollment_faces(
        bus, [(image.data, image.face_selector, image.face_id)], req.face_detector_config,
        member.privacy.save_registration_images, req.face_validation_mode, keep_photos,
    )  # fmt: skip
    try:
        added = await bus.request(
            subjects.FACE_ADD, m.AddFacesRequest(member_id=member_id, faces=[new_face]), m.AddFacesReply
        )
    finally:
        await release_photos(bus, [new_face])
    freshness.saw(added.seq)
    return faces_view.face(added.faces[0])


async def add_face_from_system(
    bus: Bus, freshness: GalleryFreshness, member_id: str, req: FaceWatchlistMemberLinkingRequest
) -> None:
    """A face a camera stored becomes one of the member's faces under the same id, with its
    template (no image is analysed again) and, where the member's privacy allows, its crop: 404
    for an unknown member or face, 422 for a face without a template or (faceValidationMode
    predefined) too blurred, 409 when a member already has a face with that id."""
    check_resources(faceValidationMode=req.face_validation_mode)
    member = await bus.request(subjects.MEMBER_GET, ById(id=member_id), WatchlistMember)
    stored = await bus.request(subjects.SEEN_FACE_STORED, ById(id=req.face_id), StoredFace)
    if stored.template is None:
        raise Unprocessable(f"Face {req.face_id} has no template (it was left out of extraction).")
    check_sharp(stored.face.sharpness or 0.0, req.face_validation_mode, f"Face {req.face_id}")
    name, version = split_model(stored.template_model)
    new_face = m.NewFace(
        template=stored.template, model_name=name, model_version=version, face_id=req.face_id, face=stored.face,
        crop=stored.crop if member.privacy.save_registration_images else None,
    )  # fmt: skip
    added = await bus.request(
        subjects.FACE_ADD, m.AddFacesRequest(member_id=member_id, faces=[new_face]), m.AddFacesReply
    )
    freshness.saw(added.seq)


async def list_faces(bus: Bus, member_id: str, query: PageQuery) -> Page[Face]:
    page = await bus.request(
        subjects.FACE_LIST, m.MemberFacesQuery(member_id=member_id, page=query), Page[m.MemberFace]
    )
    return Page(items=[faces_view.face(f) for f in page.items], has_next=page.has_next,
                total_items_count=page.total_items_count)  # fmt: skip


async def remove_face(bus: Bus, freshness: GalleryFreshness, member_id: str, face_id: str) -> None:
    ack = await bus.request(
        subjects.FACE_REMOVE, m.RemoveFaceRequest(member_id=member_id, face_id=face_id), m.ChangeAck
    )
    freshness.saw(ack.seq)


# 1:N search.


async def match(
    bus: Bus,
    freshness: GalleryFreshness,
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
            max_result_count=max_results, min_seq=freshness.seq,
        ),
        m.SearchReply,
    )  # fmt: skip
    return [
        [faces_view.search_result(c, w) for c in result.candidates for w in c.watchlists] for result in reply.results
    ]


async def search(
    bus: Bus, freshness: GalleryFreshness, req: SearchInWatchlistRequest, setup: FeaturesConfig | None = None
) -> list[SearchInWatchlistResponse]:
    """Every face of the image against the watchlists; attributes as the request and the Setup's
    Features (`setup`, all on when None) ask."""
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
        faceValidationMode=req.face_validation_mode,
    )
    distant, nearby = liveness_wanted(req.spoof_detector_resource_ids)
    mask = req.face_mask_confidence_request.face_mask_threshold if req.face_mask_confidence_request else 3000
    features = allowed(req.face_features_config, setup or FeaturesConfig.all_on())
    extract = features_config(features, template=True, distant=distant, nearby=nearby, mask_threshold=mask)
    found = await analysis.analyse(bus, req.image.data, detector_config(req.face_detector_config), extract)
    largest(found, "image")  # none usable: a 422, which Search answers as SmartFace's 400 (statuses.OVERRIDES)
    faces = found.faces
    templates = [f.extracted.template for f in faces if f.extracted.template is not None]
    if len(templates) != len(faces):
        raise Unprocessable("A template could not be made for every face.")
    model, _ = split_model(faces[0].extracted.template_model)
    results = await match(bus, freshness, templates, model, req.watchlist_ids, req.threshold, req.max_result_count)
    checks = req.spoof_check_config or SpoofCheckConfig()
    return [
        faces_view.search_response(f, features, found, faces_view.spoof_response(f, checks, distant, nearby))
        for f, found in zip(faces, results, strict=True)
    ]


async def search_by_template(
    bus: Bus, freshness: GalleryFreshness, template_model: TemplateModel, req: SearchInWatchlistByTemplateRequest
) -> SearchInWatchlistByTemplateResponse:
    if len(req.template) == 0 or len(req.template) % 4:
        raise ValidationFailed(
            "template must be float32 values, base64 encoded.", errors={"template": ["not float32 bytes"]}
        )
    model = await template_model.name(bus)
    (found,) = await match(
        bus, freshness, [req.template], model, req.watchlist_ids, req.threshold, req.max_result_count
    )
    return SearchInWatchlistByTemplateResponse(match_results=found)


# 1:1, liveness, detection.


async def verify(bus: Bus, req: VerificationRequest, setup: FeaturesConfig | None = None) -> VerificationResponse:
    for name, probe_of in (("probeImage", req.probe_image), ("referenceImage", req.reference_image)):
        check_resources(**{
            f"{name}.faceDetectorResourceId": probe_of.face_detector_resource_id,
            f"{name}.templateGeneratorResourceId": probe_of.template_generator_resource_id,
        })  # fmt: skip
    all_features = allowed(None, setup or FeaturesConfig.all_on())
    features = features_config(all_features, template=True)
    probe_found, reference_found = await asyncio.gather(
        analysis.analyse(
            bus, req.probe_image.image.data, detector_config(req.probe_image.face_detector_config, 1), features,
            where=("The probe image", "probeImage.image.data"),
        ),
        analysis.analyse(
            bus, req.reference_image.image.data, detector_config(req.reference_image.face_detector_config, 1),
            features, where=("The reference image", "referenceImage.image.data"),
        ),
    )  # fmt: skip
    probe, reference = largest(probe_found, "probe image"), largest(reference_found, "reference image")
    if probe.extracted.template is None or reference.extracted.template is None:
        raise Unprocessable("A template could not be made from one of the faces.")
    return VerificationResponse(
        confidence=float(score_of_templates(probe.extracted.template, reference.extracted.template)),
        probe_face_details=face_fields.attributes(probe, all_features),
        reference_face_details=face_fields.attributes(reference, all_features),
    )


async def spoof_check(bus: Bus, req: SpoofCheckRequest) -> SpoofCheckResponse:
    check_resources(faceDetectorResourceId=req.face_detector_resource_id)
    distant, nearby = liveness_wanted(req.spoof_detector_resource_ids)
    features = features_config(NO_FEATURES, template=False, distant=distant, nearby=nearby)
    found = await analysis.analyse(bus, req.image.data, detector_config(req.face_detector_config, 1), features)
    checks = req.spoof_check_config or SpoofCheckConfig()
    return faces_view.spoof_response(largest(found, "image"), checks, distant, nearby)


async def detect(bus: Bus, req: FaceDetectRequest, setup: FeaturesConfig | None = None) -> FaceDetectResponse:
    features = allowed(req.face_features_config, setup or FeaturesConfig.all_on())
    found = await analysis.analyse(
        bus, req.image.data, detector_config(req.face_detector_config), features_config(features, template=False)
    )
    return FaceDetectResponse(
        faces=[
            DetectedFace(
                **msgspec.structs.asdict(face_fields.attributes(f, features)),
                crop_image=f.detected.crop if req.include_crops else None,
            )
            for f in found.faces
        ]
    )
