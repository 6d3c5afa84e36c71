"""Watchlist auto-learn on the real cluster (services/cleanup/autolearn.py): a member learns a
camera face matched to it, and Search then scores higher; enrolled photos are never replaced;
the cap holds, a better face replaces the weakest learnt one and a worse one changes nothing;
a face matched below selectionThreshold is not learnt; keepAutoLearnPhotos keeps the crop.

Camera faces come from real photos (../shared/faces) through the real detector and extractor,
and are stored as camera_ingest's pipeline stores them (its ImageStore and records.py, in this
process), each with a match result scored by the real matcher: what a camera that saw the person
and matched them would have stored. Runs are asked for over NATS (`AUTO_LEARN_RUN`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from services.camera_ingest import records
from services.camera_ingest.image_store import ImageStore, Written
from shared import subjects
from shared.analysis import Analysed, analyse
from shared.bus import Empty
from shared.face_fields import OnFrame, stored_fields
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.autolearn import AutoLearnCompleted
from tests.e2e.test_image_storage import image_store
from tests.e2e.test_seen import SEEN_TABLES
from tests.support import FACES, Cluster, photo_b64, truncate, wait_until

ENROLLED = "img1.jpg"  # person01's enrolment photo
SAME_PERSON = ["img2.jpg", "img10.jpg", "img11.jpg", "img4.jpg"]  # person01 as a camera saw them
OTHER_PERSON = "img13.jpg"  # person02
THRESHOLD = 40  # selectionThreshold of these tests


@dataclass(frozen=True)
class Seen:
    face_id: str
    score: int  # the real matcher's score against the member
    quality: int


@dataclass(frozen=True)
class Scene:
    api: httpx.Client
    cluster: Cluster
    camera_id: str
    watchlist_id: str
    member_id: str


def auto_learn(api: httpx.Client, **values: Any) -> None:
    body = {"enabled": True, "executionStartTime": "01:00:00", "maxAutoLearnFacesCount": 30,
            "selectionThreshold": THRESHOLD, "maskedSelectionThreshold": THRESHOLD, **values}  # fmt: skip
    r = api.put("/api/v1/Setup/Watchlists/AutoLearn", json=body)
    assert r.status_code == 200, r.text


def register(api: httpx.Client, watchlist_id: str, keep: bool) -> str:
    r = api.post(
        "/api/v1/WatchlistMembers/Register",
        json={"id": f"member-{uuid.uuid4()}", "images": [{"data": photo_b64(ENROLLED)}],
              "watchlistIds": [watchlist_id], "keepAutoLearnPhotos": keep},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture(params=[True], ids=["keepAutoLearnPhotos"])
def scene(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Scene]:
    truncate(cluster.servers.database_url, SEEN_TABLES)  # match results go with seen_faces
    truncate(cluster.servers.database_url)
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "door", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        r2 = api.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "staff", "threshold": THRESHOLD})
        assert r2.status_code == 201, r2.text
        watchlist_id = r2.json()["id"]
        try:
            yield Scene(api, cluster, r.json()["id"], watchlist_id, register(api, watchlist_id, request.param))
        finally:
            r = api.put("/api/v1/Setup/Watchlists/AutoLearn", json={
                "enabled": False, "executionStartTime": "01:00:00", "maxAutoLearnFacesCount": 30,
                "selectionThreshold": 60})  # fmt: skip
            assert r.status_code == 200, r.text
    truncate(cluster.servers.database_url, SEEN_TABLES)  # match results go with seen_faces
    truncate(cluster.servers.database_url)


async def largest_face(store: ImageStore, photo: str) -> Analysed:
    """The photo's largest face through the real detector and extractor."""
    jpeg = (FACES / "photos" / photo).read_bytes()
    # Some photos are close-ups: faces up to the photo's size.
    detector = wire.FaceDetectorConfig(max_face_size=5000)
    found = await analyse(store.ctx.bus, jpeg, detector, wire.FaceFeaturesConfig())
    assert found.faces, f"{photo}: {found.none_found()}"
    return found.faces[0]


