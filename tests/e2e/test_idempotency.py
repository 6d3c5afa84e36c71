"""`Idempotency-Key`: a retried create is answered with the first result and creates nothing more."""

from __future__ import annotations

import uuid

import httpx

from tests.support import assert_problem, photo_b64


def test_a_retried_register_answers_the_first_result(api: httpx.Client) -> None:
    watchlist = api.post("/api/v1/Watchlists", json={"displayName": "I", "fullName": "Idempotent"}).json()
    body = {"images": [{"data": photo_b64("img1.jpg")}], "watchlistIds": [watchlist["id"]]}  # the id is generated
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/api/v1/WatchlistMembers/Register", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = api.post("/api/v1/WatchlistMembers/Register", json=body, headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    members = api.get(f"/api/v1/Watchlists/{watchlist['id']}/WatchlistMembers").json()["items"]
    assert [m["id"] for m in members] == [first.json()["id"]]  # one member, not two
    # Without the header every request is a new one.
    other = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_a_key_is_bound_to_its_request(api: httpx.Client) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    created = api.post("/api/v1/Watchlists", json={"displayName": "A", "fullName": "A"}, headers=key)
    assert created.status_code == 201
    reused = api.post("/api/v1/Watchlists", json={"displayName": "B", "fullName": "B"}, headers=key)
    assert "another request" in assert_problem(reused, 422)["detail"]
    for bad in ("", "x" * 256, "tab\there"):
        r = api.post("/api/v1/Watchlists", json={"displayName": "C", "fullName": "C"}, headers={"Idempotency-Key": bad})
        assert_problem(r, 400)
    # A validation error is an answer too: the retry gets the same one.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/api/v1/Watchlists", json={"displayName": 5}, headers=key)
    again = api.post("/api/v1/Watchlists", json={"displayName": 5}, headers=key)
    assert first.status_code == again.status_code == 400 and first.json() == again.json()
