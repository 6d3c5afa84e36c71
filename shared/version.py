"""Facegate's version, from the installed package metadata (pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("facegate")
except PackageNotFoundError:  # running from a checkout without `pip install -e .`
    VERSION = "0.1.0"
