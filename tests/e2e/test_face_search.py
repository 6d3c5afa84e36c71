"""POST /api/v1/Faces/Search and Facegate's GET /api/v1/Faces/Search/{searchSessionId} on the real
cluster: stored camera faces whose templates sit at known similarities to a real photo's template
(made by the real detector and extractor) are found best first, paged, cut at the threshold, and
read through GraphQL; bad requests are 400s, an unknown session 404; SearchSessionsCleanup
deletes finished sessions by age and by count and never a running one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest

from services.camera_ingest import records
from services.gateway.analysis_config import NO_FEATURES, detector_config, features_config
from services.gateway.face_choice import largest
from shared import analysis
from shared.bus import Bus
from shared.scores import score_from_similarity
from shared.settings import Settings
from tests.e2e.test_seen import SEEN_TABLES, jpeg
from tests.graphql_client import query
from tests.support import FACES, Cluster, assert_problem, photo_b64, truncate, wait_until

PROBE = "img1.jpg"
SESSION_TABLES = ("search_sessions", "search_session_objects")
# Similarities of the seeded faces to the probe: scores 92, 76, 60, 36 pass the default 30;
# 20 and 0 do not.
SIMILARITIES = (0.95, 0.99, 0.92, 0.97, 0.90, 0.5)
DEFAULT_CLEANUP = {"enabled": True, "maxItemsCount": None, "maxSessionAge": "1.00:00:00", "interval": "01:00:00"}


async def probe_template(nats_url: str) -> tuple[bytes, str]:
    """The probe photo's template and model, as the gateway makes them."""
    bus = await Bus.connect(Settings(nats_url=nats_url, request_timeout=30), "test")
    try:
        image = (FACES / "photos" / PROBE).read_bytes()
        found = await analysis.analyse(bus, image, detector_config(None), features_config(NO_FEATURES, template=True))
    finally:
        await bus.close()
    face = largest(found, "probe")
    assert face.extracted.template is not None and face.extracted.template_model is not None
    return face.extracted.template, face.extracted.template_model


def at_similarity(probe: np.ndarray, similarity: float, rng: np.random.Generator) -> bytes:
    """A unit template whose cosine with `probe` is `similarity`."""
    noise = rng.standard_normal(probe.size).astype(np.float32)
    noise -= (noise @ probe) * probe
    noise /= np.linalg.norm(noise)
    vector = similarity * probe + np.sqrt(1 - similarity**2) * noise
    return (vector / np.linalg.norm(vector)).astype("<f4").tobytes()


async def seed(database_url: str, camera_id: str, template: bytes, model: str) -> dict[float, dict[str, str]]:
    """One tracklet, frame and face per similarity, plus a face of another model and one without a
    template (neither is searched). Returns similarity -> the face's ids."""
    probe = np.frombuffer(template, "<f4")
    rng = np.random.default_rng(7)
    conn = await asyncpg.connect(database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    rows: list[tuple[float, bytes | None, str | None]] = [
        (s, at_similarity(probe, s, rng), model) for s in SIMILARITIES
    ]
    rows += [(-1.0, template, "other-model@1"), (-2.0, None, None)]
    seeded: dict[float, dict[str, str]] = {}
    try:
        now = datetime.now(UTC)
        for i, (similarity, kept, kept_model) in enumerate(rows):
            ids = {"tracklet": str(uuid.uuid4()), "frame": str(uuid.uuid4()), "face": str(uuid.uuid4())}
            await records.insert_tracklet(conn, ids["tracklet"], camera_id, now + timedelta(seconds=i), 1000 * i)
            await records.insert_frame(conn, ids["frame"], camera_id, None, now, 1000 * i)
            fields = {"state": "Extracted"}
            await records.insert_face(
                conn, ids["face"], camera_id, ids["tracklet"], ids["frame"], None, fields, kept, kept_model
            )
            seeded[similarity] = ids
    finally:
        await conn.close()
    return seeded


@pytest.fixture
def stored(cluster: Cluster) -> Iterator[tuple[httpx.Client, str, dict[float, dict[str, str]]]]:
    """A camera whose stored faces sit at SIMILARITIES to the probe photo."""
    truncate(cluster.servers.database_url, (*SEEN_TABLES, *SESSION_TABLES))
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "hall", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        camera = r.json()["id"]
        template, model = asyncio.run(probe_template(cluster.servers.nats_url))
        faces = asyncio.run(seed(cluster.servers.database_url, camera, template, model))
        yield api, camera, faces
    truncate(cluster.servers.database_url, (*SEEN_TABLES, *SESSION_TABLES))


def start(api: httpx.Client, **extra: Any) -> str:
    r = api.post("/api/v1/Faces/Search", json={"image": {"data": photo_b64(PROBE)}, **extra})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"searchSessionId"}
    return str(uuid.UUID(r.json()["searchSessionId"]))


