"""The camera pipeline's asks of the other workers: what the extractor computes for a camera's
faces (the frame goes through shared.analysis, as the gateway's photos do), the templates to the
matcher in one search over every watchlist, each with its own threshold, and the members' and
watchlists' details for the events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec
from nats.aio.msg import Msg

from shared import subjects
from shared.bus import Bus
from shared.errors import NotFound
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.common import ById
from shared.messages.gallery import Watchlist, WatchlistMember

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
    """Candidates per template over all watchlists, each at its own threshold."""
    if not templates:
        return []
    model = template_model.partition("@")[0]
    reply = await bus.request(
        subjects.TEMPLATE_SEARCH,
        m.SearchRequest(templates=templates, model_name=model, max_result_count=MAX_CANDIDATES),
        m.SearchReply,
    )
    return [r.candidates for r in reply.results]


@dataclass
class Directory:
    """Members and watchlists by id for the events (names, labels, privacy), cached: tracklets
    ask for the same few members again and again. Any member or watchlist event empties the
    cache (they are rare), so a privacy change applies to the next match; the TTL only bounds
    what a missed event could leave behind."""

    bus: Bus
    ttl_s: float = 30.0

    def __post_init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}

    async def watch(self) -> None:
        async def forget(_msg: Msg) -> None:
            self._cache.clear()

        for events in (subjects.MEMBER_EVENTS_FILTER, subjects.WATCHLIST_EVENTS_FILTER):
            await self.bus.nc.subscribe(events, cb=forget)

    async def _get(self, subject: str, key: str, kind: type[object]) -> object | None:
        now = time.monotonic()
        hit = self._cache.get((subject, key))
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            value: object | None = await self.bus.request(subject, ById(id=key), kind)
        except NotFound:
            value = None
        if len(self._cache) > 10_000:  # bounded: old entries are useless anyway
            self._cache.clear()
        self._cache[(subject, key)] = (now, value)
        return value

    async def member(self, member_id: str) -> WatchlistMember | None:
        value = await self._get(subjects.MEMBER_GET, member_id, WatchlistMember)
        return value if isinstance(value, WatchlistMember) else None

    async def watchlist(self, watchlist_id: str) -> Watchlist | None:
        value = await self._get(subjects.WATCHLIST_GET, watchlist_id, Watchlist)
        return value if isinstance(value, Watchlist) else None
