"""Watchlists through the real gateway, NATS, matcher and Postgres."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support import assert_problem

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def create(api: httpx.Client, name: str = "Staff", **extra: object) -> dict[str, object]:
    r = api.post("/api/v1/Watchlists", json={"displayName": name, "fullName": f"{name} list", **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_get_and_defaults(api: httpx.Client) -> None:
    wl = create(api, previewColor="#ff0000")
    assert wl["threshold"] == 40 and wl["palmThreshold"] == 40
    assert wl["previewColor"] == "#ff0000" and wl["updatedAt"] is None
    assert isinstance(wl["createdAt"], str) and ISO_Z.match(wl["createdAt"])
    assert re.match(r"^[0-9a-f-]{36}$", str(wl["id"]))
    got = api.get(f"/api/v1/Watchlists/{wl['id']}")
    assert got.status_code == 200 and got.json() == wl


def test_put_creates_with_custom_id_then_updates(api: httpx.Client) -> None:
    body = {"id": "vip-list", "displayName": "VIP", "fullName": "Very important", "threshold": 55}
    created = api.put("/api/v1/Watchlists", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["id"] == "vip-list" and created.json()["updatedAt"] is None
    updated = api.put("/api/v1/Watchlists", json={**body, "displayName": "VIPs", "previewColor": "#0a0"})
    assert updated.status_code == 200
    assert updated.json()["displayName"] == "VIPs" and updated.json()["previewColor"] == "#0a0"
    assert updated.json()["updatedAt"] is not None
    assert updated.json()["createdAt"] == created.json()["createdAt"]
    assert api.get("/api/v1/Watchlists/vip-list").json()["displayName"] == "VIPs"


def test_paging_links_and_total(api: httpx.Client) -> None:
    ids = [create(api, f"W{i}")["id"] for i in range(5)]
    first = api.get("/api/v1/Watchlists", params={"PageSize": 2, "ShowTotalCount": "true"}).json()
    assert first["totalItemsCount"] == 5 and first["pageNumber"] == 1 and first["pageSize"] == 2
    assert [w["id"] for w in first["items"]] == ids[:2]
    assert first["previousPage"] is None and "PageNumber=2" in first["nextPage"]
    second = api.get(first["nextPage"]).json()
    assert [w["id"] for w in second["items"]] == ids[2:4] and "PageNumber=1" in second["previousPage"]
    last = api.get("/api/v1/Watchlists", params={"PageSize": 2, "PageNumber": 3}).json()
    assert [w["id"] for w in last["items"]] == ids[4:] and last["nextPage"] is None
    assert last["totalItemsCount"] is None
    newest = api.get("/api/v1/Watchlists", params={"Ascending": "false", "PageSize": 1}).json()
    assert newest["items"][0]["id"] == ids[-1]


def test_delete_keeps_members(api: httpx.Client) -> None:
    wl = create(api)
    member = api.post("/api/v1/WatchlistMembers", json={"displayName": "Ann"}).json()
    link = {"watchlistId": wl["id"], "watchlistMembersIds": [member["id"]]}
    assert api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link).status_code == 204
    r = api.delete(f"/api/v1/Watchlists/{wl['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_problem(api.get(f"/api/v1/Watchlists/{wl['id']}"), 404)
    assert api.get(f"/api/v1/WatchlistMembers/{member['id']}").status_code == 200
    assert_problem(api.delete(f"/api/v1/Watchlists/{wl['id']}"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fullName": "no display name"}, "displayName"),
        ({"displayName": "a", "fullName": "b", "threshold": "high"}, "threshold"),
        ({"displayName": "a", "fullName": "b", "threshold": 101}, "threshold"),
        ({"displayName": "a", "fullName": "b", "threshold": -1}, "threshold"),
        ({"displayName": "a", "fullName": "b", "previewColor": "red"}, "previewColor"),
        ({"displayName": "a", "fullName": "b", "previewColor": "#12345"}, "previewColor"),
        ({"displayName": "x" * 201, "fullName": "b"}, "displayName"),
        ({"displayName": 5, "fullName": "b"}, "displayName"),
    ],
)
def test_bad_watchlist_bodies_are_400_with_field(api: httpx.Client, body: dict[str, object], field: str) -> None:
    problem = assert_problem(api.post("/api/v1/Watchlists", json=body), 400)
    errors = problem["errors"]
    assert isinstance(errors, dict) and any(field in key for key in errors), problem


def test_not_json_and_wrong_shapes_are_400(api: httpx.Client) -> None:
    json_type = {"content-type": "application/json"}
    assert_problem(api.post("/api/v1/Watchlists", content=b"{not json", headers=json_type), 400)
    assert_problem(api.post("/api/v1/Watchlists", json=[1, 2]), 400)
    assert_problem(api.put("/api/v1/Watchlists", json={"displayName": "a", "fullName": "b"}), 400)
    assert_problem(api.put("/api/v1/Watchlists", json={"id": "", "displayName": "a", "fullName": "b"}), 400)


@pytest.mark.parametrize("params", [{"PageSize": 0}, {"PageSize": 1001}, {"PageNumber": 0}, {"PageNumber": "two"}])
def test_bad_paging_is_400(api: httpx.Client, params: dict[str, int | str]) -> None:
    problem = assert_problem(api.get("/api/v1/Watchlists", params=params), 400)
    assert set(problem["errors"]) & {"PageSize", "PageNumber"}, problem


def test_unknown_id_is_404_and_children_of_an_unknown_parent_an_empty_page(api: httpx.Client) -> None:
    problem = assert_problem(api.get("/api/v1/Watchlists/does-not-exist"), 404)
    assert "does-not-exist" in str(problem["detail"])
    # SmartFace declares only 200/400 for the child lists: an unknown parent has no children.
    for path in ("Watchlists/does-not-exist/WatchlistMembers", "WatchlistMembers/does-not-exist/Faces"):
        r = api.get(f"/api/v1/{path}", params={"ShowTotalCount": "true"})
        assert r.status_code == 200, r.text
        assert r.json()["items"] == [] and r.json()["totalItemsCount"] == 0, r.json()
    assert_problem(api.get("/api/v1/NoSuchResource"), 404)


def test_version(api: httpx.Client) -> None:
    v = api.get("/api/v1/Version").json()
    assert set(v) == {
        "databaseVersion", "databaseVersionCreationTime", "databaseVersionUpdatedTime",
        "assemblyVersion", "assemblyLastModifiedTime", "fullVersion",
    }
    assert v["databaseVersion"].isdigit() and "Facegate" in v["fullVersion"]


# Found by schema fuzzing (tests/contract/test_schema_fuzzing.py); each was a 500 before.


def test_nul_in_text_is_400_and_in_a_path_id_404(api: httpx.Client) -> None:
    body = {"id": "x\u0000", "displayName": "a", "fullName": "b"}
    assert_problem(api.put("/api/v1/Watchlists", json=body), 400)
    assert_problem(api.post("/api/v1/Watchlists", json={"displayName": "a\u0000", "fullName": "b"}), 400)
    # SmartFace declares only 404 for these: such an id can never exist.
    problem = assert_problem(api.get("/api/v1/Watchlists/a%00b"), 404)
    assert "id" in problem["errors"], problem
    assert_problem(api.delete("/api/v1/WatchlistMembers/a%00b"), 404)
    assert_problem(api.post("/api/v1/WatchlistMembers", json={"note": "n\u0000"}), 400)


def test_page_number_beyond_int32_is_400(api: httpx.Client) -> None:
    problem = assert_problem(api.get("/api/v1/Watchlists", params={"PageNumber": 2**55}), 400)
    assert "PageNumber" in problem["errors"]
    assert api.get("/api/v1/Watchlists", params={"PageNumber": 2**31 - 1}).json()["items"] == []


def test_routes_take_any_letter_case_and_ids_keep_theirs(api: httpx.Client) -> None:
    """SmartFace's routes are case-insensitive (ASP.NET); an id in the path is still exact."""
    body = {"id": "MixedCase-Id", "displayName": "M", "fullName": "Mixed"}
    assert api.put("/api/v1/watchlists", json=body).status_code == 200
    listed = api.get("/API/V1/WATCHLISTS")
    assert listed.status_code == 200 and [w["id"] for w in listed.json()["items"]] == ["MixedCase-Id"]
    assert api.get("/api/v1/watchlists/MixedCase-Id").json()["id"] == "MixedCase-Id"
    assert api.get("/api/v1/watchlists/MixedCase-Id/watchlistmembers").json()["items"] == []
    problem = assert_problem(api.get("/api/v1/watchlists/mixedcase-id"), 404)
    assert "mixedcase-id" in problem["detail"], problem  # the watchlist's own 404: the route was found
    # A member may be called "register": GET reaches the member, not the POST-only Register.
    assert api.put("/api/v1/WatchlistMembers", json={"id": "register"}).status_code == 200
    assert api.get("/api/v1/watchlistmembers/register").json()["id"] == "register"
    # Images declares 400 for an id that is not a GUID: the Images route answered, in any case.
    assert_problem(api.get("/api/v1/images/not-a-guid"), 400)
    assert_problem(api.get("/api/v1/NoSuchResource"), 404)


@pytest.mark.parametrize(
    "media_type", ["application/json", "application/json-patch+json", "application/*+json", "text/json"]
)
def test_json_bodies_of_every_json_media_type_are_read(api: httpx.Client, media_type: str) -> None:
    """What clients generated from SmartFace's document send (json-patch+json first)."""
    body = b'{"displayName": "Typed", "fullName": "Typed list"}'
    r = api.post("/api/v1/Watchlists", content=body, headers={"content-type": f"{media_type}; charset=utf-8"})
    assert r.status_code == 201, r.text
    assert r.json()["displayName"] == "Typed"
