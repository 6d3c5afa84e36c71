"""`GET /api/v1/Cameras/{id}/Preview`, a Facegate addition: a camera's live preview as MJPEG
(`multipart/x-mixed-replace`, one JPEG part per analysed frame, faces boxed, at the camera's
previewMaxDimension), for the web console and for anything that shows MJPEG.

SmartFace serves its previews as MPEG-1 on a port per camera; one HTTP route behind the API's
credentials fits a browser and a reverse proxy better. While a client reads, the gateway asks the
camera's owner for frames every second (`PreviewWanted`) and relays them from NATS
(services/camera_ingest/preview.py); a slow client gets the newest frame, never a backlog. The
stream ends when no frame came for IDLE_S (the camera went offline), so a client reconnects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream
from nats.aio.msg import Msg

from services.gateway.cameras import CameraId
from services.gateway.openapi import FACEGATE_TAG
from services.gateway.problems import PROBLEM_JSON, ProblemDetails, responses
from shared import subjects
from shared.bus import Bus
from shared.errors import Conflict
from shared.messages.cameras import Camera, PreviewFrame, PreviewWanted
from shared.messages.common import ById

BOUNDARY = "facegate-preview"
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
ASK_EVERY_S = 1.0
IDLE_S = 15.0  # no frame for this long: the camera is not delivering; the stream ends


class CameraPreviewController(Controller):
    path = "/api/v1/Cameras"
    tags = [FACEGATE_TAG]

    @get(
        "/{id:str}/Preview",
        media_type=MEDIA_TYPE,
        responses={
            **responses(404),
            200: ResponseSpec(
                data_container=bytes,
                description=f"MJPEG: a `--{BOUNDARY}` part (image/jpeg, with Content-Length) per analysed frame",
                media_type="multipart/x-mixed-replace",
                generate_examples=False,
            ),
            409: ResponseSpec(
                data_container=ProblemDetails,
                description="The camera is disabled: it has no preview.",
                media_type=PROBLEM_JSON,
                generate_examples=False,
            ),
        },
    )
    async def camera_preview(self, id: CameraId, bus: Bus) -> Stream:
        """Facegate addition: the camera's live preview as MJPEG, each analysed frame with its
        faces boxed (Setup/Preview's face colour; a matched face labelled with the member's name
        and score on the watchlist's colour), no larger than previewMaxDimension. 409 when the
        camera is disabled; the stream ends after 15 s without a frame."""
        camera = await bus.request(subjects.CAMERA_GET, ById(id=id), Camera)
        if not camera.enabled:
            raise Conflict(f"Camera '{id}' is disabled: it has no preview.")
        return Stream(mjpeg(bus, str(camera.id)), media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


async def mjpeg(bus: Bus, camera_id: str) -> AsyncIterator[bytes]:
    """The parts of the stream, from the first frame the camera's owner publishes."""
    newest: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)

    async def on_frame(msg: Msg) -> None:
        if newest.full():
            newest.get_nowait()  # the client is slower than the camera: it gets the newest
        newest.put_nowait(msg.data)

    subscription = await bus.nc.subscribe(subjects.camera_preview(camera_id), cb=on_frame)
    wanted = PreviewWanted(camera_id)
    try:
        await bus.publish(subjects.CAMERA_PREVIEW_WANTED, wanted)
        asked = last_frame = time.monotonic()
        while time.monotonic() - last_frame < IDLE_S:
            try:
                data = await asyncio.wait_for(newest.get(), timeout=ASK_EVERY_S)
            except TimeoutError:
                data = None
            if time.monotonic() - asked >= ASK_EVERY_S:
                await bus.publish(subjects.CAMERA_PREVIEW_WANTED, wanted)
                asked = time.monotonic()
            if data is None:
                continue
            last_frame = time.monotonic()
            jpeg = msgspec.msgpack.decode(data, type=PreviewFrame).jpeg
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            yield head.encode() + jpeg + b"\r\n"
    finally:
        await subscription.unsubscribe()

