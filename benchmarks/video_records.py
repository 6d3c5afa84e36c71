"""Video record analysis speed: a recorded H.264 file analysed as fast as the cores allow.

    .venv/bin/python benchmarks/video_records.py                    # 720p and 1080p, 2 cores
    .venv/bin/python benchmarks/video_records.py --seconds 60 --sizes 1280x720 --cores 4

In one process pinned to `--cores` CPUs: the record's decoder thread (video_decoder.py, as
camera_ingest runs it: what sampling needs decoded, the sampled frames converted to RGB, a bounded
queue)
feeds `--cores` analysis threads, each taking a sampled frame through what the workers do for
it: JPEG encoding (camera_ingest), detection and extraction with the shipped models
(services/extractor/pipeline.py, the detector's and extractor's engines, one inference thread
each) and the match (the matcher's ModelIndex, exact search over `--gallery` templates with the
enrolled member among them). The file is H.264 as a camera records it (tests/rtsp/media.py:
sensor noise, x264 superfast, a keyframe a second, 2 Mbit/s at 720p), a face walking across.

It prints the date, the cores and the load average (before and after: the machine may be shared),
then per size: the frames decoded of the file's (the decoder skips what sampling does not need:
video_decoder.py), the speed as a multiple of real time (video duration / wall time) and the
share of the work (CPU time of the threads, summed; every step runs single-threaded in its own
thread, so a busy machine slows the speed but not the shares) spent in decode, JPEG, detect,
extract and match, and the CPU time per analysed frame with the speed it allows on idle cores
(cores / (CPU time per frame x analysed fps): what the measured speed would be on a machine
nobody else uses). Not included: the NATS, Postgres and event hops of the services (a few ms per
frame, overlapped by the frames in flight), so a cluster on the same cores is somewhat slower.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the media helpers

from services.camera_ingest.analysis import features
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.session import detector_config
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.video_decoder import Ended, Failed, Item, decode_record
from services.camera_ingest.video_sources import Openable
from services.extractor.pipeline import FacePipeline
from services.matcher.config import MatcherConfig
from services.matcher.index import ModelIndex
from shared.analysis import extraction
from shared.imaging import encode_jpeg
from shared.messages.cameras import VideoFaceDetectorConfig
from shared.settings import load_settings
from tests.rtsp.media import write_h264
from tests.support import FACES

STEPS = ("decode", "jpeg", "detect", "extract", "match")
DETECTOR = detector_config(VideoFaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20,
                                                   confidence_threshold=450))  # fmt: skip

FEATURES = features(distant=False, nearby=False)  # what a camera's faces get with every attribute on


class Clock:
    """CPU seconds spent per step (`time.thread_time`), summed over threads."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()

    def add(self, step: str, seconds: float) -> None:
        with self.lock:
            self.spent[step] += seconds


def gallery(pipeline: FacePipeline, size: int) -> ModelIndex:
    """`size` templates: the walking person's (from another photo) and synthetic strangers."""
    found = pipeline.analyse((FACES / "photos" / "img10.jpg").read_bytes(), features=FEATURES)
    template = np.frombuffer(found.faces[0].extracted.template or b"", "<f4")
    rng = np.random.default_rng(0)
    others = rng.normal(0, 1, (size - 1, template.size)).astype(np.float32)
    others /= np.linalg.norm(others, axis=1, keepdims=True)
    index = ModelIndex(template.size, MatcherConfig())
    ids = [f"face{i}" for i in range(size)]
    index.add(ids, ["person01", *ids[1:]], np.vstack([template, others]))
    return index


