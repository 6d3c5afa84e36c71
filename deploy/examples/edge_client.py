"""A reference edge device: reads a video file, finds and extracts faces with Facegate's own models
on this machine, matches them against its synchronised watchlists, and sends the results over
MQTT to NATS's MQTT listener (docs/edge_streams.md describes the topics and payloads).

    PYTHONPATH=. python deploy/examples/edge_client.py --client-id door-1 --video clip.mp4 \\
        --mqtt "mqtt://edge:$(cat var/secrets/nats-edge)@127.0.0.1:11883"

It is what a device does:
1. connect (MQTT 3.1.1, user `edge`) and subscribe to `facegate/edge/<clientId>/settings` and
   `.../watchlists`; both are retained, so they arrive at once if Facegate published them;
2. wait for the settings (`POST /api/v1/EdgeStreams/Settings/Synchronize` publishes them) and
   apply them: face sizes and count, extraction, identification, the messaging interval (one
   frame analysed per interval of video time), empty messages, the full frame;
3. per sampled frame: detect and extract (services/extractor/pipeline.py, the engines the
   detector and extractor services run), match each template against the watchlists' (the
   score Facegate's matcher computes, shared/scores.py; a watchlist's threshold), and publish an
   `EdgeResultsMessage` on `facegate/edge/<clientId>/results`.

Facegate tracks, stores and announces those faces as a camera's while the edge stream is
enabled, and searches every watchlist for the faces the device did not match.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiomqtt
import av
import msgspec
import numpy as np

if __package__ in (None, ""):  # run as a script from the repository: Facegate's modules beside it
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.extractor.pipeline import FacePipeline
from shared.imaging import encode_jpeg
from shared.messages import faces as wire
from shared.messages.edge_streams import (
    EdgeFace,
    EdgeMatch,
    EdgeResultsMessage,
    EdgeSettingsMessage,
    EdgeStream,
    EdgeWatchlistsMessage,
)
from shared.scores import score_from_similarity

log = logging.getLogger("edge_client")


def topic(client_id: str, kind: str) -> str:
    return f"facegate/edge/{client_id}/{kind}"


def sampled_frames(video: Path, interval_ms: int) -> Iterator[tuple[int, np.ndarray]]:
    """(position in ms, RGB pixels) of one frame per `interval_ms` of video time (every frame at 0)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        next_ms = 0.0
        for frame in container.decode(stream):
            at = frame.time * 1000 if frame.time is not None else next_ms
            if at + 1e-6 < next_ms:
                continue
            next_ms = at + interval_ms
            yield int(at), frame.to_ndarray(format="rgb24")


@dataclass
class Gallery:
    """The synchronised watchlists as the device matches with them."""

    message: EdgeWatchlistsMessage | None = None
    thresholds: dict[str, int] = field(default_factory=dict)

    def set(self, message: EdgeWatchlistsMessage | None) -> None:
        self.message = message
        self.thresholds = {w.id: w.threshold for w in message.watchlists} if message else {}

    def match(self, template: bytes, model: str) -> EdgeMatch | None:
        """The best member whose score reaches one of its watchlists' threshold (the first such
        watchlist by id), as Facegate's matcher decides."""
        if self.message is None:
            return None
        probe, name = np.frombuffer(template, "<f4"), model.partition("@")[0]
        best: EdgeMatch | None = None
        for member in self.message.members:
            same = [t for t in member.templates if t.template_model.partition("@")[0] == name]
            if not same:
                continue
            score = max(score_from_similarity(float(np.frombuffer(t.template, "<f4") @ probe)) for t in same)
            passed = sorted(w for w in member.watchlist_ids if score >= self.thresholds.get(w, 101))
            if passed and (best is None or score > best.score):
                best = EdgeMatch(watchlist_member_id=member.id, watchlist_id=passed[0], score=score)
        return best


