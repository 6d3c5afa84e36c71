"""The detector's domain: photo bytes -> faces with landmarks, pose, quality and aligned crops.

`Detector.detect` is blocking and thread-safe; the service runs it in the bounded pool.
Detection runs in two stages: BlazeFace proposes candidates at a low score, FaceMesh then
gives each its landmarks and a face-presence score, and a face's confidence is the product of
both (BlazeFace alone reports many candidates on backgrounds at scores up to 0.8; the mesh's
presence is ~0 there and ~1 on faces, measured on ../shared/faces). Two candidates whose
meshes put the eyes in the same place are one face, whatever their boxes say.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.detector import quality
from services.detector.blazeface import BlazeFace, RawFace
from services.detector.facemesh import FaceMesh, Mesh
from shared.imaging import align, chip_corners, decode_image, encode_jpeg
from shared.inference import Device
from shared.messages.faces import DetectedFace, DetectResponse, FaceDetectorConfig, Landmarks, Point
from shared.modelpack import model_path

CANDIDATE_SCORE = 0.3
# A face needs at least this confidence (0..10000) whatever the request asks (SmartFace's
# default 450 is for its own detector's scale): on ../shared/faces every candidate under it
# was a background (lettering, a collar, a forehead), and every face but a half-hidden one
# scored over 5500.
CONFIDENCE_FLOOR = 3500
MAX_CANDIDATES = 200
DEFAULT_CONFIG = FaceDetectorConfig()
Candidate = tuple[RawFace, Mesh, int, float]  # detection, mesh, confidence 0..10000, face size px


class Detector:
    """Both detection models, loaded once."""

    def __init__(self, models_dir: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        blaze_path, blaze_name = model_path(models_dir, "blazeface")
        mesh_path, mesh_name = model_path(models_dir, "facemesh")
        self.blazeface = BlazeFace(blaze_path, device=device, threads=threads)
        self.facemesh = FaceMesh(mesh_path, device=device, threads=threads)
        self.name = f"{blaze_name}+{mesh_name}"

    def warm_up(self) -> None:
        self.blazeface.warm_up()
        self.facemesh.warm_up()

    def detect(
        self, image: bytes, config: FaceDetectorConfig = DEFAULT_CONFIG, *, include_crops: bool = True
    ) -> DetectResponse:
        """Decode once, detect, and describe every face that passes `config`."""
        return self.detect_rgb(decode_image(image), config, include_crops=include_crops)

    def detect_rgb(
        self, rgb: np.ndarray, config: FaceDetectorConfig = DEFAULT_CONFIG, *, include_crops: bool = True
    ) -> DetectResponse:
        """`detect` on a decoded photo (HxWx3 RGB uint8)."""
        # The whole view alone finds faces down to about a twelfth of the photo's longer side.
        small_wanted = config.min_face_size < max(rgb.shape[:2]) / 8
        # Only the largest face wanted (Verify, SpoofCheck): the tiles find only faces smaller
        # than those of the whole view, so they run only when the whole view finds none.
        kept, rejected = self._candidates(rgb, config, tiles=small_wanted and config.max_faces > 1)
        if not kept and small_wanted and config.max_faces == 1:
            kept, rejected = self._candidates(rgb, config, tiles=True)
        kept.sort(key=lambda k: -k[3])
        faces = [
            _describe(rgb, order, *k, crops=include_crops) for order, k in enumerate(kept[: config.max_faces], start=1)
        ]
        return DetectResponse(
            width=rgb.shape[1], height=rgb.shape[0], faces=faces, detector=self.name, rejected=rejected
        )

    def _candidates(
        self, rgb: np.ndarray, config: FaceDetectorConfig, *, tiles: bool
    ) -> tuple[list[Candidate], list[str]]:
        """(faces that pass `config`, one per face; why each other face found was turned away)."""
        raws = self.blazeface.detect(rgb, CANDIDATE_SCORE, tiles=tiles)[:MAX_CANDIDATES]
        kept: list[Candidate] = []
        turned_away: list[Candidate] = []
        reasons: dict[int, str] = {}
        for raw, mesh in zip(raws, self.facemesh.meshes(rgb, raws), strict=True):
            confidence = round(10000 * raw.score * mesh.presence)
            if confidence < CONFIDENCE_FLOOR:
                continue  # not a face
            candidate = (raw, mesh, confidence, face_size(mesh))
            reason = _refusal(config, confidence, candidate[3])
            if reason is None:
                kept.append(candidate)
            else:
                turned_away.append(candidate)
                reasons[id(candidate)] = reason
        kept = _distinct(kept)
        rejected = [
            reasons[id(c)]
            for c in _distinct(turned_away)
            if all(_shared_area(c[1], k[1]) < 0.5 for k in kept)  # not another view of a kept face
        ]
        return kept, rejected


def _refusal(config: FaceDetectorConfig, confidence: int, size: float) -> str | None:
    """Why faceDetectorConfig turns a face away, or None when it passes."""
    if confidence < config.confidence_threshold:
        return f"a face of confidence {confidence}, under confidenceThreshold {config.confidence_threshold}"
    if size < config.min_face_size:
        return f"a face {size:.0f} px wide, under minFaceSize {config.min_face_size}"
    if size > config.max_face_size:
        return f"a face {size:.0f} px wide, over maxFaceSize {config.max_face_size}"
    return None


def _distinct(faces: list[Candidate]) -> list[Candidate]:
    """Best confidence first, drop a face whose mesh lies mostly inside a kept face's mesh (the
    same face seen whole and, shifted or zoomed, by a tile that cuts it)."""
    kept: list[Candidate] = []
    for face in sorted(faces, key=lambda k: -k[2]):
        if all(_shared_area(face[1], k[1]) < 0.5 for k in kept):
            kept.append(face)
    return kept


def _shared_area(a: Mesh, b: Mesh) -> float:
    """Intersection of the two meshes' bounding boxes over the smaller box's area."""
    (ax0, ay0), (ax1, ay1) = a.points[:, :2].min(0), a.points[:, :2].max(0)
    (bx0, by0), (bx1, by1) = b.points[:, :2].min(0), b.points[:, :2].max(0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(inter / smaller) if smaller > 0 else 0.0


def face_size(mesh: Mesh) -> float:
    """Twice the distance between the eye centres: about the face's width, and steadier than
    the detector's box (which grows and shrinks by a fifth between similar photos)."""
    five = mesh.five()
    return float(2 * np.linalg.norm(five[1] - five[0]))


def _describe(
    rgb: np.ndarray, order: int, raw: RawFace, mesh: Mesh, confidence: int, size: float, *, crops: bool
) -> DetectedFace:
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
    x0, y0, x1, y1 = (float(v) for v in raw.box)
    return DetectedFace(
        face_order=order,
        box=(x0, y0, x1, y1),
        crop_corners=(corners[0], corners[1], corners[2], corners[3]),
        landmarks=Landmarks(
            left_eye=Point(*map(float, five[0])),
            right_eye=Point(*map(float, five[1])),
            nose_tip=Point(*map(float, five[2])),
            mouth_left=Point(*map(float, five[3])),
            mouth_right=Point(*map(float, five[4])),
        ),
        confidence=min(confidence, 10000),
        face_size=size,
        face_area=(x1 - x0) * (y1 - y0),
        pose=face_pose,
        sharpness=sharp,
        brightness=quality.brightness(chip),
        quality=quality.quality(confidence, face_pose, sharp),
        crop=encode_jpeg(chip) if crops else b"",
        photo_in_crop=(photo[0], photo[1], photo[2], photo[3]),
    )
