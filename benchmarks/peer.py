"""Facegate against the pipeline most users pick instead, on the same photos in one run:
dlib's HOG detector, 5-point alignment and ResNet descriptor, as the `face_recognition`
library runs them (`pip install -e '.[benchmark]'`: dlib-bin, face-recognition-models).

    .venv/bin/python benchmarks/peer.py [--photos 30] [--repeat 2]

The photos: those of ../shared/faces, each letterboxed to 640x480 and encoded as JPEG (what a
client sends), the same bytes to both pipelines; each decodes them itself.

- dlib: `get_frontal_face_detector()(rgb, upsample)`, then for each face the 5-point shape and
  `compute_face_descriptor(rgb, shape, 1)`, as `face_recognition.face_locations` and
  `face_encodings` call them (model "hog", "small", one jitter); at upsample 0 and 1 (1 is
  face_recognition's default: faces down to about 40 px instead of 80).
- Facegate: the detector and extractor engines in-process (services/extractor/pipeline.py), with
  what a Search asks of them (every face; template, age and gender), the same thread plan as the
  services (shared/threads.py: cores / FACEGATE_WORKER_THREADS intra-op threads, one BLAS
  thread). The services run the same two calls, with a NATS hop and the matcher around them:
  the in-process analysis is most of a Search's CPU time (benchmarks/search.py's account of one
  Search at 100k members, README: extraction and detection 26 of 33 ms), and that script
  measures the Search itself through a cluster. So
  this compares the pipelines, not the transports.

Latency: one process, the two pipelines alternating photo by photo (the first of each pair
alternating too), each photo `--repeat` times; per-photo median and mean of wall time.
Throughput: two processes of one pipeline at a time, each over all the photos (models loaded
and warm before the clock starts), photos/s over both; dlib then Facegate at each upsample.
The last line reads `peer: upsample 0: latency ratio X (Facegate/dlib), throughput ratio Y
(Facegate/dlib); upsample 1: ...`.
"""

from __future__ import annotations

from shared.image_limits import cap_opencv
from shared.threads import limit_native_pools

cap_opencv()
limit_native_pools()  # before numpy: one BLAS thread, as in the services

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from services.gateway.analysis_config import detector_config  # noqa: E402
from shared import threads  # noqa: E402
from shared.messages.faces import FaceFeaturesConfig  # noqa: E402
from shared.settings import load_settings  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "photos"
WIDTH, HEIGHT = 640, 480

# A pipeline: JPEG bytes -> number of faces with a template.
Pipeline = Callable[[bytes], int]


