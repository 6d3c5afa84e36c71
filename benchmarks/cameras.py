"""Camera streams per core at 5 analysed frames per second: decoding alone, and with the
analysis of the sampled frames.

    .venv/bin/python benchmarks/cameras.py                 # 720p and 1080p, 25 fps H.264
    .venv/bin/python benchmarks/cameras.py --seconds 20 --fps 30 --analysed-fps 5
    .venv/bin/python benchmarks/cameras.py --decode-only   # no models, no cluster
    .venv/bin/python benchmarks/cameras.py --no-pipeline --narrowing-before --sizes 1280x720

Makes H.264 files of a face walking across the frame (tests/rtsp/media.py, from ../shared/faces/
photos, in a temp folder: sensor noise, x264 superfast, a keyframe a second, 2 Mbit/s at 720p).

Decoding: camera_ingest's own decode loop (`decoder.decode_once`, one FFmpeg thread per stream
as in production, sampled frames converted to RGB) as fast as it goes; the CPU seconds one
second of video costs. A camera decodes every frame (H.264 frames depend on each other) and
converts only the sampled ones.

Analysis: the sampled frames, in order, through what the workers do for each, on this thread
with one inference thread per model and one OpenCV thread (one core, as the services run with a
worker thread per core: shared/threads.py): where to look (camera_ingest's regions.py:
the frame's difference from the previous one), JPEG encoding (camera_ingest, imageQuality 90),
detection with a camera's default faceDetectorConfig (minFaceSize 35; the detector's engine,
decoding the JPEG as the detector service does), extraction of the faces due a template (a
new face always; a tracked one every `--template-ms`, the camera's templateGenerationTime,
SmartFace's default 500 ms: every third frame at 5 fps), and the tracker. A frame's faces get
templates only; age and gender are computed for the faces a camera stores or announces
(StreamSession.defer_attributes): counted as 3 requests per tracklet, for its first and best
face (faceSaveStrategy "FirstFace, BestFace") and the one its match is announced with, as
benchmarks/video_records.py counts them. `--attributes every-frame`: as cameras did before,
age and gender in every template request (the age/gender model costs about as much as the
template's). Two scenes, the
walking face (the video's sampled frames) and nobody in view (its background with fresh sensor
noise each frame), each analysed two ways:
- "narrowed": as camera_ingest runs it (services/camera_ingest/regions.py): the whole frame
  at least every second, between those only the regions around the tracked faces (read for
  their own size: coarser for a large face) and where the picture changed (the motion around a
  tracked face in every other frame), nothing at all (no JPEG, no detection) in a still scene;
- "whole": every frame searched whole (no narrowing), for comparison;
- with `--narrowing-before`, also "narrowed as before": as cameras narrowed before tracked faces
  were read for their own size and their motion every other frame (NarrowingConfig with
  tracked_share 0 and tracked_motion_every 1), the runs of the three ways alternated.
Not included: the matcher's search (1-2 % of the work: benchmarks/video_records.py), the NATS,
Postgres and event hops. Two figures per way: the streams a core analyses, 1 / (analysis CPU
seconds per video second) (the detector and extractor workers' cores; decoding is camera_ingest's,
on cores of its own, printed apart above), and the streams one core both decodes and analyses,
1 / (decoding plus analysis). Every figure is the median of `--repeat` runs (CPU time, not
wall time: on a shared machine wall time measures the neighbours too; CPU time still inflates
when they share the core's caches and hyper-threads).

Then, unless `--decode-only` or `--no-pipeline`, it runs benchmarks/camera_pipeline.py (a whole
cluster on a live RTSP stream) for the end-to-end delay from a frame to its match event.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import msgspec
import numpy as np

# Run as a script: the test media helpers live in tests/, which is not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.camera_ingest.analysis import features
from services.camera_ingest.decoder import SampledFrame, decode_once
from services.camera_ingest.regions import Look, Narrowing, NarrowingConfig
from services.camera_ingest.session import ATTRIBUTES_ONLY, detector_config
from services.camera_ingest.settings import IngestSettings
from services.camera_ingest.tracker import Detection, Tracker
from services.extractor.pipeline import FacePipeline
from shared.analysis import combine, extraction
from shared.imaging import encode_jpeg
from shared.messages.cameras import CameraState, VideoFaceDetectorConfig
from shared.messages.faces import ExtractRequest
from shared.settings import load_settings
from tests.rtsp.media import write_h264

DETECTOR = detector_config(VideoFaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20,
                                                   confidence_threshold=450))  # fmt: skip
FEATURES = features(distant=False, nearby=False)  # a camera's faces with every attribute on
NARROWED = NarrowingConfig()  # as camera_ingest narrows
BEFORE = NarrowingConfig(tracked_share=0, tracked_motion_every=1)  # tracked faces for minFaceSize, motion every frame
# A camera's frames: templates; age and gender for the faces stored or announced (StreamSession.attributes).
FRAME_FEATURES = msgspec.structs.replace(FEATURES, age=False, gender=False)
STORED_FEATURES = ATTRIBUTES_ONLY(age=True, gender=True)
STORED_PER_TRACKLET = 3  # faceSaveStrategy "FirstFace, BestFace", and the face a match is announced with
IMAGE_QUALITY = 90  # a camera's imageQuality default
TIMEOUT_S = 2.0  # the tracklet timeout's default


class CountingSink:
    """Counts what the decoder reports; keeps the sampled frames when asked."""

    def __init__(self, keep: bool = False) -> None:
        self.frames = self.analysed = 0
        self.kept: list[SampledFrame] | None = [] if keep else None

    def connecting(self, attempt: int) -> None:
        pass

    def state(self, state: CameraState, reason: str | None) -> None:
        pass

    def decoded(self, count: int) -> None:
        self.frames += count

    def sampled(self, frame: SampledFrame) -> None:
        self.analysed += 1
        if self.kept is not None:
            self.kept.append(frame)


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
            sum(s.frames for s in sinks), sum(s.analysed for s in sinks))  # fmt: skip


def sampled_frames(path: Path, analysed_fps: float) -> list[SampledFrame]:
    sink = CountingSink(keep=True)
    decode_once("bench", str(path), int(1000 / analysed_fps), sink, threading.Event(), IngestSettings(), False)
    assert sink.kept is not None
    return sink.kept


class Analysis:
    """One camera's analysis of its sampled frames, in order (a fresh tracker per run)."""

    def __init__(
        self, pipeline: FacePipeline, narrow: NarrowingConfig | None, template_every_s: float, deferred: bool
    ) -> None:
        self.pipeline = pipeline
        self.deferred = deferred  # age and gender for the stored and announced faces only
        self.narrowing = Narrowing(narrow) if narrow else None
        self.tracker = Tracker()
        self.template_every_s = template_every_s
        self.faces = self.narrowed = self.templates = self.attributes = 0
        self.detect_s = 0.0  # CPU seconds in the detector (JPEG decoding included)

    def frame(self, at: float, rgb: np.ndarray) -> None:
        """What camera_ingest's session does for a frame (session.StreamSession.prepare, track)."""
        look = Look(whole=True)
        if self.narrowing is not None:
            look = self.narrowing.look(at, rgb, list(self.tracker.tracks.values()), TIMEOUT_S)
            self.narrowed += not look.whole
        self.tracker.expire(at)
        if look.nothing:  # a still scene, nobody tracked: no JPEG, no detection
            return
        jpeg = encode_jpeg(rgb, IMAGE_QUALITY)
        started = time.process_time()
        sizes = look.face_sizes
        detected = self.pipeline.detector.detect(jpeg, DETECTOR, regions=look.regions, region_face_sizes=sizes)
        self.detect_s += time.process_time() - started
        every_s = self.template_every_s
        asked = FRAME_FEATURES if self.deferred else FEATURES
        chosen, request = extraction(detected, asked, lambda d: self.tracker.template_due(at, d.box, every_s))
        extracted = self.pipeline.extractor.extract(request) if request is not None else None
        found = combine(detected, chosen, extracted)
        assigned = self.tracker.assign(at, [
            Detection(f.detected.box, np.frombuffer(f.extracted.template, "<f4") if f.extracted.template else None)
            for f in found.faces
        ])  # fmt: skip
        if self.deferred:  # age and gender of the faces stored and announced: as many per tracklet
            for face, (_, started) in zip(found.faces, assigned, strict=True):
                for _ in range(STORED_PER_TRACKLET if started and face.detected.crop else 0):
                    crops = [face.detected.crop]
                    self.pipeline.extractor.extract(ExtractRequest(crops=crops, face_features_config=STORED_FEATURES))
                    self.attributes += 1
        self.faces += len(found.faces)
        self.templates += len(chosen)


