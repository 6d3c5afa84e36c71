"""The gateway in-process over HTTP, with the bus faked (tests/fakebus.py): no NATS, no workers.

How errors reach clients (services/gateway/problems.py) end to end: a domain error raised by a
service is its RFC 7807 answer, a bus that finds no replica or no answer is a 503, a body the
gateway cannot read is a 400 that never reaches the bus. And a create/list round trip, to show
what the gateway sends and how it pages the answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from services.gateway.app import create_app
from shared import subjects
from shared.errors import (
    ERRORS_BY_STATUS,
    Conflict,
    FacegateError,
    InternalError,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unprocessable,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.messages.common import ById, Page, PageQuery
from shared.messages.gallery import Watchlist, WatchlistCreateRequest
from tests.fakebus import FakeBus, no_responders, timed_out

RFC9110 = "https://tools.ietf.org/html/rfc9110#section-"
# What a client sees for each domain error: status and `type` (ASP.NET's RFC links).
PROBLEMS: list[tuple[type[FacegateError], int, str]] = [
    (ValidationFailed, 400, RFC9110 + "15.5.1"),
    (NotFound, 404, RFC9110 + "15.5.5"),
    (RequestTimeout, 408, RFC9110 + "15.5.9"),
    (Conflict, 409, RFC9110 + "15.5.10"),
    (PayloadTooLarge, 413, RFC9110 + "15.5.14"),
    (UnsupportedMediaType, 415, RFC9110 + "15.5.16"),
    (Unprocessable, 422, RFC9110 + "15.5.21"),
    (TooManyRequests, 429, "https://tools.ietf.org/html/rfc6585#section-4"),
    (InternalError, 500, RFC9110 + "15.6.1"),
    (ServiceUnavailable, 503, RFC9110 + "15.6.4"),
]
WATCHLIST = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeBus, TestClient[Litestar]]]:
    """One app for the module (building it costs more than all its requests)."""
    bus = FakeBus()
    with TestClient(create_app(bus.settings, bus=bus)) as client:
        yield bus, client


@pytest.fixture
def bus(served: tuple[FakeBus, TestClient[Litestar]]) -> FakeBus:
    """The app's bus, with no replies set and nothing recorded."""
    served[0].forget()
    return served[0]


