"""Recognition and features on real photos: pairs.csv around threshold 40, rank-1, ranges."""

from __future__ import annotations

import cv2
import numpy as np

from services.extractor.pipeline import FacePipeline
from shared.messages.faces import FaceDetectorConfig, FaceFeaturesConfig
from shared.scores import score_from_similarity, similarity
from tests.model.conftest import Faces
from tests.support import FACES, read_csv

THRESHOLD = 40


def template(faces: Faces, name: str) -> bytes:
    extracted = faces[name][0].extracted
    assert extracted.template is not None
    return extracted.template


def test_pairs_score_on_the_right_side_of_threshold_40(faces: Faces) -> None:
    same: list[int] = []
    different: list[int] = []
    for row in read_csv("pairs.csv"):
        score = score_from_similarity(similarity(template(faces, row["file_x"]), template(faces, row["file_y"])))
        (same if row["Decision"] == "Yes" else different).append(score)
    tar = np.mean([s >= THRESHOLD for s in same])
    far = np.mean([s >= THRESHOLD for s in different])
    # Measured 38/38 and 0/262 (docs/models.md); the bounds leave room for one pair to move.
    assert tar >= 0.97, sorted(same)[:5]
    assert far <= 0.004, sorted(different)[-5:]


def test_rank_1_over_known_identities(faces: Faces) -> None:
    rows = read_csv("identities.csv")
    hits = 0
    for row in rows:
        others = [r for r in rows if r["photo"] != row["photo"]]
        best = max(others, key=lambda r: similarity(template(faces, row["photo"]), template(faces, r["photo"])))
        hits += best["identity"] == row["identity"]
    assert hits == len(rows)


def test_templates_are_normalised_and_name_their_model(faces: Faces) -> None:
    for found in faces.values():
        for extracted in (f.extracted for f in found):
            assert extracted.template is not None
            vector = np.frombuffer(extracted.template, np.float32)
            assert vector.shape == (128,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4
            assert extracted.template_model == "faceapi-resnet@1.7.15"


def test_age_gender_liveness_in_range(faces: Faces) -> None:
    for found in faces.values():
        for e in (f.extracted for f in found):
            assert e.age is not None and 0 <= e.age <= 120
            assert e.gender in ("Male", "Female")
            assert e.gender_confidence is not None and 5000 <= e.gender_confidence <= 10000
            # A score in range, or none with the reason (a face cut by the photo's edge).
            for score, reason in (
                (e.nearby_liveness, e.nearby_liveness_reason),
                (e.distant_liveness, e.distant_liveness_reason),
            ):
                assert (score is not None and 0 <= score <= 100 and reason is None) or (score is None and reason), e
            assert e.face_mask_status == "Unknown"  # no mask model in the registry packages


def test_liveness_is_not_guessed_on_faces_cut_by_the_border_or_too_small(faces: Faces) -> None:
    unjudged = [
        (name, round(f.detected.face_size))
        for name, found in faces.items()
        for f in found
        if f.extracted.nearby_liveness is None
    ]
    # The faces at the frame's edge of the selfie and of img62.jpg (people behind the subject),
    # and one too small, a face 30 px wide in img54.jpg's crowd; every other face of the 65
    # photos is judged.
    assert {name for name, _ in unjudged} <= {"selfie-many-people.jpg", "img62.jpg", "img54.jpg"}
    assert sum(name == "selfie-many-people.jpg" for name, _ in unjudged) >= 2
    for name, found in faces.items():
        for f in found:
            reason = f.extracted.nearby_liveness_reason
            if f.extracted.nearby_liveness is None:
                small = f.detected.face_size < 49 and "needs at least 49 px" in (reason or "")
                assert reason and ("border" in reason or small), (name, reason)


def test_small_faces_get_no_nearby_liveness(pipeline: FacePipeline) -> None:
    photo = np.asarray(cv2.imread(str(FACES / "photos" / "img1.jpg")))
    scale = 140 / max(photo.shape[:2])  # the face becomes about 40 px wide
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[120 : 120 + small.shape[0], 240 : 240 + small.shape[1]] = small
    ok, data = cv2.imencode(".jpg", canvas)
    assert ok
    config = FaceDetectorConfig(min_face_size=20, max_face_size=100_000)
    features = FaceFeaturesConfig(nearby_liveness=True, distant_liveness=True)
    largest = pipeline.analyse(bytes(data), config, features).faces[0]
    detected, extracted = largest.detected, largest.extracted
    assert 240 < detected.landmarks.left_eye.x < 240 + small.shape[1]  # the face pasted in
    assert detected.face_size < 49
    assert extracted.nearby_liveness is None and "needs at least 49 px" in (extracted.nearby_liveness_reason or "")
    assert extracted.distant_liveness is not None  # 32x32 input: a 40 px face is enough
