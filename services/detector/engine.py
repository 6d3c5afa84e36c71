"""The detector's domain: photo bytes -> faces with landmarks, pose, quality and aligned crops.

`Detector.detect` is blocking and thread-safe; the service runs it in the bounded pool.
RetinaFace finds the faces, reading the photo resized so that the smallest face the request
asks for (`minFaceSize`) is just large enough for it (small faces are found, large frames stay
cheap), and a large photo also at 640 px for the large faces (a 720p camera frame with
the default minFaceSize is read once: services/detector/retinaface.py); a camera's
frame between whole-frame detections only in the regions it is asked to read (around tracked
faces, where the picture moved: services/camera_ingest/regions.py). FaceMesh
then reads each face for the five landmarks the face is aligned with, the head pose and a
face-presence score: a candidate RetinaFace is unsure of (score under 0.9) must also be a face
to the mesh. On the detection benchmark (benchmarks/detection.py) no false face scored 0.9 or
more, and most of those under it had mesh presence ~0 (docs/models.md).

When `maxFaces` is less than the faces found, the faces kept are those the one-face rule
prefers (shared.face_choice), so that a false face cannot push a real one out; the answer
lists them largest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np

from services.detector import quality
from services.detector.facemesh import FaceMesh, Mesh
from services.detector.retinaface import Box, Found, RetinaFace
from shared.face_choice import best_first, preference
from shared.imaging import align, chip_corners, decode_image, encode_jpeg
from shared.inference import Device
from shared.messages.faces import DetectedFace, DetectResponse, FaceDetectorConfig, Landmarks, Point
from shared.modelpack import model_path

# A RetinaFace score (0..1) a candidate needs; confidence is 10000 x score, so this is also
# the confidence floor under any request's confidenceThreshold (SmartFace's default 450 is
# for its own detector's scale).
CANDIDATE_SCORE = 0.5
CONFIDENCE_FLOOR = round(10000 * CANDIDATE_SCORE)
# Over this score a face needs no confirmation; under it, FaceMesh's presence must be at
# least PRESENCE.
SURE_SCORE = 0.9
PRESENCE = 0.5
# A one-face request skips a large photo's detail pass when the overview's chosen face is this
# many times the detail pass's size ceiling (see Detector._one_face_from_overview).
ONE_FACE_MARGIN = 1.5
# A candidate whose box lies mostly inside a better one's and is at least 0.4 of its size is a
# part of that face (an eye and a cheek of a large, blurred face), not a face of its own; a
# small face inside a large box (a face on a T-shirt, a face behind) is kept.
PART_INSIDE, PART_SIZE = 0.6, 0.4
DEFAULT_CONFIG = FaceDetectorConfig()
Candidate = tuple[Found, Mesh]


class Detector:
    """Both detection models, loaded once."""

    def __init__(self, models_dir: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        retina_path, retina_name = model_path(models_dir, "retinaface")
        mesh_path, mesh_name = model_path(models_dir, "facemesh")
        self.retinaface = RetinaFace(retina_path, device=device, threads=threads)
        self.facemesh = FaceMesh(mesh_path, device=device, threads=threads)
        self.name = f"{retina_name}+{mesh_name}"

    def warm_up(self) -> None:
        self.retinaface.warm_up()
        self.facemesh.warm_up()

    def detect(
        self,
        image: bytes,
        config: FaceDetectorConfig = DEFAULT_CONFIG,
        *,
        include_crops: bool = True,
        regions: Sequence[Box] = (),
        region_face_sizes: Sequence[float] = (),
    ) -> DetectResponse:
        """Decode once, detect, and describe every face that passes `config` (only in
        `regions` when given: a camera's frame between whole-frame detections; in each for
        faces from its `region_face_sizes` px up where that is more than minFaceSize)."""
        return self.detect_rgb(
            decode_image(image), config, include_crops=include_crops, regions=regions,
            region_face_sizes=region_face_sizes,
        )  # fmt: skip

    def detect_rgb(
        self,
        rgb: np.ndarray,
        config: FaceDetectorConfig = DEFAULT_CONFIG,
        *,
        include_crops: bool = True,
        regions: Sequence[Box] = (),
        region_face_sizes: Sequence[float] = (),
    ) -> DetectResponse:
        """`detect` on a decoded photo (HxWx3 RGB uint8)."""
        kept, rejected = self._candidates(rgb, config, regions, region_face_sizes)
        described = [_describe(rgb, found, mesh) for found, mesh in kept]
        chips = {id(face): chip for face, chip in described}
        chosen = best_first([face for face, _ in described])[: config.max_faces]
        chosen.sort(key=lambda f: -f.face_size)
        faces = [
            msgspec.structs.replace(face, face_order=order, crop=encode_jpeg(chips[id(face)]) if include_crops else b"")
            for order, face in enumerate(chosen, start=1)
        ]
        return DetectResponse(
            width=rgb.shape[1], height=rgb.shape[0], faces=faces, detector=self.name, rejected=rejected
        )

    def _candidates(
        self,
        rgb: np.ndarray,
        config: FaceDetectorConfig,
        regions: Sequence[Box] = (),
        region_face_sizes: Sequence[float] = (),
    ) -> tuple[list[Candidate], list[str]]:
        """(faces that pass `config`; why each other face found was turned away)."""
        if config.max_faces == 1 and not regions:
            settled = self._one_face_from_overview(rgb, config)
            if settled is not None:
                return settled
        found = self.retinaface.faces(rgb, config.min_face_size, CANDIDATE_SCORE, regions, region_face_sizes)
        found = _whole_faces(found)
        return self._judged(rgb, config, found)

    def _one_face_from_overview(
        self, rgb: np.ndarray, config: FaceDetectorConfig
    ) -> tuple[list[Candidate], list[str]] | None:
        """Where one face is wanted (Verify, SpoofCheck, largest-face enrolment) of a photo read
        in two passes: the overview pass alone, when the face it finds wins under the one-face
        rule (shared/face_choice.py) against any face the detail pass could add. Those are all
        under the detail pass's size ceiling, so a sure, good face larger than it by a margin
        (mesh and detector sizes differ by up to a fifth) cannot lose. Saves the detail pass,
        the costliest read of a large photo (benchmarks/search.py: Verify of two ~2 Mpx photos)."""
        first = self.retinaface.overview(rgb, config.min_face_size, CANDIDATE_SCORE)
        if first is None:
            return None
        found, ceiling = first
        kept, rejected = self._judged(rgb, config, _whole_faces(found))
        if not kept:
            return None
        best = best_first([_describe(rgb, face, mesh)[0] for face, mesh in kept])[0]
        sure, good = preference(best)[:2]
        if sure and good and best.face_size >= ONE_FACE_MARGIN * ceiling:
            return kept, rejected
        return None

    def _judged(
        self, rgb: np.ndarray, config: FaceDetectorConfig, found: list[Found]
    ) -> tuple[list[Candidate], list[str]]:
        """Of the faces `found`: those that pass `config`, and why each other was turned away."""
        meshes = self.facemesh.meshes(rgb, [(f.box, f.five[:2]) for f in found])
        kept: list[Candidate] = []
        rejected: list[str] = []
        for face, mesh in zip(found, meshes, strict=True):
            if face.score < SURE_SCORE and mesh.presence < PRESENCE:
                continue  # not a face
            reason = _refusal(config, confidence(face), face_size(mesh))
            if reason is None:
                kept.append((face, mesh))
            else:
                rejected.append(reason)
        return kept, rejected


def face_size(mesh: Mesh) -> float:
    """Twice the distance between the eye centres: about the face's width, and steadier than
    a detector's box (which grows and shrinks by a fifth between similar photos)."""
    five = mesh.five()
    return float(2 * np.linalg.norm(five[1] - five[0]))


