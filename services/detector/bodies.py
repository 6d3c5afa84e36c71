"""Pedestrians (MoveNet MultiPose) and objects (MobileNet-v3 CenterNet) of an image.

Both models are CenterNet-style heatmap detectors converted from human-models' TF.js graphs,
cut before their own post-processing (shared/modelpack/catalog.py), which is done here:

- MoveNet MultiPose Lightning reads the image letterboxed into 256x256 (it takes int pixels and
  normalises them itself) and gives, on a 64x64 grid (stride 4), a person-centre heatmap, each
  centre's box (offset and size) and 17 keypoints: each keypoint is regressed from the centre,
  then moved to the keypoint heatmap's best cell near that guess (heatmap x exp(-d^2 / (0.3 x
  grid side)), as the graph's own decoding does) plus that cell's sub-cell offset.
- CenterNet reads the image letterboxed into 512x512 and gives, on a 128x128 grid (stride 4), a
  heatmap per COCO class and each cell's box sides (pixels of its input).

A peak is a cell that is the maximum of its 3x3 neighbourhood. Confidence is 10000 x the
peak's heatmap value. Sizes are a box's longer side in image pixels. docs/models.md has the
measured precision and recall (benchmarks/bodies.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import msgspec
import numpy as np

from shared.imaging import encode_jpeg
from shared.inference import Device, OnnxModel
from shared.messages.bodies import (
    OBJECT_TYPES,
    BodiesResponse,
    DetectedObject,
    DetectedPedestrian,
    Keypoint,
    ObjectDetectorConfig,
    PedestrianDetectorConfig,
)
from shared.modelpack import model_path
from shared.modelpack.catalog import by_name

COCO = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

STRIDE = 4
MOVENET_SIDE = 256
CENTERNET_SIDE = 512
# The heads modelpack kept as the graphs' outputs (shared/modelpack/catalog.py), in that order.
MOVENET_HEADS = by_name("movenet-multipose").outputs
CENTERNET_HEADS = by_name("centernet").outputs
# Peaks under these scores are not candidates at all (a request's confidenceThreshold can only
# raise them): 0.1 keeps people and objects a request with a low threshold may want.
PERSON_FLOOR = 0.1
OBJECT_FLOOR = 0.1
MAX_PEAKS = 100
# MoveNet also takes animals and motorbikes for people (a cat at 0.70, a motorbike at 0.53): a
# pedestrian must also be a person to CenterNet (its person class at CONFIRM_SCORE or more,
# overlapping; benchmarks/bodies.py).
CONFIRM_SCORE = 0.15
CONFIRM_IOU = 0.3
NMS_IOU = 0.6  # two peaks of one class whose boxes overlap this much are one thing


class Letterbox(msgspec.Struct, frozen=True):
    """How an image was fitted into a square model input: input = image x scale + pad."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        return (xy - np.array([self.pad_x, self.pad_y])) / self.scale


def letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, Letterbox]:
    """The image scaled to fit `side` x `side`, centred on black."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((side, side, 3), np.uint8)
    px, py = (side - nw) // 2, (side - nh) // 2
    out[py : py + nh, px : px + nw] = resized
    return out, Letterbox(scale, float(px), float(py))


def peaks(heat: np.ndarray, floor: float, limit: int = MAX_PEAKS) -> list[tuple[int, ...]]:
    """Cells (indexes of `heat`, HxW or HxWxC) that are the max of their 3x3 neighbourhood and at
    least `floor`, best first."""
    if heat.ndim == 2:
        pooled = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    else:
        pooled = np.stack([cv2.dilate(heat[..., c], np.ones((3, 3), np.uint8)) for c in range(heat.shape[2])], -1)
    mask = (heat >= pooled) & (heat >= floor)
    idx = np.argwhere(mask)
    order = np.argsort(-heat[mask])[:limit]
    return [tuple(int(v) for v in idx[i]) for i in order]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), np.float32)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _clip(box: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))


def _size(box: tuple[float, float, float, float]) -> float:
    return max(box[2] - box[0], box[3] - box[1])


def _crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> bytes:
    x0, y0, x1, y1 = (round(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return b""
    return encode_jpeg(np.ascontiguousarray(rgb[y0:y1, x0:x1]), 90)


class MoveNet(OnnxModel):
    def people(self, rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, list[Keypoint]]]:
        """(box in image px, score 0..1, 17 keypoints) of every person found, best first."""
        square, fit = letterbox(rgb, MOVENET_SIDE)
        out = self.run(square[None].astype(np.float32), list(MOVENET_HEADS))
        center, scale, offset, kpt_heat, kpt_reg, kpt_off = (out[name][0] for name in MOVENET_HEADS)
        center = _sigmoid(center[..., 0])
        kpt_heat = _sigmoid(kpt_heat)
        grid_h, grid_w = center.shape
        ys, xs = np.mgrid[0:grid_h, 0:grid_w].astype(np.float32)
        spread = 0.3 * min(grid_h, grid_w)
        found = []
        for cy, cx in peaks(center, PERSON_FLOOR, 20):
            dy, dx = offset[cy, cx]
            bh, bw = np.maximum(scale[cy, cx], 0.0)
            yc, xc = cy + dy, cx + dx
            grid_box = np.array([xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2]) * STRIDE
            corners = fit.to_image(grid_box.reshape(2, 2)).reshape(4)
            points = []
            for k in range(17):
                ry, rx = cy + kpt_reg[cy, cx, 2 * k], cx + kpt_reg[cy, cx, 2 * k + 1]
                weighted = kpt_heat[..., k] * np.exp(-((ys - ry) ** 2 + (xs - rx) ** 2) / spread)
                ky, kx = np.unravel_index(int(np.argmax(weighted)), weighted.shape)
                oy, ox = kpt_off[ky, kx, 2 * k], kpt_off[ky, kx, 2 * k + 1]
                xy = fit.to_image(np.array([(kx + ox) * STRIDE, (ky + oy) * STRIDE], np.float64))
                points.append(Keypoint(float(xy[0]), float(xy[1]), float(kpt_heat[ky, kx, k])))
            found.append((_clip(corners, rgb.shape[1], rgb.shape[0]), float(center[cy, cx]), points))
        return _distinct(found)


class CenterNet(OnnxModel):
    def heatmaps(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, Letterbox]:
        """(class heatmaps HxWx80, box sides HxWx4, the letterbox) of one image."""
        square, fit = letterbox(rgb, CENTERNET_SIDE)
        out = self.run(square[None].astype(np.float32), list(CENTERNET_HEADS))
        return out[CENTERNET_HEADS[0]][0], out[CENTERNET_HEADS[1]][0], fit

    def objects(
        self,
        rgb: np.ndarray,
        classes: np.ndarray,
        maps: tuple[np.ndarray, np.ndarray, Letterbox] | None = None,
        floor: float = OBJECT_FLOOR,
    ) -> list[tuple[int, tuple[float, float, float, float], float]]:
        """(COCO class, box in image px, score 0..1) of every object of `classes` found, best first
        (`maps`: the image's heatmaps when already computed)."""
        heat, sides, fit = maps if maps is not None else self.heatmaps(rgb)
        masked = np.zeros_like(heat)
        masked[..., classes] = heat[..., classes]
        found = []
        for cy, cx, c in peaks(masked, floor):
            left, top, right, bottom = sides[cy, cx]
            x, y = cx * STRIDE, cy * STRIDE
            corners = fit.to_image(np.array([[x - left, y - top], [x + right, y + bottom]], np.float64)).reshape(4)
            found.append((c, _clip(corners, rgb.shape[1], rgb.shape[0]), float(heat[cy, cx, c])))
        kept: list[tuple[int, tuple[float, float, float, float], float]] = []
        for item in found:
            if not any(k[0] == item[0] and _iou(k[1], item[1]) > NMS_IOU for k in kept):
                kept.append(item)
        return kept


def confirmed(box: tuple[float, float, float, float], people: list[tuple[float, float, float, float]]) -> bool:
    """Whether CenterNet also sees a person there: one of its person boxes overlaps `box` by
    CONFIRM_IOU or has its centre inside it."""
    for other in people:
        cx, cy = (other[0] + other[2]) / 2, (other[1] + other[3]) / 2
        if _iou(box, other) >= CONFIRM_IOU or (box[0] <= cx <= box[2] and box[1] <= cy <= box[3]):
            return True
    return False


def _distinct(
    found: list[tuple[tuple[float, float, float, float], float, list[Keypoint]]],
) -> list[tuple[tuple[float, float, float, float], float, list[Keypoint]]]:
    kept: list[tuple[tuple[float, float, float, float], float, list[Keypoint]]] = []
    for item in found:
        if not any(_iou(k[0], item[0]) > NMS_IOU for k in kept):
            kept.append(item)
    return kept


class BodyDetector:
    """Both models, loaded once; `detect_rgb` is blocking and thread-safe."""

    def __init__(self, models_dir: Path, *, device: Device = "cpu", threads: int = 1) -> None:
        pose_path, pose_name = model_path(models_dir, "movenet-multipose")
        object_path, object_name = model_path(models_dir, "centernet")
        self.movenet = MoveNet(pose_path, device=device, threads=threads)
        self.centernet = CenterNet(object_path, device=device, threads=threads)
        self.name = f"{pose_name}+{object_name}"

    def warm_up(self) -> None:
        self.movenet.warm_up()
        self.centernet.warm_up()

    def detect_rgb(
        self,
        rgb: np.ndarray,
        pedestrians: PedestrianDetectorConfig | None,
        objects: ObjectDetectorConfig | None,
        *,
        include_crops: bool = False,
    ) -> BodiesResponse:
        """The pedestrians and objects of a decoded image (HxWx3 RGB uint8) that pass their configs
        (none asked: none looked for), largest first."""
        people: list[DetectedPedestrian] = []
        maps = self.centernet.heatmaps(rgb) if pedestrians is not None or objects is not None else None
        if pedestrians is not None:
            persons = [b for _, b, _ in self.centernet.objects(rgb, np.array([0]), maps, CONFIRM_SCORE)]
            for box, score, points in self.movenet.people(rgb):
                confidence, size = min(10000, round(10000 * score)), _size(box)
                if (
                    confidence < pedestrians.confidence_threshold
                    or not pedestrians.min_pedestrian_size <= size <= pedestrians.max_pedestrian_size
                    or not confirmed(box, persons)
                ):
                    continue
                crop = _crop(rgb, box) if include_crops else b""
                people.append(
                    DetectedPedestrian(order=0, box=box, confidence=confidence, size=size, keypoints=points, crop=crop)
                )
            people = sorted(people, key=lambda p: -p.confidence)[: pedestrians.max_pedestrians]
            people.sort(key=lambda p: -p.size)
            people = [msgspec.structs.replace(p, order=i) for i, p in enumerate(people, start=1)]
        things: list[DetectedObject] = []
        if objects is not None:
            wanted = objects.types or OBJECT_TYPES
            classes = np.array([COCO.index(t) for t in wanted])
            for c, box, score in self.centernet.objects(rgb, classes, maps):
                confidence, size = min(10000, round(10000 * score)), _size(box)
                if (
                    confidence < objects.confidence_threshold
                    or not objects.min_object_size <= size <= objects.max_object_size
                ):
                    continue
                crop = _crop(rgb, box) if include_crops else b""
                things.append(
                    DetectedObject(type=COCO[c], order=0, box=box, confidence=confidence, size=size, crop=crop)
                )
            things = sorted(things, key=lambda o: -o.confidence)[: objects.max_objects]
            things.sort(key=lambda o: -o.size)
            counts: dict[str, int] = {}
            ordered = []
            for thing in things:
                counts[thing.type] = counts.get(thing.type, 0) + 1
                ordered.append(msgspec.structs.replace(thing, order=counts[thing.type]))
            things = ordered
        return BodiesResponse(
            width=rgb.shape[1], height=rgb.shape[0], pedestrians=people, objects=things, detector=self.name
        )
