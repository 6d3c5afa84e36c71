"""Liveness (spoof check) decisions, shared by the REST edge (Search, SpoofCheck) and the camera
pipeline: which checks SmartFace's spoof detector resource ids ask for, and what the
extractor's scores (0..100) mean against the thresholds (SmartFace's default 90)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.messages import events as ev
from shared.messages import faces as wire
from shared.messages.identification import FailReason, LivenessSpoofCheck, SpoofCheckResponse
from shared.smartface_values import IDENTIFICATION, check


class Thresholds(Protocol):
    """SpoofCheckConfig (REST requests) and CameraSpoofDetectorConfig (cameras) both have these."""

    @property
    def distant_liveness_score_threshold(self) -> float: ...

    @property
    def nearby_liveness_score_threshold(self) -> float: ...


def liveness_wanted(resource_ids: Sequence[str], *, strict: bool = True) -> tuple[bool, bool]:
    """SmartFace spoof detector resource ids -> (distant, nearby); 'none' switches checks off.
    When `strict` (a request), each id must be one SmartFace accepts (a 400 lists them); else
    (a stored camera, which must keep running) an unknown id is ignored."""
    distant = nearby = False
    for index, rid in enumerate(resource_ids):
        if strict:
            check(IDENTIFICATION, f"spoofDetectorResourceIds[{index}]", rid)
        lowered = rid.lower()
        if "distant" in lowered:
            distant = True
        elif "nearby" in lowered:
            nearby = True
    return distant, nearby


def _liveness(score: float | None, threshold: float, asked: bool, what: str) -> LivenessSpoofCheck:
    if not asked:
        return LivenessSpoofCheck(performed=False, passed=False, score=0.0)
    if score is None:
        reason = FailReason(reason_message=f"{what} liveness could not be evaluated on this face")
        return LivenessSpoofCheck(performed=False, passed=False, score=0.0, not_performed_reasons=[reason])
    return LivenessSpoofCheck(performed=True, passed=score >= threshold, score=score)


def spoof_result(extracted: wire.ExtractedFace, config: Thresholds, distant: bool, nearby: bool) -> SpoofCheckResponse:
    """`passed` needs every performed check to pass (and at least one performed)."""
    far = _liveness(extracted.distant_liveness, config.distant_liveness_score_threshold, distant, "distant")
    near = _liveness(extracted.nearby_liveness, config.nearby_liveness_score_threshold, nearby, "nearby")
    performed = [c for c in (far, near) if c.performed]
    return SpoofCheckResponse(
        performed=bool(performed), passed=bool(performed) and all(c.passed for c in performed),
        distant_liveness_spoof_check=far, nearby_liveness_spoof_check=near,
    )  # fmt: skip


def event_check(result: SpoofCheckResponse, distant: bool, nearby: bool) -> ev.SpoofCheck:
    """The REST answer in the events' shape (SmartFace's GraphQL SpoofCheck): a check that was
    not asked for is null."""

    def one(check: LivenessSpoofCheck, asked: bool) -> ev.LivenessSpoofCheck | None:
        if not asked:
            return None
        return ev.LivenessSpoofCheck(performed=check.performed, passed=check.passed, score=check.score)

    return ev.SpoofCheck(
        performed=result.performed, passed=result.passed,
        distant_liveness_spoof_check=one(result.distant_liveness_spoof_check, distant),
        nearby_liveness_spoof_check=one(result.nearby_liveness_spoof_check, nearby),
    )  # fmt: skip