def confidence(face: Found) -> int:
    """RetinaFace's score on SmartFace's 0..10000 scale."""
    return min(10000, round(10000 * face.score))


def _refusal(config: FaceDetectorConfig, face_confidence: int, size: float) -> str | None:
    """Why faceDetectorConfig turns a face away, or None when it passes."""
    if face_confidence < config.confidence_threshold:
        return f"a face of confidence {face_confidence}, under confidenceThreshold {config.confidence_threshold}"
    if size < config.min_face_size:
        return f"a face {size:.0f} px wide, under minFaceSize {config.min_face_size}"
    if size > config.max_face_size:
        return f"a face {size:.0f} px wide, over maxFaceSize {config.max_face_size}"
    return None


def _whole_faces(found: list[Found]) -> list[Found]:
    """Best score first, drop a candidate that is a part of a better one (PART_INSIDE)."""
    kept: list[Found] = []
    for face in sorted(found, key=lambda f: -f.score):
        if not any(_is_part(face.box, k.box) for k in kept):
            kept.append(face)
    return kept


def _is_part(box: np.ndarray, of: np.ndarray) -> bool:
    ix = max(0.0, min(box[2], of[2]) - max(box[0], of[0]))
    iy = max(0.0, min(box[3], of[3]) - max(box[1], of[1]))
    area, other = (box[2] - box[0]) * (box[3] - box[1]), (of[2] - of[0]) * (of[3] - of[1])
    return bool(area > 0 and ix * iy >= PART_INSIDE * area and area >= PART_SIZE**2 * other)


def _describe(rgb: np.ndarray, found: Found, mesh: Mesh) -> tuple[DetectedFace, np.ndarray]:
    """The face's description (no crop yet, order 0) and its aligned chip. The five landmarks
    (and the alignment) are FaceMesh's, refined in the RetinaFace face's crop: with RetinaFace's
    own, same-person pairs of blurred photos were less alike (docs/models.md)."""
    five = mesh.five()
    chip, m = align(rgb, five)
    corners = [Point(float(x), float(y)) for x, y in chip_corners(m)]
    height, width = rgb.shape[:2]
    photo = [
        Point(float(x), float(y))
        for x, y in np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64) @ m.T
    ]
    face_pose = quality.pose(mesh.points)
    sharp = quality.sharpness(chip)
    face_confidence = confidence(found)
    x0, y0, x1, y1 = (float(v) for v in found.box)
    face = DetectedFace(
        face_order=0,
        box=(x0, y0, x1, y1),
        crop_corners=(corners[0], corners[1], corners[2], corners[3]),
        landmarks=Landmarks(
            left_eye=Point(*map(float, five[0])),
            right_eye=Point(*map(float, five[1])),
            nose_tip=Point(*map(float, five[2])),
            mouth_left=Point(*map(float, five[3])),
            mouth_right=Point(*map(float, five[4])),
        ),
        confidence=face_confidence,
        face_size=face_size(mesh),
        face_area=(x1 - x0) * (y1 - y0),
        pose=face_pose,
        sharpness=sharp,
        brightness=quality.brightness(chip),
        quality=quality.quality(face_confidence, face_pose, sharp),
        photo_in_crop=(photo[0], photo[1], photo[2], photo[3]),
    )
    return face, chip