async def seen_by_camera(store: ImageStore, scene: Scene, photo: str) -> Seen:
    """The photo's largest face as a camera stores it (tracklet, frame, crop, face with its
    template), matched to the scene's member with the score the matcher gives it."""
    bus = store.ctx.bus
    face = await largest_face(store, photo)
    template, model = face.extracted.template, face.extracted.template_model
    assert template is not None
    reply = await bus.request(
        subjects.TEMPLATE_SEARCH,
        m.SearchRequest(templates=[template], model_name=model.partition("@")[0], watchlist_ids=[scene.watchlist_id],
                        threshold=0, max_result_count=1),
        m.SearchReply,
    )  # fmt: skip
    (best,) = reply.results[0].candidates
    assert best.member.id == scene.member_id
    ids = {"tracklet": str(uuid.uuid4()), "frame": str(uuid.uuid4()), "face": str(uuid.uuid4())}
    written: list[Written] = []
    now = datetime.now(UTC)
    fields = msgspec.structs.asdict(stored_fields(face, OnFrame(1, 0.0)))
    async with store.ctx.db.acquire() as conn, conn.transaction():
        await records.insert_tracklet(conn, ids["tracklet"], scene.camera_id, now, 0)
        await records.insert_frame(conn, ids["frame"], scene.camera_id, None, now, 0)
        crop = await store.save(conn, scene.camera_id, "crop", (224, 224), face.detected.crop, written)
        await records.insert_face(
            conn, ids["face"], scene.camera_id, ids["tracklet"], ids["frame"], crop,
            {**fields, "processed_at": now.isoformat()}, template, model,
        )  # fmt: skip
        await records.insert_match_result(conn, {
            "id": str(uuid.uuid4()), "streamId": scene.camera_id, "trackletId": ids["tracklet"],
            "faceId": ids["face"], "watchlistMemberId": scene.member_id, "watchlistId": scene.watchlist_id,
            "score": best.score,
        })  # fmt: skip
    return Seen(ids["face"], best.score, face.detected.quality)


async def seen(scene: Scene, photos: list[str]) -> list[Seen]:
    async with image_store(scene.cluster) as store:
        return [await seen_by_camera(store, scene, photo) for photo in photos]


async def run_auto_learn(scene: Scene) -> AutoLearnCompleted:
    async with image_store(scene.cluster) as store:
        return await store.ctx.bus.request(subjects.AUTO_LEARN_RUN, Empty(), AutoLearnCompleted, timeout=120)


def member_faces(scene: Scene) -> list[dict[str, Any]]:
    r = scene.api.get(f"/api/v1/WatchlistMembers/{scene.member_id}/Faces", params={"PageSize": 100})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def learnt_ids(scene: Scene) -> set[str]:
    return {f["id"] for f in member_faces(scene) if f["type"] == "AutoLearn"}


def search_score(scene: Scene, photo: str) -> int:
    r = scene.api.post("/api/v1/Watchlists/Search", json={"image": {"data": photo_b64(photo)}, "threshold": 0,
                                                             "watchlistIds": [scene.watchlist_id]})  # fmt: skip
    assert r.status_code == 200, r.text
    (result,) = r.json()[0]["matchResults"]
    assert result["watchlistMemberId"] == scene.member_id
    return int(result["score"])


