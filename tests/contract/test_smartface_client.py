"""A real SmartFace client runs unchanged: a typed client generated from SmartFace's OpenAPI
document by openapi-python-client (tests/contract/smartface_client.py) drives a whole scenario on
the real cluster. Every answer is parsed by the generated models; a status SmartFace's document
does not declare for the operation fails the test (UnexpectedAnswer names operation, status
and body). The generated client sends every body as `application/*+json`, as SmartFace's own
clients do."""

from __future__ import annotations

import asyncio
import base64
import importlib
import uuid
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from services.gateway.statuses import SMARTFACE_STATUSES
from shared.embedded import free_port
from tests.contract.smartface_client import SmartFace, UnexpectedAnswer, generate
from tests.rtsp.conftest import RtspServer, _probe
from tests.rtsp.media import write_jpegs
from tests.support import Cluster, photo_b64, read_csv, truncate, wait_until

SEEN_TABLES = ("seen_faces", "seen_frames", "seen_tracklets", "seen_images", "cameras")
SAME_PERSON = next(p for p in read_csv("pairs.csv") if p["Decision"] == "Yes")


@pytest.fixture(scope="module")
def sf(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartFace]:
    """The generated client on the test cluster; the gallery and camera data emptied before and
    after."""
    truncate(cluster.servers.database_url)
    truncate(cluster.servers.database_url, SEEN_TABLES)
    client = SmartFace(generate(tmp_path_factory.mktemp("smartface_client")), cluster.base_url)
    yield client
    truncate(cluster.servers.database_url)
    truncate(cluster.servers.database_url, SEEN_TABLES)


def no_face() -> str:
    """A grey picture: no face in it."""
    ok, data = cv2.imencode(".png", np.full((480, 640, 3), 127, np.uint8))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


def watchlist(sf: SmartFace, name: str) -> Any:
    body = sf.models.WatchlistCreateRequest(display_name=name, full_name=name.title(), threshold=40)
    return sf.call("POST", "/api/v1/Watchlists", 201, body=body)


def register(sf: SmartFace, member_id: str, photo: str, watchlist_id: str, expect: int = 201) -> Any:
    body = sf.models.RegisterWatchlistMemberRequest(
        id=member_id, images=[sf.models.RegistrationImageData(data=photo_b64(photo))], watchlist_ids=[watchlist_id]
    )
    return sf.call("POST", "/api/v1/WatchlistMembers/Register", expect, body=body)


def member_faces(sf: SmartFace, member_id: str) -> list[Any]:
    page = sf.call("GET", "/api/v1/WatchlistMembers/{id}/Faces", 200, member_id)
    return list(page.items)


def test_watchlists_and_members(sf: SmartFace) -> None:
    assert sf.call("GET", "/api/v1/Version", 200).full_version
    created = watchlist(sf, "staff")
    assert sf.call("GET", "/api/v1/Watchlists/{id}", 200, created.id).display_name == "staff"
    page = sf.call("GET", "/api/v1/Watchlists", 200, page_size=100, show_total_count=True)
    assert [w.id for w in page.items] == [created.id] and page.total_items_count == 1
    upsert = sf.models.WatchlistUpsertRequest(id=created.id, display_name="crew", full_name="Crew", threshold=45)
    assert sf.call("PUT", "/api/v1/Watchlists", 200, body=upsert).threshold == 45

    new_member = sf.models.WatchlistMemberCreateRequest(display_name="Ann", full_name="Ann Example", note="visitor")
    member = sf.call("POST", "/api/v1/WatchlistMembers", 201, body=new_member)
    changed = sf.models.WatchlistMemberUpsertRequest(id=member.id, display_name="Anna", full_name="Anna Example")
    assert sf.call("PUT", "/api/v1/WatchlistMembers", 200, body=changed).display_name == "Anna"
    assert sf.call("GET", "/api/v1/WatchlistMembers/{id}", 200, member.id).full_name == "Anna Example"
    assert member.id in [m.id for m in sf.call("GET", "/api/v1/WatchlistMembers", 200, page_size=100).items]
    link = sf.models.WatchlistMembersLinkRequest(watchlist_id=created.id, watchlist_members_ids=[member.id])
    sf.call("POST", "/api/v1/WatchlistMembers/LinkToWatchlist", 204, body=link)
    listed = sf.call("GET", "/api/v1/Watchlists/{id}/WatchlistMembers", 200, created.id)
    assert [m.id for m in listed.items] == [member.id]
    sf.call("POST", "/api/v1/WatchlistMembers/UnlinkFromWatchlist", 204, body=link)
    assert sf.call("GET", "/api/v1/Watchlists/{id}/WatchlistMembers", 200, created.id).items == []

    registered = register(sf, "person01", "img1.jpg", created.id)
    assert registered.id == "person01" and [w.id for w in registered.watchlists] == [created.id]
    assert len(registered.faces) == 1 and [f.id for f in member_faces(sf, "person01")] == [registered.faces[0].id]
    new_face = sf.models.AddNewFaceRequest(image_data=sf.models.FaceRegistrationImageData(data=photo_b64("img10.jpg")))
    added = sf.call("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace", 201, "person01", body=new_face)
    assert {f.id for f in member_faces(sf, "person01")} == {registered.faces[0].id, added.id}
    assert sf.call("GET", "/api/v1/Faces/{id}", 200, added.id).id == added.id
    remove = sf.models.FaceWatchlistMemberRemoveRequest(face_id=added.id)
    sf.call("POST", "/api/v1/WatchlistMembers/{id}/RemoveFace", 204, "person01", body=remove)
    assert [f.id for f in member_faces(sf, "person01")] == [registered.faces[0].id]

    for member_id in (member.id, "person01"):
        sf.call("DELETE", "/api/v1/WatchlistMembers/{id}", 204, member_id)
        sf.call("GET", "/api/v1/WatchlistMembers/{id}", 404, member_id)
    sf.call("DELETE", "/api/v1/Watchlists/{id}", 204, created.id)
    sf.call("GET", "/api/v1/Watchlists/{id}", 404, created.id)


