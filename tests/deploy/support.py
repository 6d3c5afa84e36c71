"""Helpers of the deploy checks: the chart rendered offline, its objects, the k8s/ renderer."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "facegate"
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.37.0"
SERVICES = ("gateway", "graphql", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup")
# Services with a worker to run (services/<name>/__main__.py); the others are planned and must be
# switched off by default in the chart and compose, or their pods would crash-loop.
RUNNABLE = tuple(s for s in SERVICES if (ROOT / "services" / s / "__main__.py").exists())


@cache
def known_settings() -> frozenset[str]:
    """Every FACEGATE_* variable a Facegate process reads: the shared settings, camera_ingest's,
    the matcher's, cleanup's and the migrator's own, and FACEGATE_SERVICE (the image's command and
    health check)."""
    from services.camera_ingest.settings import PREFIX as CAMERA
    from services.camera_ingest.settings import EdgeSettings, IngestSettings
    from services.cleanup.settings import PREFIX as CLEANUP
    from services.cleanup.settings import CleanupSettings
    from services.matcher.config import PREFIX as MATCHER
    from services.matcher.config import MatcherConfig
    from shared.db.migrate import PREFIX as MIGRATE
    from shared.db.migrate import MigrationSettings
    from shared.settings import PREFIX, Settings

    found = {"FACEGATE_SERVICE"}
    structs = (
        (PREFIX, Settings), (CAMERA, IngestSettings), (MATCHER, MatcherConfig), (CLEANUP, CleanupSettings),
        (MIGRATE, MigrationSettings), ("FACEGATE_EDGE_", EdgeSettings),
    )  # fmt: skip
    for prefix, struct in structs:
        found |= {prefix + name.upper() for name in struct.__struct_fields__}
    return frozenset(found)


@cache
def renderer() -> ModuleType:
    """deploy/render_k8s.py as a module (deploy/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("render_k8s", DEPLOY / "render_k8s.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders with `values` (release "facegate")."""
    docs: dict[str, list[dict[str, Any]]] = renderer().render_documents(values)
    return [obj for objs in docs.values() for obj in objs]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def names(objects: list[dict[str, Any]], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] == kind}


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def validate_strict(objects: list[dict[str, Any]]) -> None:
    """Each object against the Kubernetes schemas packaged with kubernetes-validate, strict."""
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
