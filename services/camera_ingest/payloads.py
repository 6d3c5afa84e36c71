"""A camera face as SmartFace announces it: the event payloads (shared/messages/events.py), made
of its stored `Face` fields (shared.face_fields) and what the pipeline knows. Pure functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from shared.analysis import Analysed
from shared.messages import events as ev
from shared.messages.faces import FaceFeaturesConfig
from shared.messages.grouping import TrackletSummary
from shared.messages.matcher import MatchedMember, MatchedWatchlist


@dataclass
class FrameRef:
    """An analysed frame; stored (row, and image when the camera keeps frames) with its first
    stored face, so frames nobody refers to never reach the database."""

    id: str
    camera_id: str
    at: datetime
    position_ms: int
    width: int
    height: int
    jpeg: bytes | None  # kept only when the camera stores frame images
    stored: bool = False


@dataclass
class SeenFace:
    """One analysed face of a tracklet."""

    id: str
    frame: FrameRef
    analysed: Analysed
    fields: dict[str, Any]  # the Face fields (snake_case) that are not bookkeeping: face_fields.stored_fields
    processed_at: datetime
    stored: bool = False
    created_at: datetime | None = None
    image_id: str | None = None
    spoof: ev.SpoofCheck | None = None  # only when the camera asks for liveness
    # What the extractor still has to compute (age, gender) before the face is stored or
    # announced: a video record's faces get them then, not on every frame (StreamSession.attributes).
    pending: FaceFeaturesConfig | None = None

    @property
    def quality(self) -> int:
        return self.analysed.detected.quality

    @property
    def rank(self) -> tuple[bool, int]:
        """How good a tracklet's best face it is: an extracted one first, then by quality."""
        return self.analysed.was_extracted, self.quality


def _common(face: SeenFace, tracklet_id: str) -> dict[str, Any]:
    f = face.fields
    return {
        **{k: f[k] for k in ev.FaceCreatedNotification.__struct_fields__ if k in f},
        "id": face.id, "tracklet_id": tracklet_id, "frame_id": face.frame.id, "stream_id": face.frame.camera_id,
        "image_data_id": face.image_id, "created_at": face.created_at or face.processed_at, "updated_at": None,
        "processed_at": face.processed_at,
    }  # fmt: skip


def face_created(face: SeenFace, tracklet_id: str) -> ev.FaceCreatedNotification:
    fields = _common(face, tracklet_id)
    fields.update(area_on_frame=None, object_order_on_frame_for_type=None, objects_on_frame_count_for_type=None)
    return ev.FaceCreatedNotification(**{k: fields[k] for k in ev.FaceCreatedNotification.__struct_fields__})


def face_extracted(face: SeenFace, tracklet_id: str) -> ev.FaceExtractedNotification:
    fields = {**_common(face, tracklet_id), "template_quality": face.fields["template_quality"]}
    return ev.FaceExtractedNotification(**{k: fields[k] for k in ev.FaceExtractedNotification.__struct_fields__})


def _result(face: SeenFace, tracklet_id: str, crop: bytes | None, kind: ev.MatchResultType) -> dict[str, Any]:
    f = face.fields
    return {
        **{k: f[k] for k in ev.MatchResultNotification.__struct_fields__ if k in f},
        "crop_image": crop, "trace_operation_name": None,
        "frame_timestamp_microseconds": int(face.frame.at.timestamp() * 1_000_000),
        "id": str(uuid.uuid4()), "type": kind,
        "stream_id": face.frame.camera_id, "frame_id": face.frame.id, "client_id": None,
        "face_size": f["size"], "face_area": f["face_area"] or 0.0, "face_order": f["face_order"] or 1,
        "faces_on_frame_count": f["faces_on_frame_count"] or 1,
        "created_at": face.processed_at, "updated_at": None, "processed_at": face.processed_at,
        "tracklet_id": tracklet_id, "face_id": face.id, "template_quality": f["template_quality"] or 0,
        "face_quality": f["quality"],
    }  # fmt: skip


def match_found(
    face: SeenFace,
    tracklet_id: str,
    score: int,
    member: MatchedMember,
    watchlist: MatchedWatchlist,
    crop: bytes | None,
) -> ev.MatchResultNotification:
    fields = _result(face, tracklet_id, crop, "MATCH")
    fields.update(
        spoof_check=face.spoof, score=score, watchlist_member_id=member.id,
        watchlist_member_full_name=member.full_name, watchlist_member_display_name=member.display_name,
        watchlist_id=watchlist.id, watchlist_full_name=watchlist.full_name,
        watchlist_display_name=watchlist.display_name, preview_color=watchlist.preview_color,
        labels=[ev.MemberLabel(key=label.key, value=label.value) for label in member.labels],
    )  # fmt: skip
    return ev.MatchResultNotification(**{k: fields[k] for k in ev.MatchResultNotification.__struct_fields__})


def match_stored(match: ev.MatchResultNotification, created_at: datetime) -> ev.MatchResultInsert:
    """The stored match result: the match event's fields (and id), stamped by the database."""
    fields = {k: getattr(match, k) for k in ev.MatchResultInsert.__struct_fields__}
    fields.update(created_at=created_at, updated_at=None)
    return ev.MatchResultInsert(**fields)


def liveness_result(face: SeenFace, tracklet_id: str) -> ev.LivenessResultNotification | None:
    if face.spoof is None:
        return None
    s = face.spoof
    return ev.LivenessResultNotification(
        face_id=face.id, tracklet_id=tracklet_id, stream_id=face.frame.camera_id, performed=s.performed,
        passed=s.passed, distant_liveness_spoof_check=s.distant_liveness_spoof_check,
        nearby_liveness_spoof_check=s.nearby_liveness_spoof_check,
    )  # fmt: skip


def match_missed(face: SeenFace, tracklet_id: str, crop: bytes | None) -> ev.NoMatchResultNotification:
    fields = _result(face, tracklet_id, crop, "NO_MATCH")
    return ev.NoMatchResultNotification(**{k: fields[k] for k in ev.NoMatchResultNotification.__struct_fields__})


def tracklet_completed(
    tracklet_id: str,
    camera_id: str,
    appeared: datetime,
    disappeared: datetime,
    appeared_ms: int,
    disappeared_ms: int,
    created_at: datetime,
    updated_at: datetime,
) -> ev.TrackletCompletedNotification:
    return ev.TrackletCompletedNotification(
        scope_id=camera_id, created_at=created_at, updated_at=updated_at, time_appeared=appeared,
        time_disappeared=disappeared, time_appeared_relative_ms=appeared_ms,
        time_disappeared_relative_ms=disappeared_ms, stream_id=camera_id, id=tracklet_id,
    )  # fmt: skip


def tracklet_summary(
    tracklet_id: str,
    camera_id: str,
    appeared: datetime,
    disappeared: datetime,
    template: np.ndarray | None,
    faces: int,
    best: SeenFace,
) -> TrackletSummary | None:
    """The ended tracklet's template (its faces' normalised mean) for the grouping service, with
    the stored face that represents it; None when none of its faces got a template."""
    if template is None or not best.analysed.extracted.template_model:
        return None
    return TrackletSummary(
        id=tracklet_id, stream_id=camera_id, time_appeared=appeared, time_disappeared=disappeared, faces=faces,
        best_face_id=best.id, best_quality=best.quality, template=np.asarray(template, "<f4").tobytes(),
        template_model=best.analysed.extracted.template_model,
    )  # fmt: skip