def analyse(frame: SampledFrame, pipeline: FacePipeline, index: ModelIndex, clock: Clock) -> int:
    """One sampled frame as the workers take it; the members matched."""
    t0 = time.thread_time()
    jpeg = encode_jpeg(frame.image, 90)
    t1 = time.thread_time()
    detected = pipeline.detector.detect(jpeg, DETECTOR)
    t2 = time.thread_time()
    _, request = extraction(detected, FEATURES)
    extracted = pipeline.extractor.extract(request) if request is not None else None
    t3 = time.thread_time()
    matched = 0
    if extracted is not None:
        queries = np.vstack([np.frombuffer(f.template or b"", "<f4") for f in extracted.faces if f.template])
        hits = index.search(queries, 1, lambda _m, s: s >= 0.5, 0.0, list)
        matched = sum(1 for h in hits if h)
    t4 = time.thread_time()
    for step, seconds in (("jpeg", t1 - t0), ("detect", t2 - t1), ("extract", t3 - t2), ("match", t4 - t3)):
        clock.add(step, seconds)
    return matched


def run(
    path: Path, frames: int, seconds: float, fps: float, cores: int, pipeline: FacePipeline, index: ModelIndex
) -> None:
    clock = Clock()
    in_flight = threading.Semaphore(cores * 2)
    pool = ThreadPoolExecutor(cores)
    futures = []
    ended: list[Ended] = []

    def put(item: Item) -> bool:
        if isinstance(item, SampledFrame):
            in_flight.acquire()  # (waiting costs no CPU time)
            future = pool.submit(analyse, item, pipeline, index, clock)
            future.add_done_callback(lambda _f: in_flight.release())
            futures.append(future)
        elif isinstance(item, Failed):
            raise SystemExit(f"{path.name}: {item.reason}")
        elif isinstance(item, Ended):
            ended.append(item)
        return True

    started, cpu = time.perf_counter(), time.thread_time()
    source = Openable(str(path), "file", is_file=True)
    video = VideoSettings(decoder_threads=1)  # FFmpeg decodes in this thread: its CPU time is decode's
    recorded = datetime.now(UTC)
    decode_record("bench", source, 0, int(1000 / fps), recorded, put, threading.Event(), video, IngestSettings())
    clock.add("decode", time.thread_time() - cpu)  # (includes the RGB conversion of sampled frames)
    matched = sum(f.result() for f in futures)
    wall = time.perf_counter() - started
    pool.shutdown()
    total = sum(clock.spent.values())
    shares = ", ".join(f"{step} {100 * clock.spent[step] / total:.0f} %" for step in STEPS)
    decoded = ended[0].decoded if ended else 0
    per_frame = total / max(1, len(futures))
    print(
        f"  {decoded} of {frames} frames decoded, {len(futures)} analysed ({matched} matched "
        f"faces) in {wall:.1f} s: {seconds / wall:.2f}x real time; work: {shares}; "
        f"{1000 * per_frame:.0f} ms of CPU per analysed frame, so {cores} idle cores would do about "
        f"{cores / (per_frame * fps):.1f}x real time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--seconds", type=float, default=30, help="length of each video")
    parser.add_argument("--fps", type=int, default=25, help="the video's frame rate")
    parser.add_argument("--analysed-fps", type=float, default=5, help="sampled frames per second of video")
    parser.add_argument("--cores", type=int, default=2, help="CPUs the process is pinned to")
    parser.add_argument("--gallery", type=int, default=10_000, help="templates the matcher searches")
    args = parser.parse_args()
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[: args.cores])
    pipeline = FacePipeline.from_settings(load_settings(), threads=1)
    pipeline.warm_up()
    index = gallery(pipeline, args.gallery)
    load = os.getloadavg()[0]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.cores} cores (load average {load:.1f}); {args.fps} fps "
          f"H.264, {args.analysed_fps:g} analysed fps, {args.seconds:g} s videos, a gallery of {args.gallery} "
          "templates")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            path = write_h264(Path(tmp) / f"{size}.mp4", width, height, args.seconds, args.fps)
            print(f"{height}p:")
            frames = int(args.seconds * args.fps)
            run(path, frames, args.seconds, args.analysed_fps, args.cores, pipeline, index)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
