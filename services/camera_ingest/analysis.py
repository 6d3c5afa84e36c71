"""The camera pipeline's asks of the other workers: what the extractor computes for a camera's
faces, as the Setup's Features say (the frame goes through shared.analysis, as the gateway's
photos do), and the templates to the matcher in one search over every watchlist, each with its
own threshold, whose answer names the members and watchlists found (no further look-ups).
"""

from __future__ import annotations

from shared import subjects
from shared.bus import Bus
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.setup import FeaturesConfig

MAX_CANDIDATES = 5  # per face: a few members may pass the threshold, the tracker votes among them
ALL_ON = FeaturesConfig.all_on()


def features(distant: bool, nearby: bool, setup: FeaturesConfig = ALL_ON) -> wire.FaceFeaturesConfig:
    """What the extractor computes for a camera's faces: templates always, the attributes the
    Setup's Features leave on (age and gender off: their model does not run), plus the liveness
    checks the camera's spoofDetectorResourceIds ask for (same batch)."""
    return wire.FaceFeaturesConfig(
        age=setup.age, gender=setup.gender, face_mask=setup.face_mask, yaw_angle=setup.yaw_angle,
        pitch_angle=setup.pitch_angle, roll_angle=setup.roll_angle, sharpness=setup.sharpness,
        brightness=setup.brightness, template=True, distant_liveness=distant, nearby_liveness=nearby,
    )  # fmt: skip


async def search(
    bus: Bus, templates: list[bytes], template_model: str, max_candidates: int = MAX_CANDIDATES
) -> list[list[m.Candidate]]:
    """Candidates per template (at most `max_candidates`) over all watchlists, each at its own
    threshold, whole: each member with its names, labels and privacy and the one watchlist its
    events name (the first it passed in, by id)."""
    if not templates:
        return []
    model = template_model.partition("@")[0]
    reply = await bus.request(
        subjects.TEMPLATE_SEARCH,
        m.SearchRequest(
            templates=templates, model_name=model, max_result_count=max_candidates, one_watchlist_each=True
        ),
        m.SearchReply,
    )
    return [r.candidates for r in reply.results]
