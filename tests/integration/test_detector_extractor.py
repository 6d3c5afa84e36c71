"""The detector and extractor as real processes behind real NATS: typed requests, batches,
typed errors for bad images, and images larger than one NATS message via the blob store."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

import cv2
import numpy as np
import pytest

from shared import analysis, blobs
from shared.bus import Bus, Empty
from shared.cluster import ServiceProcesses
from shared.errors import ServiceUnavailable, Unprocessable, ValidationFailed
from shared.messages.faces import (
    DetectRequest,
    DetectResponse,
    ExtractRequest,
    ExtractResponse,
    FaceDetectorConfig,
    FaceFeaturesConfig,
    ModelInfo,
)
from shared.scores import score_from_similarity, similarity
from shared.settings import Settings
from shared.subjects import DETECTOR_DETECT, EXTRACTOR_EXTRACT, EXTRACTOR_MODEL
from tests.support import FACES, REPO, Servers

ANY_SIZE = FaceDetectorConfig(min_face_size=20, max_face_size=100_000)


@pytest.fixture(scope="module")
def workers(servers: Servers) -> Iterator[None]:
    if not (FACES / "photos").is_dir():
        pytest.skip(f"no photos at {FACES}")
    models = os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models"))
    procs = ServiceProcesses({**servers.env(), "FACEGATE_MODELS_DIR": models}, service_env=servers.service_env)
    procs.start_all(["detector", "extractor"])
    try:
        yield
    finally:
        procs.stop()


@pytest.fixture
async def bus(servers: Servers, workers: None) -> AsyncIterator[Bus]:
    connected = await Bus.connect(Settings(nats_url=servers.nats_url, request_timeout=30), "test")
    await _wait_ready(connected)
    yield connected
    await connected.close()


async def _wait_ready(bus: Bus, timeout: float = 120) -> None:
    """Endpoints exist only once the models are warm: until then requests find no responder."""
    probe = DetectRequest(image=blobs.Blob(data=b"x"))
    deadline = time.monotonic() + timeout
    for subject in (DETECTOR_DETECT, EXTRACTOR_EXTRACT):
        message = probe if subject == DETECTOR_DETECT else ExtractRequest(crops=[])
        while True:
            try:
                await bus.request(subject, message, DetectResponse if subject == DETECTOR_DETECT else ExtractResponse)
                break
            except ServiceUnavailable:
                assert time.monotonic() < deadline, f"{subject} never became ready"
                await asyncio.sleep(0.2)
            except ValidationFailed:
                break


async def detect(bus: Bus, data: bytes, config: FaceDetectorConfig = ANY_SIZE) -> DetectResponse:
    blob = await blobs.wrap(bus, data)
    try:
        request = DetectRequest(image=blob, face_detector_config=config)
        return await bus.request(DETECTOR_DETECT, request, DetectResponse)
    finally:
        await blobs.release(bus, blob)


async def test_detect_then_extract_over_the_bus(bus: Bus) -> None:
    group = await detect(bus, (FACES / "photos" / "selfie-many-people.jpg").read_bytes())
    # Six of its seven people: the seventh, cut at the mouth by the frame's corner, is not found.
    assert len(group.faces) == 6 and all(f.crop for f in group.faces)
    features = FaceFeaturesConfig(distant_liveness=True, nearby_liveness=True)
    extracted = await bus.request(
        EXTRACTOR_EXTRACT,
        ExtractRequest(crops=[f.crop for f in group.faces], face_features_config=features),
        ExtractResponse,
    )
    assert len(extracted.faces) == 6
    for face in extracted.faces:
        assert face.template is not None and face.template_model.startswith("faceapi-resnet@")
        assert face.age is not None and face.nearby_liveness is not None and face.distant_liveness is not None


async def test_regions_narrow_the_search_and_answer_in_the_photos_pixels(bus: Bus) -> None:
    """A camera's frame between full detections (services/camera_ingest/regions.py): only the
    faces inside the regions asked for, where the whole photo has them."""
    photo = (FACES / "photos" / "selfie-many-people.jpg").read_bytes()
    whole = await detect(bus, photo)
    x0, y0, x1, y1 = whole.faces[0].box
    pad = (x1 - x0) / 2
    region = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    blob = await blobs.wrap(bus, photo)
    try:
        request = DetectRequest(image=blob, face_detector_config=ANY_SIZE, regions=[region])
        narrowed = await bus.request(DETECTOR_DETECT, request, DetectResponse)
    finally:
        await blobs.release(bus, blob)
    assert (narrowed.width, narrowed.height) == (whole.width, whole.height)
    assert 1 <= len(narrowed.faces) < len(whole.faces)
    near = 0.1 * (x1 - x0)  # px: the same face (the grid of anchors falls elsewhere on it in a region)
    for face in narrowed.faces:  # each a face of the whole photo, in the photo's pixels
        assert min(np.abs(np.subtract(face.box, w.box)).max() for w in whole.faces) < near
    assert min(np.abs(np.subtract(whole.faces[0].box, f.box)).max() for f in narrowed.faces) < near


async def test_a_region_read_for_larger_faces_finds_its_face_and_sizes_must_match_the_regions(bus: Bus) -> None:
    """A tracked face's region is read for faces from half its width up (coarser, cheaper):
    that face is still found there; a region_face_sizes list that does not match the regions is
    refused."""
    photo = (FACES / "photos" / "selfie-many-people.jpg").read_bytes()
    whole = await detect(bus, photo)
    largest = whole.faces[0]
    x0, y0, x1, y1 = largest.box
    pad = x1 - x0
    region = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    blob = await blobs.wrap(bus, photo)
    try:
        request = DetectRequest(
            image=blob, face_detector_config=ANY_SIZE, regions=[region], region_face_sizes=[largest.face_size / 2]
        )
        coarse = await bus.request(DETECTOR_DETECT, request, DetectResponse)
        mismatched = DetectRequest(image=blob, regions=[region], region_face_sizes=[40.0, 40.0])
        with pytest.raises(ValidationFailed, match="one face size per region"):
            await bus.request(DETECTOR_DETECT, mismatched, DetectResponse)
    finally:
        await blobs.release(bus, blob)
    # The same face, aligned alike (its box may differ by a fifth between scales): the same template.
    reply = await bus.request(
        EXTRACTOR_EXTRACT, ExtractRequest(crops=[largest.crop, *(f.crop for f in coarse.faces)]), ExtractResponse
    )
    whole_template, *templates = (f.template or b"" for f in reply.faces)
    assert max(similarity(whole_template, t) for t in templates) > 0.99
    assert all(f.face_size >= largest.face_size / 2 * 0.8 for f in coarse.faces)


async def test_same_person_matches_across_photos(bus: Bus) -> None:
    templates = []
    for name in ("img1.jpg", "img2.jpg", "img3.jpg"):  # person01, person01, person05
        found = await detect(bus, (FACES / "photos" / name).read_bytes())
        reply = await bus.request(EXTRACTOR_EXTRACT, ExtractRequest(crops=[found.faces[0].crop]), ExtractResponse)
        assert reply.faces[0].template is not None
        templates.append(reply.faces[0].template)
    assert score_from_similarity(similarity(templates[0], templates[1])) >= 40
    assert score_from_similarity(similarity(templates[0], templates[2])) < 40


async def test_model_info(bus: Bus) -> None:
    info = await bus.request(EXTRACTOR_MODEL, Empty(), ModelInfo)
    assert info.template_model == "faceapi-resnet@1.7.15" and info.template_dimension == 128
    assert "CPUExecutionProvider" in info.providers


async def test_large_image_travels_by_reference(bus: Bus) -> None:
    # About 11 MB as PNG (noise does not compress): over one NATS message.
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (2600, 2000, 3), dtype=np.uint8)
    photo = np.asarray(cv2.imread(str(FACES / "photos" / "img1.jpg")))
    noise[200 : 200 + 1400, 100 : 100 + 1100] = cv2.resize(photo, (1100, 1400))
    ok, png = cv2.imencode(".png", noise)
    assert ok and len(png) > blobs.inline_limit(bus)
    assert len((await detect(bus, bytes(png))).faces) >= 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ValidationFailed),
        (b"GIF? no: plain text", ValidationFailed),
        ((FACES / "photos" / "img1.jpg").read_bytes()[:5000], ValidationFailed),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x27\x10\x00\x00\x27\x10" + b"\x00" * 32, Unprocessable),
    ],
)
async def test_bad_images_are_typed_errors(bus: Bus, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        await detect(bus, data)


async def test_camera_frames_get_the_same_liveness_border_rule(bus: Bus) -> None:
    """The analysis client (shared.analysis, camera_ingest's too) sends each face's geometry with
    its crops, so a face the frame's edge cuts is not judged on a camera either: no score, the
    reason instead."""
    photo = np.asarray(cv2.imread(str(FACES / "photos" / "img1.jpg")))
    whole = await detect(bus, cv2.imencode(".jpg", photo)[1].tobytes())
    corners = whole.faces[0].crop_corners
    cut_at = int(corners[0].x + 0.3 * (corners[1].x - corners[0].x))
    frame = cv2.imencode(".jpg", photo[:, cut_at:])[1].tobytes()
    features = FaceFeaturesConfig(template=True, distant_liveness=True, nearby_liveness=True)
    (face,) = (await analysis.analyse(bus, frame, ANY_SIZE, features)).faces
    assert face.extracted.template is not None
    assert face.extracted.distant_liveness is None and face.extracted.nearby_liveness is None
    assert "border" in (face.extracted.distant_liveness_reason or "")
    assert "border" in (face.extracted.nearby_liveness_reason or "")
