"""The measurements behind shared/threads.py's choices, each choice against the other in one run,
alternating round by round:

    .venv/bin/python benchmarks/threads.py [--templates 10000] [--rounds 4]

- BLAS: the matcher's exact search (one query against `--templates` 128-d templates, a matrix
  product as services/matcher/index.py runs it, then the top 10), queries `--pause-ms` apart as
  requests arrive at a server, with 1 BLAS thread and with one per core. Wall time per query
  and CPU time per query (the whole process's, the pauses included: what OpenBLAS threads
  spinning between queries burn shows there, and the machine's other work does not get).
- onnxruntime: one 640x480 one-face photo through the detector and the extractor (what a Search
  asks), with intra-op threads 1 and one per core: a photo alone (latency, median), and two
  photos at once from two threads as the worker pool runs them (photos/s).

The last line reads `threads: blas 1: X ms, C ms CPU per query; blas N: ...; onnx 1: L ms alone,
T photos/s at two; onnx N: ...`.
"""

from __future__ import annotations

import os

from shared.image_limits import cap_opencv
from shared.threads import BLAS_VARIABLES

cap_opencv()
for _name in BLAS_VARIABLES:  # OpenBLAS as it loads by default (a thread per core); set per round below
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from services.extractor.pipeline import FacePipeline  # noqa: E402
from services.gateway.analysis_config import detector_config  # noqa: E402
from shared.messages.faces import FaceFeaturesConfig  # noqa: E402
from shared.modelpack import ensure_models  # noqa: E402
from shared.settings import load_settings  # noqa: E402
from shared.threads import available_cores  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "photos"


def probe() -> bytes:
    """img1.jpg letterboxed to 640x480, as benchmarks/search.py sends it."""
    photo = cv2.imread(str(FACES / "img1.jpg"))
    assert photo is not None
    scale = min(640 / photo.shape[1], 480 / photo.shape[0])
    small = cv2.resize(photo, (int(photo.shape[1] * scale), int(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((480, 640, 3), np.uint8)
    y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return bytes(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())


def exact_round(matrix: np.ndarray, rows: int, queries: np.ndarray, pause_s: float) -> tuple[float, float]:
    """(median wall ms, CPU ms) per query of one round of exact searches."""
    walls = []
    cpu_started = time.process_time()
    for query in queries:
        started = time.perf_counter()
        sims = query[None, :] @ matrix[:rows].T
        top = np.argpartition(-sims[0], 10)[:10]
        top[np.argsort(-sims[0][top])]
        walls.append(time.perf_counter() - started)
        time.sleep(pause_s)
    cpu = time.process_time() - cpu_started
    return 1000 * statistics.median(walls), 1000 * cpu / len(queries)


def onnx_round(pipeline: FacePipeline, jpeg: bytes, photos: int) -> tuple[float, float]:
    """(median ms of a photo alone, photos/s two at a time)."""
    detector, features = detector_config(None), FaceFeaturesConfig()
    alone = []
    for _ in range(photos):
        started = time.perf_counter()
        pipeline.analyse(jpeg, detector, features)
        alone.append(time.perf_counter() - started)
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        list(pool.map(lambda _: pipeline.analyse(jpeg, detector, features), range(2 * photos)))
        rate = 2 * photos / (time.perf_counter() - started)
    return 1000 * statistics.median(alone), rate


def medians(runs: dict[int, list[tuple[float, float]]]) -> dict[int, tuple[float, float]]:
    return {n: (statistics.median(a for a, _ in r), statistics.median(b for _, b in r)) for n, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="exact searches per round")
    parser.add_argument("--pause-ms", type=float, default=5.0, help="between two exact searches")
    parser.add_argument("--photos", type=int, default=10, help="photos per round and mode")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    cores = available_cores()
    print(f"{cores} cores, load average {os.getloadavg()[0]:.1f}")

    rng = np.random.default_rng(23)
    matrix = rng.standard_normal((args.templates + args.templates // 4, 128)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    queries = matrix[rng.integers(0, args.templates, args.queries)] + 0.01
    blas: dict[int, list[tuple[float, float]]] = {1: [], cores: []}
    for r in range(args.rounds):
        for n in (1, cores) if r % 2 == 0 else (cores, 1):
            with threadpool_limits(limits=n, user_api="blas"):
                blas[n].append(exact_round(matrix, args.templates, queries, args.pause_ms / 1000))
    for n, runs in blas.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"exact search over {args.templates:,}: blas {n}: {wall:.2f} ms per query, {cpu:.2f} ms CPU per query"
              f" (pauses of {args.pause_ms:g} ms included)")  # fmt: skip

    directory = ensure_models(load_settings())
    jpeg = probe()
    pipelines = {n: FacePipeline(directory, threads=n) for n in (1, cores)}
    for pipeline in pipelines.values():
        pipeline.warm_up()
    onnx: dict[int, list[tuple[float, float]]] = {1: [], cores: []}
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(args.rounds):
            for n in (1, cores) if r % 2 == 0 else (cores, 1):
                cv2.setNumThreads(n)
                onnx[n].append(onnx_round(pipelines[n], jpeg, args.photos))
    for n, (alone, rate) in medians(onnx).items():
        print(f"detector+extractor, intra-op {n} (OpenCV {n}): a photo alone {alone:.1f} ms,"
              f" two at once {rate:.1f} photos/s")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    line = [f"blas {n}: {wall:.2f} ms, {cpu:.2f} ms CPU per query" for n, (wall, cpu) in medians(blas).items()]
    line += [
        f"onnx {n}: {alone:.1f} ms alone, {rate:.1f} photos/s at two" for n, (alone, rate) in medians(onnx).items()
    ]
    print("threads: " + "; ".join(line))


if __name__ == "__main__":
    main()