async def test_a_member_learns_a_camera_face_and_search_then_scores_higher(scene: Scene) -> None:
    auto_learn(scene.api)
    before = search_score(scene, SAME_PERSON[0])
    (camera_face,) = await seen(scene, SAME_PERSON[:1])
    assert camera_face.score >= THRESHOLD, camera_face

    done = await run_auto_learn(scene)

    assert [(f.member_id, f.face_id, f.cluster) for f in done.learnt] == [
        (scene.member_id, camera_face.face_id, "NoMask")
    ]
    assert done.replaced == [] and done.trigger == "request"
    faces = {f["id"]: f for f in member_faces(scene)}
    assert len(faces) == 2 and faces[camera_face.face_id]["type"] == "AutoLearn"
    assert faces[camera_face.face_id]["autolearnClusterType"] == "NoMask"
    image = faces[camera_face.face_id]["imageDataId"]  # keepAutoLearnPhotos: the camera's crop is kept
    assert image is not None
    r = scene.api.get(f"/api/v1/Images/{image}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    # The matcher's index follows (the gateways hear of the change and wait for it).
    wait_until(lambda: search_score(scene, SAME_PERSON[0]) > before, 10, f"Search scoring above {before}")
    # A second run learns nothing new: the face is the member's already.
    again = await run_auto_learn(scene)
    assert again.learnt == [] and again.since == done.until


async def test_enrolled_photos_stay_the_cap_holds_and_only_a_better_face_replaces_a_learnt_one(
    scene: Scene,
) -> None:
    enrolled = {f["id"] for f in member_faces(scene)}
    assert len(enrolled) == 1
    async with image_store(scene.cluster) as store:
        quality = {p: (await largest_face(store, p)).detected.quality for p in SAME_PERSON}
    p0, p1, p2, p3 = sorted(SAME_PERSON, key=lambda p: quality[p])
    assert len(set(quality.values())) == 4, quality  # four photos, four qualities

    # Room for one: the only candidate is learnt.
    auto_learn(scene.api, maxAutoLearnFacesCount=1)
    (second,) = await seen(scene, [p1])
    done = await run_auto_learn(scene)
    assert [f.face_id for f in done.learnt] == [second.face_id] and learnt_ids(scene) == {second.face_id}

    # Full: a weaker face changes nothing, nor one matched below selectionThreshold.
    weaker, other = await seen(scene, [p0, OTHER_PERSON])
    assert weaker.score >= THRESHOLD > other.score, (weaker, other)
    done = await run_auto_learn(scene)
    assert done.learnt == [] and done.replaced == [] and learnt_ids(scene) == {second.face_id}

    # Full: of two better faces the best takes the place, and replaces the weaker learnt one.
    best, runner_up = await seen(scene, [p3, p2])
    done = await run_auto_learn(scene)
    assert [f.face_id for f in done.learnt] == [best.face_id]
    assert [f.face_id for f in done.replaced] == [second.face_id]
    assert learnt_ids(scene) == {best.face_id}
    assert enrolled < {f["id"] for f in member_faces(scene)}  # the enrolled face stays

    # Room for two, then one again: the weakest learnt face goes at the next run, never the enrolled.
    auto_learn(scene.api, maxAutoLearnFacesCount=2)
    (third,) = await seen(scene, [p2])
    await run_auto_learn(scene)
    # The last run looked again at the minute before (autolearn.OVERLAP_S): the earlier sighting
    # of the same photo competes too, at the same quality.
    (next_best,) = learnt_ids(scene) - {best.face_id}
    assert next_best in {third.face_id, runner_up.face_id}
    auto_learn(scene.api, maxAutoLearnFacesCount=1)
    done = await run_auto_learn(scene)
    assert done.learnt == [] and [f.face_id for f in done.replaced] == [next_best]
    assert learnt_ids(scene) == {best.face_id} and enrolled < {f["id"] for f in member_faces(scene)}


@pytest.mark.parametrize("scene", [False], indirect=True, ids=["withoutKeepAutoLearnPhotos"])
async def test_without_keep_auto_learn_photos_a_learnt_face_keeps_its_template_only(scene: Scene) -> None:
    auto_learn(scene.api)
    (camera_face,) = await seen(scene, SAME_PERSON[:1])
    done = await run_auto_learn(scene)
    assert [f.face_id for f in done.learnt] == [camera_face.face_id]
    (learnt,) = [f for f in member_faces(scene) if f["type"] == "AutoLearn"]
    assert learnt["imageDataId"] is None
