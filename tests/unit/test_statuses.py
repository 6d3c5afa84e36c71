"""The statuses the gateway answers a SmartFace operation with (services/gateway/statuses.py)."""

from __future__ import annotations

import pytest

from services.gateway.statuses import answered

VERIFY = ("POST", "/api/v1/Faces/Verify")
SEARCH = ("POST", "/api/v1/Watchlists/Search")
REGISTER = ("POST", "/api/v1/WatchlistMembers/Register")
GET_CAMERA = ("GET", "/api/v1/Cameras/{id}")
MEMBERS_OF_WATCHLIST = ("GET", "/api/v1/Watchlists/{id}/WatchlistMembers")


@pytest.mark.parametrize(
    ("operation", "natural", "expected"),
    [
        (VERIFY, 422, 400),  # no face: SmartFace's 400, Verify declares no 422
        (SEARCH, 422, 400),  # declared, yet SmartFace answers no face with 400
        (REGISTER, 422, 422),  # declared and answered so
        (REGISTER, 404, 400),  # an unknown watchlist where no 404 is declared
        (MEMBERS_OF_WATCHLIST, 404, 400),
        (GET_CAMERA, 400, 404),  # an id that can never exist
        (GET_CAMERA, 404, 404),
        (("PUT", "/api/v1/Cameras"), 409, 400),
        (("GET", "/api/v1/Watchlists"), 408, 503),
        (VERIFY, 408, 408),
        (VERIFY, 413, 413),  # any client handles these
        (VERIFY, 503, 503),
        (VERIFY, 500, 500),  # a bug stays one
        (("POST", "/api/v1/Faces/Detect"), 422, 422),  # Facegate's addition: its own statuses
        (GET_CAMERA, 409, 404),  # 400, which is not declared there either, then 404
        (GET_CAMERA, 422, 404),
        (("GET", "/api/v1/Version"), 400, 400),  # nothing declared to map to
        (("GET", "/api/v1/Version"), 408, 503),
    ],
)
def test_an_undeclared_status_is_answered_with_smartfaces(
    operation: tuple[str, str], natural: int, expected: int
) -> None:
    assert answered(operation, natural) == expected