@pytest.fixture(scope="module")
def enrolled(sf: SmartFace) -> dict[str, str]:
    """person01 registered from img1.jpg in a watchlist."""
    found = watchlist(sf, "enrolled")
    register(sf, "enrolled01", "img1.jpg", found.id)
    return {"watchlist": found.id, "member": "enrolled01"}


def test_search_verify_and_spoof_check(sf: SmartFace, enrolled: dict[str, str]) -> None:
    probe = sf.models.ImageData(data=photo_b64("img10.jpg"))  # another photo of person01
    body = sf.models.SearchInWatchlistRequest(image=probe, watchlist_ids=[enrolled["watchlist"]], max_result_count=3)
    (face,) = sf.call("POST", "/api/v1/Watchlists/Search", 200, body=body)
    best = face.match_results[0]
    assert best.watchlist_member_id == enrolled["member"] and 40 <= best.score <= 100, face.match_results
    assert best.watchlist_id == enrolled["watchlist"] and face.quality > 0

    template = sf.models.SearchInWatchlistByTemplateRequest(template=base64.b64encode(b"abc").decode())
    sf.call("POST", "/api/v1/Watchlists/SearchByTemplate", 400, body=template)

    # Faces/Search answers its session at once (tests/e2e/test_face_search.py reads the hits).
    started = sf.call("POST", "/api/v1/Faces/Search", 200, body=sf.models.FaceSearchRequest(image=probe))
    assert uuid.UUID(str(started.search_session_id))

    def probe_of(photo: str) -> Any:
        return sf.models.FaceProbe(image=sf.models.ImageData(data=photo_b64(photo)))

    same = sf.models.VerificationRequest(
        probe_image=probe_of(SAME_PERSON["file_x"]), reference_image=probe_of(SAME_PERSON["file_y"])
    )
    verified = sf.call("POST", "/api/v1/Faces/Verify", 200, body=same)
    assert 40 < verified.confidence <= 100, verified
    other = sf.models.VerificationRequest(probe_image=probe_of("img1.jpg"), reference_image=probe_of("img20.jpg"))
    assert 0 <= sf.call("POST", "/api/v1/Faces/Verify", 200, body=other).confidence < 40

    both = ["liveness_distant_cpu_remote", "liveness_nearby_cpu_remote"]
    check = sf.models.SpoofCheckRequest(
        image=sf.models.ImageData(data=photo_b64("img1.jpg")), spoof_detector_resource_ids=both
    )
    answer = sf.call("POST", "/api/v1/Faces/SpoofCheck", 200, body=check)
    assert answer.performed is True
    for result in (answer.distant_liveness_spoof_check, answer.nearby_liveness_spoof_check):
        assert result.performed is True and 0 <= result.score <= 100, answer


