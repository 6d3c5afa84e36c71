"""Watchlist members and their links through the real cluster."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_watchlists import create
from tests.support import assert_problem, photo_b64


def member(api: httpx.Client, **body: object) -> dict[str, object]:
    r = api.post("/api/v1/WatchlistMembers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def members_of(api: httpx.Client, watchlist_id: object) -> list[object]:
    r = api.get(f"/api/v1/Watchlists/{watchlist_id}/WatchlistMembers", params={"ShowTotalCount": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["totalItemsCount"] == len(r.json()["items"])
    return [m["id"] for m in r.json()["items"]]


def test_create_with_defaults_and_labels(api: httpx.Client) -> None:
    m = member(api, displayName="Ann", fullName="Ann Smith", note="front desk",
               labels=[{"key": "dept", "value": "sales"}])
    assert m["labels"] == [{"key": "dept", "value": "sales"}] and m["totpEnabled"] is False
    assert m["privacy"] == {"saveRegistrationImages": True, "saveMatchedImages": True,
                            "includeMatchedImageInEvents": True}
    assert api.get(f"/api/v1/WatchlistMembers/{m['id']}").json() == m


def test_put_custom_id_creates_then_updates(api: httpx.Client) -> None:
    body = {"id": "juraj-custom-id", "displayName": "Juraj", "privacy": {"saveMatchedImages": False}}
    created = api.put("/api/v1/WatchlistMembers", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["id"] == "juraj-custom-id"
    assert created.json()["privacy"]["saveMatchedImages"] is False
    updated = api.put("/api/v1/WatchlistMembers", json={**body, "note": "updated"}).json()
    assert updated["note"] == "updated" and updated["updatedAt"] is not None
    listed = api.get("/api/v1/WatchlistMembers", params={"ShowTotalCount": "true"}).json()
    assert listed["totalItemsCount"] == 1 and listed["items"][0]["id"] == "juraj-custom-id"


def test_link_unlink_and_delete(api: httpx.Client) -> None:
    a, b = create(api, "A"), create(api, "B")
    m1, m2 = member(api, displayName="one"), member(api, displayName="two")
    link = {"watchlistId": a["id"], "watchlistMembersIds": [m1["id"], m2["id"]]}
    r = api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link)
    assert r.status_code == 204 and r.content == b""
    # Linking again is harmless.
    assert api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link).status_code == 204
    link_b = {"watchlistId": b["id"], "watchlistMembersIds": [m1["id"]]}
    api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link_b)
    assert members_of(api, a["id"]) == [m1["id"], m2["id"]] and members_of(api, b["id"]) == [m1["id"]]

    unlink = {"watchlistId": a["id"], "watchlistMembersIds": [m2["id"]]}
    assert api.post("/api/v1/WatchlistMembers/UnlinkFromWatchlist", json=unlink).status_code == 204
    assert members_of(api, a["id"]) == [m1["id"]]
    assert api.get(f"/api/v1/WatchlistMembers/{m2['id']}").status_code == 200

    assert api.delete(f"/api/v1/WatchlistMembers/{m1['id']}").status_code == 204
    assert members_of(api, a["id"]) == [] and members_of(api, b["id"]) == []
    assert_problem(api.get(f"/api/v1/WatchlistMembers/{m1['id']}"), 404)
    assert_problem(api.delete(f"/api/v1/WatchlistMembers/{m1['id']}"), 404)


def test_link_to_unknown_watchlist_or_member_is_404(api: httpx.Client) -> None:
    wl, m = create(api), member(api)
    for path in ("LinkToWatchlist", "UnlinkFromWatchlist"):
        problem = assert_problem(api.post(f"/api/v1/WatchlistMembers/{path}",
                                          json={"watchlistId": "nope", "watchlistMembersIds": [m["id"]]}), 404)
        assert "nope" in str(problem["detail"])
        body = {"watchlistId": wl["id"], "watchlistMembersIds": [m["id"], "ghost"]}
        problem = assert_problem(api.post(f"/api/v1/WatchlistMembers/{path}", json=body), 404)
        assert "ghost" in str(problem["detail"])
    assert members_of(api, wl["id"]) == []  # nothing half-linked


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/WatchlistMembers", {"labels": [{"key": "k" * 129, "value": "v"}]}),
        ("post", "/api/v1/WatchlistMembers", {"labels": "not-a-list"}),
        ("post", "/api/v1/WatchlistMembers", {"displayName": "x" * 201}),
        ("post", "/api/v1/WatchlistMembers", {"privacy": {"saveMatchedImages": "no"}}),
        ("put", "/api/v1/WatchlistMembers", {"displayName": "missing id"}),
        ("post", "/api/v1/WatchlistMembers/LinkToWatchlist", {"watchlistMembersIds": ["a"]}),
        ("post", "/api/v1/WatchlistMembers/LinkToWatchlist", {"watchlistId": "a", "watchlistMembersIds": "a"}),
        ("post", "/api/v1/WatchlistMembers/LinkToWatchlist", {"watchlistId": "", "watchlistMembersIds": []}),
    ],
)
def test_bad_member_requests_are_400(api: httpx.Client, method: str, path: str, body: object) -> None:
    assert_problem(api.request(method, path, json=body), 400)


def test_members_paging(api: httpx.Client) -> None:
    ids = [member(api, displayName=f"m{i}")["id"] for i in range(3)]
    page = api.get("/api/v1/WatchlistMembers", params={"PageSize": 2, "Ascending": "false"}).json()
    assert [m["id"] for m in page["items"]] == ids[::-1][:2] and page["nextPage"]
    assert "Ascending=false" in page["nextPage"]


def test_numeric_ids_are_read_as_strings(api: httpx.Client) -> None:
    """Clients seeding members from a database send integer keys; SmartFace reads them as ids."""
    watchlist = api.put("/api/v1/Watchlists", json={"id": 7, "displayName": "Seven", "fullName": "Seven"})
    assert watchlist.status_code == 200 and watchlist.json()["id"] == "7", watchlist.text
    one = api.put("/api/v1/WatchlistMembers", json={"id": 1, "displayName": "one"})
    assert one.status_code == 200 and one.json()["id"] == "1", one.text
    link = {"watchlistId": 7, "watchlistMembersIds": [1]}
    assert api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link).status_code == 204
    assert members_of(api, "7") == ["1"]
    body = {"id": 2, "images": [{"data": photo_b64("img1.jpg")}], "watchlistIds": [7]}
    registered = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert registered.status_code == 201, registered.text
    assert registered.json()["id"] == "2" and [w["id"] for w in registered.json()["watchlists"]] == ["7"]
    # Only integers, and only ids: a boolean id or a numeric name stays a 400.
    assert_problem(api.put("/api/v1/WatchlistMembers", json={"id": True, "displayName": "x"}), 400)
    assert_problem(api.put("/api/v1/WatchlistMembers", json={"id": "3", "displayName": 3}), 400)