def finished(api: httpx.Client, session_id: str, **params: Any) -> dict[str, Any]:
    """The session's first page once it is no longer Running."""
    answer: dict[str, Any] = {}

    def done() -> bool:
        r = api.get(f"/api/v1/Faces/Search/{session_id}", params=params)
        assert r.status_code == 200, r.text
        answer.update(r.json())
        return bool(answer["session"]["state"] != "Running")

    wait_until(done, 60, "the search session to finish")
    assert answer["session"]["state"] == "Finished", answer
    return answer


def test_stored_faces_are_found_best_first_and_paged(
    stored: tuple[httpx.Client, str, dict[float, dict[str, str]]], cluster: Cluster
) -> None:
    api, camera, faces = stored
    session_id = start(api)
    first = finished(api, session_id, PageSize=3, ShowTotalCount="true")
    session = first["session"]
    assert session["id"] == session_id and session["threshold"] == 30 and session["error"] is None
    assert session["searchedFacesCount"] == len(SIMILARITIES)  # not the other model's, not the one without
    best = sorted((s for s in SIMILARITIES if score_from_similarity(s) >= 30), reverse=True)
    assert session["matchesCount"] == len(best) == first["totalItemsCount"] == 4
    assert session["finishedAt"] and session["createdAt"] <= session["finishedAt"]

    second = api.get(first["nextPage"]).json()
    items = first["items"] + second["items"]
    assert second["nextPage"] is None and first["previousPage"] is None and len(first["items"]) == 3
    assert [i["faceId"] for i in items] == [faces[s]["face"] for s in best]
    assert [i["score"] for i in items] == [score_from_similarity(s) for s in best]
    top = items[0]
    assert top["searchSessionId"] == session_id and top["streamId"] == camera
    assert top["trackletId"] == faces[best[0]]["tracklet"] and top["frameId"] == faces[best[0]]["frame"]
    assert top["faceCreatedAt"] and top["imageDataId"] is None

    # Threshold 0 keeps every face searched; 90 only the best.
    every = finished(api, start(api, threshold=0), PageSize=100)
    assert [i["faceId"] for i in every["items"]] == [faces[s]["face"] for s in sorted(SIMILARITIES, reverse=True)]
    only = finished(api, start(api, threshold=90))
    assert [i["score"] for i in only["items"]] == [92]

    # GraphQL: the session and its objects (best first) with their faces.
    document = """query($id: UUID!) { searchSessions(where: {id: {eq: $id}}) { totalCount items { id threshold
        searchSessionObjects { searchSessionId visualObjectId score face { id trackletId streamId } } } } }"""
    (found,) = query(cluster.graphql_url, document, {"id": session_id})["searchSessions"]["items"]
    assert found["id"] == session_id and found["threshold"] == 30
    objects = found["searchSessionObjects"]
    assert [o["visualObjectId"] for o in objects] == [i["faceId"] for i in items]
    assert objects[0]["face"] == {"id": top["faceId"], "trackletId": top["trackletId"], "streamId": camera}
    at_face = """query($id: UUID!) { faces(where: {id: {eq: $id}}) { items { searchSessionObjects { score } } } }"""
    (face,) = query(cluster.graphql_url, at_face, {"id": top["faceId"]})["faces"]["items"]
    assert {o["score"] for o in face["searchSessionObjects"]} == {92}  # three sessions found it, each with 92


