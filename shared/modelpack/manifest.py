"""The cache manifest: what was converted from what, and the checksums that prove it.

`prepare` rewrites a model only when its source files, the converter version or the output
file's checksum no longer match the manifest, so a second run is a fast no-op.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

MANIFEST_NAME = "manifest.json"
CONVERTER_VERSION = "3"  # bump when a converter change alters the produced graphs


class ModelEntry(msgspec.Struct, frozen=True):
    """One converted model in the cache directory."""

    name: str
    file: str
    sha256: str
    version: str  # the source package's version
    source_package: str
    source_file: str
    source_sha256: str
    licence: str
    max_abs_diff: float | None  # None: no graph-model runtime to compare with
    tolerance: float | None
    converter_version: str = CONVERTER_VERSION


class Manifest(msgspec.Struct):
    models: dict[str, ModelEntry] = {}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: list[Path]) -> str:
    """One checksum over several files (a TF.js model and its weight shards), in order."""
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.name.encode())
        digest.update(sha256_file(p).encode())
    return digest.hexdigest()


def load(cache_dir: Path) -> Manifest:
    path = cache_dir / MANIFEST_NAME
    if not path.exists():
        return Manifest()
    return msgspec.json.decode(path.read_bytes(), type=Manifest)


def save(cache_dir: Path, manifest: Manifest) -> None:
    path = cache_dir / MANIFEST_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
    tmp.replace(path)  # atomic: a reader never sees half a manifest


def is_current(cache_dir: Path, entry: ModelEntry | None, source_sha256: str) -> bool:
    """True when the cached model was built from these sources and is intact on disk."""
    if entry is None or entry.source_sha256 != source_sha256 or entry.converter_version != CONVERTER_VERSION:
        return False
    path = cache_dir / entry.file
    return path.exists() and sha256_file(path) == entry.sha256
