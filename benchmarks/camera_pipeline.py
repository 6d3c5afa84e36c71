"""End-to-end delay on a live camera: from a frame leaving the RTSP server to its match event.

    .venv/bin/python benchmarks/camera_pipeline.py                     # 5 passes, 400 ms sampling
    .venv/bin/python benchmarks/camera_pipeline.py --passes 10 --interval-ms 200

Starts embedded NATS/Postgres/Redis, the matcher, detector, extractor, camera_ingest and the
gateway, registers person01 (../shared/faces) in a watchlist, and serves the test RTSP stream
(tests/rtsp/rtsp_server.py, needs GStreamer) of person01 walking across the picture (20 frames
at 10 fps) and leaving (15 empty frames), looped. The server paces the frames to the wall clock
before its encoder and logs when each frame leaves the encoder, with its index in the loop
(`--sent-log`); the match events' arrival times (`time.time()` on the same machine) are set
against that log, so both ends are read off one clock:
- frame -> match: the event's arrival minus the time the server sent the very frame the match
  was made on. Which frame that was is read from the event's left eye position: the face moves
  ~24 px a frame, and the eye's x in each of the 20 face frames is measured first with
  `POST /api/v1/Faces/Detect` (the camera's detector); an event whose eye is further than 8 px
  from every frame's is left out and counted. The match is announced once a second sampled
  frame confirms it, so this includes waiting for that frame when the first was the better one;
- appearance -> match: the event's arrival minus the time the server sent the first frame of
  that pass with the face in it: how long a person is in view before they are identified
  (sampling, the confirming frame and the pipeline);
- tracklets per pass (1 when tracking holds a person together).
Encoding (x264 ultrafast, zerolatency: a few ms) comes before the logged time; the network on
127.0.0.1, the camera's RTSP receive and decode come after it and count. The events'
`frameTimestampMicroseconds` are not used: camera_ingest stamps frames with its StreamClock
(wall time at the connection's first frame plus stream time), which runs ahead of the moment a
frame really arrives by up to its 1 s tolerance (the frames buffered at connect come in a
burst); the script prints by how much, for the record.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the RTSP helpers

from shared.embedded import free_port
from tests.rtsp.conftest import RtspServer
from tests.rtsp.events import wait_workers
from tests.rtsp.media import write_jpegs
from tests.support import REPO, Cluster, photo_b64, real_servers, start_cluster, wait_until

PHOTO_VIDEO, PHOTO_ENROLLED = "img1.jpg", "img10.jpg"
WALK, EMPTY, FPS = 20, 15, 10  # frames with the face, frames without; the server's rate
EYE_TOLERANCE_PX = 8.0
Events = list[tuple[float, str, dict[str, Any]]]
Sent = list[tuple[float, int]]  # (wall time the server sent a frame, its index in the loop)


def register(client: httpx.Client) -> None:
    watchlist = client.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "Staff"}).json()["id"]
    body = {"id": "person01", "images": [{"data": photo_b64(PHOTO_ENROLLED)}], "watchlistIds": [watchlist]}
    client.post("/api/v1/WatchlistMembers/Register", json=body).raise_for_status()


async def collect(cluster: Cluster, source: str, interval_ms: int, passes: int) -> Events:
    """(arrival time, subject, body) of the camera's events until `passes` tracklets completed."""
    nc = await nats.connect(cluster.servers.nats_url)
    got: Events = []
    done = asyncio.Event()
    camera: list[str] = []

    async def on_event(msg: Any) -> None:
        got.append((time.time(), msg.subject, json.loads(msg.data)))
        completed = [s for _, s, _ in got if camera and s == f"facegate.evt.tracklet.completed.{camera[0]}"]
        if len(completed) >= passes:
            done.set()

    await nc.subscribe("facegate.evt.>", cb=on_event)
    with cluster.http() as client:
        body = {"name": "bench", "source": source, "enabled": True, "redetectionTime": interval_ms}
        camera.append((await asyncio.to_thread(client.post, "/api/v1/Cameras", json=body)).json()["id"])
    await asyncio.wait_for(done.wait(), timeout=60 + passes * 20)
    await nc.close()
    return [e for e in got if e[1].endswith("." + camera[0])]


def eye_positions(client: httpx.Client, frames: Path) -> list[float | None]:
    """The left eye's x in each face frame of the loop, as the detector finds it (None: no face)."""
    out: list[float | None] = []
    for i in range(WALK):
        image = base64.b64encode((frames / f"frame{i:03d}.jpg").read_bytes()).decode()
        r = client.post("/api/v1/Faces/Detect", json={"image": {"data": image}})
        r.raise_for_status()
        faces = r.json()["faces"]
        out.append(faces[0]["leftEyeX"] if faces else None)
    return out


