"""Groups a camera's faces into tracklets: one per person passing in front of it.

Frames are analysed sparsely (a few per second), so a face may move far between two of them and
a detection may be missed now and then. Two cues decide which tracklet a face continues:
- overlap (IoU) with the tracklet's last box, or with that box moved on by the tracklet's
  velocity (a face that crosses most of its own width between two analysed frames overlaps
  where it was expected, not where it was): cheap and right while the person walks steadily;
- similarity of templates: it bridges gaps (a missed frame, a jump across the picture) and vetoes
  an overlap when a different person stepped into the same place.
Assignment is greedy by that score, best pairs first; with the handful of faces a camera sees at
once this equals the optimal (Hungarian) assignment in practice and needs no solver.

When the camera's templateGenerationTime is longer than its sampling interval, a face that
continues a tracklet by overlap gets a template only that often (`template_due`); the others
follow by overlap alone. A tracklet ends when none of its faces was seen for `timeout_s`.
Pure logic, no I/O: the pipeline owns what a tracklet carries (its best face, its votes).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels


@dataclass(frozen=True)
class Detection:
    """A face in one analysed frame: where it is and its template (None if not extracted)."""

    box: Box
    template: np.ndarray | None = None  # float32, L2-normalised


@dataclass
class Track:
    """A tracklet being followed."""

    id: str
    started_at: float
    last_at: float
    box: Box
    faces: int = 1
    template_at: float | None = None  # when its last template was made
    # Pixels per second its box's centre moved between its last two faces (regions.py looks
    # for it where that motion takes it).
    velocity: tuple[float, float] = (0.0, 0.0)
    # Sum of the templates seen: its direction is a steadier description of the person than any
    # one frame (pose, blur), so bridging compares with the normalised mean.
    template_sum: np.ndarray | None = field(default=None, repr=False)

    def overlap(self, at: float, box: Box) -> float:
        """IoU of `box`, seen at `at`, with this tracklet's last box or that box moved by its
        velocity for the time since (the better of the two)."""
        return max(iou(self.box, box), iou(self.moved(max(0.0, at - self.last_at)), box))

    def moved(self, seconds: float) -> Box:
        """The last box moved by the tracklet's velocity for `seconds`."""
        dx, dy = self.velocity[0] * seconds, self.velocity[1] * seconds
        x0, y0, x1, y1 = self.box
        return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    def mean_template(self) -> np.ndarray | None:
        if self.template_sum is None:
            return None
        norm = float(np.linalg.norm(self.template_sum))
        return self.template_sum / norm if norm > 0 else None


@dataclass(frozen=True)
class TrackerConfig:
    # Cosine similarities are those of the shipped model (shared/scores.py): the same
    # person scores about 0.93 and more, different people 0.84 on average (0.92 at most).
    iou_min: float = 0.1  # overlap that continues a tracklet without a template
    bridge_similarity: float = 0.9  # continues a tracklet whatever the boxes
    veto_similarity: float = 0.8  # below this, an overlap is another person
    timeout_s: float = 2.0  # a tracklet ends after this long without its face


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """The live tracklets of one camera."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: dict[str, Track] = {}

    def affinity(self, track: Track, detection: Detection, at: float) -> float | None:
        """How well `detection`, seen at `at`, continues `track` (higher is better); None: it
        does not."""
        c = self.config
        overlap = track.overlap(at, detection.box)
        mean = track.mean_template()
        sim = float(mean @ detection.template) if mean is not None and detection.template is not None else None
        if sim is not None and sim < c.veto_similarity:
            return None
        if overlap >= c.iou_min:
            return 1.0 + overlap  # overlap first: it is right whenever it applies
        if sim is not None and sim >= c.bridge_similarity:
            return sim
        return None

    def assign(self, at: float, detections: Sequence[Detection]) -> list[tuple[Track, bool]]:
        """Continue or start a tracklet for each detection of the frame seen at `at` (seconds);
        returns (track, started) in the detections' order. Expire tracklets first (`expire`)."""
        pairs = sorted(
            (
                (score, tid, i)
                for tid, track in self.tracks.items()
                for i, d in enumerate(detections)
                if (score := self.affinity(track, d, at)) is not None
            ),
            reverse=True,
        )
        chosen: dict[int, str] = {}
        taken: set[str] = set()
        for _, tid, i in pairs:
            if i not in chosen and tid not in taken:
                chosen[i] = tid
                taken.add(tid)
        out = []
        for i, d in enumerate(detections):
            if i not in chosen:
                track = Track(id=str(uuid.uuid4()), started_at=at, last_at=at, box=d.box)
                self.tracks[track.id] = track
                started = True
            else:
                track = self.tracks[chosen[i]]
                if at > track.last_at:
                    track.velocity = _velocity(track.box, d.box, at - track.last_at)
                track.last_at, track.box, track.faces = at, d.box, track.faces + 1
                started = False
            if d.template is not None:
                template = d.template.astype(np.float32)
                track.template_sum = template if track.template_sum is None else track.template_sum + template
                track.template_at = at
            out.append((track, started))
        return out

    def template_due(self, at: float, box: Box, every_s: float) -> bool:
        """Whether a face found at `box` in the frame seen at `at` needs a template now (the
        camera's templateGenerationTime is `every_s`): yes when it overlaps no live tracklet (a
        new person, or one the boxes cannot follow) or its tracklet's last template is that old.
        Frames come at the sampling interval, so "that old" allows a tenth early."""
        live = [t for t in self.tracks.values() if at - t.last_at < self.config.timeout_s]
        overlaps = [(t.overlap(at, box), t) for t in live]
        best = max((o for o in overlaps if o[0] >= self.config.iou_min), key=lambda o: o[0], default=None)
        if best is None or best[1].template_at is None:
            return True
        return at - best[1].template_at >= 0.9 * every_s

    def expire(self, at: float) -> list[Track]:
        """Remove and return the tracklets not seen for the timeout, oldest first."""
        ended = [t for t in self.tracks.values() if at - t.last_at >= self.config.timeout_s]
        for t in ended:
            del self.tracks[t.id]
        return sorted(ended, key=lambda t: t.started_at)

    def close_all(self) -> list[Track]:
        """End every tracklet (the stream stopped)."""
        ended = sorted(self.tracks.values(), key=lambda t: t.started_at)
        self.tracks.clear()
        return ended


def _velocity(before: Box, after: Box, seconds: float) -> tuple[float, float]:
    """How fast the centre moved from `before` to `after` (pixels per second)."""
    dx = (after[0] + after[2] - before[0] - before[2]) / 2
    dy = (after[1] + after[3] - before[1] - before[3]) / 2
    return dx / seconds, dy / seconds
