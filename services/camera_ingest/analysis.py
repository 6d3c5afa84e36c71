"""Every bus call of the face pipeline, in one place: detector, extractor, matcher.

The detector's, extractor's and matcher's messages are young; adapting to a change of theirs
touches this module only. A frame goes to the detector once (by reference when larger than a
NATS message), its crops to the extractor in one batch, the templates to the matcher in one
search over every watchlist, each with its own threshold, whose answer names the members and
watchlists found (no further look-ups).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from shared import blobs, subjects
from shared.bus import Bus
from shared.messages import faces as wire
from shared.messages import matcher as m

# Camera faces do not need liveness unless the camera asks; templates always.
FEATURES = wire.FaceFeaturesConfig(template=True)
MAX_CANDIDATES = 5  # per face: a few members may pass the threshold, the tracker votes among them


def features(distant: bool, nearby: bool) -> wire.FaceFeaturesConfig:
    """What the extractor computes for a camera's faces: templates and attributes, plus the
    liveness checks the camera's spoofDetectorResourceIds ask for (same batch)."""
    if not (distant or nearby):
        return FEATURES
    return msgspec.structs.replace(FEATURES, distant_liveness=distant, nearby_liveness=nearby)


NOT_EXTRACTED = wire.ExtractedFace()  # a face left out of this frame's extraction: no template


class Analysed(msgspec.Struct, frozen=True):
    detected: wire.DetectedFace
    extracted: wire.ExtractedFace

    @property
    def was_extracted(self) -> bool:
        """False for a face left out of extraction (templateGenerationTime not due)."""
        return self.extracted is not NOT_EXTRACTED


class FrameAnalysis(msgspec.Struct, frozen=True):
    width: int
    height: int
    faces: list[Analysed]


async def analyse(
    bus: Bus,
    jpeg: bytes,
    detector: wire.FaceDetectorConfig,
    features: wire.FaceFeaturesConfig = FEATURES,
    wanted: Callable[[wire.DetectedFace], bool] | None = None,
) -> FrameAnalysis:
    """Detect every face of the frame and extract them (those `wanted`, default all) in one
    batch; a face not wanted gets `NOT_EXTRACTED`."""
    blob = await blobs.wrap(bus, jpeg)
    try:
        request = wire.DetectRequest(image=blob, face_detector_config=detector)
        detected = await bus.request(subjects.DETECTOR_DETECT, request, wire.DetectResponse)
    finally:
        await blobs.release(bus, blob)
    chosen = [i for i, f in enumerate(detected.faces) if wanted is None or wanted(f)]
    extracted = [NOT_EXTRACTED] * len(detected.faces)
    if chosen:
        picked = [detected.faces[i] for i in chosen]
        extract = wire.ExtractRequest(
            crops=[f.crop for f in picked], face_features_config=features, geometry=wire.crop_geometry(picked)
        )
        reply = await bus.request(subjects.EXTRACTOR_EXTRACT, extract, wire.ExtractResponse)
        for i, face in zip(chosen, reply.faces, strict=True):
            extracted[i] = face
    faces = [Analysed(d, e) for d, e in zip(detected.faces, extracted, strict=True)]
    return FrameAnalysis(detected.width, detected.height, faces)


async def search(bus: Bus, templates: list[bytes], template_model: str) -> list[list[m.Candidate]]:
    """Candidates per template over all watchlists, each at its own threshold, whole: each
    member with its names, labels and privacy and the one watchlist its events name (the first
    it passed in, by id)."""
    if not templates:
        return []
    model = template_model.partition("@")[0]
    reply = await bus.request(
        subjects.TEMPLATE_SEARCH,
        m.SearchRequest(
            templates=templates, model_name=model, max_result_count=MAX_CANDIDATES, one_watchlist_each=True
        ),
        m.SearchReply,
    )
    return [r.candidates for r in reply.results]
