"""Video record analysis speed: a recorded H.264 file analysed as fast as the cores allow.

    .venv/bin/python benchmarks/video_records.py                    # 720p and 1080p, 2 cores
    .venv/bin/python benchmarks/video_records.py --seconds 60 --sizes 1280x720 --cores 4
    .venv/bin/python benchmarks/video_records.py --records both     # as before issue #17's work, and now

In one process pinned to `--cores` CPUs, the stages of camera_ingest's record runner
(video_runner.py) with what the workers do for each sampled frame:
- decode: the record's decoder (video_decoder.py, as camera_ingest runs it: only what sampling
  needs decoded, the sampled frames converted to RGB), in this thread, one FFmpeg thread;
- narrow: where the frame is searched, asked in frame order ahead of the tracker as the runner's
  feeder does (StreamSession.look, regions.py: the whole frame at least once a second, between
  those only around the tracked faces, moved on by the frames the tracker is behind, and where
  the picture moved; nothing at all in a still empty scene);
- then `--cores` analysis threads, `--in-flight` frames at once (FACEGATE_VIDEO_FRAMES_IN_FLIGHT):
  jpeg (camera_ingest encodes the frame for the detector, at the record's imageQuality 90),
  jpeg-dec (the detector decodes it), detect and extract (the shipped models:
  services/extractor/pipeline.py, the detector's and extractor's engines, one inference thread
  each; a frame read in regions only costs detection there; the age/gender model's side thread
  is counted in extract; a record's frames ask for templates only, and the faces stored (the
  first and best of each tracklet, and the one its match is announced with: counted as 3 per
  tracklet) for age and gender: StreamSession.attributes), match (the
  matcher's ModelIndex, exact search over `--gallery` templates with the enrolled member among
  them);
- track: the tracker takes the analysed frames in frame order (the regions of the next frames
  follow its tracklets).
`--records before` analyses as records did before (issue #17): every frame read whole, age and
gender of every face of every frame; `both` runs the two on the same file.
The file is H.264 as a camera records it (tests/rtsp/media.py: sensor noise, x264 superfast,
a keyframe a second, 2 Mbit/s at 720p), a photo walking across it in 2 s, `--face` of the
frame's height (0.25, the default: its face about 65 px wide at 720p, as tests/model/
test_narrowing.py's; 0.5, the benchmark's video before narrowing: about 130 px). The record's
settings are the defaults but `redetectionTime` (200 ms: 5 analysed fps) and, with
`--template-ms`, `templateGenerationTime` (default 500 ms: a face the tracker follows by its
box gets a template every 0.5 s; a face that moved too far for that gets one every frame).

It prints the date, the cores and the load average (before and after: the machine may be
shared), then per size and way (before, now): the frames decoded of the file's, the frames read whole,
in regions only and not at all, the faces found and matched (narrowing must find those the
whole frames give); the measured speed (video duration / wall time: depends on what else runs
on the machine); the CPU time of each stage per second of video (thread CPU time, summed over
threads; `other` is the rest of the process's: a busy machine slows the wall time, not these)
with its share; and the speed that CPU time allows on `--cores` idle cores (cores / CPU seconds
per video second: the wall-time figure on a machine nobody else uses, if the stages overlap
fully, which the frames in flight are for). Not included: the NATS hops between camera_ingest
and the workers (about 0.7 ms of CPU, clients and server, for a 720p frame's JPEG to the
detector; 1.4 ms at 1080p), Postgres writes, image storage and events, which are per stored
face (the first and best of each tracklet by default), not per frame (docs/video_records.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the media helpers

import msgspec
import numpy as np

from services.camera_ingest.analysis import features
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.regions import Look, Narrowing
from services.camera_ingest.session import ATTRIBUTES_ONLY, ahead, detector_config
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.tracker import Detection, Tracker
from services.camera_ingest.video_decoder import Ended, Failed, Item, decode_record
from services.camera_ingest.video_sources import Openable
from services.extractor.pipeline import FacePipeline
from services.matcher.config import MatcherConfig
from services.matcher.index import ModelIndex
from shared.analysis import Wanted, extraction
from shared.imaging import decode_image, encode_jpeg
from shared.messages.cameras import VideoFaceDetectorConfig
from shared.messages.faces import DetectedFace, ExtractRequest, FaceFeaturesConfig
from shared.settings import load_settings
from shared.threads import apply, plan
from tests.rtsp.media import write_h264
from tests.support import FACES

STEPS = ("decode", "narrow", "jpeg", "jpeg-dec", "detect", "extract", "match", "track", "other")
DETECTOR = detector_config(VideoFaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20,
                                                   confidence_threshold=450))  # fmt: skip
QUALITY = 90  # a record's imageQuality default (video_config.py)
FEATURES = features(distant=False, nearby=False)  # what a camera's faces get with every attribute on
# A record's frames now: age and gender are asked for the faces stored (StreamSession.attributes).
FRAME_FEATURES = msgspec.structs.replace(FEATURES, age=False, gender=False)
STORED_FEATURES = ATTRIBUTES_ONLY(age=True, gender=True)
STORED_PER_TRACKLET = 3  # faceSaveStrategy "FirstFace, BestFace", and the face a match is announced with
Result = tuple[float, list[Detection], int, list[bytes]]  # a frame's time, its faces, the members matched, crops


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


class Tracking:
    """The tracker stage's state, shared with the analysis threads (`template_due`) under a lock,
    as the event loop shares it in camera_ingest."""

    def __init__(self, template_every_s: float, interval_s: float) -> None:
        self.tracker, self.lock = Tracker(), threading.Lock()
        self.tracked_at: float | None = None  # the last frame the tracker took
        self.looked_at: float | None = None  # the last frame narrowing was asked about
        self.every_s = template_every_s if template_every_s > interval_s else 0.0

    def wanted(self, at: float) -> Wanted | None:
        """StreamSession.prepare's choice: templates less often than detection when the record's
        templateGenerationTime is longer than its redetectionTime."""
        if not self.every_s:
            return None

        def due(face: DetectedFace) -> bool:
            with self.lock:
                return self.tracker.template_due(at, face.box, self.every_s)

        return due


def at_of(frame: SampledFrame) -> float:
    return frame.captured_at.timestamp()


def side_cpu() -> float:
    """CPU seconds of the extractor's side threads (services/extractor/engine.py: the age/gender
    model of a request runs there, beside its template model)."""
    threads = [t for t in threading.enumerate() if t.name.startswith("extractor-side") and t.ident is not None]
    return sum(time.clock_gettime(time.pthread_getcpuclockid(t.ident)) for t in threads if t.ident is not None)


def analyse(
    frame: SampledFrame, look: Look, asked: FaceFeaturesConfig, tracking: Tracking, pipeline: FacePipeline,
    index: ModelIndex, clock: Clock,
) -> Result:  # fmt: skip
    """One sampled frame as StreamSession.prepare and the workers take it."""
    at = frame.captured_at.timestamp()
    if look.nothing:  # a still scene, nobody tracked, no full detection due: not even a JPEG
        return at, [], 0, []
    t0 = time.thread_time()
    jpeg = encode_jpeg(frame.image, QUALITY)
    t1 = time.thread_time()
    rgb = decode_image(jpeg)  # what Detector.detect does first
    t2 = time.thread_time()
    detected = pipeline.detector.detect_rgb(rgb, DETECTOR, regions=look.regions, region_face_sizes=look.face_sizes)
    t3 = time.thread_time()
    chosen, request = extraction(detected, asked, tracking.wanted(at))
    extracted = pipeline.extractor.extract(request) if request is not None else None
    t4 = time.thread_time()
    matched = 0
    templates: list[np.ndarray | None] = [None] * len(detected.faces)
    for i, face in zip(chosen, extracted.faces if extracted is not None else [], strict=True):
        templates[i] = np.frombuffer(face.template, "<f4") if face.template else None
    found = [t for t in templates if t is not None]
    if found:
        hits = index.search(np.vstack(found), 1, lambda _m, s: s >= 0.5, 0.0, list)
        matched = sum(1 for h in hits if h)
    t5 = time.thread_time()
    for step, seconds in (("jpeg", t1 - t0), ("jpeg-dec", t2 - t1), ("detect", t3 - t2), ("extract", t4 - t3),
                          ("match", t5 - t4)):  # fmt: skip
        clock.add(step, seconds)
    faces = [Detection(d.box, t) for d, t in zip(detected.faces, templates, strict=True)]
    return at, faces, matched, [d.crop for d in detected.faces]


def run(
    path: Path, frames: int, seconds: float, fps: float, cores: int, in_flight_max: int, now: bool,
    template_ms: int, pipeline: FacePipeline, index: ModelIndex,
) -> None:  # fmt: skip
    clock = Clock()
    tracking = Tracking(template_ms / 1000, 1 / fps)
    tracker = tracking.tracker
    in_flight = threading.Semaphore(in_flight_max)
    pool = ThreadPoolExecutor(cores)
    pending: deque[Future[Result]] = deque()
    ended: list[Ended] = []
    narrowing = Narrowing() if now else None
    asked = FRAME_FEATURES if now else FEATURES
    looks = {"whole": 0, "regions": 0, "nothing": 0}
    matched = found_faces = 0
    stored_cpu = 0.0  # this thread's CPU time in the stored faces' extraction

    def follow(block: bool) -> None:
        """The tracker stage: the analysed frames in frame order (those done, or all)."""
        nonlocal matched, found_faces, stored_cpu
        while pending and (block or pending[0].done()):
            at, detections, found, crops = pending.popleft().result()
            t0 = time.thread_time()
            with tracking.lock:
                tracker.expire(at)
                assigned = tracker.assign(at, detections)
                tracking.tracked_at = at
            t1 = time.thread_time()
            clock.add("track", t1 - t0)
            if now:  # age and gender of the faces stored: as many per tracklet as the strategy keeps
                for (_, started), crop in zip(assigned, crops, strict=True):
                    for _ in range(STORED_PER_TRACKLET if started else 0):
                        pipeline.extractor.extract(ExtractRequest(crops=[crop], face_features_config=STORED_FEATURES))
                clock.add("extract", time.thread_time() - t1)
                stored_cpu += time.thread_time() - t1
            matched, found_faces = matched + found, found_faces + len(detections)

    def put(item: Item) -> bool:
        if isinstance(item, SampledFrame):
            follow(block=False)
            t0 = time.thread_time()
            look = Look(whole=True)
            if narrowing is not None:  # StreamSession.look, in frame order
                at, looked_at, tracking.looked_at = at_of(item), tracking.looked_at, at_of(item)
                with tracking.lock:
                    tracks, tracked_at = [copy.copy(t) for t in tracker.tracks.values()], tracking.tracked_at
                if looked_at is not None and tracked_at is not None and tracked_at < looked_at:
                    tracks = [ahead(t, looked_at - tracked_at) for t in tracks]
                look = narrowing.look(at, item.image, tracks, tracker.config.timeout_s)
            clock.add("narrow", time.thread_time() - t0)
            looks["whole" if look.whole else "regions" if look.regions else "nothing"] += 1
            in_flight.acquire()  # (waiting costs no CPU time)
            future = pool.submit(analyse, item, look, asked, tracking, pipeline, index, clock)
            future.add_done_callback(lambda _f: in_flight.release())
            pending.append(future)
        elif isinstance(item, Failed):
            raise SystemExit(f"{path.name}: {item.reason}")
        elif isinstance(item, Ended):
            ended.append(item)
        return True

    started, cpu, process, side = time.perf_counter(), time.thread_time(), time.process_time(), side_cpu()
    source = Openable(str(path), "file", is_file=True)
    video = VideoSettings(decoder_threads=1)  # FFmpeg decodes in this thread: its CPU time is decode's
    recorded = datetime.now(UTC)
    decode_record("bench", source, 0, int(1000 / fps), recorded, put, threading.Event(), video, IngestSettings())
    own = time.thread_time() - cpu  # this thread's: decoding (with the RGB conversion), narrowing, tracking
    clock.add("decode", own - clock.spent["narrow"] - clock.spent["track"] - stored_cpu)
    follow(block=True)
    wall, process = time.perf_counter() - started, time.process_time() - process
    pool.shutdown()
    clock.add("extract", side_cpu() - side)  # the age/gender model, beside the template model
    clock.add("other", process - sum(clock.spent.values()))  # the process's CPU time outside the steps
    total = sum(clock.spent.values())
    analysed = sum(looks.values())
    decoded = ended[0].decoded if ended else 0
    stages = ", ".join(
        f"{step} {clock.spent[step] / seconds:.3f} ({100 * clock.spent[step] / total:.0f} %)" for step in STEPS
    )
    print(
        f"  {'now' if now else 'before'}: {decoded} of {frames} frames decoded, {analysed} analysed "
        f"({looks['whole']} whole, {looks['regions']} in regions, {looks['nothing']} not read), {found_faces} faces "
        f"found, {matched} matched (those with a template)\n"
        f"    measured: {seconds / wall:.2f}x real time ({wall:.1f} s for {seconds:g} s of video)\n"
        f"    CPU s per video s: {stages}; total {total / seconds:.3f}, "
        f"{1000 * total / max(1, analysed):.0f} ms per analysed frame\n"
        f"    on {cores} idle cores: {cores * seconds / total:.1f}x real time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--seconds", type=float, default=30, help="length of each video")
    parser.add_argument("--fps", type=int, default=25, help="the video's frame rate")
    parser.add_argument("--analysed-fps", type=float, default=5, help="sampled frames per second of video")
    parser.add_argument("--cores", type=int, default=2, help="CPUs the process is pinned to")
    parser.add_argument("--gallery", type=int, default=10_000, help="templates the matcher searches")
    parser.add_argument("--face", type=float, default=0.25, help="the walking photo's height / the frame's")
    parser.add_argument("--template-ms", type=int, default=500,
                        help="templateGenerationTime (a record's default: 500; at most the sampling interval: "
                        "a template for every face of every frame)")  # fmt: skip
    parser.add_argument("--records", choices=("now", "before", "both"), default="now",
                        help="as camera_ingest analyses records now, as before issue #17's work, or both")  # fmt: skip
    parser.add_argument("--in-flight", type=int, default=4, help="frames analysed at once (frames_in_flight)")
    args = parser.parse_args()
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[: args.cores])
    # Every service's pools (shared/threads.py, FACEGATE_WORKER_THREADS 2): BLAS 1 thread, OpenCV
    # cores / 2; one thread each also keeps every step's CPU time in the thread that asked for it.
    apply(plan(2, args.cores))
    pipeline = FacePipeline.from_settings(load_settings(), threads=1)
    pipeline.warm_up()
    index = gallery(pipeline, args.gallery)
    load = os.getloadavg()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.cores} cores (load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}, {os.cpu_count()} CPUs); {args.fps} fps H.264, {args.analysed_fps:g} analysed fps, "
          f"{args.seconds:g} s videos, face {args.face:g} of the height, templateGenerationTime {args.template_ms} "
          f"ms, {args.in_flight} frames in flight, a gallery of {args.gallery} templates")  # fmt: skip
    modes = {"now": [True], "before": [False], "both": [False, True]}[args.records]
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            path = write_h264(Path(tmp) / f"{size}.mp4", width, height, args.seconds, args.fps, face=args.face)
            print(f"{height}p:")
            frames = int(args.seconds * args.fps)
            for now in modes:
                run(path, frames, args.seconds, args.analysed_fps, args.cores, args.in_flight, now,
                    args.template_ms, pipeline, index)  # fmt: skip
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
