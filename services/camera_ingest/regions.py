"""Where a camera's next frame is searched for faces: the whole frame now and then, and between
those only around the faces being tracked and where the picture moved.

Detection is most of a camera frame's cost, and its cost grows with the pixels read. So a
camera's stream reads the whole frame (a "full detection"):
- at least every FULL_EVERY_S seconds (the first frame at or after 0.9 of it, as frames come
  at the sampling interval), whatever is in view, and on the stream's first frame;
- when the regions below would cover more than MOST_OF_FRAME of the frame (no gain: a camera
  that shakes, the lights switched on).
Between full detections only regions are read:
- around each live tracklet's face: its last box moved by its velocity (tracker.Track.velocity)
  for the time since it was seen, enlarged on each side by (MARGIN + SPREAD x that time) times
  the box's side, for faces from TRACKED_SHARE of that face's width up instead of minFaceSize
  (where that is more): the detector reads it coarser, a third of the pixels for a face 115 px
  wide in a 720p frame, and finds the same face (template cosine > 0.998 against the whole
  frame's, tests/model/test_narrowing.py);
- where the picture changed since the previous sampled frame (`moved`: the frames' difference
  at MOTION_SIDE px, over MOTION_LEVEL grey levels), enlarged by MOTION_MARGIN of their shorter
  side (MOTION_PAD px at least), for faces from minFaceSize up: a person walking in, a head
  turning. A changed area that touches a tracked face's region (mostly that person moving:
  their head, their body) is read in every other frame between full detections
  (TRACKED_MOTION_EVERY), with that face's region as one; a skipped one where nothing has
  changed since is read with the next such frame as it was (someone who stepped in beside a
  tracked person and stood still: the next difference no longer shows them); any other in
  every frame;
overlapping regions merge. With neither (an empty, still scene) nothing is searched, and the
frame costs the difference only. The detector reads each region at the scale it reads the
whole frame for the smallest face asked there (services/detector/retinaface.py), so a face in
a region is found as in the whole frame.

The bound: a face that comes into view is searched for in the first frame where it moved (the
next one where what moved touches a tracked face's region: someone walking beside a tracked
person), and at the latest in the first frame FULL_EVERY_S x 0.9 after the last full
detection: it is found within FULL_EVERY_S plus one sampling interval (redetectionTime) of
appearing, still or not. So is a face under half a tracked face's width that keeps still
within that face's region. A tracked face that leaves its region (a jump faster than the
margin, with no motion around it) is found again by the next full detection within the same
bound, and continues its tracklet (the tracker bridges by template) when that is within the
tracklet timeout.

Pure logic on the frame's pixels, no I/O: the stream session asks `Narrowing.look` before each
frame's detection, frames one at a time in order. A video record's frames are asked in order
too, but ahead of the tracker (several are analysed at once): its tracklets are a few frames
behind, which `around` covers as it does a face unseen for that long.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.camera_ingest.tracker import Box, Track

FULL_EVERY_S = 1.0  # a full detection at least this often
MARGIN = 0.75  # box sides added on each side of a tracked face's predicted box
SPREAD = 2.0  # and this many more per second since the face was last seen
MOST_OF_FRAME = 0.5  # regions covering more of the frame than this: read the whole frame
MIN_SIDE = 64.0  # px, the smallest region read (context around a small face)
MOTION_SIDE = 160  # px, the longer side of the frames compared for motion
MOTION_LEVEL = 12  # grey levels (0..255) a pixel of that size must change by (noise averages out)
# Added on each side of a changed area: a share of its shorter side, at least MOTION_PAD px (a
# moving person's face lies within what changed: their head, their body).
MOTION_MARGIN, MOTION_PAD = 0.25, 16.0
MOTION_AREAS = 32  # more changed areas than this (noise, rain, a shaking camera): the whole frame
# A tracked face's region is read for faces from this share of its width up: the face is then
# read at twice the size minFaceSize is read at (retinaface.SMALLEST_FACE), ~48 px, where
# benchmarks/detection.py's hard scenes (rotated, blurred, dark) have recall 0.99 (0.94 at
# ~36 px, 0.75 of the width; 0.51 at 24).
TRACKED_SHARE = 0.5
# A changed area that touches a tracked face's region is read in one of this many frames read in
# regions (any other changed area in each): mostly that person's own motion, whose face the
# tracked face's region finds in the frames between.
TRACKED_MOTION_EVERY = 2


@dataclass(frozen=True)
class NarrowingConfig:
    full_every_s: float = FULL_EVERY_S
    margin: float = MARGIN
    spread: float = SPREAD
    most_of_frame: float = MOST_OF_FRAME
    min_side: float = MIN_SIDE
    motion_side: int = MOTION_SIDE
    motion_level: int = MOTION_LEVEL
    motion_margin: float = MOTION_MARGIN
    motion_pad: float = MOTION_PAD
    motion_areas: int = MOTION_AREAS
    tracked_share: float = TRACKED_SHARE
    tracked_motion_every: int = TRACKED_MOTION_EVERY


@dataclass(frozen=True)
class Look:
    """Where to search a frame: the whole of it, or only `regions` (none: nothing to search),
    each for faces from its `face_sizes` px up (0: the stream's minFaceSize)."""

    whole: bool
    regions: list[Box] = field(default_factory=list)
    face_sizes: list[float] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not self.whole and not self.regions


def around(track: Track, at: float, width: int, height: int, config: NarrowingConfig) -> Box:
    """Where to look for `track`'s face in the frame seen at `at`: its box moved by its
    velocity for the time since it was seen, enlarged, within the frame."""
    x0, y0, x1, y1 = track.box
    since = max(0.0, at - track.last_at)
    cx = (x0 + x1) / 2 + track.velocity[0] * since
    cy = (y0 + y1) / 2 + track.velocity[1] * since
    grow = max(x1 - x0, y1 - y0) * (config.margin + config.spread * since)
    half_w = max((x1 - x0) / 2 + grow, config.min_side / 2)
    half_h = max((y1 - y0) / 2 + grow, config.min_side / 2)
    return (max(0.0, cx - half_w), max(0.0, cy - half_h), min(width, cx + half_w), min(height, cy + half_h))


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def merge(boxes: Iterable[Box]) -> list[Box]:
    """The boxes with every overlapping pair replaced by their bounding box, until none overlap."""
    out = [b for b in boxes if area(b) > 0]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if overlap(a, b):
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(out)


def inside(box: Box, region: Box) -> bool:
    return region[0] <= box[0] and region[1] <= box[1] and box[2] <= region[2] and box[3] <= region[3]


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def small_grey(rgb: np.ndarray, side: int) -> np.ndarray:
    """The frame in grey at `side` px on its longer side (area-averaged: sensor noise fades).
    Grey first: OpenCV's area resize of one channel costs far less than of three (720p: 0.65
    against 1.6 ms in all, the same picture within a grey level)."""
    height, width = rgb.shape[:2]
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)