def test_no_face_is_400_where_smartface_says_so_and_422_where_enrolling(
    sf: SmartFace, enrolled: dict[str, str]
) -> None:
    blank = sf.models.ImageData(data=no_face())
    search = sf.models.SearchInWatchlistRequest(image=blank)
    problem = sf.call("POST", "/api/v1/Watchlists/Search", 400, body=search)
    assert problem.status == 400 and "no face" in problem.detail
    good = sf.models.FaceProbe(image=sf.models.ImageData(data=photo_b64("img1.jpg")))
    verify = sf.models.VerificationRequest(probe_image=sf.models.FaceProbe(image=blank), reference_image=good)
    assert "no face" in sf.call("POST", "/api/v1/Faces/Verify", 400, body=verify).detail
    spoof = sf.models.SpoofCheckRequest(image=blank)
    assert "no face" in sf.call("POST", "/api/v1/Faces/SpoofCheck", 400, body=spoof).detail
    faces_search = sf.models.FaceSearchRequest(image=blank)
    assert "no face" in sf.call("POST", "/api/v1/Faces/Search", 400, body=faces_search).detail

    enroll = sf.models.RegisterWatchlistMemberRequest(
        id="faceless", images=[sf.models.RegistrationImageData(data=no_face())], watchlist_ids=[enrolled["watchlist"]]
    )
    assert sf.call("POST", "/api/v1/WatchlistMembers/Register", 422, body=enroll).status == 422
    new_face = sf.models.AddNewFaceRequest(image_data=sf.models.FaceRegistrationImageData(data=no_face()))
    sf.call("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace", 422, enrolled["member"], body=new_face)


def test_unknown_ids_conflicts_and_bad_values_answer_declared_statuses(sf: SmartFace, enrolled: dict[str, str]) -> None:
    unknown, guid = "nobody", str(uuid.uuid4())
    for method, path, status in (
        ("GET", "/api/v1/Watchlists/{id}", 404), ("DELETE", "/api/v1/Watchlists/{id}", 404),
        ("GET", "/api/v1/WatchlistMembers/{id}", 404), ("DELETE", "/api/v1/WatchlistMembers/{id}", 404),
    ):  # fmt: skip
        assert sf.call(method, path, status, unknown).status == status
    for method, path in (
        ("GET", "/api/v1/Cameras/{id}"), ("DELETE", "/api/v1/Cameras/{id}"), ("GET", "/api/v1/Faces/{id}"),
        ("DELETE", "/api/v1/Faces/{id}"), ("GET", "/api/v1/Frames/{id}"), ("DELETE", "/api/v1/Frames/{id}"),
        ("GET", "/api/v1/Tracklet/{id}"), ("DELETE", "/api/v1/Tracklet/{id}"),
        ("GET", "/api/v1/Cameras/{id}/Frames"), ("GET", "/api/v1/Cameras/{id}/Tracklets"),
    ):  # fmt: skip
        sf.call(method, path, 404, guid)
    sf.call("GET", "/api/v1/Images/{id}", 404, guid)

    link = sf.models.WatchlistMembersLinkRequest(watchlist_id=enrolled["watchlist"], watchlist_members_ids=[unknown])
    sf.call("POST", "/api/v1/WatchlistMembers/LinkToWatchlist", 404, body=link)
    new_face = sf.models.AddNewFaceRequest(image_data=sf.models.FaceRegistrationImageData(data=photo_b64("img2.jpg")))
    sf.call("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace", 404, unknown, body=new_face)
    remove = sf.models.FaceWatchlistMemberRemoveRequest(face_id=guid)
    sf.call("POST", "/api/v1/WatchlistMembers/{id}/RemoveFace", 404, enrolled["member"], body=remove)
    search = sf.models.SearchInWatchlistRequest(
        image=sf.models.ImageData(data=photo_b64("img2.jpg")), watchlist_ids=[guid]
    )
    sf.call("POST", "/api/v1/Watchlists/Search", 404, body=search)

    register(sf, enrolled["member"], "img2.jpg", enrolled["watchlist"], expect=409)  # the id is taken
    bad = sf.models.SearchInWatchlistRequest(
        image=sf.models.ImageData(data=photo_b64("img2.jpg")), face_detector_resource_id="tpu"
    )
    assert "accurate_cpu" in sf.call("POST", "/api/v1/Watchlists/Search", 400, body=bad).detail
    camera = sf.models.CameraCreateRequest(
        name="gate", source="rtsp://127.0.0.1:9/none", face_detector_resource_id="tpu"
    )
    sf.call("POST", "/api/v1/Cameras", 400, body=camera)


