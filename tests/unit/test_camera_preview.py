"""Live previews (services/camera_ingest/preview.py): frames scaled to previewMaxDimension with
faces boxed in the preview colour and matched faces labelled in their watchlist's colour; frames
only for cameras someone asked for in the last seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import cv2
import msgspec
import numpy as np

from services.camera_ingest.preview import WANTED_FOR_S, BoxColors, Marked, Previews, draw_preview, rgb
from shared.messages.cameras import PreviewFrame, PreviewWanted
from shared.messages.setup import PreviewConfig
from shared.setup import PREVIEW, Followed


def decoded(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def near(pixel: np.ndarray, color: tuple[int, int, int], tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tolerance))


def test_faces_are_boxed_and_matched_ones_labelled_at_the_preview_size() -> None:
    frame = np.full((720, 1280, 3), 96, np.uint8)
    faces = [Marked((200, 200, 400, 440)), Marked((800, 300, 1000, 540), "Ann 87", "#d9480f")]
    shown = decoded(draw_preview(frame, faces, max_dimension=640))
    assert shown.shape == (360, 640, 3)  # halved: the longer side fits 640
    assert near(shown[160, 100], rgb("#00ff00"))  # the left edge of the first box, halved
    assert near(shown[150, 150], (96, 96, 96))  # inside: the picture, not filled
    band = shown[130:148, 402:430]  # above the second box: the label's band
    assert near(np.median(band.reshape(-1, 3), axis=0), rgb("#d9480f"), 60)
    assert np.array_equal(frame, np.full((720, 1280, 3), 96, np.uint8)), "the frame itself is never drawn on"


def test_a_small_frame_keeps_its_size_and_colours_parse() -> None:
    frame = np.zeros((120, 160, 3), np.uint8)
    assert decoded(draw_preview(frame, [], max_dimension=640)).shape == (120, 160, 3)
    assert rgb("#0f0") == (0, 255, 0) and rgb("#4d7cfe") == (77, 124, 254) and rgb("nonsense") == (0, 255, 0)


async def test_frames_only_for_cameras_someone_asked_for_lately() -> None:
    previews = Previews(bus=Any)  # type: ignore[arg-type]  # the bus is not used by what is tested
    assert not previews.wanted("cam")
    await previews._on_wanted(SimpleNamespace(data=msgspec.msgpack.encode(PreviewWanted("cam"))))  # type: ignore[arg-type]
    await previews._on_wanted(SimpleNamespace(data=b"not msgpack"))  # type: ignore[arg-type]
    assert previews.wanted("cam") and not previews.wanted("other")
    previews._wanted_until["cam"] = time.monotonic() - 0.01  # WANTED_FOR_S later, no new ask
    assert WANTED_FOR_S > 1 and not previews.wanted("cam")


async def test_faces_are_boxed_in_the_colour_setup_preview_says_now() -> None:
    """Setup/Preview's faceBoundingBoxColor as the replica follows it (a change announced
    replaces `value` at once): the next frame is boxed in the new colour."""
    published: list[PreviewFrame] = []

    async def publish(_subject: str, frame: PreviewFrame) -> None:
        published.append(frame)

    async def run_blocking(fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    followed = Followed(PREVIEW)
    previews = Previews(SimpleNamespace(publish=publish), followed)  # type: ignore[arg-type]
    ctx = SimpleNamespace(run_blocking=run_blocking)
    previews._wanted_until["cam"] = time.monotonic() + WANTED_FOR_S
    frame = np.full((240, 320, 3), 96, np.uint8)

    async def left_edge_of_a_box() -> np.ndarray:
        await previews.offer(ctx, "cam", datetime.now(UTC), frame, [Marked((100, 60, 200, 180))], 640)  # type: ignore[arg-type]
        return decoded(published[-1].jpeg)[120, 100]

    assert near(await left_edge_of_a_box(), rgb("#00ff00"))  # the default before any change
    followed.value = PreviewConfig(
        face_bounding_box_color="#ff00ff", pedestrian_bounding_box_color="#000", object_bounding_box_color=None
    )
    assert near(await left_edge_of_a_box(), (255, 0, 255))


def test_pedestrians_and_objects_are_boxed_in_their_own_colours() -> None:
    frame = np.full((240, 320, 3), 96, np.uint8)
    marks = [Marked((20, 20, 100, 220), kind="pedestrian"), Marked((200, 100, 300, 200), kind="object")]
    shown = decoded(draw_preview(frame, marks, 640, BoxColors(pedestrian="#0000ff", object="#ff00ff")))
    assert near(shown[120, 20], rgb("#0000ff"))  # the pedestrian's left edge
    assert near(shown[150, 200], rgb("#ff00ff"))  # the object's left edge
