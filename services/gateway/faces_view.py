"""What the detector, extractor and matcher said about a face, in SmartFace's response shapes.

An analysed face's own fields come from shared.face_fields (the camera's faces use the same
mapping); this module adds what only the REST answers have: stored faces with SmartFace's
defaults, match results, liveness reasons.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared import face_fields
from shared.analysis import Analysed
from shared.liveness import spoof_result
from shared.messages import faces as wire
from shared.messages.identification import (
    NO_CAMERA_RECORD,
    Face,
    FaceFeaturesConfig,
    FailReason,
    LivenessSpoofCheck,
    SearchInWatchlistResponse,
    SearchResult,
    SpoofCheckConfig,
    SpoofCheckResponse,
    member_tracklet_id,
)
from shared.messages.matcher import Candidate, MatchedWatchlist, MemberFace

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
    """A member's stored face as SmartFace's `Face` record; its imageDataId names its image
    (GET /api/v1/Images/{id}): the registration photo when kept, else the crop."""
    known = {k: v for k, v in msgspec.to_builtins(stored.face).items() if k in Face.__struct_fields__}
    fields = {**_FACE_DEFAULTS, **known, "id": stored.id, "created_at": stored.created_at,
              "tracklet_id": member_tracklet_id(stored.member_id), "image_data_id": stored.image_id}  # fmt: skip
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
    face: Analysed, asked: FaceFeaturesConfig, found: list[SearchResult], spoof: SpoofCheckResponse
) -> SearchInWatchlistResponse:
    base = msgspec.structs.asdict(face_fields.attributes(face, asked))
    return SearchInWatchlistResponse(**base, match_results=found, spoof_check_result=spoof)


def spoof_response(face: Analysed, config: SpoofCheckConfig, distant: bool, nearby: bool) -> SpoofCheckResponse:
    """The spoof check of a face, with the extractor's reason where a check could not be made."""
    return with_liveness_reasons(spoof_result(face.extracted, config, distant, nearby), face.extracted)


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