def test_numeric_ids_routes_in_any_case_and_json_media_types(sf: SmartFace, enrolled: dict[str, str]) -> None:
    """Clients seeding members from a database send numbers; SmartFace's routes ignore case;
    generated clients send `application/*+json` bodies. The typed models cannot send a number
    for a string: the client's own httpx client does, and the generated code parses the answer."""
    create = importlib.import_module(sf.modules[("POST", "/api/v1/Watchlists")])
    request = create._get_kwargs(body=sf.models.WatchlistCreateRequest(display_name="a", full_name="a"))
    assert request["headers"]["Content-Type"] == "application/*+json"  # what every generated call sends
    body = {"id": 1, "images": [{"data": photo_b64("img14.jpg")}], "watchlistIds": [enrolled["watchlist"]]}
    member = sf.raw("POST", "/api/v1/WatchlistMembers/Register", 201, "/api/v1/WatchlistMembers/Register", json=body)
    assert member.id == "1"
    put = {"id": 1, "displayName": "One", "fullName": "Member One"}
    assert sf.raw("PUT", "/api/v1/WatchlistMembers", 200, "/api/v1/watchlistmembers", json=put).display_name == "One"
    assert sf.raw("GET", "/api/v1/WatchlistMembers/{id}", 200, "/API/V1/WATCHLISTMEMBERS/1").full_name == "Member One"
    page = sf.raw("GET", "/api/v1/Watchlists", 200, "/api/v1/watchlists")
    assert enrolled["watchlist"] in [w.id for w in page.items]


def test_child_lists_of_an_unknown_parent_are_empty_pages(sf: SmartFace) -> None:
    for path in ("/api/v1/Watchlists/{id}/WatchlistMembers", "/api/v1/WatchlistMembers/{id}/Faces"):
        assert sf.call("GET", path, 200, "nobody").items == []
    for path in ("/api/v1/Tracklet/{id}/Faces",):
        assert sf.call("GET", path, 200, str(uuid.uuid4())).items == []


def test_a_members_photo_is_downloadable(sf: SmartFace, enrolled: dict[str, str]) -> None:
    face = member_faces(sf, enrolled["member"])[0]
    if face.image_data_id is None:
        raise UnexpectedAnswer(f"member face {face.id}: imageDataId is null")
    crop = sf.call("GET", "/api/v1/Images/{id}", 200, face.image_data_id).payload.read()
    small = sf.call("GET", "/api/v1/Images/{id}", 200, face.image_data_id, max_size=40).payload.read()
    assert max(decoded_size(small)) <= 40 < max(decoded_size(crop))


def decoded_size(jpeg: bytes) -> tuple[int, int]:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "not an image"
    return int(picture.shape[1]), int(picture.shape[0])


def test_cameras(sf: SmartFace) -> None:
    body = sf.models.CameraCreateRequest(name="gate", source="rtsp://127.0.0.1:9/none", face_detector_resource_id="gpu")
    camera = sf.call("POST", "/api/v1/Cameras", 201, body=body)
    assert camera.name == "gate" and camera.enabled is False
    assert sf.call("GET", "/api/v1/Cameras/{id}", 200, camera.id).source == camera.source
    assert camera.id in [c.id for c in sf.call("GET", "/api/v1/Cameras", 200)]
    update = sf.models.CameraUpdateRequest.from_dict({**camera.to_dict(), "name": "back door"})
    assert sf.call("PUT", "/api/v1/Cameras", 200, body=update).name == "back door"
    assert sf.call("GET", "/api/v1/Cameras/{id}/Frames", 200, camera.id).items == []
    assert sf.call("GET", "/api/v1/Cameras/{id}/Tracklets", 200, camera.id).items == []
    sf.call("DELETE", "/api/v1/Cameras/{id}", 204, camera.id)
    sf.call("PUT", "/api/v1/Cameras", 404, body=update)


@pytest.fixture(scope="module")
def camera_faces(sf: SmartFace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[Any]]]:
    """Faces a camera stored: a real RTSP stream of person01 walking past, through the real
    pipeline; the camera is disabled once it stored one."""
    if (why := _probe()) is not None:
        pytest.skip(f"GStreamer RTSP server unavailable ({why})")
    server = RtspServer(
        write_jpegs(tmp_path_factory.mktemp("walk"), count=20, photo="img11.jpg", empty=15), free_port()
    )
    server.start()
    try:
        body = sf.models.CameraCreateRequest(
            name="door", source=server.url, enabled=True, redetection_time=400, template_generation_time=400
        )
        camera = sf.call("POST", "/api/v1/Cameras", 201, body=body)
        stored: list[Any] = []

        def face_stored() -> bool:
            stored[:] = sf.call("GET", "/api/v1/Faces", 200, page_size=100).items
            return bool(stored)

        wait_until(face_stored, 90, "a camera to store a face")
        off = sf.models.CameraUpdateRequest.from_dict({**camera.to_dict(), "enabled": False})
        sf.call("PUT", "/api/v1/Cameras", 200, body=off)
    finally:
        server.stop()
    yield camera.id, stored


