"""Milliseconds per face (per photo for the detector) of every shipped model, on the CPU and,
when onnxruntime offers CUDA, on the GPU.

    .venv/bin/python benchmarks/models.py [--repeat 20] [--batch 8] [--threads 2]

Inputs are real: the aligned crops of ../shared/faces/photos (a fixed one if the folder is
missing). "batch" rows run `--batch` faces in one call, as the extractor does for a request
with several faces; the recognizer's figure includes its mirrored second pass.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort

from services.detector.facemesh import FaceMesh
from services.detector.retinaface import RetinaFace, scale_for
from services.extractor.models import AgeGender, Liveness, Recognizer
from services.extractor.pipeline import FacePipeline
from shared.imaging import decode_crop
from shared.inference import Device
from shared.modelpack import ensure_models, model_path
from shared.settings import load_settings

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "photos"


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall milliseconds of `fn` after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def inputs(models_dir: Path) -> tuple[list[bytes], list[np.ndarray]]:
    photos = [p.read_bytes() for p in sorted(FACES.glob("img*.jpg"))[:8]] if FACES.is_dir() else []
    if not photos:
        return [], [np.full((224, 224, 3), 128, np.uint8)] * 8
    pipe = FacePipeline(models_dir)
    chips = [decode_crop(pipe.detector.detect(p).faces[0].crop) for p in photos if pipe.detector.detect(p).faces]
    return photos, chips


def bench(models_dir: Path, device: Device, threads: int, repeat: int, batch: int) -> None:
    photos, chips = inputs(models_dir)
    chips = (chips * batch)[:batch]
    opts: dict[str, object] = {"device": device, "threads": threads}

    def path(name: str) -> Path:
        return model_path(models_dir, name)[0]

    retina = RetinaFace(path("retinaface"), **opts)  # type: ignore[arg-type]
    mesh = FaceMesh(path("facemesh"), **opts)  # type: ignore[arg-type]
    rec = Recognizer(path("faceapi-resnet"), **opts)  # type: ignore[arg-type]
    age = AgeGender(path("faceres"), **opts)  # type: ignore[arg-type]
    near = Liveness(path("antispoof"), size=128, padding=0.15, what="nearby", **opts)
    far = Liveness(path("liveness"), size=32, padding=0.35, what="distant", **opts)
    print(f"\n{device} ({', '.join(rec.providers)}), {threads} threads, median of {repeat}")
    if photos:
        from shared.imaging import decode_image

        rgbs = [decode_image(p) for p in photos]
        # minFaceSize 35, the default: each photo read at the scale the detector reads it
        scales = [scale_for(r.shape[1], r.shape[0], 35) for r in rgbs]
        ms = statistics.mean(
            timed(partial(retina.detect, r, s, 0.5), repeat) for r, s in zip(rgbs, scales, strict=True)
        )
        print(f"  {'retinaface (per photo, minFaceSize 35)':44s} {ms:8.1f} ms")
        found = [[(f.box, f.five[:2]) for f in retina.detect(r, 1.0, 0.5)[:1]] for r in rgbs]
        pairs = zip(rgbs, found, strict=True)
        ms = statistics.mean(timed(partial(mesh.meshes, r, f), repeat) for r, f in pairs)
        print(f"  {'facemesh (per face)':44s} {ms:8.1f} ms")
    models: tuple[tuple[str, Callable[[list[np.ndarray]], object]], ...] = (
        ("faceapi-resnet template (x2 mirrored)", rec.templates),
        ("faceres age+gender", age.predict),
        ("antispoof (nearby liveness)", near.scores),
        ("liveness (distant liveness)", far.scores),
    )
    for label, fn in models:
        one = timed(partial(fn, chips[:1]), repeat)
        many = timed(partial(fn, chips), repeat) / len(chips)
        print(f"  {label:44s} {one:8.1f} ms/face alone {many:8.1f} ms/face in a batch of {len(chips)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    models_dir = ensure_models(load_settings())
    bench(models_dir, "cpu", args.threads, args.repeat, args.batch)
    if "CUDAExecutionProvider" in ort.get_available_providers():
        bench(models_dir, "cuda", args.threads, args.repeat, args.batch)
    else:
        print("\nno GPU run: this onnxruntime build offers", ort.get_available_providers())


if __name__ == "__main__":
    main()
