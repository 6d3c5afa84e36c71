"""The web console in a real browser against the real cluster, as an operator uses it: sign in,
create a watchlist, enrol a member by uploading photos (a photo without a face is refused with
the reason beside it), see them in the list with their photo; add a camera streaming the RTSP
test clip and see the member's match appear in the live feed and the camera's preview (MJPEG,
faces boxed); search by photo, list the faces the camera saw, compare two photos. Each page is
photographed into docs/console/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from services.gateway.preview import BOUNDARY
from shared.auth import hash_key
from shared.embedded import free_port
from tests.browser.conftest import Console
from tests.idp import AUDIENCE, IdentityProvider, serve_oidc
from tests.rtsp.conftest import gstreamer  # noqa: F401  (a fixture of `pipeline`)
from tests.rtsp.test_pipeline import (  # noqa: F401  (pipeline: a fixture)
    MEMBER_PHOTO_ENROLLED,
    MEMBER_PHOTO_VIDEO,
    SEEN_TABLES,
    pipeline,
    serve,
)
from tests.support import FACES, Cluster, assert_problem, photo_b64, truncate, wait_until

PHOTOS = FACES / "photos"
NAME = "Person Zero One"
SEARCH_PHOTO = "img2.jpg"  # person01 again, neither the enrolled photo nor the video's
VIEWER_KEY = "fg_console-viewer-key"
CONSOLE_CLIENT = "facegate-console"
# Whether an <img> shows a face box: pixels of Setup/Preview's default face colour (#00ff00).
BOXED = """(img) => {
  if (!img.complete || !img.naturalWidth) return false;
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let green = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 90 && pixels[i + 1] > 170 && pixels[i + 2] < 90) green++;
  return green > 200;
}"""


@pytest.fixture
def gallery(cluster: Cluster) -> Iterator[httpx.Client]:
    truncate(cluster.servers.database_url)
    with cluster.http() as client:
        yield client


@pytest.fixture
def no_cameras(pipeline: Cluster) -> None:  # noqa: F811
    """The face pipeline of the RTSP tests, with no camera or what cameras saw."""
    truncate(pipeline.servers.database_url, SEEN_TABLES)


@pytest.fixture(scope="module")
def secured(cluster: Cluster) -> Iterator[str]:
    """The URL of a second gateway that takes API keys (VIEWER_KEY is a viewer's)."""
    port = free_port()
    keys = f"viewer:viewer:{hash_key(VIEWER_KEY)}"
    cluster.services.start("gateway", index=1, extra_env={
        "FACEGATE_GATEWAY_PORT": str(port), "FACEGATE_AUTH_API_KEYS": keys, "FACEGATE_INSTANCE_ID": "console-gateway",
    })  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 60, "the gateway with API keys")
        yield url
    finally:
        cluster.services.stop_one("gateway", 1)


@pytest.fixture(scope="module")
def with_oidc(cluster: Cluster) -> Iterator[str]:
    """The URL of a third gateway whose console signs in through an OIDC provider (served on
    127.0.0.1, its users' `fg-admin` role mapped to admin)."""
    with serve_oidc(IdentityProvider(), CONSOLE_CLIENT, ["fg-admin"]) as issuer:
        port = free_port()
        cluster.services.start("gateway", index=2, extra_env={
            "FACEGATE_GATEWAY_PORT": str(port), "FACEGATE_INSTANCE_ID": "oidc-gateway",
            "FACEGATE_AUTH_ISSUER": issuer, "FACEGATE_AUTH_AUDIENCE": AUDIENCE,
            "FACEGATE_AUTH_JWKS_URL": f"{issuer}/jwks", "FACEGATE_AUTH_ROLES_CLAIM": "realm_access.roles",
            "FACEGATE_AUTH_ROLE_MAP": "fg-admin=admin", "FACEGATE_CONSOLE_OIDC_CLIENT_ID": CONSOLE_CLIENT,
        })  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 60, "the gateway with OIDC")
            yield url
        finally:
            cluster.services.stop_one("gateway", 2)


def no_face_photo(folder: Path) -> Path:
    path = folder / "empty-wall.jpg"
    cv2.imwrite(str(path), np.full((320, 320, 3), 120, dtype=np.uint8))
    return path