def test_add_face_from_system(sf: SmartFace, enrolled: dict[str, str], camera_faces: tuple[Any, list[Any]]) -> None:
    path = "/api/v1/WatchlistMembers/{id}/AddFaceFromSystem"
    seen = sf.models.FaceWatchlistMemberLinkingRequest(face_id=camera_faces[1][-1].id)
    sf.call("POST", path, 204, enrolled["member"], body=seen)
    assert len(member_faces(sf, enrolled["member"])) == 2
    sf.call("POST", path, 409, enrolled["member"], body=seen)  # already one of the member's faces
    sf.call("POST", path, 404, "nobody", body=seen)
    unknown_face = sf.models.FaceWatchlistMemberLinkingRequest(face_id=str(uuid.uuid4()))
    sf.call("POST", path, 404, enrolled["member"], body=unknown_face)
    # The member's face keeps the camera face's id: remove it again, so that Faces/{id} of that id
    # answers for the camera face alone in the tests that follow.
    remove = sf.models.FaceWatchlistMemberRemoveRequest(face_id=seen.face_id)
    sf.call("POST", "/api/v1/WatchlistMembers/{id}/RemoveFace", 204, enrolled["member"], body=remove)


def test_faces_frames_tracklets_and_images_a_camera_stored(sf: SmartFace, camera_faces: tuple[Any, list[Any]]) -> None:
    camera, (face, *_) = camera_faces
    assert sf.call("GET", "/api/v1/Faces/{id}", 200, face.id).tracklet_id == face.tracklet_id
    frame = sf.call("GET", "/api/v1/Frames/{id}", 200, face.frame_id)
    assert frame.id in [f.id for f in sf.call("GET", "/api/v1/Frames", 200, page_size=100).items]
    tracklet = sf.call("GET", "/api/v1/Tracklet/{id}", 200, face.tracklet_id)
    assert tracklet.id in [t.id for t in sf.call("GET", "/api/v1/Tracklet", 200, page_size=100).items]
    assert face.id in [f.id for f in sf.call("GET", "/api/v1/Tracklet/{id}/Faces", 200, tracklet.id).items]
    assert tracklet.id in [t.id for t in sf.call("GET", "/api/v1/Cameras/{id}/Tracklets", 200, camera).items]
    assert frame.id in [f.id for f in sf.call("GET", "/api/v1/Cameras/{id}/Frames", 200, camera).items]

    crop = sf.call("GET", "/api/v1/Images/{id}", 200, face.image_data_id).payload.read()
    scaled = sf.call("GET", "/api/v1/Images/{id}", 200, face.image_data_id, max_size=32).payload.read()
    assert max(decoded_size(scaled)) <= 32 < max(decoded_size(crop))
    if frame.image_data_id is not None:  # the camera saves frames (saveFrameImageData)
        whole = sf.call("GET", "/api/v1/Images/{id}", 200, frame.image_data_id).payload.read()
        assert decoded_size(whole) == (640, 360)

    sf.call("DELETE", "/api/v1/Faces/{id}", 204, face.id)
    sf.call("GET", "/api/v1/Faces/{id}", 404, face.id)
    sf.call("GET", "/api/v1/Images/{id}", 404, face.image_data_id)
    sf.call("DELETE", "/api/v1/Frames/{id}", 204, frame.id)
    sf.call("DELETE", "/api/v1/Tracklet/{id}", 204, tracklet.id)
    sf.call("GET", "/api/v1/Tracklet/{id}", 404, tracklet.id)


def test_an_undeclared_status_fails_the_scenario(sf: SmartFace) -> None:
    """GET /api/v1/Cameras declares only 200: the generated client raises on a 404."""
    with pytest.raises(UnexpectedAnswer, match="GET /api/v1/Cameras: 404 is not a status SmartFace's document"):
        sf.raw("GET", "/api/v1/Cameras", 200, "/api/v1/NoSuchRoute")


SETUP_PATHS = (
    "/api/v1/Setup/DbCleanup", "/api/v1/Setup/SearchSessionsCleanup", "/api/v1/Setup/Watchlists/AutoLearn",
    "/api/v1/Setup/Features", "/api/v1/Setup/Preview", "/api/v1/Setup/DataStorage/Video",
)  # fmt: skip


def test_setup_values_read_and_written_back(sf: SmartFace) -> None:
    """Each Setup value as the generated model reads it, PUT back unchanged: the answer is the same
    value (the request body is the answer's own JSON, which the update model describes too)."""
    for path in SETUP_PATHS:
        value = sf.call("GET", path, 200)
        again = sf.raw("PUT", path, 200, path, json=value.to_dict())
        assert again.to_dict() == value.to_dict(), path


