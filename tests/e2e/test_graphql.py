"""The GraphQL API over the gallery, against a real cluster: the documents SmartFace integrations
send (members by name with their watchlists and their faces' image ids, nested filters, paging)
answer what the REST API answers for the same data, created through REST."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from ariadne import graphql

from services.graphql.queries import Reader
from services.graphql.schema import build_schema
from shared.db.pool import create_pool
from shared.messages.identification import member_tracklet_id
from tests.e2e.test_seen import FACE_KEYS
from tests.e2e.test_seen import seen as seen  # a fixture: a camera's seeded faces
from tests.graphql_client import query
from tests.support import Cluster, photo_b64

MEMBERS_BY_NAME = """
query Members($name: String!) {
  watchlistMembers(where: {fullName: {eq: $name}}) {
    totalCount
    items {
      id displayName fullName note createdAt updatedAt trackletId
      labels { key value }
      watchlists(order: [{fullName: ASC}]) { id displayName fullName threshold previewColor }
      tracklet { id faces { id imageDataId trackletId frameId quality templateQuality createdAt processedAt state } }
    }
  }
}"""


@pytest.fixture
def graphql_url(cluster: Cluster) -> str:
    return cluster.graphql_url


@pytest.fixture
def gallery(api: httpx.Client) -> dict[str, Any]:
    """Two watchlists; person01 in both (with labels and a face), person02 in one (a face)."""
    ids = {}
    for name, threshold in (("Entrance", 40), ("VIP", 60)):
        r = api.post(
            "/api/v1/Watchlists", json={"displayName": name, "fullName": f"{name} list", "threshold": threshold}
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    for member, photo, lists in (
        ("person01", "img1.jpg", ["Entrance", "VIP"]),
        ("person02", "img11.jpg", ["Entrance"]),
    ):
        body = {"id": member, "images": [{"data": photo_b64(photo)}], "watchlistIds": [ids[w] for w in lists],
                "displayName": member.title(), "fullName": f"Full {member}"}  # fmt: skip
        r = api.post("/api/v1/WatchlistMembers/Register", json=body)
        assert r.status_code == 201, r.text
    labelled = {"id": "person01", "displayName": "Person01", "fullName": "Full person01",
                "labels": [{"key": "dept", "value": "R&D"}]}  # fmt: skip
    r = api.put("/api/v1/WatchlistMembers", json=labelled)
    assert r.status_code == 200, r.text
    return ids


def test_member_by_full_name_answers_what_rest_answers(
    graphql_url: str, api: httpx.Client, gallery: dict[str, Any]
) -> None:
    data = query(graphql_url, MEMBERS_BY_NAME, {"name": "Full person01"})["watchlistMembers"]
    assert data["totalCount"] == 1
    (member,) = data["items"]
    rest = api.get("/api/v1/WatchlistMembers/person01").json()
    for key in ("id", "displayName", "fullName", "note", "createdAt", "updatedAt", "labels"):
        assert member[key] == rest[key], key
    assert member["trackletId"] == member_tracklet_id("person01") == member["tracklet"]["id"]
    rest_lists = sorted((w for w in api.get("/api/v1/Watchlists").json()["items"] if w["id"] in gallery.values()),
                        key=lambda w: w["fullName"])  # fmt: skip
    assert [w["id"] for w in member["watchlists"]] == [w["id"] for w in rest_lists]
    for mine, theirs in zip(member["watchlists"], rest_lists, strict=True):
        assert {k: mine[k] for k in ("displayName", "fullName", "threshold", "previewColor")} == \
            {k: theirs[k] for k in ("displayName", "fullName", "threshold", "previewColor")}  # fmt: skip
    rest_faces = api.get("/api/v1/WatchlistMembers/person01/Faces").json()["items"]
    assert len(member["tracklet"]["faces"]) == len(rest_faces) == 1
    face, theirs = member["tracklet"]["faces"][0], rest_faces[0]
    for key in ("id", "imageDataId", "trackletId", "frameId", "quality", "templateQuality", "createdAt", "processedAt"):
        assert face[key] == theirs[key], key
    assert face["state"] == theirs["state"].upper() == "EXTRACTED"


def test_nested_filters_and_paging(graphql_url: str, gallery: dict[str, Any]) -> None:
    vip = query(
        graphql_url,
        """{ watchlists(where: {watchlistMembers: {some: {fullName: {startsWith: "Full person0"}}},
                                   threshold: {gte: 50}}) { totalCount items { id } } }""",
    )["watchlists"]
    assert vip == {"totalCount": 1, "items": [{"id": gallery["VIP"]}]}
    only_entrance = query(
        graphql_url,
        """{ watchlistMembers(where: {watchlists: {all: {threshold: {lt: 50}}}}) {
                                            items { id } } }""",
    )["watchlistMembers"]["items"]
    assert only_entrance == [{"id": "person02"}]
    labelled = query(
        graphql_url,
        """{ watchlistMembers(where: {or: [{labels: {some: {value: {contains: "&"}}}},
                                       {displayName: {eq: "nobody"}}]}) { items { id } } }""",
    )["watchlistMembers"]
    assert labelled["items"] == [{"id": "person01"}]
    second = query(
        graphql_url,
        """{ watchlistMembers(order: [{fullName: DESC}], skip: 1, take: 1) {
                                     totalCount pageInfo { hasNextPage hasPreviousPage } items { id } } }""",
    )
    assert second["watchlistMembers"] == {"totalCount": 2, "items": [{"id": "person01"}],
                                          "pageInfo": {"hasNextPage": False, "hasPreviousPage": True}}  # fmt: skip
    no_member_faces = query(graphql_url, """{ watchlistMembers(where: {tracklet: {faces: {none: {quality: {gt: 0}}}}})
                                             { totalCount } }""")  # fmt: skip
    assert no_member_faces["watchlistMembers"]["totalCount"] == 0
    # Data Facegate does not have answers empty, never an error.
    empty = query(
        graphql_url, "{ individuals { totalCount items { id } } watchlists { items { edgeStreams { id } } } }"
    )
    assert empty["individuals"] == {"totalCount": 0, "items": []}
    assert all(w["edgeStreams"] == [] for w in empty["watchlists"]["items"])


def test_nested_relations_load_in_one_statement_per_relation(cluster: Cluster, gallery: dict[str, Any]) -> None:
    async def run() -> tuple[Any, int]:
        pool = await create_pool(cluster.servers.database_url)
        try:
            schema = build_schema()
            reader = Reader(pool, schema)
            document = """{ watchlists { items { id watchlistMembers { id watchlists { id } tracklet { faces { id } } }
                            } } }"""  # fmt: skip
            ok, result = await graphql(schema, {"query": document}, context_value={"reader": reader})
            assert ok and "errors" not in result, result
            return result["data"], reader.statements
        finally:
            await pool.close()

    data, statements = asyncio.run(run())
    assert sum(len(w["watchlistMembers"]) for w in data["watchlists"]["items"]) == 3
    # the page, then one per relation and level: members, their watchlists, tracklets, faces
    assert statements == 5


FACE_FIELDS = sorted(FACE_KEYS - {"autolearnClusterType"})
ENUM_FIELDS = {"state", "type", "faceMaskStatus"}


def _as_rest(face: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL face in REST's spelling (enums in PascalCase)."""
    return {k: "".join(p.capitalize() for p in v.split("_")) if k in ENUM_FIELDS else v for k, v in face.items()}


