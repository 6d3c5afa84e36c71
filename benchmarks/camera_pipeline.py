"""End-to-end delay on a live camera: from a frame to its match event.

    .venv/bin/python benchmarks/camera_pipeline.py                     # 5 passes, 400 ms sampling
    .venv/bin/python benchmarks/camera_pipeline.py --passes 10 --interval-ms 200

Starts embedded NATS/Postgres/Redis, the matcher, detector, extractor, camera_ingest and the
gateway, registers person01 (../shared/faces) in a watchlist, and serves the test RTSP stream
(tests/rtsp/rtsp_server.py, needs GStreamer) of person01 walking across the picture and leaving,
looped. It listens to the camera's events and prints, per person passing:
- frame -> match: when the match event arrived minus its frame's decode time
  (`frameTimestampMicroseconds`); the match is announced once a second frame confirms it, so
  this includes waiting for that frame when the first was the better one;
- appearance -> match: when the match event arrived minus the tracklet's first frame
  (`timeAppeared`): how long a person is in view before they are identified;
- tracklets per pass (1 when tracking holds a person together).
RTSP encoding and transport before the decoder are not included (on 127.0.0.1 they add the
server's x264 latency, tens of ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
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
Events = list[tuple[float, str, dict[str, Any]]]


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


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def report(events: Events, passes: int) -> None:
    appeared = {b["id"]: stamp(b["timeAppeared"]) for _, s, b in events if ".tracklet.completed." in s}
    matches = [(t, b) for t, s, b in events if ".match.found." in s]
    frame_ms = [1000 * (t - b["frameTimestampMicroseconds"] / 1e6) for t, b in matches]
    appear_ms = [1000 * (t - appeared[b["trackletId"]]) for t, b in matches if b["trackletId"] in appeared]
    missed = sum(1 for _, s, _ in events if ".match.missed." in s)
    print(f"{len(appeared)} tracklets for {passes} passes, {len(matches)} match events, {missed} no-match events")

    def line(name: str, values: list[float]) -> None:
        if values:
            print(f"{name}: median {statistics.median(values):.0f} ms, min {min(values):.0f}, max {max(values):.0f}"
                  f" (n={len(values)})")

    line("frame -> match event", frame_ms)
    line("appearance -> match event", appear_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=5, help="people passing to measure")
    parser.add_argument("--interval-ms", type=int, default=400, help="the camera's redetectionTime")
    args = parser.parse_args()
    env = {"FACEGATE_MODELS_DIR": str(REPO / "var" / "models")}
    with tempfile.TemporaryDirectory() as tmp, real_servers(Path(tmp) / "servers") as servers:
        # 2 s walking, 1.5 s away: each loop of the stream is one person passing.
        server = RtspServer(write_jpegs(Path(tmp) / "frames", count=20, photo=PHOTO_VIDEO, empty=15), free_port())
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
            events = asyncio.run(collect(cluster, server.url, args.interval_ms, args.passes))
            print(f"sampling every {args.interval_ms} ms, 640x360 H.264 over RTSP, one face per frame")
            report(events, args.passes)
        finally:
            cluster.services.stop()
            server.stop()


if __name__ == "__main__":
    main()