def test_video_records(sf: SmartFace) -> None:
    """A record's life without analysis (disabled): create, read, list, update, tags, what it
    produced (nothing yet), clear, delete, then 404s."""
    create = sf.models.VideoRecordCreateRequest.from_dict(
        {"name": "lobby export", "source": "rtsp://127.0.0.1:9/recording", "enabled": False}
    )
    record = sf.call("POST", "/api/v1/VideoRecords", 201, body=create)
    assert sf.call("GET", "/api/v1/VideoRecords/{id}", 200, record.id).name == "lobby export"
    assert record.id in [r.id for r in sf.call("GET", "/api/v1/VideoRecords", 200)]
    update = sf.models.VideoRecordUpdateRequest.from_dict({**record.to_dict(), "name": "lobby, day 2"})
    assert sf.call("PUT", "/api/v1/VideoRecords", 200, body=update).name == "lobby, day 2"
    tags = sf.models.VideoRecordTagsUpdateRequest(tags=["night", "lobby"])
    assert sorted(sf.call("PUT", "/api/v1/VideoRecords/{id}/Tags", 200, record.id, body=tags).tags) == [
        "lobby", "night",
    ]  # fmt: skip
    assert sorted(sf.call("GET", "/api/v1/VideoRecords/{id}/Tags", 200, record.id).tags) == ["lobby", "night"]
    assert sf.call("GET", "/api/v1/VideoRecords/{id}/Tracklets", 200, record.id).items == []
    assert sf.call("GET", "/api/v1/VideoRecords/{id}/Frames", 200, record.id).items == []
    sf.call("POST", "/api/v1/VideoRecords/{id}/Clear", 204, record.id)
    sf.call("DELETE", "/api/v1/VideoRecords/{id}", 204, record.id)
    sf.call("GET", "/api/v1/VideoRecords/{id}", 404, record.id)
    sf.call("DELETE", "/api/v1/VideoRecords/{id}", 404, record.id)


EDGE = "/api/v1/EdgeStreams"


def test_edge_streams(sf: SmartFace) -> None:
    """An edge stream's life with SmartFace's settings models: create with nested settings, read,
    list, update, settings and watchlist synchronisation, delete, then 404s."""
    m = sf.models
    tracking = {"outputThreshold": 1500, "inputThreshold": 1000, "stability": 85, "maxFramesLost": 25}
    crop = {"maxSize": 50, "enable": True, "imageFormat": "Jpeg", "imageQuality": 90}
    create = m.EdgeStreamCreateRequest.from_dict({
        "name": "turnstile", "clientId": f"sf-{uuid.uuid4().hex[:8]}",
        "settings": {
            "faceDetection": {"enable": True, "maxDetections": 5, "minFaceSize": 30, "maxFaceSize": 300,
                              "orderBy": "FaceSize", "tracking": tracking, "crop": crop},
            "faceExtraction": {"enable": True},
            "faceLivenessPassive": {"enable": False, "strategy": "OnEachExtractedFace", "conditions": []},
            "faceIdentification": {"enable": True, "threshold": 45},
            "messaging": {"enable": True, "strategy": "OnNewAndIntervalBest", "interval": 500,
                          "allowEmptyMessages": False},
            "fullFrame": {"imageFormat": "Png", "imageQuality": 80},
        },
    })  # fmt: skip
    stream = sf.call("POST", EDGE, 201, body=create)
    assert stream.settings.face_detection.max_detections == 5 and stream.settings.full_frame.image_format == "Png"
    assert sf.call("GET", f"{EDGE}/{{id}}", 200, stream.id).client_id == stream.client_id
    assert stream.id in [s.id for s in sf.call("GET", EDGE, 200)]
    update = m.EdgeStreamUpdateRequest.from_dict({**stream.to_dict(), "name": "turnstile 2", "enabled": True})
    assert sf.call("PUT", EDGE, 200, body=update).name == "turnstile 2"
    sf.call("POST", f"{EDGE}/Settings/Synchronize", 204)
    sync = m.EdgeStreamWatchlistSynchronizationRequest(watchlist_sync_option="All")
    answer = sf.call("PUT", f"{EDGE}/{{id}}/WatchlistSynchronization", 200, stream.id, body=sync)
    assert answer.watchlist_sync_option == "All"
    assert sf.call("GET", f"{EDGE}/{{id}}/WatchlistSynchronization", 200, stream.id).watchlist_sync_option == "All"
    sf.call("POST", EDGE, 409, body=create)
    sf.call("DELETE", f"{EDGE}/{{id}}", 204, stream.id)
    sf.call("GET", f"{EDGE}/{{id}}", 404, stream.id)
    sf.call("PUT", EDGE, 404, body=update)
    sf.call("GET", f"{EDGE}/{{id}}/WatchlistSynchronization", 404, stream.id)
    sf.call("PUT", f"{EDGE}/{{id}}/WatchlistSynchronization", 404, stream.id, body=sync)


RECORDS = "/api/v1/RecordGroupings"
LIVE = "/api/v1/LiveGroupings"
INDIVIDUALS = "/api/v1/Individuals"