def test_faces_of_a_camera_in_a_time_range_page_like_rest(
    graphql_url: str,
    seen: tuple[httpx.Client, str, dict[str, Any]],
) -> None:
    api, camera, data = seen
    everything = api.get("/api/v1/Faces", params={"CameraId": camera, "PageSize": 100}).json()["items"]
    since = everything[1]["createdAt"]  # the range leaves the first face out
    rest = api.get("/api/v1/Faces", params={"CameraId": camera, "CreatedFrom": since, "PageSize": 2,
                                            "PageNumber": 2, "ShowTotalCount": "true"}).json()  # fmt: skip
    document = f"""query($camera: UUID!, $since: DateTime!) {{
      faces(where: {{streamId: {{eq: $camera}}, createdAt: {{gte: $since, lt: "2999-01-01T00:00:00Z"}}}},
            order: [{{createdAt: ASC}}], skip: 2, take: 2) {{
        totalCount pageInfo {{ hasNextPage hasPreviousPage }}
        items {{ {" ".join(FACE_FIELDS)} streamId }}
      }} }}"""
    page = query(graphql_url, document, {"camera": camera, "since": since})["faces"]
    assert page["totalCount"] == rest["totalItemsCount"] == len(data["faces"]) - 1
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}
    assert [_as_rest({k: f[k] for k in FACE_FIELDS}) for f in page["items"]] == [
        {k: f[k] for k in FACE_FIELDS} for f in rest["items"]
    ]
    assert {f["streamId"] for f in page["items"]} == {camera}


def test_frames_tracklets_and_nested_relations_match_rest(
    graphql_url: str,
    seen: tuple[httpx.Client, str, dict[str, Any]],
) -> None:
    api, camera, data = seen
    tracklet = data["tracklets"][1]
    rest_tracklet = api.get(f"/api/v1/Tracklet/{tracklet}").json()
    rest_faces = api.get(f"/api/v1/Tracklet/{tracklet}/Faces").json()["items"]
    document = """query($id: UUID!) { tracklets(where: {id: {eq: $id}}) { items {
        id timeAppeared timeDisappeared timeAppearedRelativeMs timeDisappearedRelativeMs createdAt updatedAt streamId
        faces(order: [{createdAt: ASC}]) {
          id imageDataId frame { id imageDataId positionInMs receivedAt state } } } } }"""
    (mine,) = query(graphql_url, document, {"id": tracklet})["tracklets"]["items"]
    assert {k: mine[k] for k in rest_tracklet} == rest_tracklet and mine["streamId"] == camera
    assert [(f["id"], f["imageDataId"]) for f in mine["faces"]] == [(f["id"], f["imageDataId"]) for f in rest_faces]
    for face in mine["faces"]:
        rest_frame = api.get(f"/api/v1/Frames/{face['frame']['id']}").json()
        assert {**face["frame"], "state": rest_frame["state"]} == {k: rest_frame[k] for k in face["frame"]}
        assert face["frame"]["state"] == rest_frame["state"].upper()
    frames = query(
        graphql_url,
        """query($c: UUID!) { frames(where: {streamId: {eq: $c}, faces: {some: {tracklet:
                                   {timeAppearedRelativeMs: {gte: 1000}}}}}) { totalCount } }""",
        {"c": camera},
    )
    assert frames["frames"]["totalCount"] == 4  # the frames of the 2nd and 3rd tracklets' faces