def moved(before: np.ndarray, now: np.ndarray, width: int, height: int, config: NarrowingConfig) -> list[Box]:
    """The areas of a `width` x `height` frame that changed between two `small_grey` images of
    it, enlarged, in frame pixels (the whole frame when they are too many)."""
    changed = cv2.dilate((cv2.absdiff(before, now) > config.motion_level).astype(np.uint8), np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    if count - 1 > config.motion_areas:
        return [(0.0, 0.0, float(width), float(height))]
    sx, sy = width / now.shape[1], height / now.shape[0]
    out = []
    for x, y, w, h, _ in stats[1:count]:  # 0 is the unchanged background
        grow = max(config.motion_pad, config.motion_margin * min(w * sx, h * sy))
        out.append((
            max(0.0, x * sx - grow), max(0.0, y * sy - grow),
            min(width, (x + w) * sx + grow), min(height, (y + h) * sy + grow),
        ))  # fmt: skip
    return out


class Narrowing:
    """One camera stream's choice of where to detect, frame after frame (in frame order)."""

    def __init__(self, config: NarrowingConfig | None = None) -> None:
        self.config = config or NarrowingConfig()
        self.full_at = float("-inf")  # when the last full detection was asked for (frame time)
        self.previous: np.ndarray | None = None  # the last frame, small and grey
        self.skipped = 0  # frames since the changed areas touching a tracked face's region were read
        self.pending: list[Box] = []  # those areas of the frames skipped since

    def look(self, at: float, rgb: np.ndarray, tracks: Iterable[Track], timeout_s: float) -> Look:
        """Where to search the frame `rgb` (HxWx3) seen at `at`, given the tracker's tracklets
        (those not seen for `timeout_s` are over). A whole frame is remembered as the last full
        detection."""
        height, width = rgb.shape[:2]
        now = small_grey(rgb, self.config.motion_side)
        before, self.previous = self.previous, now
        known = before is not None and before.shape == now.shape
        changed = moved(before, now, width, height, self.config) if before is not None and known else None
        return self.plan(at, width, height, tracks, timeout_s, changed)

    def plan(
        self, at: float, width: int, height: int, tracks: Iterable[Track], timeout_s: float, changed: list[Box] | None
    ) -> Look:
        """`look` once the frame's `changed` areas are known (None: not known, the first frame)."""
        c = self.config
        since_full = at - self.full_at
        if changed is not None and 0 <= since_full < 0.9 * c.full_every_s:
            live = [t for t in tracks if 0 <= at - t.last_at < timeout_s]
            regions, sizes = self.regions(at, width, height, live, changed)
            if sum(area(r) for r in regions) <= c.most_of_frame * width * height:
                plain = [(float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1 in regions]
                return Look(whole=False, regions=plain, face_sizes=sizes)  # plain floats: they travel in a request
        self.full_at = at
        self.skipped, self.pending = 0, []  # the full detection read every changed area
        return Look(whole=True)

    def regions(
        self, at: float, width: int, height: int, live: list[Track], changed: list[Box]
    ) -> tuple[list[Box], list[float]]:
        """The regions of a frame read in regions only, and the smallest face asked in each
        (see the module's doc): changed areas (minFaceSize: 0), those touching a tracked face's
        region every other frame (with those skipped since where nothing changed again); the
        tracked faces' regions apart from them for their faces."""
        c = self.config
        tracked = [(around(t, at, width, height, c), c.tracked_share * (t.box[2] - t.box[0])) for t in live]
        explained = [m for m in changed if any(overlap(m, r) for r, _ in tracked)]
        read_explained = not explained or self.skipped + 1 >= c.tracked_motion_every
        if read_explained:
            # A skipped area that changed again is read with what changes now (the current
            # difference holds where it moved to); one where nothing changed since is read as it was.
            stood = [p for p in self.pending if not any(overlap(p, m) for m in changed)]
            motion, self.skipped, self.pending = [*changed, *stood], 0, []
        else:
            motion = [m for m in changed if m not in explained]
            self.skipped, self.pending = self.skipped + 1, merge([*self.pending, *explained])
        # A tracked face's region that touches a changed area read now is read with it.
        motion = merge([*motion, *(r for r, _ in tracked if any(overlap(r, m) for m in motion))])
        tracked = [(r, f) for r, f in tracked if not any(overlap(r, m) for m in motion)]
        near = merge(r for r, _ in tracked)
        return [*motion, *near], [0.0] * len(motion) + [min(f for r, f in tracked if inside(r, n)) for n in near]