def test_record_groupings_and_individuals(sf: SmartFace) -> None:
    """Photos uploaded into a record grouping, a run, its individuals, Search, Split, Merge and the
    deletes, then 404s."""
    m = sf.models
    create = m.RecordGroupingCreateRequest.from_dict({"description": "lobby", "config": {"threshold": 40}})
    gid = sf.call("POST", RECORDS, 201, body=create).id
    assert sf.call("GET", f"{RECORDS}/{{groupingId}}", 200, gid).config.threshold == 40
    assert gid in [g.id for g in sf.call("GET", RECORDS, 200)]
    update = m.RecordGrouping.from_dict({"id": str(gid), "config": {"threshold": 40}, "description": "hall"})
    assert sf.call("PUT", RECORDS, 200, body=update).id == gid
    for photo in ("img1.jpg", "img2.jpg", "img20.jpg"):  # person01 twice, person03
        upload = m.UploadedImageRequest(image_data=m.ImageData(data=photo_b64(photo)))
        assert sf.call("POST", f"{RECORDS}/{{groupingId}}/Image", 201, gid, body=upload).frame_id
    sf.call("POST", f"{RECORDS}/{{groupingId}}/Trigger", 204, gid)
    state = f"{RECORDS}/{{groupingId}}/State"
    wait_until(lambda: sf.call("GET", state, 200, gid).status == "Ready", 60, "the grouping run")
    assert len(sf.call("GET", f"{RECORDS}/{{groupingId}}/Frames", 200, gid).items) == 3
    assert sf.call("GET", f"{RECORDS}/{{groupingId}}/VideoRecords", 200, gid) == []
    unknown = m.LinkInputRequest(ids=[uuid.uuid4()])
    sf.call("POST", f"{RECORDS}/{{groupingId}}/LinkVideoRecords", 404, gid, body=unknown)
    sf.call("POST", f"{RECORDS}/{{groupingId}}/UnlinkVideoRecords", 204, gid, body=unknown)
    found = sf.call("GET", f"{RECORDS}/{{groupingId}}/Individuals", 200, gid).items
    assert len(found) == 2 and {i.id for i in found} <= {i.id for i in sf.call("GET", INDIVIDUALS, 200).items}
    tracklets = {i.id: sf.call("GET", f"{INDIVIDUALS}/{{id}}/Tracklets", 200, i.id).items for i in found}
    (twice,) = [i for i, ts in tracklets.items() if len(ts) == 2]
    assert sf.call("GET", f"{INDIVIDUALS}/{{id}}", 200, twice).id == twice
    probe = m.SearchInIndividualsRequest(image=m.ImageData(data=photo_b64("img4.jpg")), grouping_id=gid,
                                         match_threshold=40)  # fmt: skip
    assert [r.id for r in sf.call("POST", f"{INDIVIDUALS}/Search", 200, body=probe).results] == [twice]
    split = m.SplitIndividualsRequest(tracklets_ids=[tracklets[twice][0].id], previous_individual_id=twice)
    parted = sf.call("POST", f"{INDIVIDUALS}/Split", 200, body=split).individual_id
    merge = m.MergeIndividualsRequest(individual_ids=[twice, parted])
    assert sf.call("POST", f"{INDIVIDUALS}/Merge", 200, body=merge).individual_id == twice
    gone = m.SplitIndividualsRequest(tracklets_ids=split.tracklets_ids, previous_individual_id=parted)
    sf.call("POST", f"{INDIVIDUALS}/Split", 400, body=gone)  # merged away: SmartFace declares no 404 there
    sf.call("DELETE", f"{INDIVIDUALS}/{{id}}", 204, twice)
    sf.call("GET", f"{INDIVIDUALS}/{{id}}", 404, twice)
    sf.call("DELETE", f"{RECORDS}/{{groupingId}}", 204, gid)
    sf.call("GET", f"{RECORDS}/{{groupingId}}", 404, gid)
    sf.call("POST", f"{RECORDS}/{{groupingId}}/Trigger", 400, gid)


