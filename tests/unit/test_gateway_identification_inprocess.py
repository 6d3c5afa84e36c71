"""The identification chain of the gateway in-process, the workers answered by a FakeBus: what it
asks of them, how often, and how their answers become SmartFace's (no servers, no models)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from services.gateway.app import create_app
from shared import subjects
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.gallery import Label, PrivacyData, WatchlistMember
from tests.fakebus import FakeBus
from tests.unit.faces import detected, extracted

PRIVACY = PrivacyData(save_registration_images=True, save_matched_images=True, include_matched_image_in_events=True)


def image_b64() -> str:
    """A real JPEG (the gateway checks images before any worker sees them)."""
    ok, data = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


IMAGE = image_b64()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeBus, TestClient[Litestar]]]:
    bus = FakeBus()
    with TestClient(create_app(bus.settings, bus=bus)) as client:
        yield bus, client


@pytest.fixture
def bus(served: tuple[FakeBus, TestClient[Litestar]]) -> FakeBus:
    served[0].forget()
    return served[0]


@pytest.fixture
def client(served: tuple[FakeBus, TestClient[Litestar]], bus: FakeBus) -> TestClient[Litestar]:
    return served[1]


def detects(*faces: wire.DetectedFace, rejected: list[str] | None = None) -> wire.DetectResponse:
    return wire.DetectResponse(width=640, height=480, faces=list(faces), detector="test", rejected=rejected or [])


def extracts(request: wire.ExtractRequest) -> wire.ExtractResponse:
    """One extracted face per crop sent."""
    return wire.ExtractResponse(faces=[extracted() for _ in request.crops])


def candidate(member: str, score: int, *watchlists: str) -> m.Candidate:
    return m.Candidate(
        member=m.MatchedMember(id=member, display_name=f"name {member}", full_name=None,
                               labels=[Label(key="k", value="v")], privacy=PRIVACY),
        watchlists=[m.MatchedWatchlist(id=w, display_name=f"wl {w}", full_name=f"WL {w}", preview_color="#ff0000")
                    for w in watchlists],
        face_id=f"face-{member}", similarity=score / 100, score=score,
    )  # fmt: skip


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def test_a_search_is_three_requests_and_keeps_the_matchers_order(client: TestClient[Litestar], bus: FakeBus) -> None:
    """Detect, extract, search: the member and watchlist details come with the candidates, in
    the order and number the matcher decided (one row per member and watchlist)."""
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1), detected(2, size=80.0)))
    bus.reply(subjects.EXTRACTOR_EXTRACT, extracts)
    results = [
        m.TemplateMatches(candidates=[candidate("a", 91, "w1", "w2"), candidate("b", 77, "w1")]),
        m.TemplateMatches(candidates=[]),
    ]
    bus.reply(subjects.TEMPLATE_SEARCH, m.SearchReply(results=results, seq=3))
    r = client.post("/api/v1/Watchlists/Search", json={"image": {"data": IMAGE}, "maxResultCount": 3})
    assert r.status_code == 200, r.text
    assert [s.subject for s in bus.sent] == [subjects.DETECTOR_DETECT, subjects.EXTRACTOR_EXTRACT,
                                             subjects.TEMPLATE_SEARCH]  # fmt: skip
    (search,) = bus.to(subjects.TEMPLATE_SEARCH)
    assert isinstance(search, m.SearchRequest) and len(search.templates) == 2 and search.max_result_count == 3
    first, second = r.json()
    rows = [(x["watchlistMemberId"], x["watchlistId"], x["score"]) for x in first["matchResults"]]
    assert rows == [("a", "w1", 91), ("a", "w2", 91), ("b", "w1", 77)]
    assert first["matchResults"][0]["displayName"] == "name a"
    assert first["matchResults"][0]["watchlistDisplayName"] == "wl w1"
    assert first["matchResults"][0]["previewColor"] == "#ff0000"
    assert second["matchResults"] == []


def test_a_search_follows_the_gallery_changes_this_gateway_made(client: TestClient[Litestar], bus: FakeBus) -> None:
    """Read-your-writes: a search after a delete asks the matcher for at least that change."""
    bus.reply(subjects.MEMBER_DELETE, m.ChangeAck(seq=41))
    assert client.delete("/api/v1/WatchlistMembers/gone").status_code == 204
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1)))
    bus.reply(subjects.EXTRACTOR_EXTRACT, extracts)
    bus.reply(subjects.TEMPLATE_SEARCH, m.SearchReply(results=[m.TemplateMatches(candidates=[])], seq=41))
    assert client.post("/api/v1/Watchlists/Search", json={"image": {"data": IMAGE}}).status_code == 200
    (search,) = bus.to(subjects.TEMPLATE_SEARCH)
    assert isinstance(search, m.SearchRequest) and search.min_seq >= 41


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/Watchlists/Search", {"image": {"data": IMAGE}}),
        ("/api/v1/Faces/SpoofCheck", {"image": {"data": IMAGE}}),
        ("/api/v1/Faces/Verify", {"probeImage": {"image": {"data": IMAGE}},
                                  "referenceImage": {"image": {"data": IMAGE}}}),
    ],
)  # fmt: skip
def test_no_face_is_smartfaces_400_and_nothing_is_searched(
    client: TestClient[Litestar], bus: FakeBus, path: str, body: dict[str, Any]
) -> None:
    bus.reply(subjects.DETECTOR_DETECT, detects(rejected=["a face 20 px wide, under minFaceSize 30"]))
    body_ = problem(client.post(path, json=body), 400)
    assert "no face passes faceDetectorConfig" in body_["detail"] and "20 px" in body_["detail"]
    assert {s.subject for s in bus.sent} == {subjects.DETECTOR_DETECT}


def test_verify_scores_the_two_chosen_faces(client: TestClient[Litestar], bus: FakeBus) -> None:
    """Each image gives its one face (the detector is asked for one); identical templates score 100."""
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1)))
    bus.reply(subjects.EXTRACTOR_EXTRACT, extracts)
    r = client.post("/api/v1/Faces/Verify", json={"probeImage": {"image": {"data": IMAGE}},
                                                  "referenceImage": {"image": {"data": IMAGE}}})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["confidence"] == 100
    detects_sent = bus.to(subjects.DETECTOR_DETECT)
    assert len(detects_sent) == 2
    assert all(isinstance(d, wire.DetectRequest) and d.face_detector_config.max_faces == 1 for d in detects_sent)


def test_register_refuses_a_blurred_face_before_the_matcher_is_asked(
    client: TestClient[Litestar], bus: FakeBus
) -> None:
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1, sharpness=1200)))
    bus.reply(subjects.EXTRACTOR_EXTRACT, extracts)
    body = {"watchlistIds": ["w1"], "images": [{"data": IMAGE}]}
    detail = problem(client.post("/api/v1/WatchlistMembers/Register", json=body), 422)["detail"]
    assert "too blurred" in detail and "1200" in detail
    assert not bus.to(subjects.MEMBER_REGISTER)
    # faceValidationMode none skips the check: the matcher is asked.
    member = WatchlistMember(display_name=None, full_name=None, note=None, labels=[], totp_enabled=False,
                             privacy=PRIVACY, id="x", created_at=datetime.now(UTC), updated_at=None)  # fmt: skip
    bus.reply(subjects.MEMBER_REGISTER, m.RegisterMemberReply(member=member, watchlists=[], faces=[], seq=5))
    r = client.post("/api/v1/WatchlistMembers/Register", json={**body, "faceValidationMode": "none"})
    assert r.status_code == 201, r.text
    assert len(bus.to(subjects.MEMBER_REGISTER)) == 1


def test_work_not_asked_for_is_not_done(client: TestClient[Litestar], bus: FakeBus) -> None:
    """A Search without age and gender asks the extractor for the template alone; a Detect that
    asks nothing the extractor computes does not call it at all."""
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1)))
    bus.reply(subjects.EXTRACTOR_EXTRACT, extracts)
    bus.reply(subjects.TEMPLATE_SEARCH, m.SearchReply(results=[m.TemplateMatches(candidates=[])], seq=0))
    features = {"age": False, "gender": False}
    body = {"image": {"data": IMAGE}, "faceFeaturesConfig": features}
    assert client.post("/api/v1/Watchlists/Search", json=body).status_code == 200
    (extract,) = bus.to(subjects.EXTRACTOR_EXTRACT)
    assert isinstance(extract, wire.ExtractRequest)
    asked = extract.face_features_config
    assert asked.template and not (asked.age or asked.gender or asked.distant_liveness or asked.nearby_liveness)
    bus.forget()
    bus.reply(subjects.DETECTOR_DETECT, detects(detected(1)))
    r = client.post("/api/v1/Faces/Detect", json={"image": {"data": IMAGE}, "faceFeaturesConfig": features})
    assert r.status_code == 200, r.text
    assert [s.subject for s in bus.sent] == [subjects.DETECTOR_DETECT]
