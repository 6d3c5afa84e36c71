"""A video record's decoding: what FFmpeg's decoder options and the RGB conversion cost, and what
they change for the face pipeline (docs/video_records.md, "Decoding").

    .venv/bin/python benchmarks/video_decode.py                 # cost, then what analysis sees
    .venv/bin/python benchmarks/video_decode.py --cost-only --runs 5
    .venv/bin/python benchmarks/video_decode.py --quality-only --kbps 800 --gop 50 --interval 0.08

Cost: a 720p H.264 file as benchmarks/video_records.py makes it (tests/rtsp/media.py
`write_h264`, 20 s) decoded at 5 sampled frames per second as `video_decoder._Reader` does
(non-reference frames skipped, the sampled frames converted to RGB), one FFmpeg thread, the
pools as the services' on 2 cores (shared/threads.py), with each variant: process CPU seconds
per video second (all threads: swscale converts in threads of its own unless told not to), the
least and the median of `--runs` runs, variants alternated.

What it changes: 6 pairs of the test photos walking across a 720p file (`--kbps`, a keyframe
every `--gop` frames, the photos `--face` of the height, sensor noise), the frames sampled every
`--interval` s decoded fully (FFmpeg's defaults, swscale) and the shipped way
(RECORD_DECODER_OPTIONS; the conversion gives the same pixels), each through the JPEG (quality 90) the detector is
sent, then the shipped models (detection with a record's detector settings, templates): faces
whose frame has another face count, the least IoU of a face's box with its counterpart's, the
template cosine similarity. A control adds noise of one level to the fully decoded frames.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the media helpers

import av
import cv2
import msgspec
import numpy as np
from av.video.reformatter import VideoReformatter

from services.camera_ingest.analysis import features
from services.camera_ingest.session import detector_config
from services.camera_ingest.video_decoder import RECORD_DECODER_OPTIONS
from services.extractor.pipeline import FacePipeline
from shared.imaging import decode_image, encode_jpeg
from shared.messages.cameras import VideoFaceDetectorConfig
from shared.settings import load_settings
from shared.threads import apply, plan
from tests.rtsp.media import walking_face, write_h264

# A record's detector settings, JPEG quality and a frame's features (templates), as
# benchmarks/video_records.py has them.
DETECTOR = detector_config(VideoFaceDetectorConfig(min_face_size=35, max_face_size=600, max_faces=20,
                                                   confidence_threshold=450))  # fmt: skip
QUALITY = 90
FRAME_FEATURES = msgspec.structs.replace(features(distant=False, nearby=False), age=False, gender=False)
PAIRS = [("img1.jpg", "img2.jpg"), ("img3.jpg", "img4.jpg"), ("img5.jpg", "img6.jpg"), ("img7.jpg", "img8.jpg"),
         ("img10.jpg", "img12.jpg"), ("img13.jpg", "img14.jpg")]  # fmt: skip
SWSCALE = "swscale"  # frame.to_ndarray(format="rgb24"), as records converted before
# name: (decoder options, conversion: swscale; one-context (video_decoder._Reader.rgb: swscale, one
# context for the run, one thread); opencv (cv2.cvtColor I420: BT.601 only); none; or swscale
# with another interpolation)
VARIANTS: dict[str, tuple[dict[str, str], str]] = {
    "as before": ({}, SWSCALE),
    "skip_loop_filter=all": ({"skip_loop_filter": "all"}, SWSCALE),
    "skip_loop_filter=nokey": ({"skip_loop_filter": "nokey"}, SWSCALE),
    "flags2=+fast": ({"flags2": "+fast"}, SWSCALE),
    "no RGB conversion": ({}, "none"),
    "swscale, one context": ({}, "one-context"),
    "OpenCV conversion": ({}, "opencv"),
    "swscale FAST_BILINEAR": ({}, "FAST_BILINEAR"),
    "swscale POINT": ({}, "POINT"),
    "shipped": (RECORD_DECODER_OPTIONS, "one-context"),
}
Faces = list[tuple[tuple[float, float, float, float], int, np.ndarray]]


def decode(path: Path, options: dict[str, str], conversion: str, interval: float, threads: int = 1) -> dict[float, Any]:
    """The sampled frames (by time) decoded as video_decoder._Reader does, with `options`."""
    frames: dict[float, Any] = {}
    reformatter = VideoReformatter()
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.codec_context.thread_count = threads
        if threads != 1:
            video.thread_type = "AUTO"
        video.codec_context.options = dict(options)
        due, first = 0.0, True
        for frame in container.decode(video):
            if first:
                video.codec_context.skip_frame, first = "NONREF", False
            at = frame.time or 0.0
            if at + 1e-6 < due:
                continue
            while due <= at + 1e-6:
                due += interval
            if conversion == SWSCALE:
                frames[round(at, 3)] = frame.to_ndarray(format="rgb24")
            elif conversion == "one-context":
                frames[round(at, 3)] = reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
            elif conversion == "opencv":
                frames[round(at, 3)] = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
            elif conversion != "none":
                frames[round(at, 3)] = frame.to_ndarray(format="rgb24", interpolation=conversion)
            else:
                frames[round(at, 3)] = None
    return frames


def cost(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_h264(Path(tmp) / "720p.mp4", 1280, 720, 20.0, face=0.25)
        spent: dict[str, list[float]] = {name: [] for name in [*VARIANTS, "threads 2", "threads 0"]}
        for _ in range(runs):
            for name in spent:
                options, conversion = VARIANTS.get(name, ({}, SWSCALE))
                threads = int(name.split()[1]) if name.startswith("threads") else 1
                started = time.process_time()
                decode(path, options, conversion, 0.2, threads)
                spent[name].append((time.process_time() - started) / 20.0)
    print(f"cost: a 20 s 720p file, 5 sampled frames/s, process CPU s per video s (least, median of {runs}):")
    for name, values in spent.items():
        values.sort()
        print(f"  {name:24s} {values[0]:.4f}  {values[len(values) // 2]:.4f}")


def write(path: Path, kbps: int, gop: int, face: float, fps: int = 25) -> None:
    width, height = 1280, 720
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 6, (height, width, 3)).astype(np.int16) for _ in range(8)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.bit_rate = kbps * 1000
        stream.options = {"preset": "superfast", "g": str(gop)}
        index = 0
        for first, second in PAIRS:
            for bgr in walking_face(width, height, 50, first, other=second, size=face):
                frame = av.VideoFrame.from_ndarray(np.clip(bgr + noise[index % 8], 0, 255).astype(np.uint8), "bgr24")
                frame.pts, index = index, index + 1
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 10 * np.log10(255**2 / max(error, 1e-9))


def quality(kbps: int, gop: int, face: float, interval: float) -> None:
    pipeline = FacePipeline.from_settings(load_settings(), threads=1)
    pipeline.warm_up()

    def faces(image: np.ndarray) -> Faces:
        found = pipeline.analyse(encode_jpeg(image, QUALITY), DETECTOR, FRAME_FEATURES)
        return [(f.detected.box, f.detected.confidence, np.frombuffer(f.extracted.template or b"", "<f4"))
                for f in found.faces]  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.mp4"
        write(path, kbps, gop, face)
        full = decode(path, {}, SWSCALE, interval)
        shipped = decode(path, RECORD_DECODER_OPTIONS, "one-context", interval)
    rng = np.random.default_rng(1)
    control = {t: np.clip(i.astype(np.int16) + rng.integers(-1, 2, i.shape), 0, 255).astype(np.uint8)
               for t, i in full.items()}  # fmt: skip
    reference = {t: faces(image) for t, image in full.items()}
    jpeg = [psnr(decode_image(encode_jpeg(i, QUALITY)), i) for i in full.values()]  # what the detector reads
    print(f"what analysis sees: 720p, {kbps} kbit/s, a keyframe every {gop} frames, faces {face:g} of the height, "
          f"{len(full)} frames ({interval:g} s apart), {sum(map(len, reference.values()))} faces fully decoded; "
          f"JPEG {QUALITY} PSNR least {min(jpeg):.1f} mean {np.mean(jpeg):.1f} dB")  # fmt: skip
    for name, frames in (("control (noise of 1 level)", control), ("shipped", shipped)):
        changed, boxes, similar, low, levels = 0, [], [], 0, [psnr(frames[t], i) for t, i in full.items()]
        for at, ours in reference.items():
            theirs = faces(frames[at])
            if len(theirs) != len(ours):
                changed += 1
                continue
            for box, _, template in ours:
                other_box, _, other = max(theirs, key=lambda f: iou(box, f[0]))
                boxes.append(iou(box, other_box))
                if template.size and other.size:
                    similar.append(float(template @ other / np.linalg.norm(template) / np.linalg.norm(other)))
                    low += similar[-1] < 0.99
        print(f"  {name:26s} PSNR least {min(levels):.1f} mean {np.mean(levels):.1f} dB; frames with another face "
              f"count {changed}; box IoU least {min(boxes):.3f}; cosine least {min(similar):.4f} mean "
              f"{np.mean(similar):.4f}, {low} of {len(similar)} under 0.99")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (cost)")
    parser.add_argument("--cost-only", action="store_true")
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--kbps", type=int, default=2000)
    parser.add_argument("--gop", type=int, default=25, help="frames from a keyframe to the next")
    parser.add_argument("--face", type=float, default=0.25, help="the photos' height / the frame's")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between the sampled frames")
    args = parser.parse_args()
    apply(plan(2, 2))  # as the services' pools on 2 cores (shared/threads.py): OpenCV 1 thread
    load = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    if not args.quality_only:
        cost(args.runs)
    if not args.cost_only:
        quality(args.kbps, args.gop, args.face, args.interval)


if __name__ == "__main__":
    main()
