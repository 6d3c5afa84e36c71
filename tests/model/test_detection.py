"""Detection on real photos: every known face found, all faces of the group photos, config."""

from __future__ import annotations

import cv2
import numpy as np

from services.extractor.pipeline import FacePipeline
from shared.messages.faces import FaceDetectorConfig
from tests.model.conftest import ANY_SIZE, Faces
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
    # Seven people, two of them cut by the frame's edge.
    assert len(faces["selfie-many-people.jpg"]) == 7


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
    # Each face turned away is reported once (not once per tile that saw it), with its reason;
    # with no small face wanted, tiles are skipped and the whole view finds 5 of the 7.
    assert 5 <= len(too_small.rejected) <= 7 and all("under minFaceSize 1000" in r for r in too_small.rejected)
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


def test_only_the_largest_face_wanted_skips_the_tiles_unless_needed(pipeline: FacePipeline) -> None:
    detect = pipeline.detector.detect
    one = FaceDetectorConfig(min_face_size=20, max_face_size=100_000, max_faces=1)
    selfie = photo("selfie-many-people.jpg")
    every = detect(selfie, ANY_SIZE).faces
    (largest,) = detect(selfie, one).faces
    nearest = min(every, key=lambda f: abs(f.landmarks.left_eye.x - largest.landmarks.left_eye.x))
    assert abs(nearest.landmarks.left_eye.y - largest.landmarks.left_eye.y) < 0.1 * nearest.face_size
    assert largest.face_size >= 0.8 * every[0].face_size  # the largest face, not a small one
    # Faces of 73..78 px: the whole view finds none (its sizes there are 72 and 81), one tile
    # does (77), so the tiles run after all.
    band = FaceDetectorConfig(min_face_size=73, max_face_size=78, max_faces=1)
    rgb = cv2.cvtColor(np.asarray(cv2.imread(str(FACES / "photos" / "selfie-many-people.jpg"))), cv2.COLOR_BGR2RGB)
    assert pipeline.detector._candidates(rgb, band, tiles=False)[0] == []
    (found,) = detect(selfie, band).faces
    assert 73 <= found.face_size <= 78