def enrol_by_api(api: httpx.Client) -> str:
    r = api.post("/api/v1/Watchlists", json={"displayName": "Staff", "fullName": "Staff", "previewColor": "#d9480f"})
    assert r.status_code == 201, r.text
    body = {"images": [{"data": photo_b64(MEMBER_PHOTO_ENROLLED)}], "watchlistIds": [r.json()["id"]], "fullName": NAME}
    r = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_enrol_a_member_by_upload_and_see_them_with_their_photo(
    gallery: httpx.Client, tmp_path: Path, console: Console
) -> None:
    page = console.page
    console.open()
    page.get_by_role("heading", name="Sign in").wait_for()
    console.screenshot("sign-in")
    console.sign_in()

    page.get_by_role("heading", name="Watchlists").wait_for()
    page.get_by_label("Name", exact=True).fill("Staff")
    page.get_by_label("Threshold").fill("40")
    page.get_by_role("button", name="Create watchlist").click()
    page.get_by_role("heading", name="Enrol a member").wait_for()

    # A photo without a face: nothing is stored, and the reason stands beside that photo.
    page.get_by_label("Full name").first.fill(NAME)
    page.get_by_label("Photo files").set_input_files([PHOTOS / MEMBER_PHOTO_ENROLLED, no_face_photo(tmp_path)])
    page.get_by_role("button", name="Enrol", exact=True).click()
    refused = page.locator(".photo.refused")
    refused.wait_for()
    assert "empty-wall.jpg" in refused.inner_text() and "no face" in refused.locator(".photo-note").inner_text()
    assert gallery.get("/api/v1/WatchlistMembers").json()["items"] == []
    console.screenshot("enrol-refused")

    # The webcam (Chromium's fake camera) adds a photo to the same list; it has no face either.
    page.get_by_role("button", name="Use webcam").click()
    page.get_by_role("button", name="Take photo").click()
    page.locator(".photo", has_text="webcam photo").wait_for()
    page.get_by_role("button", name="Remove webcam photo").click()
    page.get_by_role("button", name="Close webcam").click()

    page.get_by_role("button", name="Remove empty-wall.jpg").click()
    page.get_by_role("button", name="Enrol", exact=True).click()
    card = page.locator(".member", has_text=NAME)
    card.wait_for()
    (member,) = gallery.get("/api/v1/WatchlistMembers").json()["items"]
    assert member["fullName"] == NAME
    faces = gallery.get(f"/api/v1/WatchlistMembers/{member['id']}/Faces").json()["items"]
    assert len(faces) == 1
    if faces[0].get("imageDataId"):  # the member's photo, from GET /api/v1/Images/{id}
        photo = card.get_by_role("img", name=f"Photo of {NAME}")
        photo.wait_for()
        console.wait_until("(img) => img.complete && img.naturalWidth > 0", photo.element_handle())
    else:  # a gallery that keeps no image of member faces: their initials
        assert card.locator(".placeholder").inner_text() == "PZ"
    console.screenshot("watchlist")

    page.get_by_role("link", name="← Watchlists").click()
    page.get_by_role("link", name="Staff").wait_for()
    console.screenshot("watchlists")

    page.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name=NAME).click()
    page.get_by_role("heading", name="Faces", exact=True).wait_for()
    assert page.locator(".faces .face").count() == 1
    console.screenshot("member")


def test_the_console_signs_in_only_with_a_key_the_api_takes_and_allows_only_what_the_role_may(
    secured: str, gallery: httpx.Client, console: Console
) -> None:
    page = console.page
    console.base_url = secured
    console.open()
    page.get_by_label("API key").fill("fg_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Not signed in: unknown API key").wait_for()
    assert page.get_by_role("navigation", name="Sections").is_hidden()

    console.sign_in(VIEWER_KEY)  # a viewer reads, and the API refuses them any change
    page.get_by_label("Name", exact=True).fill("Staff")
    page.get_by_role("button", name="Create watchlist").click()
    page.get_by_role("alert").filter(has_text="needs the admin role (viewer given)").wait_for()
    assert gallery.get("/api/v1/Watchlists").json()["items"] == []
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def test_the_console_signs_in_through_the_identity_provider_with_pkce(
    with_oidc: str, gallery: httpx.Client, console: Console
) -> None:
    page = console.page
    console.base_url = with_oidc
    console.open("/?code=stolen&state=guessed#/watchlists")  # an answer this tab never asked for
    page.get_by_role("alert").filter(has_text="was not asked for by this tab").wait_for()
    assert "code=" not in page.url

    page.get_by_role("button", name="Sign in with your organisation's account").click()
    page.get_by_role("button", name="Sign in as alice").click()  # the provider's own page
    page.get_by_role("navigation", name="Sections").wait_for()
    assert page.url.startswith(f"{with_oidc}/console/") and "code=" not in page.url
    # The provider's token is the credential now: the API maps alice's fg-admin role to admin.
    page.get_by_label("Name", exact=True).fill("Staff")
    page.get_by_role("button", name="Create watchlist").click()
    wait_until(lambda: [w["displayName"] for w in gallery.get("/api/v1/Watchlists").json()["items"]] == ["Staff"],
               20, "the watchlist created with the OIDC token")  # fmt: skip
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in with your organisation's account").wait_for()


