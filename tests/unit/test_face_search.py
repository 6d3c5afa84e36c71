"""Faces/Search without servers: the exact batched scan keeps exactly the best hits across
batches, the probe and stored templates are checked, SearchSessionsCleanup is due when its value
says so, and the gateway pages a session (in-process, the bus faked)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest
from litestar.testing import TestClient

from services.cleanup.search_sessions import SessionsCleanup
from services.gateway.app import create_app
from services.matcher.face_scan import Hits, as_matrix, probe_vector
from shared import subjects
from shared.errors import NotFound, ValidationFailed
from shared.messages.common import Page
from shared.messages.face_search import (
    FaceSearchQuery,
    FaceSearchRequest,
    SearchSession,
    SearchSessionObject,
    SearchSessionPage,
)
from shared.messages.setup import CleanupRemoved, SearchSessionsCleanupConfig
from shared.scores import score_from_similarity
from shared.setup import SEARCH_SESSIONS_CLEANUP, Followed
from tests.fakebus import FakeBus


def unit_rows(rng: np.random.Generator, count: int, dim: int = 64) -> np.ndarray:
    rows = rng.standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_batches_keep_exactly_the_best_hits_of_the_whole_scan() -> None:
    rng = np.random.default_rng(3)
    probe = unit_rows(rng, 1)[0]
    stored = unit_rows(rng, 5000)
    # Plant faces close to the probe at known similarities (scores 100 .. 36).
    close = [1.0, 0.99, 0.97, 0.95, 0.92]
    for i, s in zip((17, 1234, 2500, 4000, 4999), close, strict=True):
        noise = stored[i] - (stored[i] @ probe) * probe
        stored[i] = s * probe + np.sqrt(max(0.0, 1 - s * s)) * noise / np.linalg.norm(noise)
    hits = Hits.for_threshold(30, limit=3)
    for start in range(0, len(stored), 700):  # uneven batches, trimmed as they go
        hits.add_batch(probe, stored[start : start + 700], list(range(start, min(start + 700, len(stored)))))
    best = hits.best(30)
    assert [payload for _, _, payload in best] == [17, 1234, 2500]  # the 3 best, best first
    assert [score for _, score, _ in best] == [score_from_similarity(s) for s in close[:3]]

    everything = Hits.for_threshold(0, limit=10_000)
    everything.add_batch(probe, stored, list(range(len(stored))))
    assert len(everything.best(0)) == len(stored)  # threshold 0: every face is a hit
    exact = np.argsort(-(stored @ probe), kind="stable")[:10]
    assert [p for _, _, p in everything.best(0)[:10]] == list(exact)


def test_a_threshold_above_every_score_finds_nothing() -> None:
    rng = np.random.default_rng(4)
    probe = unit_rows(rng, 1)[0]
    hits = Hits.for_threshold(100, limit=10)
    hits.add_batch(probe, unit_rows(rng, 100), list(range(100)))
    hits.add_batch(probe, np.empty((0, 64), np.float32), [])
    assert hits.best(100) == []


def test_templates_of_another_length_are_left_out_and_a_bad_probe_is_a_400() -> None:
    a, b = np.ones(4, "<f4").tobytes(), np.ones(8, "<f4").tobytes()
    matrix, kept = as_matrix([a, b, a], 4)
    assert kept == [0, 2] and matrix.shape == (2, 4)
    assert as_matrix([b], 4)[0].shape == (0, 4)
    for bad in (b"", b"abc", np.zeros(4, "<f4").tobytes(), np.full(4, np.nan, "<f4").tobytes()):
        with pytest.raises(ValidationFailed):
            probe_vector(bad)
    assert np.isclose(np.linalg.norm(probe_vector(np.full(4, 3.0, "<f4").tobytes())), 1.0)


def test_the_request_takes_smartfaces_default_threshold_and_checks_its_range() -> None:
    body = msgspec.json.encode({"image": {"data": "AAAA"}})
    assert msgspec.json.decode(body, type=FaceSearchRequest).threshold == 30
    for threshold in (-1, 101):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(msgspec.json.encode({"image": {"data": "AAAA"}, "threshold": threshold}),
                                type=FaceSearchRequest)  # fmt: skip


def followed(**values: object) -> Followed[SearchSessionsCleanupConfig]:
    config: Followed[SearchSessionsCleanupConfig] = Followed(SEARCH_SESSIONS_CLEANUP)
    config.value = msgspec.structs.replace(SEARCH_SESSIONS_CLEANUP.default, **values)
    return config


def test_search_sessions_cleanup_is_due_when_enabled_with_a_rule_and_its_interval_passed() -> None:
    woken: list[bool] = []
    sessions = SessionsCleanup(followed(), wake=lambda: woken.append(True))
    assert sessions.due()  # SmartFace's default: enabled, a day's age, hourly
    sessions.next_at = time.monotonic() + 3600
    assert not sessions.due()
    sessions.changed(sessions.config.value)
    assert sessions.due() and woken == [True]
    assert not SessionsCleanup(followed(enabled=False)).due()
    assert not SessionsCleanup(followed(max_session_age=None, max_items_count=None)).due()
    assert SessionsCleanup(followed(max_session_age=None, max_items_count=5)).due()


def test_a_cleanup_run_counts_sessions_and_their_objects() -> None:
    total = CleanupRemoved(search_sessions=2, search_session_objects=7) + CleanupRemoved(search_sessions=1)
    assert (total.search_sessions, total.search_session_objects) == (3, 7)


def test_the_gateway_pages_a_session_best_first_with_links() -> None:
    """GET /api/v1/Faces/Search/{id} in-process (the bus faked): the matcher's page becomes the
    paged collection with the session beside it; an unknown session is the matcher's 404."""
    now = datetime.now(UTC)
    session = SearchSession(
        id="11111111-2222-3333-4444-555555555555", threshold=30, state="Finished", searched_faces_count=10,
        matches_count=3, error=None, created_at=now, updated_at=now, finished_at=now,
    )  # fmt: skip
    hit = SearchSessionObject(
        search_session_id=session.id, face_id="f", score=90, stream_id="c", tracklet_id="t", frame_id="r",
        image_data_id=None, face_created_at=now,
    )  # fmt: skip
    bus = FakeBus()
    bus.reply(subjects.FACE_SEARCH_GET, SearchSessionPage(session=session, page=Page([hit], True, 3)))
    with TestClient(create_app(bus.settings, bus=bus)) as client:
        r = client.get(f"/api/v1/Faces/Search/{session.id}", params={"PageSize": 1, "ShowTotalCount": "true"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["session"]["state"] == "Finished" and body["session"]["searchedFacesCount"] == 10
        assert body["items"][0]["faceId"] == "f" and body["items"][0]["streamId"] == "c"
        assert body["totalItemsCount"] == 3 and body["pageSize"] == 1 and "PageNumber=2" in body["nextPage"]
        (sent,) = bus.to(subjects.FACE_SEARCH_GET)
        assert isinstance(sent, FaceSearchQuery) and sent.page.page_size == 1 and sent.page.show_total_count

        bus.reply(subjects.FACE_SEARCH_GET, NotFound("Search session does not exist."))
        assert client.get(f"/api/v1/Faces/Search/{session.id}").status_code == 404
        assert client.get("/api/v1/Faces/Search/nope").status_code == 400
        threshold = {"image": {"data": "AAAA"}, "threshold": 101}
        assert client.post("/api/v1/Faces/Search", json=threshold).status_code == 400
        assert bus.to(subjects.FACE_SEARCH_START) == []