def cpu_of(run: Callable[[], None]) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def analyse_all(
    pipeline: FacePipeline,
    frames: list[np.ndarray],
    fps: float,
    narrow: NarrowingConfig | None,
    template_every_s: float,
    deferred: bool = True,
) -> tuple[float, Analysis]:
    """CPU seconds to analyse `frames` (RGB, sampled at `fps`) in order, and the run's counts."""
    analysis = Analysis(pipeline, narrow, template_every_s, deferred)

    def run() -> None:
        for i, rgb in enumerate(frames):
            analysis.frame(i / fps, rgb)

    return cpu_of(run), analysis


def empty_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """The test videos' background with sensor noise (8 draws, repeated): nobody in view."""
    rng = np.random.default_rng(0)
    noisy = [np.clip(96 + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8) for _ in range(8)]
    return [noisy[i % len(noisy)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of each test video")
    parser.add_argument("--fps", type=int, default=25, help="frame rate of the camera")
    parser.add_argument("--analysed-fps", type=float, default=5, help="sampled frames per second")
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (their median is printed)")
    parser.add_argument("--template-ms", type=int, default=500,
                        help="the camera's templateGenerationTime (SmartFace's default 500)")  # fmt: skip
    parser.add_argument("--attributes", choices=("stored", "every-frame"), default="stored",
                        help="age and gender for the stored and announced faces (cameras now), or in every "
                        "template request (cameras before)")  # fmt: skip
    parser.add_argument("--decode-only", action="store_true", help="decoding alone: no models, no cluster")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the frame-to-match delay")
    parser.add_argument("--narrowing-before", action="store_true",
                        help="also narrow as cameras did before tracked faces were read at their size")  # fmt: skip
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core for the analysis (FFmpeg's decoding threads are its own)
    cores = os.cpu_count() or 1
    fps = args.analysed_fps
    print(
        f"{cores} cores (load average {os.getloadavg()[0]:.1f}); {args.fps} fps H.264 camera, {fps:g} analysed fps, "
        f"templateGenerationTime {args.template_ms} ms, age/gender {args.attributes}, {args.seconds:g} s videos; "
        f"medians of {args.repeat} runs"
    )
    pipeline = None
    if not args.decode_only:
        pipeline = FacePipeline.from_settings(load_settings(), threads=1)
        pipeline.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            path = write_h264(Path(tmp) / f"{size}.mp4", width, height, args.seconds, args.fps)
            measure(path, fps, 1)  # warm up (file cache, codec init)
            runs = [measure(path, fps, 1) for _ in range(args.repeat)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            _, _, decoded, sampled = runs[0]
            decode = cpu / args.seconds  # CPU s per video second
            two_wall = statistics.median(measure(path, fps, 2)[1] for _ in range(args.repeat))
            print(
                f"{height}p decoding alone: {decoded} frames decoded, {sampled} sampled; "
                f"{decode * 1000:.0f} ms CPU per video second -> {1 / decode:.1f} streams per core; "
                f"2 streams at once: {two_wall / wall:.2f}x the wall time of one"
            )
            if pipeline is None:
                continue
            walking = [f.image for f in sampled_frames(path, fps)]
            nobody = empty_frames(width, height, len(walking))
            template_s = args.template_ms / 1000
            deferred = args.attributes == "stored"
            analyse_all(pipeline, walking[:5], fps, None, template_s, deferred)  # warm up this size
            ways: list[tuple[str, NarrowingConfig | None]] = [("narrowed", NARROWED), ("whole", None)]
            if args.narrowing_before:
                ways.append(("narrowed as before", BEFORE))
            for scene, frames in (("a face walking across", walking), ("nobody in view", nobody)):
                runs_of: dict[str, list[tuple[float, Analysis]]] = {name: [] for name, _ in ways}
                for _ in range(args.repeat):  # the ways alternated: a busy neighbour weighs on each alike
                    for name, narrow in ways:
                        runs_of[name].append(analyse_all(pipeline, frames, fps, narrow, template_s, deferred))
                for name, timed in runs_of.items():
                    spent = statistics.median(t for t, _ in timed)
                    detecting = statistics.median(a.detect_s for _, a in timed)
                    counts = timed[0][1]
                    per_second = spent / len(frames) * fps  # analysis CPU s per video second
                    print(
                        f"{height}p with analysis, {scene}, {name}: {1000 * spent / len(frames):.1f} ms CPU per "
                        f"analysed frame, detection {1000 * detecting / len(frames):.1f} of them ({counts.faces} "
                        f"faces in {len(frames)} frames, {counts.templates} templates, {counts.attributes} age/gender, "
                        f"{counts.narrowed} frames narrowed) -> a core analyses {1 / per_second:.1f} streams; "
                        f"{1 / (decode + per_second):.1f} streams per core decoded and analysed on it"
                    )
    if not (args.decode_only or args.no_pipeline):
        pipeline_script = Path(__file__).with_name("camera_pipeline.py")
        subprocess.run([sys.executable, str(pipeline_script), "--passes", "5"], check=True)


if __name__ == "__main__":
    main()
