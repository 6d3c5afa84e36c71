"""A member face's image: its imageDataId, served by GET /api/v1/Images/{id} like a camera's,
gone with the face; the whole registration photo when FACEGATE_KEEP_REGISTRATION_PHOTOS or
keepAutoLearnPhotos asks. Real cluster, real models, real photos."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import cv2
import httpx
import numpy as np
from litestar.testing import AsyncTestClient

from services.gateway.app import create_app
from shared.imaging import decode_image
from shared.settings import Settings
from tests.support import FACES, Cluster, assert_problem, photo_b64

PHOTO = "img1.jpg"
OTHER_PHOTO = "img2.jpg"


def size_of(jpeg: bytes) -> tuple[int, int]:
    """(width, height) of a JPEG answer."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not an image"
    return image.shape[1], image.shape[0]


def photo_size(name: str) -> tuple[int, int]:
    return size_of((FACES / "photos" / name).read_bytes())


def watchlist(api: httpx.Client) -> str:
    r = api.post("/api/v1/Watchlists", json={"displayName": "Staff", "fullName": "Staff"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def register_body(wl: str, **extra: Any) -> dict[str, Any]:
    return {"images": [{"data": photo_b64(PHOTO)}], "watchlistIds": [wl], **extra}


def image(api: httpx.Client, image_id: str, **params: int) -> bytes:
    r = api.get(f"/api/v1/Images/{image_id}", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    return r.content


def test_member_face_crops_download_scale_and_go_with_the_face(api: httpx.Client) -> None:
    wl = watchlist(api)
    r = api.post("/api/v1/WatchlistMembers/Register", json=register_body(wl))
    assert r.status_code == 201, r.text
    member = r.json()
    (face,) = member["faces"]
    image_id = face["imageDataId"]
    assert image_id and uuid.UUID(image_id) and image_id != face["id"]
    listed = api.get(f"/api/v1/WatchlistMembers/{member['id']}/Faces").json()["items"]
    assert [f["imageDataId"] for f in listed] == [image_id]
    assert api.get(f"/api/v1/Faces/{face['id']}").json()["imageDataId"] == image_id

    crop = image(api, image_id)
    assert size_of(crop) == (224, 224)  # the detector's aligned face chip
    assert size_of(image(api, image_id, maxSize=100)) == (100, 100)
    assert size_of(image(api, image_id, minSize=300)) == (300, 300)
    assert size_of(image(api, image_id, minSize=300, maxSize=250)) == (250, 250)  # maxSize wins
    assert image(api, image_id.replace("-", "")) == crop  # a GUID without dashes names it too

    added = api.post(f"/api/v1/WatchlistMembers/{member['id']}/AddNewFace",
                     json={"imageData": {"data": photo_b64(OTHER_PHOTO)}})  # fmt: skip
    assert added.status_code == 201, added.text
    second = added.json()["imageDataId"]
    assert second and second != image_id and image(api, second) != crop

    # The image goes with its face: removed, or with its member.
    r = api.post(f"/api/v1/WatchlistMembers/{member['id']}/RemoveFace", json={"faceId": face["id"]})
    assert r.status_code == 204, r.text
    assert_problem(api.get(f"/api/v1/Images/{image_id}"), 404)
    assert api.delete(f"/api/v1/WatchlistMembers/{member['id']}").status_code == 204
    assert_problem(api.get(f"/api/v1/Images/{second}"), 404)


def test_no_image_where_the_members_privacy_forbids_registration_images(api: httpx.Client) -> None:
    wl = watchlist(api)
    body = register_body(wl, privacy={"saveRegistrationImages": False}, keepAutoLearnPhotos=True)
    r = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["faces"][0]["imageDataId"] is None


def test_keep_auto_learn_photos_keeps_the_whole_photo(api: httpx.Client) -> None:
    wl = watchlist(api)
    r = api.post("/api/v1/WatchlistMembers/Register", json=register_body(wl, keepAutoLearnPhotos=True))
    assert r.status_code == 201, r.text
    image_id = r.json()["faces"][0]["imageDataId"]
    assert size_of(image(api, image_id)) == photo_size(PHOTO)
    assert max(size_of(image(api, image_id, maxSize=200))) == 200


async def test_the_setting_keeps_whole_photos_of_register_and_add_new_face(cluster: Cluster, api: httpx.Client) -> None:
    """An in-process gateway with FACEGATE_KEEP_REGISTRATION_PHOTOS on, against the cluster's
    workers. A PNG photo is kept as JPEG (Images answers image/jpeg)."""
    settings = Settings(nats_url=cluster.servers.nats_url, database_url=cluster.servers.database_url,
                        keep_registration_photos=True)  # fmt: skip
    wl = watchlist(api)
    rgb = decode_image((FACES / "photos" / OTHER_PHOTO).read_bytes())
    png = base64.b64encode(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()).decode()
    async with AsyncTestClient(create_app(settings)) as client:
        r = await client.post("/api/v1/WatchlistMembers/Register", json=register_body(wl))
        assert r.status_code == 201, r.text
        member = r.json()
        added = await client.post(f"/api/v1/WatchlistMembers/{member['id']}/AddNewFace",
                                  json={"imageData": {"data": png}})  # fmt: skip
        assert added.status_code == 201, added.text
    assert size_of(image(api, member["faces"][0]["imageDataId"])) == photo_size(PHOTO)
    kept = image(api, added.json()["imageDataId"])
    assert kept.startswith(b"\xff\xd8\xff") and size_of(kept) == photo_size(OTHER_PHOTO)
