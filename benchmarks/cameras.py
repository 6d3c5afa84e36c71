"""Streams per core that camera_ingest decodes at 5 analysed frames per second.

    .venv/bin/python benchmarks/cameras.py                 # 720p and 1080p, 25 fps H.264
    .venv/bin/python benchmarks/cameras.py --seconds 20 --fps 30 --analysed-fps 5

Makes H.264 files of a face walking across the frame (from ../shared/faces/ photos, in a temp
folder), then runs camera_ingest's own decode loop (`decoder.decode_once`, one FFmpeg thread
per stream as in production, sampled frames converted to RGB) as fast as it goes, and reports
the CPU seconds one second of video costs. A camera must decode every frame (H.264 frames
depend on each other) but converts only the sampled ones, so the figure depends on the camera's
frame rate and resolution more than on the analysed rate. Streams per core = 1 / (CPU seconds
per video second). Decode only: the face pipeline's cost comes on top.

Then, unless `--decode-only`, it runs benchmarks/camera_pipeline.py (a whole cluster on a live
RTSP stream) for the end-to-end delay from a frame to its match event.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as a script: the test media helpers live in tests/, which is not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.camera_ingest.decoder import SampledFrame, decode_once
from services.camera_ingest.settings import IngestSettings
from shared.messages.cameras import CameraState
from tests.rtsp.media import write_h264


class CountingSink:
    """Counts what the decoder reports (the pipeline's hand-off is not measured)."""

    def __init__(self) -> None:
        self.frames = self.analysed = 0

    def connecting(self, attempt: int) -> None:
        pass

    def state(self, state: CameraState, reason: str | None) -> None:
        pass

    def decoded(self, count: int) -> None:
        self.frames += count

    def sampled(self, frame: SampledFrame) -> None:
        self.analysed += 1


def measure(path: Path, analysed_fps: float, streams: int) -> tuple[float, float, int, int]:
    """Decode `path` in `streams` threads at once; (CPU s, wall s, frames decoded, sampled) in all."""
    settings = IngestSettings(decoder_threads=1)
    sinks = [CountingSink() for _ in range(streams)]
    stop = threading.Event()
    interval_ms = int(1000 / analysed_fps)
    threads = [
        threading.Thread(target=decode_once, args=("bench", str(path), interval_ms, sink, stop, settings, False))
        for sink in sinks
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.process_time() - cpu, time.perf_counter() - wall,
            sum(s.frames for s in sinks), sum(s.analysed for s in sinks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of each test video")
    parser.add_argument("--fps", type=int, default=25, help="frame rate of the camera")
    parser.add_argument("--analysed-fps", type=float, default=5, help="sampled frames per second")
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--decode-only", action="store_true", help="skip the frame-to-match delay")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores; {args.fps} fps H.264 camera, {args.analysed_fps:g} analysed fps, {args.seconds:g} s videos")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            path = write_h264(Path(tmp) / f"{size}.mp4", width, height, args.seconds, args.fps)
            measure(path, args.analysed_fps, 1)  # warm up (file cache, codec init)
            # Best of three: on a shared machine other processes only ever add time.
            cpu, wall, decoded, sampled = min(measure(path, args.analysed_fps, 1) for _ in range(3))
            per_video_second = cpu / args.seconds
            two_wall = min(measure(path, args.analysed_fps, 2)[1] for _ in range(3))
            print(
                f"{height}p: {decoded} frames decoded, {sampled} analysed; "
                f"{per_video_second * 1000:.0f} ms CPU per video second -> "
                f"{1 / per_video_second:.1f} streams per core ({cores / per_video_second:.0f} on {cores} cores); "
                f"2 streams at once: {two_wall / wall:.2f}x the wall time of one"
            )
    if not args.decode_only:
        pipeline = Path(__file__).with_name("camera_pipeline.py")
        subprocess.run([sys.executable, str(pipeline), "--passes", "5"], check=True)


if __name__ == "__main__":
    main()
