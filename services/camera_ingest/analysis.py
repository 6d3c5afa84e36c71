"""The camera pipeline's asks of the other workers: what the extractor computes for a camera's
faces (the frame goes through shared.analysis, as the gateway's photos do), and the templates to
the matcher in one search over every watchlist, each with its own threshold, whose answer names
the members and watchlists found (no further look-ups).
"""

from __future__ import annotations

import msgspec

from shared import subjects
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