@pytest.fixture
def client(served: tuple[FakeBus, TestClient[Litestar]], bus: FakeBus) -> TestClient[Litestar]:
    return served[1]


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """The body of a problem-details answer with this status, its common fields checked."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["status"] == status and body["title"] and body["instance"] == r.request.url.path
    assert body["traceId"]
    return body


def test_every_domain_error_has_its_answer_here() -> None:
    assert {cls for cls, _, _ in PROBLEMS} == set(ERRORS_BY_STATUS.values())


@pytest.mark.parametrize(("error", "status", "kind"), PROBLEMS, ids=[cls.__name__ for cls, _, _ in PROBLEMS])
def test_a_domain_error_from_a_service_is_its_problem_details(
    client: TestClient[Litestar], bus: FakeBus, error: type[FacegateError], status: int, kind: str
) -> None:
    """On a Facegate addition (a camera's Status), each error keeps its own status."""
    bus.reply(subjects.CAMERA_STATUS, error("what the service said"))
    body = problem(client.get(f"/api/v1/Cameras/{WATCHLIST}/Status"), status)
    assert body["type"] == kind and body["title"] == error.title
    assert body["detail"] == "what the service said" and "errors" not in body
    assert bus.sent and bus.to(subjects.CAMERA_STATUS) == [ById(id=WATCHLIST)]


# GET /api/v1/Watchlists/{id} declares only 404 (services/gateway/statuses.py).
DECLARED: list[tuple[type[FacegateError], int]] = [
    (ValidationFailed, 404), (NotFound, 404), (RequestTimeout, 503), (Conflict, 404), (PayloadTooLarge, 413),
    (UnsupportedMediaType, 404), (Unprocessable, 404), (TooManyRequests, 429), (InternalError, 500),
    (ServiceUnavailable, 503),
]  # fmt: skip


@pytest.mark.parametrize(("error", "status"), DECLARED, ids=[cls.__name__ for cls, _ in DECLARED])
def test_a_smartface_operation_answers_an_error_in_a_status_it_declares(
    client: TestClient[Litestar], bus: FakeBus, error: type[FacegateError], status: int
) -> None:
    bus.reply(subjects.WATCHLIST_GET, error("what the service said"))
    body = problem(client.get(f"/api/v1/Watchlists/{WATCHLIST}"), status)
    assert body["detail"] == "what the service said"
    assert body["title"] == (error.title if status == error.status else ERRORS_BY_STATUS[status].title)


def test_a_services_field_errors_reach_the_client(client: TestClient[Litestar], bus: FakeBus) -> None:
    errors = {"threshold": ["must be at most 100"], "displayName": ["too long"]}
    bus.reply(subjects.WATCHLIST_CREATE, ValidationFailed("invalid watchlist", errors=errors))
    body = problem(client.post("/api/v1/Watchlists", json={"displayName": "a", "fullName": "A"}), 400)
    assert body["errors"] == errors and body["detail"] == "invalid watchlist"


@pytest.mark.parametrize("why", [no_responders, timed_out], ids=["no replica", "no answer"])
def test_a_service_that_is_down_or_silent_is_a_503_naming_it(
    client: TestClient[Litestar], bus: FakeBus, why: Callable[[str], ServiceUnavailable]
) -> None:
    bus.reply(subjects.WATCHLIST_GET, why(subjects.WATCHLIST_GET))
    body = problem(client.get(f"/api/v1/Watchlists/{WATCHLIST}"), 503)
    assert body["title"] == "Service Unavailable" and "matcher" in body["detail"]


def test_a_subject_nobody_serves_is_a_503(client: TestClient[Litestar], bus: FakeBus) -> None:
    """The fake's default, as the real bus answers when no replica runs."""
    body = problem(client.get("/api/v1/Watchlists"), 503)
    assert "no responder on " + subjects.WATCHLIST_LIST in body["detail"]


def test_an_unexpected_error_is_a_500_that_keeps_its_text_in_the_log(
    client: TestClient[Litestar], bus: FakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.reply(subjects.WATCHLIST_GET, RuntimeError("password=hunter2"))
    body = problem(client.get(f"/api/v1/Watchlists/{WATCHLIST}"), 500)
    assert "hunter2" not in str(body)
    trace = re.search(r"trace (\w+)", body["detail"])
    assert trace, body
    # Logged with the trace id the client was given, so that support can find it.
    assert "hunter2" in caplog.text and trace.group(1) in caplog.text


def test_malformed_json_is_a_400_that_never_reaches_the_bus(client: TestClient[Litestar], bus: FakeBus) -> None:
    r = client.post("/api/v1/Watchlists", content=b'{"displayName": ', headers={"content-type": "application/json"})
    problem(r, 400)
    assert bus.sent == []


def test_a_missing_field_is_a_400_naming_it(client: TestClient[Litestar], bus: FakeBus) -> None:
    body = problem(client.post("/api/v1/Watchlists", json={"fullName": "Staff"}), 400)
    assert list(body["errors"]) == ["displayName"] and "displayName" in body["detail"]
    assert bus.sent == []


def test_a_bad_query_parameter_is_a_400_naming_it_as_the_client_sent_it(
    client: TestClient[Litestar], bus: FakeBus
) -> None:
    body = problem(client.get("/api/v1/Watchlists", params={"PageSize": 0}), 400)
    assert list(body["errors"]) == ["PageSize"]
    assert bus.sent == []


def test_an_image_that_is_not_base64_is_a_400_before_any_worker_is_asked(
    client: TestClient[Litestar], bus: FakeBus
) -> None:
    r = client.post("/api/v1/Watchlists/Search", json={"image": {"data": "not base64!"}})
    body = problem(r, 400)
    assert list(body["errors"]) == ["image.data"]
    assert bus.sent == []


def test_unknown_paths_and_methods_are_problem_details_too(client: TestClient[Litestar]) -> None:
    assert problem(client.get("/api/v1/NoSuchThing"), 404)["type"] == RFC9110 + "15.5.5"
    assert problem(client.patch("/api/v1/Watchlists"), 405)["type"] == RFC9110 + "15.5.6"


def test_readiness_follows_the_nats_connection(client: TestClient[Litestar], bus: FakeBus) -> None:
    assert client.get("/readyz").status_code == 200
    bus.nats.is_connected = False
    try:
        assert client.get("/readyz").status_code == 503
    finally:
        bus.nats.is_connected = True


def test_the_gateway_follows_gallery_changes(bus: FakeBus) -> None:
    """Its lifespan subscribes to the gallery-changed events (read-your-writes for searches)."""
    assert subjects.GALLERY_CHANGED_FILTER in bus.nats.subscribed


def test_created_watchlists_are_listed_and_paged(client: TestClient[Litestar], bus: FakeBus) -> None:
    """The matcher's part is played by the fake: the gateway's is to send the request as typed
    and page the reply with SmartFace's links."""
    gallery: list[Watchlist] = []

    def create(message: WatchlistCreateRequest) -> Watchlist:
        created = Watchlist(
            display_name=message.display_name, full_name=message.full_name, threshold=message.threshold,
            palm_threshold=message.palm_threshold or message.threshold, preview_color=message.preview_color or "",
            id=str(uuid.uuid4()), created_at=datetime.now(UTC), updated_at=None,
        )  # fmt: skip
        gallery.append(created)
        return created

    def list_page(query: PageQuery) -> Page[Watchlist]:
        items = gallery[query.offset : query.offset + query.page_size]
        total = len(gallery) if query.show_total_count else None
        return Page(items=items, has_next=query.offset + query.page_size < len(gallery), total_items_count=total)

    bus.reply(subjects.WATCHLIST_CREATE, create).reply(subjects.WATCHLIST_LIST, list_page)
    for name in ("staff", "visitors", "contractors"):
        r = client.post("/api/v1/Watchlists", json={"displayName": name, "fullName": name.title(), "threshold": 45})
        assert r.status_code == 201, r.text
        assert r.json()["displayName"] == name and r.json()["threshold"] == 45
    assert bus.to(subjects.WATCHLIST_CREATE) == [
        WatchlistCreateRequest(display_name=name, full_name=name.title(), threshold=45)
        for name in ("staff", "visitors", "contractors")
    ]

    r = client.get("/api/v1/Watchlists", params={"PageSize": 2, "ShowTotalCount": "true"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [w["displayName"] for w in page["items"]] == ["staff", "visitors"]
    assert page["totalItemsCount"] == 3 and page["pageSize"] == 2 and page["pageNumber"] == 1
    assert page["previousPage"] is None and "PageNumber=2" in page["nextPage"]
    assert bus.to(subjects.WATCHLIST_LIST) == [PageQuery(page_number=1, page_size=2, show_total_count=True)]

    last = client.get(page["nextPage"]).json()
    assert [w["displayName"] for w in last["items"]] == ["contractors"] and last["nextPage"] is None
    assert [w["id"] for w in page["items"] + last["items"]] == [w.id for w in gallery]