def test_live_groupings(sf: SmartFace) -> None:
    """A live grouping's life: create, read, update, link and unlink a camera, its (empty)
    individuals and frames, an unknown edge stream, delete."""
    m = sf.models
    gid = sf.call("POST", LIVE, 201, body=m.LiveGroupingCreateRequest.from_dict({"description": "door"})).id
    assert sf.call("GET", f"{LIVE}/{{groupingId}}", 200, gid).config.sliding_window == 3600
    assert gid in [g.id for g in sf.call("GET", LIVE, 200)]
    update = m.LiveGroupingUpdateRequest.from_dict({
        "id": str(gid), "description": "door",
        "config": {"enabled": False, "step": 60, "slidingWindow": 600, "threshold": 45},
    })  # fmt: skip
    assert sf.call("PUT", LIVE, 200, body=update).config.threshold == 45
    camera = sf.call("POST", "/api/v1/Cameras", 201, body=m.CameraCreateRequest(name="gate", source="rtsp://x/y"))
    link = m.LinkInputRequest(ids=[camera.id])
    sf.call("POST", f"{LIVE}/{{groupingId}}/LinkCameras", 204, gid, body=link)
    assert [c.id for c in sf.call("GET", f"{LIVE}/{{groupingId}}/Cameras", 200, gid)] == [camera.id]
    assert [c.id for c in sf.call("GET", f"{LIVE}/{{groupingId}}/Streams", 200, gid).cameras] == [camera.id]
    sf.call("POST", f"{LIVE}/{{groupingId}}/UnlinkCameras", 204, gid, body=link)
    assert sf.call("GET", f"{LIVE}/{{groupingId}}/Cameras", 200, gid) == []
    unknown = m.LinkInputRequest(ids=[uuid.uuid4()])
    sf.call("POST", f"{LIVE}/{{groupingId}}/LinkStreams", 404, gid, body=unknown)
    sf.call("POST", f"{LIVE}/{{groupingId}}/UnlinkStreams", 204, gid, body=unknown)
    assert sf.call("GET", f"{LIVE}/{{groupingId}}/Individuals", 200, gid).items == []
    assert sf.call("GET", f"{LIVE}/{{groupingId}}/Frames", 200, gid).items == []
    sf.call("DELETE", f"{LIVE}/{{groupingId}}", 204, gid)
    sf.call("DELETE", f"{LIVE}/{{groupingId}}", 404, gid)
    sf.call("DELETE", "/api/v1/Cameras/{id}", 204, camera.id)


def test_detect_and_pedestrians(sf: SmartFace, cluster: Cluster) -> None:
    """POST /api/v1/Detect on a scene with people, and a camera's stored pedestrians listed, read
    and deleted."""
    from tests.body_scenes import portrait_scenes
    from tests.e2e.test_pedestrians import BODY_TABLES, _seed, png

    scene = next(s for s in portrait_scenes(count=6) if len(s.truths) == 3)
    body = sf.models.DetectionRequest(
        image=sf.models.ImageData(data=png(scene.rgb)), pedestrian_detector_resource_id="sfe_object_cpu_remote",
        object_detector_resource_id="sfe_object_cpu_remote", include_crops=True,
    )  # fmt: skip
    found = sf.call("POST", "/api/v1/Detect", 200, body=body)
    assert len(found.pedestrians) >= 2 and found.pedestrians[0].pedestrian_order == 1
    bad = sf.models.DetectionRequest(
        image=sf.models.ImageData(data=png(scene.rgb)), pedestrian_detector_resource_id="cpu",
        object_detector_resource_id="none",
    )  # fmt: skip
    sf.call("POST", "/api/v1/Detect", 400, body=bad)
    truncate(cluster.servers.database_url, BODY_TABLES)
    camera = sf.call(
        "POST", "/api/v1/Cameras", 201, body=sf.models.CameraCreateRequest(name="street", source="rtsp://x/y")
    )
    ids = asyncio.run(_seed(cluster.servers.database_url, str(camera.id)))
    page = sf.call("GET", "/api/v1/Pedestrians", 200, page_size=10, show_total_count=True)
    assert page.total_items_count == 4 and [str(p.id) for p in page.items] == ids["pedestrians"]
    one = sf.call("GET", "/api/v1/Pedestrians/{id}", 200, ids["pedestrians"][0])
    assert str(one.stream_id) == str(camera.id) and one.nose_x == 100.0
    sf.call("DELETE", "/api/v1/Pedestrians/{id}", 204, ids["pedestrians"][0])
    sf.call("GET", "/api/v1/Pedestrians/{id}", 404, ids["pedestrians"][0])
    sf.call("DELETE", "/api/v1/Pedestrians/{id}", 404, ids["pedestrians"][0])
    sf.call("DELETE", "/api/v1/Cameras/{id}", 204, camera.id)
    truncate(cluster.servers.database_url, BODY_TABLES)


def test_the_scenario_drove_every_implemented_operation(sf: SmartFace, request: pytest.FixtureRequest) -> None:
    ran = {item.name for item in request.session.items if item.path == request.path}
    if len(ran) < len([name for name in globals() if name.startswith("test_")]):
        pytest.skip("only part of the scenario was selected")
    missing = set(SMARTFACE_STATUSES) - sf.called
    if _probe() is not None:  # without a camera's faces test_add_face_from_system skipped
        missing.discard(("POST", "/api/v1/WatchlistMembers/{id}/AddFaceFromSystem"))
    assert not missing, f"operations the generated client never called: {sorted(missing)}"
