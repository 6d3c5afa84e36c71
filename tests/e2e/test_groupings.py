"""Record and live groupings and their individuals through the REST API, against the real cluster:
uploaded photos of ../shared/faces join a record grouping as individuals, one per person; splits
and merges by hand survive a later run; every error case answers SmartFace's status."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.graphql_client import query
from tests.support import Cluster, assert_problem, photo_b64, truncate, wait_until

RECORDS = "/api/v1/RecordGroupings"
LIVE = "/api/v1/LiveGroupings"
INDIVIDUALS = "/api/v1/Individuals"
PEOPLE = {"person01": ["img1.jpg", "img2.jpg", "img4.jpg"], "person02": ["img13.jpg", "img14.jpg"],
          "person03": ["img20.jpg"]}  # fmt: skip
GROUPING_TABLES = ("groupings", "grouping_tracklets", "cameras")


@pytest.fixture
def client(cluster: Cluster) -> Iterator[httpx.Client]:
    truncate(cluster.servers.database_url, GROUPING_TABLES)
    with cluster.http() as http:
        yield http


def sql(cluster: Cluster, query: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(cluster.servers.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def upload(client: httpx.Client, grouping_id: str, photo: str) -> dict[str, Any]:
    r = client.post(f"{RECORDS}/{grouping_id}/Image", json={"imageData": {"data": photo_b64(photo)}})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def run_to_ready(client: httpx.Client, grouping_id: str) -> None:
    assert client.post(f"{RECORDS}/{grouping_id}/Trigger").status_code == 204
    wait_until(lambda: client.get(f"{RECORDS}/{grouping_id}/State").json()["status"] == "Ready", 60, "the run")


def individuals(client: httpx.Client, base: str, grouping_id: str) -> dict[str, set[str]]:
    """individual id -> its tracklet ids."""
    page = client.get(f"{base}/{grouping_id}/Individuals", params={"PageSize": 100}).json()
    out = {}
    for item in page["items"]:
        tracklets = client.get(f"{INDIVIDUALS}/{item['id']}/Tracklets", params={"PageSize": 100}).json()
        out[item["id"]] = {t["id"] for t in tracklets["items"]}
    return out


def tracklet_of_frame(client: httpx.Client, grouping_id: str, frame_id: str) -> str:
    """The tracklet of an uploaded photo's one face (an upload's faces are faces of the grouping's
    own stream)."""
    params: dict[str, str | int] = {"PageSize": 100, "CameraId": grouping_id, "Ascending": "false"}
    faces = client.get("/api/v1/Faces", params=params).json()["items"]
    (tracklet,) = {f["trackletId"] for f in faces if f["frameId"] == frame_id}
    return str(tracklet)


INDIVIDUALS_QUERY = """{
  individuals(order: [{createdAt: ASC}]) {
    totalCount
    items { id groupingMetadataId hidden entranceTime exitTime tracklets { id } faces { id trackletId } }
  }
}"""


def test_uploaded_photos_become_one_individual_per_person(client: httpx.Client, cluster: Cluster) -> None:
    grouping = client.post(RECORDS, json={"description": "lobby", "config": {"threshold": 40}}).json()
    gid = grouping["id"]
    assert grouping == {"config": {"threshold": 40}, "id": gid, "description": "lobby"}
    person_of: dict[str, str] = {}
    for person, photos in PEOPLE.items():
        for photo in photos:
            uploaded = upload(client, gid, photo)
            assert client.get(f"/api/v1/Frames/{uploaded['frameId']}").status_code == 200
            image = client.get(f"/api/v1/Images/{uploaded['frameImageDataId']}")
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            person_of[tracklet_of_frame(client, gid, uploaded["frameId"])] = person
    state = client.get(f"{RECORDS}/{gid}/State").json()
    assert state == {"id": gid, "numNewFrames": 6, "numUnprocFrames": 6, "status": "Ready"}
    frames = client.get(f"{RECORDS}/{gid}/Frames", params={"ShowTotalCount": True}).json()
    assert frames["totalItemsCount"] == 6

    run_to_ready(client, gid)
    found = individuals(client, RECORDS, gid)
    assert sorted(len(ts) for ts in found.values()) == [1, 2, 3]
    for tracklet_ids in found.values():
        assert len({person_of[t] for t in tracklet_ids}) == 1, "one person per individual"
    assert client.get(f"{RECORDS}/{gid}/State").json()["numUnprocFrames"] == 0

    # One more photo of person02 joins person02's individual at the next run; nothing else moves.
    extra = upload(client, gid, "img15.jpg")
    person_of[tracklet_of_frame(client, gid, extra["frameId"])] = "person02"
    run_to_ready(client, gid)
    again = individuals(client, RECORDS, gid)
    assert set(again) == set(found)
    assert sorted(len(ts) for ts in again.values()) == [1, 3, 3]

    # Search: person01's other photo finds person01's individual (and only it).
    probe = {"image": {"data": photo_b64("img5.jpg")}, "groupingId": gid, "matchThreshold": 40}
    results = client.post(f"{INDIVIDUALS}/Search", json=probe).json()["results"]
    assert [{person_of[t] for t in again[r["id"]]} for r in results] == [{"person01"}]
    individual = client.get(f"{INDIVIDUALS}/{results[0]['id']}").json()
    assert set(individual) == {"entranceTime", "exitTime", "bestFaceId", "id", "createdAt", "updatedAt"}
    assert client.get(f"/api/v1/Faces/{individual['bestFaceId']}").status_code == 200

    # GraphQL's individuals root answers the same individuals with their tracklets and faces.
    answer = query(cluster.graphql_url, INDIVIDUALS_QUERY)["individuals"]
    assert answer["totalCount"] == 3
    by_id = {i["id"]: i for i in answer["items"]}
    assert set(by_id) == set(again)
    assert len({i["groupingMetadataId"] for i in answer["items"]}) == 1
    for individual_id, tracklet_ids in again.items():
        assert {t["id"] for t in by_id[individual_id]["tracklets"]} == tracklet_ids
        assert {f["trackletId"] for f in by_id[individual_id]["faces"]} == tracklet_ids
        assert by_id[individual_id]["hidden"] is False


def test_splits_and_merges_survive_a_new_run(client: httpx.Client) -> None:
    gid = client.post(RECORDS, json={}).json()["id"]
    person_of = {}
    for person, photos in PEOPLE.items():
        for photo in photos:
            person_of[tracklet_of_frame(client, gid, upload(client, gid, photo)["frameId"])] = person
    run_to_ready(client, gid)
    found = individuals(client, RECORDS, gid)
    by_person = {person_of[next(iter(ts))]: i for i, ts in found.items()}

    # Split one of person01's three tracklets off; merge person02 into person03 (a user may
    # know better than the faces: the grouping must keep what they decided).
    moved = sorted(found[by_person["person01"]])[0]
    split = client.post(f"{INDIVIDUALS}/Split",
                        json={"trackletsIds": [moved], "previousIndividualId": by_person["person01"]})  # fmt: skip
    assert split.status_code == 200, split.text
    split_id = split.json()["individualId"]
    merge = client.post(f"{INDIVIDUALS}/Merge", json={"individualIds": [by_person["person03"], by_person["person02"]]})
    assert merge.json() == {"individualId": by_person["person03"]}
    assert client.get(f"{INDIVIDUALS}/{by_person['person02']}").status_code == 404
    merged = found[by_person["person02"]] | found[by_person["person03"]]
    assert individuals(client, RECORDS, gid)[by_person["person03"]] == merged

    # New photos of both people: the run adds them without undoing either decision.
    for photo, person in (("img6.jpg", "person01"), ("img15.jpg", "person02")):
        person_of[tracklet_of_frame(client, gid, upload(client, gid, photo)["frameId"])] = person
    run_to_ready(client, gid)
    after = individuals(client, RECORDS, gid)
    assert {by_person["person01"], split_id, by_person["person03"]} <= set(after)
    assert by_person["person02"] not in after
    assert moved in after[split_id] and moved not in after[by_person["person01"]]
    assert merged <= after[by_person["person03"]]
    assert sum(len(ts) for ts in after.values()) == 8
    for individual_id, tracklet_ids in after.items():
        if individual_id != by_person["person03"]:
            assert len({person_of[t] for t in tracklet_ids}) == 1

    # Errors: a tracklet not in the individual, a merge across groupings, unknown ids.
    other = sorted(after[by_person["person03"]])[0]
    body = {"trackletsIds": [other], "previousIndividualId": by_person["person01"]}
    assert_problem(client.post(f"{INDIVIDUALS}/Split", json=body), 400)
    every = {"trackletsIds": sorted(after[split_id]), "previousIndividualId": split_id}
    assert_problem(client.post(f"{INDIVIDUALS}/Split", json=every), 400)
    unknown = str(uuid.uuid4())
    assert_problem(client.post(f"{INDIVIDUALS}/Split", json={"trackletsIds": [other], "previousIndividualId": unknown}),
                   400)  # fmt: skip
    assert_problem(client.post(f"{INDIVIDUALS}/Merge", json={"individualIds": [split_id, unknown]}), 400)
    second = client.post(RECORDS, json={}).json()["id"]
    upload(client, second, "img1.jpg")
    run_to_ready(client, second)
    (foreign,) = individuals(client, RECORDS, second)
    assert_problem(client.post(f"{INDIVIDUALS}/Merge", json={"individualIds": [split_id, foreign]}), 400)

    # Deleting an individual keeps its tracklets grouped: a new run does not bring it back.
    assert client.delete(f"{INDIVIDUALS}/{split_id}").status_code == 204
    assert_problem(client.delete(f"{INDIVIDUALS}/{split_id}"), 404)
    run_to_ready(client, gid)
    assert split_id not in individuals(client, RECORDS, gid)


def test_record_grouping_errors_answer_smartfaces_statuses(client: httpx.Client, cluster: Cluster) -> None:
    unknown = str(uuid.uuid4())
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/Individuals"), ("GET", "/Frames")):
        assert_problem(client.request(method, f"{RECORDS}/{unknown}{path}"), 404)
    assert_problem(client.get(f"{RECORDS}/{unknown}/State"), 404)  # SmartFace declares only 200 there
    assert_problem(client.post(f"{RECORDS}/{unknown}/Trigger"), 400)  # only 400 declared
    assert_problem(client.post(f"{RECORDS}/{unknown}/Image", json={"imageData": {"data": photo_b64("img1.jpg")}}),
                   400)  # fmt: skip
    assert_problem(client.get(f"{RECORDS}/not-a-guid"), 404)
    assert_problem(client.put(RECORDS, json={"id": unknown, "config": {"threshold": 40}}), 404)
    assert_problem(client.post(RECORDS, json={"config": {"threshold": 101}}), 400)
    gid = client.post(RECORDS, json={"config": {}}).json()["id"]
    assert client.get(f"{RECORDS}/{gid}").json()["config"] == {"threshold": 40}
    updated = client.put(RECORDS, json={"id": gid, "config": {"threshold": 55}, "description": "d"}).json()
    assert updated == {"config": {"threshold": 55}, "id": gid, "description": "d"}
    assert [g["id"] for g in client.get(RECORDS).json()] == [gid]
    assert_problem(client.get(f"{LIVE}/{gid}"), 404)  # a record grouping is not a live one
    # An unknown video record is a 404.
    assert_problem(client.post(f"{RECORDS}/{gid}/LinkVideoRecords", json={"ids": [unknown]}), 404)
    assert client.post(f"{RECORDS}/{gid}/UnlinkVideoRecords", json={"ids": [unknown]}).status_code == 204
    assert_problem(client.post(f"{RECORDS}/{gid}/Image", json={"imageData": {"data": "bm90IGFuIGltYWdl"}}), 400)
    assert_problem(client.post(f"{INDIVIDUALS}/Search", json={"image": {"data": photo_b64("img1.jpg")},
                                                              "groupingId": unknown}), 400)  # fmt: skip
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/Tracklets")):
        assert_problem(client.request(method, f"{INDIVIDUALS}/{unknown}{path}"), 404)

    # A grouping being processed cannot be deleted (SmartFace's 409): another replica holds its run.
    sql(cluster, "UPDATE groupings SET runner = 'elsewhere', runner_until = now() + interval '1 minute' WHERE id = $1",
        uuid.UUID(gid))  # fmt: skip
    assert client.get(f"{RECORDS}/{gid}/State").json()["status"] == "Processing"
    assert_problem(client.delete(f"{RECORDS}/{gid}"), 409)
    sql(cluster, "UPDATE groupings SET runner = NULL, runner_until = NULL WHERE id = $1", uuid.UUID(gid))
    assert client.delete(f"{RECORDS}/{gid}").status_code == 204
    assert_problem(client.get(f"{RECORDS}/{gid}"), 404)


def test_live_grouping_crud_and_links(client: httpx.Client) -> None:
    created = client.post(LIVE, json={"description": "entrance"})
    assert created.status_code == 201, created.text
    grouping = created.json()
    gid = grouping["id"]
    assert grouping == {"config": {"enabled": True, "step": 600, "slidingWindow": 3600, "threshold": 40}, "id": gid,
                        "description": "entrance"}  # fmt: skip
    camera = client.post("/api/v1/Cameras", json={"name": "door", "source": "rtsp://127.0.0.1:9/none"}).json()
    assert client.post(f"{LIVE}/{gid}/LinkCameras", json={"ids": [camera["id"]]}).status_code == 204
    assert [c["id"] for c in client.get(f"{LIVE}/{gid}/Cameras").json()] == [camera["id"]]
    streams = client.get(f"{LIVE}/{gid}/Streams").json()
    assert [c["id"] for c in streams["cameras"]] == [camera["id"]] and streams["edgeStreams"] == []
    unknown = str(uuid.uuid4())
    assert_problem(client.post(f"{LIVE}/{gid}/LinkCameras", json={"ids": [unknown]}), 404)
    assert_problem(client.post(f"{LIVE}/{gid}/LinkStreams", json={"ids": [unknown]}), 404)
    assert_problem(client.post(f"{LIVE}/{unknown}/LinkCameras", json={"ids": [camera["id"]]}), 404)
    assert_problem(client.post(f"{LIVE}/{gid}/LinkCameras", json={"ids": ["nope"]}), 400)
    assert client.post(f"{LIVE}/{gid}/UnlinkCameras", json={"ids": [camera["id"]]}).status_code == 204
    assert client.get(f"{LIVE}/{gid}/Cameras").json() == []
    body = {"id": gid, "config": {"enabled": False, "step": 5, "slidingWindow": 60, "threshold": 45}}
    assert client.put(LIVE, json=body).json()["config"] == {"enabled": False, "step": 5, "slidingWindow": 60,
                                                            "threshold": 45}  # fmt: skip
    assert_problem(client.put(LIVE, json={**body, "id": unknown}), 404)
    assert_problem(client.post(LIVE, json={"config": {"step": 0}}), 400)
    page = client.get(f"{LIVE}/{gid}/Individuals", params={"ShowTotalCount": True}).json()
    assert page["items"] == [] and page["totalItemsCount"] == 0
    assert client.get(f"{LIVE}/{gid}/Frames").json()["items"] == []
    assert [g["id"] for g in client.get(LIVE).json()] == [gid]
    assert client.delete(f"{LIVE}/{gid}").status_code == 204
    assert_problem(client.delete(f"{LIVE}/{gid}"), 404)
