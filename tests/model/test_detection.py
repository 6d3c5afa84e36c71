"""Detection on real photos: every known face found, all faces of the group photos, no
lettering taken for a face, config and the one-face rule, small faces when asked for, large
faces in a camera's frame read whole in one pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.detector import retinaface
from services.extractor.pipeline import FacePipeline
from shared.face_choice import SURE_CONFIDENCE, best_first
from shared.messages.faces import DetectedFace, FaceDetectorConfig
from tests.model.conftest import ANY_SIZE, Faces
from tests.scenes import SourceFace, background, blend, drawn_face, face_patch
from tests.support import FACES, read_csv


def photo(name: str) -> bytes:
    return (FACES / "photos" / name).read_bytes()


def small_bgr(name: str) -> np.ndarray:
    """A photo at a third of its size (BGR, as OpenCV encodes)."""
    bgr = np.asarray(cv2.imread(str(FACES / "photos" / name)))
    return cv2.resize(bgr, (bgr.shape[1] // 3, bgr.shape[0] // 3), interpolation=cv2.INTER_AREA)


def test_a_face_in_every_photo_of_a_known_identity(faces: Faces) -> None:
    missed = [r["photo"] for r in read_csv("identities.csv") if not faces[r["photo"]]]
    assert missed == []


def test_all_faces_of_the_group_photos(faces: Faces) -> None:
    assert len(faces["couple.jpg"]) == 2
    # Seven people, two of them cut by the frame's edge: the one cut at the mouth by the lower
    # left corner (half her face outside the photo) scores 0.14 and is not reported.
    assert len(faces["selfie-many-people.jpg"]) == 6


def test_lettering_and_logos_are_not_faces(faces: Faces) -> None:
    """The lettering behind img53.jpg's subject and the logo in img44.jpg were faces to the
    detector before RetinaFace (docs/models.md); the one-face photos give one face each, but
    for people in their backgrounds (img41, img54, img62: small, sure faces)."""
    for name in ("img53.jpg", "img44.jpg", "img59.jpg", "img1.jpg", "img20.jpg", "img23.jpg", "img33.jpg", "img4.jpg"):
        assert len(faces[name]) == 1, name
    assert faces["img53.jpg"][0].detected.face_size < 300  # the subject (232 px), not the lettering


def test_faces_are_ordered_largest_first_with_sane_landmarks(faces: Faces) -> None:
    for found in faces.values():
        sizes = [f.detected.face_size for f in found]
        assert sizes == sorted(sizes, reverse=True)
        for order, d in enumerate((f.detected for f in found), start=1):
            assert d.face_order == order
            x0, _, x1, _ = d.box
            lm = d.landmarks
            assert lm.left_eye.x < lm.right_eye.x  # left as seen in the photo
            assert x0 - 0.2 * (x1 - x0) < lm.nose_tip.x < x1 + 0.2 * (x1 - x0)
            assert 3500 <= d.confidence <= 10000 and 0 <= d.quality <= d.confidence
            assert 0 <= d.sharpness <= 10000 and 0 <= d.brightness <= 10000
            assert abs(d.pose.yaw) <= 90 and abs(d.pose.pitch) <= 90 and abs(d.pose.roll) <= 180


def test_frontal_faces_have_small_angles(faces: Faces) -> None:
    d = faces["img1.jpg"][0].detected
    assert abs(d.pose.yaw) < 20 and abs(d.pose.pitch) < 25 and abs(d.pose.roll) < 15


def test_detector_config_is_honoured(pipeline: FacePipeline) -> None:
    detect = pipeline.detector.detect
    selfie = photo("selfie-many-people.jpg")
    assert len(detect(selfie, FaceDetectorConfig(max_faces=2)).faces) == 2
    too_small = detect(selfie, FaceDetectorConfig(min_face_size=1000, max_face_size=2000))
    assert too_small.faces == []
    # Each face turned away is reported once, with its reason.
    assert len(too_small.rejected) == 6 and all("under minFaceSize 1000" in r for r in too_small.rejected)
    strict = detect(selfie, FaceDetectorConfig(confidence_threshold=10000))
    assert strict.faces == [] and strict.rejected
    assert all("under confidenceThreshold 10000" in r for r in strict.rejected)
    assert detect(selfie, FaceDetectorConfig(max_faces=2)).rejected == []  # maxFaces turns none away
    small = detect(selfie, FaceDetectorConfig(min_face_size=0, max_face_size=110)).faces
    assert small and all(f.face_size <= 110 for f in small)


def _encode(ext: str, pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, pixels)
    assert ok
    return bytes(buf)


def test_rgba_gray_and_16_bit_images_are_accepted(pipeline: FacePipeline) -> None:
    bgr = small_bgr("img1.jpg")
    variants = {
        "rgba png": _encode(".png", cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)),
        "gray jpeg": _encode(".jpg", cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)),
        "16-bit png": _encode(".png", bgr.astype(np.uint16) * 257),
    }
    for name, data in variants.items():
        assert len(pipeline.detector.detect(data, ANY_SIZE).faces) == 1, name


def test_exif_rotated_photo_is_upright_before_detection(pipeline: FacePipeline) -> None:
    from tests.unit.test_imaging import with_exif_orientation

    bgr = small_bgr("img1.jpg")
    # Stored lying on its side, with orientation 6 ("rotate 90 degrees clockwise to view").
    stored = _encode(".jpg", cv2.rotate(bgr, cv2.ROTATE_90_COUNTERCLOCKWISE))
    result = pipeline.detector.detect(with_exif_orientation(stored, 6), ANY_SIZE)
    assert (result.height, result.width) == bgr.shape[:2]
    assert len(result.faces) == 1 and abs(result.faces[0].pose.roll) < 20


def test_max_faces_keeps_the_faces_the_one_face_rule_prefers(pipeline: FacePipeline) -> None:
    """maxFaces applies after choosing: the faces kept are the rule's first ones, whatever their
    size, and the answer lists them largest first."""
    detect = pipeline.detector.detect
    for name in ("selfie-many-people.jpg", "img41.jpg", "img62.jpg"):
        every = detect(photo(name), ANY_SIZE).faces
        preferred = [(f.landmarks.left_eye.x, f.landmarks.left_eye.y) for f in best_first(every)]
        for limit in (1, 2, 3):
            config = FaceDetectorConfig(min_face_size=20, max_face_size=100_000, max_faces=limit)
            kept = detect(photo(name), config).faces
            assert {(f.landmarks.left_eye.x, f.landmarks.left_eye.y) for f in kept} == set(preferred[:limit])
            assert [f.face_order for f in kept] == list(range(1, len(kept) + 1))
            assert [f.face_size for f in kept] == sorted((f.face_size for f in kept), reverse=True)


def test_a_drawn_face_larger_than_the_real_one_is_not_chosen(pipeline: FacePipeline) -> None:
    bgr = np.asarray(cv2.imread(str(FACES / "photos" / "img21.jpg")))
    height, width = bgr.shape[:2]
    scene = np.full((height, 3 * width, 3), 90, np.uint8)
    scene[:, :width] = bgr
    drawn_face(scene, (2 * width, height // 2), 320)
    both = pipeline.detector.detect(_encode(".png", scene), ANY_SIZE).faces
    assert len(both) == 2 and both[0].landmarks.left_eye.x > width  # the drawn one is the largest
    assert both[0].confidence < SURE_CONFIDENCE <= both[1].confidence
    (one,) = pipeline.detector.detect(_encode(".png", scene), FaceDetectorConfig(max_faces=1)).faces
    assert one.landmarks.left_eye.x < width


def test_small_faces_are_found_when_asked_for(pipeline: FacePipeline) -> None:
    """A face 20 px wide in a 1280x720 frame: found with minFaceSize 16, at its place."""
    bgr = np.asarray(cv2.imread(str(FACES / "photos" / "img2.jpg")))
    (face,) = pipeline.detector.detect(_encode(".jpg", bgr), ANY_SIZE).faces
    scale = 20 / face.face_size
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 120, np.uint8)
    frame[300 : 300 + small.shape[0], 600 : 600 + small.shape[1]] = small
    found = pipeline.detector.detect(_encode(".png", frame), FaceDetectorConfig(min_face_size=16)).faces
    assert len(found) == 1 and 16 <= found[0].face_size <= 25
    assert abs(found[0].landmarks.left_eye.x - (600 + face.landmarks.left_eye.x * scale)) < 4
    assert pipeline.detector.detect(_encode(".png", frame), FaceDetectorConfig(min_face_size=35)).faces == []


def test_one_face_requests_choose_as_the_whole_detection_does(pipeline: FacePipeline) -> None:
    """A one-face request may skip a large photo's detail pass (Detector._one_face_from_overview);
    the face it takes is still the one the rule takes of every face found, on every photo."""
    detect = pipeline.detector.detect
    two_pass = 0
    for path in sorted((FACES / "photos").iterdir()):
        data = path.read_bytes()
        every = detect(data, FaceDetectorConfig(max_faces=100)).faces
        one = detect(data, FaceDetectorConfig(max_faces=1)).faces
        if not every:
            assert one == [], path.name
            continue
        (chosen,) = one
        expected = best_first(every)[0]
        assert (chosen.landmarks.left_eye.x, chosen.landmarks.left_eye.y) == (
            expected.landmarks.left_eye.x,
            expected.landmarks.left_eye.y,
        ), path.name
        image = np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        two_pass += pipeline.detector.retinaface.overview(image[..., ::-1], 35, 0.5) is not None
    assert two_pass > 10  # large photos, read in two passes: where the shortcut applies


def _five(face: DetectedFace) -> np.ndarray:
    lm = face.landmarks
    return np.array([[p.x, p.y] for p in (lm.left_eye, lm.right_eye, lm.nose_tip, lm.mouth_left, lm.mouth_right)])


@pytest.mark.parametrize("passes", [1, 2])
def test_large_faces_in_a_720p_frame_are_found_whole_in_one_pass(
    pipeline: FacePipeline, faces: Faces, monkeypatch: pytest.MonkeyPatch, passes: int
) -> None:
    """A 1280x720 frame with the camera's minFaceSize 35 is read in one pass, at 878x494 (two
    passes, with the 640 px overview, for comparison): the known identities' faces pasted 250
    to 550 px wide (up to ~380 px in the network's input) are each found once, whole, their
    landmarks within a tenth of the face's size, with no part of a face as a face of its own."""
    if passes == 2:
        monkeypatch.setattr(retinaface, "ONE_PASS", 1.0)
    assert len(retinaface.passes(1280, 720, 35)) == passes
    camera = FaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20)
    rng = np.random.default_rng(720)
    for name in sorted({r["photo"] for r in read_csv("identities.csv")}):
        rgb = cv2.cvtColor(np.asarray(cv2.imread(str(FACES / "photos" / name))), cv2.COLOR_BGR2RGB)
        source = SourceFace(name, rgb, _five(faces[name][0].detected).astype(np.float32))
        for size in (250, 350, 450, 550):
            frame = background(rng, 1280, 720)
            patch, alpha, five = face_patch(source, size, float(rng.uniform(-10, 10)))
            cx = int(rng.uniform(size, 1280 - size))
            cy = int(rng.uniform(min(0.9 * size, 360), max(720 - 0.9 * size, 360)))
            x, y = cx - patch.shape[1] // 2, cy - patch.shape[0] // 2
            blend(frame, patch, alpha, x, y)
            truth = five + np.array([x, y], np.float32)
            found = pipeline.detector.detect_rgb(frame, camera, include_crops=False).faces
            assert len(found) == 1, (name, size, [(f.face_size, f.confidence) for f in found])
            assert np.abs(_five(found[0]) - truth).max() < 0.1 * size, (name, size)
            assert 0.8 < found[0].face_size / size < 1.25, (name, size, found[0].face_size)