@pytest.mark.rtsp
def test_a_match_appears_in_the_live_feed_with_the_members_name(
    no_cameras: None, gallery: httpx.Client, tmp_path: Path, console: Console
) -> None:
    enrol_by_api(gallery)
    page = console.page
    console.open("#/live")
    console.sign_in()
    page.get_by_text("Live: results appear as they happen.").wait_for()

    server = serve(tmp_path, MEMBER_PHOTO_VIDEO)
    try:
        page.get_by_text("Add a camera").click()
        page.get_by_label("Name", exact=True).fill("Door")
        page.get_by_label("Stream URL").fill(server.url)
        page.get_by_role("button", name="Add camera").click()
        match = page.locator(".feed .result.match").first
        match.wait_for(timeout=90_000)
        assert match.locator(".who").inner_text() == NAME
        text = match.inner_text()
        assert "score" in text and "Staff" in text and "Door" in text
        assert match.get_by_role("img", name="Face seen by Door").is_visible()  # the crop
        page.locator(".state-online").wait_for()
        camera = next(c for c in gallery.get("/api/v1/Cameras").json() if c["name"] == "Door")
        assert_mjpeg(gallery, camera["id"])

        # The camera's live preview, faces boxed, in the page.
        page.get_by_role("button", name="Preview of Door").click()
        page.get_by_text("Door: live").wait_for()
        preview = page.get_by_role("img", name="Live preview of Door, faces boxed")
        console.wait_until(BOXED, preview.element_handle())
        console.screenshot("live")

        # The faces the camera saw, with their crops; one tracklet's faces.
        console.open("#/search")
        page.get_by_label("Camera", exact=True).select_option(label="Door")
        page.get_by_role("button", name="Show faces").click()
        page.locator(".results .face img").first.wait_for()
        page.locator(".results .face").first.get_by_role("button", name="Tracklet").click()
        page.get_by_text("Faces of one tracklet").wait_for()
    finally:
        server.stop()
        for camera in gallery.get("/api/v1/Cameras").json():  # its stream stops with it
            gallery.delete(f"/api/v1/Cameras/{camera['id']}")


def assert_mjpeg(api: httpx.Client, camera_id: str, parts: int = 2) -> None:
    """GET /api/v1/Cameras/{id}/Preview is MJPEG: JPEG parts, each with its Content-Length."""
    with api.stream("GET", f"/api/v1/Cameras/{camera_id}/Preview", timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        buffer, jpegs = b"", []
        for chunk in r.iter_bytes():
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(rest) < length + 2:
                    break
                assert head.lstrip().startswith(f"--{BOUNDARY}".encode()) and rest[length : length + 2] == b"\r\n"
                jpegs.append(rest[:length])
                buffer = rest[length + 2 :]
            if len(jpegs) >= parts:
                break
    image = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and max(image.shape[:2]) <= 640  # the camera's previewMaxDimension


def test_the_preview_of_a_disabled_or_unknown_camera_is_refused(gallery: httpx.Client) -> None:
    r = gallery.post("/api/v1/Cameras", json={"name": "off", "source": "rtsp://127.0.0.1:9/x", "enabled": False})
    assert r.status_code == 201, r.text
    try:
        assert_problem(gallery.get(f"/api/v1/Cameras/{r.json()['id']}/Preview"), 409)
        assert_problem(gallery.get(f"/api/v1/Cameras/{uuid.uuid4()}/Preview"), 404)
    finally:
        gallery.delete(f"/api/v1/Cameras/{r.json()['id']}")


def test_search_by_photo_and_compare_two_photos(gallery: httpx.Client, console: Console) -> None:
    enrol_by_api(gallery)
    page = console.page
    console.open("#/search")
    console.sign_in()

    page.get_by_role("group", name="Photo to search").get_by_label("Photo file").set_input_files(PHOTOS / SEARCH_PHOTO)
    page.get_by_role("button", name="Search", exact=True).click()
    found = page.locator(".results .result.match").first
    found.wait_for()
    assert found.locator(".who").inner_text() == NAME

    first = page.get_by_role("group", name="First photo")
    first.get_by_label("Photo file").set_input_files(PHOTOS / MEMBER_PHOTO_ENROLLED)
    page.get_by_role("group", name="Second photo").get_by_label("Photo file").set_input_files(PHOTOS / SEARCH_PHOTO)
    page.get_by_role("button", name="Verify: same person?").click()
    verdict = page.locator(".verdict")
    verdict.wait_for()
    assert int(verdict.inner_text().split()[1]) >= 40, verdict.inner_text()
    page.get_by_role("button", name="Spoof check both").click()
    page.get_by_text("Second photo: ").wait_for()
    assert first.locator(".photo .photo-note").inner_text().startswith(("live", "spoof", "not judged"))
    assert verdict.is_visible()  # beside the spoof checks' answers
    console.screenshot("search", full_page=True)
