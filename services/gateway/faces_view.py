"""What the detector, extractor and matcher said about a face, in SmartFace's response shapes.

Scales: quality, sharpness and brightness 0..10000 as the detector gives them; angles in degrees;
`gender` is "Male"/"Female" in search, verify and detect answers, and in stored `Face` records a
number: the probability that the face is female (0 male .. 1 female), as the README says.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared.messages import faces as wire
from shared.messages.identification import (
    NO_CAMERA_RECORD,
    Face,
    FaceAttributes,
    FaceFeaturesConfig,
    FailReason,
    LivenessSpoofCheck,
    SearchInWatchlistResponse,
    SearchResult,
    SpoofCheckResponse,
)
from shared.messages.matcher import Candidate, MatchedWatchlist, MemberFace


def _corners(detected: wire.DetectedFace) -> dict[str, float]:
    lt, rt, lb, rb = detected.crop_corners
    return {
        "crop_left_top_x": lt.x, "crop_left_top_y": lt.y, "crop_right_top_x": rt.x, "crop_right_top_y": rt.y,
        "crop_left_bottom_x": lb.x, "crop_left_bottom_y": lb.y,
        "crop_right_bottom_x": rb.x, "crop_right_bottom_y": rb.y,
    }  # fmt: skip


def _female_probability(extracted: wire.ExtractedFace) -> float | None:
    if extracted.gender is None or extracted.gender_confidence is None:
        return None
    confidence = extracted.gender_confidence / 10000
    return confidence if extracted.gender == "Female" else 1 - confidence


def attributes(detected: wire.DetectedFace, extracted: wire.ExtractedFace, asked: FaceFeaturesConfig) -> FaceAttributes:
    """One detected face with the attributes `asked` for (the others null)."""
    marks = detected.landmarks
    pose = detected.pose
    return FaceAttributes(
        **_corners(detected),
        quality=detected.quality,
        left_eye_x=marks.left_eye.x, left_eye_y=marks.left_eye.y,
        right_eye_x=marks.right_eye.x, right_eye_y=marks.right_eye.y,
        age=extracted.age if asked.age else None,
        gender=extracted.gender if asked.gender else None,
        face_size=detected.face_size,
        face_mask_confidence=float(extracted.face_mask_confidence)
        if asked.face_mask and extracted.face_mask_confidence is not None else None,
        nose_tip_confidence=None,  # no nose-tip visibility model is shipped (docs/models.md)
        face_mask_status=extracted.face_mask_status if asked.face_mask else "Unknown",
        sharpness=float(detected.sharpness) if asked.sharpness else None,
        brightness=float(detected.brightness) if asked.brightness else None,
        tinted_glasses=None, heavy_frame=None, glass_status=None,  # no glasses model is shipped
        pitch_angle=pose.pitch if asked.pitch_angle else None,
        yaw_angle=pose.yaw if asked.yaw_angle else None,
        roll_angle=pose.roll if asked.roll_angle else None,
        face_area=detected.face_area,
        template_quality=extracted.template_quality or 0,
        face_order=detected.face_order,
    )  # fmt: skip


def stored_fields(detected: wire.DetectedFace, extracted: wire.ExtractedFace) -> dict[str, Any]:
    """What Postgres keeps about an enrolled face (the `Face` fields that are not bookkeeping)."""
    marks, pose = detected.landmarks, detected.pose
    return {
        **_corners(detected),
        "quality": detected.quality, "template_quality": extracted.template_quality,
        "left_eye_x": marks.left_eye.x, "left_eye_y": marks.left_eye.y,
        "right_eye_x": marks.right_eye.x, "right_eye_y": marks.right_eye.y,
        "age": extracted.age, "gender": _female_probability(extracted),
        "face_mask_confidence": extracted.face_mask_confidence, "face_mask_status": extracted.face_mask_status,
        "face_area": detected.face_area, "size": detected.face_size, "face_order": detected.face_order,
        "yaw_angle": pose.yaw, "pitch_angle": pose.pitch, "roll_angle": pose.roll,
        "sharpness": detected.sharpness, "brightness": detected.brightness,
    }  # fmt: skip


_FACE_DEFAULTS: dict[str, Any] = {
    "tracklet_id": NO_CAMERA_RECORD, "template_quality": None, "state": "Extracted", "image_data_id": None,
    "processed_at": None, "frame_id": NO_CAMERA_RECORD, "type": "Regular", "age": None, "gender": None,
    "face_mask_confidence": None, "nose_tip_confidence": None, "face_mask_status": "Unknown", "face_area": None,
    "face_order": None, "faces_on_frame_count": None, "face_area_change": 0.0, "yaw_angle": None,
    "pitch_angle": None, "roll_angle": None, "autolearn_cluster_type": None, "sharpness": None,
    "brightness": None, "tinted_glasses": None, "heavy_frame": None, "glass_status": None,
    "left_eye_x": None, "left_eye_y": None, "right_eye_x": None, "right_eye_y": None, "updated_at": None,
}  # fmt: skip


def face(stored: MemberFace) -> Face:
    """A member's stored face as SmartFace's `Face` record."""
    known = {k: v for k, v in stored.face.items() if k in Face.__struct_fields__}
    fields = {**_FACE_DEFAULTS, **known, "id": stored.id, "created_at": stored.created_at}
    fields.setdefault("size", 0.0)
    fields["processed_at"] = fields["processed_at"] or stored.created_at
    return Face(**fields)


def search_result(candidate: Candidate, watchlist: MatchedWatchlist) -> SearchResult:
    """One SearchResult: a matching member in one of the watchlists it passed in."""
    member = candidate.member
    return SearchResult(
        score=candidate.score, watchlist_member_id=member.id, display_name=member.display_name,
        full_name=member.full_name, watchlist_display_name=watchlist.display_name,
        watchlist_full_name=watchlist.full_name, watchlist_id=watchlist.id, preview_color=watchlist.preview_color,
        labels=member.labels,
    )  # fmt: skip


def search_response(
    detected: wire.DetectedFace,
    extracted: wire.ExtractedFace,
    asked: FaceFeaturesConfig,
    found: list[SearchResult],
    spoof: SpoofCheckResponse,
) -> SearchInWatchlistResponse:
    base = msgspec.structs.asdict(attributes(detected, extracted, asked))
    return SearchInWatchlistResponse(**base, match_results=found, spoof_check_result=spoof)


def with_liveness_reasons(result: SpoofCheckResponse, extracted: wire.ExtractedFace) -> SpoofCheckResponse:
    """A check the extractor could not make says why (face too small, too close to the border)."""

    def one(check: LivenessSpoofCheck, reason: str | None) -> LivenessSpoofCheck:
        if check.performed or reason is None:
            return check
        return msgspec.structs.replace(check, not_performed_reasons=[FailReason(reason_message=reason)])

    return msgspec.structs.replace(
        result,
        distant_liveness_spoof_check=one(result.distant_liveness_spoof_check, extracted.distant_liveness_reason),
        nearby_liveness_spoof_check=one(result.nearby_liveness_spoof_check, extracted.nearby_liveness_reason),
    )