def letterboxed(path: Path) -> bytes:
    """The photo scaled to fit 640x480 on black, as JPEG (quality 90)."""
    photo = cv2.imread(str(path))
    assert photo is not None, path
    scale = min(WIDTH / photo.shape[1], HEIGHT / photo.shape[0])
    small = cv2.resize(
        photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    y, x = (HEIGHT - small.shape[0]) // 2, (WIDTH - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return bytes(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())


def photos(count: int) -> list[bytes]:
    names = sorted(FACES.glob("*.jpg"))[:count]
    return [letterboxed(p) for p in names]


def dlib_pipeline(upsample: int) -> Pipeline:
    import dlib
    import face_recognition_models as frm

    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def run(jpeg: bytes) -> int:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        faces = detector(rgb, upsample)
        descriptors = [np.array(encoder.compute_face_descriptor(rgb, shapes(rgb, box), 1)) for box in faces]
        return len(descriptors)

    return run


def facegate_pipeline() -> Pipeline:
    from services.extractor.pipeline import FacePipeline

    settings = load_settings()
    plan = threads.plan(settings.worker_threads, settings.cpu_cores)
    threads.apply(plan)
    pipeline = FacePipeline.from_settings(settings, threads=plan.onnx_intra)
    pipeline.warm_up()
    detector = detector_config(None)  # a photo sent without faceDetectorConfig, as search.py's probe
    features = FaceFeaturesConfig()  # what a Search asks with the Setup's features on: template, age, gender

    def run(jpeg: bytes) -> int:
        found = pipeline.analyse(jpeg, detector, features)
        return sum(1 for f in found.faces if f.extracted.template is not None)

    return run


def make(name: str, upsample: int) -> Pipeline:
    return facegate_pipeline() if name == "facegate" else dlib_pipeline(upsample)


def timed(run: Pipeline, jpeg: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    faces = run(jpeg)
    return time.perf_counter() - started, faces


def latency(pipelines: dict[str, Pipeline], images: list[bytes], repeat: int) -> dict[str, tuple[list[float], int]]:
    """Each photo through both pipelines, alternating (and alternating which goes first)."""
    seconds: dict[str, list[float]] = {name: [] for name in pipelines}
    faces = dict.fromkeys(pipelines, 0)
    names = list(pipelines)
    for i, jpeg in enumerate(images):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            runs = [timed(pipelines[name], jpeg) for _ in range(repeat)]
            seconds[name].append(statistics.median(t for t, _ in runs))
            faces[name] += runs[0][1]
    return {name: (seconds[name], faces[name]) for name in names}


def _worker(name: str, upsample: int, images: list[bytes], ready: Any, go: Any, results: Any) -> None:
    run = make(name, upsample)
    run(images[0])  # warm
    ready.wait()
    go.wait()
    started = time.perf_counter()
    for jpeg in images:
        run(jpeg)
    results.put(time.perf_counter() - started)


def throughput(name: str, upsample: int, images: list[bytes], processes: int = 2) -> float:
    """Photos/s of `processes` processes each running `name` over all the photos."""
    ctx = mp.get_context("spawn")
    ready, go = ctx.Barrier(processes + 1), ctx.Barrier(processes + 1)
    results = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(name, upsample, images, ready, go, results)) for _ in range(processes)]
    for w in workers:
        w.start()
    ready.wait()  # every process loaded and warm
    started = time.perf_counter()
    go.wait()
    for _ in workers:
        results.get()
    wall = time.perf_counter() - started
    for w in workers:
        w.join()
    return processes * len(images) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=30, help="how many of ../shared/faces/photos (sorted by name)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each photo in the latency pass (median)")
    parser.add_argument("--upsample", default="0,1", help="dlib upsample levels, comma-separated")
    args = parser.parse_args()
    images = photos(args.photos)
    load = os.getloadavg()[0]
    print(f"{len(images)} photos at {WIDTH}x{HEIGHT}, {threads.available_cores()} cores, load average {load:.1f}")
    facegate = facegate_pipeline()
    summary = []
    for upsample in (int(u) for u in args.upsample.split(",")):
        found = latency({"dlib": dlib_pipeline(upsample), "facegate": facegate}, images, args.repeat)
        ms = {name: (1000 * statistics.median(s), 1000 * statistics.mean(s)) for name, (s, _) in found.items()}
        for name, (_, faces) in found.items():
            print(f"upsample {upsample}: {name:8} per photo median {ms[name][0]:6.1f} ms, mean {ms[name][1]:6.1f} ms"
                  f" ({faces} faces with a template)")  # fmt: skip
        rates = {name: throughput(name, upsample, images) for name in ("dlib", "facegate")}
        for name, rate in rates.items():
            print(f"upsample {upsample}: {name:8} 2 processes {rate:5.1f} photos/s")
        latency_ratio = ms["facegate"][0] / ms["dlib"][0]
        throughput_ratio = rates["facegate"] / rates["dlib"]
        print(f"upsample {upsample}: Facegate/dlib latency {latency_ratio:.2f}x, throughput {throughput_ratio:.2f}x")
        summary.append(
            f"upsample {upsample}: latency ratio {latency_ratio:.2f} (Facegate/dlib), "
            f"throughput ratio {throughput_ratio:.2f} (Facegate/dlib)"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print("peer: " + "; ".join(summary))


if __name__ == "__main__":
    main()