def read_sent(path: Path) -> Sent:
    sent = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "sent":
            sent.append((float(parts[1]), int(parts[3])))
    return sent


def last_sent(sent: Sent, index: int, before: float) -> float | None:
    """When the server last sent the frame at `index` of the loop, not after `before`."""
    times = [t for t, i in sent if i == index and t <= before]
    return max(times) if times else None


def sent_near(sent: Sent, index: int, near: float, before: float) -> float | None:
    """When the server sent the frame at `index` of the loop nearest to `near` (the camera's own
    stamp of it, within ~1 s of the truth; the same index comes again 3.5 s later), not after
    `before`."""
    times = [t for t, i in sent if i == index and t <= before]
    return min(times, key=lambda t: abs(t - near)) if times else None


def report(events: Events, passes: int, eyes: list[float | None], sent: Sent) -> None:
    tracklets = {b["id"] for _, s, b in events if ".tracklet.completed." in s}
    matches = [(t, b) for t, s, b in events if ".match.found." in s]
    missed = sum(1 for _, s, _ in events if ".match.missed." in s)
    print(f"{len(tracklets)} tracklets for {passes} passes, {len(matches)} match events, {missed} no-match events")
    frame_ms, appear_ms, clock_ms, unplaced = [], [], [], 0
    known = [(i, x) for i, x in enumerate(eyes) if x is not None]
    for arrived, body in matches:
        index, x = min(known, key=lambda ix: abs(ix[1] - body["leftEyeX"]))
        frame_sent = sent_near(sent, index, body["frameTimestampMicroseconds"] / 1e6, arrived)
        if abs(x - body["leftEyeX"]) > EYE_TOLERANCE_PX or frame_sent is None:
            unplaced += 1
            continue
        frame_ms.append(1000 * (arrived - frame_sent))
        clock_ms.append(1000 * (body["frameTimestampMicroseconds"] / 1e6 - frame_sent))
        appeared = last_sent(sent, 0, frame_sent)
        if appeared is not None:
            appear_ms.append(1000 * (arrived - appeared))
        print(f"  match on frame {index} of the pass (eye x {body['leftEyeX']:.1f}, that frame's {x:.1f}): "
              f"{1000 * (arrived - frame_sent):.0f} ms after the server sent it")  # fmt: skip

    def line(name: str, values: list[float]) -> None:
        if values:
            print(f"{name}: median {statistics.median(values):.0f} ms, min {min(values):.0f}, max {max(values):.0f}"
                  f" (n={len(values)})")  # fmt: skip

    line("frame sent -> match event", frame_ms)
    line("face first sent -> match event", appear_ms)
    if unplaced:
        print(f"{unplaced} match events left out: their eye position matched no frame within {EYE_TOLERANCE_PX} px")
    line("camera's frameTimestamp minus the frame's send time (StreamClock's lead)", clock_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=5, help="people passing to measure")
    parser.add_argument("--interval-ms", type=int, default=400, help="the camera's redetectionTime")
    args = parser.parse_args()
    env = {"FACEGATE_MODELS_DIR": str(REPO / "var" / "models")}
    with tempfile.TemporaryDirectory() as tmp, real_servers(Path(tmp) / "servers") as servers:
        # 2 s walking, 1.5 s away: each loop of the stream is one person passing.
        frames = Path(tmp) / "frames"
        sent_log = Path(tmp) / "sent.log"
        server = RtspServer(write_jpegs(frames, count=WALK, photo=PHOTO_VIDEO, empty=EMPTY), free_port(), sent_log)
        server.start()
        cluster = start_cluster(servers, ["matcher", "gateway"])
        try:
            cluster.services.start("detector", 0, extra_env=env)
            cluster.services.start("extractor", 0, extra_env=env)
            cluster.services.start("camera_ingest", 0, extra_env={"FACEGATE_CAMERA_TRACKLET_TIMEOUT_S": "1.2"})
            wait_workers(servers.nats_url)
            with cluster.http() as client:  # camera_ingest answers
                wait_until(lambda: client.get("/api/v1/Cameras").status_code == 200, 60, "camera_ingest")
            with cluster.http() as client:
                register(client)
                eyes = eye_positions(client, frames)
            events = asyncio.run(collect(cluster, server.url, args.interval_ms, args.passes))
            print(f"sampling every {args.interval_ms} ms, 640x360 H.264 at {FPS} fps over RTSP, one face per frame")
            report(events, args.passes, eyes, read_sent(sent_log))
        finally:
            cluster.services.stop()
            server.stop()


if __name__ == "__main__":
    main()
