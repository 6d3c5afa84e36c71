"""/api/v1/Faces, /Frames, /Tracklet, /Images and a camera's tracklets and frames over HTTP on
the real cluster: rows are written as camera_ingest's pipeline writes them (records.py), so
these tests need no models."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import cv2
import httpx
import numpy as np
import pytest

from services.camera_ingest import records
from tests.support import Cluster, assert_problem, truncate

SEEN_TABLES = ("seen_faces", "seen_frames", "seen_tracklets", "seen_images", "cameras")
FACE_FIELDS = {
    "quality": 5000, "template_quality": 80, "state": "Extracted", "type": "Regular",
    "crop_left_top_x": 1.0, "crop_left_top_y": 2.0, "crop_right_top_x": 3.0, "crop_right_top_y": 4.0,
    "crop_left_bottom_x": 5.0, "crop_left_bottom_y": 6.0, "crop_right_bottom_x": 7.0, "crop_right_bottom_y": 8.0,
    "left_eye_x": 10.0, "left_eye_y": 11.0, "right_eye_x": 12.0, "right_eye_y": 13.0, "age": 30.0, "gender": 0.1,
    "face_mask_confidence": 100.0, "nose_tip_confidence": None, "face_mask_status": "NoMask", "face_area": 900.0,
    "size": 30.0, "face_order": 1, "faces_on_frame_count": 1, "face_area_change": 0.0, "yaw_angle": 1.0,
    "pitch_angle": 2.0, "roll_angle": 3.0, "autolearn_cluster_type": None, "sharpness": 7000.0,
    "brightness": 5000.0, "tinted_glasses": None, "heavy_frame": None, "glass_status": None,
    "processed_at": "2026-01-02T03:04:05+00:00",
}  # fmt: skip
FACE_KEYS = {
    "trackletId", "quality", "templateQuality", "state", "imageDataId", "processedAt", "cropLeftTopX", "cropLeftTopY",
    "cropRightTopX", "cropRightTopY", "cropLeftBottomX", "cropLeftBottomY", "cropRightBottomX", "cropRightBottomY",
    "leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY", "frameId", "type", "age", "gender", "faceMaskConfidence",
    "noseTipConfidence", "faceMaskStatus", "faceArea", "size", "faceOrder", "facesOnFrameCount", "faceAreaChange",
    "yawAngle", "pitchAngle", "rollAngle", "autolearnClusterType", "sharpness", "brightness", "tintedGlasses",
    "heavyFrame", "glassStatus", "id", "createdAt", "updatedAt",
}  # fmt: skip


def jpeg(width: int, height: int) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    assert ok
    return data.tobytes()


async def _seed(database_url: str, camera_id: str, tracklets: int, faces_each: int) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    out: dict[str, Any] = {"tracklets": [], "faces": [], "frames": [], "images": []}
    try:
        now = datetime.now(UTC)
        for t in range(tracklets):
            tid = str(uuid.uuid4())
            await records.insert_tracklet(conn, tid, camera_id, now + timedelta(seconds=t), 1000 * t)
            out["tracklets"].append(tid)
            for _ in range(faces_each):
                frame_image = str(uuid.uuid4())
                await records.insert_image(
                    conn, frame_image, camera_id, "frame", (640, 360), "Database", None, jpeg(640, 360)
                )
                fid = str(uuid.uuid4())
                await records.insert_frame(conn, fid, camera_id, frame_image, now, 1000 * t)
                crop = str(uuid.uuid4())
                await records.insert_image(conn, crop, camera_id, "crop", (112, 112), "Database", None, jpeg(112, 112))
                face_id = str(uuid.uuid4())
                await records.insert_face(conn, face_id, camera_id, tid, fid, crop, FACE_FIELDS)
                out["faces"].append(face_id)
                out["frames"].append(fid)
                out["images"] += [frame_image, crop]
    finally:
        await conn.close()
    return out


@pytest.fixture
def seen(cluster: Cluster) -> Iterator[tuple[httpx.Client, str, dict[str, Any]]]:
    """A camera with 3 tracklets of 2 faces each (one frame per face)."""
    truncate(cluster.servers.database_url, SEEN_TABLES)
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "door", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        camera = r.json()["id"]
        data = asyncio.run(_seed(cluster.servers.database_url, camera, 3, 2))
        yield api, camera, data
    truncate(cluster.servers.database_url, SEEN_TABLES)


def test_faces_are_paged_with_links_and_total(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, _, data = seen
    r = api.get("/api/v1/Faces", params={"PageSize": 4, "ShowTotalCount": "true"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["totalItemsCount"] == 6 and len(page["items"]) == 4 and page["pageNumber"] == 1
    assert page["previousPage"] is None and "PageNumber=2" in page["nextPage"]
    assert set(page["items"][0]) == FACE_KEYS
    second = api.get(page["nextPage"]).json()
    assert len(second["items"]) == 2 and second["nextPage"] is None and second["totalItemsCount"] == 6
    ids = [f["id"] for f in page["items"] + second["items"]]
    assert ids == data["faces"]  # oldest first
    newest = api.get("/api/v1/Faces", params={"Ascending": "false", "PageSize": 1}).json()
    assert newest["items"][0]["id"] == data["faces"][-1] and newest["totalItemsCount"] is None


def test_face_fields_and_filters(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, camera, data = seen
    face = api.get(f"/api/v1/Faces/{data['faces'][0]}").json()
    assert face["trackletId"] == data["tracklets"][0] and face["frameId"] == data["frames"][0]
    assert face["quality"] == 5000 and face["faceMaskStatus"] == "NoMask" and face["type"] == "Regular"
    assert face["imageDataId"] and face["processedAt"].startswith("2026-01-02T03:04:05")
    assert face["createdAt"].endswith("Z") and face["updatedAt"] is None
    by_tracklet = api.get("/api/v1/Faces", params={"TrackletId": data["tracklets"][1]}).json()
    assert [f["id"] for f in by_tracklet["items"]] == data["faces"][2:4]
    assert api.get("/api/v1/Faces", params={"CameraId": camera}).json()["items"]
    assert not api.get("/api/v1/Faces", params={"CameraId": str(uuid.uuid4())}).json()["items"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert not api.get("/api/v1/Faces", params={"CreatedFrom": future}).json()["items"]
    assert len(api.get("/api/v1/Faces", params={"CreatedTo": future}).json()["items"]) == 6
    # No offset: UTC, whatever the servers' time zone (an hour ahead is still ahead).
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert not api.get("/api/v1/Faces", params={"CreatedFrom": naive}).json()["items"]
    assert len(api.get("/api/v1/Faces", params={"CreatedTo": naive}).json()["items"]) == 6
    assert_problem(api.get("/api/v1/Faces", params={"CreatedFrom": "yesterday"}), 400)
    assert_problem(api.get("/api/v1/Faces", params={"CameraId": "not-a-guid"}), 400)


def test_tracklets_and_their_faces(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, camera, data = seen
    page = api.get("/api/v1/Tracklet", params={"ShowTotalCount": "true"}).json()
    assert page["totalItemsCount"] == 3 and [t["id"] for t in page["items"]] == data["tracklets"]
    t = api.get(f"/api/v1/Tracklet/{data['tracklets'][2]}").json()
    assert set(t) == {"timeAppeared", "timeDisappeared", "timeAppearedRelativeMs", "timeDisappearedRelativeMs",
                      "id", "createdAt", "updatedAt"}  # fmt: skip
    assert t["timeDisappeared"] is None and t["timeAppearedRelativeMs"] == 2000
    faces = api.get(f"/api/v1/Tracklet/{data['tracklets'][2]}/Faces", params={"PageSize": 1}).json()
    assert [f["id"] for f in faces["items"]] == data["faces"][4:5] and faces["nextPage"]
    cam = api.get(f"/api/v1/Cameras/{camera}/Tracklets", params={"PageSize": 2}).json()
    assert [x["id"] for x in cam["items"]] == data["tracklets"][:2]


def test_frames(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, camera, _ = seen
    page = api.get("/api/v1/Frames", params={"ShowTotalCount": "true"}).json()
    assert page["totalItemsCount"] == 6
    frame = page["items"][0]
    assert set(frame) == {"state", "imageDataId", "receivedAt", "positionInMs", "id", "createdAt", "updatedAt"}
    assert frame["state"] == "Processed" and frame["imageDataId"]
    assert api.get(f"/api/v1/Frames/{frame['id']}").json() == frame
    assert len(api.get(f"/api/v1/Cameras/{camera}/Frames").json()["items"]) == 6


def test_unknown_and_bad_ids_get_the_status_smartface_declares(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    """404 for an unknown id, and for an id that is not a GUID where SmartFace declares no 400;
    an empty page for the faces of an unknown tracklet (SmartFace declares only 200/400 there)."""
    api, _, _ = seen
    missing = str(uuid.uuid4())
    for path in ("Faces", "Frames", "Tracklet", "Images", "Cameras/{}/Tracklets", "Cameras/{}/Frames"):
        url = f"/api/v1/{path}".format(missing) if "{}" in path else f"/api/v1/{path}/{missing}"
        assert_problem(api.get(url), 404)
    unknown_faces = api.get(f"/api/v1/Tracklet/{missing}/Faces")
    assert unknown_faces.status_code == 200 and unknown_faces.json()["items"] == [], unknown_faces.text
    assert_problem(api.get("/api/v1/Images/not-a-guid"), 400)
    for path in ("Faces", "Frames", "Tracklet"):
        assert_problem(api.delete(f"/api/v1/{path}/{missing}"), 404)
        assert_problem(api.get(f"/api/v1/{path}/not-a-guid"), 404)
    assert_problem(api.get("/api/v1/Faces", params={"PageSize": 0}), 400)


def test_deletes_cascade_to_faces_and_images(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, _, data = seen
    face = api.get(f"/api/v1/Faces/{data['faces'][0]}").json()
    assert api.get(f"/api/v1/Images/{face['imageDataId']}").status_code == 200
    assert api.delete(f"/api/v1/Faces/{data['faces'][0]}").status_code == 204
    assert_problem(api.get(f"/api/v1/Faces/{data['faces'][0]}"), 404)
    assert_problem(api.get(f"/api/v1/Images/{face['imageDataId']}"), 404)
    # A tracklet takes its faces (and their crops) with it.
    assert api.delete(f"/api/v1/Tracklet/{data['tracklets'][1]}").status_code == 204
    assert_problem(api.get(f"/api/v1/Faces/{data['faces'][2]}"), 404)
    # A frame takes its image and the faces stored from it.
    frame = api.get(f"/api/v1/Frames/{data['frames'][4]}").json()
    assert api.delete(f"/api/v1/Frames/{data['frames'][4]}").status_code == 204
    assert_problem(api.get(f"/api/v1/Images/{frame['imageDataId']}"), 404)
    assert_problem(api.get(f"/api/v1/Faces/{data['faces'][4]}"), 404)
    left = api.get("/api/v1/Faces", params={"ShowTotalCount": "true"}).json()
    assert left["totalItemsCount"] == 2


def test_images_are_jpeg_and_resized_on_request(seen: tuple[httpx.Client, str, dict[str, Any]]) -> None:
    api, _, data = seen
    frame = api.get(f"/api/v1/Frames/{data['frames'][0]}").json()
    url = f"/api/v1/Images/{frame['imageDataId']}"

    def size(params: dict[str, int]) -> tuple[int, int]:
        r = api.get(url, params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        return image.shape[1], image.shape[0]

    assert size({}) == (640, 360)
    assert size({"maxSize": 320}) == (320, 180)
    assert size({"minSize": 720}) == (1280, 720)
    assert size({"minSize": 720, "maxSize": 800}) == (800, 450)
    assert size({"maxSize": 1000}) == (640, 360)
    assert_problem(api.get(url, params={"maxSize": 0}), 400)
