"""Live previews: each analysed frame of a camera with its faces' boxes drawn, as a JPEG no larger
than the camera's previewMaxDimension, published on `subjects.camera_preview(id)` (core NATS)
for the gateway's `GET /api/v1/Cameras/{id}/Preview`.

Only while someone watches: a gateway streaming a preview sends `PreviewWanted` every second
(every replica hears it; the camera's owner acts on it), and a camera nobody asked for within
WANTED_FOR_S costs nothing. The preview runs at the camera's analysis rate (redetectionTime),
the frames whose faces are known.

Colours: face boxes in Setup/Preview's faceBoundingBoxColor, pedestrians' in its
pedestrianBoundingBoxColor and objects' in objectBoundingBoxColor (cameras that ask for them,
bodies.py), followed at once when they change (shared/setup.py; the defaults before the value is
known); a face that matched a member is labelled with their name on the colour of the watchlist
it matched in (its previewColor).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import cv2
import msgspec
import numpy as np
from nats.aio.msg import Msg

from shared import subjects
from shared.bus import Bus
from shared.imaging import encode_jpeg
from shared.messages.cameras import PreviewFrame, PreviewWanted
from shared.messages.matcher import Candidate
from shared.messages.setup import PreviewConfig
from shared.runtime import ServiceContext
from shared.setup import Followed

log = logging.getLogger(__name__)

WANTED_FOR_S = 3.0  # a gateway asks every second: three missed asks and the preview stops
FACE_BOX_COLOR = "#00ff00"  # Setup/Preview's default faceBoundingBoxColor
PEDESTRIAN_BOX_COLOR = "#0000ff"  # its default pedestrianBoundingBoxColor
OBJECT_BOX_COLOR = "#ffff00"  # its default objectBoundingBoxColor
MarkKind = Literal["face", "pedestrian", "object"]
PREVIEW_QUALITY = 80


@dataclass(frozen=True)
class Marked:
    """A face (or pedestrian, or object) to draw: its box (x0, y0, x1, y1) in frame pixels, and
    for a matched face the member's name and the watchlist's colour."""

    box: tuple[float, float, float, float]
    label: str | None = None
    label_color: str | None = None
    kind: MarkKind = "face"


@dataclass(frozen=True)
class BoxColors:
    """Setup/Preview's colours of each kind of box."""

    face: str = FACE_BOX_COLOR
    pedestrian: str = PEDESTRIAN_BOX_COLOR
    object: str = OBJECT_BOX_COLOR


def rgb(color: str) -> tuple[int, int, int]:
    """'#rrggbb' or '#rgb' as an RGB triple (green for anything else)."""
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return 0, 255, 0


def draw_preview(image: np.ndarray, faces: list[Marked], max_dimension: int, colors: BoxColors = BoxColors()) -> bytes:
    """The RGB frame scaled to at most `max_dimension` a side, boxes and labels drawn, as JPEG."""
    scale = min(1.0, max_dimension / max(image.shape[:2]))
    # Drawn on a copy: the frame itself goes on to storage.
    shown = image.copy() if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    thickness = max(2, round(max(shown.shape[:2]) / 320))
    for face in faces:
        x0, y0, x1, y1 = (round(v * scale) for v in face.box)
        box_color = getattr(colors, face.kind)
        cv2.rectangle(shown, (x0, y0), (x1, y1), rgb(box_color), thickness)
        if face.label:
            font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thickness / 2 + 0.2
            (w, h), base = cv2.getTextSize(face.label, font, size, 1)
            top = max(0, y0 - h - base - 4)
            band = rgb(face.label_color or box_color)
            cv2.rectangle(shown, (x0, top), (x0 + w + 6, top + h + base + 4), band, -1)
            ink = (0, 0, 0) if sum(band) > 382 else (255, 255, 255)  # dark text on light colours
            cv2.putText(shown, face.label, (x0 + 3, top + h + 2), font, size, ink, 1, cv2.LINE_AA)
    return encode_jpeg(shown, PREVIEW_QUALITY)


def marked(box: tuple[float, float, float, float], candidates: list[Candidate]) -> Marked:
    """A face's box, labelled with the best matching member (in their watchlist's colour)."""
    if not candidates:
        return Marked(box)
    best = max(candidates, key=lambda c: c.score)
    name = best.member.full_name or best.member.display_name or best.member.id
    color = best.watchlists[0].preview_color if best.watchlists else None
    return Marked(box, f"{name} {best.score}", color)


class Previews:
    """Which cameras someone watches, and their frames to them (one per replica)."""

    def __init__(self, bus: Bus, setup: Followed[PreviewConfig] | None = None) -> None:
        """`setup`: Setup/Preview as this replica follows it (None: the default colours)."""
        self.bus = bus
        self.setup = setup
        self._wanted_until: dict[str, float] = {}

    def box_colors(self) -> BoxColors:
        """The box colours Setup/Preview says now."""
        if self.setup is None:
            return BoxColors()
        value = self.setup.value
        return BoxColors(
            value.face_bounding_box_color,
            value.pedestrian_bounding_box_color,
            value.object_bounding_box_color or OBJECT_BOX_COLOR,
        )

    async def start(self) -> None:
        await self.bus.nc.subscribe(subjects.CAMERA_PREVIEW_WANTED, cb=self._on_wanted)

    async def _on_wanted(self, msg: Msg) -> None:
        try:
            wanted = msgspec.msgpack.decode(msg.data, type=PreviewWanted)
        except msgspec.DecodeError:
            return
        self._wanted_until[wanted.camera_id] = time.monotonic() + WANTED_FOR_S

    def wanted(self, camera_id: str) -> bool:
        until = self._wanted_until.get(camera_id)
        if until is not None and until < time.monotonic():
            del self._wanted_until[camera_id]
            return False
        return until is not None

    async def offer(
        self, ctx: ServiceContext, camera_id: str, captured_at: datetime, image: np.ndarray, faces: list[Marked],
        max_dimension: int,
    ) -> None:  # fmt: skip
        """Publish the frame with its faces if someone watches the camera; never fails the pipeline."""
        if not self.wanted(camera_id):
            return
        try:
            jpeg = await ctx.run_blocking(draw_preview, image, faces, max_dimension, self.box_colors())
            await self.bus.publish(subjects.camera_preview(camera_id), PreviewFrame(camera_id, captured_at, jpeg))
        except Exception:  # a preview is a view: the faces, events and storage must go on
            log.exception("preview of camera %s failed", camera_id)
