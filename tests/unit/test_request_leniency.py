"""Requests read as SmartFace's server reads them: routes in any letter case
(services/gateway/spelling.py) and integer ids in JSON bodies (services/gateway/bodies.py)."""

from __future__ import annotations

import pytest

from services.gateway.bodies import ids_as_strings
from services.gateway.spelling import RouteSpelling

ROUTES = RouteSpelling(
    [
        ("/", {"GET"}),
        ("/api/v1/WatchlistMembers", {"GET", "POST", "PUT"}),
        ("/api/v1/WatchlistMembers/{id}", {"GET", "DELETE"}),
        ("/api/v1/WatchlistMembers/Register", {"POST"}),
        ("/api/v1/WatchlistMembers/{id}/Faces", {"GET"}),
        ("/api/v1/Images/{id}", {"GET"}),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "spelled"),
    [
        ("GET", "/api/v1/watchlistmembers", "/api/v1/WatchlistMembers"),
        ("GET", "/API/V1/IMAGES/AbC-dEf", "/api/v1/Images/AbC-dEf"),  # the id keeps its case
        ("POST", "/api/v1/watchlistmembers/register", "/api/v1/WatchlistMembers/Register"),
        ("GET", "/api/v1/watchlistmembers/register", "/api/v1/WatchlistMembers/register"),  # a member's id
        ("GET", "/api/v1/watchlistmembers/Register/faces", "/api/v1/WatchlistMembers/Register/Faces"),
        ("PATCH", "/api/v1/watchlistmembers", "/api/v1/WatchlistMembers"),  # no route takes it: Litestar's 405
        ("GET", "/api/v1/watchlistmembers/", "/api/v1/WatchlistMembers/"),
        ("GET", "/api/v1/nothing", "/api/v1/nothing"),  # no route: unchanged, a 404
        ("GET", "/api/v1//watchlistmembers", "/api/v1//watchlistmembers"),
        ("GET", "/", "/"),
    ],
)
def test_a_path_is_spelled_as_its_route(method: str, path: str, spelled: str) -> None:
    assert ROUTES.spell(method, path) == spelled


def test_integer_ids_become_strings_and_nothing_else_changes() -> None:
    body = {
        "id": 1,
        "watchlistIds": [7, "eight"],
        "images": [{"data": "AAAA", "faceId": 3}],
        "displayName": 5,
        "privacy": {"saveMatchedImages": True},
        "previewAttributesConfig": {"watchlistMemberId": True},  # a flag, not an id
        "threshold": 40,
    }
    assert ids_as_strings(body) == {
        "id": "1",
        "watchlistIds": ["7", "eight"],
        "images": [{"data": "AAAA", "faceId": "3"}],
        "displayName": 5,
        "privacy": {"saveMatchedImages": True},
        "previewAttributesConfig": {"watchlistMemberId": True},
        "threshold": 40,
    }
    assert ids_as_strings([{"id": 2}]) == [{"id": "2"}]
    assert ids_as_strings(None) is None