@dataclass
class EdgeClient:
    """One device: its clientId, its MQTT connection's URL and the local face pipeline."""

    mqtt_url: str
    client_id: str
    pipeline: FacePipeline
    settings: EdgeStream | None = None
    gallery: Gallery = field(default_factory=Gallery)
    sent: int = 0  # results messages
    matched: int = 0  # of those, with a face the device matched
    _got_settings: asyncio.Event = field(default_factory=asyncio.Event)
    _got_watchlists: asyncio.Event = field(default_factory=asyncio.Event)

    def connect(self) -> aiomqtt.Client:
        parts = urlsplit(self.mqtt_url)
        return aiomqtt.Client(
            parts.hostname or "127.0.0.1", parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            identifier=f"edge-{self.client_id}", clean_session=True, timeout=10,
        )  # fmt: skip

    async def listen(self, client: aiomqtt.Client) -> None:
        """Keep the settings and the watchlists as Facegate publishes them."""
        async for message in client.messages:
            payload = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
            if message.topic.matches(topic(self.client_id, "settings")):
                if payload:
                    self.settings = msgspec.json.decode(payload, type=EdgeSettingsMessage).edge_stream
                    self._got_settings.set()
                    log.info("settings received (stream %s)", self.settings.id)
            elif message.topic.matches(topic(self.client_id, "watchlists")):
                gallery = msgspec.json.decode(payload, type=EdgeWatchlistsMessage) if payload else None
                self.gallery.set(gallery)
                self._got_watchlists.set()
                log.info("watchlists received: %d member(s)", len(gallery.members) if gallery else 0)

    def analyse(self, rgb: np.ndarray, at_ms: int) -> EdgeResultsMessage | None:
        """One frame's results as the settings ask (None: nothing to send)."""
        assert self.settings is not None
        s = self.settings.settings
        jpeg = encode_jpeg(rgb, round(s.full_frame.image_quality))
        faces: list[EdgeFace] = []
        if s.face_detection.enable:
            detector = wire.FaceDetectorConfig(
                min_face_size=int(s.face_detection.min_face_size),
                max_face_size=max(int(s.face_detection.min_face_size), int(s.face_detection.max_face_size)),
                max_faces=min(1000, max(1, s.face_detection.max_detections)),
            )
            features = wire.FaceFeaturesConfig(template=s.face_extraction.enable)
            found = self.pipeline.analyse(jpeg, detector, features)
            for face in found.faces:
                template = face.extracted.template
                match = None
                if template is not None and s.face_identification.enable:
                    match = self.gallery.match(template, face.extracted.template_model)
                faces.append(EdgeFace(detected=face.detected, extracted=face.extracted, match=match))
        if not faces and not s.messaging.allow_empty_messages:
            return None
        return EdgeResultsMessage(
            captured_at=datetime.now(UTC), width=rgb.shape[1], height=rgb.shape[0], faces=faces, position_ms=at_ms,
            frame=jpeg if self.settings.save_frame_image_data else None,
        )  # fmt: skip

    async def run(
        self, video: Path, *, realtime: bool = False, settings_timeout_s: float = 30, watchlists_wait_s: float = 2
    ) -> int:
        """Stream `video` once; the number of results messages sent. Retained messages arrive
        right after subscribing: the watchlists, when there are any, get `watchlists_wait_s`."""
        async with self.connect() as client:
            await client.subscribe(topic(self.client_id, "settings"), qos=1)
            await client.subscribe(topic(self.client_id, "watchlists"), qos=1)
            listener = asyncio.create_task(self.listen(client))
            try:
                await asyncio.wait_for(self._got_settings.wait(), settings_timeout_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._got_watchlists.wait(), watchlists_wait_s)
                assert self.settings is not None
                interval = max(1, self.settings.settings.messaging.interval)
                started = time.monotonic()
                for at_ms, rgb in sampled_frames(video, interval):
                    if realtime:
                        await asyncio.sleep(max(0.0, started + at_ms / 1000 - time.monotonic()))
                    result = await asyncio.to_thread(self.analyse, rgb, at_ms)
                    if result is not None:
                        await client.publish(topic(self.client_id, "results"), msgspec.json.encode(result), qos=1)
                        self.sent += 1
                        self.matched += any(f.match is not None for f in result.faces)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await listener
        return self.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqtt", required=True, help="mqtt://edge:<password>@host:port (NATS's MQTT listener)")
    parser.add_argument("--client-id", required=True, help="the edge stream's clientId")
    parser.add_argument("--video", required=True, type=Path, help="a video file PyAV can read")
    parser.add_argument("--models", default="var/models", type=Path, help="Facegate's prepared models")
    parser.add_argument("--realtime", action="store_true", help="send at the video's pace, not as fast as possible")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    client = EdgeClient(args.mqtt, args.client_id, FacePipeline(args.models))
    sent = asyncio.run(client.run(args.video, realtime=args.realtime))
    print(f"sent {sent} results message(s)")


if __name__ == "__main__":
    main()