def test_bad_requests_are_400s_and_an_unknown_session_404(cluster: Cluster) -> None:
    with cluster.http() as api:
        image = {"data": photo_b64(PROBE)}
        for body in (
            {"image": image, "threshold": 101},
            {"image": image, "threshold": -1},
            {"image": image, "threshold": "high"},
            {"threshold": 30},
            {"image": {"data": "not base64!"}},
            {"image": image, "faceDetectorResourceId": "quantum"},
            {"image": image, "templateGeneratorResourceId": "none"},
            {"image": image, "faceDetectorConfig": {"minFaceSize": -5}},
        ):
            assert_problem(api.post("/api/v1/Faces/Search", json=body), 400)
        # An image without a face: SmartFace's 400 ("no face"), never an undeclared 422.
        blank = {"image": {"data": base64.b64encode(jpeg(640, 360)).decode()}}
        assert_problem(api.post("/api/v1/Faces/Search", json=blank), 400)

        assert_problem(api.get(f"/api/v1/Faces/Search/{uuid.uuid4()}"), 404)
        assert_problem(api.get("/api/v1/Faces/Search/not-a-guid"), 400)
        r = api.get(f"/api/v1/Faces/Search/{uuid.uuid4()}", params={"PageSize": 0})
        assert_problem(r, 400)


async def sessions_now(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {str(r["id"]): r["state"] for r in await conn.fetch("SELECT id, state FROM search_sessions")}
    finally:
        await conn.close()


async def sql(database_url: str, statement: str, *args: Any) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


def put_cleanup(api: httpx.Client, **values: Any) -> None:
    r = api.put("/api/v1/Setup/SearchSessionsCleanup", json={**DEFAULT_CLEANUP, **values})
    assert r.status_code == 200, r.text


def test_search_sessions_cleanup_deletes_finished_sessions_by_age_and_count(
    stored: tuple[httpx.Client, str, dict[float, dict[str, str]]], cluster: Cluster
) -> None:
    api, _, _ = stored
    url = cluster.servers.database_url
    old, middle, newest = (start(api) for _ in range(3))
    for session_id in (old, middle, newest):
        finished(api, session_id)
    # A running session (its replica writing progress now) created long ago is never deleted.
    running = str(uuid.uuid4())
    insert = """INSERT INTO search_sessions (id, threshold, template_model, instance, created_at, updated_at)
                VALUES ($1, 30, 'm@1', 'elsewhere', clock_timestamp() - interval '3 days',
                        clock_timestamp() + interval '1 hour')"""
    asyncio.run(sql(url, insert, uuid.UUID(running)))
    asyncio.run(sql(url, "UPDATE search_sessions SET created_at = created_at - interval '2 days' WHERE id = $1",
                    uuid.UUID(old)))  # fmt: skip
    try:
        put_cleanup(api, maxSessionAge="1.00:00:00", interval="00:00:01")
        wait_until(lambda: old not in asyncio.run(sessions_now(url)), 30, "the old session to be deleted")
        assert_problem(api.get(f"/api/v1/Faces/Search/{old}"), 404)
        left = asyncio.run(sessions_now(url))
        assert set(left) == {middle, newest, running}

        put_cleanup(api, maxSessionAge=None, maxItemsCount=1, interval="00:00:01")
        wait_until(lambda: middle not in asyncio.run(sessions_now(url)), 30, "sessions beyond the count to go")
        time.sleep(2)  # a few more runs change nothing
        assert set(asyncio.run(sessions_now(url))) == {newest, running}
        r = api.get(f"/api/v1/Faces/Search/{newest}")
        assert r.status_code == 200 and r.json()["session"]["matchesCount"] == 4

        put_cleanup(api, enabled=False, maxSessionAge=None, maxItemsCount=1, interval="00:00:01")
        asyncio.run(sql(url, "UPDATE search_sessions SET created_at = created_at - interval '5 days'"))
        time.sleep(3)  # switched off: nothing goes
        assert set(asyncio.run(sessions_now(url))) == {newest, running}
    finally:
        put_cleanup(api)
